/*
 * arbiter: see arbiter.h.
 *
 * Capacity rule for a rolling restart: a replacement is started first
 * (target + 1 live workers), and only when it reports ready is one outdated
 * worker drained. So the number of ready workers never drops below target.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "cache/lru.h"
#include "common/log.h"
#include "common/util.h"
#include "supervisor/arbiter.h"
#include "worker/worker.h"

#define TICK_SECONDS 0.1
#define BACKOFF_MAX_MS 10000
/*
 * A draining worker enforces graceful_timeout itself and kills its apps'
 * process groups on the way out; the supervisor's SIGKILL comes this much
 * later, as a backstop, so it does not race the worker's own deadline and
 * leave CGI children orphaned.
 */
#define KILL_GRACE_MS 500
/*
 * Every L1 operation is bounded and takes microseconds; a worker that holds
 * the L1 lock this long is stopped or wedged, and every other worker waits
 * on it at its next cache access. It is killed, and the next locker repairs
 * the tier (cache/lru.c, Recovery).
 */
#define L1_LOCK_HOLD_MAX_MS 1000

static const char *reason_names[] = {
	[WR_NONE] = "crash", [WR_DRAIN] = "drain", [WR_TIMEOUT] = "timeout", [WR_STOP] = "stop",
	[WR_SCALE] = "scale", [WR_RELOAD] = "reload", [WR_MAX_REQUESTS] = "max_requests",
	[WR_NOT_READY] = "not_ready",
};

static struct arbiter *the_arbiter;   /* for libev callbacks */

static void rollout_failed(struct arbiter *a, const char *why);

static struct worker_slot *
slot_of(struct arbiter *a, int i)
{
	return &a->shm->sb->slots[i];
}

static int
slot_state(struct arbiter *a, int i)
{
	return atomic_load(&slot_of(a, i)->state);
}

int
arbiter_count(const struct arbiter *a, int state)
{
	int n = 0;
	for (int i = 0; i < SHM_MAX_WORKERS; i++)
		if (atomic_load(&a->shm->sb->slots[i].state) == state)
			n++;
	return n;
}

/* Live workers: starting or ready, not asked to go. */
static int
live_count(struct arbiter *a)
{
	int n = 0;
	for (int i = 0; i < SHM_MAX_WORKERS; i++) {
		int s = slot_state(a, i);
		if ((s == WS_STARTING || s == WS_READY) && a->w[i].exit_reason == WR_NONE)
			n++;
	}
	return n;
}

static void
log_worker(struct arbiter *a, int i, const char *state, const char *reason)
{
	log_info("worker", "state=%s id=%d pid=%d generation=%u reason=%s", state,
	    slot_of(a, i)->id, (int)a->w[i].pid, a->w[i].generation, reason);
}

/*
 * libev keeps signal and child watchers in process-wide lists that survive
 * ev_loop_destroy: a forked worker must drop the supervisor's, or its own
 * ev_signal_start never installs a handler (SIGTERM would kill it instead
 * of draining it) and the supervisor's child watcher would see the
 * worker's children.
 */
static const int sup_sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGTTIN, SIGTTOU, SIGUSR1,
    SIGUSR2 };
static ev_signal sup_sw[sizeof sup_sigs / sizeof sup_sigs[0]];
static ev_child sup_cw;

static void
drop_supervisor_watchers(void)
{
	for (size_t i = 0; i < sizeof sup_sigs / sizeof sup_sigs[0]; i++)
		ev_signal_stop(EV_DEFAULT, &sup_sw[i]);
	ev_child_stop(EV_DEFAULT, &sup_cw);
}

