/*
 * lru: the L1 session tier, an LRU hash table in one shared mapping.
 *
 * Owns the region layout, the robust process-shared mutex and its recovery,
 * LRU eviction (never of a dirty entry), TTL expiry and the max_entries and
 * max_bytes bounds. It must not log, allocate from the heap, read a clock or
 * make a system call beyond the mutex (and one getpid per process): callers
 * pass the time and do their own logging and counting.
 *
 * The region is mapped at a different address in every process, so it holds
 * indices, never pointers, and the handle a process gets is the header itself.
 * Layout, each section 64-byte aligned, offsets kept in the header:
 *
 *	header | buckets[nbuckets] | entries[max_entries + 1] | bnext[nblocks]
 *	       | blocks[nblocks][LRU_BLOCK]
 *
 * buckets hold the first entry of each hash chain (nbuckets is a power of two
 * at least twice max_entries, so chains stay short). A value lives in a chain
 * of fixed-size blocks linked through bnext; free blocks and free entries sit
 * on index-linked free lists.
 *
 * max_bytes bounds the sum of stored value lengths, which is also the "bytes"
 * figure (drover_session_cache_bytes). Each value wastes less than one block
 * at its tail, so the store holds max_bytes rounded up to whole blocks plus
 * one block per entry: within the entry and byte bounds it can never run out
 * of blocks, and small sessions are not squeezed out by block slack. The cost
 * is max_entries * LRU_BLOCK bytes of shared memory beyond max_bytes.
 *
 * Recovery. A worker may be killed while it holds the lock. Rather than
 * throwing the tier away (losing dirty writes not yet in L2), the entry array
 * is treated as the source of truth and everything else (hash chains, recency
 * lists, free lists, counts) as derived data that can be rebuilt. Each entry
 * moves FREE -> WRITING -> LIVE on insert, with the value fully copied before
 * it turns LIVE, and LIVE -> FREE before any unlinking on removal, so at any
 * instruction a holder can die at, every entry is either complete or not
 * there. A replacement turns the new copy LIVE before the old one goes (the
 * entry array has one spare slot for it), so for a moment two complete copies
 * of a key exist; each write gets a sequence number and recovery keeps the
 * later one. The next locker gets EOWNERDEAD, marks the mutex consistent and
 * rebuilds (lru_rebuild): a write cut short leaves the previous value, never
 * no value. The old LRU order is kept as far as it still walks cleanly.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/lru.h"

/* test hooks: take the tier lock and return holding it (so a test can kill the holder), release it */
int lru_debug_lock(struct lru *);
void lru_debug_unlock(struct lru *);

#define LRU_MAGIC	0x64726f766c727534ULL	/* "drovlru4": the layout of this version */
#define LRU_ALIGN	64
#define LRU_BLOCK	256
#define LRU_NIL		0x7fffffffU
#define LRU_MARK	0x80000000U	/* bnext bit, used only while rebuilding */
#define LRU_MAX_INDEX	0x7ffffff0U
#define LRU_SCAN_SLOTS	4096		/* slots one lru_dirty_scan call inspects at most */

enum { E_FREE = 0, E_WRITING, E_LIVE };

#define F_DIRTY		0x01
#define F_KEEP		0x02	/* rebuild scratch: entry survives */
#define F_PLACED	0x04	/* rebuild scratch: entry is on the new LRU list */
#define F_PROT		0x08	/* used again since it was stored: protected segment */
#define F_PERSIST	(F_DIRTY|F_PROT)	/* the flags recovery keeps */

/*
 * Recency lists, head = most recent. Which one an entry is on follows from
 * its flags alone (ent_list), so recovery can put every entry back where it
 * belongs.
 *
 * Admission is a segmented LRU (as in SLRU and 2Q): a new key starts on
 * probation, and only a second use (a lookup hit, or a replacing put) moves
 * it to the protected list. Room is made from the probation tail first, so
 * a flood of keys seen once (cookie-less bots, first-time visitors) evicts
 * other keys seen once and leaves returning users alone. The protected list
 * is capped at LRU_PROT_PCT of max_entries; past the cap its tail goes back
 * to the head of probation, for one more chance.
 *
 * Dirty entries (not yet in L2) have a list of their own that eviction
 * never takes from; when Redis acknowledges them they join the segment
 * their F_PROT names.
 */
enum { L_PROB = 0, L_PROT, L_DIRTY, L__N };

#define LRU_PROT_PCT	80

struct lru_list {
	uint32_t	head, tail;
	uint64_t	n;
};

struct lru_ent {
	uint8_t		key[LRU_KEY_LEN];
	uint32_t	hnext;		/* hash chain, or the free-entry list */
	uint32_t	prev, next;	/* LRU list, head = most recent */
	uint32_t	block;		/* first value block */
	uint32_t	len;
	uint8_t		state;
	uint8_t		flags;
	uint16_t	pad;
	uint64_t	version;
	int64_t		expires_ms;
	uint64_t	seq;		/* order of writes: recovery keeps the later of two copies */
};

struct lru {
	uint64_t	magic;
	uint64_t	max_entries, max_bytes;
	uint32_t	nbuckets, shift;
	uint32_t	nblocks, nslots;	/* nslots = max_entries + 1 spare for replacing */
	uint64_t	off_buckets, off_ents, off_bnext, off_blocks;
	pthread_mutex_t	mtx;

