/*
 * conn: see conn.h.
 *
 * A request head is taken whole: bytes accumulate until the blank line, the
 * head is checked byte by byte for what libhttp-parser tolerates but a proxy
 * in front might read differently (bare LF, folding, control bytes, odd
 * header names), copied into the request, and only then parsed. A body up
 * to body_buffer_bytes, and any chunked one, is fed to the same parser from
 * the connection buffer and held (reqbody: memory, then an unlinked file)
 * until it is complete and the app starts; a larger Content-Length body is
 * handed from the connection buffer to the running app as it arrives, the
 * socket read only while that buffer has room (req_body_*).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "common/log.h"
#include "conf/config.h"
#include "supervisor/shm.h"
#include "worker/accesslog.h"
#include "worker/chunked.h"
#include "worker/conn.h"
#include "worker/forwarded.h"
#include "worker/http_syntax.h"
#include "worker/request.h"
#include "worker/site.h"

#define READ_CHUNK 16384
#define OUT_HIGH (256 * 1024)
#define OUT_LOW (64 * 1024)
#define OUT_LIMIT (4 * 1024 * 1024)

/* How long an idle keep-alive connection of a draining worker stays open. */
#define DRAIN_GRACE_MS 250

/*
 * Lingering close: after an early answer (413, 408, 400 ...) the client may
 * still be sending a body it never asked permission for. Closing with
 * unread bytes makes the kernel send a reset, which destroys the answer in
 * the client's receive buffer; so the answer goes out, the write side is
 * shut, and what arrives is read and dropped until the client closes, for
 * at most these bounds.
 */
#define LINGER_TIME_MS 10000
#define LINGER_IDLE_MS 2000
#define LINGER_MAX_BYTES ((uint64_t)64 << 20)

enum cstate { CS_IDLE = 0, CS_HEAD, CS_BODY, CS_APP, CS_CLOSING, CS_LINGER };

struct conn {
	int fd;
	ev_io rio, wio;
	struct conn *flush_next;     /* on the pending-flush list when flush_pending */
	bool flush_pending;
	ev_timer timer;
	ev_timer body_timer;         /* the body's idle and total bounds */
	int64_t body_deadline_us;    /* monotonic: body_timeout after the head */
	bool linger;                 /* discard input while closing (see LINGER_*) */
	bool timed_out;              /* too slow: answered and closed, never lingered for */
	int64_t linger_deadline_us;
	uint64_t linger_bytes;
	enum cstate state;
	int64_t idle_since_us;       /* when it last became idle (CS_IDLE) */
	struct buf in, out;
	struct request *req;
	http_parser parser;
	struct conn_peer peer;
	bool app_paused;
	bool reading;
	int busy;                    /* >0 while inside process(): defer the free */
	bool dead;
	unsigned requests;
	int body_error;
	/* A Content-Length body over body_buffer_bytes goes from in to the app as it arrives. */
	bool stream;
	uint64_t stream_left;        /* its bytes not yet handed to the app */
	uint64_t stream_taken;       /* its bytes handed to the app */
	struct chunk_check chunks;   /* strict framing check of a chunked body */
	struct conn *prev, *next;
};

struct conn_env conn_env;
static struct conn *conns;
/*
 * Output is written once per loop turn, just before the loop waits: a
 * response's head, body and chunk terminator produced in one turn leave in
 * one send, and the write watcher is only armed when the socket is full.
 */
static struct conn *flush_list;
static ev_prepare flush_prepare;

static void conn_close(struct conn *c);
static void conn_finish(struct conn *c);
static void process(struct conn *c);
static void arm_timer(struct conn *c, int64_t ms);

/* The request's app's settings once it is routed (site.c), the server's before. */
const struct config *
conn_config(const struct conn *c)
{
	return c->req && c->req->cfg ? c->req->cfg : conn_env.cfg;
}
const struct conn_peer *conn_peer(const struct conn *c) { return &c->peer; }
struct ev_loop *conn_loop(const struct conn *c) { return conn_env.loop; }
int conn_fd(const struct conn *c) { return c->fd; }
size_t conn_output_pending(const struct conn *c) { return buf_used(&c->out); }

