/*
 * apphdr: the one parser of an app's response head, shared by the CGI and
 * FastCGI adapters (RFC 3875 §6): Status, Location (a local path with no
 * Status is an internal redirect), Content-Length, and every other field
 * passed on, minus hop-by-hop fields, drover's session headers and anything
 * carrying CR, LF or NUL.
 *
 * It must not write to the client directly: it hands a finished head to the
 * response writer.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "conf/config.h"
#include "worker/conn.h"
#include "worker/request.h"
#include "worker/site.h"
#include "worker/session.h"

#define MAX_REDIRECTS 5

void
apphdr_reset(struct apphdr *ah)
{
	buf_reset(&ah->raw);
	ah->done = false;
	ah->status = 0;
	ah->location = NULL;
	ah->local_redirect = false;
	ah->x_sendfile = false;
}

long
apphdr_feed(struct apphdr *ah, const char *data, size_t len, size_t max)
{
	/* Look for the blank line across the old tail and the new bytes. */
	size_t old = buf_used(&ah->raw);
	size_t take = len;
	if (old + take > max)
		take = max - old;
	if (buf_append(&ah->raw, data, take) < 0)
		return -1;
	const char *p = buf_head(&ah->raw);
	size_t n = buf_used(&ah->raw);
	size_t start = old > 3 ? old - 3 : 0;
	for (size_t i = start; i < n; i++) {
		if (p[i] != '\n')
			continue;
		/* A head of nothing but a blank line is valid too (all defaults). */
		bool blank = (i == 0) || (i >= 1 && p[i - 1] == '\n') ||
		    (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n') || (i == 1 && p[0] == '\r');
		if (blank) {
			ah->done = true;
			size_t head_len = i + 1;
			ah->raw.len = ah->raw.off + head_len;
			return (long)(head_len - old);
		}
	}
	if (buf_used(&ah->raw) >= max)
		return -1;
	return (long)take;
}

int
apphdr_next(const struct apphdr *ah, size_t *pos, struct header *h)
{
	const char *p = buf_head(&ah->raw);
	size_t n = buf_used(&ah->raw);
	while (*pos < n) {
		const char *line = p + *pos;
		const char *eol = memchr(line, '\n', n - *pos);
		if (eol == NULL)
			return -1;
		size_t llen = (size_t)(eol - line);
		*pos += llen + 1;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0)
			return -1;
		const char *colon = memchr(line, ':', llen);
		if (colon == NULL || colon == line)
			continue;   /* not a header line: skipped, never forwarded */
		h->name = line;
		h->nlen = (size_t)(colon - line);
		const char *v = colon + 1;
		const char *e = line + llen;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		h->value = v;
		h->vlen = (size_t)(e - v);
		return 0;
	}
	return -1;
}

static bool
name_ok(const struct header *h)
{
	for (size_t i = 0; i < h->nlen; i++) {
		unsigned char ch = (unsigned char)h->name[i];
		if (ch <= ' ' || ch >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", ch))
			return false;
	}
	return true;
}

/* field-value: no control byte but HTAB (RFC 9110 §5.5); VT, ESC and DEL
 * reach terminals and log viewers as they are. */
static bool
value_ok(const struct header *h)
{
	for (size_t i = 0; i < h->vlen; i++) {
		unsigned char ch = (unsigned char)h->value[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return false;
	}
	return true;
}

static bool
field_ok(const struct header *h)
{
	if (name_ok(h) && value_ok(h))
		return true;
	log_warn("app", "note=\"response header with a bad name or value dropped\"");
	return false;
}

static bool
hop_by_hop(const struct header *h)
{
	static const char *names[] = { "Connection", "Keep-Alive", "Transfer-Encoding", "TE",
		"Trailer", "Upgrade", "Proxy-Connection", "Server", "Date", NULL };
	for (int i = 0; names[i]; i++)
		if (str_case_eq(h->name, h->nlen, names[i]))
			return true;
	return false;
}

/* "NNN reason": the code, with the reason kept for codes drover has no name for. */
static int
parse_status(const struct header *h, struct request *req)
{
	if (h->vlen < 3)
		return -1;
	int s = 0;
	for (int i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)h->value[i]))
			return -1;
		s = s * 10 + (h->value[i] - '0');
	}
	if (h->vlen > 3 && h->value[3] != ' ')
		return -1;
	if (s < 100 || s > 599)
		return -1;
	size_t rlen = h->vlen > 4 ? h->vlen - 4 : 0;
	if (rlen >= sizeof req->resp_reason)
		rlen = sizeof req->resp_reason - 1;
	memcpy(req->resp_reason, h->value + (h->vlen > 4 ? 4 : h->vlen), rlen);
	req->resp_reason[rlen] = '\0';
	return s;
}