static int
spawn_worker(struct arbiter *a, const char *reason)
{
	int i;
	for (i = 0; i < SHM_MAX_WORKERS; i++)
		if (slot_state(a, i) == WS_FREE && a->w[i].pid == 0)
			break;
	if (i == SHM_MAX_WORKERS) {
		log_error("worker", "state=starting reason=%s error=\"no free scoreboard slot\"", reason);
		return -1;
	}
	struct worker_slot *s = slot_of(a, i);
	int64_t now = mono_ms();
	s->id = i + 1;
	s->generation = a->generation;
	s->started_ms = wall_ms();
	atomic_store(&s->heartbeat_ms, now);
	atomic_store(&s->served, 0);
	atomic_store(&s->inflight, 0);
	atomic_store(&s->connections, 0);
	atomic_store(&s->app_down, 0);
	atomic_store(&s->state, WS_STARTING);

	pid_t pid = fork();
	if (pid < 0) {
		log_error("worker", "state=starting id=%d reason=%s error=\"fork: %s\"", i + 1, reason,
		    strerror(errno));
		atomic_store(&s->state, WS_FREE);
		return -1;
	}
	if (pid == 0) {
		struct worker_ctx ctx = {
			.cfg = a->cfg, .listeners = a->listeners, .shm = a->shm, .slot = i, .id = i + 1,
		};
		memcpy(ctx.close_fds, a->close_fds, sizeof ctx.close_fds);
		ctx.nclose_fds = a->nclose_fds;
		ctx.privs = &a->privs;
		drop_supervisor_watchers();
		worker_main(&ctx);
	}
	atomic_store(&s->pid, pid);
	struct wproc *w = &a->w[i];
	memset(w, 0, sizeof *w);
	w->pid = pid;
	w->generation = a->generation;
	w->spawned_ms = now;
	if (a->cfg->max_requests > 0) {
		/* Jitter keeps workers started together from recycling together. */
		uint64_t jitter = a->cfg->max_requests_jitter > 0 ?
		    (uint64_t)random() % ((uint64_t)a->cfg->max_requests_jitter + 1) : 0;
		w->recycle_after = (uint64_t)a->cfg->max_requests + jitter;
	}
	/* A replacement that never becomes ready must not hold a rollout forever. */
	w->ready_deadline_ms = now + (a->cfg->timeout_ms > 0 ? a->cfg->timeout_ms : 30000);
	log_worker(a, i, "starting", reason);
	return i;
}

/* Asks a worker to finish its requests and exit, within graceful_timeout. */
static void
drain_worker(struct arbiter *a, int i, enum wexit_reason why)
{
	struct wproc *w = &a->w[i];
	if (w->exit_reason != WR_NONE || w->pid <= 0)
		return;
	w->exit_reason = why;
	w->drain_deadline_ms = mono_ms() + a->cfg->graceful_timeout_ms + KILL_GRACE_MS;
	atomic_store(&slot_of(a, i)->state, WS_DRAINING);
	log_worker(a, i, "draining", reason_names[why]);
	if (kill(w->pid, SIGTERM) < 0 && errno != ESRCH)
		log_warn("worker", "id=%d pid=%d error=\"kill: %s\"", i + 1, (int)w->pid, strerror(errno));
}

static void
kill_worker(struct arbiter *a, int i, enum wexit_reason why, int sig)
{
	struct wproc *w = &a->w[i];
	if (w->pid <= 0)
		return;
	if (w->exit_reason == WR_NONE || why == WR_TIMEOUT)
		w->exit_reason = why;
	if (kill(w->pid, sig) < 0 && errno != ESRCH)
		log_warn("worker", "id=%d pid=%d error=\"kill: %s\"", i + 1, (int)w->pid, strerror(errno));
}

static void
bump_restart(struct arbiter *a, enum wexit_reason r)
{
	struct scoreboard *sb = a->shm->sb;
	switch (r) {
	case WR_NONE: case WR_NOT_READY: atomic_fetch_add(&sb->restarts_crash, 1); break;
	case WR_TIMEOUT: atomic_fetch_add(&sb->restarts_timeout, 1); break;
	case WR_MAX_REQUESTS: atomic_fetch_add(&sb->restarts_max_requests, 1); break;
	case WR_RELOAD: atomic_fetch_add(&sb->restarts_reload, 1); break;
	default: break;
	}
}

/*
 * A worker died before it ever reported ready: something is wrong with the
 * config or the app, so spawning backs off instead of fork-looping. Only
 * these count towards the streak; a ready worker's death never does.
 */
static void
start_failed(struct arbiter *a, int i)
{
	struct wproc *w = &a->w[i];
	a->fail_streak++;
	int64_t delay = 100LL << (a->fail_streak < 8 ? a->fail_streak : 8);
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	a->next_spawn_ms = mono_ms() + delay;
	log_warn("worker", "state=backoff id=%d delay_ms=%lld streak=%d", i + 1, (long long)delay,
	    a->fail_streak);
	/* Replacements of a rollout that keep dying will not get better. */
	if (a->prev_cfg && w->generation == a->generation && a->fail_streak >= 3)
		rollout_failed(a, "replacements keep dying at start");
}

