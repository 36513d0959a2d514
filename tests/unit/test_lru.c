/*
 * test_lru: the L1 session tier (cache/lru.c) in a shared anonymous mapping,
 * with forked processes for the concurrency and dead-holder cases. Kills only
 * the children it forks, by pid.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/mman.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache/lru.h"

/* test hooks in cache/lru.c (lru_test_step: test builds only) */
extern int lru_debug_lock(struct lru *);
extern void lru_debug_unlock(struct lru *);
extern void (*lru_test_step)(void);

#define NEVER	INT64_MAX

static void	*region;
static size_t	 region_len;

static struct lru *
make_tier(uint64_t max_entries, uint64_t max_bytes)
{
	struct lru	*l;

	region_len = lru_region_size(max_entries, max_bytes);
	ck_assert_uint_gt(region_len, 0);
	region = mmap(NULL, region_len, PROT_READ|PROT_WRITE,
	    MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(region, MAP_FAILED);
	ck_assert_int_eq(lru_init(region, region_len, max_entries, max_bytes), 0);
	l = lru_attach(region);
	ck_assert_ptr_nonnull(l);
	return (l);
}

static void
teardown(void)
{
	if (region != NULL && region != MAP_FAILED)
		munmap(region, region_len);
	region = NULL;
}

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

/* Key n of a test universe: looks random, like a real session id. */
static void
key_of(uint64_t n, uint8_t key[LRU_KEY_LEN])
{
	uint64_t	s = n, a = splitmix(&s), b = splitmix(&s);

	memcpy(key, &a, 8);
	memcpy(key + 8, &b, 8);
}

/* Value for (key n, version): length and bytes both depend on both. */
static size_t
val_len(uint64_t n, uint64_t version, size_t maxlen)
{
	return ((size_t)((n * 13 + version * 17) % (maxlen + 1)));
}

static void
val_fill(uint64_t n, uint64_t version, uint8_t *buf, size_t len)
{
	size_t	j;

	for (j = 0; j < len; j++)
		buf[j] = (uint8_t)(n * 31 + version * 7 + j);
}

/* maxlen 0: the length was the caller's choice, check the bytes only. */
static int
val_ok(uint64_t n, uint64_t version, const uint8_t *buf, size_t len, size_t maxlen)
{
	size_t	j;

	if (maxlen != 0 && len != val_len(n, version, maxlen))
		return (0);
	for (j = 0; j < len; j++)
		if (buf[j] != (uint8_t)(n * 31 + version * 7 + j))
			return (0);
	return (1);
}

static int
put_n(struct lru *l, uint64_t n, size_t len, uint64_t version, int64_t expires, bool dirty)
{
	uint8_t			key[LRU_KEY_LEN], buf[8192];
	struct lru_meta		m = { version, expires, dirty };

	/* no Check calls here: forked children use it, and they share Check's channel */
	if (len > sizeof(buf))
		abort();
	key_of(n, key);
	val_fill(n, version, buf, len);
	return (lru_put(l, key, buf, len, &m));
}

static int
get_n(struct lru *l, uint64_t n, int64_t now, int64_t ttl, struct lru_meta *m, size_t *len)
{
	uint8_t			key[LRU_KEY_LEN], buf[8192];
	struct lru_meta		mm;
	size_t			ll;

	key_of(n, key);
	return (lru_get(l, key, now, ttl, buf, sizeof(buf), len ? len : &ll,
	    m ? m : &mm));
}

/*
 * Walks a key universe and checks the tier's counters agree with what can be
 * read back, and that every value read back is intact.
 */
static void
check_consistent(struct lru *l, uint64_t nkeys, size_t maxlen)
{
	struct lru_stats	st;
	struct lru_meta		m;
	uint8_t			key[LRU_KEY_LEN], buf[8192];
	uint64_t		n, count = 0, bytes = 0;
	size_t			len;
	int			rc;

	for (n = 0; n < nkeys; n++) {
		key_of(n, key);
		rc = lru_get(l, key, 0, 0, buf, sizeof(buf), &len, &m);
		if (rc == LRU_NOTFOUND)
			continue;
		ck_assert_int_eq(rc, LRU_OK);
		ck_assert_msg(val_ok(n, m.version, buf, len, maxlen),
		    "key %llu version %llu corrupt", (unsigned long long)n,
		    (unsigned long long)m.version);
		count++;
		bytes += len;
	}
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.entries, count);
	ck_assert_uint_eq(st.bytes, bytes);
	ck_assert_uint_le(st.entries, st.max_entries);
	ck_assert_uint_le(st.bytes, st.max_bytes);
}

START_TEST(test_round_trip)
{
	struct lru		*l = make_tier(16, 16384);
	struct lru_meta		 m = { 3, NEVER, true }, out;
	struct lru_stats	 st;
	uint8_t			 key[LRU_KEY_LEN], other[LRU_KEY_LEN], big[1000], buf[1024];
	size_t			 len;
	size_t			 i;

	key_of(1, key);
	key_of(2, other);
	ck_assert_int_eq(lru_put(l, key, "hello", 5, &m), LRU_OK);
	ck_assert_int_eq(lru_get(l, key, 0, 0, buf, sizeof(buf), &len, &out), LRU_OK);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(buf, "hello", 5);
	ck_assert_uint_eq(out.version, 3);
	ck_assert(out.dirty);
	ck_assert_int_eq(lru_get(l, other, 0, 0, buf, sizeof(buf), &len, &out), LRU_NOTFOUND);

	/* a value spanning several blocks, and an empty one */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	m.dirty = false;
	ck_assert_int_eq(lru_put(l, other, big, sizeof(big), &m), LRU_OK);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(lru_get(l, other, 0, 0, buf, sizeof(buf), &len, &out), LRU_OK);
	ck_assert_uint_eq(len, sizeof(big));
	ck_assert_mem_eq(buf, big, sizeof(big));
	ck_assert(!out.dirty);
	key_of(3, key);
	ck_assert_int_eq(lru_put(l, key, NULL, 0, &m), LRU_OK);
	ck_assert_int_eq(lru_get(l, key, 0, 0, NULL, 0, &len, &out), LRU_OK);
	ck_assert_uint_eq(len, 0);

	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.entries, 3);
	ck_assert_uint_eq(st.bytes, 5 + sizeof(big));
	ck_assert_uint_eq(st.max_entries, 16);
	ck_assert_uint_eq(st.max_bytes, 16384);
}
END_TEST

