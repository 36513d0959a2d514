/*
 * oneshot: a listening socket whose connections each carry one small request
 * and one reply, then close: the shape of the admin endpoint and the control
 * socket alike.
 *
 * Owns accepting, the per-connection bounds (request size, time, number of
 * connections open at once) and writing the reply. It must not interpret a
 * request: the owner's handle callback does.
 */
#ifndef DROVER_ONESHOT_H
#define DROVER_ONESHOT_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "common/util.h"

struct oneshot {
	int fd;
	ev_io io;
	struct ev_loop *loop;
	size_t req_max;           /* request bytes at most */
	double timeout;           /* seconds for the whole exchange */
	int max_conns;
	size_t out_max;
	/* True once req (NUL-terminated, len bytes) holds a whole request. */
	bool (*complete)(const char *req, size_t len);
	/* Fills out with the reply; overflow: the request passed req_max. */
	void (*handle)(void *arg, char *req, size_t len, bool overflow, struct buf *out);
	void *arg;
	/* Optional: false closes a new connection unanswered (peer checks). */
	bool (*allow)(int fd);
	int nconns;
};

/* Starts accepting on fd (listening, non-blocking); the oneshot owns it from now. */
void oneshot_start(struct oneshot *o, struct ev_loop *loop, int fd);
void oneshot_stop(struct oneshot *o);

#endif
