/*
 * session: see session.h.
 *
 * Lookup order is L1 (this host's shared memory) then L2 (Redis). A store
 * goes to L1 at once, marked dirty, and to Redis in the background; the mark
 * is cleared when Redis acknowledges, so a write made by a worker that is
 * SIGKILLed a moment later, or during a Redis outage, is still in L1 and any
 * worker's flush timer sends it on. Redis refuses a version it already has
 * or has passed: that is a conflict between hosts, counted and logged, and
 * the local copy is dropped so the next read rebuilds the winner's state.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <openssl/evp.h>

#include "cache/envelope.h"
#include "cache/l2.h"
#include "cache/lru.h"
#include "cache/sid.h"
#include "common/log.h"
#include "common/util.h"
#include "conf/config.h"
#include "supervisor/shm.h"
#include "worker/appvars.h"
#include "worker/conn.h"
#include "worker/request.h"
#include "worker/session.h"

#define FLUSH_SECONDS 1.0
#define FLUSH_BATCH 64
/* A dirty entry younger than this is still in its writer's hands. */
#define FLUSH_MIN_AGE_MS 2000
/* A full round (Redis back, or a drain) sends at most this many per turn. */
#define FLUSH_FULL_MAX 1024
#define DRAIN_POLL_SECONDS 0.02
/* A drain with nobody left to flush after it asks Redis again this often. */
#define DRAIN_RETRY_MS 250
/*
 * After Redis lost its data, L1's clean entries are marked dirty again a
 * batch per tick, and only while few are waiting, so the flush (one batch
 * per tick) paces the load on Redis and L1 keeps room for new writes.
 */
#define RESYNC_SECONDS 0.25
#define RESYNC_DIRTY_MAX (4 * FLUSH_BATCH)
#define SWEEP_SECONDS 5.0
#define SWEEP_WORK 256

static struct {
	const struct config *cfg;
	struct lru *l1;
	struct l2 *l2;
	struct session_keys keys;
	struct worker_slot *slot;
	struct worker_counters *ctr;
	struct ev_loop *loop;
	ev_timer flush, flush_now, sweep, drain_poll, resync;
	uint64_t flush_cursor;
	uint64_t resync_cursor;     /* L1 slot the re-send after a Redis data loss is at */
	uint64_t resync_marked;
	struct scoreboard *sb;
	bool was_up;                /* Redis usable at the last state change */
	bool drain_sent;            /* the drain sent its full round */
	int64_t drain_retry_ms;
	uint8_t *env;               /* envelope scratch, envelope_bound(max_value_bytes) */
	size_t env_cap;
	uint8_t *val;               /* decoded value scratch, max_value_bytes */
	void (*drained)(void);
	uint64_t lock_recoveries_seen;
} S;

/* A Redis lookup outlives its request if the client goes away first. */
struct pending_lookup {
	struct request *req;
};

/* A background write, tracked until Redis answers. */
struct pending_store {
	uint8_t sid[SESSION_ID_LEN];
	uint64_t version;
	size_t len;
	uint8_t env[];
};

static void
sid_prefix(const uint8_t sid[SESSION_ID_LEN], char out[9])
{
	char hex[SID_HEX_LEN + 1];
	sid_hex(sid, hex);
	memcpy(out, hex, 8);
	out[8] = '\0';
}