int64_t
mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const struct header *
req_header(const struct request *req, const char *name)
{
	for (size_t i = 0; i < req->nhdr; i++)
		if (str_case_eq(req->hdr[i].name, req->hdr[i].nlen, name))
			return &req->hdr[i];
	return NULL;
}

bool
conn_output_full(const struct conn *c)
{
	return buf_used(&c->out) >= OUT_HIGH;
}

/*------------------------------------------------------------ writing */

static void
flush(struct conn *c)
{
	while (buf_used(&c->out) > 0) {
		ssize_t n = send(c->fd, buf_head(&c->out), buf_used(&c->out), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_start(conn_env.loop, &c->wio);
			if (c->state == CS_APP || c->state == CS_CLOSING)
				arm_timer(c, conn_env.cfg->request_timeout_ms > 30000 ?
				    conn_env.cfg->request_timeout_ms : 30000);
			return;
		}
		if (n <= 0) {
			conn_close(c);
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
	ev_io_stop(conn_env.loop, &c->wio);
	if (c->app_paused && c->req && c->req->app_state && c->req->app) {
		c->app_paused = false;
		c->req->app->pause(c->req, false);
	}
	if (c->state == CS_CLOSING) {
		conn_finish(c);
		return;
	}
	if (c->state == CS_APP)
		ev_timer_stop(conn_env.loop, &c->timer);
}

static void
on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	flush(c);
}

static void
on_flush_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	while (flush_list) {
		struct conn *c = flush_list;
		flush_list = c->flush_next;
		c->flush_pending = false;
		c->flush_next = NULL;
		if (!c->dead)
			flush(c);
	}
}

static void
flush_unlist(struct conn *c)
{
	if (!c->flush_pending)
		return;
	for (struct conn **p = &flush_list; *p; p = &(*p)->flush_next)
		if (*p == c) {
			*p = c->flush_next;
			break;
		}
	c->flush_pending = false;
}

int
conn_write(struct conn *c, const void *data, size_t len)
{
	if (buf_append(&c->out, data, len) < 0)
		return -1;
	if (!ev_is_active(&c->wio) && !c->flush_pending) {
		c->flush_pending = true;
		c->flush_next = flush_list;
		flush_list = c;
	}
	if (buf_used(&c->out) >= OUT_HIGH && !c->app_paused && c->req && c->req->app_state &&
	    c->req->app) {
		c->app_paused = true;
		c->req->app->pause(c->req, true);
	}
	return 0;
}

/*------------------------------------------------------------ lifecycle */

static void
arm_timer(struct conn *c, int64_t ms)
{
	ev_timer_stop(conn_env.loop, &c->timer);
	ev_timer_set(&c->timer, (double)ms / 1000.0, 0);
	ev_timer_start(conn_env.loop, &c->timer);
}

static void
start_reading(struct conn *c)
{
	if (!c->reading) {
		ev_io_start(conn_env.loop, &c->rio);
		c->reading = true;
	}
}

static void
stop_reading(struct conn *c)
{
	if (c->reading) {
		ev_io_stop(conn_env.loop, &c->rio);
		c->reading = false;
	}
}

static void
request_free(struct conn *c)
{
	struct request *req = c->req;
	if (req == NULL)
		return;
	if (req->app_state && req->app)
		req->app->abort(req);
	session_req_end(req);
	buf_free(&req->head);
	reqbody_free(&req->body);
	buf_free(&req->ah.raw);
	free(req->path);
	free(req->query);
	free(req);
	c->req = NULL;
	c->stream = false;
	atomic_fetch_sub(conn_env.inflight, 1);
}

/*
 * A fresh request on c, counted in flight. Its client is the peer until a
 * complete head says otherwise.
 */
static struct request *
request_new(struct conn *c)
{
	struct request *req = calloc(1, sizeof *req);
	if (req == NULL)
		return NULL;
	req->conn = c;
	req->started_us = mono_us();
	req->content_length = -1;
	req->resp_length = -1;
	snprintf(req->client.addr, sizeof req->client.addr, "%s", c->peer.addr);
	req->client.port = c->peer.port;
	buf_init(&req->head, 1);
	buf_init(&req->ah.raw, 1);
	atomic_fetch_add(conn_env.inflight, 1);
	c->req = req;
	return req;
}

