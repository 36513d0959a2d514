/* oneshot: see oneshot.h. */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "supervisor/oneshot.h"

struct oneshot_conn {
	LIST_ENTRY(oneshot_conn) entry;
	ev_io io;
	ev_timer timer;
	struct oneshot *o;
	bool replying;               /* the request is in, the reply going out */
	size_t len;
	struct buf out;
	char req[];
};

/* Every open exchange, so oneshot_stop can end those of its listener. */
LIST_HEAD(oneshot_live, oneshot_conn);
static struct oneshot_live live = LIST_HEAD_INITIALIZER(live);

/*
 * A worker forked while an admin or control exchange is open must not keep
 * that client's socket (the client would wait for an EOF until the worker
 * exits) nor its record (lost once the worker drops the supervisor's loop).
 */
static void
forget_in_child(void)
{
	struct oneshot_conn *c;
	while ((c = LIST_FIRST(&live)) != NULL) {
		LIST_REMOVE(c, entry);
		close(c->io.fd);
		buf_free(&c->out);
		free(c);
	}
}

static void
conn_close(struct oneshot_conn *c)
{
	ev_io_stop(c->o->loop, &c->io);
	ev_timer_stop(c->o->loop, &c->timer);
	close(c->io.fd);
	buf_free(&c->out);
	c->o->nconns--;
	LIST_REMOVE(c, entry);
	free(c);
}

static void
on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct oneshot_conn *c = w->data;
	while (buf_used(&c->out) > 0) {
		ssize_t n = send(w->fd, buf_head(&c->out), buf_used(&c->out), MSG_NOSIGNAL);
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
on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct oneshot_conn *c = w->data;
	struct oneshot *o = c->o;
	ssize_t n = read(w->fd, c->req + c->len, o->req_max - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	bool overflow = c->len >= o->req_max;
	if (!overflow && !o->complete(c->req, c->len))
		return;
	o->handle(o->arg, c->req, c->len, overflow, &c->out);
	c->replying = true;
	ev_io_stop(loop, &c->io);
	ev_io_init(&c->io, on_write, c->io.fd, EV_WRITE);
	c->io.data = c;
	ev_io_start(loop, &c->io);
}

static void
on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	conn_close(t->data);
}

static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct oneshot *o = w->data;
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (o->allow && !o->allow(fd)) {
			close(fd);
			continue;
		}
		/* At the cap, the exchange that has waited longest for its request
		 * makes room: idle sockets must not keep /healthz from answering. */
		if (o->nconns >= o->max_conns) {
			struct oneshot_conn *oldest = NULL, *it;
			LIST_FOREACH(it, &live, entry)
				if (it->o == o && !it->replying)
					oldest = it;
			if (oldest == NULL) {
				close(fd);
				continue;
			}
			conn_close(oldest);
		}
		struct oneshot_conn *c = calloc(1, sizeof *c + o->req_max + 1);
		if (c == NULL) {
			close(fd);
			return;
		}
		o->nconns++;
		c->o = o;
		LIST_INSERT_HEAD(&live, c, entry);
		buf_init(&c->out, o->out_max);
		ev_io_init(&c->io, on_read, fd, EV_READ);
		c->io.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_init(&c->timer, on_timeout, o->timeout, 0);
		c->timer.data = c;
		ev_timer_start(loop, &c->timer);
	}
}

void
oneshot_start(struct oneshot *o, struct ev_loop *loop, int fd)
{
	o->fd = fd;
	o->loop = loop;
	o->nconns = 0;
	static bool atfork_set;
	if (!atfork_set && pthread_atfork(NULL, NULL, forget_in_child) == 0)
		atfork_set = true;
	ev_io_init(&o->io, on_accept, fd, EV_READ);
	o->io.data = o;
	ev_io_start(loop, &o->io);
}

void
oneshot_stop(struct oneshot *o)
{
	if (o->fd < 0)
		return;
	ev_io_stop(o->loop, &o->io);
	close(o->fd);
	o->fd = -1;
	struct oneshot_conn *c, *next;
	for (c = LIST_FIRST(&live); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->o == o)
			conn_close(c);
	}
}