static void
bump(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/*------------------------------------------------------------ base64 */

static char *
b64_encode(const uint8_t *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* Strict standard base64 (padding optional); -1 on anything else. */
static long
b64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	size_t pad = 0;
	while (n > 0 && s[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!isalnum(ch) && ch != '+' && ch != '/')
			return -1;
	}
	if (n % 4 == 1)
		return -1;
	size_t full = (n + 3) / 4 * 4;
	size_t rawlen = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	if (rawlen > cap)
		return -2;
	char *tmp = malloc(full + 1);
	uint8_t *dec = malloc(full / 4 * 3 + 1);
	if (tmp == NULL || dec == NULL) {
		free(tmp);
		free(dec);
		return -1;
	}
	memcpy(tmp, s, n);
	memset(tmp + n, '=', full - n);
	int got = EVP_DecodeBlock(dec, (unsigned char *)tmp, (int)full);
	long rc = got < 0 ? -1 : (long)rawlen;
	if (rc >= 0)
		memcpy(out, dec, rawlen);
	free(tmp);
	free(dec);
	return rc;
}

/*------------------------------------------------------------ L2 plumbing */

static void
on_l2_state(void *arg, bool up, bool breaker_open)
{
	atomic_store(&S.slot->redis_up, up ? 1 : 0);
	atomic_store(&S.slot->breaker_open, breaker_open ? 1 : 0);
	/* Back (a half-open probe succeeded, or a reconnect): what was written
	 * meanwhile goes out now, from the loop rather than inside l2's call. */
	if (up && !S.was_up)
		ev_timer_start(S.loop, &S.flush_now);
	S.was_up = up;
}

static void flush_round(bool full);

static uint64_t
dirty_entries(void)
{
	struct lru_stats st;
	lru_get_stats(S.l1, &st);
	return st.dirty;
}

/*
 * Marks the next batch of L1 entries dirty and flushes a batch, until one
 * pass over the tier is done. Entries keep their versions: the store script
 * refuses only a version Redis already has or has passed, so in a Redis that
 * starts empty each one is stored, and one written meanwhile by another
 * host (a newer version) wins. Tombstones go out as tombstones.
 */
static void
on_resync(struct ev_loop *loop, ev_timer *t, int revents)
{
	if (!l2_usable(S.l2))
		return;   /* the pass goes on when Redis is back */
	if (dirty_entries() < RESYNC_DIRTY_MAX) {
		S.resync_marked += lru_mark_dirty_scan(S.l1, &S.resync_cursor, wall_ms(),
		    FLUSH_BATCH);
		if (S.resync_cursor == 0) {
			ev_timer_stop(loop, t);
			log_info("redis", "state=resynced marked=%llu",
			    (unsigned long long)S.resync_marked);
		}
	}
	flush_round(false);
}

/*
 * Redis answers from another server process: if it started empty, every
 * write it had acknowledged is gone, though this host's L1 still holds the
 * sessions. One worker per change notices (the identity is shared), logs it,
 * records when (sessions used from then on are stored again at once, see
 * session_begin) and sends every live L1 entry again, idle ones included
 * (on_resync). The exchange makes the notice once per change.
 */
static void
on_l2_server(void *arg, const char run_id[])
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = run_id; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	h |= 1;
	uint64_t old = atomic_exchange(&S.sb->redis_run, h);
	if (old == 0 || old == h)
		return;
	atomic_store(&S.sb->redis_lost_ms, wall_ms());
	log_warn("redis", "state=server_changed run_id=%.8s note=\"a different Redis process answers; sessions this host holds are stored again\"",
	    run_id);
	S.resync_cursor = 0;
	S.resync_marked = 0;
	ev_timer_again(S.loop, &S.resync);
}

static void
on_l2_invalidate(void *arg, const uint8_t sid[16], uint64_t version)
{
	static const uint8_t zero[16];
	if (memcmp(sid, zero, 16) == 0)
		return;   /* missed messages: entries age out by ttl; versions catch the rest */
	if (lru_invalidate_older(S.l1, sid, version) == LRU_OK) {
		char p[9];
		sid_prefix(sid, p);
		log_debug("session", "result=invalidated sid=%s version=%llu", p, (unsigned long long)version);
	}
}

static void store_to_l2(const uint8_t sid[SESSION_ID_LEN], const uint8_t *env, size_t len,
    uint64_t version);

static void
on_conflict_get(void *arg, int result, const uint8_t *val, size_t len)
{
	struct pending_store *ps = arg;
	char p[9];
	sid_prefix(ps->sid, p);
	if (result == L2_OK && len == ps->len && memcmp(val, ps->env, len) == 0) {
		/* Redis already holds exactly this write (another worker flushed it). */
		lru_mark_clean(S.l1, ps->sid, ps->version);
	} else if (result != L2_ERROR) {
		bump(&S.ctr->session_stores[SS_CONFLICT]);
		log_warn("session", "result=conflict sid=%s version=%llu note=\"another host stored this or a newer version; local copy dropped\"",
		    p, (unsigned long long)ps->version);
		lru_invalidate_older(S.l1, ps->sid, ps->version + 1);
	}
	free(ps);
}

