/*
 * reqbody: see reqbody.h.
 *
 * Memory holds the whole body until it would pass mem_limit; then the spool
 * file takes what memory held plus everything after, the memory goes, and
 * one REQBODY_WINDOW buffer serves the read-back. Disk writes block the
 * worker for as long as the page cache takes them, which is what every
 * buffering server accepts for a spooled body.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/reqbody.h"

void
reqbody_init(struct reqbody *b, size_t mem_limit, const char *dir)
{
	memset(b, 0, sizeof *b);
	buf_init(&b->mem, mem_limit);
	b->dir = dir;
}

void
reqbody_free(struct reqbody *b)
{
	buf_free(&b->mem);
	free(b->win);
	b->win = NULL;
	if (b->spooled)
		close(b->fd);
	b->spooled = false;
	b->size = b->off = 0;
	b->win_len = 0;
}

/* A file nobody else can open: it has no name, or loses it at once. */
static int
spool_open(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/drover-body-XXXXXX", dir) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (unlink(path) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
reqbody_append(struct reqbody *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (!b->spooled) {
		if (buf_append(&b->mem, p, n) == 0) {
			b->size += n;
			return 0;
		}
		if (b->dir == NULL) {
			errno = EFBIG;
			return -1;
		}
		int fd = spool_open(b->dir);
		if (fd < 0)
			return -1;
		b->win = malloc(REQBODY_WINDOW);
		if (b->win == NULL || write_all(fd, buf_head(&b->mem), buf_used(&b->mem)) < 0) {
			int e = b->win ? errno : ENOMEM;
			close(fd);
			errno = e;
			return -1;
		}
		b->fd = fd;
		b->spooled = true;
		buf_free(&b->mem);
	}
	if (write_all(b->fd, p, n) < 0)
		return -1;
	b->size += n;
	return 0;
}

ssize_t
reqbody_peek(struct reqbody *b, const char **p)
{
	if (b->off >= b->size)
		return 0;
	if (!b->spooled) {
		*p = buf_head(&b->mem) + b->off;
		return (ssize_t)(b->size - b->off);
	}
	if (b->off < b->win_at || b->off >= b->win_at + b->win_len) {
		uint64_t left = b->size - b->off;
		size_t want = left < REQBODY_WINDOW ? (size_t)left : REQBODY_WINDOW;
		ssize_t r;
		do
			r = pread(b->fd, b->win, want, (off_t)b->off);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = EIO;     /* the file is shorter than what was written */
			return -1;
		}
		b->win_at = b->off;
		b->win_len = (size_t)r;
	}
	size_t at = (size_t)(b->off - b->win_at);
	*p = b->win + at;
	return (ssize_t)(b->win_len - at);
}

void
reqbody_consume(struct reqbody *b, size_t n)
{
	b->off += n;
	if (b->off > b->size)
		b->off = b->size;
}