	/* Everything below is guarded by mtx. */
	struct lru_list	lists[L__N];
	uint64_t	prot_max;	/* cap of the protected list */
	uint32_t	free_ent, free_block;
	uint32_t	nfree_blocks, sweep;
	uint64_t	seq, dirty_bytes, dirty_blocks;

	/*
	 * Figures others read without the lock (lru_get_stats): written only
	 * by the holder, through stat_add/stat_set, so a reader never sees a
	 * torn value, only one a moment old.
	 */
	uint64_t	entries, bytes, ndirty;
	uint64_t	evictions_lru, evictions_ttl, lock_recoveries, refused;
	/*
	 * Who holds mtx: pid << 32 | the number of this acquisition mod 2^32,
	 * 0 when free. The supervisor reads it on every tick, and a word it
	 * keeps seeing is one hold of the lock: it times that itself and kills
	 * a holder that keeps the lock too long (a stopped or wedged worker).
	 * Lockers read no clock for it.
	 */
	uint64_t	holder;
	uint32_t	nlocks;
};

struct lru_layout {
	uint64_t	nbuckets, shift, nblocks;
	uint64_t	off_buckets, off_ents, off_bnext, off_blocks, size;
};

/*
 * Orders stores for the benefit of whoever recovers after this process dies:
 * a SIGKILLed holder's stores all reach memory, but the compiler must not move
 * them across an entry's state change.
 */
#define lru_barrier()	__atomic_signal_fence(__ATOMIC_SEQ_CST)

/* Lock holder only: one writer, so a load and a store make the add. */
static inline void
stat_add(uint64_t *p, uint64_t n)
{
	__atomic_store_n(p, *p + n, __ATOMIC_RELAXED);
}