static void
on_l2_stored(void *arg, int result)
{
	struct pending_store *ps = arg;
	if (result == L2_OK) {
		lru_mark_clean(S.l1, ps->sid, ps->version);
		free(ps);
	} else if (result == L2_CONFLICT && S.l2) {
		l2_get(S.l2, ps->sid, 0, on_conflict_get, ps);
	} else {
		/* Left dirty: the flush timer sends it when Redis is back. */
		bump(&S.ctr->redis_errors);
		free(ps);
	}
}

static void
store_to_l2(const uint8_t sid[SESSION_ID_LEN], const uint8_t *env, size_t len, uint64_t version)
{
	if (S.l2 == NULL)
		return;
	if (!l2_usable(S.l2)) {
		/* Not a failed command: nothing is sent. The flush sends it later. */
		bump(&S.ctr->session_stores[SS_SKIPPED_BREAKER]);
		return;
	}
	struct pending_store *ps = malloc(sizeof *ps + len);
	if (ps == NULL)
		return;
	memcpy(ps->sid, sid, SESSION_ID_LEN);
	ps->version = version;
	ps->len = len;
	memcpy(ps->env, env, len);
	l2_store(S.l2, sid, ps->env, len, version, S.cfg->ttl_ms, on_l2_stored, ps);
}

/* Tombstones in Redis; the L1 copy is marked clean once it is there. */
static void
delete_to_l2(const uint8_t sid[SESSION_ID_LEN])
{
	if (S.l2 == NULL || !l2_usable(S.l2))
		return;   /* the tombstone stays dirty in L1 for the flush */
	struct pending_store *ps = malloc(sizeof *ps);
	if (ps == NULL)
		return;
	memcpy(ps->sid, sid, SESSION_ID_LEN);
	ps->version = UINT64_MAX;
	ps->len = 0;
	l2_delete(S.l2, sid, S.cfg->ttl_ms, on_l2_stored, ps);
}

/*
 * Sends dirty L1 entries (any worker's) to Redis. A regular round takes one
 * batch and skips entries young enough that their writer's own store may
 * still be on its way. A full round (Redis just came back, or a drain)
 * takes every dirty entry up to FLUSH_FULL_MAX, whatever its age: a second
 * copy of a write is harmless, Redis's version check answers it as already
 * stored.
 */
static void
flush_round(bool full)
{
	if (S.l2 == NULL || !l2_usable(S.l2))
		return;
	uint8_t keys[FLUSH_BATCH][LRU_KEY_LEN];
	int64_t now = wall_ms();
	size_t sent = 0;
	do {
		size_t n = lru_dirty_scan(S.l1, &S.flush_cursor, keys, FLUSH_BATCH);
		for (size_t i = 0; i < n; i++) {
			size_t len;
			struct lru_meta meta;
			if (lru_get(S.l1, keys[i], now, 0, S.env, S.env_cap, &len, &meta) != LRU_OK ||
			    !meta.dirty)
				continue;
			sent++;
			if (l2_is_tombstone(S.env, len)) {
				delete_to_l2(keys[i]);
				continue;
			}
			struct envelope_meta em;
			if (!full && (envelope_decode(&S.keys, keys[i], S.env, len, &em, S.val,
			    S.cfg->max_value_bytes, &(size_t){0}) != ENV_OK ||
			    now - em.updated_ms < FLUSH_MIN_AGE_MS))
				continue;
			store_to_l2(keys[i], S.env, len, meta.version);
		}
	} while (full && S.flush_cursor != 0 && sent < FLUSH_FULL_MAX && l2_usable(S.l2));
}

static void
on_flush(struct ev_loop *loop, ev_timer *t, int revents)
{
	flush_round(false);
}

static void
on_flush_now(struct ev_loop *loop, ev_timer *t, int revents)
{
	flush_round(true);
}

static void
on_sweep(struct ev_loop *loop, ev_timer *t, int revents)
{
	lru_expire(S.l1, wall_ms(), SWEEP_WORK);
	/* lru.c repairs the tier when a process died holding its lock; it
	 * must not log, so the repair is reported here, once per worker. */
	struct lru_stats st;
	lru_get_stats(S.l1, &st);
	if (st.lock_recoveries > S.lock_recoveries_seen) {
		log_warn("session", "result=lock_recovered recoveries=%llu entries=%llu note=\"a process died holding the L1 lock; the tier was rebuilt\"",
		    (unsigned long long)st.lock_recoveries, (unsigned long long)st.entries);
		S.lock_recoveries_seen = st.lock_recoveries;
	}
}

