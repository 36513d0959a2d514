/*
 * reqbody: a request body the worker holds for its app: in memory up to a
 * bound (body_buffer_bytes), beyond it in an unlinked file in temp_dir, and
 * read back in order, as often as needed (a FastCGI retry starts over).
 *
 * Owns the spool file's creation (O_TMPFILE, or mkstemp and unlink where
 * the filesystem lacks it), its writes and reads, and the read-back window.
 * It must not touch sockets or apps: conn.c fills it, and streams
 * Content-Length bodies straight past it.
 */
#ifndef DROVER_REQBODY_H
#define DROVER_REQBODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util.h"

/* Bytes read back from a spool file at a time. */
#define REQBODY_WINDOW (64 * 1024)

/* All zeroes is a valid empty body that cannot grow (no memory, no directory). */
struct reqbody {
	struct buf mem;           /* the body while it fits in mem_limit */
	const char *dir;          /* where a larger one is spooled */
	bool spooled;
	int fd;                   /* the spool file, when spooled */
	uint64_t size;            /* bytes held */
	uint64_t off;             /* bytes handed out */
	char *win;                /* spool: read-back window */
	uint64_t win_at;          /* file offset of win[0] */
	size_t win_len;
};

void reqbody_init(struct reqbody *b, size_t mem_limit, const char *dir);
void reqbody_free(struct reqbody *b);
/* Appends n bytes. 0, or -1 with errno when the spool file fails. */
int reqbody_append(struct reqbody *b, const void *p, size_t n);
/* The next bytes to hand out (*p points at them until the next call), 0 at
 * the end, -1 with errno when the spool file cannot be read. */
ssize_t reqbody_peek(struct reqbody *b, const char **p);
void reqbody_consume(struct reqbody *b, size_t n);
static inline bool reqbody_eof(const struct reqbody *b) { return b->off >= b->size; }
static inline void reqbody_rewind(struct reqbody *b) { b->off = 0; }
/* Whether the body went to a file (for tests and logs). */
static inline bool reqbody_spooled(const struct reqbody *b) { return b->spooled; }

#endif
