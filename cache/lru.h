/*
 * lru: the L1 session tier, a fixed-size LRU hash table living in shared
 * memory that every worker on the host maps.
 *
 * Owns the layout of its region (entries linked by index, never by pointer),
 * its robust process-shared mutex, TTL expiry and the max_entries/max_bytes
 * bounds. Values are opaque bytes (drover stores session envelopes). It must
 * not log, allocate from the heap or make system calls on a hit: callers log
 * and count. Every operation does bounded work.
 */
#ifndef DROVER_LRU_H
#define DROVER_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LRU_KEY_LEN 16

struct lru;

enum lru_result {
	LRU_OK = 0,
	LRU_NOTFOUND = -1,
	LRU_TOOBIG = -2,      /* value larger than the whole tier or the caller's buffer */
	LRU_STALE = -3,       /* lru_put with a version older than the stored one */
	LRU_FULL = -4,        /* lru_put: only dirty entries could make room; nothing changed */
};

struct lru_meta {
	uint64_t version;
	int64_t expires_ms;   /* monotonic or realtime: the caller's clock, used consistently */
	bool dirty;           /* written locally, not yet acknowledged by L2 */
};

struct lru_stats {
	uint64_t entries, bytes, dirty;
	uint64_t evictions_lru, evictions_ttl;
	uint64_t refused;          /* lru_put answered LRU_FULL */
	uint64_t lock_recoveries;  /* a holder died with the lock: the tier was checked/reset */
	uint64_t max_entries, max_bytes;
};

/* Bytes of shared memory needed for these bounds. */
size_t lru_region_size(uint64_t max_entries, uint64_t max_bytes);
/* Formats mem (supervisor, once, before fork). */
int lru_init(void *mem, size_t size, uint64_t max_entries, uint64_t max_bytes);
/* Returns a handle on an initialised region (each process, after fork). */
struct lru *lru_attach(void *mem);

/*
 * Copies the value for key into buf (cap bytes) and its meta into meta.
 * An entry past its expiry is removed and reported as not found. With
 * ttl_ms > 0 this is a use: the entry moves to the head (a second use
 * protects it from keys seen only once) and gets expires_ms = now_ms +
 * ttl_ms. With ttl_ms <= 0 it is a peek (a flush reading a dirty entry):
 * neither its place nor its deadline changes.
 */
int lru_get(struct lru *l, const uint8_t key[LRU_KEY_LEN], int64_t now_ms, int64_t ttl_ms,
    void *buf, size_t cap, size_t *len, struct lru_meta *meta);
/*
 * Inserts or replaces; evicts the least recently used clean entries to fit,
 * keys seen once before keys used again (a replacement counts as a use).
 * A dirty entry is never evicted: when only dirty ones could make room the
 * write is refused (LRU_FULL, counted in refused). A writer killed inside
 * leaves the previous value or the new one, never neither.
 */
int lru_put(struct lru *l, const uint8_t key[LRU_KEY_LEN], const void *val, size_t len,
    const struct lru_meta *meta);
int lru_delete(struct lru *l, const uint8_t key[LRU_KEY_LEN]);
/* Clears the dirty flag if the stored version is still `version`. */
int lru_mark_clean(struct lru *l, const uint8_t key[LRU_KEY_LEN], uint64_t version);
/* Drops the entry if its stored version is older than `version` (remote invalidation). */
int lru_invalidate_older(struct lru *l, const uint8_t key[LRU_KEY_LEN], uint64_t version);
/*
 * Finds up to max dirty entries, starting after *cursor (0 to begin), for a
 * flush to L2. Keys go to keys[i]; returns how many; *cursor advances.
 */
size_t lru_dirty_scan(struct lru *l, uint64_t *cursor, uint8_t (*keys)[LRU_KEY_LEN], size_t max);
/*
 * Marks up to max live, unexpired, clean entries dirty, starting at *cursor
 * (0 to begin) and inspecting a bounded number of slots per call, so the
 * ordinary flush sends them to L2 again; returns how many. A pass is over
 * when *cursor comes back as 0. For an L2 that lost its data.
 */
size_t lru_mark_dirty_scan(struct lru *l, uint64_t *cursor, int64_t now_ms, size_t max);
/* Removes up to max_work expired entries; returns how many. */
size_t lru_expire(struct lru *l, int64_t now_ms, size_t max_work);
/* Empties the tier (tests, and the recovery path when a dead holder left it inconsistent). */
void lru_clear(struct lru *l);
/*
 * The figures, read without the lock: each is whole, and they may be a
 * moment apart from each other. Safe to call while a holder is stopped.
 */
void lru_get_stats(struct lru *l, struct lru_stats *st);
/*
 * Who holds the tier lock, without taking it: 0 when free, else a word for
 * this hold, with the holder's pid in *pid. The same word seen again later
 * is the same hold, so a caller polling it times the hold itself. A word
 * can outlive its hold for a moment after the release, and one left by a
 * holder that died stays until the next locker: check the pid is a live
 * process of yours that existed when the word was first seen.
 */
uint64_t lru_lock_holder(struct lru *l, pid_t *pid);

#endif
