/* site: see site.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "conf/apps.h"
#include "conf/config.h"
#include "worker/auth.h"
#include "worker/cgi.h"
#include "worker/fastcgi.h"
#include "worker/conn.h"
#include "worker/request.h"
#include "worker/route.h"
#include "worker/site.h"
#include "worker/static.h"

/* A short text answer with extra header lines. */
static void
answer(struct request *req, int status, const char *extra, size_t elen)
{
	char body[64];
	int blen = snprintf(body, sizeof body, "%d %s\n", status, status_reason(status));
	req->resp_length = blen;
	if (resp_start(req, status, extra, elen) < 0 || resp_body(req, body, (size_t)blen) < 0) {
		conn_abort(req->conn);
		return;
	}
	resp_end(req);
}

/* 301 to the same target with a slash after its path, query kept. */
static void
redirect_slash(struct request *req)
{
	const char *t = req->target, *end = req->target + req->target_len;
	/* Absolute form: the path starts after scheme://authority. */
	if (t < end && *t != '/') {
		const char *sl = memmem(t, (size_t)(end - t), "://", 3);
		t = sl ? memchr(sl + 3, '/', (size_t)(end - sl - 3)) : NULL;
		if (t == NULL) {
			resp_simple(req, 404, NULL);
			return;
		}
	}
	const char *q = memchr(t, '?', (size_t)(end - t));
	size_t plen = (size_t)((q ? q : end) - t);
	char extra[4400];
	int n = snprintf(extra, sizeof extra, "Location: %.*s/%.*s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n", (int)plen, t,
	    q ? (int)(end - q) : 0, q ? q : "");
	if (n < 0 || n >= (int)sizeof extra) {
		resp_simple(req, 414, NULL);
		return;
	}
	answer(req, 301, extra, (size_t)n);
}

/* auth_basic: wrong or missing credentials never reach the app. */
static bool
authorized(struct request *req, const struct config *cfg)
{
	if (cfg->auth_basic == NULL)
		return true;
	const struct header *h = req_header(req, "Authorization");
	if (auth_check(cfg->auth_basic, h ? h->value : NULL, h ? h->vlen : 0, req->remote_user,
	    sizeof req->remote_user) == 0)
		return true;
	req->remote_user[0] = '\0';
	char extra[512];
	int n = snprintf(extra, sizeof extra, "WWW-Authenticate: Basic realm=\"%s\", charset=\"UTF-8\"\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n", cfg->auth_realm ? cfg->auth_realm : "drover");
	answer(req, 401, extra, n > 0 && n < (int)sizeof extra ? (size_t)n : 0);
	return false;
}

static enum site_next
answer_file(struct request *req, const char *path)
{
	int st = static_serve(req, path);
	if (st)
		resp_simple(req, st, NULL);
	return SITE_ANSWERED;
}

/* Files, directories and refusals of an app with a root, before the app. */
static enum site_next
files(struct request *req, const struct config *cfg, enum site_next to_app)
{
	struct route r;
	bool own_static = cfg->static_root && cfg->app_type != APP_STATIC &&
	    (cfg->root == NULL || strcmp(cfg->root, cfg->static_root) != 0);
	/* try_files: a file under static_root first, then the app. A
	 * directory path is the app's (its index is a script, not a file). */
	size_t plen = strlen(req->path);
	if (own_static && plen > 0 && req->path[plen - 1] != '/' && route_resolve_in(
	    cfg, cfg->static_root, APP_STATIC, req->path, &r) == 0 && r.kind == ROUTE_STATIC)
		return answer_file(req, r.t.filename);
	/* One script for every path, or an app that maps paths itself. */
	if (cfg->root == NULL || cfg->script)
		return to_app;
	int st = route_resolve(cfg, req->path, &r);
	if (st) {
		resp_simple(req, st, NULL);
		return SITE_ANSWERED;
	}
	switch (r.kind) {
	case ROUTE_SCRIPT:
		return to_app;
	case ROUTE_STATIC:
		/* With a static_root of its own, files under root are not served. */
		if (own_static) {
			resp_simple(req, 404, NULL);
			return SITE_ANSWERED;
		}
		return answer_file(req, r.t.filename);
	case ROUTE_SLASH:
		redirect_slash(req);
		return SITE_ANSWERED;
	}
	return to_app;
}

void
site_sendfile(struct request *req, const char *path)
{
	const struct config *cfg = conn_config(req->conn);
	/* The app's own head is replaced by the file's, whatever the method. */
	req->resp_length = -1;
	if (!req->is_head) {
		req->method = "GET";
		req->method_len = 3;
	}
	/* A path that is absolute and has no dot segment cannot climb out of the
	 * directory it starts with. */
	bool clean = path[0] == '/';
	for (const char *s = path; clean && *s; ) {
		s += strspn(s, "/");
		clean = s[0] != '.';
		s += strcspn(s, "/");
	}
	for (const char *d = cfg->x_sendfile; clean && d && *d; ) {
		d += strspn(d, " \t");
		size_t n = strcspn(d, " \t");
		while (n > 1 && d[n - 1] == '/')
			n--;
		if (n > 0 && strncmp(path, d, n) == 0 && path[n] == '/') {
			answer_file(req, path);
			return;
		}
		d += strcspn(d, " \t");
	}
	char q[256];
	log_warn("site", "x_sendfile=%s note=\"not under [app] x_sendfile\"",
	    log_quote(q, sizeof q, path, strlen(path)));
	resp_simple(req, 404, NULL);
}

enum site_next
site_dispatch(struct request *req)
{
	const struct config *server = conn_config(req->conn);
	size_t mlen;
	const struct config *cfg = apps_route(server, req->path, &mlen);
	if (cfg == NULL) {
		resp_simple(req, 404, NULL);
		return SITE_ANSWERED;
	}
	req->cfg = cfg;
	if (cfg != server) {
		req->app = cfg->app_type == APP_FASTCGI ? &fastcgi_app :
		    cfg->app_type == APP_STATIC ? &static_app : &cgi_app;
		/* The app sees the path under its mount: SCRIPT_NAME gets the mount back. */
		memmove(req->path, req->path + mlen, strlen(req->path + mlen) + 1);
		if (req->path[0] == '\0' && cfg->root && !cfg->script) {
			redirect_slash(req);   /* /wiki -> /wiki/ */
			return SITE_ANSWERED;
		}
	}
	if (!authorized(req, cfg))
		return SITE_ANSWERED;
	enum site_next to_app = cfg == server || cfg->sessions ? SITE_APP : SITE_APP_NO_SESSION;
	return files(req, cfg, to_app);
}
