/*
 * worker: see worker.h.
 *
 * After fork the worker throws away the supervisor's event loop and signal
 * setup, builds its own, and only then reports ready in its scoreboard slot:
 * "ready" means it is accepting.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "common/log.h"
#include "common/ratelog.h"
#include "common/util.h"
#include "worker/accesslog.h"
#include "conf/apps.h"
#include "worker/cgi.h"
#include "worker/conn.h"
#include "worker/fastcgi.h"
#include "worker/fcgi_pool.h"
#include "worker/overload.h"
#include "worker/static.h"
#include "worker/session.h"
#include "worker/spawn.h"
#include "worker/worker.h"

#define HEARTBEAT_SECONDS 1.0
#define ACCEPT_RETRY_SECONDS 0.1
#define ACCEPT_BURST 1

static struct {
	const struct worker_ctx *ctx;
	struct worker_slot *slot;
	struct ev_loop *loop;
	ev_io *accepts;
	size_t naccepts;
	bool accepting;
	ev_timer heartbeat, accept_retry, drain_timer;
	struct ratelog accept_errors;
	ev_signal sig_term, sig_quit, sig_int, sig_usr1, sig_orphaned;
} w;

static void
set_accepting(bool on)
{
	if (w.accepting == on)
		return;
	for (size_t i = 0; i < w.naccepts; i++) {
		if (on)
			ev_io_start(w.loop, &w.accepts[i]);
		else
			ev_io_stop(w.loop, &w.accepts[i]);
	}
	w.accepting = on;
}

/*
 * Gives the listening sockets back at once: a supervisor restarted right
 * after a crash must be able to bind them while this worker still cleans
 * up (an app that ignores SIGTERM can take a second).
 */
static void
close_listeners(void)
{
	set_accepting(false);
	for (size_t i = 0; i < w.naccepts; i++) {
		if (w.accepts[i].fd >= 0)
			close(w.accepts[i].fd);
		w.accepts[i].fd = -1;
	}
	w.naccepts = 0;
}

static void exit_worker(int code) __attribute__((noreturn));

static void
exit_worker(int code)
{
	close_listeners();
	cgi_kill_all();
	app_pool_shutdown();
	session_worker_shutdown();
	log_info("worker", "state=exit id=%d pid=%d", w.ctx->id, (int)getpid());
	_exit(code);
}

static void
drained(void)
{
	exit_worker(0);
}

static void
maybe_finish_drain(void)
{
	if (conn_env.draining && conn_env.nconns == 0)
		session_worker_drain(drained);
}

static void
on_conn_close(void)
{
	if (!conn_env.draining && !w.accepting &&
	    conn_env.nconns < (unsigned)w.ctx->cfg->max_connections && !ev_is_active(&w.accept_retry))
		set_accepting(true);
	maybe_finish_drain();
}

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	/*
	 * Every worker waits on the same listening sockets. Taking one
	 * connection per wakeup lets the others take the next ones: with a
	 * burst, the first worker to wake took a whole wave of keep-alive
	 * clients and the rest sat idle. The socket is level-triggered, so
	 * anything left is offered again on the next loop turn.
	 */
	for (int burst = 0; burst < ACCEPT_BURST; burst++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: leave the connection queued for a
				 * worker that has room and try again shortly. */
				uint64_t n;
				if (ratelog_hit(&w.accept_errors, mono_ms(), &n))
					log_warn("worker", "note=\"accept: %s, pausing 100ms\" failures=%llu",
					    strerror(errno), (unsigned long long)n);
				set_accepting(false);
				ev_timer_stop(loop, &w.accept_retry);
				ev_timer_set(&w.accept_retry, ACCEPT_RETRY_SECONDS, 0);
				ev_timer_start(loop, &w.accept_retry);
			}
			return;
		}
		/* At the cap, the connection idle longest makes room (nginx's
		 * reusable connections); with none idle, the newcomer gets a 503.
		 * Only after accept: a wakeup another worker won costs nothing. */
		if (conn_env.nconns >= (unsigned)w.ctx->cfg->max_connections && !conn_reclaim_idle()) {
			overload_refuse_fd(fd);
			continue;
		}
		if (conn_new(fd) == NULL) {
			close(fd);
			return;
		}
	}
}

static void
on_accept_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	ev_timer_stop(loop, t);
	if (!conn_env.draining)
		set_accepting(true);
}

static void
on_heartbeat(struct ev_loop *loop, ev_timer *t, int revents)
{
	atomic_store(&w.slot->heartbeat_ms, mono_ms());
	/* A supervisor gone without the death signal reaching us. */
	if (getppid() == 1) {
		conn_close_all();
		exit_worker(0);
	}
}

static void
on_drain_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	log_warn("worker", "state=draining note=\"graceful_timeout passed\" connections=%u", conn_env.nconns);
	conn_close_all();
	exit_worker(0);
}

