/*
 * harness: see harness.h.
 *
 * The stub app plays by the rules of a real adapter: it owns app_state
 * while it answers, and once abort has been called for a request it never
 * touches that request again, so any use after free it provokes is the
 * connection's, not the harness's.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <http_parser.h>

#include "common/log.h"
#include "conf/config.h"
#include "supervisor/shm.h"
#include "worker/conn.h"
#include "worker/request.h"

#include "harness.h"

#define MAX_TURNS 4096
#define IDLE_TURNS 3
#define OUT_KEEP (1024 * 1024)

static struct config cfg;
static struct worker_counters counters;
static _Atomic uint64_t served;
static _Atomic uint32_t inflight, connections;
static int closed;
static int64_t skew_ns;      /* added to CLOCK_MONOTONIC: see clock_gettime */
static int dump;             /* FUZZ_DUMP set: responses go to stderr */

/* The request the stub app is answering, and which start() call owns it. */
static struct request *cur;
static unsigned cur_gen, gen;
static int app_state_marker;

static const struct harness_app *script;
static const uint8_t *pend_out;
static size_t pend_len, pend_pos, pend_chunk;
static int pend_deferred;
static uint8_t *echo;

/* What the client read back, for the strict check. */
static char *outbuf;
static size_t outlen;
static int outfull;

static const char default_head[] =
    "Status: 200 OK\r\nContent-Type: text/plain\r\nX-Stub: 1\r\n\r\n";
static const char redirect_head[] = "Location: /after-redirect?x=1\r\n\r\n";

/*
 * Timeouts without waiting: libev and conn.c read the monotonic clock
 * through clock_gettime, so this definition lets the harness move their
 * time forward at a fixed point of a run, which keeps runs reproducible.
 */
int
clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	int rc;

	if (real == NULL)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	rc = real != NULL ? real(id, ts) : (int)syscall(SYS_clock_gettime, id, ts);

	if (rc == 0 && id == CLOCK_MONOTONIC && skew_ns != 0) {
		int64_t ns = (int64_t)ts->tv_nsec + skew_ns % 1000000000;
		ts->tv_sec += skew_ns / 1000000000 + ns / 1000000000;
		ts->tv_nsec = ns % 1000000000;
	}
	return rc;
}

static void
on_close(void)
{
	closed = 1;
}

static int
alive(struct request *req, unsigned g)
{
	return cur == req && cur_gen == g;
}

/* Feeds the next piece of the pending output; 1 while there is more. */
static int
feed(struct request *req, unsigned g)
{
	size_t n = pend_len - pend_pos;

	if (pend_chunk > 0 && n > pend_chunk)
		n = pend_chunk;
	if (n > 0) {
		pend_pos += n;
		app_output(req, pend_out + pend_pos - n, n);
		if (!alive(req, g))
			return 0;
	}
	if (pend_pos < pend_len)
		return 1;
	/* The app is done: the request is the connection's again. */
	cur = NULL;
	req->app_state = NULL;
	app_eof(req);
	return 0;
}

static int
stub_start(struct request *req)
{
	unsigned g = ++gen;
	const char *path = req->path != NULL ? req->path : "";

	if (script == NULL || script->out == NULL) {
		if (strncmp(path, "/404", 4) == 0)
			return 404;
		if (strncmp(path, "/503", 4) == 0)
			return 503;
	}
	cur = req;
	cur_gen = g;
	req->app_state = &app_state_marker;
	if (script != NULL && script->out != NULL) {
		pend_out = script->out;
		pend_len = script->outlen;
		pend_chunk = script->chunk;
		pend_deferred = script->deferred;
	} else if (strncmp(path, "/redir", 6) == 0) {
		pend_out = (const uint8_t *)redirect_head;
		pend_len = sizeof redirect_head - 1;
		pend_chunk = 0;
		pend_deferred = 0;
	} else {
		/* The default answer echoes the request body after the head. */
		size_t blen = buf_used(&req->body), hlen = sizeof default_head - 1;
		uint8_t *p = realloc(echo, hlen + blen + 1);
		if (p == NULL)
			abort();
		echo = p;
		memcpy(echo, default_head, hlen);
		if (blen > 0)
			memcpy(echo + hlen, buf_head(&req->body), blen);
		pend_out = echo;
		pend_len = hlen + blen;
		pend_deferred = strncmp(path, "/slow", 5) == 0;
		/* A slow app answers over several turns, so reads happen meanwhile. */
		pend_chunk = pend_deferred ? 16 : 0;
	}
	pend_pos = 0;
	if (pend_deferred)
		return 0;
	while (feed(req, g))
		;
	return 0;
}

