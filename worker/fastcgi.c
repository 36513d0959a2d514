/* fastcgi: placeholder until the FastCGI adapter lands; every request answers 502. */
#include "config.h"

#include "worker/fastcgi.h"

static int fcgi_start(struct request *req) { return 502; }
static void fcgi_pause(struct request *req, bool paused) {}
static void fcgi_abort(struct request *req) { req->app_state = NULL; }

const struct app_ops fastcgi_app = {
	.name = "fastcgi", .start = fcgi_start, .pause = fcgi_pause, .abort = fcgi_abort,
};

int app_pool_init(const struct config *cfg, struct ev_loop *loop) { return 0; }
void app_pool_shutdown(void) {}
