/*
 * session: drover's session protocol on the request path (docs/design.md §7):
 * cookie in, lookup L1 then Redis, variables to the app, Drover-Session*
 * headers from the app consumed, store, cookie out.
 *
 * It must not block: a Redis lookup finishes through a callback.
 */
#ifndef DROVER_SESSION_H
#define DROVER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

struct request;
struct header;
struct varlist;
struct config;
struct worker_slot;
struct shm_region;
struct ev_loop;

struct session_req {
	bool enabled;
	bool have_sid;               /* cookie verified */
	bool resign;                 /* verified under an older key */
	bool set_cookie;             /* new or renewed id to send */
	bool miss_unlogged;          /* a miss, logged once the app's answer is known */
	bool delete_cookie;
	uint8_t sid[16];
	int result;                  /* enum sess_lookup */
	uint64_t version;
	char *data_b64;              /* snapshot for the app, owned */
	char *store_b64;             /* Drover-Session from the app, owned */
	size_t store_len;
	bool want_delete, want_renew;
	bool want_force;             /* store even when the lookup was unavailable */
	void (*cont)(struct request *);
	bool pending;                /* waiting on Redis */
	void *lookup;                /* the pending Redis lookup, cut loose if the request ends */
};

int session_worker_init(const struct config *cfg, struct shm_region *shm,
    struct worker_slot *slot, struct ev_loop *loop);
void session_worker_drain(void (*done)(void));
void session_worker_shutdown(void);

/* Looks the session up; calls cont(req) when done (now or later). */
void session_begin(struct request *req, void (*cont)(struct request *));
int session_add_vars(struct request *req, struct varlist *v);
/* True when h is a Drover-Session* header (recorded and not to be forwarded). */
bool session_app_header(struct request *req, const struct header *h);
/* The app's head is complete: store/delete/renew and append Set-Cookie lines. */
void session_after_app_head(struct request *req, struct buf *extra);
/* Request gone (any path): release what session_begin took. */
void session_req_end(struct request *req);

#endif
