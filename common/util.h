/*
 * util: small helpers every process uses: clocks, fd flags, a bounded byte
 * buffer, percent-decoding.
 *
 * It must not log or know about drover's higher layers.
 */
#ifndef DROVER_UTIL_H
#define DROVER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t mono_ms(void);
int64_t wall_ms(void);
int set_nonblock(int fd);
/* Writes all n bytes to a blocking fd (EINTR retried). 0, or -1 with errno. */
int write_all(int fd, const void *p, size_t n);

/*
 * A byte buffer that refuses to grow past its limit. Data lives in
 * [off, len); consumed bytes are reclaimed lazily on the next append.
 */
struct buf {
	char *data;
	size_t off, len, cap, limit;
};

void buf_init(struct buf *b, size_t limit);
void buf_free(struct buf *b);
/* Makes room for n more bytes; -1 if that would pass the limit or malloc fails. */
int buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline size_t buf_used(const struct buf *b) { return b->len - b->off; }
/* A buffer never written has no storage: NULL + 0 is undefined, so it yields "". */
static inline char *buf_head(const struct buf *b) { return b->data != NULL ? b->data + b->off : (char *)""; }
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);

/* Decodes %XX in place; -1 on a malformed escape or an encoded NUL. Returns the new length. */
long percent_decode(char *s, size_t len);
bool str_case_eq(const char *a, size_t alen, const char *b);
/* 0..15 for a hex digit (either case), -1 otherwise. */
int hex_digit(int c);
/* len decimal digits (1..9 of them, nothing else) as a value <= max, or -1. */
long parse_decimal(const char *p, size_t len, long max);
/* A token character of HTTP field names (RFC 9110 §5.6.2). */
bool http_tchar(int c);

/*
 * Finds an executable: a name with a slash is taken as is, any other is
 * looked up in PATH. Returns 0 with the path in out, or -1 with errno
 * (ENOENT: nowhere; EACCES: found but not executable).
 */
int find_executable(const char *name, char *out, size_t cap);

#endif
