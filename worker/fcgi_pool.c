/*
 * fcgi_pool: see fcgi_pool.h.
 *
 * A spawned app's listening socket lives in a private directory (mkdtemp,
 * mode 0700) and stays open in the worker for the life of the slot, so a
 * replacement process inherits the same socket and a connect made while it
 * starts simply waits in the backlog. Processes are started by
 * worker/spawn.c with a parent-death signal, at start and on replacement,
 * never per request. The worker runs
 * libev's default loop, so exits are collected by ev_child; waitpid is used
 * directly only in fcgi_pool_shutdown, once the loop has stopped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "conf/config.h"
#include "supervisor/listeners.h"
#include "supervisor/shm.h"
#include "worker/fcgi_pool.h"
#include "worker/spawn.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define QUICK_DEATH_MS 1000     /* dying sooner than this after start backs off */
#define TERM_GRACE_S 5.0        /* a recycled process that ignores SIGTERM */
#define SHUTDOWN_WAIT_MS 800      /* within the supervisor's fast-stop bound */
#define CONNECT_TIMEOUT_MS 1000
#define MAX_ARGS 64
#define MAX_ENV 256

static struct {
	const struct config *cfg;
	struct ev_loop *loop;
	struct fcgi_pool_hooks hooks;
	struct fcgi_slot *slots;
	int n;
	bool active, spawned, stopped;
	char dir[256];
	char name[256];
	/* spawned */
	char *cmdbuf;
	char exe[4096];             /* argv[0] found in PATH; empty until found */
	int down;                   /* 0: an app process can run; errno of the failed
	                             * start, or -1: every process dies at start */
	char *argv[MAX_ARGS + 1];
	char *envp[MAX_ENV + 1];
	size_t nenv;
	/* external */
	struct sockaddr_storage ss;
	socklen_t slen;
} pool;

/* Where the pool reports; set before fcgi_pool_init, which clears pool. */
static struct {
	_Atomic int *health;        /* the worker's slot, told about down */
	struct worker_counters *counters;
} report;

static void spawn(struct fcgi_slot *s);

/*---------------------------------------------------------------- stderr */

static void
close_err(struct fcgi_slot *s)
{
	if (s->err_fd < 0)
		return;
	errlog_flush(&s->err_log);
	ev_io_stop(pool.loop, &s->err_io);
	close(s->err_fd);
	s->err_fd = -1;
}

static void
on_stderr(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fcgi_slot *s = w->data;
	char buf[4096];
	ssize_t n = read(s->err_fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close_err(s);
		return;
	}
	errlog_feed(&s->err_log, buf, (size_t)n);
}

/*------------------------------------------------------------- processes */

static void
kill_group(pid_t pid, int sig)
{
	if (pid <= 0)
		return;
	if (kill(-pid, sig) < 0)
		kill(pid, sig);
}

static void
count_restart(enum app_restart why)
{
	if (report.counters)
		atomic_fetch_add_explicit(&report.counters->app_restarts[why], 1, memory_order_relaxed);
}

/*
 * The pool is down while every slot's last start failed: its process
 * could not be spawned or died within QUICK_DEATH_MS. Then requests are
 * refused at once (503) instead of waiting for request_timeout, and the
 * worker's slot says why for /healthz.
 */
static void
update_down(void)
{
	int down = pool.n > 0 ? pool.slots[0].start_err : 0;
	for (int i = 1; i < pool.n && down; i++)
		if (pool.slots[i].start_err == 0)
			down = 0;
	if (down == pool.down)
		return;
	int was = pool.down;
	pool.down = down;
	if (report.health)
		atomic_store(report.health, down);
	if (!was) {
		log_error("fastcgi", "app=%s state=down reason=\"%s\" note=\"requests get 503 until it starts\"",
		    pool.name, fcgi_pool_down());
		if (pool.hooks.down)
			pool.hooks.down();
	} else if (!down) {
		log_info("fastcgi", "app=%s state=up", pool.name);
	}
}

/*
 * A start failed (errno, or -1: it died at start): back off, longer each
 * time. One early death can be bad luck (a request that crashes any
 * process, queued for the replacement); a spawn error or a second one in
 * a row means the app cannot start.
 */
