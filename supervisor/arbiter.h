/*
 * arbiter: the supervisor's worker table and its one loop.
 *
 * Owns spawning, reaping, readiness and heartbeat checks, the rolling
 * restart, scaling, drains and shutdown. Everything it decides happens in a
 * 100 ms tick from the current state of the table, so a signal only changes
 * a target and the tick converges on it. It must not parse requests or touch
 * user input beyond the config.
 */
#ifndef DROVER_ARBITER_H
#define DROVER_ARBITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/privs.h"
#include "conf/config.h"
#include "supervisor/listeners.h"
#include "supervisor/shm.h"

struct ev_loop;

enum wexit_reason { WR_NONE = 0, WR_DRAIN, WR_TIMEOUT, WR_STOP, WR_SCALE, WR_RELOAD, WR_MAX_REQUESTS,
	WR_NOT_READY };

struct wproc {
	pid_t pid;
	uint32_t generation;
	int64_t spawned_ms, ready_deadline_ms, drain_deadline_ms;
	enum wexit_reason exit_reason;  /* why we asked it to go; WR_NONE means it was not asked */
	bool ever_ready;
	uint64_t recycle_after;          /* served count that triggers a recycle; 0 never */
};

/* One reload as /status lists it; the newest ARBITER_RELOADS are kept. */
#define ARBITER_RELOADS 8
struct reload_event {
	int64_t at_ms;                  /* wall clock */
	uint32_t generation;            /* the generation it made or tried */
	char result[12];                /* accepted | rejected | failed */
	char error[200];                /* why, for rejected and failed */
};

struct arbiter {
	struct config *cfg;             /* current */
	struct privs privs;             /* resolved from cfg */
	struct config *prev_cfg;        /* the one a failed rollout returns to */
	const struct cli *cli;
	struct listener_set *listeners;
	struct shm_region *shm;
	struct wproc w[SHM_MAX_WORKERS];
	int target;
	uint32_t generation, prev_generation, failed_generation;
	int fail_streak;
	int64_t next_spawn_ms;
	uint64_t l1_hold;                /* the L1 lock holder word last seen, and since when */
	int64_t l1_hold_seen_ms;
	bool stopping, fast_stop;
	int64_t stop_deadline_ms;
	int exit_code;
	pid_t self;
	int close_fds[4];               /* supervisor-only fds workers must not keep */
	size_t nclose_fds;
	void (*on_tick)(struct arbiter *);   /* admin and notify hooks */
	void (*on_reopen)(struct arbiter *);
	void (*on_upgrade)(struct arbiter *);  /* USR2 */
	struct reload_event reloads[ARBITER_RELOADS];   /* a ring, newest at nreloads - 1 */
	unsigned nreloads;
	bool last_reload_ok;            /* true until a reload is rejected or fails */
	int64_t last_reload_ok_ms;      /* wall clock of the start or the last good reload */
};

void arbiter_init(struct arbiter *a, struct config *cfg, const struct privs *privs,
    const struct cli *cli, struct listener_set *ls, struct shm_region *shm);
/* Runs until every worker is gone after a stop. Returns the exit code. */
int arbiter_run(struct arbiter *a, struct ev_loop *loop);

/* Control actions, shared by signals and the control socket. */
/* 0 when the new config was accepted; -1 with the reason in err (may be NULL). */
int arbiter_reload(struct arbiter *a, char *err, size_t errlen);
void arbiter_scale(struct arbiter *a, int workers);
void arbiter_stop(struct arbiter *a, bool fast);
void arbiter_reopen_logs(struct arbiter *a);
int arbiter_count(const struct arbiter *a, int state);

#endif
