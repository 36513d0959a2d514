/*
 * chunked: a strict second reading of a chunked request body's framing.
 *
 * libhttp-parser de-chunks the body but forgives chunk lines that another
 * parser in front of drover may read differently (a bare LF, control bytes
 * in an extension, "3 3"): exactly what request smuggling feeds on. This
 * checker sees the same bytes the parser consumed and refuses anything
 * RFC 9112 §7.1 does not allow. It keeps a few bytes of state, never the
 * body, and must not allocate.
 */
#ifndef DROVER_CHUNKED_H
#define DROVER_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

struct chunk_check {
	int state;
	uint64_t left;        /* data bytes left in the current chunk */
	unsigned digits;
};

void chunk_check_init(struct chunk_check *k);
/* 0 while the framing is sound so far, -1 at the first byte it is not. */
int chunk_check_feed(struct chunk_check *k, const char *p, size_t n);
/* 1 once the last chunk and the trailer section have ended. */
int chunk_check_done(const struct chunk_check *k);

#endif