/* A request to answer an error on when no head could be read. */
static struct request *
request_placeholder(struct conn *c)
{
	struct request *req = request_new(c);
	if (req == NULL)
		return NULL;
	req->http_major = req->http_minor = 1;
	req->method = "-";
	req->method_len = 1;
	req->target = "-";
	req->target_len = 1;
	return req;
}

static void
conn_free(struct conn *c)
{
	flush_unlist(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
	conn_env.nconns--;
	atomic_fetch_sub(conn_env.connections, 1);
	if (conn_env.on_close)
		conn_env.on_close();
}

/* One finished or abandoned request: counted, and its access-log line. */
static void
request_account(struct request *req)
{
	int64_t dur = mono_us() - req->started_us;
	counters_add_request(conn_env.counters, req->status, (uint64_t)dur);
	atomic_fetch_add(conn_env.served, 1);
	if (log_access_enabled()) {
		static char line[ACCESS_LINE_MAX];
		size_t len = access_line(line, sizeof line, conn_env.access_format, req, dur, wall_ms());
		log_access(line, len);
	}
}

static void
conn_close(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	ev_io_stop(conn_env.loop, &c->rio);
	ev_io_stop(conn_env.loop, &c->wio);
	ev_timer_stop(conn_env.loop, &c->timer);
	ev_timer_stop(conn_env.loop, &c->body_timer);
	/*
	 * A request cut off here (the client left, its socket failed, the app
	 * failed mid-response) is logged and counted like any other: as 499,
	 * nginx's "client closed request", when nothing of its answer went out.
	 */
	if (c->req && (c->state == CS_BODY || c->state == CS_APP) && !c->req->resp_done) {
		if (!c->req->resp_started)
			c->req->status = 499;
		request_account(c->req);
	}
	request_free(c);
	close(c->fd);
	if (c->busy == 0)
		conn_free(c);
}

void
conn_abort(struct conn *c)
{
	if (c->req)
		c->req->resp_failed = true;
	conn_close(c);
}

/* The last response is out: close, lingering first when input may still come. */
static void
conn_finish(struct conn *c)
{
	if (!c->linger || shutdown(c->fd, SHUT_WR) < 0) {
		conn_close(c);
		return;
	}
	c->state = CS_LINGER;
	start_reading(c);
	int64_t left_ms = (c->linger_deadline_us - mono_us()) / 1000;
	arm_timer(c, left_ms < LINGER_IDLE_MS ? (left_ms > 0 ? left_ms : 0) : LINGER_IDLE_MS);
}

/* Reads and drops the input of a closing connection, within the LINGER_* bounds. */
static void
linger_read(struct conn *c)
{
	char sink[READ_CHUNK];
	ssize_t n = recv(c->fd, sink, sizeof sink, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->linger_bytes += (uint64_t)n;
	int64_t left_ms = (c->linger_deadline_us - mono_us()) / 1000;
	if (c->linger_bytes > LINGER_MAX_BYTES || left_ms <= 0) {
		conn_close(c);
		return;
	}
	/* While the answer is still going out, the timer guards the write. */
	if (c->state == CS_LINGER)
		arm_timer(c, left_ms < LINGER_IDLE_MS ? left_ms : LINGER_IDLE_MS);
}

/*
 * header_timeout of silence ends a body, and so does body_timeout in all.
 * While the app holds a streamed body back (reading stopped), only the
 * total counts: the silence is not the client's.
 */
static void
arm_body_timer(struct conn *c)
{
	int64_t left_ms = (c->body_deadline_us - mono_us()) / 1000;
	int64_t ms = left_ms > 0 ? left_ms : 0;
	if (c->reading && conn_env.cfg->header_timeout_ms < ms)
		ms = conn_env.cfg->header_timeout_ms;
	ev_timer_stop(conn_env.loop, &c->body_timer);
	ev_timer_set(&c->body_timer, (double)ms / 1000.0, 0);
	ev_timer_start(conn_env.loop, &c->body_timer);
}

static void fail_head(struct conn *c, int status, const char *msg);

static void
on_body_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = t->data;
	struct request *req = c->req;
	if (req == NULL || req->body_done)
		return;
	log_debug("conn", "peer=%s note=\"request body not received in time\" received_us=%lld",
	    c->peer.addr, (long long)(mono_us() - req->started_us));
	if (req->resp_started) {
		conn_abort(c);
		return;
	}
	if (req->app_state && req->app)
		req->app->abort(req);
	c->timed_out = true;
	fail_head(c, 408, "request body not received in time");
}

static void
on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = t->data;
	switch (c->state) {
	case CS_HEAD:
		c->timed_out = true;
		/* No request object yet: answer from a placeholder. */
		if (request_placeholder(c) == NULL) {
			conn_close(c);
			return;
		}
		resp_simple(c->req, 408, "request head not received in time");
		break;
	case CS_IDLE:
		if (buf_used(&c->out) > 0) {
			/* The last response is still going out: close after it. */
			c->state = CS_CLOSING;
			stop_reading(c);
			arm_timer(c, conn_env.cfg->keepalive_timeout_ms);
			break;
		}
		conn_close(c);
		break;
	default:
		conn_close(c);
	}
}

