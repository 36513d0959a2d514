/*
 * response: status line, headers and body framing of every response.
 *
 * Owns Date/Server/Connection/Content-Length/Transfer-Encoding decisions:
 * chunked when the app gives no length and the client speaks HTTP/1.1,
 * close-delimited for HTTP/1.0, no body for HEAD, 1xx, 204 and 304.
 * It must not parse app output (apphdr.c does).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "worker/conn.h"
#include "worker/overload.h"
#include "worker/request.h"

const char *
status_reason(int s)
{
	switch (s) {
	case 100: return "Continue";
	case 103: return "Early Hints";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return NULL;
	}
}

static const char *
http_date(void)
{
	static char cached[64];
	static time_t cached_at;
	time_t now = time(NULL);
	if (now != cached_at) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(cached, sizeof cached, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		cached_at = now;
	}
	return cached;
}

/* Drover's name for a code, else the app's reason phrase, else "Unknown". */
static const char *
reason_of(const struct request *req, int status)
{
	const char *r = status_reason(status);
	if (r == NULL)
		r = req->resp_reason[0] ? req->resp_reason : "Unknown";
	return r;
}

int
resp_interim(struct request *req, int status, const char *extra, size_t extra_len)
{
	char head[64];
	if (req->http_minor < 1)
		return 0;
	int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n", status, reason_of(req, status));
	if (conn_write(req->conn, head, (size_t)n) < 0 || conn_write(req->conn, extra, extra_len) < 0 ||
	    conn_write(req->conn, "\r\n", 2) < 0)
		return -1;
	return 0;
}

static bool
no_body_status(int s)
{
	return (s >= 100 && s < 200) || s == 204 || s == 304;
}

int
resp_start(struct request *req, int status, const char *extra, size_t extra_len)
{
	struct conn *c = req->conn;
	char head[1024];
	req->status = status;
	req->resp_started = true;
	bool body_allowed = !req->is_head && !no_body_status(status);
	bool keep = req->keep_alive && !conn_env.draining;
	if (req->resp_length < 0 && body_allowed) {
		if (req->http_minor >= 1)
			req->resp_chunked = true;
		else
			keep = false;      /* HTTP/1.0 without a length: the close ends the body */
	}
	req->keep_alive = keep;
	int n = snprintf(head, sizeof head, "HTTP/1.%d %d %s\r\nServer: drover\r\nDate: %s\r\n",
	    req->http_minor >= 1 ? 1 : 0, status, reason_of(req, status), http_date());
	if (req->resp_length >= 0 && !no_body_status(status))
		n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %lld\r\n",
		    (long long)req->resp_length);
	else if (req->resp_chunked)
		n += snprintf(head + n, sizeof head - (size_t)n, "Transfer-Encoding: chunked\r\n");
	if (!keep)
		n += snprintf(head + n, sizeof head - (size_t)n, "Connection: close\r\n");
	else if (req->http_minor == 0)
		n += snprintf(head + n, sizeof head - (size_t)n, "Connection: keep-alive\r\n");
	if (conn_write(c, head, (size_t)n) < 0 || conn_write(c, extra, extra_len) < 0 ||
	    conn_write(c, "\r\n", 2) < 0)
		return -1;
	if (!body_allowed)
		req->resp_chunked = false;
	return 0;
}

int
resp_body(struct request *req, const void *data, size_t len)
{
	if (len == 0 || req->is_head || no_body_status(req->status))
		return 0;
	if (req->resp_length >= 0 && req->resp_bytes + len > (uint64_t)req->resp_length)
		len = (size_t)((uint64_t)req->resp_length - req->resp_bytes);
	req->resp_bytes += len;
	if (req->resp_chunked) {
		char sz[24];
		int n = snprintf(sz, sizeof sz, "%zx\r\n", len);
		if (conn_write(req->conn, sz, (size_t)n) < 0 || conn_write(req->conn, data, len) < 0 ||
		    conn_write(req->conn, "\r\n", 2) < 0)
			return -1;
		return 0;
	}
	return conn_write(req->conn, data, len);
}

void
resp_end(struct request *req)
{
	if (req->resp_done)
		return;
	req->resp_done = true;
	if (req->resp_chunked && conn_write(req->conn, "0\r\n\r\n", 5) < 0) {
		conn_abort(req->conn);
		return;
	}
	if (req->resp_length >= 0 && req->resp_bytes < (uint64_t)req->resp_length &&
	    !req->is_head && !no_body_status(req->status)) {
		/* The app promised more than it gave: the client must not wait for it. */
		req->keep_alive = false;
		req->resp_failed = true;
	}
	conn_request_done(req->conn);
}

void
resp_simple(struct request *req, int status, const char *msg)
{
	if (req->resp_started) {
		conn_abort(req->conn);
		return;
	}
	char body[512];
	int n = snprintf(body, sizeof body, "%d %s%s%s\n", status, reason_of(req, status),
	    msg ? ": " : "", msg ? msg : "");
	if (status >= 400 && status != 404 && status != 403 && status != 405)
		req->keep_alive = req->keep_alive && status < 500 && status != 408 && status != 413 &&
		    status != 400 && status != 414 && status != 431;
	req->resp_length = n;
	/* Drover's own 503 means no room now: the client may try again soon. */
	const char *ct = status == 503 ?
	    "Content-Type: text/plain; charset=utf-8\r\nRetry-After: " RETRY_AFTER_TEXT "\r\n" :
	    "Content-Type: text/plain; charset=utf-8\r\n";
	if (resp_start(req, status, ct, strlen(ct)) < 0 || resp_body(req, body, (size_t)n) < 0) {
		conn_abort(req->conn);
		return;
	}
	resp_end(req);
}
