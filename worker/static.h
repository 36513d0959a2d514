/*
 * static: answering a request with a file: validators (ETag,
 * Last-Modified) and the conditional requests they allow (304), a single
 * byte range (206/416), HEAD, Cache-Control from [app] expires, a
 * precompressed .gz sibling for clients that accept gzip, and the body by
 * sendfile(2) straight from the file to the socket.
 *
 * It serves exactly the file it is given: which file a path names, and
 * whether it may be served at all, is route.c's business. It must not run
 * anything.
 */
#ifndef DROVER_STATIC_H
#define DROVER_STATIC_H

#include <stddef.h>
#include <stdint.h>

#include "worker/request.h"

/* The app adapter of type = static (every answer comes from static_serve). */
extern const struct app_ops static_app;

/*
 * Answers req with the regular file at path. Returns 0 when the response is
 * under way or done, or an HTTP status for the caller to answer with.
 */
int static_serve(struct request *req, const char *path);

/*
 * Reads a Range header value against a file of size bytes. Returns 1 with
 * [*first, *last] set for one satisfiable range, 0 when the header is to be
 * ignored (not bytes, several ranges, malformed) and -1 when it is
 * unsatisfiable (416).
 */
int static_parse_range(const char *v, size_t vlen, int64_t size, int64_t *first, int64_t *last);

/* Whether an Accept-Encoding value accepts gzip (a q of 0 refuses it). */
int static_accepts_gzip(const char *v, size_t vlen);

#endif