/*------------------------------------------------------------ worker lifecycle */

int
session_worker_init(const struct config *cfg, struct shm_region *shm, struct worker_slot *slot,
    struct ev_loop *loop)
{
	memset(&S, 0, sizeof S);
	S.cfg = cfg;
	S.slot = slot;
	S.ctr = &slot->c;
	S.loop = loop;
	S.sb = shm->sb;
	atomic_store(&slot->redis_up, -1);
	if (!cfg->session_enabled)
		return 0;
	if (session_keys_init(&S.keys, cfg->secret_keys, shm->sb->session_secret) < 0) {
		log_error("session", "error=\"bad secret_keys\"");
		return -1;
	}
	S.l1 = lru_attach(shm->cache);
	S.env_cap = envelope_bound(cfg->max_value_bytes);
	S.env = malloc(S.env_cap);
	S.val = malloc(cfg->max_value_bytes ? cfg->max_value_bytes : 1);
	if (S.l1 == NULL || S.env == NULL || S.val == NULL)
		return -1;
	if (cfg->redis_url && *cfg->redis_url) {
		struct l2_config lc = {
			.url = cfg->redis_url, .key_prefix = cfg->key_prefix,
			.connect_timeout_ms = cfg->connect_timeout_ms,
			.command_timeout_ms = cfg->command_timeout_ms,
			.breaker_failures = cfg->breaker_failures,
			.breaker_window_ms = cfg->breaker_window_ms,
			.host_id = shm->sb->host_id,
		};
		struct l2_hooks hooks = { .arg = NULL, .invalidate = on_l2_invalidate, .state = on_l2_state,
			.server = on_l2_server };
		S.l2 = l2_new(loop, &lc, &hooks);
		if (S.l2 == NULL) {
			log_error("session", "error=\"bad [redis] url\"");
			return -1;
		}
		atomic_store(&slot->redis_up, 0);
		ev_timer_init(&S.flush, on_flush, FLUSH_SECONDS, FLUSH_SECONDS);
		ev_timer_start(loop, &S.flush);
		ev_timer_init(&S.flush_now, on_flush_now, 0.0, 0.0);
		ev_timer_init(&S.resync, on_resync, 0.0, RESYNC_SECONDS);
	}
	struct lru_stats st;
	lru_get_stats(S.l1, &st);
	S.lock_recoveries_seen = st.lock_recoveries;   /* only report what happens from now */
	ev_timer_init(&S.sweep, on_sweep, SWEEP_SECONDS, SWEEP_SECONDS);
	ev_timer_start(loop, &S.sweep);
	return 0;
}

/* Whether a worker other than this one is serving, or about to: it will flush what is left. */
static bool
others_stay(void)
{
	for (int i = 0; i < SHM_MAX_WORKERS; i++) {
		struct worker_slot *sl = &S.sb->slots[i];
		int st = atomic_load(&sl->state);
		if (sl != S.slot && (st == WS_READY || st == WS_STARTING))
			return true;
	}
	return false;
}

/*
 * A draining worker sends every dirty entry once; if it is among the last
 * (no worker stays to flush after it, as in a stop), it keeps at it, asking
 * Redis again every DRAIN_RETRY_MS through an open breaker, until nothing
 * is dirty or the worker's graceful bound ends the drain. What is still
 * dirty when the supervisor exits is counted there (lost_at_exit).
 */
static void
on_drain_poll(struct ev_loop *loop, ev_timer *t, int revents)
{
	if (l2_pending(S.l2) > 0)
		return;   /* a round is still out */
	bool alone = !others_stay();
	if ((S.drain_sent && !alone) || dirty_entries() == 0)
		goto done;
	if (l2_usable(S.l2)) {
		flush_round(true);
		S.drain_sent = true;
		return;
	}
	if (!alone)
		goto done;   /* Redis is down; the workers that stay flush it later */
	int64_t now = mono_ms();
	if (now - S.drain_retry_ms >= DRAIN_RETRY_MS) {
		S.drain_retry_ms = now;
		l2_retry_now(S.l2);
	}
	return;
done:
	ev_timer_stop(loop, t);
	S.drained();
}