/*------------------------------------------------------------ parsing */

static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	c->req->target = at;
	c->req->target_len = len;
	return 0;
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct request *req = ((struct conn *)p->data)->req;
	/*
	 * Trailer fields of a chunked body are dropped (RFC 9112 §7.1.2): they
	 * were never validated, and they point into c->in, which is reused and
	 * reallocated while the request is still alive.
	 */
	if (((struct conn *)p->data)->state == CS_BODY)
		return 0;
	if (req->nhdr >= REQ_MAX_HEADERS)
		return -1;
	req->hdr[req->nhdr].name = at;
	req->hdr[req->nhdr].nlen = len;
	req->hdr[req->nhdr].value = "";
	req->hdr[req->nhdr].vlen = 0;
	req->nhdr++;
	return 0;
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct request *req = ((struct conn *)p->data)->req;
	if (((struct conn *)p->data)->state == CS_BODY)
		return 0;                    /* a trailer field: see on_header_field */
	if (req->nhdr == 0)
		return -1;
	req->hdr[req->nhdr - 1].value = at;
	req->hdr[req->nhdr - 1].vlen = len;
	return 0;
}

static int
on_headers_complete(http_parser *p)
{
	struct request *req = ((struct conn *)p->data)->req;
	req->http_major = p->http_major;
	req->http_minor = p->http_minor;
	req->method = http_method_str(p->method);
	req->method_len = strlen(req->method);
	req->is_head = p->method == HTTP_HEAD;
	req->chunked = (p->flags & F_CHUNKED) != 0;
	req->content_length = (p->flags & F_CONTENTLENGTH) ? (int64_t)p->content_length : -1;
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	struct reqbody *b = &c->req->body;
	if (b->size + len > conn_env.cfg->max_body_bytes) {
		c->body_error = 413;
		return -1;
	}
	if (reqbody_append(b, at, len) < 0) {
		log_error("conn", "error=\"spooling a request body in %s: %s\"",
		    conn_env.cfg->temp_dir, strerror(errno));
		c->body_error = 500;
		return -1;
	}
	return 0;
}

