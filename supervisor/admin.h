/*
 * admin: the supervisor's HTTP endpoint on [admin] bind: GET / (the status
 * page), /metrics, /healthz and /status, answered from the scoreboard alone.
 *
 * Owns its listening socket and its short-lived connections (one request
 * each, bounded in size and time). It must never wait on a worker or Redis.
 */
#ifndef DROVER_ADMIN_H
#define DROVER_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "common/util.h"
#include "supervisor/oneshot.h"

struct arbiter;

struct admin {
	int fd;                  /* -1 when the endpoint is off */
	struct oneshot os;
	struct arbiter *arb;
};

int admin_start(struct admin *ad, struct arbiter *arb, struct ev_loop *loop, char *err, size_t errlen);
void admin_stop(struct admin *ad);

/* Renders the bodies; also used by the control socket. */
void metrics_render(struct arbiter *arb, struct buf *out);
void status_render_json(struct arbiter *arb, struct buf *out);
int healthz_ok(struct arbiter *arb);
/*
 * Whether any serving worker has Redis up, and whether any has its breaker
 * open; returns whether a Redis url is configured at all.
 */
bool redis_state(struct arbiter *arb, int *up, int *open);

#endif