void
session_worker_drain(void (*done)(void))
{
	if (S.l2 == NULL || S.l1 == NULL) {
		done();
		return;
	}
	S.drained = done;
	ev_timer_init(&S.drain_poll, on_drain_poll, 0.0, DRAIN_POLL_SECONDS);
	ev_timer_start(S.loop, &S.drain_poll);
}

void
session_worker_shutdown(void)
{
	if (S.l2) {
		l2_free(S.l2);
		S.l2 = NULL;
	}
}

/*------------------------------------------------------------ request path */

static void
log_lookup_at(struct request *req, int level, size_t bytes)
{
	char p[9];
	if (!log_enabled(level))
		return;
	sid_prefix(req->sess.sid, p);
	log_event(level, "session", "result=%s sid=%s version=%llu bytes=%zu",
	    sess_lookup_names[req->sess.result], p, (unsigned long long)req->sess.version, bytes);
}

/*
 * Counts the lookup. A miss is logged once the app's answer is known: at
 * info when it stores something, else at debug, so that pages which never
 * keep state (and the bots crawling them) do not fill the log.
 */
static void
log_lookup(struct request *req, size_t bytes)
{
	bump(&S.ctr->session_lookups[req->sess.result]);
	if (req->sess.result == SL_MISS)
		req->sess.miss_unlogged = true;
	else
		log_lookup_at(req, LOG_INFO, bytes);
}

static void
log_deferred_miss(struct request *req, bool stored)
{
	if (!req->sess.miss_unlogged)
		return;
	req->sess.miss_unlogged = false;
	log_lookup_at(req, stored ? LOG_INFO : LOG_DEBUG, 0);
}

static void
tampered(struct request *req, const char *what)
{
	bump(&S.ctr->session_tampered);
	char p[9];
	if (req->sess.have_sid)
		sid_prefix(req->sess.sid, p);
	else
		strcpy(p, "-");
	log_warn("session", "result=tampered sid=%s what=%s", p, what);
}

/*
 * An L1 hit on a clean entry written before Redis changed server (see
 * on_l2_server): Redis may no longer have it, so it is stored again, once
 * per worker and session (a small table remembers which were sent).
 */
#define RESENT_SLOTS 1024
static void
restore_if_lost(const uint8_t sid[SESSION_ID_LEN], const uint8_t *env, size_t len,
    const struct lru_meta *meta, int64_t updated_ms)
{
	static uint64_t resent[RESENT_SLOTS];
	static int64_t resent_for;
	int64_t lost = atomic_load(&S.sb->redis_lost_ms);
	if (lost == 0 || updated_ms >= lost || meta->dirty || S.l2 == NULL)
		return;
	if (resent_for != lost) {
		memset(resent, 0, sizeof resent);
		resent_for = lost;
	}
	uint64_t h;
	memcpy(&h, sid, sizeof h);
	h |= 1;
	if (resent[h % RESENT_SLOTS] == h)
		return;
	resent[h % RESENT_SLOTS] = h;
	store_to_l2(sid, env, len, meta->version);
}

/* A fresh id for a new visitor; its cookie is sent once something is stored. */
static void
new_visitor(struct request *req)
{
	req->sess.have_sid = false;
	if (sid_new(req->sess.sid) < 0) {
		req->sess.enabled = false;
		return;
	}
	req->sess.result = SL_MISS;
	req->sess.version = 0;
}

/* Decodes an envelope into req->sess; false when it does not verify. */
static bool
take_envelope(struct request *req, const uint8_t *env, size_t len, size_t *bytes,
    int64_t *updated_ms)
{
	struct envelope_meta em;
	size_t vlen;
	if (l2_is_tombstone(env, len))
		return false;
	int r = envelope_decode(&S.keys, req->sess.sid, env, len, &em, S.val, S.cfg->max_value_bytes, &vlen);
	if (r != ENV_OK) {
		tampered(req, r == ENV_OVERSIZE ? "envelope_oversize" : "envelope");
		return false;
	}
	req->sess.version = em.version;
	*updated_ms = em.updated_ms;
	req->sess.data_b64 = b64_encode(S.val, vlen);
	*bytes = vlen;
	return req->sess.data_b64 != NULL;
}

