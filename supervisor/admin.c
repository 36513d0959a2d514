/*
 * admin: see admin.h. Each connection gets one request, at most
 * ADMIN_REQ_MAX bytes within ADMIN_TIMEOUT seconds, and is closed after the
 * answer, so a stuck scraper costs one small struct for a bounded time.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "supervisor/admin.h"
#include "supervisor/arbiter.h"
#include "supervisor/listeners.h"
#include "supervisor/upgrade.h"

#define ADMIN_REQ_MAX 4096
#define ADMIN_TIMEOUT 5.0
#define ADMIN_MAX_CONNS 64

struct admin_conn {
	ev_io io;
	ev_timer timer;
	struct admin *ad;
	char req[ADMIN_REQ_MAX];
	size_t reqlen;
	struct buf out;
};

static int nconns;

static void
conn_close(struct admin_conn *c)
{
	ev_io_stop(c->ad->loop, &c->io);
	ev_timer_stop(c->ad->loop, &c->timer);
	close(c->io.fd);
	buf_free(&c->out);
	free(c);
	nconns--;
}

static void
respond(struct admin_conn *c, int code, const char *ctype, struct buf *body)
{
	const char *reason = code == 200 ? "OK" : code == 404 ? "Not Found" :
	    code == 405 ? "Method Not Allowed" : code == 503 ? "Service Unavailable" : "Bad Request";
	buf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", code, reason, ctype, body ? buf_used(body) : 0);
	if (body)
		buf_append(&c->out, buf_head(body), buf_used(body));
}

static void
on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct admin_conn *c = w->data;
	while (buf_used(&c->out) > 0) {
		ssize_t n = write(w->fd, buf_head(&c->out), buf_used(&c->out));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		buf_consume(&c->out, (size_t)n);
	}
	conn_close(c);
}

static void
handle(struct admin_conn *c)
{
	char method[8], path[256];
	struct buf body;
	buf_init(&body, 4 << 20);
	if (sscanf(c->req, "%7s %255s", method, path) != 2) {
		respond(c, 400, "text/plain", NULL);
	} else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		respond(c, 405, "text/plain", NULL);
	} else if (strcmp(path, "/metrics") == 0) {
		metrics_render(c->ad->arb, &body);
		respond(c, 200, "text/plain; version=0.0.4", &body);
	} else if (strcmp(path, "/healthz") == 0) {
		int ok = healthz_ok(c->ad->arb);
		buf_printf(&body, ok ? "ok\n" : "no ready worker\n");
		respond(c, ok ? 200 : 503, "text/plain", &body);
	} else if (strcmp(path, "/status") == 0) {
		status_render_json(c->ad->arb, &body);
		respond(c, 200, "application/json", &body);
	} else {
		buf_printf(&body, "not found\n");
		respond(c, 404, "text/plain", &body);
	}
	buf_free(&body);
	if (strcmp(method, "HEAD") == 0) {
		/* Same head, Content-Length included, but no body. */
		char *end = memmem(buf_head(&c->out), buf_used(&c->out), "\r\n\r\n", 4);
		if (end)
			c->out.len = (size_t)(end + 4 - c->out.data);
	}
	ev_io_stop(c->ad->loop, &c->io);
	ev_io_init(&c->io, on_write, c->io.fd, EV_WRITE);
	c->io.data = c;
	ev_io_start(c->ad->loop, &c->io);
}

static void
on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct admin_conn *c = w->data;
	ssize_t n = read(w->fd, c->req + c->reqlen, sizeof c->req - 1 - c->reqlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->reqlen += (size_t)n;
	c->req[c->reqlen] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
		handle(c);
	} else if (c->reqlen >= sizeof c->req - 1) {
		respond(c, 400, "text/plain", NULL);
		ev_io_stop(loop, &c->io);
		ev_io_init(&c->io, on_write, c->io.fd, EV_WRITE);
		c->io.data = c;
		ev_io_start(loop, &c->io);
	}
}

static void
on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	conn_close(t->data);
}

static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct admin *ad = w->data;
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (nconns >= ADMIN_MAX_CONNS) {
			close(fd);
			continue;
		}
		struct admin_conn *c = calloc(1, sizeof *c);
		if (c == NULL) {
			close(fd);
			return;
		}
		nconns++;
		c->ad = ad;
		buf_init(&c->out, 8 << 20);
		ev_io_init(&c->io, on_read, fd, EV_READ);
		c->io.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_init(&c->timer, on_timeout, ADMIN_TIMEOUT, 0);
		c->timer.data = c;
		ev_timer_start(loop, &c->timer);
	}
}

int
admin_start(struct admin *ad, struct arbiter *arb, struct ev_loop *loop, char *err, size_t errlen)
{
	memset(ad, 0, sizeof *ad);
	ad->fd = -1;
	ad->loop = loop;
	ad->arb = arb;
	const char *bind = arb->cfg->admin_bind;
	int inherited = upgrade_take_fd("admin");   /* binary upgrade: already bound */
	if (bind == NULL || *bind == '\0' || strcmp(bind, "off") == 0) {
		if (inherited >= 0)
			close(inherited);
		return 0;
	}
	ad->fd = inherited >= 0 ? inherited : listen_on(bind, 64, err, errlen);
	if (ad->fd < 0)
		return -1;
	ev_io_init(&ad->io, on_accept, ad->fd, EV_READ);
	ad->io.data = ad;
	ev_io_start(loop, &ad->io);
	return 0;
}

void
admin_stop(struct admin *ad)
{
	if (ad->fd < 0)
		return;
	ev_io_stop(ad->loop, &ad->io);
	close(ad->fd);
	ad->fd = -1;
}