/* Output is read back every loop turn, so back-pressure never lasts. */
static void
stub_pause(struct request *req, bool paused)
{
	(void)req;
	(void)paused;
}

static void
stub_abort(struct request *req)
{
	if (cur == req)
		cur = NULL;
	req->app_state = NULL;
}

static const struct app_ops stub_app = {
	.name = "fuzz",
	.start = stub_start,
	.pause = stub_pause,
	.abort = stub_abort,
};

/* A deferred answer moves one piece per loop turn. */
static int
tick(void)
{
	if (cur == NULL || !pend_deferred)
		return 0;
	(void)feed(cur, cur_gen);
	return 1;
}

struct config *
harness_config(void)
{
	return &cfg;
}

void
harness_init(void (*tune)(struct config *))
{
	config_defaults(&cfg);
	cfg.session_enabled = false;
	cfg.max_header_bytes = 2048;
	cfg.max_body_bytes = 8192;
	cfg.header_timeout_ms = 60000;
	cfg.keepalive_timeout_ms = 60000;
	cfg.request_timeout_ms = 60000;
	if (tune != NULL)
		tune(&cfg);

	/* Every log path runs, formatting included, but nothing is kept. */
	if (log_open("/dev/null", "/dev/null") != 0)
		abort();
	log_set_level(LOG_DEBUG);

	dump = getenv("FUZZ_DUMP") != NULL;
	if ((outbuf = malloc(OUT_KEEP)) == NULL)
		abort();
	conn_env.loop = ev_loop_new(EVBACKEND_POLL | EVFLAG_NOENV);
	if (conn_env.loop == NULL)
		abort();
	conn_env.cfg = &cfg;
	conn_env.app = &stub_app;
	conn_env.counters = &counters;
	conn_env.served = &served;
	conn_env.inflight = &inflight;
	conn_env.connections = &connections;
	conn_env.on_close = on_close;
}