static void
on_signal(struct ev_loop *loop, ev_signal *s, int revents)
{
	switch (s->signum) {
	case SIGTERM:
		if (conn_env.draining)
			return;
		conn_env.draining = true;
		set_accepting(false);
		ev_timer_stop(loop, &w.accept_retry);
		ev_timer_set(&w.drain_timer, (double)w.ctx->cfg->graceful_timeout_ms / 1000.0, 0);
		ev_timer_start(loop, &w.drain_timer);
		conn_drain_all();
		maybe_finish_drain();
		break;
	case SIGQUIT:
	case SIGINT:
		conn_close_all();
		exit_worker(0);
		break;
	case SIGUSR2:
		/* The supervisor died: take our CGI process groups and app
		 * processes down with us, which a plain SIGKILL could not. */
		close_listeners();
		log_warn("worker", "state=exit id=%d reason=supervisor_gone", w.ctx->id);
		conn_close_all();
		exit_worker(1);
		break;
	case SIGUSR1:
		log_open(w.ctx->cfg->error_log, w.ctx->cfg->access_log);
		break;
	}
}

static void
reset_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void
worker_main(const struct worker_ctx *ctx)
{
	pid_t parent = getppid();
	memset(&w, 0, sizeof w);
	w.ctx = ctx;
	w.slot = &ctx->shm->sb->slots[ctx->slot];
	log_set_worker(ctx->id);
	/* Never outlive the supervisor: SIGUSR2 lets the worker clean up its
	 * own children first; it is delivered while the loop below runs. */
	if (prctl(PR_SET_PDEATHSIG, SIGUSR2) < 0 || getppid() != parent)
		_exit(1);
	ev_loop_destroy(EV_DEFAULT);
	reset_signals();
	w.loop = ev_default_loop(EVFLAG_AUTO);
	if (w.loop == NULL)
		_exit(1);
	for (size_t i = 0; i < ctx->nclose_fds; i++)
		close(ctx->close_fds[i]);
	if (privs_enter_worker(ctx->privs) < 0) {
		log_error("worker", "state=failed id=%d reason=privileges error=\"%s\"", ctx->id,
		    strerror(errno));
		_exit(3);
	}
	spawn_set_privs(ctx->privs);

	memset(&conn_env, 0, sizeof conn_env);
	conn_env.loop = w.loop;
	conn_env.cfg = ctx->cfg;
	conn_env.app = ctx->cfg->app_type == APP_FASTCGI ? &fastcgi_app :
	    ctx->cfg->app_type == APP_STATIC ? &static_app : &cgi_app;
	conn_env.counters = &w.slot->c;
	conn_env.served = &w.slot->served;
	conn_env.inflight = &w.slot->inflight;
	conn_env.connections = &w.slot->connections;
	conn_env.on_close = on_conn_close;
	conn_env.access_format = access_format_of(ctx->cfg->access_format);
	char err[128];
	if (cidr_set_parse(&conn_env.trusted, ctx->cfg->forwarded_allow_ips, err, sizeof err) < 0) {
		/* config_set checked it: only a changed parser gets here. */
		log_error("worker", "state=failed id=%d reason=forwarded_allow_ips note=\"%s\"", ctx->id, err);
		_exit(3);
	}

	fcgi_pool_report(&w.slot->app_down, &w.slot->c);
	if (session_worker_init(ctx->cfg, ctx->shm, w.slot, w.loop) < 0 ||
	    app_pool_init(apps_fastcgi(ctx->cfg), w.loop) < 0) {
		log_error("worker", "state=failed id=%d reason=init", ctx->id);
		_exit(3);
	}

	w.naccepts = ctx->listeners->n;
	w.accepts = calloc(w.naccepts ? w.naccepts : 1, sizeof *w.accepts);
	if (w.accepts == NULL)
		_exit(1);
	for (size_t i = 0; i < w.naccepts; i++)
		ev_io_init(&w.accepts[i], on_accept, ctx->listeners->v[i].fd, EV_READ);
	ev_timer_init(&w.accept_retry, on_accept_retry, ACCEPT_RETRY_SECONDS, 0);
	ev_timer_init(&w.heartbeat, on_heartbeat, 0, HEARTBEAT_SECONDS);
	ev_timer_start(w.loop, &w.heartbeat);
	ev_init(&w.drain_timer, on_drain_deadline);
	ev_signal_init(&w.sig_term, on_signal, SIGTERM);
	ev_signal_init(&w.sig_quit, on_signal, SIGQUIT);
	ev_signal_init(&w.sig_int, on_signal, SIGINT);
	ev_signal_init(&w.sig_usr1, on_signal, SIGUSR1);
	ev_signal_start(w.loop, &w.sig_term);
	ev_signal_start(w.loop, &w.sig_quit);
	ev_signal_start(w.loop, &w.sig_int);
	ev_signal_start(w.loop, &w.sig_usr1);
	ev_signal_init(&w.sig_orphaned, on_signal, SIGUSR2);
	ev_signal_start(w.loop, &w.sig_orphaned);

	set_accepting(true);
	atomic_store(&w.slot->heartbeat_ms, mono_ms());
	atomic_store(&w.slot->state, WS_READY);
	ev_run(w.loop, 0);
	exit_worker(0);
}
