/*
 * fcgi_pool: the places a worker can send FastCGI requests to, one request
 * at a time each ("slots"): either app processes this worker spawned, each
 * given a listening unix socket as fd 0 (FCGI_LISTENSOCK_FILENO, as
 * spawn-fcgi does), or up to `processes` connections to an external server.
 *
 * Owns spawning, reaping (ev_child), replacing with backoff, recycling after
 * max_app_requests, stopping at worker exit, counting restarts, knowing when
 * no app process can start ("down"), and opening a socket to a slot. It must not speak the FastCGI protocol or touch requests: the
 * adapter (fastcgi.c) owns connections, requests and the wait queue.
 */
#ifndef DROVER_FCGI_POOL_H
#define DROVER_FCGI_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "worker/errlog.h"

struct config;
struct fconn;

struct fcgi_slot {
	int idx;
	bool busy;                 /* a request holds the slot */
	struct fconn *conn;        /* the adapter's connection, kept or in use */
	uint64_t served;

	/* Spawned apps only. */
	pid_t pid;                 /* 0 while no process runs */
	bool stopping;             /* asked to go (recycle, kill): not usable */
	bool recycling;            /* the exit is wanted: no backoff */
	int listen_fd;             /* kept across respawns */
	char path[108];            /* its socket file */
	int err_fd;                /* the app's stderr */
	ev_io err_io;
	ev_child child;
	ev_timer respawn, term;
	int64_t started_ms;
	int64_t backoff_ms;
	int start_err;             /* cannot start: errno, or -1 keeps dying at start */
	int early_deaths;          /* in a row, each before QUICK_DEATH_MS */
	ev_timer proof;            /* alive QUICK_DEATH_MS after start: it started */
	struct errlog err_log;      /* the app process's own stderr */
};

/*
 * ready: a slot may have become usable (a process started). lost: the
 * slot's process is gone. Its idle connection must be closed; a busy one is
 * left to find out by itself, since a connection still waiting in the
 * listening socket's backlog is served by the replacement.
 */
struct fcgi_pool_hooks {
	void (*ready)(void);
	void (*lost)(struct fcgi_slot *s);
	void (*down)(void);        /* no app process can run now: refuse what waits */
};

int fcgi_pool_init(const struct config *cfg, struct ev_loop *loop,
    const struct fcgi_pool_hooks *hooks);
/* Stops every app process (SIGTERM, then SIGKILL after about a second). */
void fcgi_pool_shutdown(void);

/* A slot free to take a request, marked busy; NULL if none. */
struct fcgi_slot *fcgi_pool_acquire(void);
/*
 * The slot's request is over. Returns true if its connection may be kept
 * for the next request, false when the process is being recycled (the
 * caller closes the connection).
 */
bool fcgi_pool_release(struct fcgi_slot *s, bool served);
/*
 * The app misbehaved or hung: the slot is free again, and its spawned
 * process, if it is still pid (the one the connection was made to), is
 * killed and replaced.
 */
void fcgi_pool_fail(struct fcgi_slot *s, pid_t pid, const char *why);

/*
 * Opens a non-blocking socket to the slot's app. Returns the fd with
 * *pending set when the connect is still in progress, or -1.
 */
int fcgi_pool_connect(struct fcgi_slot *s, bool *pending);
/* How long a pending connect may take. */
double fcgi_pool_connect_timeout(void);
/* The app's name for log lines (command or address). */
const char *fcgi_pool_name(void);
/* Number of slots (= processes). */
int fcgi_pool_size(void);
bool fcgi_pool_spawned(void);
/* Why no app process can run (every start failed), or NULL while one can. */
const char *fcgi_pool_down(void);
struct worker_counters;
/* Where to report: the slot's app_down word and restart counters (before init). */
void fcgi_pool_report(_Atomic int *health, struct worker_counters *counters);

#endif
