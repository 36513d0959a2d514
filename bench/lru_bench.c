/*
 * lru_bench: nanoseconds per operation of the L1 session tier (cache/lru.c)
 * with 10000 entries of 4 KiB, one process, uncontended lock. The time is
 * the process's CPU time, so on a shared machine the time spent waiting for
 * a core does not count; the caches others pollute still do, so compare
 * runs made back to back. Measures only; it is not part of the build or the
 * tests.
 *
 * Build and run from the repository root:
 *	cc -O2 -std=gnu11 -I. -o /tmp/lru_bench bench/lru_bench.c cache/lru.c -lpthread
 *	/tmp/lru_bench
 * (-DITERS=N for fewer operations per row, e.g. under valgrind.)
 */

#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/lru.h"

#define ENTRIES		10000
#define VALUE_LEN	4096
#ifndef ITERS
#define ITERS		1000000
#endif

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

static void
key_of(uint64_t n, uint8_t key[LRU_KEY_LEN])
{
	uint64_t	s = n, a = splitmix(&s), b = splitmix(&s);

	memcpy(key, &a, 8);
	memcpy(key + 8, &b, 8);
}

static double
now_ns(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
		perror("clock_gettime");
		exit(1);
	}
	return ((double)ts.tv_sec * 1e9 + (double)ts.tv_nsec);
}

int
main(void)
{
	static uint8_t	 keys[ENTRIES][LRU_KEY_LEN], val[VALUE_LEN], out[VALUE_LEN];
	uint8_t		 key[LRU_KEY_LEN];
	struct lru_meta	 m = { 1, INT64_MAX, false }, got;
	struct lru	*l;
	size_t		 size, len;
	uint64_t	 i, seed = 7, sink = 0;
	void		*mem;
	double		 t0;

	size = lru_region_size(ENTRIES, (uint64_t)ENTRIES * VALUE_LEN);
	mem = mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return (1);
	}
	if (lru_init(mem, size, ENTRIES, (uint64_t)ENTRIES * VALUE_LEN) != 0 ||
	    (l = lru_attach(mem)) == NULL) {
		fprintf(stderr, "lru_init failed\n");
		return (1);
	}
	for (i = 0; i < VALUE_LEN; i++)
		val[i] = (uint8_t)i;
	for (i = 0; i < ENTRIES; i++) {
		key_of(i, keys[i]);
		if (lru_put(l, keys[i], val, sizeof(val), &m) != LRU_OK) {
			fprintf(stderr, "fill failed\n");
			return (1);
		}
	}
	printf("region %zu bytes for %d entries of %d bytes\n", size, ENTRIES, VALUE_LEN);

	t0 = now_ns();
	for (i = 0; i < ITERS; i++) {
		if (lru_get(l, keys[splitmix(&seed) % ENTRIES], 0, 1800000, out,
		    sizeof(out), &len, &got) != LRU_OK) {
			fprintf(stderr, "miss\n");
			return (1);
		}
		sink += out[len - 1];
	}
	printf("get hit 4 KiB:        %6.1f ns/op\n", (now_ns() - t0) / ITERS);

	t0 = now_ns();
	for (i = 0; i < ITERS; i++) {
		m.version = i + 2;
		if (lru_put(l, keys[splitmix(&seed) % ENTRIES], val, sizeof(val), &m) != LRU_OK) {
			fprintf(stderr, "put failed\n");
			return (1);
		}
	}
	printf("put replace 4 KiB:    %6.1f ns/op\n", (now_ns() - t0) / ITERS);

	t0 = now_ns();
	for (i = 0; i < ITERS; i++) {
		key_of(ENTRIES + i, key);
		if (lru_put(l, key, val, sizeof(val), &m) != LRU_OK) {
			fprintf(stderr, "put failed\n");
			return (1);
		}
	}
	printf("put new+evict 4 KiB:  %6.1f ns/op\n", (now_ns() - t0) / ITERS);

	/* keys never stored (the first ones may still be there: they were used twice) */
	t0 = now_ns();
	for (i = 0; i < ITERS; i++) {
		key_of(2 * ITERS + ENTRIES + splitmix(&seed) % ENTRIES, key);
		if (lru_get(l, key, 0, 0, out, sizeof(out), &len, &got) != LRU_NOTFOUND) {
			fprintf(stderr, "unexpected hit\n");
			return (1);
		}
	}
	printf("get miss:             %6.1f ns/op\n", (now_ns() - t0) / ITERS);

	munmap(mem, size);
	return (sink == 0xffffffffffffffffULL);
}