static void
on_l2_lookup(void *arg, int result, const uint8_t *val, size_t len)
{
	struct pending_lookup *pl = arg;
	struct request *req = pl->req;
	free(pl);
	if (req == NULL)
		return;   /* the request went away while Redis answered */
	req->sess.pending = false;
	req->sess.lookup = NULL;
	size_t bytes = 0;
	if (result == L2_OK && l2_is_tombstone(val, len)) {
		/* Deleted: keep the tombstone here too, and start someone new. */
		struct lru_meta m = { .version = UINT64_MAX, .expires_ms = wall_ms() + S.cfg->ttl_ms };
		lru_put(S.l1, req->sess.sid, val, len, &m);
		new_visitor(req);
	} else if (result == L2_OK) {
		if (take_envelope(req, val, len, &bytes, &(int64_t){0})) {
			req->sess.result = SL_REBUILD;
			/* Promote: later requests on this host are hits. */
			struct lru_meta m = { .version = req->sess.version,
				.expires_ms = wall_ms() + S.cfg->ttl_ms, .dirty = false };
			lru_put(S.l1, req->sess.sid, val, len, &m);
		} else {
			new_visitor(req);
		}
	} else if (result == L2_NOTFOUND) {
		req->sess.result = SL_MISS;
		req->sess.version = 0;
	} else {
		/* Timed out or failed: the state may well exist. */
		bump(&S.ctr->redis_errors);
		req->sess.result = SL_UNAVAILABLE;
		req->sess.version = 0;
	}
	log_lookup(req, bytes);
	req->sess.cont(req);
}

void
session_begin(struct request *req, void (*cont)(struct request *))
{
	struct session_req *s = &req->sess;
	s->cont = cont;
	s->enabled = S.cfg != NULL && S.cfg->session_enabled && S.l1 != NULL;
	if (!s->enabled) {
		cont(req);
		return;
	}
	const struct header *ch = req_header(req, "Cookie");
	size_t vlen = 0;
	const char *v = NULL;
	/* Several Cookie headers are allowed in HTTP/1.1 bodies of old clients. */
	for (size_t i = 0; i < req->nhdr && v == NULL; i++) {
		const struct header *h = &req->hdr[i];
		if (str_case_eq(h->name, h->nlen, "Cookie"))
			v = cookie_find(h->value, h->vlen, S.cfg->cookie_name, &vlen);
	}
	(void)ch;
	size_t key;
	if (v && cookie_verify_key(&S.keys, v, vlen, s->sid, &key) == 0) {
		s->have_sid = true;
		s->resign = key > 0;   /* an older key verified it: re-issue under the current one */
	} else {
		if (v)
			tampered(req, "cookie");
		new_visitor(req);
		if (s->enabled)
			log_lookup(req, 0);
		cont(req);
		return;
	}
	size_t len;
	struct lru_meta meta;
	int r = lru_get(S.l1, s->sid, wall_ms(), S.cfg->ttl_ms, S.env, S.env_cap, &len, &meta);
	if (r == LRU_OK) {
		size_t bytes = 0;
		int64_t updated;
		if (l2_is_tombstone(S.env, len)) {
			new_visitor(req);   /* deleted: the id is never adopted again */
		} else if (take_envelope(req, S.env, len, &bytes, &updated)) {
			s->result = SL_HIT;
			restore_if_lost(s->sid, S.env, len, &meta, updated);
		} else {
			lru_delete(S.l1, s->sid);
			new_visitor(req);
		}
		log_lookup(req, bytes);
		cont(req);
		return;
	}
	if (S.l2 && l2_usable(S.l2)) {
		struct pending_lookup *pl = malloc(sizeof *pl);
		if (pl) {
			pl->req = req;
			s->pending = true;
			s->lookup = pl;
			l2_get(S.l2, s->sid, S.cfg->ttl_ms, on_l2_lookup, pl);
			return;
		}
	}
	/* Without Redis, L1 is the whole truth; with it, a Redis that cannot
	 * be asked leaves the answer unknown. */
	s->result = S.l2 != NULL ? SL_UNAVAILABLE : SL_MISS;
	s->version = 0;
	log_lookup(req, 0);
	cont(req);
}

