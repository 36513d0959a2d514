/*
 * drover: entry point of the supervisor.
 *
 * Builds the config, binds, creates the shared region and hands over to
 * the arbiter. It keeps the identity it was started with (workers and apps
 * drop theirs, see common/privs.h), so its control socket and pidfile stay
 * out of the apps' reach. Everything that can fail here fails before a
 * single worker starts, so a bad config never half-starts.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ev.h>

#include "cache/lru.h"
#include "common/log.h"
#include "common/privs.h"
#include "conf/config.h"
#include "conf/secrets.h"
#include "supervisor/admin.h"
#include "supervisor/arbiter.h"
#include "supervisor/control.h"
#include "supervisor/listeners.h"
#include "supervisor/notify.h"
#include "supervisor/shm.h"
#include "supervisor/upgrade.h"
#include "supervisor/version.h"

#define MAX_ACTIVATED 64

static struct admin admin;
static struct control control;

static int
write_pidfile(const char *path)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -1;
	FILE *f = fopen(tmp, "we");
	if (f == NULL)
		return -1;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * Started as root, workers run as the [server] user (nobody when none is
 * set): they must be able to reach the app, or every request would fail.
 */
static int
check_app_access(const struct config *c, const struct privs *p, char *err, size_t errlen)
{
	if (!p->worker.set || p->app.set)
		return 0;
	const char *path = c->app_type == APP_CGI ? (c->script ? c->script : c->root) : NULL;
	if (path == NULL || privs_can_access(p, path, X_OK))
		return 0;
	snprintf(err, errlen, "drover: %s is not reachable by user %s, which the workers run as%s; "
	    "set [server] user to one that can reach it, or [server] allow_root = true",
	    path, p->worker.name, p->defaulted ? " (started as root with no [server] user)" : "");
	return -1;
}

/*
 * The packaged unit grants CAP_NET_BIND_SERVICE as an ambient capability
 * so the supervisor can bind port 80 as its user. Everything is bound by
 * now; clearing the ambient set keeps workers' apps (every CGI script,
 * every FastCGI process) from inheriting it across exec. EINVAL: a kernel
 * without ambient capabilities, so there is nothing to clear.
 */
static int
clear_ambient_caps(void)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	return 0;
}

static void
warn_privileges(const struct config *c, const struct privs *p)
{
	if (p->defaulted)
		log_warn("startup", "note=\"started as root with no [server] user: workers and apps run as nobody; set [server] user\"");
	else if (geteuid() != 0 && (c->user || c->group || c->app_user || c->app_group))
		log_warn("startup", "note=\"[server]/[app] user and group ignored: not started as root\"");
	if (p->apps_as_root && geteuid() == 0)
		log_warn("startup", "note=\"apps run as root ([server] allow_root = true)\"");
}

static void
ops_tick(struct arbiter *a)
{
	notify_tick(a);
	upgrade_tick(a);
}

/*
 * The last workers out flushed what they could (worker/session.c); what is
 * still dirty now ends with the shared memory. Said and counted, never
 * silent. Every worker is gone, so nobody holds the L1 lock.
 */
static void
account_unflushed(struct arbiter *a, struct shm_region *shm)
{
	struct lru *l = lru_attach(shm->cache);
	struct lru_stats st;

	if (l == NULL || !a->cfg->session_enabled)
		return;
	lru_get_stats(l, &st);
	if (st.dirty == 0)
		return;
	atomic_fetch_add(&shm->sb->retired.session_stores[SS_LOST_AT_EXIT], st.dirty);
	log_error("session", "result=lost_at_exit count=%llu note=\"writes Redis never acknowledged end with this host's cache\"",
	    (unsigned long long)st.dirty);
}

/* Old side of a binary upgrade: the sockets now belong to the new supervisor. */
static void
handed_over(struct arbiter *a)
{
	admin_stop(&admin);
	control_stop(&control, false);
}

