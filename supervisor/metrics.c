/*
 * metrics: Prometheus text exposition and the /status JSON, both computed
 * from the scoreboard and the L1 header at request time. It must not
 * allocate beyond the output buffer or block.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cache/lru.h"
#include "common/util.h"
#include "supervisor/admin.h"
#include "supervisor/arbiter.h"
#include "supervisor/procstats.h"

static const char *state_names[] = {
	[WS_FREE] = "free", [WS_STARTING] = "starting", [WS_READY] = "ready",
	[WS_DRAINING] = "draining", [WS_GONE] = "gone",
};

static void
head(struct buf *o, const char *name, const char *type, const char *help)
{
	buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The program's base name, as a label value: [A-Za-z0-9._-] only. */
static void
app_label(const char *command, char *out, size_t cap)
{
	size_t len = strcspn(command, " \t");
	const char *start = command;
	for (const char *p = command; p < command + len; p++)
		if (*p == '/')
			start = p + 1;
	size_t n = 0;
	for (const char *p = start; p < command + len && n + 1 < cap; p++)
		out[n++] = (isalnum((unsigned char)*p) || strchr("._-", *p)) ? *p : '_';
	out[n] = '\0';
}

bool
redis_state(struct arbiter *arb, int *up, int *open)
{
	*up = 0;
	*open = 0;
	for (int i = 0; i < SHM_MAX_WORKERS; i++) {
		struct worker_slot *s = &arb->shm->sb->slots[i];
		int st = atomic_load(&s->state);
		if (st != WS_READY && st != WS_DRAINING)
			continue;
		if (atomic_load(&s->redis_up) == 1)
			*up = 1;
		if (atomic_load(&s->breaker_open))
			*open = 1;
	}
	return arb->cfg->redis_url != NULL && arb->cfg->redis_url[0] != '\0';
}

/* Connections and requests in flight summed over live workers, and each
 * worker's open descriptors (an fd leak or exhaustion shows here first). */
static void
live_gauges(struct arbiter *arb, struct buf *o)
{
	unsigned long long conns = 0, inflight = 0;

	for (int i = 0; i < SHM_MAX_WORKERS; i++) {
		struct worker_slot *s = &arb->shm->sb->slots[i];
		int st = atomic_load(&s->state);
		if (st == WS_FREE || st == WS_GONE)
			continue;
		conns += atomic_load(&s->connections);
		inflight += atomic_load(&s->inflight);
	}
	head(o, "drover_connections", "gauge", "Client connections open in workers.");
	buf_printf(o, "drover_connections %llu\n", conns);
	head(o, "drover_requests_in_flight", "gauge", "Requests being answered by workers.");
	buf_printf(o, "drover_requests_in_flight %llu\n", inflight);
	head(o, "drover_worker_open_fds", "gauge", "Open file descriptors of each live worker.");
	for (int i = 0; i < SHM_MAX_WORKERS; i++) {
		struct worker_slot *s = &arb->shm->sb->slots[i];
		int st = atomic_load(&s->state);
		pid_t pid = atomic_load(&s->pid);
		int64_t n;
		if (st == WS_FREE || st == WS_GONE || pid <= 0 || (n = procstats_open_fds(pid)) < 0)
			continue;
		buf_printf(o, "drover_worker_open_fds{id=\"%d\"} %lld\n", s->id, (long long)n);
	}
}

