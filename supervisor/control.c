/*
 * control: see control.h. A command line is at most CTL_LINE_MAX bytes and
 * must arrive within CTL_TIMEOUT seconds; at most CTL_MAX_CONNS connections
 * are open at once, the rest are closed unanswered.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cache/lru.h"
#include "common/log.h"
#include "common/util.h"
#include "conf/config.h"
#include "supervisor/admin.h"
#include "supervisor/arbiter.h"
#include "supervisor/control.h"
#include "supervisor/listeners.h"
#include "supervisor/upgrade.h"

#define CTL_LINE_MAX 256
#define CTL_TIMEOUT 5.0
#define CTL_MAX_CONNS 16
#define CTL_OUT_MAX (8 << 20)

static const char *const state_names[] = {
	[WS_FREE] = "free", [WS_STARTING] = "starting", [WS_READY] = "ready",
	[WS_DRAINING] = "draining", [WS_GONE] = "gone",
};

static void
fmt_age(char *out, size_t cap, int64_t ms)
{
	long long s = ms > 0 ? ms / 1000 : 0;
	if (s < 60)
		snprintf(out, cap, "%llds", s);
	else if (s < 3600)
		snprintf(out, cap, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, cap, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(out, cap, "%lldd%02lldh", s / 86400, s / 3600 % 24);
}

static const char *
redis_summary(struct arbiter *a)
{
	int up, open;
	if (!redis_state(a, &up, &open))
		return "not configured";
	if (open)
		return up ? "up (a breaker is open)" : "down (breaker open)";
	return up ? "up" : "down";
}

/* The text droverctl status prints: a worker table and the cache figures. */
static void
render_table(struct arbiter *a, struct buf *o)
{
	int64_t now = wall_ms(), mono = mono_ms();
	buf_printf(o, "supervisor pid %d, generation %u, %d workers wanted%s\n", (int)a->self,
	    a->generation, a->target, a->stopping ? ", shutting down" : "");
	buf_printf(o, "%-4s %-8s %-4s %-9s %-8s %10s %8s %s\n", "ID", "PID", "GEN", "STATE", "AGE",
	    "REQUESTS", "INFLIGHT", "HEARTBEAT");
	for (int i = 0; i < SHM_MAX_WORKERS; i++) {
		struct worker_slot *s = &a->shm->sb->slots[i];
		int st = atomic_load(&s->state);
		if (st == WS_FREE || st < 0 || st > WS_GONE)
			continue;
		char age[32];
		fmt_age(age, sizeof age, now - s->started_ms);
		buf_printf(o, "%-4d %-8d %-4u %-9s %-8s %10llu %8u %lldms ago\n", s->id,
		    (int)atomic_load(&s->pid), s->generation, state_names[st], age,
		    (unsigned long long)atomic_load(&s->served), atomic_load(&s->inflight),
		    (long long)(mono - atomic_load(&s->heartbeat_ms)));
	}
	struct lru_stats ls;
	memset(&ls, 0, sizeof ls);
	struct lru *l = lru_attach(a->shm->cache);
	if (l)
		lru_get_stats(l, &ls);
	struct worker_counters c;
	shm_sum_counters(a->shm->sb, &c);
	buf_printf(o, "cache: %llu entries (max %llu), %llu bytes (max %llu), evictions lru %llu ttl %llu\n",
	    (unsigned long long)ls.entries, (unsigned long long)ls.max_entries,
	    (unsigned long long)ls.bytes, (unsigned long long)ls.max_bytes,
	    (unsigned long long)ls.evictions_lru, (unsigned long long)ls.evictions_ttl);
	buf_printf(o, "sessions: %llu hits, %llu rebuilds, %llu misses\n",
	    (unsigned long long)c.session_lookups[SL_HIT],
	    (unsigned long long)c.session_lookups[SL_REBUILD],
	    (unsigned long long)c.session_lookups[SL_MISS]);
	buf_printf(o, "redis: %s\n", redis_summary(a));
}

static int
parse_count(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 1 || v > DROVER_MAX_WORKERS)
		return -1;
	*out = (int)v;
	return 0;
}