static void
start_failed(struct fcgi_slot *s, int err)
{
	if (err > 0 || ++s->early_deaths >= 2)
		s->start_err = err;
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_FIRST_MS;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
}

/* A process that lived QUICK_DEATH_MS started fine. */
static void
on_proof(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fcgi_slot *s = t->data;
	ev_timer_stop(loop, t);
	if (s->pid > 0) {
		s->start_err = 0;
		s->early_deaths = 0;
		s->backoff_ms = 0;
		update_down();
	}
}

static void
on_respawn(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fcgi_slot *s = t->data;
	ev_timer_stop(loop, t);
	if (!pool.stopped && s->pid == 0)
		spawn(s);
}

static void
on_term_grace(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fcgi_slot *s = t->data;
	ev_timer_stop(loop, t);
	if (s->pid > 0) {
		log_warn("fastcgi", "app=%s pid=%d note=\"ignored SIGTERM, killed\"", pool.name,
		    (int)s->pid);
		kill_group(s->pid, SIGKILL);
	}
}

static void
on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct fcgi_slot *s = w->data;
	ev_child_stop(loop, w);
	ev_timer_stop(loop, &s->term);
	int st = w->rstatus;
	pid_t pid = s->pid;
	int64_t lived = mono_ms() - s->started_ms;
	/* Whatever it left behind in its group goes too. */
	kill(-pid, SIGKILL);
	enum app_restart why = s->recycling ? AR_MAX_APP_REQUESTS : s->stopping ? AR_KILLED :
	    WIFSIGNALED(st) ? AR_SIGNAL : AR_EXITED;
	count_restart(why);
	ev_timer_stop(loop, &s->proof);
	if (s->recycling) {
		log_info("fastcgi", "app=%s pid=%d slot=%d state=recycled served=%llu", pool.name,
		    (int)pid, s->idx, (unsigned long long)s->served);
		s->backoff_ms = 0;
	} else {
		if (WIFSIGNALED(st))
			log_warn("fastcgi", "app=%s pid=%d slot=%d state=exited signal=%d", pool.name,
			    (int)pid, s->idx, WTERMSIG(st));
		else
			log_warn("fastcgi", "app=%s pid=%d slot=%d state=exited status=%d", pool.name,
			    (int)pid, s->idx, WEXITSTATUS(st));
		if (lived < QUICK_DEATH_MS && !s->stopping && s->served == 0)
			start_failed(s, -1);
		else
			s->backoff_ms = 0;
	}
	s->pid = 0;
	s->stopping = s->recycling = false;
	if (s->busy || s->conn)
		pool.hooks.lost(s);
	update_down();
	if (pool.stopped)
		return;
	ev_timer_set(&s->respawn, (double)s->backoff_ms / 1000.0, 0);
	ev_timer_start(loop, &s->respawn);
}

static void
spawn(struct fcgi_slot *s)
{
	int errp[2];
	if (pool.exe[0] == '\0' && find_executable(pool.argv[0], pool.exe, sizeof pool.exe) < 0) {
		int err = errno;
		pool.exe[0] = '\0';
		log_error("fastcgi", "app=%s error=\"%s: %s\"", pool.name, pool.argv[0], strerror(err));
		count_restart(AR_SPAWN_FAILED);
		start_failed(s, err);
		goto again;
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		log_error("fastcgi", "app=%s error=\"pipe: %s\"", pool.name, strerror(errno));
		goto retry;
	}
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		log_error("fastcgi", "app=%s error=\"/dev/null: %s\"", pool.name, strerror(errno));
		close(errp[0]);
		close(errp[1]);
		goto retry;
	}
	const struct spawn_spec spec = {
		.path = pool.exe, .argv = pool.argv, .envp = pool.envp,
		.fd = { s->listen_fd, devnull, errp[1] },
		.dir = pool.cfg->working_dir && *pool.cfg->working_dir ? pool.cfg->working_dir : NULL,
		.death_signal = SIGTERM,
	};
	pid_t pid = spawn_app(&spec);
	int err = errno;
	close(devnull);
	close(errp[1]);
	if (pid < 0) {
		log_error("fastcgi", "app=%s error=\"spawn: %s\"", pool.name, strerror(err));
		close(errp[0]);
		count_restart(AR_SPAWN_FAILED);
		start_failed(s, err);
		goto again;
	}
	close_err(s);
	s->pid = pid;
	s->served = 0;
	s->stopping = s->recycling = false;
	s->started_ms = mono_ms();
	s->err_fd = errp[0];
	set_nonblock(s->err_fd);
	ev_io_set(&s->err_io, s->err_fd, EV_READ);
	ev_io_start(pool.loop, &s->err_io);
	ev_child_set(&s->child, pid, 0);
	ev_child_start(pool.loop, &s->child);
	errlog_init(&s->err_log, "fastcgi", "app", pool.name, (int)pid, 0);
	log_info("fastcgi", "app=%s pid=%d slot=%d state=started", pool.name, (int)pid, s->idx);
	ev_timer_set(&s->proof, (double)QUICK_DEATH_MS / 1000.0, 0);
	ev_timer_start(pool.loop, &s->proof);
	pool.hooks.ready();
	return;