/*
 * A worker that died outright (SIGKILL, the OOM killer) could not kill its
 * apps. The supervisor is a child subreaper, so they are its children now,
 * each in its own process group (workers share the supervisor's): every
 * such group is killed.
 */
static void
kill_orphaned_apps(void)
{
	char path[64], list[16384];
	snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, list, sizeof list - 1);
	close(fd);
	if (n <= 0)
		return;
	list[n] = '\0';
	pid_t own = getpgrp();
	char *p = list, *end;
	for (long pid; (pid = strtol(p, &end, 10)) > 0 && end != p; p = end) {
		pid_t pg = getpgid((pid_t)pid);
		if (pg <= 0 || pg == own)
			continue;
		log_info("worker", "orphan=%ld note=\"app process of a dead worker, killed with its group\"",
		    pid);
		if (kill(-pg, SIGKILL) < 0 && errno != ESRCH)
			kill((pid_t)pid, SIGKILL);
	}
}

static void
on_child(struct ev_loop *loop, ev_child *wc, int revents)
{
	struct arbiter *a = the_arbiter;
	pid_t pid = wc->rpid;
	int status = wc->rstatus;
	for (int i = 0; i < SHM_MAX_WORKERS; i++) {
		struct wproc *w = &a->w[i];
		if (w->pid != pid)
			continue;
		char how[64];
		if (WIFSIGNALED(status))
			snprintf(how, sizeof how, "signal=%d", WTERMSIG(status));
		else
			snprintf(how, sizeof how, "exit=%d", WEXITSTATUS(status));
		const char *reason = reason_names[w->exit_reason];
		log_info("worker", "state=gone id=%d pid=%d generation=%u reason=%s %s", i + 1, (int)pid,
		    w->generation, reason, how);
		bump_restart(a, w->exit_reason);
		/* The slot says ready before the next tick may have seen it. */
		bool was_ready = w->ever_ready || atomic_load(&slot_of(a, i)->state) == WS_READY;
		bool replace_now = false;
		if (w->exit_reason == WR_NONE && !a->stopping) {
			if (!was_ready) {
				start_failed(a, i);
			} else {
				/* A worker that served was killed from outside (OOM
				 * killer, an operator, a kill storm): nothing says a new
				 * one will fail, so it is replaced at once, whatever
				 * backoff start failures may have set. */
				replace_now = true;
			}
		}
		kill_orphaned_apps();
		shm_retire_counters(a->shm->sb, slot_of(a, i));
		atomic_store(&slot_of(a, i)->pid, 0);
		atomic_store(&slot_of(a, i)->state, WS_FREE);
		memset(w, 0, sizeof *w);
		if (replace_now && live_count(a) < a->target)
			spawn_worker(a, "crash");
		return;
	}
	log_debug("worker", "reaped=%d note=\"not a worker\"", (int)pid);
}

static bool
outdated(struct arbiter *a, int i)
{
	if (a->w[i].generation != a->generation)
		return true;
	return a->w[i].recycle_after > 0 &&
	    atomic_load(&slot_of(a, i)->served) >= a->w[i].recycle_after;
}

/* Remembers a reload's outcome for /status and the reload metrics. */
static void
note_reload(struct arbiter *a, const char *result, const char *error)
{
	struct reload_event *e = &a->reloads[a->nreloads++ % ARBITER_RELOADS];

	e->at_ms = wall_ms();
	e->generation = a->generation;
	snprintf(e->result, sizeof e->result, "%s", result);
	snprintf(e->error, sizeof e->error, "%s", error ? error : "");
	a->last_reload_ok = error == NULL;
	if (a->last_reload_ok)
		a->last_reload_ok_ms = e->at_ms;
}

