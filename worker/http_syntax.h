/*
 * http_syntax: the checks of request syntax drover makes itself, before and
 * after libhttp-parser reads a head, wherever the parser is lenient or a
 * proxy in front could read the bytes another way: the head's bytes and
 * lines, the request line, the Host value and Transfer-Encoding.
 *
 * Every function is pure: bytes in, 0 or the status to answer out. It must
 * not allocate, log or know about connections.
 */
#ifndef DROVER_HTTP_SYNTAX_H
#define DROVER_HTTP_SYNTAX_H

#include <stddef.h>

/*
 * A complete request head (ending in CRLF CRLF): 0, or 400 for bare LF,
 * folding, control bytes, a bad header name or a bad request line.
 */
int http_head_check(const char *p, size_t len);
/*
 * One request line without its CRLF (RFC 9112 §3): a method token, one SP,
 * an origin-form (/...), absolute-form (scheme:...), authority-form (for
 * CONNECT) or asterisk-form (for OPTIONS) target of visible ASCII without
 * '#', one SP, HTTP/DIGIT.DIGIT. 0 or 400.
 */
int http_request_line_check(const char *s, size_t n);
/* A Host value: RFC 3986 host [":" port], or empty (RFC 9112 §3.2). 0 or 400. */
int http_host_check(const char *v, size_t n);
/*
 * A Transfer-Encoding value: 0 for exactly "chunked", 501 for any other
 * coding drover does not implement, 400 for a malformed list or chunked twice.
 */
int http_te_check(const char *v, size_t n);

#endif
