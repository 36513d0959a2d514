/*
 * cgi: the CGI adapter (RFC 3875). One child per request, started with
 * worker/spawn.c in its own process group, stdin fed from the request body
 * as the app reads it (held, or streamed with back-pressure: the pipe full,
 * drover stops reading the client),
 * stdout streamed through the shared app-response path, stderr to the error
 * log line by line with the script's name.
 *
 * No process outlives its request for long: abort and request_timeout kill
 * the whole group at once, a script still running once its stdout closed is
 * killed after a short grace, the group goes when the script exits, and
 * every group is killed when the worker exits (a worker killed outright
 * takes the script with it through its parent-death signal). The ev_child
 * watcher collects the status.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <ev.h>

#include "common/log.h"
#include "conf/config.h"
#include "worker/appvars.h"
#include "worker/cgi.h"
#include "worker/conn.h"
#include "worker/errlog.h"
#include "worker/request.h"
#include "worker/spawn.h"

#define CGI_READ 65536
/*
 * A script whose response is complete (stdout closed) but which keeps
 * running gets this long to exit by itself; then its process group is
 * killed, so no request leaves a process behind.
 */
#define AFTER_RESPONSE_GRACE_S 1.0

struct cgi_proc {
	LIST_ENTRY(cgi_proc) entry;   /* every proc not yet freed */
	pid_t pid;
	struct request *req;          /* NULL once detached */
	struct ev_loop *loop;
	ev_child child;
	ev_io in, out, err;
	ev_timer timer, grace;
	int in_fd, out_fd, err_fd;
	bool exited;
	char script[256];             /* quoted for the log */
	struct errlog err_log;
};

/* Named, so cppcheck can parse it. */
LIST_HEAD(cgi_procs, cgi_proc);
static struct cgi_procs procs = LIST_HEAD_INITIALIZER(procs);

static void
kill_group(struct cgi_proc *p)
{
	if (!p->exited && kill(-p->pid, SIGKILL) < 0 && errno == ESRCH)
		kill(p->pid, SIGKILL);
}

static void
stop_io(struct cgi_proc *p, ev_io *w, int *fd)
{
	if (*fd < 0)
		return;
	ev_io_stop(p->loop, w);
	close(*fd);
	*fd = -1;
}

static void
maybe_free(struct cgi_proc *p)
{
	if (p->req == NULL && p->exited && p->out_fd < 0 && p->err_fd < 0 && p->in_fd < 0) {
		ev_timer_stop(p->loop, &p->grace);
		LIST_REMOVE(p, entry);
		free(p);
	}
}

/* Lets go of the request; the process, if still running, is killed. */
static void
detach(struct cgi_proc *p, bool kill_it)
{
	if (p->req) {
		p->req->app_state = NULL;
		p->req = NULL;
	}
	ev_timer_stop(p->loop, &p->timer);
	stop_io(p, &p->in, &p->in_fd);
	stop_io(p, &p->out, &p->out_fd);
	if (kill_it) {
		if (p->err_fd >= 0)
			errlog_flush(&p->err_log);
		stop_io(p, &p->err, &p->err_fd);
		kill_group(p);
	}
	maybe_free(p);
}

static void
on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct cgi_proc *p = w->data;
	ev_child_stop(loop, w);
	p->exited = true;
	int st = w->rstatus;
	if (WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0))
		log_debug("cgi", "script=%s pid=%d status=%d", p->script, (int)p->pid, st);
	/* Others in its group (a backgrounded grandchild holding the pipe) go too. */
	kill(-p->pid, SIGKILL);
	maybe_free(p);
}

static void
on_stdout(struct ev_loop *loop, ev_io *w, int revents)
{
	struct cgi_proc *p = w->data;
	char buf[CGI_READ];
	ssize_t n = read(p->out_fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	struct request *req = p->req;
	if (n <= 0) {
		stop_io(p, &p->out, &p->out_fd);
		if (!p->exited)
			ev_timer_start(loop, &p->grace);
		if (req) {
			detach(p, false);
			app_eof(req);
		} else {
			maybe_free(p);
		}
		return;
	}
	if (req)
		app_output(req, buf, (size_t)n);
}

static void
on_stderr(struct ev_loop *loop, ev_io *w, int revents)
{
	struct cgi_proc *p = w->data;
	char buf[4096];
	ssize_t n = read(p->err_fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		errlog_flush(&p->err_log);
		stop_io(p, &p->err, &p->err_fd);
		maybe_free(p);
		return;
	}
	errlog_feed(&p->err_log, buf, (size_t)n);
}

static void
on_stdin(struct ev_loop *loop, ev_io *w, int revents)
{
	struct cgi_proc *p = w->data;
	struct request *req = p->req;
	if (req == NULL) {
		stop_io(p, &p->in, &p->in_fd);
		return;
	}
	for (;;) {
		const char *d;
		ssize_t avail = req_body_peek(req, &d);
		if (avail < 0) {
			log_error("cgi", "script=%s error=\"reading the spooled body: %s\"",
			    p->script, strerror(errno));
			detach(p, true);
			app_fail(req, 500, "request body lost");
			return;
		}
		if (avail == 0) {
			if (req_body_eof(req))
				break;
			ev_io_stop(loop, w);     /* body_more starts it again */
			return;
		}
		ssize_t n = write(p->in_fd, d, (size_t)avail);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ev_io_start(loop, w);
			return;
		}
		if (n < 0)
			break;  /* the script stopped reading: its business */
		req_body_consume(req, (size_t)n);
	}
	stop_io(p, &p->in, &p->in_fd);
}

