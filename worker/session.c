/* session: see session.h. Placeholder until the session layer lands: every request is served without session state. */
#include "config.h"

#include "worker/appvars.h"
#include "worker/request.h"
#include "worker/session.h"

int
session_worker_init(const struct config *cfg, struct shm_region *shm, struct worker_slot *slot,
    struct ev_loop *loop)
{
	return 0;
}

void
session_worker_drain(void (*done)(void))
{
	done();
}

void session_worker_shutdown(void) {}

void
session_begin(struct request *req, void (*cont)(struct request *))
{
	cont(req);
}

int session_add_vars(struct request *req, struct varlist *v) { return 0; }
bool session_app_header(struct request *req, const struct header *h) { return false; }
void session_after_app_head(struct request *req, struct buf *extra) {}
void session_req_end(struct request *req) {}