int
session_add_vars(struct request *req, struct varlist *v)
{
	struct session_req *s = &req->sess;
	if (!s->enabled)
		return 0;
	char hex[SID_HEX_LEN + 1], ver[24];
	sid_hex(s->sid, hex);
	snprintf(ver, sizeof ver, "%llu", (unsigned long long)s->version);
	int rc = varlist_add(v, "DROVER_SESSION_ID", hex, SID_HEX_LEN);
	rc |= varlist_add(v, "DROVER_SESSION_STATUS", sess_lookup_names[s->result],
	    strlen(sess_lookup_names[s->result]));
	rc |= varlist_add(v, "DROVER_SESSION_VERSION", ver, strlen(ver));
	if (s->data_b64)
		rc |= varlist_add(v, "DROVER_SESSION_DATA", s->data_b64, strlen(s->data_b64));
	return rc;
}

bool
session_app_header(struct request *req, const struct header *h)
{
	if (h->nlen < 14 || strncasecmp(h->name, "Drover-Session", 14) != 0)
		return false;
	struct session_req *s = &req->sess;
	if (h->nlen == 14) {
		free(s->store_b64);
		s->store_b64 = strndup(h->value, h->vlen);
		s->store_len = h->vlen;
	} else if (str_case_eq(h->name, h->nlen, "Drover-Session-Delete")) {
		s->want_delete = h->vlen > 0 && h->value[0] != '0';
	} else if (str_case_eq(h->name, h->nlen, "Drover-Session-Renew")) {
		s->want_renew = h->vlen > 0 && h->value[0] != '0';
	} else if (str_case_eq(h->name, h->nlen, "Drover-Session-Force")) {
		s->want_force = h->vlen > 0 && h->value[0] != '0';
	}
	return true;   /* every Drover-Session* header stays inside drover */
}

static void
append_cookie(struct request *req, struct buf *extra, bool expire)
{
	const struct config *cfg = S.cfg;
	/* Browsers refuse SameSite=None without Secure (config refuses secure=false with it). */
	bool secure = cfg->cookie_secure == COOKIE_SECURE_ON ||
	    strcasecmp(cfg->cookie_samesite, "None") == 0 ||
	    (cfg->cookie_secure == COOKIE_SECURE_AUTO && req->client.https);
	char value[COOKIE_VALUE_LEN + 1];
	if (expire)
		strcpy(value, "deleted");
	else
		cookie_sign(&S.keys, req->sess.sid, value);
	buf_printf(extra, "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=%s%s%s\r\n", cfg->cookie_name,
	    value, cfg->cookie_samesite, secure ? "; Secure" : "",
	    expire ? "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT" : "");
}

/* Stores value bytes as the next version of req's session; true when L1 took it. */
static bool
store(struct request *req, const uint8_t *val, size_t vlen)
{
	struct session_req *s = &req->sess;
	char p[9];
	sid_prefix(s->sid, p);
	int64_t now = wall_ms();
	struct envelope_meta em = { .version = s->version + 1, .created_ms = now, .updated_ms = now };
	ssize_t len = envelope_encode(&S.keys, s->sid, &em, val, vlen, S.cfg->compress_min_bytes,
	    S.env, S.env_cap);
	if (len < 0) {
		bump(&S.ctr->session_stores[SS_ERROR]);
		log_error("session", "result=store sid=%s error=encode", p);
		return false;
	}
	struct lru_meta m = { .version = em.version, .expires_ms = now + S.cfg->ttl_ms,
		.dirty = S.l2 != NULL };
	int r = lru_put(S.l1, s->sid, S.env, (size_t)len, &m);
	if (r == LRU_STALE) {
		/* Another request on this host stored a newer version meanwhile. */
		bump(&S.ctr->session_stores[SS_CONFLICT]);
		log_warn("session", "result=conflict sid=%s version=%llu note=\"a newer version is already stored on this host\"",
		    p, (unsigned long long)em.version);
		return false;
	}
	if (r != LRU_OK) {
		bump(&S.ctr->session_stores[SS_ERROR]);
		log_error("session", "result=store sid=%s error=l1_full bytes=%zu", p, vlen);
		return false;
	}
	bump(&S.ctr->session_stores[SS_OK]);
	if (vlen > S.cfg->warn_value_bytes)
		log_warn("session", "result=store sid=%s version=%llu bytes=%zu note=\"over warn_value_bytes\"",
		    p, (unsigned long long)em.version, vlen);
	else
		log_info("session", "result=store sid=%s version=%llu bytes=%zu", p,
		    (unsigned long long)em.version, vlen);
	s->version = em.version;
	store_to_l2(s->sid, S.env, (size_t)len, em.version);
	return true;
}

