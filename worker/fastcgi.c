/*
 * fastcgi: the FastCGI adapter, responder role (FastCGI 1.0). One request
 * per app connection at a time, with FCGI_KEEP_CONN so an idle connection
 * is reused for the slot's next request. PARAMS are the same variables CGI
 * gets; STDIN is the request body as the app reads it (held, de-chunked, or
 * streamed as it arrives: while the app socket is full, drover stops reading
 * the client); STDOUT goes through
 * the shared app-response path (apphdr.c); STDERR goes to the error log line
 * by line with the script's name.
 *
 * Owns app connections, per-request state and the wait queue for requests
 * that find every slot busy. Records are built and parsed by fcgi_record
 * only; processes and addresses belong to fcgi_pool. It must not write to
 * the client other than through app_output/app_eof/app_fail.
 *
 * Re-entrancy: app_output and friends may call back into fcgi_abort (client
 * gone, bad head, internal redirect) and even fcgi_start. A connection in the
 * middle of its read callback holds a reference, so closing it then only
 * marks it and the callback frees it on the way out.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "common/log.h"
#include "conf/config.h"
#include "worker/appvars.h"
#include "worker/conn.h"
#include "worker/errlog.h"
#include "worker/fastcgi.h"
#include "worker/overload.h"
#include "worker/fcgi_pool.h"
#include "worker/fcgi_record.h"
#include "worker/request.h"

#define REQUEST_ID 1
#define READ_SIZE 65536
#define STDIN_BATCH (4 * FCGI_STREAM_CHUNK)
#define OUT_LIMIT (4u << 20)

struct fconn;

struct freq {
	struct request *req;
	struct fconn *fc;               /* NULL while queued */
	TAILQ_ENTRY(freq) q;
	bool queued, paused;
	int retries;
	ev_timer timer;
	struct buf params;              /* PARAMS records, the empty one included */
	char script[256];               /* quoted for the log */
	struct errlog err_log;
};

struct fconn {
	int fd;
	struct fcgi_slot *slot;
	pid_t pid;                      /* the slot's process when connected */
	struct freq *fr;                /* NULL while idle */
	ev_io rio, wio;
	ev_timer ctimer;
	bool connecting, reused, got_bytes, stdin_done, broken, closed;
	int refs;
	struct fcgi_decoder dec;
	struct buf out;
};

TAILQ_HEAD(freq_queue, freq);

static struct {
	struct ev_loop *loop;
	const struct config *cfg;
	struct freq_queue queue;
	size_t queued;
	ev_timer kick;
	bool active;
} fc_state;

static void dispatch_queue(void);
static void conn_error(struct fconn *fc, int status, const char *why, bool transport);

/*------------------------------------------------------------ connections */

static void
fconn_free(struct fconn *fc)
{
	buf_free(&fc->out);
	free(fc);
}

/* Closes the socket; the struct goes now or when its callback returns. */
static void
fconn_close(struct fconn *fc)
{
	if (fc->closed)
		return;
	fc->closed = true;
	ev_io_stop(fc_state.loop, &fc->rio);
	ev_io_stop(fc_state.loop, &fc->wio);
	ev_timer_stop(fc_state.loop, &fc->ctimer);
	close(fc->fd);
	fc->fd = -1;
	if (fc->slot && fc->slot->conn == fc)
		fc->slot->conn = NULL;
	fc->slot = NULL;
	/* fr must not keep pointing at a struct freed below (assign's
	 * failure paths close fc and then finish fr). */
	if (fc->fr != NULL && fc->fr->fc == fc)
		fc->fr->fc = NULL;
	fc->fr = NULL;
	if (fc->refs == 0)
		fconn_free(fc);
}