/* drover_build_info and the standard process_* metrics of the supervisor. */
static void
build_and_process(struct buf *o)
{
	struct procstats ps;

	head(o, "drover_build_info", "gauge", "Always 1; the labels say which build runs.");
#ifdef HAVE_SYSTEMD
	const char *systemd = "yes";
#else
	const char *systemd = "no";
#endif
	buf_printf(o, "drover_build_info{version=\"%s\",systemd=\"%s\"} 1\n", PACKAGE_VERSION, systemd);
	if (procstats_read(0, &ps) < 0)
		return;
	head(o, "process_cpu_seconds_total", "counter", "User and system CPU time of the supervisor.");
	buf_printf(o, "process_cpu_seconds_total %.2f\n", ps.cpu_seconds);
	if (ps.open_fds >= 0) {
		head(o, "process_open_fds", "gauge", "Open file descriptors of the supervisor.");
		buf_printf(o, "process_open_fds %lld\n", (long long)ps.open_fds);
	}
	if (ps.max_fds >= 0) {
		head(o, "process_max_fds", "gauge", "The supervisor's limit on open file descriptors.");
		buf_printf(o, "process_max_fds %lld\n", (long long)ps.max_fds);
	}
	head(o, "process_resident_memory_bytes", "gauge", "Resident memory of the supervisor.");
	buf_printf(o, "process_resident_memory_bytes %llu\n", (unsigned long long)ps.rss_bytes);
	head(o, "process_virtual_memory_bytes", "gauge", "Virtual memory of the supervisor.");
	buf_printf(o, "process_virtual_memory_bytes %llu\n", (unsigned long long)ps.vsize_bytes);
	head(o, "process_start_time_seconds", "gauge", "Start time of the supervisor, seconds since the epoch.");
	buf_printf(o, "process_start_time_seconds %.2f\n", ps.start_time);
}

