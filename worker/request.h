/*
 * request: one HTTP request on a connection, from its parsed head to the end
 * of its response, and the interfaces between the connection, the response
 * writer and the app adapters (CGI, FastCGI).
 *
 * The head is copied into req->head once it is complete, so every header
 * pointer stays valid for the life of the request.
 */
#ifndef DROVER_REQUEST_H
#define DROVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "worker/forwarded.h"
#include "worker/reqbody.h"
#include "worker/session.h"

#define REQ_MAX_HEADERS 128

struct config;
struct conn;
struct request;

struct header {
	const char *name, *value;
	size_t nlen, vlen;
};

/*
 * An app adapter. start is called once the body is complete, or, for a
 * Content-Length body larger than body_buffer_bytes, right after the head:
 * the app then reads the body with req_body_peek/consume as it arrives.
 */
struct app_ops {
	const char *name;
	/* Returns 0 when the app took the request, or an HTTP status to answer at once. */
	int (*start)(struct request *req);
	/* More of a streamed body can be read (req_body_peek). */
	void (*body_more)(struct request *req);
	/* The client cannot take more output now (paused) or can again. */
	void (*pause)(struct request *req, bool paused);
	/* Drop the request: client gone, timeout or error. Must free app state. */
	void (*abort)(struct request *req);
};

/* Parses the app's response head (CGI and FastCGI alike, RFC 3875 §6). */
struct apphdr {
	struct buf raw;          /* bytes of the head so far */
	bool done;
	int status;
	char *location;          /* points into raw */
	bool local_redirect;
	bool x_sendfile;         /* location is a file named by X-Sendfile or X-Accel-Redirect */
};

struct request {
	struct conn *conn;
	struct buf head;             /* the request head, NUL-terminated */
	const char *method;
	size_t method_len;
	int http_major, http_minor;
	const char *target;          /* raw request-target */
	size_t target_len;
	char *path;                  /* decoded path, owned */
	char *query;                 /* raw query string (no '?'), owned */
	struct header hdr[REQ_MAX_HEADERS];
	size_t nhdr;
	struct client_id client;     /* REMOTE_ADDR, REMOTE_PORT, HTTPS of this request */
	int64_t content_length;      /* -1 when absent; a chunked body's size once it is read */
	bool chunked, expect_continue, keep_alive, is_head;
	bool body_done;              /* every body byte was read from the client */
	struct reqbody body;         /* a body held for the app (not a streamed one) */

	int64_t started_us;          /* monotonic */
	int status;
	bool resp_started, resp_chunked, resp_done, resp_failed;
	uint64_t resp_bytes;         /* body bytes sent */
	int64_t resp_length;         /* Content-Length given by the app, -1 if none */
	char resp_reason[64];        /* the app's reason phrase, for codes drover has no name for */
	unsigned interims;           /* interim (103) heads the app sent */

	const struct app_ops *app;
	const struct config *cfg;    /* the request's app ([app] or [app NAME]); NULL before routing */
	char remote_user[128];       /* set once [app] auth_basic accepted the credentials */
	void *app_state;
	struct apphdr ah;
	int redirects;

	struct session_req sess;
};

const struct header *req_header(const struct request *req, const char *name);
int64_t mono_us(void);

/* response.c: the only way bytes of a response reach the client. */
void resp_simple(struct request *req, int status, const char *msg);
/* Starts a response with the app's headers (already filtered) in extra. */
int resp_start(struct request *req, int status, const char *extra, size_t extra_len);
/* An interim (1xx) response; nothing is sent to an HTTP/1.0 client. */
int resp_interim(struct request *req, int status, const char *extra, size_t extra_len);
int resp_body(struct request *req, const void *data, size_t len);
void resp_end(struct request *req);
/* drover's reason phrase for a status code, or NULL for a code it has no name for. */
const char *status_reason(int status);

/* apphdr.c: the app output path. */
void app_output(struct request *req, const void *data, size_t len);
/* The app finished its output normally. */
void app_eof(struct request *req);
/* The app failed: answer status if nothing was sent yet, else cut the connection. */
void app_fail(struct request *req, int status, const char *why);
void apphdr_reset(struct apphdr *ah);
/*
 * Feeds bytes; returns how many were taken into the head (the rest is body),
 * or -1 on a malformed or oversize head. ah->done tells whether the head ended.
 */
long apphdr_feed(struct apphdr *ah, const char *data, size_t len, size_t max);
/* Iterates the head's header lines: returns 0 with name/value set, -1 at the end. */
int apphdr_next(const struct apphdr *ah, size_t *pos, struct header *h);

/* conn.c: back-pressure signals from the response writer. */
bool conn_output_full(const struct conn *c);

/*
 * conn.c: the body as the app reads it, held or streamed alike. peek gives
 * the next bytes (*p valid until the app returns to the loop), 0 when none
 * are there yet (body_more follows) or at the end, -1 when a spooled body
 * cannot be read back; consume takes n of them. A streamed body is read from
 * the client only as fast as the app consumes it.
 */
ssize_t req_body_peek(struct request *req, const char **p);
void req_body_consume(struct request *req, size_t n);
bool req_body_eof(const struct request *req);
/* Starts the body over; false when streamed bytes are already gone. */
bool req_body_rewind(struct request *req);
/* The app gets no body (an internal redirect becomes a GET); unread bytes stay unread. */
void req_body_forget(struct request *req);

#endif
