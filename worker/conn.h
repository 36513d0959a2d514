/*
 * conn: one client connection in a worker, its state machine and buffers.
 *
 * Owns reading, HTTP/1.1 framing with libhttp-parser (strict: anything
 * ambiguous is a 400 and the connection closes), the request limits and
 * timeouts of docs/design.md §5, keep-alive and pipelining (one request at a time,
 * the rest stays buffered), and writing with back-pressure. It must not know
 * what an app is beyond struct app_ops.
 */
#ifndef DROVER_CONN_H
#define DROVER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "common/cidr.h"

struct config;
struct request;
struct worker_counters;

struct conn_peer {
	char addr[64];
	int port;
	char local_addr[64];
	int local_port;
};

/* What the worker gives every connection. */
struct conn_env {
	struct ev_loop *loop;
	const struct config *cfg;
	struct cidr_set trusted;     /* forwarded_allow_ips, parsed once */
	int access_format;           /* enum access_format of [log] access_format */
	const struct app_ops *app;
	struct worker_counters *counters;
	_Atomic uint64_t *served;
	_Atomic uint32_t *inflight;
	_Atomic uint32_t *connections;
	bool draining;
	unsigned nconns;
	void (*on_close)(void);      /* a connection went away (accept may resume) */
};

extern struct conn_env conn_env;

struct conn *conn_new(int fd);
/*
 * At max_connections: closes the connection idle the longest (between
 * requests, or accepted and silent) to make room for a new one, as nginx's
 * reusable connections. False when every connection is busy.
 */
bool conn_reclaim_idle(void);
/* Drain: close idle connections now; busy ones close after their response. */
void conn_drain_all(void);
/* Fast stop: drop every connection and its app work at once. */
void conn_close_all(void);

const struct config *conn_config(const struct conn *c);
const struct conn_peer *conn_peer(const struct conn *c);
struct ev_loop *conn_loop(const struct conn *c);
/* For static.c, which sends file bytes straight to the socket once the
 * connection's own buffered output is out. */
int conn_fd(const struct conn *c);
size_t conn_output_pending(const struct conn *c);

/* Response writer hooks (response.c). */
int conn_write(struct conn *c, const void *data, size_t len);
/* The response to the current request is complete. */
void conn_request_done(struct conn *c);
/* The response cannot be completed: close without further bytes. */
void conn_abort(struct conn *c);

#endif
