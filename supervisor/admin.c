/*
 * admin: see admin.h. Each connection gets one request, at most
 * ADMIN_REQ_MAX bytes within ADMIN_TIMEOUT seconds, and is closed after the
 * answer (oneshot.c), so a stuck scraper costs one small struct for a
 * bounded time.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "supervisor/admin.h"
#include "supervisor/status_page.h"
#include "supervisor/arbiter.h"
#include "supervisor/listeners.h"
#include "supervisor/upgrade.h"

#define ADMIN_REQ_MAX 4096
#define ADMIN_TIMEOUT 5.0
#define ADMIN_MAX_CONNS 64

static void
respond(struct buf *out, int code, const char *ctype, struct buf *body)
{
	const char *reason = code == 200 ? "OK" : code == 404 ? "Not Found" :
	    code == 405 ? "Method Not Allowed" : code == 503 ? "Service Unavailable" : "Bad Request";
	buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", code, reason, ctype, body ? buf_used(body) : 0);
	if (body)
		buf_append(out, buf_head(body), buf_used(body));
}

static bool
head_complete(const char *req, size_t len)
{
	return strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL;
}

/*
 * Why no app process can run, when every ready worker says so (each
 * worker's FastCGI pool reports it in its slot); 0 while one can.
 */
static int
app_down(struct arbiter *arb)
{
	int why = 0;
	for (int i = 0; i < SHM_MAX_WORKERS; i++) {
		struct worker_slot *s = &arb->shm->sb->slots[i];
		if (atomic_load(&s->state) != WS_READY)
			continue;
		int d = atomic_load(&s->app_down);
		if (d == 0)
			return 0;
		why = d;
	}
	return why;
}

static void
handle(void *arg, char *req, size_t len, bool overflow, struct buf *out)
{
	struct admin *ad = arg;
	char method[8] = "", path[256];
	struct buf body;
	buf_init(&body, 4 << 20);
	if (overflow || sscanf(req, "%7s %255s", method, path) != 2) {
		respond(out, 400, "text/plain", NULL);
	} else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		respond(out, 405, "text/plain", NULL);
	} else if (strcmp(path, "/") == 0) {
		buf_append(&body, status_html, strlen(status_html));
		respond(out, 200, "text/html; charset=utf-8", &body);
	} else if (strcmp(path, "/metrics") == 0) {
		metrics_render(ad->arb, &body);
		respond(out, 200, "text/plain; version=0.0.4", &body);
	} else if (strcmp(path, "/healthz") == 0) {
		int ok = healthz_ok(ad->arb);
		int app = ok ? app_down(ad->arb) : 0;
		if (!ok)
			buf_printf(&body, "no ready worker\n");
		else if (app)
			buf_printf(&body, "app cannot run: %s\n",
			    app > 0 ? strerror(app) : "every app process exits at start");
		else
			buf_printf(&body, "ok\n");
		respond(out, ok && !app ? 200 : 503, "text/plain", &body);
	} else if (strcmp(path, "/status") == 0) {
		status_render_json(ad->arb, &body);
		respond(out, 200, "application/json", &body);
	} else {
		buf_printf(&body, "not found\n");
		respond(out, 404, "text/plain", &body);
	}
	buf_free(&body);
	if (strcmp(method, "HEAD") == 0) {
		/* Same head, Content-Length included, but no body. */
		char *end = memmem(buf_head(out), buf_used(out), "\r\n\r\n", 4);
		if (end)
			out->len = (size_t)(end + 4 - out->data);
	}
}

int
admin_start(struct admin *ad, struct arbiter *arb, struct ev_loop *loop, char *err, size_t errlen)
{
	memset(ad, 0, sizeof *ad);
	ad->fd = -1;
	ad->os.fd = -1;
	ad->arb = arb;
	const char *bind = arb->cfg->admin_bind;
	int inherited = upgrade_take_fd("admin");   /* binary upgrade: already bound */
	if (bind == NULL || *bind == '\0' || strcmp(bind, "off") == 0) {
		if (inherited >= 0)
			close(inherited);
		return 0;
	}
	ad->fd = inherited >= 0 ? inherited : listen_on(bind, 64, err, errlen);
	if (ad->fd < 0)
		return -1;
	ad->os.req_max = ADMIN_REQ_MAX;
	ad->os.timeout = ADMIN_TIMEOUT;
	ad->os.max_conns = ADMIN_MAX_CONNS;
	ad->os.out_max = 8 << 20;
	ad->os.complete = head_complete;
	ad->os.handle = handle;
	ad->os.arg = ad;
	oneshot_start(&ad->os, loop, ad->fd);
	return 0;
}

void
admin_stop(struct admin *ad)
{
	oneshot_stop(&ad->os);
	ad->fd = -1;
}