void
metrics_render(struct arbiter *arb, struct buf *o)
{
	struct worker_counters c;
	struct scoreboard *sb = arb->shm->sb;
	shm_sum_counters(sb, &c);

	/* The label holds a class, not a code: Prometheus practice names it so. */
	head(o, "drover_requests_total", "counter", "HTTP responses sent, by status class.");
	static const char *cls[] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
	for (int i = 0; i < 6; i++)
		buf_printf(o, "drover_requests_total{code_class=\"%s\"} %llu\n", cls[i],
		    (unsigned long long)c.requests[i]);

	head(o, "drover_requests_rejected_total", "counter",
	    "Requests refused with 503 and Retry-After, by reason (queue_full: the app's wait queue; connections: max_connections).");
	for (int i = 0; i < REJECT__N; i++)
		buf_printf(o, "drover_requests_rejected_total{reason=\"%s\"} %llu\n", reject_names[i],
		    (unsigned long long)c.rejected[i]);

	head(o, "drover_request_duration_seconds", "histogram", "Time from request head to response end.");
	uint64_t cum = 0;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		cum += c.duration_bucket[i];
		buf_printf(o, "drover_request_duration_seconds_bucket{le=\"%g\"} %llu\n", hist_bounds[i],
		    (unsigned long long)cum);
	}
	buf_printf(o, "drover_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)c.duration_count);
	buf_printf(o, "drover_request_duration_seconds_sum %.6f\n", (double)c.duration_sum_us / 1e6);
	buf_printf(o, "drover_request_duration_seconds_count %llu\n", (unsigned long long)c.duration_count);

	head(o, "drover_workers", "gauge", "Worker processes by state.");
	for (int st = WS_STARTING; st <= WS_DRAINING; st++)
		buf_printf(o, "drover_workers{state=\"%s\"} %d\n", state_names[st], arbiter_count(arb, st));

	head(o, "drover_target_workers", "gauge", "Workers the supervisor aims to keep ready.");
	buf_printf(o, "drover_target_workers %d\n", arb->target);
	live_gauges(arb, o);

	head(o, "drover_worker_restarts_total", "counter", "Workers replaced, by reason.");
	buf_printf(o, "drover_worker_restarts_total{reason=\"crash\"} %llu\n", (unsigned long long)sb->restarts_crash);
	buf_printf(o, "drover_worker_restarts_total{reason=\"timeout\"} %llu\n", (unsigned long long)sb->restarts_timeout);
	buf_printf(o, "drover_worker_restarts_total{reason=\"max_requests\"} %llu\n", (unsigned long long)sb->restarts_max_requests);
	buf_printf(o, "drover_worker_restarts_total{reason=\"reload\"} %llu\n", (unsigned long long)sb->restarts_reload);

	if (arb->cfg->command) {
		char app[64];
		app_label(arb->cfg->command, app, sizeof app);
		head(o, "drover_app_restarts_total", "counter", "FastCGI app processes replaced, by reason.");
		for (int i = 0; i < AR__N; i++)
			buf_printf(o, "drover_app_restarts_total{app=\"%s\",reason=\"%s\"} %llu\n", app,
			    app_restart_names[i], (unsigned long long)c.app_restarts[i]);
	}

	head(o, "drover_session_lookups_total", "counter", "Session lookups by result.");
	for (int i = 0; i < SL__N; i++)
		buf_printf(o, "drover_session_lookups_total{result=\"%s\"} %llu\n", sess_lookup_names[i],
		    (unsigned long long)c.session_lookups[i]);
	head(o, "drover_session_stores_total", "counter", "Session stores by result.");
	for (int i = 0; i < SS__N; i++)
		buf_printf(o, "drover_session_stores_total{result=\"%s\"} %llu\n", sess_store_names[i],
		    (unsigned long long)c.session_stores[i]);
	head(o, "drover_session_tampered_total", "counter", "Forged or tampered cookies and envelopes.");
	buf_printf(o, "drover_session_tampered_total %llu\n", (unsigned long long)c.session_tampered);
	head(o, "drover_session_deletes_total", "counter", "Sessions deleted by the app.");
	buf_printf(o, "drover_session_deletes_total %llu\n", (unsigned long long)c.session_deletes);

	struct lru_stats ls;
	memset(&ls, 0, sizeof ls);
	struct lru *l = lru_attach(arb->shm->cache);
	if (l)
		lru_get_stats(l, &ls);
	head(o, "drover_session_cache_entries", "gauge", "Entries in the host-local session cache.");
	buf_printf(o, "drover_session_cache_entries %llu\n", (unsigned long long)ls.entries);
	head(o, "drover_session_cache_bytes", "gauge", "Bytes of values in the host-local session cache.");
	buf_printf(o, "drover_session_cache_bytes %llu\n", (unsigned long long)ls.bytes);
	head(o, "drover_session_cache_evictions_total", "counter", "Entries evicted, by reason.");
	buf_printf(o, "drover_session_cache_evictions_total{reason=\"lru\"} %llu\n", (unsigned long long)ls.evictions_lru);
	buf_printf(o, "drover_session_cache_evictions_total{reason=\"ttl\"} %llu\n", (unsigned long long)ls.evictions_ttl);
	head(o, "drover_session_cache_dirty_entries", "gauge", "Entries holding a write Redis has not acknowledged yet; never evicted.");
	buf_printf(o, "drover_session_cache_dirty_entries %llu\n", (unsigned long long)ls.dirty);
	head(o, "drover_session_cache_refused_total", "counter", "Stores the cache refused because only dirty entries could have made room.");
	buf_printf(o, "drover_session_cache_refused_total %llu\n", (unsigned long long)ls.refused);
	head(o, "drover_session_cache_lock_recoveries_total", "counter", "Times a worker died holding the cache lock.");
	buf_printf(o, "drover_session_cache_lock_recoveries_total %llu\n", (unsigned long long)ls.lock_recoveries);

	int up, open;
	bool configured = redis_state(arb, &up, &open);
	head(o, "drover_redis_configured", "gauge", "1 when a Redis url is configured.");
	buf_printf(o, "drover_redis_configured %d\n", configured ? 1 : 0);
	/* Without Redis there is nothing to be up: no sample, so no alert fires. */
	if (configured) {
		head(o, "drover_redis_up", "gauge", "1 when a worker has a working Redis connection.");
		buf_printf(o, "drover_redis_up %d\n", up);
		head(o, "drover_redis_breaker_open", "gauge", "1 when a worker's Redis circuit breaker is open.");
		buf_printf(o, "drover_redis_breaker_open %d\n", open);
	}
	head(o, "drover_redis_errors_total", "counter", "Redis commands sent that failed or timed out.");
	buf_printf(o, "drover_redis_errors_total %llu\n", (unsigned long long)c.redis_errors);

	head(o, "drover_config_last_reload_successful", "gauge",
	    "1 when the last reload was accepted and rolled out (or none happened), else 0.");
	buf_printf(o, "drover_config_last_reload_successful %d\n", arb->last_reload_ok ? 1 : 0);
	head(o, "drover_config_last_reload_success_timestamp_seconds", "gauge",
	    "When the running config was loaded, seconds since the epoch.");
	buf_printf(o, "drover_config_last_reload_success_timestamp_seconds %.3f\n",
	    (double)arb->last_reload_ok_ms / 1000.0);
	build_and_process(o);
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void
json_string(struct buf *o, const char *s)
{
	buf_printf(o, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			buf_printf(o, "\\%c", ch);
		else if (ch < 0x20)
			buf_printf(o, "\\u%04x", ch);
		else
			buf_printf(o, "%c", ch);
	}
	buf_printf(o, "\"");
}

/* The newest reloads first, as the status page lists them. */
static void
reloads_json(struct arbiter *arb, struct buf *o)
{
	unsigned n = arb->nreloads < ARBITER_RELOADS ? arb->nreloads : ARBITER_RELOADS;

	buf_printf(o, ",\"reloads\":[");
	for (unsigned i = 0; i < n; i++) {
		const struct reload_event *e = &arb->reloads[(arb->nreloads - 1 - i) % ARBITER_RELOADS];
		buf_printf(o, "%s{\"at_ms\":%lld,\"generation\":%u,\"result\":", i ? "," : "",
		    (long long)e->at_ms, e->generation);
		json_string(o, e->result);
		buf_printf(o, ",\"error\":");
		json_string(o, e->error);
		buf_printf(o, "}");
	}
	buf_printf(o, "]");
}

void
status_render_json(struct arbiter *arb, struct buf *o)
{
	int64_t now = wall_ms(), mono = mono_ms();
	buf_printf(o, "{\"pid\":%d,\"generation\":%u,\"target_workers\":%d,\"stopping\":%s,\"workers\":[",
	    (int)arb->self, arb->generation, arb->target, arb->stopping ? "true" : "false");
	int first = 1;
	for (int i = 0; i < SHM_MAX_WORKERS; i++) {
		struct worker_slot *s = &arb->shm->sb->slots[i];
		int st = atomic_load(&s->state);
		if (st == WS_FREE)
			continue;
		buf_printf(o, "%s{\"id\":%d,\"pid\":%d,\"generation\":%u,\"state\":\"%s\",\"age_seconds\":%.1f,"
		    "\"requests\":%llu,\"in_flight\":%u,\"connections\":%u,\"last_heartbeat_ms_ago\":%lld}",
		    first ? "" : ",", s->id, (int)atomic_load(&s->pid), s->generation, state_names[st],
		    (double)(now - s->started_ms) / 1000.0, (unsigned long long)atomic_load(&s->served),
		    atomic_load(&s->inflight), atomic_load(&s->connections),
		    (long long)(mono - atomic_load(&s->heartbeat_ms)));
		first = 0;
	}
	struct lru_stats ls;
	memset(&ls, 0, sizeof ls);
	struct lru *l = lru_attach(arb->shm->cache);
	if (l)
		lru_get_stats(l, &ls);
	struct worker_counters c;
	shm_sum_counters(arb->shm->sb, &c);
	int up, open;
	bool configured = redis_state(arb, &up, &open);
	uint64_t requests = 0;
	for (size_t i = 0; i < sizeof c.requests / sizeof c.requests[0]; i++)
		requests += c.requests[i];
	buf_printf(o, "],\"redis\":{\"configured\":%s,\"up\":%s,\"breaker_open\":%s}",
	    configured ? "true" : "false", up ? "true" : "false", open ? "true" : "false");
	buf_printf(o, ",\"version\":\"%s\",\"now_ms\":%lld,\"requests_total\":%llu", PACKAGE_VERSION,
	    (long long)now, (unsigned long long)requests);
	reloads_json(arb, o);
	buf_printf(o, ",\"cache\":{\"entries\":%llu,\"bytes\":%llu,\"max_entries\":%llu,\"max_bytes\":%llu,"
	    "\"evictions_lru\":%llu,\"evictions_ttl\":%llu,\"hits\":%llu,\"rebuilds\":%llu,\"misses\":%llu}}\n",
	    (unsigned long long)ls.entries, (unsigned long long)ls.bytes,
	    (unsigned long long)ls.max_entries, (unsigned long long)ls.max_bytes,
	    (unsigned long long)ls.evictions_lru, (unsigned long long)ls.evictions_ttl,
	    (unsigned long long)c.session_lookups[SL_HIT], (unsigned long long)c.session_lookups[SL_REBUILD],
	    (unsigned long long)c.session_lookups[SL_MISS]);
}

int
healthz_ok(struct arbiter *arb)
{
	return arbiter_count(arb, WS_READY) > 0;
}