retry:
	s->backoff_ms = BACKOFF_MAX_MS;
again:
	update_down();
	ev_timer_set(&s->respawn, (double)s->backoff_ms / 1000.0, 0);
	ev_timer_start(pool.loop, &s->respawn);
}

static int
make_listener(struct fcgi_slot *s)
{
	struct sockaddr_un su;
	memset(&su, 0, sizeof su);
	su.sun_family = AF_UNIX;
	int len = snprintf(s->path, sizeof s->path, "%s/drover-fcgi-%d-%d.sock", pool.dir,
	    (int)getpid(), s->idx);
	if (len < 0 || (size_t)len >= sizeof su.sun_path) {
		log_error("fastcgi", "error=\"socket path too long\" dir=%s", pool.dir);
		s->path[0] = '\0';
		return -1;
	}
	memcpy(su.sun_path, s->path, (size_t)len + 1);
	/* Blocking: the app accepts on it; the worker never does. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("fastcgi", "error=\"socket: %s\"", strerror(errno));
		s->path[0] = '\0';
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&su, sizeof su) < 0 || listen(fd, 128) < 0) {
		log_error("fastcgi", "error=\"bind %s: %s\"", s->path, strerror(errno));
		close(fd);
		unlink(s->path);
		s->path[0] = '\0';
		return -1;
	}
	s->listen_fd = fd;
	return 0;
}

static int
build_command(const struct config *cfg)
{
	pool.cmdbuf = strdup(cfg->command);
	if (pool.cmdbuf == NULL)
		return -1;
	int argc = 0;
	for (char *save, *a = strtok_r(pool.cmdbuf, " \t", &save); a;
	    a = strtok_r(NULL, " \t", &save)) {
		if (argc == MAX_ARGS) {
			log_error("fastcgi", "error=\"command has more than %d words\"", MAX_ARGS);
			return -1;
		}
		pool.argv[argc++] = a;
	}
	pool.argv[argc] = NULL;
	if (argc == 0)
		return -1;
	/* The app's environment: pass_env names, then configured NAME=value. */
	if (cfg->pass_env) {
		char *names = strdup(cfg->pass_env);
		if (names == NULL)
			return -1;
		for (char *save, *nm = strtok_r(names, " \t,", &save); nm;
		    nm = strtok_r(NULL, " \t,", &save)) {
			const char *val = getenv(nm);
			if (val == NULL || pool.nenv == MAX_ENV)
				continue;
			size_t sz = strlen(nm) + strlen(val) + 2;
			char *e = malloc(sz);
			if (e == NULL) {
				free(names);
				return -1;
			}
			snprintf(e, sz, "%s=%s", nm, val);
			pool.envp[pool.nenv++] = e;
		}
		free(names);
	}
	for (size_t i = 0; i < cfg->env.n && pool.nenv < MAX_ENV; i++) {
		if (strchr(cfg->env.v[i], '=') == NULL)
			continue;
		char *e = strdup(cfg->env.v[i]);
		if (e == NULL)
			return -1;
		pool.envp[pool.nenv++] = e;
	}
	pool.envp[pool.nenv] = NULL;
	return 0;
}