static void
rollout_failed(struct arbiter *a, const char *why)
{
	log_error("reload", "result=failed generation=%u reason=\"%s\" note=\"rollout stopped, the fleet returns to the previous config\"",
	    a->generation, why);
	note_reload(a, "failed", why);
	a->failed_generation = a->generation;
	if (a->prev_cfg) {
		/* Go back to the config the untouched workers run, so the fleet
		 * converges on one generation instead of staying half-rolled. */
		config_free(a->cfg);
		free(a->cfg);
		a->cfg = a->prev_cfg;
		a->prev_cfg = NULL;
		a->generation = a->prev_generation;
		a->target = a->cfg->workers;
		a->fail_streak = 0;
		a->next_spawn_ms = 0;
	}
}

/*
 * The pid holding the L1 lock and for how long, or 0. The holder word names
 * one hold of the lock; how long it has been seen is timed here, from the
 * first tick that saw it, so the hold lasted at least that long.
 */
static pid_t
l1_lock_holder(struct arbiter *a, int64_t now, int64_t *held_ms)
{
	struct lru *l1 = lru_attach(a->shm->cache);
	pid_t pid = 0;
	uint64_t word = l1 != NULL ? lru_lock_holder(l1, &pid) : 0;
	if (word == 0 || word != a->l1_hold) {
		a->l1_hold = word;
		a->l1_hold_seen_ms = now;
	}
	*held_ms = now - a->l1_hold_seen_ms;
	return word != 0 ? pid : 0;
}

static void
tick(struct arbiter *a)
{
	int64_t now = mono_ms();
	int starting = -1;
	int64_t held_ms = 0;
	pid_t holder = l1_lock_holder(a, now, &held_ms);
	for (int i = 0; i < SHM_MAX_WORKERS; i++) {
		struct wproc *w = &a->w[i];
		if (w->pid <= 0)
			continue;
		struct worker_slot *s = slot_of(a, i);
		int st = atomic_load(&s->state);
		if (st == WS_READY && !w->ever_ready) {
			w->ever_ready = true;
			a->fail_streak = 0;
			log_worker(a, i, "ready", "started");
		}
		if (st == WS_STARTING && w->exit_reason == WR_NONE) {
			if (now > w->ready_deadline_ms) {
				kill_worker(a, i, WR_NOT_READY, SIGKILL);
				if (w->generation == a->generation && a->prev_cfg != NULL) {
					char why[96];
					snprintf(why, sizeof why, "replacement not ready within %lld ms",
					    (long long)(w->ready_deadline_ms - w->spawned_ms));
					rollout_failed(a, why);
				}
			} else {
				starting = i;
			}
		}
		/* Heartbeats: a loop that stopped turning is killed and replaced. */
		if ((st == WS_READY || st == WS_DRAINING) && a->cfg->timeout_ms > 0 &&
		    now - atomic_load(&s->heartbeat_ms) > a->cfg->timeout_ms &&
		    w->exit_reason != WR_TIMEOUT) {
			log_warn("worker", "state=unresponsive id=%d pid=%d silent_ms=%lld", i + 1,
			    (int)w->pid, (long long)(now - atomic_load(&s->heartbeat_ms)));
			kill_worker(a, i, WR_TIMEOUT, SIGKILL);
		}
		/* A hold seen since before this worker existed is a dead one's, its pid reused. */
		if (holder == w->pid && held_ms > L1_LOCK_HOLD_MAX_MS && held_ms <= now - w->spawned_ms &&
		    w->exit_reason != WR_TIMEOUT) {
			log_warn("worker", "state=unresponsive id=%d pid=%d l1_lock_held_ms=%lld note=\"killed; the next cache user repairs the tier\"",
			    i + 1, (int)w->pid, (long long)held_ms);
			kill_worker(a, i, WR_TIMEOUT, SIGKILL);
		}
		if (w->exit_reason != WR_NONE && w->drain_deadline_ms && now > w->drain_deadline_ms) {
			log_warn("worker", "state=draining id=%d pid=%d note=\"graceful_timeout passed, killing\"",
			    i + 1, (int)w->pid);
			w->drain_deadline_ms = 0;
			kill(w->pid, SIGKILL);
		}
	}

	if (a->stopping) {
		if (a->stop_deadline_ms && now > a->stop_deadline_ms) {
			for (int i = 0; i < SHM_MAX_WORKERS; i++)
				if (a->w[i].pid > 0)
					kill(a->w[i].pid, SIGKILL);
			a->stop_deadline_ms = 0;
		}
		return;
	}
	if (now < a->next_spawn_ms)
		return;
	int live = live_count(a);
	if (live < a->target) {
		/* Missing capacity is started at once, all of it; only replacements
		 * of working workers go one at a time. */
		for (; live < a->target; live++)
			if (spawn_worker(a, "spawn") < 0 || a->fail_streak > 0)
				break;
		return;
	}
	if (starting >= 0)
		return;
	/* One outdated worker at a time: surge first, drain once the new one is ready. */
	int old = -1;
	for (int i = 0; i < SHM_MAX_WORKERS; i++)
		if (a->w[i].pid > 0 && a->w[i].exit_reason == WR_NONE &&
		    slot_state(a, i) == WS_READY && outdated(a, i)) {
			old = i;
			break;
		}
	if (old >= 0 && a->failed_generation == a->generation && a->w[old].generation != a->generation)
		old = -1;
	if (live > a->target) {
		int victim = old;
		if (victim < 0) {
			for (int i = SHM_MAX_WORKERS - 1; i >= 0 && victim < 0; i--)
				if (a->w[i].pid > 0 && a->w[i].exit_reason == WR_NONE)
					victim = i;
		}
		if (victim >= 0) {
			enum wexit_reason why = old < 0 ? WR_SCALE :
			    a->w[victim].generation != a->generation ? WR_RELOAD : WR_MAX_REQUESTS;
			drain_worker(a, victim, why);
		}
		return;
	}
	if (old >= 0) {
		spawn_worker(a, a->w[old].generation != a->generation ? "reload" : "max_requests");
		return;
	}
	if (a->prev_cfg && live == a->target) {
		log_info("reload", "result=done generation=%u workers=%d", a->generation, live);
		config_free(a->prev_cfg);
		free(a->prev_cfg);
		a->prev_cfg = NULL;
		a->prev_generation = a->generation;
	}
}

