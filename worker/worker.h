/*
 * worker: the process that serves requests. Entered right after fork from
 * the supervisor and never returns.
 *
 * Owns its own libev loop, the accept path on the shared listeners, its
 * heartbeat and counters in the scoreboard slot, and the graceful drain. It
 * must not touch other workers' slots.
 */
#ifndef DROVER_WORKER_H
#define DROVER_WORKER_H

#include "common/privs.h"
#include "conf/config.h"
#include "supervisor/listeners.h"
#include "supervisor/shm.h"

struct worker_ctx {
	const struct config *cfg;
	const struct listener_set *listeners;
	struct shm_region *shm;
	int slot;                 /* index into shm->sb->slots */
	int id;
	int close_fds[4];         /* supervisor-only descriptors */
	const struct privs *privs;  /* who the worker and its apps run as */
	size_t nclose_fds;
};

/* Runs the worker until it exits; never returns. */
void worker_main(const struct worker_ctx *ctx) __attribute__((noreturn));

#endif
