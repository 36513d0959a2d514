/*
 * l2: the Redis tier of the session cache, on a worker's libev loop with
 * hiredis 0.14's async API.
 *
 * Owns the connections (one for commands, one subscribed to invalidations),
 * connect and command timeouts (ev_timer: hiredis 0.14 has none), reconnects
 * with jittered backoff, the circuit breaker, the compare-and-set store
 * script and the invalidation channel. Values are opaque envelopes whose
 * version sits big-endian at bytes 8..15. It must never make a caller wait:
 * with the breaker open or no connection, calls fail at once.
 * It logs only its own state changes (event=redis).
 */
#ifndef DROVER_L2_H
#define DROVER_L2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct l2;

enum l2_result {
	L2_OK = 0,
	L2_NOTFOUND = 1,
	L2_CONFLICT = 2,     /* store: Redis holds this version or a newer one */
	L2_ERROR = -1,       /* error, timeout, breaker open, not connected, shutting down */
};

struct l2_config {
	const char *url;              /* redis://[:password@]host:port[/db] or unix:/path */
	const char *key_prefix;       /* keys: <prefix>s:<32 hex>, channel: <prefix>invalidate */
	int64_t connect_timeout_ms, command_timeout_ms;
	int breaker_failures;
	int64_t breaker_window_ms;
	uint64_t host_id;             /* tags this host's invalidation messages */
};

struct l2_hooks {
	void *arg;
	/* Another host stored `version` of sid: drop any older local copy. */
	void (*invalidate)(void *arg, const uint8_t sid[16], uint64_t version);
	/* Connection state changed; up is false while down or the breaker is open. */
	void (*state)(void *arg, bool up, bool breaker_open);
	/*
	 * Each (re)connection, before state reports it up: the server's
	 * run_id (INFO server). A run_id that changes means another server
	 * process, which may have started without the data.
	 */
	void (*server)(void *arg, const char run_id[]);
};

#define L2_RUN_ID_LEN 40

/*
 * The callback contract, kept on every path (sent, refused at once, timed
 * out, connection lost, l2_free):
 * - a non-NULL callback runs exactly once, possibly before the call returns;
 * - a NULL l2_done_cb means fire-and-forget: the command is sent when it
 *   can be and its outcome is dropped, and nothing is ever called;
 * - l2_get needs a callback (a lookup nobody reads is pointless), but a
 *   NULL one is treated as fire-and-forget as well rather than called.
 */
typedef void (*l2_get_cb)(void *arg, int result, const uint8_t *val, size_t len);
typedef void (*l2_done_cb)(void *arg, int result);

/* Parses the URL and starts connecting; returns NULL on a bad URL. */
struct l2 *l2_new(struct ev_loop *loop, const struct l2_config *cfg, const struct l2_hooks *hooks);
/* Fails every pending callback with L2_ERROR and frees everything. */
void l2_free(struct l2 *l);
bool l2_usable(const struct l2 *l);
/* Number of commands sent and not yet answered or timed out. */
size_t l2_pending(const struct l2 *l);

/* GET and refresh the TTL (GETEX PX ttl_ms). cb may run before this returns. */
void l2_get(struct l2 *l, const uint8_t sid[16], int64_t ttl_ms, l2_get_cb cb, void *arg);
/*
 * Stores val (an envelope carrying `version`) if Redis holds no value or one
 * with an older version, sets the TTL and publishes an invalidation, in one
 * atomic script. L2_CONFLICT when Redis already has version >= this one.
 */
void l2_store(struct l2 *l, const uint8_t sid[16], const uint8_t *val, size_t len,
    uint64_t version, int64_t ttl_ms, l2_done_cb cb, void *arg);
/*
 * Replaces the value with a tombstone for ttl_ms (0: no expiry) and
 * publishes an invalidation (version UINT64_MAX: drop any copy). The
 * tombstone's version field is all ones, so no store can replace it: a
 * deleted id is never adopted again, by this host or another.
 */
void l2_delete(struct l2 *l, const uint8_t sid[16], int64_t ttl_ms, l2_done_cb cb, void *arg);

/*
 * A tombstone: what a get returns (L2_OK) for a deleted session, and what
 * a tier that mirrors Redis keeps in its place. Not an envelope (its first
 * byte is no envelope format) but laid out like one where the version is.
 */
#define L2_TOMBSTONE_LEN 16
extern const uint8_t l2_tombstone[L2_TOMBSTONE_LEN];
bool l2_is_tombstone(const uint8_t *val, size_t len);

/*
 * For a caller that cannot wait (a draining worker with writes Redis has
 * not acknowledged): an open breaker goes half-open and probes now, a
 * reconnect waiting out its backoff starts now. The state hook reports
 * the outcome. Calling it often is the caller's choice; each call costs at
 * most one PING or one connect.
 */
void l2_retry_now(struct l2 *l);

/* True while the invalidation subscription is confirmed. */
bool l2_subscribed(const struct l2 *l);

/*
 * Notes on behaviour:
 * - Every call fails at once, with its callback run before the call returns,
 *   when l2_usable() is false (no connection, breaker open or half-open).
 * - A get's val points into the reply and is valid only during the callback.
 * - Each callback runs exactly once, also when a command times out
 *   (command_timeout_ms: every pending command fails and the connection is
 *   replaced) and from l2_free. Callbacks and hooks may call l2_free.
 * - invalidate with an all-zero sid and version 0 means "invalidations may
 *   have been missed": sent after the subscription is re-established (not on
 *   the first one), since Redis pub/sub delivers at most once.
 * - Redis traffic is cleartext (hiredis 0.14 has no TLS): keep a remote
 *   Redis on a private network or behind a TLS tunnel.
 */

#endif