/* Best effort: tell the app to stop, if the record fits in the socket now. */
static void
send_abort(struct fconn *fc)
{
	uint8_t rec[FCGI_HEADER_LEN];
	if (fc->closed || fc->connecting || fc->broken || buf_used(&fc->out) > 0)
		return;
	size_t n = fcgi_encode_abort(rec, sizeof rec, REQUEST_ID);
	if (n > 0)
		(void)send(fc->fd, rec, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/*
 * Appends the next part of STDIN to out; false when nothing is left, or
 * nothing yet (body_more starts the writer again), or on error (*err).
 */
static bool
fill_stdin(struct fconn *fc, bool *err)
{
	if (fc->stdin_done || fc->fr == NULL)
		return false;
	struct request *req = fc->fr->req;
	const char *d = NULL;
	ssize_t avail = req_body_peek(req, &d);
	if (avail < 0) {
		*err = true;
		return false;
	}
	if (avail == 0 && !req_body_eof(req))
		return false;
	size_t chunk = (size_t)avail < STDIN_BATCH ? (size_t)avail : STDIN_BATCH;
	size_t need = fcgi_stream_size(chunk);
	if (need == SIZE_MAX || buf_reserve(&fc->out, need) < 0)
		return false;
	size_t n = fcgi_encode_stream((uint8_t *)fc->out.data + fc->out.len,
	    fc->out.cap - fc->out.len, FCGI_STDIN, REQUEST_ID, d, chunk);
	if (n == 0)
		return false;
	fc->out.len += n;
	req_body_consume(req, chunk);
	if (chunk == 0)
		fc->stdin_done = true;
	return true;
}

static void
on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fconn *fc = w->data;
	if (fc->connecting) {
		int err = 0;
		socklen_t elen = sizeof err;
		if (getsockopt(fc->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
		if (err == EINPROGRESS || err == EALREADY)
			return;
		if (err != 0) {
			char why[128];
			snprintf(why, sizeof why, "connect: %s", strerror(err));
			conn_error(fc, 502, why, true);
			return;
		}
		fc->connecting = false;
		ev_timer_stop(loop, &fc->ctimer);
	}
	for (;;) {
		bool err = false;
		if (buf_used(&fc->out) == 0 && !fill_stdin(fc, &err)) {
			ev_io_stop(loop, &fc->wio);
			if (err) {
				char why[160];
				snprintf(why, sizeof why, "reading the spooled body: %s", strerror(errno));
				conn_error(fc, 500, why, false);
			}
			return;
		}
		ssize_t n = send(fc->fd, buf_head(&fc->out), buf_used(&fc->out), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			/* The app may have answered without reading everything: let the
			 * read side decide, but never reuse this connection. */
			fc->broken = true;
			buf_reset(&fc->out);
			fc->stdin_done = true;
			ev_io_stop(loop, &fc->wio);
			return;
		}
		buf_consume(&fc->out, (size_t)n);
	}
}

static void
on_connect_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fconn *fc = t->data;
	conn_error(fc, 502, "connect timed out", false);
}

/*--------------------------------------------------------------- requests */

static void
freq_free(struct freq *fr)
{
	if (fr->queued) {
		TAILQ_REMOVE(&fc_state.queue, fr, q);
		fr->queued = false;
		fc_state.queued--;
	}
	errlog_flush(&fr->err_log);
	ev_timer_stop(fc_state.loop, &fr->timer);
	buf_free(&fr->params);
	if (fr->req && fr->req->app_state == fr)
		fr->req->app_state = NULL;
	free(fr);
}

/* Unhooks fr from its connection and frees it; returns its request. */
static struct request *
freq_finish(struct freq *fr)
{
	struct request *req = fr->req;
	if (fr->fc && fr->fc->fr == fr)
		fr->fc->fr = NULL;
	fr->fc = NULL;
	freq_free(fr);
	return req;
}

static void
kick(void)
{
	if (!TAILQ_EMPTY(&fc_state.queue) && !ev_is_active(&fc_state.kick)) {
		ev_timer_set(&fc_state.kick, 0, 0);
		ev_timer_start(fc_state.loop, &fc_state.kick);
	}
}

static void
on_kick(struct ev_loop *loop, ev_timer *t, int revents)
{
	ev_timer_stop(loop, t);
	dispatch_queue();
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents);

static struct fconn *
fconn_open(struct fcgi_slot *s)
{
	bool pending;
	int fd = fcgi_pool_connect(s, &pending);
	if (fd < 0)
		return NULL;
	struct fconn *fc = calloc(1, sizeof *fc);
	if (fc == NULL) {
		close(fd);
		return NULL;
	}
	fc->fd = fd;
	fc->slot = s;
	fc->pid = s->pid;
	fc->connecting = pending;
	buf_init(&fc->out, OUT_LIMIT);
	ev_io_init(&fc->rio, on_read, fd, EV_READ);
	ev_io_init(&fc->wio, on_write, fd, EV_WRITE);
	ev_timer_init(&fc->ctimer, on_connect_timeout, fcgi_pool_connect_timeout(), 0);
	fc->rio.data = fc->wio.data = fc->ctimer.data = fc;
	if (pending)
		ev_timer_start(fc_state.loop, &fc->ctimer);
	s->conn = fc;
	return fc;
}

/* Puts fr on slot s (already marked busy). -1 if no connection could be made. */
static int
assign(struct freq *fr, struct fcgi_slot *s)
{
	struct fconn *fc = s->conn;
	if (fc && fc->fr == NULL && !fc->closed) {
		fc->reused = true;
	} else {
		if (fc)
			fconn_close(fc);
		fc = fconn_open(s);
		if (fc == NULL)
			return -1;
	}
	fc->fr = fr;
	fr->fc = fc;
	fc->got_bytes = fc->stdin_done = false;
	fcgi_decoder_init(&fc->dec, REQUEST_ID);
	buf_reset(&fc->out);
	if (buf_reserve(&fc->out, FCGI_BEGIN_LEN + buf_used(&fr->params)) < 0)
		return -1;
	size_t n = fcgi_encode_begin((uint8_t *)fc->out.data + fc->out.len,
	    fc->out.cap - fc->out.len, REQUEST_ID, FCGI_RESPONDER, 1);
	fc->out.len += n;
	if (n == 0 || buf_append(&fc->out, buf_head(&fr->params), buf_used(&fr->params)) < 0)
		return -1;
	bool err = false;
	(void)fill_stdin(fc, &err);
	ev_io_start(fc_state.loop, &fc->wio);
	if (!fr->paused)
		ev_io_start(fc_state.loop, &fc->rio);
	else
		ev_io_stop(fc_state.loop, &fc->rio);
	return 0;
}

/* assign, or the request fails with 502. */
static void
assign_or_fail(struct freq *fr, struct fcgi_slot *s)
{
	if (assign(fr, s) == 0)
		return;
	if (fr->fc)
		fconn_close(fr->fc);
	fcgi_pool_fail(s, 0, "connect");
	struct request *req = freq_finish(fr);
	app_fail(req, 502, "cannot connect to the FastCGI app");
}

static void
dispatch_queue(void)
{
	struct freq *fr;
	while ((fr = TAILQ_FIRST(&fc_state.queue)) != NULL) {
		struct fcgi_slot *s = fcgi_pool_acquire();
		if (s == NULL)
			return;
		TAILQ_REMOVE(&fc_state.queue, fr, q);
		fr->queued = false;
		fc_state.queued--;
		assign_or_fail(fr, s);
	}
}

/* The slot's request is over and the connection in a known state. */
static void
release(struct fconn *fc, bool keep)
{
	struct fcgi_slot *s = fc->slot;
	fc->fr = NULL;
	if (s == NULL)
		return;
	/*
	 * An external server's processes are shared by every worker (php-fpm:
	 * one connection per child at a time), so an idle kept connection
	 * would pin one while other workers' connections wait in its backlog.
	 * Keep it only to hand straight to a request waiting here.
	 */
	if (!fcgi_pool_spawned() && TAILQ_EMPTY(&fc_state.queue))
		keep = false;
	if (!fcgi_pool_release(s, true) || !keep) {
		fconn_close(fc);
		return;
	}
	/* Idle: watch for the app closing it. */
	ev_io_stop(fc_state.loop, &fc->wio);
	ev_io_start(fc_state.loop, &fc->rio);
}

static void
end_request(struct fconn *fc, const struct fcgi_event *ev, bool extra)
{
	struct freq *fr = fc->fr;
	bool keep = !extra && fc->stdin_done && buf_used(&fc->out) == 0 && !fc->broken &&
	    ev->protocol_status == FCGI_REQUEST_COMPLETE;
	struct request *req = freq_finish(fr);
	release(fc, keep);
	dispatch_queue();
	switch (ev->protocol_status) {
	case FCGI_REQUEST_COMPLETE:
		app_eof(req);
		break;
	case FCGI_OVERLOADED:
		app_fail(req, 503, "FastCGI app overloaded");
		break;
	case FCGI_CANT_MPX_CONN:
		app_fail(req, 502, "FastCGI app cannot multiplex");
		break;
	case FCGI_UNKNOWN_ROLE:
		app_fail(req, 502, "FastCGI app does not play the responder role");
		break;
	default:
		app_fail(req, 502, "FastCGI app ended with an unknown protocol status");
		break;
	}
}

/*
 * A connection with a request on it failed. transport: the app closed or
 * reset it (as opposed to sending something wrong). A kept connection that
 * fails before any reply byte is retried once on a fresh one, since the
 * app may have closed it while it sat idle.
 */
static void
conn_error(struct fconn *fc, int status, const char *why, bool transport)
{
	struct freq *fr = fc->fr;
	struct fcgi_slot *s = fc->slot;
	pid_t pid = fc->pid;
	/* Last, as it has an effect: the body starts over, if it still can. */
	bool retry = fr && transport && fc->reused && !fc->got_bytes && fr->retries == 0 &&
	    req_body_rewind(fr->req);
	fconn_close(fc);
	if (fr == NULL) {
		if (s)
			fcgi_pool_release(s, false);
		return;
	}
	fr->fc = NULL;
	if (retry && s) {
		fr->retries++;
		log_debug("fastcgi", "app=%s note=\"kept connection closed, retrying\"",
		    fcgi_pool_name());
		assign_or_fail(fr, s);
		return;
	}
	if (s)
		fcgi_pool_fail(s, pid, why);
	struct request *req = freq_finish(fr);
	kick();
	app_fail(req, status, why);
}

static void
on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fconn *fc = w->data;
	uint8_t buf[READ_SIZE];
	ssize_t n = recv(fc->fd, buf, sizeof buf, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (fc->fr == NULL) {
		/* Idle: the app closed it, or sent what nobody asked for. */
		fconn_close(fc);
		return;
	}
	if (n <= 0) {
		char why[128];
		if (n == 0)
			snprintf(why, sizeof why, "FastCGI app closed the connection before END_REQUEST");
		else
			snprintf(why, sizeof why, "FastCGI app connection: %s", strerror(errno));
		conn_error(fc, 502, why, true);
		return;
	}
	fc->got_bytes = true;
	struct freq *fr = fc->fr;
	size_t off = 0;
	fc->refs++;
	while (off < (size_t)n && !fc->closed && fc->fr == fr) {
		struct fcgi_event ev;
		size_t used = 0;
		int t = fcgi_decode(&fc->dec, buf + off, (size_t)n - off, &used, &ev);
		off += used;
		switch (t) {
		case FCGI_EV_NEED_MORE:
		case FCGI_EV_STDOUT_END:
			break;
		case FCGI_EV_STDOUT:
			app_output(fr->req, ev.data, ev.len);
			break;
		case FCGI_EV_STDERR:
			errlog_feed(&fr->err_log, (const char *)ev.data, ev.len);
			break;
		case FCGI_EV_END_REQUEST:
			end_request(fc, &ev, off < (size_t)n);
			goto out;
		case FCGI_EV_ERROR:
		default: {
			char why[160];
			snprintf(why, sizeof why, "FastCGI protocol error: %s (record type %u)",
			    ev.reason ? ev.reason : "?", (unsigned)fc->dec.hdr.type);
			conn_error(fc, 502, why, false);
			goto out;
		}
		}
	}
out:
	if (--fc->refs == 0 && fc->closed)
		fconn_free(fc);
}

static void
on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct freq *fr = t->data;
	struct fconn *fc = fr->fc;
	log_warn("fastcgi", "script=%s reason=timeout%s", fr->script, fc ? "" : " note=queued");
	if (fc) {
		struct fcgi_slot *s = fc->slot;
		pid_t pid = fc->pid;
		send_abort(fc);
		fconn_close(fc);
		fr->fc = NULL;
		if (s)
			fcgi_pool_fail(s, pid, "request_timeout");
		kick();
	}
	struct request *req = freq_finish(fr);
	app_fail(req, 504, "request_timeout");
}

/*------------------------------------------------------------- app_ops */

static int
build_params(struct freq *fr, struct request *req, const struct script_target *t)
{
	struct varlist vars;
	struct buf pairs;
	int rc = -1;
	varlist_init(&vars);
	buf_init(&pairs, 2u << 20);
	if (appvars_build(req, t, &vars) < 0)
		goto done;
	char **env = varlist_env(&vars);
	for (size_t i = 0; env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		if (eq == NULL)
			continue;
		size_t nlen = (size_t)(eq - env[i]), vlen = strlen(eq + 1);
		size_t need = fcgi_pair_size(nlen, vlen);
		if (need == 0 || buf_reserve(&pairs, need) < 0)
			goto done;
		pairs.len += fcgi_encode_pair((uint8_t *)pairs.data + pairs.len,
		    pairs.cap - pairs.len, env[i], nlen, eq + 1, vlen);
	}
	size_t plen = buf_used(&pairs);
	size_t need = fcgi_stream_size(plen);
	size_t end = fcgi_stream_size(0);
	if (need == SIZE_MAX || buf_reserve(&fr->params, need + end) < 0)
		goto done;
	size_t n = 0;
	if (plen > 0) {
		n = fcgi_encode_stream((uint8_t *)fr->params.data + fr->params.len,
		    fr->params.cap - fr->params.len, FCGI_PARAMS, REQUEST_ID, buf_head(&pairs), plen);
		if (n == 0)
			goto done;
		fr->params.len += n;
	}
	n = fcgi_encode_stream((uint8_t *)fr->params.data + fr->params.len,
	    fr->params.cap - fr->params.len, FCGI_PARAMS, REQUEST_ID, NULL, 0);
	if (n == 0)
		goto done;
	fr->params.len += n;
	rc = 0;
done:
	buf_free(&pairs);
	varlist_free(&vars);
	return rc;
}

static int
fcgi_start(struct request *req)
{
	const struct config *cfg = conn_config(req->conn);
	struct script_target t;
	if (cfg->root == NULL && cfg->script == NULL) {
		/* One app for every path, mounted at /. */
		memset(&t, 0, sizeof t);
		if (snprintf(t.path_info, sizeof t.path_info, "%s", req->path) >=
		    (int)sizeof t.path_info)
			return 414;
	} else {
		int st = script_resolve(cfg, req->path, &t, 0);
		if (st)
			return st;
	}
	/* No app process can start: say so now rather than at request_timeout. */
	if (fcgi_pool_down())
		return 503;
	struct freq *fr = calloc(1, sizeof *fr);
	if (fr == NULL)
		return 503;
	fr->req = req;
	const char *name = t.script_name[0] ? t.script_name : t.filename[0] ? t.filename : req->path;
	log_quote(fr->script, sizeof fr->script, name, strlen(name));
	errlog_init(&fr->err_log, "fastcgi", "script", fr->script, 0, ERRLOG_REQUEST_MAX);
	buf_init(&fr->params, (4u << 20));
	ev_timer_init(&fr->timer, on_timeout, (double)cfg->request_timeout_ms / 1000.0, 0);
	fr->timer.data = fr;
	if (build_params(fr, req, &t) < 0) {
		freq_free(fr);
		return 500;
	}
	req->app_state = fr;
	ev_timer_start(fc_state.loop, &fr->timer);
	struct fcgi_slot *s = TAILQ_EMPTY(&fc_state.queue) ? fcgi_pool_acquire() : NULL;
	if (s) {
		if (assign(fr, s) < 0) {
			if (fr->fc)
				fconn_close(fr->fc);
			fcgi_pool_fail(s, 0, "connect");
			freq_finish(fr);
			return 502;
		}
		return 0;
	}
	if (fc_state.queued >= (size_t)cfg->max_queue) {
		overload_count(REJECT_QUEUE_FULL);
		freq_finish(fr);
		return 503;
	}
	TAILQ_INSERT_TAIL(&fc_state.queue, fr, q);
	fr->queued = true;
	fc_state.queued++;
	return 0;
}

static void
fcgi_pause(struct request *req, bool paused)
{
	struct freq *fr = req->app_state;
	if (fr == NULL)
		return;
	fr->paused = paused;
	struct fconn *fc = fr->fc;
	if (fc == NULL || fc->closed)
		return;
	if (paused)
		ev_io_stop(fc_state.loop, &fc->rio);
	else
		ev_io_start(fc_state.loop, &fc->rio);
}

static void
fcgi_body_more(struct request *req)
{
	struct freq *fr = req->app_state;
	struct fconn *fc = fr ? fr->fc : NULL;
	if (fc != NULL && !fc->closed && !fc->stdin_done)
		ev_io_start(fc_state.loop, &fc->wio);
}

static void
fcgi_abort(struct request *req)
{
	struct freq *fr = req->app_state;
	req->app_state = NULL;
	if (fr == NULL)
		return;
	struct fconn *fc = fr->fc;
	if (fc) {
		struct fcgi_slot *s = fc->slot;
		/* Inside the app's output with no response begun: the app's head
		 * was refused, which is the app misbehaving. */
		bool bad_head = fc->refs > 0 && !req->resp_started && !req->ah.local_redirect;
		pid_t pid = fc->pid;
		send_abort(fc);
		fconn_close(fc);
		fr->fc = NULL;
		if (s) {
			if (bad_head)
				fcgi_pool_fail(s, pid, "bad response head");
			else
				fcgi_pool_release(s, false);
		}
		kick();
	}
	fr->req = NULL;
	freq_free(fr);
}

const struct app_ops fastcgi_app = {
	.name = "fastcgi",
	.start = fcgi_start,
	.body_more = fcgi_body_more,
	.pause = fcgi_pause,
	.abort = fcgi_abort,
};

/*------------------------------------------------------------ the pool */

static void
pool_ready(void)
{
	kick();
}

/* No app process can start: what waits in the queue would only time out. */
static void
pool_down(void)
{
	struct freq *fr;
	while ((fr = TAILQ_FIRST(&fc_state.queue)) != NULL)
		app_fail(freq_finish(fr), 503, "FastCGI app cannot start");
}

static void
pool_lost(struct fcgi_slot *s)
{
	struct fconn *fc = s->conn;
	if (fc && fc->fr == NULL)
		fconn_close(fc);
}

int
app_pool_init(const struct config *cfg, struct ev_loop *loop)
{
	if (cfg->app_type != APP_FASTCGI)
		return 0;
	memset(&fc_state, 0, sizeof fc_state);
	fc_state.loop = loop;
	fc_state.cfg = cfg;
	TAILQ_INIT(&fc_state.queue);
	ev_init(&fc_state.kick, on_kick);
	fc_state.active = true;
	static const struct fcgi_pool_hooks hooks = { .ready = pool_ready, .lost = pool_lost,
	    .down = pool_down };
	return fcgi_pool_init(cfg, loop, &hooks);
}

void
app_pool_shutdown(void)
{
	if (!fc_state.active)
		return;
	ev_timer_stop(fc_state.loop, &fc_state.kick);
	fcgi_pool_shutdown();
	fc_state.active = false;
}