static void
on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct arbiter *a = the_arbiter;
	tick(a);
	if (a->on_tick)
		a->on_tick(a);
	if (a->stopping) {
		bool any = false;
		for (int i = 0; i < SHM_MAX_WORKERS; i++)
			if (a->w[i].pid > 0)
				any = true;
		if (!any) {
			log_info("shutdown", "state=done");
			ev_break(loop, EVBREAK_ALL);
		}
	}
}

int
arbiter_reload(struct arbiter *a, char *errout, size_t errlen)
{
	if (a->stopping) {
		if (errout)
			snprintf(errout, errlen, "shutting down");
		return -1;
	}
	char err[CONFIG_ERR_MAX] = "out of memory";
	struct config *next = calloc(1, sizeof *next);
	struct privs privs;
	bool built = next != NULL && config_build(next, a->cli, err, sizeof err) == 0;
	if (built && privs_resolve(next, &privs, err, sizeof err) < 0) {
		config_free(next);
		built = false;
	}
	if (!built) {
		char q[CONFIG_ERR_MAX + 8];
		log_error("reload", "result=rejected error=%s note=\"keeping the running config\"",
		    log_quote(q, sizeof q, err, strlen(err)));
		if (errout)
			snprintf(errout, errlen, "%s", err);
		free(next);
		note_reload(a, "rejected", err);
		return -1;
	}
	if (a->prev_cfg) {
		/* A reload during a rollout: the newest config wins; the workers
		 * of every older generation are outdated alike. */
		config_free(a->cfg);
		free(a->cfg);
	} else {
		a->prev_cfg = a->cfg;
		a->prev_generation = a->generation;
	}
	a->cfg = next;
	a->privs = privs;
	a->generation++;
	a->failed_generation = 0;
	a->fail_streak = 0;
	a->next_spawn_ms = 0;
	a->target = next->workers;
	log_set_level(next->log_level);
	arbiter_reopen_logs(a);
	log_info("reload", "result=accepted generation=%u workers=%d", a->generation, a->target);
	note_reload(a, "accepted", NULL);
	return 0;
}

void
arbiter_scale(struct arbiter *a, int workers)
{
	if (workers < 1)
		workers = 1;
	if (workers > DROVER_MAX_WORKERS)
		workers = DROVER_MAX_WORKERS;
	log_info("scale", "from=%d to=%d", a->target, workers);
	a->target = workers;
}