static inline void
stat_set(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint64_t
stat_get(const uint64_t *p)
{
	return (__atomic_load_n(p, __ATOMIC_RELAXED));
}

/*
 * Test builds (LRU_TEST_HOOKS) call a hook between the stores that matter to
 * recovery, so a unit test can kill a writer at each of them in turn.
 */
#ifdef LRU_TEST_HOOKS
void	(*lru_test_step)(void);
#define LRU_STEP()	do { lru_barrier(); if (lru_test_step != NULL) lru_test_step(); } while (0)
#else
#define LRU_STEP()	do { } while (0)
#endif

static uint64_t
roundup64(uint64_t n)
{
	return (n + LRU_ALIGN - 1) & ~(uint64_t)(LRU_ALIGN - 1);
}

static int
lru_layout(uint64_t max_entries, uint64_t max_bytes, struct lru_layout *lo)
{
	uint64_t	nb = 2, shift = 63;

	if (max_entries == 0 || max_entries > LRU_MAX_INDEX / 2 || max_bytes == 0)
		return (-1);
	lo->nblocks = max_bytes / LRU_BLOCK + (max_bytes % LRU_BLOCK != 0);
	if (lo->nblocks > LRU_MAX_INDEX - max_entries)
		return (-1);
	lo->nblocks += max_entries;
	if (lo->nblocks > LRU_MAX_INDEX)
		return (-1);
	while (nb < 2 * max_entries) {
		nb <<= 1;
		shift--;
	}
	lo->nbuckets = nb;
	lo->shift = shift;
	lo->off_buckets = roundup64(sizeof(struct lru));
	lo->off_ents = roundup64(lo->off_buckets + nb * sizeof(uint32_t));
	lo->off_bnext = roundup64(lo->off_ents +
	    (max_entries + 1) * sizeof(struct lru_ent));
	lo->off_blocks = roundup64(lo->off_bnext + lo->nblocks * sizeof(uint32_t));
	lo->size = lo->off_blocks + lo->nblocks * LRU_BLOCK;
	if (lo->size > SIZE_MAX - LRU_ALIGN)
		return (-1);
	return (0);
}

/* The header sits at the first 64-byte boundary: mmap gives every process the same one. */
static struct lru *
lru_base(void *mem)
{
	uintptr_t	p = (uintptr_t)mem;

	return ((struct lru *)((p + LRU_ALIGN - 1) & ~(uintptr_t)(LRU_ALIGN - 1)));
}

static inline uint32_t *
lru_buckets(struct lru *l)
{
	return ((uint32_t *)((char *)l + l->off_buckets));
}

static inline struct lru_ent *
lru_ents(struct lru *l)
{
	return ((struct lru_ent *)((char *)l + l->off_ents));
}

static inline uint32_t *
lru_bnext(struct lru *l)
{
	return ((uint32_t *)((char *)l + l->off_bnext));
}

static inline uint8_t *
lru_block(struct lru *l, uint32_t b)
{
	return ((uint8_t *)l + l->off_blocks + (size_t)b * LRU_BLOCK);
}

static inline uint32_t
nblocks_for(uint64_t len)
{
	return ((uint32_t)((len + LRU_BLOCK - 1) / LRU_BLOCK));
}

/* Session ids are 128 random bits: folding and a multiply is all the mixing needed. */
static inline uint32_t
lru_bucket(const struct lru *l, const uint8_t *key)
{
	uint64_t	a, b;

	memcpy(&a, key, sizeof(a));
	memcpy(&b, key + sizeof(a), sizeof(b));
	return ((uint32_t)(((a ^ b) * 0x9e3779b97f4a7c15ULL) >> l->shift));
}

static uint32_t
lru_find(struct lru *l, const uint8_t *key)
{
	struct lru_ent	*ents = lru_ents(l);
	uint32_t	 i = lru_buckets(l)[lru_bucket(l, key)];
	uint64_t	 n;

	for (n = 0; i != LRU_NIL && n < l->nslots; n++) {
		if (memcmp(ents[i].key, key, LRU_KEY_LEN) == 0)
			return (i);
		i = ents[i].hnext;
	}
	return (LRU_NIL);
}

static void
hash_link(struct lru *l, uint32_t i)
{
	struct lru_ent	*e = &lru_ents(l)[i];
	uint32_t	*head = &lru_buckets(l)[lru_bucket(l, e->key)];

	e->hnext = *head;
	*head = i;
}

static void
hash_unlink(struct lru *l, uint32_t i)
{
	struct lru_ent	*ents = lru_ents(l);
	uint32_t	*p = &lru_buckets(l)[lru_bucket(l, ents[i].key)];
	uint64_t	 n;

	for (n = 0; *p != LRU_NIL && n < l->nslots; n++) {
		if (*p == i) {
			*p = ents[i].hnext;
			return;
		}
		p = &ents[*p].hnext;
	}
}

static inline struct lru_list *
ent_list(struct lru *l, const struct lru_ent *e)
{
	if (e->flags & F_DIRTY)
		return (&l->lists[L_DIRTY]);
	return (&l->lists[(e->flags & F_PROT) ? L_PROT : L_PROB]);
}

/* Unlinks i from its list: call before changing the flags that choose it. */
static void
list_unlink(struct lru *l, uint32_t i)
{
	struct lru_ent	*ents = lru_ents(l), *e = &ents[i];
	struct lru_list	*li = ent_list(l, e);

	if (e->prev != LRU_NIL)
		ents[e->prev].next = e->next;
	else
		li->head = e->next;
	if (e->next != LRU_NIL)
		ents[e->next].prev = e->prev;
	else
		li->tail = e->prev;
	e->prev = e->next = LRU_NIL;
	li->n--;
}

static void
list_push_head(struct lru *l, uint32_t i)
{
	struct lru_ent	*ents = lru_ents(l), *e = &ents[i];
	struct lru_list	*li = ent_list(l, e);

	e->prev = LRU_NIL;
	e->next = li->head;
	if (li->head != LRU_NIL)
		ents[li->head].prev = i;
	else
		li->tail = i;
	li->head = i;
	li->n++;
}

static void
list_push_tail(struct lru *l, uint32_t i)
{
	struct lru_ent	*ents = lru_ents(l), *e = &ents[i];
	struct lru_list	*li = ent_list(l, e);

	e->next = LRU_NIL;
	e->prev = li->tail;
	if (li->tail != LRU_NIL)
		ents[li->tail].next = i;
	else
		li->head = i;
	li->tail = i;
	li->n++;
}

/* Past its cap, the protected list gives its least recent entries back to probation. */
static void
prot_trim(struct lru *l)
{
	struct lru_list	*prot = &l->lists[L_PROT];
	uint32_t	 t;

	while (prot->n > l->prot_max && (t = prot->tail) != LRU_NIL) {
		list_unlink(l, t);
		lru_ents(l)[t].flags &= ~F_PROT;
		list_push_head(l, t);
	}
}

/* A use of entry i: to the head of its list, and out of probation if it was on it. */
static void
ent_use(struct lru *l, uint32_t i)
{
	struct lru_ent	*e = &lru_ents(l)[i];

	if ((e->flags & F_PROT) && ent_list(l, e)->head == i)
		return;
	list_unlink(l, i);
	e->flags |= F_PROT;
	list_push_head(l, i);
	prot_trim(l);
}

/* Takes n blocks off the free list as one chain; the caller made sure there are n. */
static uint32_t
blocks_alloc(struct lru *l, uint32_t n)
{
	uint32_t	*bnext = lru_bnext(l), first, last, k;

	if (n == 0)
		return (LRU_NIL);
	first = last = l->free_block;
	for (k = 1; k < n; k++)
		last = bnext[last];
	l->free_block = bnext[last];
	bnext[last] = LRU_NIL;
	l->nfree_blocks -= n;
	return (first);
}

static void
blocks_free(struct lru *l, uint32_t first, uint32_t n)
{
	uint32_t	*bnext = lru_bnext(l), last, k;

	if (n == 0 || first == LRU_NIL)
		return;
	last = first;
	for (k = 1; k < n; k++)
		last = bnext[last];
	bnext[last] = l->free_block;
	l->free_block = first;
	l->nfree_blocks += n;
}

static void
value_write(struct lru *l, uint32_t b, const uint8_t *src, size_t len)
{
	uint32_t	*bnext = lru_bnext(l);
	size_t		 n;

	while (len > 0) {
		n = len < LRU_BLOCK ? len : LRU_BLOCK;
		memcpy(lru_block(l, b), src, n);
		LRU_STEP();
		src += n;
		len -= n;
		b = bnext[b];
	}
}

static void
value_read(struct lru *l, uint32_t b, uint8_t *dst, size_t len)
{
	uint32_t	*bnext = lru_bnext(l);
	size_t		 n;

	while (len > 0) {
		n = len < LRU_BLOCK ? len : LRU_BLOCK;
		memcpy(dst, lru_block(l, b), n);
		dst += n;
		len -= n;
		b = bnext[b];
	}
}

/* Adds (sign 1) or takes away (-1) e's share of the dirty totals. */
static void
dirty_count(struct lru *l, const struct lru_ent *e, int sign)
{
	stat_add(&l->ndirty, (uint64_t)(int64_t)sign);
	l->dirty_bytes += (uint64_t)(int64_t)sign * e->len;
	l->dirty_blocks += (uint64_t)(int64_t)sign * nblocks_for(e->len);
}

static void
ent_remove(struct lru *l, uint32_t i)
{
	struct lru_ent	*e = &lru_ents(l)[i];

	e->state = E_FREE;
	lru_barrier();
	LRU_STEP();
	hash_unlink(l, i);
	LRU_STEP();
	list_unlink(l, i);
	LRU_STEP();
	blocks_free(l, e->block, nblocks_for(e->len));
	LRU_STEP();
	stat_add(&l->entries, (uint64_t)-1);
	stat_add(&l->bytes, -(uint64_t)e->len);
	if (e->flags & F_DIRTY)
		dirty_count(l, e, -1);
	e->flags = 0;
	e->block = LRU_NIL;
	e->len = 0;
	e->hnext = l->free_ent;
	l->free_ent = i;
}

/* Empties the table; bounds, mutex and the running totals stay. */
static void
lru_format(struct lru *l)
{
	struct lru_ent	*ents = lru_ents(l);
	uint32_t	*buckets = lru_buckets(l), *bnext = lru_bnext(l);
	uint64_t	 i;

	for (i = 0; i < l->nbuckets; i++)
		buckets[i] = LRU_NIL;
	for (i = 0; i < l->nslots; i++) {
		memset(&ents[i], 0, sizeof(ents[i]));
		ents[i].state = E_FREE;
		ents[i].prev = ents[i].next = ents[i].block = LRU_NIL;
		ents[i].hnext = i + 1 < l->nslots ? (uint32_t)(i + 1) : LRU_NIL;
	}
	for (i = 0; i < l->nblocks; i++)
		bnext[i] = i + 1 < l->nblocks ? (uint32_t)(i + 1) : LRU_NIL;
	for (i = 0; i < L__N; i++) {
		l->lists[i].head = l->lists[i].tail = LRU_NIL;
		l->lists[i].n = 0;
	}
	l->free_ent = 0;
	l->free_block = 0;
	l->nfree_blocks = l->nblocks;
	l->sweep = 0;
	stat_set(&l->entries, 0);
	stat_set(&l->bytes, 0);
	stat_set(&l->ndirty, 0);
	l->dirty_bytes = l->dirty_blocks = 0;
}

static void
unclaim_blocks(struct lru *l, uint32_t b, uint32_t count)
{
	uint32_t	*bnext = lru_bnext(l), next, k;

	for (k = 0; k < count; k++) {
		next = bnext[b] & ~LRU_MARK;
		bnext[b] &= ~LRU_MARK;
		b = next;
	}
}

/* Marks the entry's block chain as owned; fails if it runs off the store or into another chain. */
static int
claim_blocks(struct lru *l, struct lru_ent *e)
{
	uint32_t	*bnext = lru_bnext(l), n = nblocks_for(e->len), b = e->block, k;

	if (n == 0) {
		e->block = LRU_NIL;
		return (0);
	}
	for (k = 0; k < n; k++) {
		if (b >= l->nblocks || (bnext[b] & LRU_MARK)) {
			unclaim_blocks(l, e->block, k);
			return (-1);
		}
		bnext[b] |= LRU_MARK;
		b = bnext[b] & ~LRU_MARK;
	}
	return (0);
}

/*
 * Rebuilds every derived structure from the entry array after a holder died.
 * Idempotent, so a recoverer that dies halfway leaves work the next one can
 * redo. O(max_entries + nbuckets + nblocks): rare, and still bounded.
 */
static void
lru_rebuild(struct lru *l)
{
	struct lru_ent	*ents = lru_ents(l), *e;
	uint32_t	*buckets = lru_buckets(l), *bnext = lru_bnext(l);
	uint32_t	 old, next, j, heads[L__N];
	uint64_t	 i, n, k;

	for (i = 0; i < l->nbuckets; i++)
		buckets[i] = LRU_NIL;
	for (i = 0; i < l->nblocks; i++)
		bnext[i] &= ~LRU_MARK;
	stat_set(&l->entries, 0);
	stat_set(&l->bytes, 0);
	stat_set(&l->ndirty, 0);
	l->dirty_bytes = l->dirty_blocks = 0;

	for (i = 0; i < l->nslots; i++) {
		e = &ents[i];
		e->flags &= F_PERSIST;
		if (e->state != E_LIVE || e->len > l->max_bytes)
			continue;
		/*
		 * Two complete copies of one key: the holder died in lru_put
		 * between the new copy turning LIVE and the old one's removal.
		 * The later write wins.
		 */
		j = lru_find(l, e->key);
		if (j != LRU_NIL && ents[j].seq > e->seq)
			continue;
		if (claim_blocks(l, e) != 0)
			continue;
		if (j != LRU_NIL) {
			hash_unlink(l, j);
			unclaim_blocks(l, ents[j].block, nblocks_for(ents[j].len));
			ents[j].flags &= F_PERSIST;
			stat_add(&l->entries, (uint64_t)-1);
			stat_add(&l->bytes, -(uint64_t)ents[j].len);
			if (ents[j].flags & F_DIRTY)
				dirty_count(l, &ents[j], -1);
		}
		e->flags |= F_KEEP;
		hash_link(l, (uint32_t)i);
		stat_add(&l->entries, 1);
		stat_add(&l->bytes, e->len);
		if (e->flags & F_DIRTY)
			dirty_count(l, e, 1);
		if (e->seq > l->seq)
			l->seq = e->seq;
	}

	/*
	 * Keep the old recency order as far as the old lists still walk; each
	 * entry goes to the list its flags name, whichever it was found on.
	 */
	for (k = 0; k < L__N; k++) {
		heads[k] = l->lists[k].head;
		l->lists[k].head = l->lists[k].tail = LRU_NIL;
		l->lists[k].n = 0;
	}
	for (k = 0; k < L__N; k++) {
		old = heads[k];
		for (n = 0; old < l->nslots && n < l->nslots; n++) {
			e = &ents[old];
			if (e->flags & F_PLACED)
				break;
			next = e->next;
			if (e->flags & F_KEEP) {
				e->flags |= F_PLACED;
				list_push_tail(l, old);
			}
			old = next;
		}
	}

	l->free_ent = LRU_NIL;
	for (i = l->nslots; i-- > 0;) {
		e = &ents[i];
		if ((e->flags & (F_KEEP|F_PLACED)) == F_KEEP)
			list_push_tail(l, (uint32_t)i);
		if (!(e->flags & F_KEEP)) {
			e->state = E_FREE;
			e->flags = 0;
			e->len = 0;
			e->block = e->prev = e->next = LRU_NIL;
			e->hnext = l->free_ent;
			l->free_ent = (uint32_t)i;
		}
		e->flags &= F_PERSIST;
	}

	l->free_block = LRU_NIL;
	l->nfree_blocks = 0;
	for (i = l->nblocks; i-- > 0;) {
		if (bnext[i] & LRU_MARK)
			bnext[i] &= ~LRU_MARK;
		else {
			bnext[i] = l->free_block;
			l->free_block = (uint32_t)i;
			l->nfree_blocks++;
		}
	}
	if (l->sweep >= l->nslots)
		l->sweep = 0;
}

static int
mutex_setup(pthread_mutex_t *m)
{
	pthread_mutexattr_t	attr;
	int			rc;

	if (pthread_mutexattr_init(&attr) != 0)
		return (-1);
	rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
	return (rc == 0 ? 0 : -1);
}

/* This process's pid for the holder word; a fork child finds it 0 and looks again. */
static pid_t		lru_pid;
static pthread_once_t	lru_pid_once = PTHREAD_ONCE_INIT;

static void
lru_forget_pid(void)
{
	lru_pid = 0;
}

static void
lru_pid_init(void)
{
	(void)pthread_atfork(NULL, NULL, lru_forget_pid);
}

static void
holder_set(struct lru *l)
{
	if (lru_pid == 0) {
		(void)pthread_once(&lru_pid_once, lru_pid_init);
		lru_pid = getpid();
	}
	l->nlocks++;
	__atomic_store_n(&l->holder, (uint64_t)(uint32_t)lru_pid << 32 | l->nlocks,
	    __ATOMIC_RELAXED);
}

static void
lru_lock(struct lru *l)
{
	int	rc;

	rc = pthread_mutex_lock(&l->mtx);
	if (rc == 0) {
		holder_set(l);
		return;
	}
	holder_set(l);
	if (rc == EOWNERDEAD) {
		/*
		 * Consistent first: if this process dies while rebuilding, the
		 * next locker gets EOWNERDEAD again and redoes the rebuild. If it
		 * fails, the unlock leaves the mutex unrecoverable and the branch
		 * below starts it over.
		 */
		(void)pthread_mutex_consistent(&l->mtx);
		stat_add(&l->lock_recoveries, 1);
		lru_rebuild(l);
		return;
	}
	/*
	 * ENOTRECOVERABLE (a holder died and the recoverer did not mark it
	 * consistent) or a damaged mutex: nobody can own it any more, so start
	 * it over. Without a working lock the tier is unusable: abort.
	 */
	if (mutex_setup(&l->mtx) != 0 || pthread_mutex_lock(&l->mtx) != 0)
		abort();
	holder_set(l);
	stat_add(&l->lock_recoveries, 1);
	lru_rebuild(l);
}

/*
 * The holder word is cleared after the release, and only if it is still
 * ours: a process stopped inside the release still shows as the holder (it
 * may still own the mutex). The check and the clear are two plain accesses,
 * not a compare-and-swap (which would cost the miss path a fifth): a new
 * holder that stamps its word in between loses it, and then only the
 * heartbeat timeout, not the 1 s bound, covers that one hold of the lock.
 */
static void
lru_unlock(struct lru *l)
{
	uint64_t	mine = __atomic_load_n(&l->holder, __ATOMIC_RELAXED);

	(void)pthread_mutex_unlock(&l->mtx);
	if (__atomic_load_n(&l->holder, __ATOMIC_RELAXED) == mine)
		__atomic_store_n(&l->holder, 0, __ATOMIC_RELAXED);
}

int
lru_debug_lock(struct lru *l)
{
	lru_lock(l);
	return (0);
}

void
lru_debug_unlock(struct lru *l)
{
	lru_unlock(l);
}

uint64_t
lru_lock_holder(struct lru *l, pid_t *pid)
{
	uint64_t	w = __atomic_load_n(&l->holder, __ATOMIC_RELAXED);

	*pid = (pid_t)(w >> 32);
	return (w);
}

size_t
lru_region_size(uint64_t max_entries, uint64_t max_bytes)
{
	struct lru_layout	lo;

	if (lru_layout(max_entries, max_bytes, &lo) != 0)
		return (0);
	return ((size_t)lo.size + LRU_ALIGN);
}

int
lru_init(void *mem, size_t size, uint64_t max_entries, uint64_t max_bytes)
{
	struct lru_layout	 lo;
	struct lru		*l;

	if (mem == NULL || lru_layout(max_entries, max_bytes, &lo) != 0)
		return (-1);
	l = lru_base(mem);
	if (size < (size_t)((char *)l - (char *)mem) ||
	    size - (size_t)((char *)l - (char *)mem) < lo.size)
		return (-1);
	memset(l, 0, sizeof(*l));
	l->max_entries = max_entries;
	l->max_bytes = max_bytes;
	l->nbuckets = (uint32_t)lo.nbuckets;
	l->shift = (uint32_t)lo.shift;
	l->nblocks = (uint32_t)lo.nblocks;
	l->nslots = (uint32_t)max_entries + 1;
	l->prot_max = max_entries * LRU_PROT_PCT / 100;
	l->off_buckets = lo.off_buckets;
	l->off_ents = lo.off_ents;
	l->off_bnext = lo.off_bnext;
	l->off_blocks = lo.off_blocks;
	if (mutex_setup(&l->mtx) != 0)
		return (-1);
	lru_format(l);
	lru_barrier();
	l->magic = LRU_MAGIC;
	return (0);
}

struct lru *
lru_attach(void *mem)
{
	struct lru	*l;

	if (mem == NULL)
		return (NULL);
	l = lru_base(mem);
	if (l->magic != LRU_MAGIC)
		return (NULL);
	return (l);
}

int
lru_get(struct lru *l, const uint8_t key[LRU_KEY_LEN], int64_t now_ms, int64_t ttl_ms,
    void *buf, size_t cap, size_t *len, struct lru_meta *meta)
{
	struct lru_ent	*e;
	uint32_t	 i;
	int		 rc;

	lru_lock(l);
	i = lru_find(l, key);
	if (i == LRU_NIL) {
		rc = LRU_NOTFOUND;
		goto out;
	}
	e = &lru_ents(l)[i];
	if (e->expires_ms <= now_ms) {
		ent_remove(l, i);
		stat_add(&l->evictions_ttl, 1);
		rc = LRU_NOTFOUND;
		goto out;
	}
	if (len != NULL)
		*len = e->len;
	if (e->len > cap) {
		rc = LRU_TOOBIG;
		goto out;
	}
	value_read(l, e->block, buf, e->len);
	if (meta != NULL) {
		meta->version = e->version;
		meta->expires_ms = e->expires_ms;
		meta->dirty = (e->flags & F_DIRTY) != 0;
	}
	if (ttl_ms > 0) {
		ent_use(l, i);
		e->expires_ms = now_ms > INT64_MAX - ttl_ms ? INT64_MAX :
		    now_ms + ttl_ms;
		if (meta != NULL)
			meta->expires_ms = e->expires_ms;
	}
	rc = LRU_OK;
out:
	lru_unlock(l);
	return (rc);
}

/* The least recent entry of list k other than old, or LRU_NIL. */
static uint32_t
lru_victim(struct lru *l, int k, uint32_t old)
{
	uint32_t	t = l->lists[k].tail;

	if (t != LRU_NIL && t == old)
		t = lru_ents(l)[t].prev;
	return (t);
}

/*
 * Whether a value of len bytes would fit with every clean entry gone except
 * old (the key's current copy, or LRU_NIL), kept beside the new one
 * (side_by_side) or given up for it.
 */
static bool
room_without_clean(struct lru *l, uint32_t old, size_t len, bool side_by_side)
{
	const struct lru_ent	*o = old != LRU_NIL ? &lru_ents(l)[old] : NULL;
	uint64_t		 n = l->ndirty, bytes = l->dirty_bytes, blocks = l->dirty_blocks;

	if (o != NULL && (o->flags & F_DIRTY)) {
		n--;
		bytes -= o->len;
		blocks -= nblocks_for(o->len);
	}
	if (o != NULL && side_by_side)
		blocks += nblocks_for(o->len);
	return (n < l->max_entries && bytes + len <= l->max_bytes &&
	    blocks + nblocks_for(len) <= l->nblocks);
}

/*
 * A replacement writes the new copy into free blocks and a free slot (there
 * is always one spare) and turns it LIVE before the old copy goes: a holder
 * killed anywhere in here leaves the old value or the new one, both whole
 * (see Recovery above). Equal versions overwrite: a retried write of the
 * same version must land.
 */
int
lru_put(struct lru *l, const uint8_t key[LRU_KEY_LEN], const void *val, size_t len,
    const struct lru_meta *meta)
{
	struct lru_ent	*e, *ents;
	uint64_t	 version = meta != NULL ? meta->version : 0;
	uint32_t	 i, old, victim, need;
	uint64_t	 oldlen, others;
	bool		 fits, reused;
	int		 rc = LRU_OK;

	if (len > l->max_bytes || len > UINT32_MAX)
		return (LRU_TOOBIG);
	need = nblocks_for(len);
	if (need > l->nblocks)
		return (LRU_TOOBIG);

	lru_lock(l);
	LRU_STEP();
	ents = lru_ents(l);
	old = lru_find(l, key);
	if (old != LRU_NIL && version < ents[old].version) {
		rc = LRU_STALE;
		goto out;
	}
	reused = old != LRU_NIL;
	/*
	 * Room comes from the least recent clean entries only: a dirty one
	 * holds a write Redis has not acknowledged yet, and dropping it would
	 * lose that write. When even every clean entry would not make room the
	 * new write is refused, before anything is evicted.
	 */
	if (!room_without_clean(l, old, len, true)) {
		if (old == LRU_NIL || !room_without_clean(l, old, len, false)) {
			stat_add(&l->refused, 1);
			rc = LRU_FULL;
			goto out;
		}
		/*
		 * The two copies fit the bounds but not side by side (dirty
		 * entries, or block slack in a tier sized for a few values):
		 * replace in place, the one case without the guarantee above.
		 */
		ent_remove(l, old);
		old = LRU_NIL;
		LRU_STEP();
	}
	for (;;) {
		oldlen = old != LRU_NIL ? ents[old].len : 0;
		others = l->entries - (old != LRU_NIL);
		fits = others < l->max_entries && l->bytes - oldlen + len <= l->max_bytes;
		if (fits && l->free_ent != LRU_NIL && l->nfree_blocks >= need)
			break;
		victim = lru_victim(l, L_PROB, old);
		if (victim == LRU_NIL)
			victim = lru_victim(l, L_PROT, old);
		if (victim == LRU_NIL) {
			rc = LRU_FULL;	/* cannot happen: room_without_clean said it fits */
			goto out;
		}
		ent_remove(l, victim);
		stat_add(&l->evictions_lru, 1);
		LRU_STEP();
	}

	i = l->free_ent;
	e = &ents[i];
	l->free_ent = e->hnext;
	e->state = E_WRITING;
	LRU_STEP();
	e->block = blocks_alloc(l, need);
	e->len = (uint32_t)len;
	LRU_STEP();
	value_write(l, e->block, val, len);
	memcpy(e->key, key, LRU_KEY_LEN);
	e->version = version;
	e->expires_ms = meta != NULL ? meta->expires_ms : INT64_MAX;
	e->flags = (meta != NULL && meta->dirty ? F_DIRTY : 0) | (reused ? F_PROT : 0);
	e->seq = ++l->seq;
	LRU_STEP();
	e->state = E_LIVE;
	LRU_STEP();
	if (old != LRU_NIL)
		ent_remove(l, old);
	hash_link(l, i);
	LRU_STEP();
	list_push_head(l, i);
	prot_trim(l);
	LRU_STEP();
	stat_add(&l->entries, 1);
	stat_add(&l->bytes, len);
	if (e->flags & F_DIRTY)
		dirty_count(l, e, 1);
out:
	lru_unlock(l);
	return (rc);
}

int
lru_delete(struct lru *l, const uint8_t key[LRU_KEY_LEN])
{
	uint32_t	i;

	lru_lock(l);
	i = lru_find(l, key);
	if (i != LRU_NIL)
		ent_remove(l, i);
	lru_unlock(l);
	return (i != LRU_NIL ? LRU_OK : LRU_NOTFOUND);
}

/* LRU_OK: cleared (or already clean); LRU_STALE: a newer write is stored and stays dirty. */
int
lru_mark_clean(struct lru *l, const uint8_t key[LRU_KEY_LEN], uint64_t version)
{
	struct lru_ent	*e;
	uint32_t	 i;
	int		 rc = LRU_OK;

	lru_lock(l);
	i = lru_find(l, key);
	if (i == LRU_NIL)
		rc = LRU_NOTFOUND;
	else {
		e = &lru_ents(l)[i];
		if (e->version != version)
			rc = LRU_STALE;
		else if (e->flags & F_DIRTY) {
			list_unlink(l, i);
			dirty_count(l, e, -1);
			e->flags &= ~F_DIRTY;
			list_push_head(l, i);
			prot_trim(l);
		}
	}
	lru_unlock(l);
	return (rc);
}

/* LRU_OK: dropped; LRU_STALE: the stored copy is as new or newer and stays. */
int
lru_invalidate_older(struct lru *l, const uint8_t key[LRU_KEY_LEN], uint64_t version)
{
	uint32_t	i;
	int		rc = LRU_OK;

	lru_lock(l);
	i = lru_find(l, key);
	if (i == LRU_NIL)
		rc = LRU_NOTFOUND;
	else if (lru_ents(l)[i].version < version)
		ent_remove(l, i);
	else
		rc = LRU_STALE;
	lru_unlock(l);
	return (rc);
}

/*
 * The walk both scans share. *cursor is the next slot to inspect. One call
 * inspects at most LRU_SCAN_SLOTS slots under the lock, so it may return 0
 * in the middle of a pass; a pass is over when *cursor comes back as 0.
 * visit returns whether it took live slot i (the count that max bounds).
 * With dirty_only, a tier with no dirty entry ends the pass at once.
 */
static size_t
slot_walk(struct lru *l, uint64_t *cursor, size_t max, bool dirty_only,
    bool (*visit)(struct lru *, uint32_t, size_t, void *), void *arg)
{
	uint64_t	i, n;
	size_t		taken = 0;

	if (max == 0)
		return (0);
	lru_lock(l);
	i = *cursor < l->nslots ? *cursor : 0;
	if (dirty_only && l->ndirty == 0)
		i = l->nslots;
	for (n = 0; n < LRU_SCAN_SLOTS && i < l->nslots && taken < max; n++, i++)
		if (lru_ents(l)[i].state == E_LIVE && visit(l, (uint32_t)i, taken, arg))
			taken++;
	*cursor = i < l->nslots ? i : 0;
	lru_unlock(l);
	return (taken);
}

static bool
visit_dirty(struct lru *l, uint32_t i, size_t taken, void *arg)
{
	struct lru_ent	*e = &lru_ents(l)[i];
	uint8_t		(*keys)[LRU_KEY_LEN] = arg;

	if (!(e->flags & F_DIRTY))
		return (false);
	memcpy(keys[taken], e->key, LRU_KEY_LEN);
	return (true);
}

size_t
lru_dirty_scan(struct lru *l, uint64_t *cursor, uint8_t (*keys)[LRU_KEY_LEN], size_t max)
{
	return (slot_walk(l, cursor, max, true, visit_dirty, keys));
}

/*
 * Used when L2 lost what it had acknowledged: the entries marked here go back
 * through the ordinary flush. An expired entry is left alone (it is gone for
 * every reader already); a tombstone is marked like any entry, keeping its
 * version, and the flush sends it as a tombstone.
 */
static bool
visit_mark(struct lru *l, uint32_t i, size_t taken, void *arg)
{
	struct lru_ent	*e = &lru_ents(l)[i];
	int64_t		 now_ms = *(const int64_t *)arg;

	if ((e->flags & F_DIRTY) || e->expires_ms <= now_ms)
		return (false);
	list_unlink(l, i);
	e->flags |= F_DIRTY;
	list_push_head(l, i);
	dirty_count(l, e, 1);
	return (true);
}

size_t
lru_mark_dirty_scan(struct lru *l, uint64_t *cursor, int64_t now_ms, size_t max)
{
	return (slot_walk(l, cursor, max, false, visit_mark, &now_ms));
}

size_t
lru_expire(struct lru *l, int64_t now_ms, size_t max_work)
{
	struct lru_ent	*ents;
	uint64_t	 budget, n, k;
	uint32_t	 i, t;
	size_t		 done = 0;

	if (max_work == 0)
		return (0);
	lru_lock(l);
	ents = lru_ents(l);
	/* Entries used together expire together, so the tails hold the earliest deadlines. */
	for (k = 0; k < L__N; k++) {
		while (done < max_work && (t = l->lists[k].tail) != LRU_NIL &&
		    ents[t].expires_ms <= now_ms) {
			ent_remove(l, t);
			stat_add(&l->evictions_ttl, 1);
			done++;
		}
	}
	/*
	 * Gets with ttl_ms <= 0 and puts with mixed deadlines break that
	 * order; a bounded sweep over the slots finds the rest in time.
	 */
	budget = max_work < l->nslots / 4 ? max_work * 4 : l->nslots;
	for (n = 0; n < budget && done < max_work; n++) {
		i = l->sweep;
		l->sweep = i + 1 < l->nslots ? i + 1 : 0;
		if (ents[i].state == E_LIVE && ents[i].expires_ms <= now_ms) {
			ent_remove(l, i);
			stat_add(&l->evictions_ttl, 1);
			done++;
		}
	}
	lru_unlock(l);
	return (done);
}

void
lru_clear(struct lru *l)
{
	lru_lock(l);
	lru_format(l);
	lru_unlock(l);
}

/* Takes no lock: the supervisor calls it, and a stopped holder must not stop it. */
void
lru_get_stats(struct lru *l, struct lru_stats *st)
{
	st->entries = stat_get(&l->entries);
	st->bytes = stat_get(&l->bytes);
	st->dirty = stat_get(&l->ndirty);
	st->evictions_lru = stat_get(&l->evictions_lru);
	st->evictions_ttl = stat_get(&l->evictions_ttl);
	st->lock_recoveries = stat_get(&l->lock_recoveries);
	st->refused = stat_get(&l->refused);
	st->max_entries = l->max_entries;
	st->max_bytes = l->max_bytes;
}
