/*
 * shm: the shared region the supervisor creates before forking: the worker
 * scoreboard followed by the L1 session cache.
 *
 * Owns the layout and the per-worker counter slots. A slot is written only by
 * its worker (heartbeat, counters) and by the supervisor while the slot is
 * free; readers sum slots, so no counter is ever bumped by two processes.
 * It must not hold pointers: every process maps the region at its own address.
 */
#ifndef DROVER_SHM_H
#define DROVER_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf/config.h"

#define SHM_MAGIC 0x64726f7672ULL    /* "drovr" */
/* Scoreboard slots, sized in conf/ for target + surge + draining workers. */
#define SHM_MAX_WORKERS DROVER_SCOREBOARD_SLOTS

enum worker_state {
	WS_FREE = 0, WS_STARTING, WS_READY, WS_DRAINING, WS_GONE
};

/* Upper bounds, in seconds, of drover_request_duration_seconds. */
#define HIST_BUCKETS 12
extern const double hist_bounds[HIST_BUCKETS];

/*
 * SL_UNAVAILABLE: L1 missed and Redis could not answer, so whether state
 * exists is unknown (never reported as a miss).
 * SS_UNAVAILABLE: a store refused because the request's lookup was
 * unavailable and the app did not force it.
 */
enum sess_lookup { SL_HIT = 0, SL_REBUILD, SL_MISS, SL_UNAVAILABLE, SL__N };
enum sess_store {
	SS_OK = 0, SS_OVERSIZE, SS_CONFLICT, SS_ERROR, SS_UNAVAILABLE,
	SS_SKIPPED_BREAKER,  /* kept in L1, not sent: breaker open or no connection */
	SS_LOST_AT_EXIT,     /* still dirty when the supervisor exited */
	SS__N
};
/* Their names in logs, CGI variables and metric labels. */
extern const char *const sess_lookup_names[SL__N];
extern const char *const sess_store_names[SS__N];

/* Why a spawned FastCGI app process was replaced (drover_app_restarts_total). */
enum app_restart { AR_EXITED = 0, AR_SIGNAL, AR_SPAWN_FAILED, AR_MAX_APP_REQUESTS, AR_KILLED, AR__N };
extern const char *const app_restart_names[AR__N];
/* Why a request was refused with 503 (drover_requests_rejected_total{reason}). */
enum reject_reason { REJECT_QUEUE_FULL = 0, REJECT_CONNECTIONS, REJECT__N };
extern const char *const reject_names[REJECT__N];

struct worker_counters {
	_Atomic uint64_t requests[6];          /* index: status / 100, 0 = other */
	_Atomic uint64_t duration_bucket[HIST_BUCKETS];
	_Atomic uint64_t duration_count;
	_Atomic uint64_t duration_sum_us;
	_Atomic uint64_t session_lookups[SL__N];
	_Atomic uint64_t session_stores[SS__N];
	_Atomic uint64_t session_tampered;
	_Atomic uint64_t session_deletes;
	_Atomic uint64_t redis_errors;
	_Atomic uint64_t app_restarts[AR__N];
	_Atomic uint64_t rejected[REJECT__N];
};

struct worker_slot {
	_Atomic int state;
	_Atomic pid_t pid;
	int id;                       /* stable small number shown to operators */
	uint32_t generation;          /* config generation it was started with */
	int64_t started_ms;           /* CLOCK_REALTIME */
	_Atomic int64_t heartbeat_ms; /* CLOCK_MONOTONIC */
	_Atomic uint64_t served;
	_Atomic uint32_t inflight;
	_Atomic uint32_t connections;
	_Atomic int redis_up;         /* -1 not configured, 0 down, 1 up */
	_Atomic int breaker_open;
	_Atomic int app_down;         /* 0, or why no app process can start (fcgi_pool) */
	struct worker_counters c;
};

struct scoreboard {
	uint64_t magic;
	uint64_t host_id;             /* random, tags this host's invalidations */
	uint8_t session_secret[32];   /* used when no secret_keys are configured */
	_Atomic uint64_t restarts_crash, restarts_timeout, restarts_max_requests, restarts_reload;
	struct worker_counters retired; /* counters of slots since reused, folded in by the supervisor */
	struct worker_slot slots[SHM_MAX_WORKERS];
	/* Redis server identity last seen by any worker (a hash of its run_id,
	 * 0: none yet), and when a change of it was last seen (wall ms). */
	_Atomic uint64_t redis_run;
	_Atomic int64_t redis_lost_ms;
};

struct shm_region {
	void *base;
	size_t size;
	int fd;                       /* memfd, kept so it can be handed to a new binary */
	struct scoreboard *sb;
	void *cache;                  /* L1 region, cache_size bytes */
	size_t cache_size;
};

/* Creates the region (memfd + MAP_SHARED) sized for the L1 bounds given. */
int shm_create(struct shm_region *r, size_t cache_size);
void shm_destroy(struct shm_region *r);
/* Adds every slot's counters and the retired ones into out. */
void shm_sum_counters(const struct scoreboard *sb, struct worker_counters *out);
/* Folds a slot's counters into retired and zeroes them (supervisor, slot free). */
void shm_retire_counters(struct scoreboard *sb, struct worker_slot *slot);
void counters_add_request(struct worker_counters *c, int status, uint64_t duration_us);

#endif