void
arbiter_stop(struct arbiter *a, bool fast)
{
	if (a->stopping && (!fast || a->fast_stop))
		return;
	a->stopping = true;
	a->fast_stop = fast;
	int64_t bound = fast ? 1000 : a->cfg->graceful_timeout_ms + KILL_GRACE_MS;
	a->stop_deadline_ms = mono_ms() + bound;
	log_info("shutdown", "state=%s timeout_ms=%lld", fast ? "fast" : "graceful", (long long)bound);
	for (int i = 0; i < SHM_MAX_WORKERS; i++) {
		if (a->w[i].pid <= 0)
			continue;
		if (fast) {
			kill_worker(a, i, WR_STOP, SIGQUIT);
		} else if (a->w[i].exit_reason == WR_NONE) {
			drain_worker(a, i, WR_STOP);
		}
	}
}

/*
 * Workers reopen the log files themselves on USR1, under their own
 * identity: files this supervisor created as root are handed to them.
 */
static void
give_logs_to_workers(struct arbiter *a)
{
	const struct identity *id = &a->privs.worker;
	if (!id->set || geteuid() != 0)
		return;
	const char *paths[] = { a->cfg->error_log, a->cfg->access_log };
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		const char *p = paths[i];
		if (p == NULL || strcmp(p, "-") == 0 || strcmp(p, "off") == 0)
			continue;
		if (chown(p, id->uid, id->gid) < 0 && errno != ENOENT)
			log_warn("log", "file=%s error=\"chown: %s\"", p, strerror(errno));
	}
}

void
arbiter_reopen_logs(struct arbiter *a)
{
	if (log_open(a->cfg->error_log, a->cfg->access_log) < 0)
		log_error("log", "error=\"reopen: %s\"", strerror(errno));
	give_logs_to_workers(a);
	/* Workers hold their own fds to the log files. */
	for (int i = 0; i < SHM_MAX_WORKERS; i++)
		if (a->w[i].pid > 0)
			kill(a->w[i].pid, SIGUSR1);
	if (a->on_reopen)
		a->on_reopen(a);
}

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct arbiter *a = the_arbiter;
	switch (w->signum) {
	case SIGHUP: (void)arbiter_reload(a, NULL, 0); break;
	case SIGTERM: arbiter_stop(a, false); break;
	case SIGINT: case SIGQUIT: arbiter_stop(a, true); break;
	case SIGTTIN: arbiter_scale(a, a->target + 1); break;
	case SIGTTOU: arbiter_scale(a, a->target - 1); break;
	case SIGUSR1: arbiter_reopen_logs(a); break;
	case SIGUSR2: if (a->on_upgrade) a->on_upgrade(a); break;
	}
}

void
arbiter_init(struct arbiter *a, struct config *cfg, const struct privs *privs,
    const struct cli *cli, struct listener_set *ls, struct shm_region *shm)
{
	memset(a, 0, sizeof *a);
	a->cfg = cfg;
	a->privs = *privs;
	a->cli = cli;
	a->listeners = ls;
	a->shm = shm;
	a->target = cfg->workers;
	a->generation = a->prev_generation = 1;
	a->self = getpid();
	a->last_reload_ok = true;
	a->last_reload_ok_ms = wall_ms();
	the_arbiter = a;
}

int
arbiter_run(struct arbiter *a, struct ev_loop *loop)
{
	for (size_t i = 0; i < sizeof sup_sigs / sizeof sup_sigs[0]; i++) {
		ev_signal_init(&sup_sw[i], on_signal, sup_sigs[i]);
		ev_signal_start(loop, &sup_sw[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		log_warn("startup", "note=\"not a child subreaper: %s\"", strerror(errno));
	ev_child_init(&sup_cw, on_child, 0, 0);
	ev_child_start(loop, &sup_cw);
	give_logs_to_workers(a);
	ev_timer tw;
	ev_timer_init(&tw, on_tick, 0, TICK_SECONDS);
	ev_timer_start(loop, &tw);
	log_info("startup", "pid=%d workers=%d version=%s", (int)getpid(), a->target, PACKAGE_VERSION);
	ev_run(loop, 0);
	return a->exit_code;
}
