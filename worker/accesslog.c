/* accesslog: see accesslog.h. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "worker/accesslog.h"
#include "worker/request.h"

/* The most bytes one client-supplied value may take in a line, escaped:
 * four of them and the fixed fields fit in ACCESS_LINE_MAX. */
#define VALUE_MAX 1024

enum esc { ESC_NGINX, ESC_JSON, ESC_LOGFMT };

/* A bounded line: writes past cap - 1 are dropped, the newline always fits. */
struct line {
	char *p;
	size_t n, cap;
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (l->n + n > l->cap - 2)
		n = l->n < l->cap - 2 ? l->cap - 2 - l->n : 0;
	memcpy(l->p + l->n, s, n);
	l->n += n;
}

static void __attribute__((format(printf, 2, 3)))
putf(struct line *l, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		put(l, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/*
 * One value, escaped: nginx writes '"', '\' and every byte outside printable
 * ASCII as \xHH; JSON needs \" \\ and \u00HH; logfmt (inside quotes) \" \\
 * and \xHH.
 */
static void
put_escaped(struct line *l, const char *v, size_t n, enum esc mode)
{
	size_t start = l->n;
	for (size_t i = 0; i < n && l->n - start < VALUE_MAX; i++) {
		unsigned char ch = (unsigned char)v[i];
		bool plain = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
		if (plain)
			put(l, (const char *)&ch, 1);
		else if (mode == ESC_NGINX)
			putf(l, "\\x%02X", ch);
		else if (ch == '"' || ch == '\\')
			putf(l, "\\%c", ch);
		else if (mode == ESC_JSON)
			putf(l, "\\u%04x", ch);
		else
			putf(l, "\\x%02x", ch);
	}
}

static void
put_header(struct line *l, const struct request *req, const char *name, enum esc mode, const char *absent)
{
	const struct header *h = req_header(req, name);
	if (h)
		put_escaped(l, h->value, h->vlen, mode);
	else
		put(l, absent, strlen(absent));
}

enum kind { OURS, CLIENTS, NUMBER };

/* One field of a json or logfmt line: strings are quoted in JSON, and in
 * logfmt those a client chose (which may hold anything). */
static void
field(struct line *l, enum access_format fmt, const char *name, enum kind kind, const char *v, size_t n)
{
	bool json = fmt == ACCESS_JSON;
	bool quoted = json ? kind != NUMBER : kind == CLIENTS;
	if (l->n > (json ? 1u : 0u))
		put(l, json ? "," : " ", 1);
	if (json)
		putf(l, "\"%s\":", name);
	else
		putf(l, "%s=", name);
	if (quoted)
		put(l, "\"", 1);
	put_escaped(l, v, n, json ? ESC_JSON : ESC_LOGFMT);
	if (quoted)
		put(l, "\"", 1);
}

static void
field_header(struct line *l, enum access_format fmt, const char *name, const struct request *req,
    const char *header)
{
	const struct header *h = req_header(req, header);
	field(l, fmt, name, CLIENTS, h ? h->value : "", h ? h->vlen : 0);
}

static void
structured(struct line *l, enum access_format fmt, const struct request *req, const struct tm *tm,
    int64_t now_ms, double dur)
{
	char v[64];
	int n;
	if (fmt == ACCESS_JSON)
		put(l, "{", 1);
	n = (int)strftime(v, sizeof v, "%Y-%m-%dT%H:%M:%S", tm);
	n += snprintf(v + n, sizeof v - (size_t)n, ".%03dZ", (int)(now_ms % 1000));
	field(l, fmt, "ts", OURS, v, (size_t)n);
	if (fmt == ACCESS_LOGFMT)
		field(l, fmt, "event", OURS, "access", 6);
	field(l, fmt, "remote_addr", OURS, req->client.addr, strlen(req->client.addr));
	field(l, fmt, "method", CLIENTS, req->method, req->method_len);
	field(l, fmt, "uri", CLIENTS, req->target, req->target_len);
	n = snprintf(v, sizeof v, "HTTP/%d.%d", req->http_major, req->http_minor);
	field(l, fmt, "protocol", OURS, v, (size_t)n);
	n = snprintf(v, sizeof v, "%d", req->status);
	field(l, fmt, "status", NUMBER, v, (size_t)n);
	n = snprintf(v, sizeof v, "%llu", (unsigned long long)req->resp_bytes);
	field(l, fmt, "bytes", NUMBER, v, (size_t)n);
	field_header(l, fmt, "referer", req, "Referer");
	field_header(l, fmt, "user_agent", req, "User-Agent");
	n = snprintf(v, sizeof v, "%.3f", dur);
	field(l, fmt, "duration", NUMBER, v, (size_t)n);
	if (fmt == ACCESS_JSON)
		put(l, "}", 1);
}

enum access_format
access_format_of(const char *name)
{
	if (name && strcmp(name, "json") == 0)
		return ACCESS_JSON;
	if (name && strcmp(name, "logfmt") == 0)
		return ACCESS_LOGFMT;
	return ACCESS_COMBINED;
}

size_t
access_line(char *out, size_t cap, enum access_format fmt, const struct request *req,
    int64_t duration_us, int64_t now_ms)
{
	struct line l = { out, 0, cap };
	time_t sec = (time_t)(now_ms / 1000);
	struct tm tm;
	char ts[64];
	gmtime_r(&sec, &tm);
	double dur = (double)duration_us / 1e6;
	unsigned long long bytes = (unsigned long long)req->resp_bytes;
	switch (fmt) {
	case ACCESS_COMBINED:
		strftime(ts, sizeof ts, "%d/%b/%Y:%H:%M:%S +0000", &tm);
		putf(&l, "%s - - [%s] \"", req->client.addr, ts);
		put_escaped(&l, req->method, req->method_len, ESC_NGINX);
		put(&l, " ", 1);
		put_escaped(&l, req->target, req->target_len, ESC_NGINX);
		putf(&l, " HTTP/%d.%d\" %d %llu \"", req->http_major, req->http_minor, req->status, bytes);
		put_header(&l, req, "Referer", ESC_NGINX, "-");
		put(&l, "\" \"", 3);
		put_header(&l, req, "User-Agent", ESC_NGINX, "-");
		putf(&l, "\" %.3f", dur);
		break;
	case ACCESS_JSON:
	case ACCESS_LOGFMT:
		structured(&l, fmt, req, &tm, now_ms, dur);
		break;
	}
	l.p[l.n++] = '\n';
	return l.n;
}