START_TEST(test_lru_order)
{
	struct lru		*l = make_tier(4, 65536);
	struct lru_stats	 st;
	uint64_t		 n;

	for (n = 0; n < 4; n++)
		ck_assert_int_eq(put_n(l, n, 10, 1, NEVER, false), LRU_OK);
	/* a use (ttl > 0) moves 0 up; a peek (ttl 0) leaves 1 where it is */
	ck_assert_int_eq(get_n(l, 0, 0, 1000, NULL, NULL), LRU_OK);
	ck_assert_int_eq(get_n(l, 1, 0, 0, NULL, NULL), LRU_OK);
	ck_assert_int_eq(put_n(l, 4, 10, 1, NEVER, false), LRU_OK);
	ck_assert_int_eq(get_n(l, 1, 0, 0, NULL, NULL), LRU_NOTFOUND);
	for (n = 0; n < 5; n++)
		if (n != 1)
			ck_assert_int_eq(get_n(l, n, 0, 0, NULL, NULL), LRU_OK);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.entries, 4);
	ck_assert_uint_eq(st.evictions_lru, 1);
	ck_assert_uint_eq(st.evictions_ttl, 0);
}
END_TEST

START_TEST(test_bytes_bound)
{
	struct lru		*l = make_tier(100, 4096);
	struct lru_stats	 st;
	uint64_t		 n;

	for (n = 0; n < 4; n++)
		ck_assert_int_eq(put_n(l, n, 1000, 1, NEVER, false), LRU_OK);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.bytes, 4000);
	ck_assert_uint_eq(st.evictions_lru, 0);
	ck_assert_int_eq(put_n(l, 4, 1000, 1, NEVER, false), LRU_OK);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.evictions_lru, 1);
	ck_assert_uint_eq(st.entries, 4);
	ck_assert_uint_eq(st.bytes, 4000);
	ck_assert_int_eq(get_n(l, 0, 0, 0, NULL, NULL), LRU_NOTFOUND);
	/* one big value pushes out several small ones */
	ck_assert_int_eq(put_n(l, 5, 3000, 1, NEVER, false), LRU_OK);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.evictions_lru, 4);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_uint_le(st.bytes, 4096);
	ck_assert_int_eq(get_n(l, 4, 0, 0, NULL, NULL), LRU_OK);
	ck_assert_int_eq(get_n(l, 5, 0, 0, NULL, NULL), LRU_OK);
}
END_TEST

START_TEST(test_toobig_store)
{
	struct lru		*l = make_tier(8, 1000);
	struct lru_stats	 st;

	ck_assert_int_eq(put_n(l, 0, 100, 1, NEVER, false), LRU_OK);
	/* 1010 would fit the 4 blocks behind 1000 bytes, but not the bound */
	ck_assert_int_eq(put_n(l, 1, 1001, 1, NEVER, false), LRU_TOOBIG);
	ck_assert_int_eq(put_n(l, 2, 5000, 1, NEVER, false), LRU_TOOBIG);
	/* a refused value leaves the tier alone */
	ck_assert_int_eq(get_n(l, 0, 0, 0, NULL, NULL), LRU_OK);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.evictions_lru, 0);
	ck_assert_int_eq(put_n(l, 3, 1000, 1, NEVER, false), LRU_OK);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.entries, 1);
	ck_assert_uint_eq(st.bytes, 1000);
}
END_TEST

START_TEST(test_toobig_cap)
{
	struct lru	*l = make_tier(8, 8192);
	struct lru_meta	 m;
	uint8_t		 key[LRU_KEY_LEN], buf[500];
	size_t		 len = 0;

	ck_assert_int_eq(put_n(l, 7, 500, 2, NEVER, false), LRU_OK);
	key_of(7, key);
	ck_assert_int_eq(lru_get(l, key, 0, 0, buf, 100, &len, &m), LRU_TOOBIG);
	ck_assert_uint_eq(len, 500);
	ck_assert_int_eq(lru_get(l, key, 0, 0, buf, len, &len, &m), LRU_OK);
	ck_assert_uint_eq(len, 500);
	ck_assert_uint_eq(buf[0], (uint8_t)(7 * 31 + 2 * 7));
	ck_assert_uint_eq(buf[499], (uint8_t)(7 * 31 + 2 * 7 + 499));
}
END_TEST

START_TEST(test_ttl_get)
{
	struct lru		*l = make_tier(8, 8192);
	struct lru_meta		 m;
	struct lru_stats	 st;

	ck_assert_int_eq(put_n(l, 1, 10, 1, 1000, false), LRU_OK);
	/* ttl_ms <= 0 leaves the deadline alone */
	ck_assert_int_eq(get_n(l, 1, 999, 0, &m, NULL), LRU_OK);
	ck_assert_int_eq(m.expires_ms, 1000);
	ck_assert_int_eq(get_n(l, 1, 1000, 0, &m, NULL), LRU_NOTFOUND);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.evictions_ttl, 1);
	ck_assert_uint_eq(st.entries, 0);
	ck_assert_uint_eq(st.bytes, 0);

	/* a hit pushes the deadline out */
	ck_assert_int_eq(put_n(l, 2, 10, 1, 1000, false), LRU_OK);
	ck_assert_int_eq(get_n(l, 2, 500, 1000, &m, NULL), LRU_OK);
	ck_assert_int_eq(m.expires_ms, 1500);
	ck_assert_int_eq(get_n(l, 2, 1400, 1000, &m, NULL), LRU_OK);
	ck_assert_int_eq(get_n(l, 2, 2399, 0, &m, NULL), LRU_OK);
	ck_assert_int_eq(get_n(l, 2, 2400, 0, &m, NULL), LRU_NOTFOUND);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.evictions_ttl, 2);
	ck_assert_uint_eq(st.evictions_lru, 0);
}
END_TEST