/*
 * A deleted session leaves a tombstone in both tiers until its TTL, so a
 * replayed cookie is a new visitor and never adopts the id again. The L1
 * tombstone stays dirty until Redis has its own (the flush resends it).
 */
static void
delete_session(const uint8_t sid[SESSION_ID_LEN])
{
	struct lru_meta m = { .version = UINT64_MAX, .expires_ms = wall_ms() + S.cfg->ttl_ms,
		.dirty = S.l2 != NULL };
	if (lru_put(S.l1, sid, l2_tombstone, sizeof l2_tombstone, &m) != LRU_OK)
		lru_delete(S.l1, sid);
	delete_to_l2(sid);
}

void
session_after_app_head(struct request *req, struct buf *extra)
{
	struct session_req *s = &req->sess;
	if (!s->enabled)
		return;
	char p[9];
	sid_prefix(s->sid, p);
	if (s->want_delete) {
		delete_session(s->sid);
		bump(&S.ctr->session_deletes);
		log_info("session", "result=delete sid=%s", p);
		append_cookie(req, extra, true);
		return;
	}
	const uint8_t *val = NULL;
	long vlen = -1;
	if (s->store_b64) {
		vlen = b64_decode(s->store_b64, s->store_len, S.val, S.cfg->max_value_bytes);
		if (vlen == -2) {
			bump(&S.ctr->session_stores[SS_OVERSIZE]);
			log_warn("session", "result=oversize sid=%s bytes=%zu max_value_bytes=%zu", p,
			    s->store_len / 4 * 3, S.cfg->max_value_bytes);
		} else if (vlen < 0) {
			bump(&S.ctr->session_stores[SS_ERROR]);
			log_warn("session", "result=store sid=%s error=bad_base64", p);
		} else {
			val = S.val;
		}
	}
	if (s->want_renew) {
		/* Login: the state moves to an id the visitor never had before. */
		if (val == NULL && s->data_b64) {
			vlen = b64_decode(s->data_b64, strlen(s->data_b64), S.val, S.cfg->max_value_bytes);
			val = vlen >= 0 ? S.val : NULL;
		}
		uint8_t old[SESSION_ID_LEN];
		memcpy(old, s->sid, sizeof old);
		if (sid_new(s->sid) == 0) {
			if (s->have_sid)
				delete_session(old);
			char np[9];
			sid_prefix(s->sid, np);
			log_info("session", "result=renew sid=%s from=%s", np, p);
			s->set_cookie = true;
		}
	}
	if (val && s->result == SL_UNAVAILABLE && !s->want_force) {
		/* The app never saw the state this would replace. */
		bump(&S.ctr->session_stores[SS_UNAVAILABLE]);
		log_warn("session", "result=refused sid=%s reason=unavailable note=\"the lookup could not reach Redis; send Drover-Session-Force: 1 to store anyway\"", p);
		val = NULL;
	}
	bool stored = val != NULL && store(req, val, (size_t)vlen);
	if (stored && !s->have_sid)
		s->set_cookie = true;
	if (s->resign && s->have_sid && (stored || s->result == SL_HIT || s->result == SL_REBUILD))
		s->set_cookie = true;
	log_deferred_miss(req, stored);
	if (s->set_cookie)
		append_cookie(req, extra, false);
}

void
session_req_end(struct request *req)
{
	struct session_req *s = &req->sess;
	if (s->enabled)
		log_deferred_miss(req, false);
	if (s->lookup)
		((struct pending_lookup *)s->lookup)->req = NULL;
	s->lookup = NULL;
	free(s->data_b64);
	free(s->store_b64);
	s->data_b64 = s->store_b64 = NULL;
}