static int
on_message_complete(http_parser *p)
{
	struct conn *c = p->data;
	c->req->body_done = true;
	c->req->keep_alive = http_should_keep_alive(p);
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static int
validate(struct conn *c, struct request *req)
{
	const struct config *cfg = conn_env.cfg;
	if (req->http_major != 1)
		return 505;
	const struct header *te = NULL, *cl = NULL;
	size_t nte = 0, ncl = 0, nhost = 0;
	for (size_t i = 0; i < req->nhdr; i++) {
		const struct header *h = &req->hdr[i];
		if (str_case_eq(h->name, h->nlen, "Transfer-Encoding")) {
			te = h;
			nte++;
		} else if (str_case_eq(h->name, h->nlen, "Content-Length")) {
			cl = h;
			ncl++;
		} else if (str_case_eq(h->name, h->nlen, "Host"))
			nhost++;
	}
	/* Framing that two parsers could read two ways is refused outright. */
	if (te && (cl || nte > 1))
		return 400;
	int tst = te ? http_te_check(te->value, te->vlen) : 0;
	if (tst)
		return tst;
	if (ncl > 1)
		return 400;
	/* Two Hosts: the app and a proxy in front could each pick another (RFC 9112 §3.2). */
	if (nhost > 1)
		return 400;
	if (te && req->http_minor == 0)
		return 400;
	const struct header *host = req_header(req, "Host");
	if (req->http_minor >= 1 && host == NULL)
		return 400;
	/* SERVER_NAME comes from it: only an RFC 3986 host[:port] gets that far. */
	if (host && http_host_check(host->value, host->vlen) != 0)
		return 400;
	if (req->content_length > 0 && (uint64_t)req->content_length > cfg->max_body_bytes)
		return 413;
	const struct header *ex = req_header(req, "Expect");
	if (ex) {
		if (!str_case_eq(ex->value, ex->vlen, "100-continue"))
			return 417;
		if (req->http_minor >= 1 && (req->chunked || req->content_length > 0))
			req->expect_continue = true;
	}
	(void)c;
	return 0;
}

static int
split_target(struct request *req)
{
	struct http_parser_url u;
	http_parser_url_init(&u);
	if (req->target_len == 0 || http_parser_parse_url(req->target, req->target_len, 0, &u) != 0)
		return 400;
	if (!(u.field_set & (1 << UF_PATH)))
		return 400;
	const char *path = req->target + u.field_data[UF_PATH].off;
	size_t plen = u.field_data[UF_PATH].len;
	req->path = malloc(plen + 1);
	if (req->path == NULL)
		return 500;
	memcpy(req->path, path, plen);
	long dl = percent_decode(req->path, plen);
	if (dl < 0)
		return 400;
	if (u.field_set & (1 << UF_QUERY))
		req->query = strndup(req->target + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
	else
		req->query = strdup("");
	return req->query ? 0 : 500;
}

/*
 * Who the client is, for this request only: a kept-alive proxy connection
 * carries many users, so nothing read from one request's headers may stay
 * on the connection.
 */
static void
resolve_client(struct conn *c, struct request *req)
{
	if (forwarded_resolve(&conn_env.trusted, conn_env.cfg->forwarded_header, c->peer.addr,
	    c->peer.port, req->hdr, req->nhdr, &req->client) < 0) {
		const struct header *h = req_header(req,
		    conn_env.cfg->forwarded_header == FORWARDED_RFC7239 ? "Forwarded" : "X-Forwarded-For");
		char q[256];
		log_warn("http", "peer=%s note=\"forwarded address not valid, using the peer\" value=%s",
		    c->peer.addr, log_quote(q, sizeof q, h ? h->value : "", h ? h->vlen : 0));
	}
}

/* Answers an error for a request that could not be framed, then closes. */
static void
fail_head(struct conn *c, int status, const char *msg)
{
	if (c->req == NULL && request_placeholder(c) == NULL) {
		conn_close(c);
		return;
	}
	c->req->keep_alive = false;
	buf_reset(&c->in);
	stop_reading(c);
	resp_simple(c->req, status, msg);
}

static void dispatch(struct request *req);

/* Returns true when a request head was taken and the caller may go on. */
static bool
take_head(struct conn *c)
{
	const struct config *cfg = conn_env.cfg;
	/* Blank lines before a request line are allowed (RFC 9112 §2.2). */
	while (buf_used(&c->in) >= 2 && buf_head(&c->in)[0] == '\r' && buf_head(&c->in)[1] == '\n')
		buf_consume(&c->in, 2);
	char *p = buf_head(&c->in);
	size_t n = buf_used(&c->in);
	if (n == 0)
		return false;
	if (c->state == CS_IDLE) {
		c->state = CS_HEAD;
		arm_timer(c, cfg->header_timeout_ms);
	}
	char *end = memmem(p, n, "\r\n\r\n", 4);
	size_t limit = cfg->max_header_bytes;
	if (end == NULL) {
		if (memmem(p, n, "\n\n", 2) || memmem(p, n, "\r\n\n", 3)) {
			fail_head(c, 400, "malformed request head");
			return false;
		}
		if (n > limit) {
			const char *eol = memchr(p, '\n', limit);
			fail_head(c, eol ? 431 : 414, eol ? "request header fields too large" : "URI too long");
		}
		return false;
	}
	size_t hlen = (size_t)(end - p) + 4;
	const char *eol = memchr(p, '\n', hlen);
	if ((size_t)(eol - p) > limit) {
		fail_head(c, 414, "URI too long");
		return false;
	}
	if (hlen > limit) {
		fail_head(c, 431, "request header fields too large");
		return false;
	}
	int bad = http_head_check(p, hlen);
	if (bad) {
		fail_head(c, bad, "malformed request head");
		return false;
	}
	struct request *req = request_new(c);
	if (req == NULL) {
		conn_close(c);
		return false;
	}
	buf_init(&req->head, hlen + 1);
	reqbody_init(&req->body, cfg->body_buffer_bytes, cfg->temp_dir);
	buf_init(&req->ah.raw, cfg->max_header_bytes);
	if (buf_append(&req->head, p, hlen) < 0 || buf_append(&req->head, "", 1) < 0) {
		conn_close(c);
		return false;
	}
	buf_consume(&c->in, hlen);
	c->body_error = 0;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	size_t used = http_parser_execute(&c->parser, &parser_settings, buf_head(&req->head), hlen);
	enum http_errno herr = HTTP_PARSER_ERRNO(&c->parser);
	if ((herr != HPE_OK && herr != HPE_PAUSED) || used != hlen || req->method == NULL) {
		req->method = req->method ? req->method : "-";
		req->method_len = strlen(req->method);
		if (req->target == NULL) {
			req->target = "-";
			req->target_len = 1;
		}
		/* libhttp-parser refuses a coding other than chunked before we see it. */
		const struct header *te = req_header(req, "Transfer-Encoding");
		int st = te && http_te_check(te->value, te->vlen) == 501 ? 501 : 400;
		fail_head(c, st, st == 501 ? "transfer coding not implemented" : "malformed request");
		return false;
	}
	if (c->parser.upgrade || c->parser.method == HTTP_CONNECT) {
		fail_head(c, c->parser.method == HTTP_CONNECT ? 405 : 400, "upgrade not supported");
		return false;
	}
	int st = validate(c, req);
	if (st == 0)
		st = split_target(req);
	if (st) {
		fail_head(c, st, st == 413 ? "request body too large" : "bad request");
		return false;
	}
	resolve_client(c, req);
	if (req->expect_continue)
		conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	c->state = CS_BODY;
	if (req->chunked)
		chunk_check_init(&c->chunks);
	/* A large body with a length goes to the app as it comes, never whole in memory. */
	c->stream = !req->chunked && req->content_length > (int64_t)cfg->body_buffer_bytes;
	c->stream_left = c->stream ? (uint64_t)req->content_length : 0;
	c->stream_taken = 0;
	if (c->stream)
		req->keep_alive = http_should_keep_alive(&c->parser);
	ev_timer_stop(conn_env.loop, &c->timer);
	if (!req->body_done) {
		c->body_deadline_us = req->started_us + cfg->body_timeout_ms * 1000;
		arm_body_timer(c);
	}
	return true;
}

/* Feeds buffered bytes to the parser; true once the body is complete. */
static bool
take_body(struct conn *c)
{
	struct request *req = c->req;
	if (c->stream) {
		/* The app starts now and reads the body as it arrives. */
		c->state = CS_APP;
		return true;
	}
	if (!req->body_done && buf_used(&c->in) > 0) {
		size_t n = http_parser_execute(&c->parser, &parser_settings, buf_head(&c->in),
		    buf_used(&c->in));
		enum http_errno herr = HTTP_PARSER_ERRNO(&c->parser);
		if (herr != HPE_OK && herr != HPE_PAUSED) {
			int st = c->body_error ? c->body_error : 400;
			fail_head(c, st, st == 413 ? "request body too large" :
			    st == 500 ? "request body could not be stored" : "malformed request body");
			return false;
		}
		if (req->chunked && chunk_check_feed(&c->chunks, buf_head(&c->in), n) < 0) {
			fail_head(c, 400, "malformed chunked framing");
			return false;
		}
		buf_consume(&c->in, n);
	}
	if (!req->body_done)
		return false;
	if (req->chunked && !chunk_check_done(&c->chunks)) {
		fail_head(c, 400, "malformed chunked framing");
		return false;
	}
	if (req->chunked)
		req->content_length = (int64_t)req->body.size;   /* CGI needs CONTENT_LENGTH */
	ev_timer_stop(conn_env.loop, &c->body_timer);
	c->state = CS_APP;
	return true;
}

static void
process(struct conn *c)
{
	c->busy++;
	while (!c->dead) {
		if (c->state == CS_IDLE || c->state == CS_HEAD) {
			if (!take_head(c))
				break;
		}
		if (c->dead || c->state != CS_BODY)
			break;
		if (!take_body(c))
			break;
		dispatch(c->req);
		if (c->dead || c->state != CS_IDLE)
			break;
	}
	c->busy--;
	if (c->dead && c->busy == 0)
		conn_free(c);
}

static void
start_app(struct request *req)
{
	int st = req->app->start(req);
	if (st != 0)
		resp_simple(req, st, NULL);
}

static void
dispatch(struct request *req)
{
	req->app = conn_env.app;
	switch (site_dispatch(req)) {
	case SITE_ANSWERED:
		return;     /* a file, a redirect or a refusal: no app, no session */
	case SITE_APP_NO_SESSION:
		start_app(req);
		return;
	case SITE_APP:
		session_begin(req, start_app);
		return;
	}
}

static void
on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	if (c->linger && (c->state == CS_CLOSING || c->state == CS_LINGER)) {
		linger_read(c);
		return;
	}
	if (buf_reserve(&c->in, READ_CHUNK) < 0) {
		/* The buffer is at its bound: pipelined input, or a streamed
		 * body the app has not taken yet, waits for the current request. */
		stop_reading(c);
		if (c->stream && ev_is_active(&c->body_timer))
			arm_body_timer(c);
		return;
	}
	ssize_t n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(c);
		return;
	}
	if (n == 0) {
		/* The client went away: whatever it asked for is abandoned. */
		conn_close(c);
		return;
	}
	c->in.len += (size_t)n;
	if (c->req && !c->req->body_done && ev_is_active(&c->body_timer))
		arm_body_timer(c);
	if (c->state == CS_APP || c->state == CS_CLOSING) {
		if (c->stream && c->stream_left > 0) {
			struct request *req = c->req;
			if (req != NULL && req->app_state && req->app && req->app->body_more)
				req->app->body_more(req);
			return;
		}
		if (buf_used(&c->in) > conn_env.cfg->max_header_bytes)
			stop_reading(c);
		return;
	}
	process(c);
}