START_TEST(test_ttl_expire)
{
	struct lru		*l = make_tier(64, 65536);
	struct lru_stats	 st;
	uint64_t		 n;

	for (n = 0; n < 10; n++)
		ck_assert_int_eq(put_n(l, n, 20, 1, 100 + n, false), LRU_OK);
	for (n = 10; n < 15; n++)
		ck_assert_int_eq(put_n(l, n, 20, 1, 10000, false), LRU_OK);
	ck_assert_uint_eq(lru_expire(l, 5000, 3), 3);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.entries, 12);
	ck_assert_uint_eq(lru_expire(l, 5000, 100), 7);
	ck_assert_uint_eq(lru_expire(l, 5000, 100), 0);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.entries, 5);
	ck_assert_uint_eq(st.bytes, 100);
	ck_assert_uint_eq(st.evictions_ttl, 10);
	ck_assert_uint_eq(st.evictions_lru, 0);
	for (n = 10; n < 15; n++)
		ck_assert_int_eq(get_n(l, n, 5000, 0, NULL, NULL), LRU_OK);

	/* an expired entry near the head, behind a live tail, is still found */
	ck_assert_int_eq(put_n(l, 20, 20, 1, 6000, false), LRU_OK);
	ck_assert_int_eq(get_n(l, 20, 5000, 0, NULL, NULL), LRU_OK);
	ck_assert_uint_eq(lru_expire(l, 7000, 100), 1);
	ck_assert_int_eq(get_n(l, 20, 5000, 0, NULL, NULL), LRU_NOTFOUND);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.evictions_ttl, 11);
	ck_assert_uint_eq(st.entries, 5);
}
END_TEST

START_TEST(test_stale)
{
	struct lru	*l = make_tier(8, 8192);
	struct lru_meta	 m;
	size_t		 len;

	ck_assert_int_eq(put_n(l, 1, 50, 5, NEVER, false), LRU_OK);
	ck_assert_int_eq(put_n(l, 1, 60, 4, NEVER, false), LRU_STALE);
	ck_assert_int_eq(get_n(l, 1, 0, 0, &m, &len), LRU_OK);
	ck_assert_uint_eq(m.version, 5);
	ck_assert_uint_eq(len, 50);
	ck_assert_int_eq(put_n(l, 1, 70, 5, NEVER, true), LRU_OK);
	ck_assert_int_eq(get_n(l, 1, 0, 0, &m, &len), LRU_OK);
	ck_assert_uint_eq(len, 70);
	ck_assert(m.dirty);
	ck_assert_int_eq(put_n(l, 1, 80, 6, NEVER, false), LRU_OK);
	ck_assert_int_eq(get_n(l, 1, 0, 0, &m, &len), LRU_OK);
	ck_assert_uint_eq(m.version, 6);
	ck_assert_uint_eq(len, 80);
	check_consistent(l, 4, 0);
}
END_TEST

START_TEST(test_delete)
{
	struct lru		*l = make_tier(8, 8192);
	struct lru_stats	 st;
	uint8_t			 key[LRU_KEY_LEN];

	ck_assert_int_eq(put_n(l, 1, 300, 1, NEVER, true), LRU_OK);
	ck_assert_int_eq(put_n(l, 2, 300, 1, NEVER, false), LRU_OK);
	key_of(1, key);
	ck_assert_int_eq(lru_delete(l, key), LRU_OK);
	ck_assert_int_eq(lru_delete(l, key), LRU_NOTFOUND);
	ck_assert_int_eq(get_n(l, 1, 0, 0, NULL, NULL), LRU_NOTFOUND);
	ck_assert_int_eq(get_n(l, 2, 0, 0, NULL, NULL), LRU_OK);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.entries, 1);
	ck_assert_uint_eq(st.bytes, 300);
	ck_assert_uint_eq(st.evictions_lru + st.evictions_ttl, 0);
}
END_TEST

START_TEST(test_mark_clean)
{
	struct lru	*l = make_tier(8, 8192);
	struct lru_meta	 m;
	uint8_t		 key[LRU_KEY_LEN];

	ck_assert_int_eq(put_n(l, 1, 10, 2, NEVER, true), LRU_OK);
	key_of(1, key);
	ck_assert_int_eq(lru_mark_clean(l, key, 1), LRU_STALE);
	ck_assert_int_eq(get_n(l, 1, 0, 0, &m, NULL), LRU_OK);
	ck_assert(m.dirty);
	ck_assert_int_eq(lru_mark_clean(l, key, 2), LRU_OK);
	ck_assert_int_eq(get_n(l, 1, 0, 0, &m, NULL), LRU_OK);
	ck_assert(!m.dirty);
	key_of(9, key);
	ck_assert_int_eq(lru_mark_clean(l, key, 2), LRU_NOTFOUND);
}
END_TEST