/* New side of a binary upgrade: the pidfile is written only once this
 * process has taken over, so a failed upgrade leaves the old one's. */
static void
took_over(struct arbiter *a)
{
	if (a->cfg->pidfile && write_pidfile(a->cfg->pidfile) < 0)
		log_error("upgrade", "error=\"pidfile %s: %s\"", a->cfg->pidfile, strerror(errno));
}

/*
 * The usual soft limit (1024) equals the default max_connections of one
 * worker: raise it to the hard limit, which workers inherit, and say when
 * max_connections still cannot fit.
 */
static void
raise_nofile(const struct config *cfg)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("startup", "note=\"cannot raise the open-file limit\" error=\"%s\"", strerror(errno));
			rl.rlim_cur = was;
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && (uint64_t)cfg->max_connections + 64 > (uint64_t)rl.rlim_cur)
		log_warn("startup", "note=\"max_connections is above the open-file limit; "
		    "extra connections are refused\" max_connections=%d nofile=%llu",
		    cfg->max_connections, (unsigned long long)rl.rlim_cur);
	else
		log_info("startup", "nofile=%llu was=%llu", (unsigned long long)rl.rlim_cur,
		    (unsigned long long)was);
}

int
main(int argc, char **argv)
{
	static struct cli cli;
	char err[CONFIG_ERR_MAX];
	if (cli_parse(&cli, argc, argv, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		cli_usage(STDERR_FILENO);
		return 2;
	}
	if (cli.help) {
		cli_usage(STDOUT_FILENO);
		return 0;
	}
	if (cli.version) {
		version_print(stdout);
		return 0;
	}
	/* Before anything reads them: no core dumps, no /proc/PID/{environ,mem}
	 * for processes of the same uid, and the secrets out of the environment. */
	if (privs_no_dump() < 0 || secrets_take() < 0) {
		fprintf(stderr, "drover: %s\n", strerror(errno));
		return 1;
	}
	struct config *cfg = calloc(1, sizeof *cfg);
	if (cfg == NULL || config_build(cfg, &cli, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", cfg ? err : "drover: out of memory");
		free(cfg);
		return 2;
	}
	static struct privs privs;
	if (privs_resolve(cfg, &privs, err, sizeof err) < 0 ||
	    check_app_access(cfg, &privs, err, sizeof err) < 0) {
		fprintf(stderr, "%s%s\n", strncmp(err, "drover:", 7) ? "drover: " : "", err);
		config_free(cfg);
		free(cfg);
		return 2;
	}
	if (cli.check_only) {
		printf("drover: configuration %s is valid\n", cfg->file ? cfg->file : "(flags only)");
		config_free(cfg);
		free(cfg);
		return 0;
	}
	log_set_level(cfg->log_level);
	if (log_open(cfg->error_log, cfg->access_log) < 0) {
		fprintf(stderr, "drover: cannot open log: %s\n", strerror(errno));
		return 1;
	}
	raise_nofile(cfg);

	struct listener_set ls;
	int actfds[MAX_ACTIVATED], nact = -1, lrc = -1;
	if (upgrade_init(argv, err, sizeof err) == 0 &&
	    (nact = notify_listen_fds(actfds, MAX_ACTIVATED, err, sizeof err)) >= 0) {
		if (upgrade_inherited())
			lrc = upgrade_adopt_listeners(&ls, err, sizeof err);
		else if (nact > 0)
			lrc = listeners_adopt(&ls, actfds, (size_t)nact, NULL, err, sizeof err);
		else {
			struct unix_perm perm;
			lrc = unix_perm_resolve(&perm, cfg->socket_mode, cfg->socket_owner, cfg->user,
			    cfg->group, err, sizeof err);
			if (lrc == 0)
				lrc = listeners_open(&ls, cfg->binds.v, cfg->binds.n, cfg->backlog, &perm,
				    err, sizeof err);
		}
	}
	if (lrc < 0) {
		log_error("startup", "error=\"%s\"", err);
		fprintf(stderr, "drover: %s\n", err);
		return 1;
	}
	struct shm_region shm;
	size_t cache_size = lru_region_size((uint64_t)cfg->max_entries, cfg->max_bytes);
	if (upgrade_inherited()) {
		/* The L1 cache carries over untouched, with its old bounds. */
		if (upgrade_adopt_shm(&shm, err, sizeof err) < 0) {
			log_error("startup", "error=\"%s\"", err);
			listeners_close(&ls, 0);
			return 1;
		}
	} else if (shm_create(&shm, cache_size) < 0 ||
	    lru_init(shm.cache, shm.cache_size, (uint64_t)cfg->max_entries, cfg->max_bytes) < 0) {
		log_error("startup", "error=\"shared region: %s\"", strerror(errno));
		listeners_close(&ls, 1);
		return 1;
	}
	/*
	 * Formatting touched every page of the cache; the supervisor itself only
	 * reads its header. Dropping our page mappings keeps the data (it lives
	 * in the memfd) and keeps the cache out of the supervisor's RSS.
	 */
	if (madvise(shm.cache, shm.cache_size, MADV_DONTNEED) < 0)
		log_warn("startup", "note=\"madvise: %s\"", strerror(errno));
	if (cfg->pidfile && !upgrade_inherited() && write_pidfile(cfg->pidfile) < 0) {
		log_error("startup", "error=\"pidfile %s: %s\"", cfg->pidfile, strerror(errno));
		listeners_close(&ls, 1);
		return 1;
	}
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	if (loop == NULL) {
		log_error("startup", "error=\"cannot create event loop\"");
		return 1;
	}
	struct arbiter arb;
	arbiter_init(&arb, cfg, &privs, &cli, &ls, &shm);
	if (admin_start(&admin, &arb, loop, err, sizeof err) < 0 ||
	    control_start(&control, &arb, loop, err, sizeof err) < 0) {
		log_error("startup", "error=\"%s\"", err);
		fprintf(stderr, "drover: %s\n", err);
		listeners_close(&ls, !upgrade_inherited());
		return 1;
	}
	if (admin.fd >= 0)
		arb.close_fds[arb.nclose_fds++] = admin.fd;
	arb.close_fds[arb.nclose_fds++] = shm.fd;
	if (control.fd >= 0)
		arb.close_fds[arb.nclose_fds++] = control.fd;
	if (upgrade_ready_fd() >= 0)
		arb.close_fds[arb.nclose_fds++] = upgrade_ready_fd();
	upgrade_close_unused();
	static const struct upgrade_hooks hooks = { .handover = handed_over, .ready = took_over };
	upgrade_setup(loop, admin.fd, control.fd, &hooks);
	notify_init(upgrade_inherited());
	arb.on_tick = ops_tick;
	arb.on_upgrade = upgrade_start;
	if (clear_ambient_caps() < 0) {
		log_error("startup", "error=\"cannot clear ambient capabilities: %s\"", strerror(errno));
		listeners_close(&ls, !upgrade_inherited());
		return 1;
	}
	warn_privileges(cfg, &privs);
	int rc = arbiter_run(&arb, loop);
	/* After an upgrade the files are the new supervisor's. */
	bool mine = !upgrade_handed_over();
	if (mine)
		account_unflushed(&arb, &shm);
	admin_stop(&admin);
	control_stop(&control, mine);
	listeners_close(&ls, mine);
	if (arb.cfg->pidfile && mine)
		unlink(arb.cfg->pidfile);
	/* Freed so that a leak checker's report at exit shows real leaks only. */
	if (arb.prev_cfg && arb.prev_cfg != arb.cfg) {
		config_free(arb.prev_cfg);
		free(arb.prev_cfg);
	}
	config_free(arb.cfg);
	free(arb.cfg);
	return rc;
}