int
fcgi_pool_init(const struct config *cfg, struct ev_loop *loop, const struct fcgi_pool_hooks *hooks)
{
	if (cfg->app_type != APP_FASTCGI)
		return 0;
	memset(&pool, 0, sizeof pool);
	pool.cfg = cfg;
	pool.loop = loop;
	pool.hooks = *hooks;
	pool.n = cfg->processes > 0 ? cfg->processes : 1;
	pool.slots = calloc((size_t)pool.n, sizeof *pool.slots);
	if (pool.slots == NULL)
		return -1;
	pool.active = true;
	for (int i = 0; i < pool.n; i++) {
		struct fcgi_slot *s = &pool.slots[i];
		s->idx = i;
		s->listen_fd = s->err_fd = -1;
		ev_init(&s->err_io, on_stderr);
		ev_init(&s->child, on_child);
		ev_init(&s->respawn, on_respawn);
		ev_init(&s->term, on_term_grace);
		ev_init(&s->proof, on_proof);
		s->err_io.data = s->child.data = s->respawn.data = s->term.data = s->proof.data = s;
	}
	if (cfg->command && *cfg->command) {
		pool.spawned = true;
		/* Quoted once here, since it may hold spaces. */
		log_quote(pool.name, sizeof pool.name, cfg->command, strlen(cfg->command));
		if (build_command(cfg) < 0) {
			log_error("fastcgi", "error=\"bad command\" command=%s", pool.name);
			return -1;
		}
		const char *tmp = getenv("TMPDIR");
		if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 60)
			tmp = "/tmp";
		snprintf(pool.dir, sizeof pool.dir, "%s/drover-fcgi-XXXXXX", tmp);
		if (mkdtemp(pool.dir) == NULL) {
			log_error("fastcgi", "error=\"mkdtemp %s: %s\"", pool.dir, strerror(errno));
			pool.dir[0] = '\0';
			return -1;
		}
		for (int i = 0; i < pool.n; i++)
			if (make_listener(&pool.slots[i]) < 0)
				return -1;
		for (int i = 0; i < pool.n; i++)
			spawn(&pool.slots[i]);
		return 0;
	}
	snprintf(pool.name, sizeof pool.name, "%s", cfg->address ? cfg->address : "");
	if (cfg->address == NULL || sockaddr_parse(cfg->address, &pool.ss, &pool.slen) < 0) {
		log_error("fastcgi", "error=\"bad address\" address=%s", pool.name);
		return -1;
	}
	return 0;
}

void
fcgi_pool_shutdown(void)
{
	if (!pool.active || pool.stopped)
		return;
	pool.stopped = true;
	if (!pool.spawned)
		return;
	for (int i = 0; i < pool.n; i++) {
		struct fcgi_slot *s = &pool.slots[i];
		ev_timer_stop(pool.loop, &s->respawn);
		ev_timer_stop(pool.loop, &s->term);
		ev_timer_stop(pool.loop, &s->proof);
		ev_child_stop(pool.loop, &s->child);
		/* An app waiting on a kept connection only looks at SIGTERM once
		 * it is back in accept: close the connection first. */
		if (s->conn)
			pool.hooks.lost(s);
		kill_group(s->pid, SIGTERM);
	}
	/* The loop is over: nothing else will reap these. */
	int64_t deadline = mono_ms() + SHUTDOWN_WAIT_MS;
	for (;;) {
		int left = 0;
		for (int i = 0; i < pool.n; i++) {
			struct fcgi_slot *s = &pool.slots[i];
			if (s->pid <= 0)
				continue;
			pid_t r = waitpid(s->pid, NULL, WNOHANG);
			if (r == s->pid || (r < 0 && errno == ECHILD))
				s->pid = 0;
			else
				left++;
		}
		if (left == 0 || mono_ms() >= deadline)
			break;
		usleep(10000);
	}
	for (int i = 0; i < pool.n; i++) {
		struct fcgi_slot *s = &pool.slots[i];
		if (s->pid > 0) {
			log_warn("fastcgi", "app=%s pid=%d note=\"no exit after SIGTERM, killed\"",
			    pool.name, (int)s->pid);
			kill_group(s->pid, SIGKILL);
			while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
				;
			s->pid = 0;
		}
		close_err(s);
		if (s->listen_fd >= 0) {
			close(s->listen_fd);
			s->listen_fd = -1;
		}
		if (s->path[0])
			unlink(s->path);
	}
	if (pool.dir[0])
		rmdir(pool.dir);
}