START_TEST(test_invalidate_older)
{
	struct lru	*l = make_tier(8, 8192);
	uint8_t		 key[LRU_KEY_LEN];

	ck_assert_int_eq(put_n(l, 1, 10, 5, NEVER, false), LRU_OK);
	key_of(1, key);
	ck_assert_int_eq(lru_invalidate_older(l, key, 4), LRU_STALE);
	ck_assert_int_eq(lru_invalidate_older(l, key, 5), LRU_STALE);
	ck_assert_int_eq(get_n(l, 1, 0, 0, NULL, NULL), LRU_OK);
	ck_assert_int_eq(lru_invalidate_older(l, key, 6), LRU_OK);
	ck_assert_int_eq(get_n(l, 1, 0, 0, NULL, NULL), LRU_NOTFOUND);
	ck_assert_int_eq(lru_invalidate_older(l, key, 7), LRU_NOTFOUND);
}
END_TEST

/* Dirty entries hold writes Redis has not acknowledged: eviction passes them by. */
START_TEST(test_dirty_never_evicted)
{
	struct lru		*l = make_tier(4, 4096);
	struct lru_stats	 st;
	struct lru_meta		 m;
	uint8_t			 key[LRU_KEY_LEN];
	uint64_t		 n;

	/* 0, 1 and 3 dirty, 2 clean and the most recently used */
	for (n = 0; n < 4; n++)
		ck_assert_int_eq(put_n(l, n, 100, 1, NEVER, n != 2), LRU_OK);
	ck_assert_int_eq(get_n(l, 2, 0, 0, NULL, NULL), LRU_OK);
	ck_assert_int_eq(put_n(l, 4, 100, 1, NEVER, true), LRU_OK);
	ck_assert_int_eq(get_n(l, 2, 0, 0, NULL, NULL), LRU_NOTFOUND);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.evictions_lru, 1);
	ck_assert_uint_eq(st.dirty, 4);

	/* nothing clean is left: a new key is refused, the old writes all stay */
	ck_assert_int_eq(put_n(l, 5, 100, 1, NEVER, false), LRU_FULL);
	ck_assert_int_eq(put_n(l, 6, 100, 1, NEVER, true), LRU_FULL);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.refused, 2);
	ck_assert_uint_eq(st.evictions_lru, 1);
	for (n = 0; n < 5; n++)
		if (n != 2)
			ck_assert_int_eq(get_n(l, n, 0, 0, NULL, NULL), LRU_OK);
	ck_assert_int_eq(get_n(l, 5, 0, 0, NULL, NULL), LRU_NOTFOUND);

	/* a newer version of a dirty entry still lands, in its own room */
	ck_assert_int_eq(put_n(l, 1, 100, 2, NEVER, true), LRU_OK);
	ck_assert_int_eq(get_n(l, 1, 0, 0, &m, NULL), LRU_OK);
	ck_assert_uint_eq(m.version, 2);
	/* but not one that needs another entry's bytes */
	ck_assert_int_eq(put_n(l, 3, 4000, 2, NEVER, true), LRU_FULL);
	ck_assert_int_eq(get_n(l, 3, 0, 0, &m, NULL), LRU_OK);
	ck_assert_uint_eq(m.version, 1);

	/* once Redis has one, it is the one to go (though used more recently) */
	key_of(0, key);
	ck_assert_int_eq(lru_mark_clean(l, key, 1), LRU_OK);
	ck_assert_int_eq(get_n(l, 0, 0, 0, NULL, NULL), LRU_OK);
	ck_assert_int_eq(put_n(l, 5, 100, 1, NEVER, true), LRU_OK);
	ck_assert_int_eq(get_n(l, 0, 0, 0, NULL, NULL), LRU_NOTFOUND);
	for (n = 1; n < 6; n++)
		if (n != 2)
			ck_assert_int_eq(get_n(l, n, 0, 0, NULL, NULL), LRU_OK);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.evictions_lru, 2);
	ck_assert_uint_eq(st.dirty, 4);
	check_consistent(l, 8, 0);
}
END_TEST

/* The byte bound, too, is met from clean entries only. */
START_TEST(test_dirty_bytes_bound)
{
	struct lru		*l = make_tier(100, 4096);
	struct lru_stats	 st;
	uint64_t		 n;

	/* dirty, clean, dirty, clean: 1000 bytes each */
	for (n = 0; n < 4; n++)
		ck_assert_int_eq(put_n(l, n, 1000, 1, NEVER, n % 2 == 0), LRU_OK);
	/* 2000 bytes must go: both clean ones, though 0 is the least recent */
	ck_assert_int_eq(put_n(l, 4, 2000, 1, NEVER, false), LRU_OK);
	ck_assert_int_eq(get_n(l, 0, 0, 0, NULL, NULL), LRU_OK);
	ck_assert_int_eq(get_n(l, 2, 0, 0, NULL, NULL), LRU_OK);
	ck_assert_int_eq(get_n(l, 1, 0, 0, NULL, NULL), LRU_NOTFOUND);
	ck_assert_int_eq(get_n(l, 3, 0, 0, NULL, NULL), LRU_NOTFOUND);
	/* 3000 would need a dirty entry's room */
	ck_assert_int_eq(put_n(l, 5, 3000, 1, NEVER, false), LRU_FULL);
	ck_assert_int_eq(get_n(l, 4, 0, 0, NULL, NULL), LRU_OK);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.refused, 1);
	ck_assert_uint_eq(st.bytes, 4000);
	check_consistent(l, 8, 0);
}
END_TEST

/*
 * Admission: keys used twice (a returning user) survive a flood of ten
 * times max_entries keys stored once (first-time visitors, bots).
 */
