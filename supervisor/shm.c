/*
 * shm: see shm.h. The region is one memfd so that a binary upgrade can hand
 * it to the next supervisor by fd; workers inherit the mapping over fork.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "supervisor/shm.h"

const char *const app_restart_names[AR__N] = {
	[AR_EXITED] = "exited", [AR_SIGNAL] = "signal", [AR_SPAWN_FAILED] = "spawn_failed",
	[AR_MAX_APP_REQUESTS] = "max_app_requests", [AR_KILLED] = "killed",
};
const char *const sess_lookup_names[SL__N] = { "hit", "rebuild", "miss", "unavailable" };
const char *const sess_store_names[SS__N] = { "ok", "oversize", "conflict", "error", "unavailable",
	"skipped_breaker", "lost_at_exit" };

const double hist_bounds[HIST_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
};

static size_t
page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	return (n + pg - 1) / pg * pg;
}

int
shm_create(struct shm_region *r, size_t cache_size)
{
	memset(r, 0, sizeof *r);
	size_t head = page_round(sizeof(struct scoreboard));
	r->size = head + page_round(cache_size);
	r->fd = memfd_create("drover-shm", MFD_CLOEXEC);
	if (r->fd < 0)
		return -1;
	if (ftruncate(r->fd, (off_t)r->size) < 0)
		goto fail;
	r->base = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		goto fail;
	}
	r->sb = r->base;
	r->sb->magic = SHM_MAGIC;
	uint8_t rnd[8 + 32];
	size_t got = 0;
	while (got < sizeof rnd) {
		ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		got += (size_t)n;
	}
	memcpy(&r->sb->host_id, rnd, 8);
	memcpy(r->sb->session_secret, rnd + 8, 32);
	r->cache = (char *)r->base + head;
	r->cache_size = r->size - head;
	return 0;
fail:;
	int saved = errno;
	shm_destroy(r);
	errno = saved;
	return -1;
}

void
shm_destroy(struct shm_region *r)
{
	if (r->base)
		munmap(r->base, r->size);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof *r);
	r->fd = -1;
}

const char *const reject_names[REJECT__N] = { "queue_full", "connections" };

static void
counters_add(struct worker_counters *dst, const struct worker_counters *src)
{
	/* The struct is only _Atomic uint64_t fields: walk it as an array. */
	_Atomic uint64_t *d = (_Atomic uint64_t *)dst;
	const _Atomic uint64_t *s = (const _Atomic uint64_t *)src;
	size_t n = sizeof *dst / sizeof(uint64_t);
	for (size_t i = 0; i < n; i++)
		atomic_fetch_add_explicit(&d[i], atomic_load_explicit(&s[i], memory_order_relaxed),
		    memory_order_relaxed);
}

void
shm_sum_counters(const struct scoreboard *sb, struct worker_counters *out)
{
	memset(out, 0, sizeof *out);
	counters_add(out, &sb->retired);
	for (int i = 0; i < SHM_MAX_WORKERS; i++)
		counters_add(out, &sb->slots[i].c);
}

void
shm_retire_counters(struct scoreboard *sb, struct worker_slot *slot)
{
	counters_add(&sb->retired, &slot->c);
	memset(&slot->c, 0, sizeof slot->c);
}

void
counters_add_request(struct worker_counters *c, int status, uint64_t duration_us)
{
	int cls = status / 100;
	if (cls < 1 || cls > 5)
		cls = 0;
	atomic_fetch_add_explicit(&c->requests[cls], 1, memory_order_relaxed);
	double secs = (double)duration_us / 1e6;
	for (int i = 0; i < HIST_BUCKETS; i++)
		if (secs <= hist_bounds[i]) {
			/* Buckets are stored non-cumulative; the exporter sums them. */
			atomic_fetch_add_explicit(&c->duration_bucket[i], 1, memory_order_relaxed);
			break;
		}
	atomic_fetch_add_explicit(&c->duration_count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->duration_sum_us, duration_us, memory_order_relaxed);
}
