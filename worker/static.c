/* static: see static.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "common/log.h"
#include "conf/config.h"
#include "worker/conn.h"
#include "worker/mime.h"
#include "worker/static.h"

/* Files up to this size go out with their headers in one write. */
#define SMALL_FILE (32 * 1024)
/* One sendfile call moves at most this much, so one big file cannot
 * keep the worker from its other connections. */
#define SENDFILE_CHUNK (1 << 20)

struct sfile {
	struct request *req;
	int fd;
	off_t off, end;          /* bytes [off, end) are still to be sent */
	ev_io wio;
	ev_timer timer;
};

/*------------------------------------------------------------ parsing */

static bool
digits(const char **p, const char *end, int64_t *out)
{
	const char *s = *p;
	int64_t v = 0;
	if (s >= end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	*p = s;
	*out = v;
	return true;
}

int
static_parse_range(const char *v, size_t vlen, int64_t size, int64_t *first, int64_t *last)
{
	const char *end = v + vlen;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (vlen < 6 || strncasecmp(v, "bytes=", 6) != 0)
		return 0;
	const char *p = v + 6;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || memchr(p, ',', (size_t)(end - p)))
		return 0;   /* several ranges: the whole file is a valid answer */
	int64_t a, b;
	if (*p == '-') {
		p++;
		if (!digits(&p, end, &b) || p != end)
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (!digits(&p, end, &a) || p >= end || *p != '-')
		return 0;
	p++;
	if (p == end) {
		b = size - 1;
	} else {
		if (!digits(&p, end, &b) || p != end || b < a)
			return 0;
		if (b >= size)
			b = size - 1;
	}
	if (a >= size)
		return -1;
	*first = a;
	*last = b;
	return 1;
}

int
static_accepts_gzip(const char *v, size_t vlen)
{
	const char *end = v + vlen;
	for (const char *p = v; p < end; ) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		const char *tok = p;
		while (p < end && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
			p++;
		size_t tlen = (size_t)(p - tok);
		bool gzip = str_case_eq(tok, tlen, "gzip") || str_case_eq(tok, tlen, "x-gzip");
		bool refused = false;
		/* Parameters up to the next comma: only q matters. */
		while (p < end && *p != ',') {
			if (*p == 'q' && p + 1 < end && p[1] == '=') {
				const char *q = p + 2;
				refused = q < end && *q == '0';
				for (q++; refused && q < end && *q != ',' && *q != ';' && *q != ' '; q++)
					if (*q != '.' && *q != '0')
						refused = false;
			}
			p++;
		}
		if (gzip)
			return !refused;
	}
	return 0;
}

/* HTTP-date (IMF-fixdate) to time_t; -1 when it is not one. */
static time_t
parse_http_date(const char *v, size_t vlen)
{
	char s[64];
	if (vlen >= sizeof s)
		return -1;
	memcpy(s, v, vlen);
	s[vlen] = '\0';
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	return timegm(&tm);
}

/* Whether an If-None-Match list holds etag (weak comparison, RFC 9110 §13.1.2). */
static bool
etag_listed(const char *v, size_t vlen, const char *etag)
{
	size_t elen = strlen(etag);
	const char *end = v + vlen;
	for (const char *p = v; p < end; ) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p < end && *p == '*')
			return true;
		if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
			p += 2;
		const char *t = p;
		while (p < end && *p != ',')
			p++;
		const char *te = p;
		while (te > t && (te[-1] == ' ' || te[-1] == '\t'))
			te--;
		if ((size_t)(te - t) == elen && memcmp(t, etag, elen) == 0)
			return true;
	}
	return false;
}

/*------------------------------------------------------------ sending */

static void
sfile_free(struct sfile *sf)
{
	struct ev_loop *loop = conn_loop(sf->req->conn);
	ev_io_stop(loop, &sf->wio);
	ev_timer_stop(loop, &sf->timer);
	if (close(sf->fd) < 0)
		log_warn("static", "error=\"close: %s\"", strerror(errno));
	free(sf);
}

static void
on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct sfile *sf = w->data;
	struct request *req = sf->req;
	/* The head goes first, through the connection's own buffer. */
	if (conn_output_pending(req->conn) > 0)
		return;
	off_t left = sf->end - sf->off;
	ssize_t n = sendfile(conn_fd(req->conn), sf->fd, &sf->off,
	    (size_t)(left > SENDFILE_CHUNK ? SENDFILE_CHUNK : left));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The client went away, or the file shrank under us: the promised
		 * length cannot be kept, so the connection ends here. */
		if (n < 0 && errno != EPIPE && errno != ECONNRESET)
			log_warn("static", "error=\"sendfile: %s\"", strerror(errno));
		conn_abort(req->conn);   /* frees sf through static_abort */
		return;
	}
	req->resp_bytes += (uint64_t)n;
	ev_timer_again(conn_loop(req->conn), &sf->timer);
	if (sf->off < sf->end)
		return;
	req->app_state = NULL;
	sfile_free(sf);
	resp_end(req);
}

static void
on_stalled(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct sfile *sf = t->data;
	log_info("static", "reason=\"client stopped reading\" sent=%llu",
	    (unsigned long long)sf->req->resp_bytes);
	conn_abort(sf->req->conn);
}

static void
static_abort(struct request *req)
{
	struct sfile *sf = req->app_state;
	req->app_state = NULL;
	if (sf)
		sfile_free(sf);
}

static void
static_pause(struct request *req, bool paused)
{
	(void)req;
	(void)paused;   /* the body never passes through the output buffer */
}

static int
static_start(struct request *req)
{
	(void)req;
	return 404;     /* every file was answered before the app is asked */
}

const struct app_ops static_app = {
	.name = "static",
	.start = static_start,
	.pause = static_pause,
	.abort = static_abort,
};