START_TEST(test_flood_spares_returning_keys)
{
	const uint64_t		 N = 1000, RET = 200, FLOOD = 10 * N;
	struct lru		*l = make_tier(N, N * 128);
	struct lru_stats	 st;
	uint64_t		 n, kept = 0;

	for (n = 0; n < N; n++)
		ck_assert_int_eq(put_n(l, n, 100, 1, NEVER, false), LRU_OK);
	/* the returning users: a lookup hit, then a store of the next version */
	for (n = 0; n < RET; n++) {
		ck_assert_int_eq(get_n(l, n, 0, 1000, NULL, NULL), LRU_OK);
		ck_assert_int_eq(put_n(l, n, 100, 2, NEVER, false), LRU_OK);
	}
	for (n = 0; n < FLOOD; n++)
		ck_assert_int_eq(put_n(l, N + n, 50 + n % 100, 1, NEVER, false), LRU_OK);
	for (n = 0; n < RET; n++)
		kept += get_n(l, n, 0, 0, NULL, NULL) == LRU_OK;
	ck_assert_uint_ge(kept * 100, RET * 99);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.entries, N);
	ck_assert_uint_ge(st.evictions_lru, FLOOD);
	check_consistent(l, N + FLOOD, 0);
}
END_TEST

/*
 * The protected segment is capped (80 % of max_entries): past it, its least
 * recent keys go back to probation and are the first to go.
 */
START_TEST(test_protected_cap)
{
	struct lru	*l = make_tier(10, 10 * 256);
	uint64_t	 n;

	for (n = 0; n < 10; n++)
		ck_assert_int_eq(put_n(l, n, 10, 1, NEVER, false), LRU_OK);
	for (n = 0; n < 10; n++)
		ck_assert_int_eq(get_n(l, n, 0, 1000, NULL, NULL), LRU_OK);
	/* 0 and 1 went back to probation, 0 first */
	ck_assert_int_eq(put_n(l, 10, 10, 1, NEVER, false), LRU_OK);
	ck_assert_int_eq(get_n(l, 0, 0, 0, NULL, NULL), LRU_NOTFOUND);
	ck_assert_int_eq(get_n(l, 1, 0, 0, NULL, NULL), LRU_OK);
	for (n = 11; n < 100; n++)
		ck_assert_int_eq(put_n(l, n, 10, 1, NEVER, false), LRU_OK);
	ck_assert_int_eq(get_n(l, 1, 0, 0, NULL, NULL), LRU_NOTFOUND);
	for (n = 2; n < 10; n++)
		ck_assert_int_eq(get_n(l, n, 0, 0, NULL, NULL), LRU_OK);
	/* a reused key stays, a key seen once goes */
	ck_assert_int_eq(get_n(l, 99, 0, 1000, NULL, NULL), LRU_OK);
	ck_assert_int_eq(put_n(l, 100, 10, 1, NEVER, false), LRU_OK);
	ck_assert_int_eq(put_n(l, 101, 10, 1, NEVER, false), LRU_OK);
	ck_assert_int_eq(get_n(l, 99, 0, 0, NULL, NULL), LRU_OK);
	check_consistent(l, 102, 0);
}
END_TEST

static int
key_index(const uint8_t key[LRU_KEY_LEN], uint64_t nkeys)
{
	uint8_t		k[LRU_KEY_LEN];
	uint64_t	n;

	for (n = 0; n < nkeys; n++) {
		key_of(n, k);
		if (memcmp(k, key, LRU_KEY_LEN) == 0)
			return ((int)n);
	}
	return (-1);
}

START_TEST(test_dirty_scan)
{
	struct lru	*l = make_tier(100, 65536);
	uint8_t		 keys[4][LRU_KEY_LEN], key[LRU_KEY_LEN];
	int		 seen[30] = { 0 };
	uint64_t	 cursor = 0, n;
	size_t		 got, i, total = 0, calls = 0;
	int		 idx;

	for (n = 0; n < 30; n++)
		ck_assert_int_eq(put_n(l, n, 16, 1, NEVER, n % 2 == 0), LRU_OK);
	do {
		got = lru_dirty_scan(l, &cursor, keys, 4);
		ck_assert_uint_le(got, 4);
		for (i = 0; i < got; i++) {
			idx = key_index(keys[i], 30);
			ck_assert_int_ge(idx, 0);
			ck_assert_int_eq(idx % 2, 0);
			ck_assert_int_eq(seen[idx], 0);
			seen[idx] = 1;
		}
		total += got;
		ck_assert_uint_lt(++calls, 100);
	} while (cursor != 0);
	ck_assert_uint_eq(total, 15);
	ck_assert_uint_ge(calls, 4);

	for (n = 0; n < 30; n += 2) {
		key_of(n, key);
		ck_assert_int_eq(lru_mark_clean(l, key, 1), LRU_OK);
	}
	cursor = 0;
	ck_assert_uint_eq(lru_dirty_scan(l, &cursor, keys, 4), 0);
	ck_assert_uint_eq(cursor, 0);
}
END_TEST

/*
 * Redis lost its data: every live entry goes back to the dirty set, a
 * bounded batch per call, so the flush sends it again. Expired entries stay
 * as they are; a tombstone keeps its version (all ones) and so goes out as
 * a tombstone, never as a live session.
 */