static void
on_grace(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct cgi_proc *p = t->data;
	ev_timer_stop(loop, t);
	if (p->exited)
		return;
	log_info("cgi", "script=%s pid=%d note=\"still running after its response, killed\"",
	    p->script, (int)p->pid);
	kill_group(p);
}

void
cgi_kill_all(void)
{
	struct cgi_proc *p;
	for (p = LIST_FIRST(&procs); p != NULL; p = LIST_NEXT(p, entry))
		kill_group(p);
}

static void
cgi_body_more(struct request *req)
{
	struct cgi_proc *p = req->app_state;
	if (p != NULL && p->in_fd >= 0)
		ev_io_start(p->loop, &p->in);
}

static void
on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct cgi_proc *p = t->data;
	struct request *req = p->req;
	log_warn("cgi", "script=%s pid=%d reason=timeout", p->script, (int)p->pid);
	detach(p, true);
	if (req)
		app_fail(req, 504, "request_timeout");
}

static int
open_pipe(int fds[2])
{
	return pipe2(fds, O_CLOEXEC);
}

static int
cgi_start(struct request *req)
{
	const struct config *cfg = conn_config(req->conn);
	struct script_target t;
	int st = script_resolve(cfg, req->path, &t, 1);
	if (st)
		return st;
	struct varlist vars;
	varlist_init(&vars);
	if (appvars_build(req, &t, &vars) < 0) {
		varlist_free(&vars);
		return 500;
	}
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	if (open_pipe(pin) < 0 || open_pipe(pout) < 0 || open_pipe(perr) < 0) {
		log_error("cgi", "error=\"pipe: %s\"", strerror(errno));
		for (int i = 0; i < 2; i++) {
			if (pin[i] >= 0) close(pin[i]);
			if (pout[i] >= 0) close(pout[i]);
			if (perr[i] >= 0) close(perr[i]);
		}
		varlist_free(&vars);
		return 503;
	}
	/* RFC 3875 §7.2: the current directory is the script's, unless configured. */
	char dir[4096];
	if (cfg->working_dir) {
		snprintf(dir, sizeof dir, "%s", cfg->working_dir);
	} else {
		snprintf(dir, sizeof dir, "%s", t.filename);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		else
			snprintf(dir, sizeof dir, "/");
	}
	char *argv[] = { t.filename, NULL };
	/* SIGKILL if the worker dies: a script must not outlive its request. */
	const struct spawn_spec spec = {
		.path = t.filename, .argv = argv, .envp = varlist_env(&vars),
		.fd = { pin[0], pout[1], perr[1] }, .dir = dir, .death_signal = SIGKILL,
	};
	pid_t pid = spawn_app(&spec);
	int err = pid < 0 ? errno : 0;
	varlist_free(&vars);
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	if (err != 0) {
		log_error("cgi", "script=%s error=\"spawn: %s\"", t.filename, strerror(err));
		close(pin[1]);
		close(pout[0]);
		close(perr[0]);
		return err == EACCES ? 403 : err == ENOENT ? 404 : 502;
	}
	struct cgi_proc *p = calloc(1, sizeof *p);
	if (p == NULL) {
		kill(pid, SIGKILL);
		close(pin[1]);
		close(pout[0]);
		close(perr[0]);
		return 503;
	}
	p->pid = pid;
	p->req = req;
	LIST_INSERT_HEAD(&procs, p, entry);
	p->loop = conn_loop(req->conn);
	const char *name = t.script_name[0] ? t.script_name : t.filename;
	log_quote(p->script, sizeof p->script, name, strlen(name) > 200 ? 200 : strlen(name));
	errlog_init(&p->err_log, "cgi", "script", p->script, (int)pid, ERRLOG_REQUEST_MAX);
	p->in_fd = pin[1];
	p->out_fd = pout[0];
	p->err_fd = perr[0];
	/* Fresh pipe ends carry no other status flag: set, don't read-modify-write. */
	fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	req->app_state = p;
	ev_child_init(&p->child, on_child, pid, 0);
	p->child.data = p;
	ev_child_start(p->loop, &p->child);
	ev_io_init(&p->out, on_stdout, p->out_fd, EV_READ);
	ev_io_init(&p->err, on_stderr, p->err_fd, EV_READ);
	ev_io_init(&p->in, on_stdin, p->in_fd, EV_WRITE);
	p->out.data = p->err.data = p->in.data = p;
	ev_io_start(p->loop, &p->out);
	ev_io_start(p->loop, &p->err);
	if (req_body_eof(req))
		stop_io(p, &p->in, &p->in_fd);
	else
		ev_io_start(p->loop, &p->in);
	ev_timer_init(&p->timer, on_timeout, (double)cfg->request_timeout_ms / 1000.0, 0);
	p->timer.data = p;
	ev_timer_start(p->loop, &p->timer);
	ev_timer_init(&p->grace, on_grace, AFTER_RESPONSE_GRACE_S, 0);
	p->grace.data = p;
	return 0;
}

static void
cgi_pause(struct request *req, bool paused)
{
	struct cgi_proc *p = req->app_state;
	if (p == NULL || p->out_fd < 0)
		return;
	if (paused)
		ev_io_stop(p->loop, &p->out);
	else
		ev_io_start(p->loop, &p->out);
}

static void
cgi_abort(struct request *req)
{
	struct cgi_proc *p = req->app_state;
	if (p)
		detach(p, true);
	req->app_state = NULL;
}

const struct app_ops cgi_app = {
	.name = "cgi",
	.start = cgi_start,
	.body_more = cgi_body_more,
	.pause = cgi_pause,
	.abort = cgi_abort,
};
