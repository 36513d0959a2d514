/*
 * accesslog: one access-log line per finished request, in [log]
 * access_format: combined (nginx's and Apache's), json or logfmt.
 *
 * Owns the formats and the escaping of every value a client controls
 * (method, target, Referer, User-Agent), so no byte from a request can end
 * a field or a line early or reach a terminal as a control sequence. It
 * must not decide what a request's status was; conn.c does.
 */
#ifndef DROVER_ACCESSLOG_H
#define DROVER_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

struct request;

enum access_format { ACCESS_COMBINED = 0, ACCESS_JSON, ACCESS_LOGFMT };

/* Room for any line: each client-supplied value is cut at 1 KiB escaped. */
#define ACCESS_LINE_MAX 8192

/* The format named by [log] access_format; combined for anything else. */
enum access_format access_format_of(const char *name);

/*
 * Formats req's line (with its newline) into out, cap bytes (at least
 * ACCESS_LINE_MAX), and returns its length. Long values are cut, never the
 * line's end.
 */
size_t access_line(char *out, size_t cap, enum access_format fmt, const struct request *req,
    int64_t duration_us, int64_t now_ms);

#endif