/*------------------------------------------------------------ the body, as the app reads it */

ssize_t
req_body_peek(struct request *req, const char **p)
{
	struct conn *c = req->conn;
	if (!c->stream)
		return reqbody_peek(&req->body, p);
	size_t n = buf_used(&c->in);
	if (n > c->stream_left)
		n = (size_t)c->stream_left;
	*p = buf_head(&c->in);
	return (ssize_t)n;
}

void
req_body_consume(struct request *req, size_t n)
{
	struct conn *c = req->conn;
	if (!c->stream) {
		reqbody_consume(&req->body, n);
		return;
	}
	if (n > c->stream_left)
		n = (size_t)c->stream_left;
	if (n > buf_used(&c->in))
		n = buf_used(&c->in);
	buf_consume(&c->in, n);
	c->stream_left -= n;
	c->stream_taken += n;
	if (c->stream_left == 0) {
		req->body_done = true;
		ev_timer_stop(conn_env.loop, &c->body_timer);
	} else if (!c->reading && !c->dead) {
		/* Room again: the client may send more (back-pressure released). */
		start_reading(c);
		arm_body_timer(c);
	}
}

bool
req_body_eof(const struct request *req)
{
	const struct conn *c = req->conn;
	return c->stream ? c->stream_left == 0 : reqbody_eof(&req->body);
}