/*------------------------------------------------------------ answering */

/* Opens path (or its .gz sibling when the client takes gzip). */
static int
open_file(struct request *req, const char *path, struct stat *sb, bool *gz, bool *has_gz)
{
	*gz = *has_gz = false;
	char gzpath[4200];
	if (snprintf(gzpath, sizeof gzpath, "%s.gz", path) < (int)sizeof gzpath) {
		/* A sibling that is a plain file: a symlink could lead anywhere. */
		struct stat gs;
		if (lstat(gzpath, &gs) == 0 && S_ISREG(gs.st_mode)) {
			*has_gz = true;
			const struct header *ae = req_header(req, "Accept-Encoding");
			if (ae && static_accepts_gzip(ae->value, ae->vlen)) {
				int fd = open(gzpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
				if (fd >= 0) {
					if (fstat(fd, sb) == 0 && S_ISREG(sb->st_mode)) {
						*gz = true;
						return fd;
					}
					close(fd);
				}
			}
		}
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == EACCES ? -403 : -404;
	if (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode)) {
		close(fd);
		return -404;
	}
	return fd;
}

int
static_serve(struct request *req, const char *path)
{
	const struct config *cfg = conn_config(req->conn);
	bool get = str_case_eq(req->method, req->method_len, "GET");
	if (!get && !req->is_head)
		return 405;
	struct stat sb;
	bool gz, has_gz;
	int fd = open_file(req, path, &sb, &gz, &has_gz);
	if (fd < 0)
		return -fd;

	char etag[64], lastmod[64], extra[1024];
	/* The validator changes whenever the file is replaced or rewritten. */
	snprintf(etag, sizeof etag, "\"%llx-%llx%s\"", (unsigned long long)sb.st_mtime,
	    (unsigned long long)sb.st_size, gz ? "-gz" : "");
	struct tm tm;
	gmtime_r(&sb.st_mtime, &tm);
	strftime(lastmod, sizeof lastmod, "%a, %d %b %Y %H:%M:%S GMT", &tm);

	int status = 200;
	const struct header *inm = req_header(req, "If-None-Match");
	const struct header *ims = req_header(req, "If-Modified-Since");
	if (inm) {
		if (etag_listed(inm->value, inm->vlen, etag))
			status = 304;
	} else if (ims) {
		time_t t = parse_http_date(ims->value, ims->vlen);
		if (t >= 0 && sb.st_mtime <= t)
			status = 304;
	}

	int64_t size = (int64_t)sb.st_size, first = 0, last = size - 1;
	const struct header *range = req_header(req, "Range");
	const struct header *ifr = req_header(req, "If-Range");
	if (status == 200 && range && get && (ifr == NULL ||
	    str_case_eq(ifr->value, ifr->vlen, etag) || str_case_eq(ifr->value, ifr->vlen, lastmod))) {
		int r = static_parse_range(range->value, range->vlen, size, &first, &last);
		if (r > 0)
			status = 206;
		else if (r < 0)
			status = 416;
	}

	int n = snprintf(extra, sizeof extra, "Content-Type: %s\r\nLast-Modified: %s\r\nETag: %s\r\n"
	    "Accept-Ranges: bytes\r\n", mime_type(path, cfg->mime_types), lastmod, etag);
	if (has_gz)
		n += snprintf(extra + n, sizeof extra - (size_t)n, "Vary: Accept-Encoding\r\n");
	if (gz)
		n += snprintf(extra + n, sizeof extra - (size_t)n, "Content-Encoding: gzip\r\n");
	if (cfg->expires_ms > 0)
		n += snprintf(extra + n, sizeof extra - (size_t)n, "Cache-Control: max-age=%lld\r\n",
		    (long long)(cfg->expires_ms / 1000));
	if (status == 206)
		n += snprintf(extra + n, sizeof extra - (size_t)n, "Content-Range: bytes %lld-%lld/%lld\r\n",
		    (long long)first, (long long)last, (long long)size);
	else if (status == 416)
		n += snprintf(extra + n, sizeof extra - (size_t)n, "Content-Range: bytes */%lld\r\n",
		    (long long)size);

	int64_t len = status == 416 || status == 304 ? 0 : last - first + 1;
	req->resp_length = len;
	if (resp_start(req, status, extra, (size_t)n) < 0) {
		close(fd);
		conn_abort(req->conn);
		return 0;
	}
	if (len == 0 || req->is_head) {
		close(fd);
		resp_end(req);
		return 0;
	}
	if (len <= SMALL_FILE) {
		char buf[SMALL_FILE];
		ssize_t got = pread(fd, buf, (size_t)len, first);
		close(fd);
		if (got != len || resp_body(req, buf, (size_t)got) < 0) {
			conn_abort(req->conn);
			return 0;
		}
		resp_end(req);
		return 0;
	}
	struct sfile *sf = calloc(1, sizeof *sf);
	if (sf == NULL) {
		close(fd);
		conn_abort(req->conn);
		return 0;
	}
	sf->req = req;
	sf->fd = fd;
	sf->off = first;
	sf->end = last + 1;
	req->app = &static_app;
	req->app_state = sf;
	struct ev_loop *loop = conn_loop(req->conn);
	ev_io_init(&sf->wio, on_writable, conn_fd(req->conn), EV_WRITE);
	sf->wio.data = sf;
	double stall = (double)(cfg->request_timeout_ms > 30000 ? cfg->request_timeout_ms : 30000) / 1000.0;
	ev_init(&sf->timer, on_stalled);
	sf->timer.repeat = stall;
	sf->timer.data = sf;
	ev_timer_again(loop, &sf->timer);
	ev_io_start(loop, &sf->wio);
	return 0;
}