START_TEST(test_mark_dirty_scan)
{
	const uint64_t		 N = 6000;
	struct lru		*l = make_tier(10000, 10000 * 64);
	struct lru_stats	 st;
	struct lru_meta		 m;
	uint8_t			 keys[64][LRU_KEY_LEN], key[LRU_KEY_LEN];
	uint64_t		 n, cursor = 0, live = 0, dirty = 0, found = 0;
	size_t			 got, calls = 0;

	/* a third already dirty, a fifth expired at 50, the rest clean */
	for (n = 0; n < N; n++) {
		bool	was_dirty = n % 3 == 0;
		int64_t	exp = !was_dirty && n % 5 == 0 ? 50 : NEVER;

		ck_assert_int_eq(put_n(l, n, val_len(n, 1, 64), 1, exp, was_dirty), LRU_OK);
		live += exp == NEVER;
		dirty += was_dirty;
	}
	key_of(N, key);   /* a deleted id */
	m = (struct lru_meta){ UINT64_MAX, NEVER, false };
	ck_assert_int_eq(lru_put(l, key, "", 0, &m), LRU_OK);
	live++;

	do {
		got = lru_mark_dirty_scan(l, &cursor, 100, 64);
		ck_assert_uint_le(got, 64);
		found += got;
		ck_assert_uint_lt(++calls, 1000);
	} while (cursor != 0);
	ck_assert_uint_eq(found, live - dirty);
	ck_assert_uint_ge(calls, (live - dirty) / 64);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.dirty, live);

	/* a pass over a tier with no clean live entry marks nothing */
	calls = 0;
	do {
		ck_assert_uint_eq(lru_mark_dirty_scan(l, &cursor, 100, SIZE_MAX), 0);
		calls++;
	} while (cursor != 0);
	ck_assert_uint_ge(calls, 2);   /* one call inspects a bounded number of slots */

	for (n = 0; n < N; n++) {
		ck_assert_int_eq(get_n(l, n, 0, 0, &m, NULL), LRU_OK);
		ck_assert_int_eq(m.dirty, n % 3 != 0 && n % 5 == 0 ? 0 : 1);
	}
	key_of(N, key);
	ck_assert_int_eq(lru_get(l, key, 100, 0, keys[0], LRU_KEY_LEN, &got, &m), LRU_OK);
	ck_assert_uint_eq(m.version, UINT64_MAX);
	ck_assert(m.dirty);
	ck_assert_uint_eq(got, 0);

	/* the flush finds each of them */
	found = 0;
	do
		found += lru_dirty_scan(l, &cursor, keys, 64);
	while (cursor != 0);
	ck_assert_uint_eq(found, live);
	ck_assert_int_eq(lru_delete(l, key), LRU_OK);
	check_consistent(l, N, 64);
}
END_TEST

START_TEST(test_full_table)
{
	const uint64_t		 N = 10000;
	struct lru		*l = make_tier(N, N * 64);
	struct lru_stats	 st;
	uint8_t			 keys[8][LRU_KEY_LEN], key[LRU_KEY_LEN];
	uint64_t		 n, bytes = 0, cursor = 0, dirty = 0;
	size_t			 calls = 0;

	for (n = 0; n < N; n++) {
		ck_assert_int_eq(put_n(l, n, val_len(n, 1, 64), 1, NEVER, n == N - 1),
		    LRU_OK);
		bytes += val_len(n, 1, 64);
	}
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.entries, N);
	ck_assert_uint_eq(st.bytes, bytes);
	ck_assert_uint_eq(st.evictions_lru, 0);
	check_consistent(l, N, 64);

	/* the one dirty entry is in the last slot: a pass finds it across calls */
	do {
		dirty += lru_dirty_scan(l, &cursor, keys, 8);
		ck_assert_uint_lt(++calls, N);
	} while (cursor != 0);
	ck_assert_uint_eq(dirty, 1);

	/* check_consistent touched keys in order, so key 0 is the oldest */
	ck_assert_int_eq(put_n(l, N, val_len(N, 1, 64), 1, NEVER, false), LRU_OK);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.evictions_lru, 1);
	ck_assert_int_eq(get_n(l, 0, 0, 0, NULL, NULL), LRU_NOTFOUND);

	for (n = 1; n < N; n += 2) {
		key_of(n, key);
		ck_assert_int_eq(lru_delete(l, key), LRU_OK);
	}
	check_consistent(l, N + 1, 64);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.entries, N / 2);

	lru_clear(l);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.entries, 0);
	ck_assert_uint_eq(st.bytes, 0);
	ck_assert_int_eq(get_n(l, 2, 0, 0, NULL, NULL), LRU_NOTFOUND);
	ck_assert_int_eq(put_n(l, 2, val_len(2, 1, 64), 1, NEVER, false), LRU_OK);
	check_consistent(l, N + 1, 64);
}
END_TEST

#define CONC_KEYS	512
#define CONC_MAXLEN	1000

/* One worker's share of the concurrency test; exits non-zero on any surprise. */
static void
conc_child(struct lru *l, uint64_t seed)
{
	uint8_t		key[LRU_KEY_LEN], buf[CONC_MAXLEN];
	struct lru_meta	m;
	uint64_t	r, n, version;
	size_t		len;
	int		i, rc;

	alarm(60);
	for (i = 0; i < 20000; i++) {
		r = splitmix(&seed);
		n = r % CONC_KEYS;
		key_of(n, key);
		switch ((r >> 32) % 20) {
		case 0: case 1: case 2:
			rc = lru_delete(l, key);
			if (rc != LRU_OK && rc != LRU_NOTFOUND)
				_exit(2);
			break;
		case 3: case 4: case 5: case 6: case 7: case 8: case 9:
			version = (r >> 40) % 1000;
			len = val_len(n, version, CONC_MAXLEN);
			val_fill(n, version, buf, len);
			m.version = version;
			m.expires_ms = NEVER;
			m.dirty = (r >> 50) & 1;
			rc = lru_put(l, key, buf, len, &m);
			/* LRU_FULL: nothing flushes, so dirty entries pile up */
			if (rc != LRU_OK && rc != LRU_STALE && rc != LRU_FULL)
				_exit(3);
			break;
		default:
			rc = lru_get(l, key, 0, 1000, buf, sizeof(buf), &len, &m);
			if (rc == LRU_OK && !val_ok(n, m.version, buf, len, CONC_MAXLEN))
				_exit(4);
			if (rc != LRU_OK && rc != LRU_NOTFOUND)
				_exit(5);
			break;
		}
	}
	_exit(0);
}