bool
req_body_rewind(struct request *req)
{
	if (req->conn->stream)
		return req->conn->stream_taken == 0;
	reqbody_rewind(&req->body);
	return true;
}

void
req_body_forget(struct request *req)
{
	struct conn *c = req->conn;
	if (c->stream) {
		/* The rest stays unread: the connection closes (lingering) after the response. */
		c->stream = false;
		ev_timer_stop(conn_env.loop, &c->body_timer);
	}
	reqbody_free(&req->body);
	req->content_length = -1;
	req->chunked = false;
}

void
conn_request_done(struct conn *c)
{
	struct request *req = c->req;
	request_account(req);
	/* A response that went out without Connection: close leaves the
	 * connection open even in a drain: the client may already be sending
	 * its next request, which gets a short grace and Connection: close. */
	bool keep = req->keep_alive && !req->resp_failed && req->body_done;
	/* Body bytes (or anything) the client may still send must not turn
	 * the close into a reset; a client cut off for slowness gets no more time. */
	bool linger = !c->timed_out && (!req->body_done || buf_used(&c->in) > 0);
	request_free(c);
	c->requests++;
	c->app_paused = false;
	ev_timer_stop(conn_env.loop, &c->body_timer);
	if (!keep) {
		c->state = CS_CLOSING;
		c->linger = linger;
		c->linger_deadline_us = mono_us() + LINGER_TIME_MS * 1000;
		if (linger)
			start_reading(c);
		else
			stop_reading(c);
		if (buf_used(&c->out) == 0)
			conn_finish(c);
		return;
	}
	c->state = CS_IDLE;
	c->idle_since_us = mono_us();
	arm_timer(c, conn_env.draining ? DRAIN_GRACE_MS : conn_env.cfg->keepalive_timeout_ms);
	start_reading(c);
	if (c->busy == 0 && buf_used(&c->in) > 0)
		process(c);
}