/* Content-Length: digits only, no sign or space, and no overflow. */
static int64_t
parse_length(const struct header *h)
{
	int64_t v = 0;
	if (h->vlen == 0)
		return -1;
	for (size_t i = 0; i < h->vlen; i++) {
		if (!isdigit((unsigned char)h->value[i]))
			return -1;
		int d = h->value[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	return v;
}

static int
append_field(struct buf *extra, const struct header *h)
{
	if (buf_append(extra, h->name, h->nlen) < 0 || buf_append(extra, ": ", 2) < 0 ||
	    buf_append(extra, h->value, h->vlen) < 0 || buf_append(extra, "\r\n", 2) < 0)
		return -1;
	return 0;
}

/* emit_head's answer for an interim head: the app's next head follows. */
#define HEAD_INTERIM 1
/* Interim heads allowed before the final one. */
#define MAX_INTERIM 8

/*
 * 103 Early Hints goes out as an interim response (never to an HTTP/1.0
 * client, RFC 9110 §15.2), with its fields but no session or framing ones.
 */
static int
emit_interim(struct request *req)
{
	struct buf extra;
	struct header h;
	size_t pos = 0;
	buf_init(&extra, conn_config(req->conn)->max_header_bytes + 1024);
	while (apphdr_next(&req->ah, &pos, &h) == 0) {
		if (!field_ok(&h) || hop_by_hop(&h) || str_case_eq(h.name, h.nlen, "Status") ||
		    str_case_eq(h.name, h.nlen, "Content-Length") ||
		    (h.nlen >= 14 && strncasecmp(h.name, "Drover-Session", 14) == 0))
			continue;
		if (append_field(&extra, &h) < 0) {
			buf_free(&extra);
			return 502;
		}
	}
	int rc = resp_interim(req, 103, buf_head(&extra), buf_used(&extra));
	buf_free(&extra);
	return rc < 0 ? -1 : HEAD_INTERIM;
}

/* The head is complete: turn it into the client's response head. */
static int
emit_head(struct request *req)
{
	struct apphdr *ah = &req->ah;
	int status = 0;
	struct header h, loch;
	size_t pos = 0;
	/* Status first: an interim head must not touch the session or the framing. */
	while (apphdr_next(ah, &pos, &h) == 0)
		if (str_case_eq(h.name, h.nlen, "Status") && field_ok(&h) &&
		    (status = parse_status(&h, req)) < 0)
			return 502;
	/* 1xx as a final answer would leave the client reading the next
	 * response as this one's; only Early Hints has a meaning here. */
	if (status >= 100 && status < 200)
		return status == 103 ? emit_interim(req) : 502;
	struct buf extra;
	buf_init(&extra, conn_config(req->conn)->max_header_bytes + 1024);
	bool have_location = false, have_ctype = false, have_xsf = false;
	struct header xsf;
	const struct header *loc = NULL;
	pos = 0;
	while (apphdr_next(ah, &pos, &h) == 0) {
		if (!field_ok(&h) || str_case_eq(h.name, h.nlen, "Status"))
			continue;
		if (session_app_header(req, &h))
			continue;
		if (str_case_eq(h.name, h.nlen, "Content-Length")) {
			req->resp_length = parse_length(&h);
			if (req->resp_length < 0) {
				buf_free(&extra);
				return 502;
			}
			continue;
		}
		if (hop_by_hop(&h))
			continue;
		if (str_case_eq(h.name, h.nlen, "X-Sendfile") ||
		    str_case_eq(h.name, h.nlen, "X-Accel-Redirect")) {
			/* A server path: never for the client; served by drover when
			 * [app] x_sendfile allows its directory (site.c). */
			xsf = h;
			have_xsf = true;
			continue;
		}
		if (str_case_eq(h.name, h.nlen, "Location")) {
			have_location = true;
			loch = h;
			loc = &loch;
		}
		if (str_case_eq(h.name, h.nlen, "Content-Type"))
			have_ctype = true;
		if (append_field(&extra, &h) < 0) {
			buf_free(&extra);
			return 502;
		}
	}
	if (have_xsf && conn_config(req->conn)->x_sendfile && (status == 0 || status == 200)) {
		buf_free(&extra);
		ah->local_redirect = ah->x_sendfile = true;
		ah->location = strndup(xsf.value, xsf.vlen);
		return ah->location ? 0 : 500;
	}
	if (have_location && status == 0 && loc->vlen > 0 && loc->value[0] == '/') {
		/* RFC 3875 §6.2.2: a local redirect is served internally as a GET. */
		buf_free(&extra);
		ah->local_redirect = true;
		ah->location = strndup(loc->value, loc->vlen);
		return 0;
	}
	if (status == 0)
		status = have_location ? 302 : 200;
	if (!have_ctype && !have_location && status == 200)
		log_debug("app", "note=\"response without Content-Type\"");
	session_after_app_head(req, &extra);
	int rc = resp_start(req, status, buf_head(&extra), buf_used(&extra));
	buf_free(&extra);
	return rc < 0 ? -1 : 0;
}

static void
local_redirect(struct request *req)
{
	char *location = req->ah.location;
	req->ah.location = NULL;
	req->app->abort(req);
	if (req->ah.x_sendfile) {
		site_sendfile(req, location);
		free(location);
		return;
	}
	if (++req->redirects > MAX_REDIRECTS) {
		free(location);
		resp_simple(req, 500, "too many internal redirects");
		return;
	}
	/* Re-enter the app with the new path as a GET without a body. */
	char *q = strchr(location, '?');
	free(req->query);
	req->query = strdup(q ? q + 1 : "");
	if (q)
		*q = '\0';
	free(req->path);
	req->path = location;
	if (percent_decode(req->path, strlen(req->path)) < 0 || req->query == NULL) {
		resp_simple(req, 500, "bad internal redirect");
		return;
	}
	req->method = "GET";
	req->method_len = 3;
	req_body_forget(req);
	apphdr_reset(&req->ah);
	int st = req->app->start(req);
	if (st != 0)
		resp_simple(req, st, NULL);
}

void
app_output(struct request *req, const void *data, size_t len)
{
	if (req->resp_done)
		return;
	const char *p = data;
	while (!req->ah.done) {
		long took = apphdr_feed(&req->ah, p, len, conn_config(req->conn)->max_header_bytes);
		if (took < 0) {
			app_fail(req, 502, "response head malformed or too large");
			return;
		}
		if (!req->ah.done)
			return;
		int st = emit_head(req);
		p += took;
		len -= (size_t)took;
		if (st == HEAD_INTERIM && ++req->interims <= MAX_INTERIM) {
			/* The final head follows in the same output. */
			apphdr_reset(&req->ah);
			continue;
		}
		if (st != 0) {
			app_fail(req, st > 0 && st != HEAD_INTERIM ? st : 502,
			    st == HEAD_INTERIM ? "too many interim responses" : "bad response head");
			return;
		}
		if (req->ah.local_redirect) {
			local_redirect(req);
			return;
		}
	}
	if (req->ah.local_redirect)
		return;
	if (len > 0 && resp_body(req, p, len) < 0)
		conn_abort(req->conn);
}

void
app_eof(struct request *req)
{
	if (req->resp_done)
		return;
	if (!req->ah.done) {
		app_fail(req, 502, "app ended before a complete response head");
		return;
	}
	if (req->ah.local_redirect)
		return;
	resp_end(req);
}

void
app_fail(struct request *req, int status, const char *why)
{
	if (req->resp_done)
		return;
	char q[512];
	const char *path = req->path ? req->path : "-";
	log_warn("app", "status=%d path=%s reason=\"%s\"", status, log_quote(q, sizeof q, path, strlen(path)), why);
	if (req->app_state && req->app)
		req->app->abort(req);
	if (req->resp_started) {
		conn_abort(req->conn);
		return;
	}
	req->resp_length = -1;
	resp_simple(req, status, NULL);
}