START_TEST(test_concurrency)
{
	struct lru		*l = make_tier(256, 256 * 600);
	struct lru_stats	 st;
	pid_t			 pids[4];
	int			 i, status;

	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0)
			conc_child(l, (uint64_t)i * 7919 + 1);
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child %d status %d", i, status);
	}
	check_consistent(l, CONC_KEYS, CONC_MAXLEN);
	lru_get_stats(l, &st);
	ck_assert_uint_gt(st.entries, 0);
	ck_assert_uint_gt(st.evictions_lru, 0);
	ck_assert_uint_eq(st.lock_recoveries, 0);
}
END_TEST

START_TEST(test_holder_killed)
{
	struct lru		*l = make_tier(64, 65536);
	struct lru_stats	 st;
	uint64_t		 word, word2;
	pid_t			 pid, holder;
	int			 p[2], status;
	char			 c;
	uint64_t		 n;

	for (n = 0; n < 10; n++)
		ck_assert_int_eq(put_n(l, n, 100 + n, 1, NEVER, n < 3), LRU_OK);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		alarm(30);
		close(p[0]);
		lru_debug_lock(l);
		if (write(p[1], "L", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);

	/* the holder shows, the same word while it holds; the figures come without the lock */
	word = lru_lock_holder(l, &holder);
	ck_assert_uint_ne(word, 0);
	ck_assert_int_eq(holder, pid);
	ck_assert_uint_eq(lru_lock_holder(l, &holder), word);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.entries, 10);
	ck_assert_uint_eq(st.dirty, 3);
	ck_assert_uint_eq(st.lock_recoveries, 0);

	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));

	/* the lock comes back, and nothing was lost: the holder changed nothing */
	ck_assert_int_eq(get_n(l, 4, 0, 0, NULL, NULL), LRU_OK);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.lock_recoveries, 1);
	ck_assert_uint_eq(st.entries, 10);
	check_consistent(l, 10, 0);
	ck_assert_int_eq(put_n(l, 20, 50, 1, NEVER, false), LRU_OK);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.lock_recoveries, 1);
	ck_assert_uint_eq(st.entries, 11);
	/* and the dead holder's word is gone with the next locker's release */
	ck_assert_uint_eq(lru_lock_holder(l, &holder), 0);
	/* each hold has its own word */
	ck_assert_int_eq(lru_debug_lock(l), 0);
	word2 = lru_lock_holder(l, &holder);
	ck_assert_int_eq(holder, getpid());
	ck_assert_uint_ne(word2, word);
	lru_debug_unlock(l);
	ck_assert_int_eq(lru_debug_lock(l), 0);
	ck_assert_uint_ne(lru_lock_holder(l, &holder), word2);
	lru_debug_unlock(l);
}
END_TEST

/*
 * Kills a busy writer at arbitrary points, many of them inside the lock, and
 * checks after each kill that the tier is whole: counts match what can be
 * read, every value read is intact, and it keeps taking writes.
 */
START_TEST(test_holder_killed_midway)
{
	struct lru		*l = make_tier(64, 64 * 400);
	struct lru_stats	 st;
	struct timespec		 ts;
	uint64_t		 seed = 42, r;
	pid_t			 pid;
	int			 round, status, p[2];
	char			 c;

	for (round = 0; round < 400; round++) {
		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			uint64_t	s = (uint64_t)round * 104729 + 3, n, v;

			alarm(30);
			close(p[0]);
			if (write(p[1], "R", 1) != 1)
				_exit(1);
			for (;;) {
				r = splitmix(&s);
				n = r % 128;
				v = (r >> 32) % 1000;
				/* dirty writes to 8 keys only: the parent's write below must fit */
				if ((r >> 60) == 0)
					get_n(l, n, 0, 0, NULL, NULL);
				else
					(void)put_n(l, n, val_len(n, v, 1000), v,
					    NEVER, n < 8 && ((r >> 50) & 1));
			}
		}
		close(p[1]);
		ck_assert_int_eq(read(p[0], &c, 1), 1);
		close(p[0]);
		r = splitmix(&seed);
		ts.tv_sec = 0;
		ts.tv_nsec = 100000 + (long)(r % 2000000);
		nanosleep(&ts, NULL);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		check_consistent(l, 128, 1000);
		/* and it still takes writes (a version the writer never reaches) */
		ck_assert_int_eq(put_n(l, 100, val_len(100, 1000 + round, 1000),
		    1000 + round, NEVER, false), LRU_OK);
		ck_assert_int_eq(get_n(l, 100, 0, 0, NULL, NULL), LRU_OK);
		check_consistent(l, 128, 1000);
		lru_get_stats(l, &st);
		if (st.lock_recoveries >= 20)
			break;
	}
	lru_get_stats(l, &st);
	ck_assert_uint_ge(st.lock_recoveries, 1);
	ck_assert_uint_le(st.lock_recoveries, (uint64_t)round + 1);
}
END_TEST

/* A child that dies at its step_kill_at'th step inside the tier (test hook). */
static int	step_kill_at, step_count;

static void
step_hook(void)
{
	if (++step_count == step_kill_at)
		raise(SIGKILL);
}

/*
 * For k = 1, 2, ... until a child finishes: a fresh tier, setup, then put in
 * a child killed at its k'th step, then check. Returns how many were killed.
 */
typedef void (*tier_setup_fn)(struct lru *);
typedef void (*tier_put_fn)(struct lru *);

static int
kill_at_each_step(uint64_t max_entries, uint64_t max_bytes, tier_setup_fn setup,
    tier_put_fn put, void (*check)(struct lru *, bool killed))
{
	struct lru	*l;
	pid_t		 pid;
	int		 k, status, killed = 0;

	for (k = 1; k < 1000; k++) {
		l = make_tier(max_entries, max_bytes);
		setup(l);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			alarm(10);
			step_count = 0;
			step_kill_at = k;
			lru_test_step = step_hook;
			put(l);
			_exit(0);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status)) {
			ck_assert_int_eq(WEXITSTATUS(status), 0);
			check(l, false);
			teardown();
			return (killed);
		}
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		killed++;
		check(l, true);
		teardown();
	}
	ck_abort_msg("a put never finished");
	return (killed);
}