/*------------------------------------------------------------------ slots */

struct fcgi_slot *
fcgi_pool_acquire(void)
{
	struct fcgi_slot *pick = NULL;
	if (!pool.active || pool.stopped)
		return NULL;
	for (int i = 0; i < pool.n; i++) {
		struct fcgi_slot *s = &pool.slots[i];
		if (s->busy || s->stopping || (pool.spawned && s->pid <= 0))
			continue;
		/* A kept connection saves a connect. */
		if (s->conn) {
			pick = s;
			break;
		}
		if (pick == NULL)
			pick = s;
	}
	if (pick)
		pick->busy = true;
	return pick;
}

bool
fcgi_pool_release(struct fcgi_slot *s, bool served)
{
	s->busy = false;
	if (!pool.spawned)
		return true;
	if (served) {
		s->served++;
		s->early_deaths = 0;
		if (s->start_err) {
			s->start_err = 0;
			update_down();
		}
	}
	if (s->stopping || s->pid <= 0)
		return false;
	int64_t max = pool.cfg->max_app_requests;
	if (max > 0 && s->served >= (uint64_t)max) {
		/* Its current request is over: ask it to go, and make sure it does. */
		s->stopping = s->recycling = true;
		kill_group(s->pid, SIGTERM);
		ev_timer_set(&s->term, TERM_GRACE_S, 0);
		ev_timer_start(pool.loop, &s->term);
		return false;
	}
	return true;
}

void
fcgi_pool_fail(struct fcgi_slot *s, pid_t pid, const char *why)
{
	s->busy = false;
	/* A replacement already running had nothing to do with it. */
	if (!pool.spawned || s->pid <= 0 || s->pid != pid)
		return;
	if (!s->stopping)
		log_warn("fastcgi", "app=%s pid=%d slot=%d note=\"killed and replaced\" reason=\"%s\"",
		    pool.name, (int)s->pid, s->idx, why);
	s->stopping = true;
	s->recycling = false;
	kill_group(s->pid, SIGKILL);
}

int
fcgi_pool_connect(struct fcgi_slot *s, bool *pending)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	*pending = false;
	if (pool.spawned) {
		struct sockaddr_un *su = (struct sockaddr_un *)&ss;
		memset(&ss, 0, sizeof ss);
		su->sun_family = AF_UNIX;
		memcpy(su->sun_path, s->path, sizeof su->sun_path);
		slen = sizeof *su;
	} else {
		ss = pool.ss;
		slen = pool.slen;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("fastcgi", "app=%s error=\"socket: %s\"", pool.name, strerror(errno));
		return -1;
	}
	if (ss.ss_family != AF_UNIX) {
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	int rc;
	do
		rc = connect(fd, (struct sockaddr *)&ss, slen);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return fd;
	if (errno == EINPROGRESS) {
		*pending = true;
		return fd;
	}
	log_warn("fastcgi", "app=%s error=\"connect: %s\"", pool.name, strerror(errno));
	close(fd);
	return -1;
}

double
fcgi_pool_connect_timeout(void)
{
	int64_t ms = CONNECT_TIMEOUT_MS;
	if (pool.cfg && pool.cfg->request_timeout_ms > 0 && pool.cfg->request_timeout_ms < ms)
		ms = pool.cfg->request_timeout_ms;
	return (double)ms / 1000.0;
}

const char *
fcgi_pool_name(void)
{
	return pool.name;
}

int
fcgi_pool_size(void)
{
	return pool.n;
}

bool
fcgi_pool_spawned(void)
{
	return pool.spawned;
}

const char *
fcgi_pool_down(void)
{
	if (!pool.active || pool.down == 0)
		return NULL;
	return pool.down > 0 ? strerror(pool.down) : "every app process exits at start";
}

void
fcgi_pool_report(_Atomic int *health, struct worker_counters *counters)
{
	report.health = health;
	report.counters = counters;
}