/* Reads what the server sent; returns the bytes read. */
static size_t
drain(int fd)
{
	char rbuf[65536];
	size_t got = 0;

	for (;;) {
		ssize_t r = recv(fd, rbuf, sizeof rbuf, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
		if (dump)
			(void)fwrite(rbuf, 1, (size_t)r, stderr);
		if (outlen + (size_t)r <= OUT_KEEP) {
			memcpy(outbuf + outlen, rbuf, (size_t)r);
			outlen += (size_t)r;
		} else {
			outfull = 1;
		}
	}
	return got;
}

struct resp_state {
	int complete;               /* a message just ended */
	int last_keep_alive;
};

static int
on_resp_complete(http_parser *p)
{
	struct resp_state *rs = p->data;

	rs->complete = 1;
	rs->last_keep_alive = http_should_keep_alive(p);
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings resp_settings = {
	.on_message_complete = on_resp_complete,
};

/*
 * The client's view: the bytes must parse as a sequence of HTTP/1.x
 * responses, and nothing may follow one that said the connection closes
 * (a 400 for a smuggling-shaped request must be the last word).
 */
static void
strict_check(void)
{
	http_parser p;
	struct resp_state rs;
	size_t pos = 0;

	if (outfull)
		return;
	memset(&rs, 0, sizeof rs);
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = &rs;
	while (pos < outlen) {
		size_t used = http_parser_execute(&p, &resp_settings, outbuf + pos, outlen - pos);
		enum http_errno e = HTTP_PARSER_ERRNO(&p);

		pos += used;
		if (e == HPE_PAUSED) {
			http_parser_pause(&p, 0);
			if (!rs.last_keep_alive && pos < outlen) {
				fprintf(stderr, "harness: %zu bytes after a response that "
				    "closes the connection\n", outlen - pos);
				abort();
			}
			rs.complete = 0;
			continue;
		}
		if (e != HPE_OK) {
			fprintf(stderr, "harness: response stream does not parse at byte "
			    "%zu: %s\n", pos, http_errno_description(e));
			abort();
		}
		if (used == 0)
			break;
	}
	/* End of stream: completes a close-delimited body, or is a cut. */
	http_parser_execute(&p, &resp_settings, NULL, 0);
	if (HTTP_PARSER_ERRNO(&p) != HPE_OK && HTTP_PARSER_ERRNO(&p) != HPE_PAUSED) {
		fprintf(stderr, "harness: response stream cut short: %s\n",
		    http_errno_description(HTTP_PARSER_ERRNO(&p)));
		abort();
	}
}

size_t
harness_run(const uint8_t *in, size_t len, size_t chunk, const struct harness_app *app,
    int flags)
{
	size_t off = 0;
	int sv[2], shut = 0, idle = 0, expired = 0;

	script = app;
	cur = NULL;
	closed = 0;
	outlen = 0;
	outfull = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	if (conn_new(sv[0]) == NULL)
		abort();

	for (int turn = 0; turn < MAX_TURNS && !closed; turn++) {
		int progress = 0;

		if (off < len) {
			size_t n = len - off;
			if (chunk > 0 && n > chunk)
				n = chunk;
			ssize_t w = send(sv[1], in + off, n, MSG_NOSIGNAL);
			if (w > 0) {
				off += (size_t)w;
				progress = 1;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				off = len;     /* the server side is gone */
			}
		}
		/*
		 * The client half-closes only once the server has gone quiet:
		 * conn.c takes an end of input as the client going away and
		 * drops what it has not yet flushed.
		 */
		if ((flags & HARNESS_EXPIRE) && !expired && off == len && idle >= IDLE_TURNS - 1) {
			/* Every timer the connection armed is now overdue. */
			skew_ns += (int64_t)3600 * 1000000000;
			ev_now_update(conn_env.loop);
			expired = 1;
			progress = 1;
		} else if (off == len && !shut && idle >= IDLE_TURNS - 1) {
			(void)shutdown(sv[1], SHUT_WR);
			shut = 1;
			progress = 1;
		}
		ev_run(conn_env.loop, EVRUN_NOWAIT);
		progress |= tick();
		if (drain(sv[1]) > 0)
			progress = 1;
		if (progress)
			idle = 0;
		else if (++idle >= IDLE_TURNS && shut)
			break;
	}
	if (!closed)
		conn_close_all();
	/* Turn the loop once more so nothing stays registered on closed fds. */
	ev_run(conn_env.loop, EVRUN_NOWAIT);
	(void)drain(sv[1]);
	close(sv[1]);
	cur = NULL;
	script = NULL;

	if (conn_env.nconns != 0 || atomic_load(&connections) != 0 ||
	    atomic_load(&inflight) != 0) {
		fprintf(stderr, "harness: accounting off after close: nconns=%u "
		    "connections=%u inflight=%u\n", conn_env.nconns,
		    (unsigned)atomic_load(&connections), (unsigned)atomic_load(&inflight));
		abort();
	}
	if (outlen > 0 && memcmp(outbuf, "HTTP/1.", outlen < 7 ? outlen : 7) != 0) {
		fprintf(stderr, "harness: response does not start with a status line\n");
		abort();
	}
	if (flags & HARNESS_STRICT)
		strict_check();
	return outlen;
}