/*
 * Key 0 holds version 1 (300 bytes, dirty, written last); keys 1-3 are
 * clean, key 1 least recent. Version 2 of key 0 (700 bytes) needs key 1's
 * room, so the put evicts, writes, and retires the old copy.
 */
static int	replace_seen[3];

static void
replace_setup(struct lru *l)
{
	uint64_t	n;

	for (n = 1; n < 4; n++)
		ck_assert_int_eq(put_n(l, n, 300, 1, NEVER, false), LRU_OK);
	ck_assert_int_eq(put_n(l, 0, 300, 1, NEVER, true), LRU_OK);
}

static void
replace_put(struct lru *l)
{
	(void)put_n(l, 0, 700, 2, NEVER, true);
}

static void
replace_check(struct lru *l, bool killed)
{
	struct lru_stats	st;
	struct lru_meta		m;
	uint8_t			key[LRU_KEY_LEN], buf[1024];
	size_t			len;

	key_of(0, key);
	ck_assert_int_eq(lru_get(l, key, 0, 0, buf, sizeof(buf), &len, &m), LRU_OK);
	ck_assert_msg(m.version == 1 || m.version == 2, "version %llu",
	    (unsigned long long)m.version);
	ck_assert_uint_eq(len, m.version == 1 ? 300 : 700);
	ck_assert(val_ok(0, m.version, buf, len, 0));
	ck_assert(m.dirty);
	replace_seen[m.version]++;
	/* keys 2 and 3 are never the victims */
	ck_assert_int_eq(get_n(l, 2, 0, 0, NULL, NULL), LRU_OK);
	ck_assert_int_eq(get_n(l, 3, 0, 0, NULL, NULL), LRU_OK);
	check_consistent(l, 4, 0);
	lru_get_stats(l, &st);
	ck_assert_uint_eq(st.lock_recoveries, killed ? 1 : 0);
	ck_assert_uint_le(st.bytes, 1500);
	/* and the tier takes writes again */
	ck_assert_int_eq(put_n(l, 0, 100, 3, NEVER, false), LRU_OK);
	check_consistent(l, 4, 0);
}

START_TEST(test_put_killed_each_step)
{
	int	killed;

	memset(replace_seen, 0, sizeof(replace_seen));
	killed = kill_at_each_step(4, 1500, replace_setup, replace_put, replace_check);
	/* an eviction, three value blocks and the swap: many places to die at */
	ck_assert_int_ge(killed, 10);
	/* both outcomes happen: the old copy until the new one is whole, then the new */
	ck_assert_int_gt(replace_seen[1], 0);
	ck_assert_int_gt(replace_seen[2], 1);
}
END_TEST

START_TEST(test_init_bounds)
{
	size_t		 sz = lru_region_size(100, 10000);
	void		*mem;
	uint64_t	 raw[64];

	ck_assert_uint_eq(lru_region_size(0, 1000), 0);
	ck_assert_uint_eq(lru_region_size(10, 0), 0);
	ck_assert_uint_gt(sz, 100 * LRU_KEY_LEN + 10000);
	ck_assert_uint_gt(lru_region_size(100, 20000), sz);
	mem = mmap(NULL, sz, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(mem, MAP_FAILED);
	ck_assert_ptr_null(lru_attach(mem));
	ck_assert_int_eq(lru_init(mem, sz / 2, 100, 10000), -1);
	ck_assert_int_eq(lru_init((char *)mem + 8, sz - 64, 100, 10000), -1);
	ck_assert_int_eq(lru_init(mem, sz, 0, 10000), -1);
	/* a start off the 64-byte grid still fits: the size allows for alignment */
	ck_assert_int_eq(lru_init((char *)mem + 8, sz - 8, 100, 10000), 0);
	ck_assert_ptr_nonnull(lru_attach((char *)mem + 8));
	ck_assert_int_eq(lru_init(mem, sz, 100, 10000), 0);
	ck_assert_ptr_nonnull(lru_attach(mem));
	munmap(mem, sz);
	memset(raw, 0, sizeof(raw));
	ck_assert_ptr_null(lru_attach(raw));
}
END_TEST

static Suite *
lru_suite(void)
{
	Suite	*s = suite_create("lru");
	TCase	*tc = tcase_create("core");
	TCase	*tp = tcase_create("processes");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_lru_order);
	tcase_add_test(tc, test_bytes_bound);
	tcase_add_test(tc, test_toobig_store);
	tcase_add_test(tc, test_toobig_cap);
	tcase_add_test(tc, test_ttl_get);
	tcase_add_test(tc, test_ttl_expire);
	tcase_add_test(tc, test_stale);
	tcase_add_test(tc, test_delete);
	tcase_add_test(tc, test_mark_clean);
	tcase_add_test(tc, test_invalidate_older);
	tcase_add_test(tc, test_dirty_scan);
	tcase_add_test(tc, test_mark_dirty_scan);
	tcase_add_test(tc, test_dirty_never_evicted);
	tcase_add_test(tc, test_dirty_bytes_bound);
	tcase_add_test(tc, test_flood_spares_returning_keys);
	tcase_add_test(tc, test_protected_cap);
	tcase_add_test(tc, test_full_table);
	tcase_add_test(tc, test_init_bounds);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tp, NULL, teardown);
	tcase_set_timeout(tp, 60);
	tcase_add_test(tp, test_concurrency);
	tcase_add_test(tp, test_holder_killed);
	tcase_add_test(tp, test_holder_killed_midway);
	tcase_add_test(tp, test_put_killed_each_step);
	suite_add_tcase(s, tp);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(lru_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