struct conn *
conn_new(int fd)
{
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->fd = fd;
	buf_init(&c->in, conn_env.cfg->max_header_bytes + 2 * READ_CHUNK);
	buf_init(&c->out, OUT_LIMIT);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &s->sin_addr, c->peer.addr, sizeof c->peer.addr);
			c->peer.port = ntohs(s->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s->sin6_addr, c->peer.addr, sizeof c->peer.addr);
			c->peer.port = ntohs(s->sin6_port);
		} else {
			strcpy(c->peer.addr, "127.0.0.1");
		}
	}
	sl = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &s->sin_addr, c->peer.local_addr, sizeof c->peer.local_addr);
			c->peer.local_port = ntohs(s->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s->sin6_addr, c->peer.local_addr, sizeof c->peer.local_addr);
			c->peer.local_port = ntohs(s->sin6_port);
		} else {
			strcpy(c->peer.local_addr, "localhost");
		}
		if (ss.ss_family != AF_UNIX) {
			int one = 1;
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		}
	}
	ev_io_init(&c->rio, on_read, fd, EV_READ);
	ev_io_init(&c->wio, on_write, fd, EV_WRITE);
	if (!ev_is_active(&flush_prepare)) {
		ev_prepare_init(&flush_prepare, on_flush_prepare);
		ev_prepare_start(conn_env.loop, &flush_prepare);
	}
	ev_init(&c->timer, on_timer);
	ev_init(&c->body_timer, on_body_timer);
	c->rio.data = c->wio.data = c->timer.data = c->body_timer.data = c;
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	conn_env.nconns++;
	atomic_fetch_add(conn_env.connections, 1);
	c->state = CS_IDLE;
	c->idle_since_us = mono_us();
	/* The first request gets header_timeout from the accept, not keepalive_timeout. */
	arm_timer(c, conn_env.cfg->header_timeout_ms);
	start_reading(c);
	return c;
}

bool
conn_reclaim_idle(void)
{
	struct conn *oldest = NULL;
	for (struct conn *c = conns; c; c = c->next)
		if (c->state == CS_IDLE && !c->dead && buf_used(&c->in) == 0 && buf_used(&c->out) == 0 &&
		    (oldest == NULL || c->idle_since_us < oldest->idle_since_us))
			oldest = c;
	if (oldest == NULL)
		return false;
	/* Between requests a close is allowed at any time (RFC 9112 §9.8);
	 * a client that wants the connection again reconnects. */
	conn_close(oldest);
	return true;
}

void
conn_drain_all(void)
{
	struct conn *c = conns, *next;
	for (; c; c = next) {
		next = c->next;
		/* A connection that has not served a request yet was accepted
		 * for one that is on its way: it gets its answer (with
		 * Connection: close), bounded by header_timeout. */
		if (c->state != CS_IDLE || buf_used(&c->in) > 0 || c->requests == 0)
			continue;
		/* Closing at once would race a request already on the wire (the
		 * client would see a reset) and could cut the end of a response
		 * still queued; on_timer closes after a short grace, and after
		 * the output is flushed. */
		arm_timer(c, DRAIN_GRACE_MS);
	}
}

void
conn_close_all(void)
{
	struct conn *c = conns, *next;
	for (; c; c = next) {
		next = c->next;
		conn_close(c);
	}
}