/* Runs one command; the reply goes to out. */
static void
execute(struct control *ctl, char *line, struct buf *out)
{
	struct arbiter *a = ctl->arb;
	char err[CONFIG_ERR_MAX];
	struct buf body;
	int n;
	buf_init(&body, CTL_OUT_MAX - 1024);
	const char *result = "ok";
	if (strcmp(line, "status") == 0) {
		status_render_json(a, &body);
	} else if (strcmp(line, "status table") == 0) {
		render_table(a, &body);
	} else if (strcmp(line, "metrics") == 0) {
		metrics_render(a, &body);
	} else if (strcmp(line, "reload") == 0) {
		if (arbiter_reload(a, err, sizeof err) < 0) {
			/* One line: the protocol's error is the first line. */
			for (char *p = err; *p; p++)
				if (*p == '\n' || *p == '\r')
					*p = ' ';
			buf_printf(out, "error: %s\n", err);
			result = "error";
		} else {
			buf_printf(&body, "reloading: generation %u, %d workers\n", a->generation, a->target);
		}
	} else if (strncmp(line, "scale ", 6) == 0) {
		if (parse_count(line + 6, &n) < 0) {
			buf_printf(out, "error: scale needs a number of workers from 1 to %d\n",
			    DROVER_MAX_WORKERS);
			result = "error";
		} else if (a->stopping) {
			buf_printf(out, "error: shutting down\n");
			result = "error";
		} else {
			arbiter_scale(a, n);
			buf_printf(&body, "scaling to %d workers\n", a->target);
		}
	} else if (strcmp(line, "stop") == 0 || strcmp(line, "stop fast") == 0) {
		bool fast = line[4] != '\0';
		arbiter_stop(a, fast);
		buf_printf(&body, "%s\n", fast ? "stopping now" : "draining, then exiting");
	} else if (strcmp(line, "reopen-logs") == 0) {
		arbiter_reopen_logs(a);
		buf_printf(&body, "logs reopened\n");
	} else {
		buf_printf(out, "error: unknown command\n");
		result = "error";
	}
	char q[CTL_LINE_MAX + 8];
	log_info("control", "command=%s result=%s", log_quote(q, sizeof q, line, strlen(line)), result);
	if (strcmp(result, "ok") == 0) {
		buf_printf(out, "ok\n");
		if (buf_append(out, buf_head(&body), buf_used(&body)) < 0) {
			buf_reset(out);
			buf_printf(out, "error: reply too large\n");
		}
	}
	buf_free(&body);
}

static bool
line_complete(const char *req, size_t len)
{
	return memchr(req, '\n', len) != NULL;
}

static void
handle(void *arg, char *req, size_t len, bool overflow, struct buf *out)
{
	char *nl = memchr(req, '\n', len);
	if (overflow || nl == NULL) {
		buf_printf(out, "error: command too long\n");
		return;
	}
	*nl = '\0';
	if (nl > req && nl[-1] == '\r')
		nl[-1] = '\0';
	execute(arg, req, out);
}

/*
 * Only root and the supervisor's own uid may give commands. The socket is
 * 0600 and owned by that uid already; this holds even if someone widens
 * its mode or passes a connected descriptor on.
 */
static bool
peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	if (cr.uid == 0 || cr.uid == geteuid())
		return true;
	log_warn("control", "result=refused peer_uid=%d peer_pid=%d", (int)cr.uid, (int)cr.pid);
	return false;
}

/* An inherited socket is reused only if it is bound to the configured path. */
static bool
bound_to(int fd, const char *path)
{
	struct sockaddr_un su;
	socklen_t len = sizeof su;
	if (getsockname(fd, (struct sockaddr *)&su, &len) < 0 || su.sun_family != AF_UNIX)
		return false;
	size_t plen = len > offsetof(struct sockaddr_un, sun_path) ?
	    len - offsetof(struct sockaddr_un, sun_path) : 0;
	return strnlen(su.sun_path, plen) == strlen(path) && strncmp(su.sun_path, path, plen) == 0;
}

static int
create_socket(struct control *c, const char *path, char *err, size_t errlen)
{
	char addr[sizeof(struct sockaddr_un) + 8];
	if (snprintf(addr, sizeof addr, "unix:%s", path) >= (int)sizeof addr) {
		snprintf(err, errlen, "control_socket %s: path too long", path);
		return -1;
	}
	/* No window in which the socket exists with wider permissions. */
	mode_t old = umask(0177);
	c->fd = listen_on(addr, 16, err, errlen);
	umask(old);
	if (c->fd < 0)
		return -1;
	if (chmod(path, 0600) < 0) {
		snprintf(err, errlen, "control_socket %s: chmod: %s", path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(c->fd);
	c->fd = -1;
	unlink(path);
	return -1;
}

int
control_start(struct control *c, struct arbiter *arb, struct ev_loop *loop, char *err,
    size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->os.fd = -1;
	c->arb = arb;
	const char *path = arb->cfg->control_socket;
	int inherited = upgrade_take_fd("control");
	if (path == NULL || *path == '\0') {
		if (inherited >= 0)
			close(inherited);
		return 0;
	}
	if ((c->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		if (inherited >= 0)
			close(inherited);
		return -1;
	}
	if (inherited >= 0 && bound_to(inherited, path)) {
		c->fd = inherited;
	} else {
		if (inherited >= 0)
			close(inherited);
		if (create_socket(c, path, err, errlen) < 0) {
			free(c->path);
			c->path = NULL;
			return -1;
		}
	}
	c->os.req_max = CTL_LINE_MAX;
	c->os.timeout = CTL_TIMEOUT;
	c->os.max_conns = CTL_MAX_CONNS;
	c->os.out_max = CTL_OUT_MAX;
	c->os.complete = line_complete;
	c->os.allow = peer_allowed;
	c->os.handle = handle;
	c->os.arg = c;
	oneshot_start(&c->os, loop, c->fd);
	return 0;
}

void
control_stop(struct control *c, bool remove_file)
{
	if (c->fd >= 0) {
		oneshot_stop(&c->os);
		c->fd = -1;
		if (remove_file && c->path)
			unlink(c->path);
	}
	free(c->path);
	c->path = NULL;
}
