/*
 * test_l2: the Redis tier against a private redis-server started per test
 * on a free 127.0.0.1 port: round trips, TTL refresh, compare-and-set,
 * invalidation between hosts, timeouts and the breaker against a stopped
 * or killed server, URLs and AUTH. Skipped (77) without redis-server.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <hiredis/hiredis.h>

#include "cache/l2.h"
#include "common/log.h"
#include "common/util.h"

#define CMD_TIMEOUT_MS	200
#define FAILURES	3
#define WINDOW_MS	500

static const char *redis_bin = "/usr/bin/redis-server";

struct server {
	pid_t	 pid;
	int	 port;
	char	 pass[32];
	char	 sock[64];
	const char *policy;
};

static struct server srv;
static struct ev_loop *loop;

struct hookrec {
	int	 invalidations, zero, state_calls, opens, servers;
	char	 run_id[L2_RUN_ID_LEN + 1];
	uint8_t	 sid[16];
	uint64_t version;
	bool	 up, open;
};

struct res {
	bool	 done;
	int	 result;
	uint8_t	 val[256];
	size_t	 len;
	double	 at;
};

static const uint8_t sid1[16] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
static const uint8_t sid2[16] = { 0xca, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };
static const char sid1_hex[] = "deadbeef0102030405060708090a0b0c";

static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd, port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return (port);
}

static redisContext *
sync_connect(void)
{
	struct timeval tv = { 0, 200000 };
	redisContext *c;
	redisReply *r;

	if (srv.sock[0] != '\0')
		c = redisConnectUnixWithTimeout(srv.sock, tv);
	else
		c = redisConnectWithTimeout("127.0.0.1", srv.port, tv);
	if (c == NULL || c->err) {
		if (c != NULL)
			redisFree(c);
		return (NULL);
	}
	redisSetTimeout(c, (struct timeval){ 2, 0 });
	if (srv.pass[0] != '\0') {
		r = redisCommand(c, "AUTH %s", srv.pass);
		if (r != NULL)
			freeReplyObject(r);
	}
	return (c);
}

static void
server_start(void)
{
	char port[16];
	const char *argv[24];
	int argc = 0, i;
	sigset_t none;

	snprintf(port, sizeof(port), "%d", srv.port);
	argv[argc++] = redis_bin;
	argv[argc++] = "--port";
	argv[argc++] = port;
	argv[argc++] = "--bind";
	argv[argc++] = "127.0.0.1";
	argv[argc++] = "--save";
	argv[argc++] = "";
	argv[argc++] = "--appendonly";
	argv[argc++] = "no";
	argv[argc++] = "--daemonize";
	argv[argc++] = "no";
	if (srv.pass[0] != '\0') {
		argv[argc++] = "--requirepass";
		argv[argc++] = srv.pass;
	}
	if (srv.sock[0] != '\0') {
		argv[argc++] = "--unixsocket";
		argv[argc++] = srv.sock;
	}
	if (srv.policy != NULL) {
		argv[argc++] = "--maxmemory-policy";
		argv[argc++] = srv.policy;
	}
	argv[argc] = NULL;

	srv.pid = fork();
	ck_assert_int_ge(srv.pid, 0);
	if (srv.pid == 0) {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (i = 1; i < NSIG; i++)
			signal(i, SIG_DFL);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		execv(redis_bin, (char *const *)argv);
		_exit(127);
	}
	/* Ready when it answers. */
	for (i = 0; i < 300; i++) {
		redisContext *c = sync_connect();

		if (c != NULL) {
			redisReply *r = redisCommand(c, "PING");
			bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;

			if (r != NULL)
				freeReplyObject(r);
			redisFree(c);
			if (ok)
				return;
		}
		usleep(10000);
	}
	ck_abort_msg("redis-server did not start");
}

static void
server_kill(void)
{
	if (srv.pid > 0) {
		kill(srv.pid, SIGKILL);
		kill(srv.pid, SIGCONT);
		waitpid(srv.pid, NULL, 0);
		srv.pid = 0;
	}
}

static void
setup_common(void)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	srv.port = free_port();
}

static void
setup(void)
{
	memset(&srv, 0, sizeof(srv));
	setup_common();
	server_start();
}

static void
setup_pass(void)
{
	memset(&srv, 0, sizeof(srv));
	snprintf(srv.pass, sizeof(srv.pass), "s3cret");
	setup_common();
	server_start();
}

static void
setup_unix(void)
{
	memset(&srv, 0, sizeof(srv));
	snprintf(srv.sock, sizeof(srv.sock), "/tmp/drover-l2-%d.sock", (int)getpid());
	setup_common();
	server_start();
}

static void
setup_lru(void)
{
	memset(&srv, 0, sizeof(srv));
	srv.policy = "allkeys-lru";
	setup_common();
	server_start();
}

static void
teardown(void)
{
	server_kill();
	if (srv.sock[0] != '\0')
		unlink(srv.sock);
	if (loop != NULL)
		ev_loop_destroy(loop);
	loop = NULL;
}

/* --- loop helpers --- */

static void
tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
}

/* Runs the loop until pred holds or secs pass. */
static bool
wait_for(bool (*pred)(void *), void *ctx, double secs)
{
	ev_timer tick;
	double end = ev_time() + secs;
	bool ok;

	ev_timer_init(&tick, tick_cb, 0.01, 0.01);
	ev_timer_start(loop, &tick);
	while (!(ok = pred(ctx)) && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
	return (ok);
}

static bool pred_usable(void *l) { return (l2_usable(l)); }
static bool pred_unusable(void *l) { return (!l2_usable(l)); }
static bool pred_subscribed(void *l) { return (l2_subscribed(l) && l2_usable(l)); }
static bool pred_done(void *r) { return (((struct res *)r)->done); }
static bool pred_never(void *r) { return (false); }
static bool pred_open(void *h) { return (((struct hookrec *)h)->opens > 0); }
static bool pred_inval(void *h) { return (((struct hookrec *)h)->invalidations > 0); }
static bool pred_zero(void *h) { return (((struct hookrec *)h)->zero > 0); }

static void
pause_loop(double secs)
{
	wait_for(pred_never, NULL, secs);
}

static void
hook_invalidate(void *arg, const uint8_t sid[16], uint64_t version)
{
	struct hookrec *h = arg;
	static const uint8_t zero[16];

	if (memcmp(sid, zero, 16) == 0 && version == 0) {
		h->zero++;
		return;
	}
	h->invalidations++;
	memcpy(h->sid, sid, 16);
	h->version = version;
}

static void
hook_server(void *arg, const char run_id[])
{
	struct hookrec *h = arg;

	ck_assert_uint_eq(strlen(run_id), L2_RUN_ID_LEN);
	/* Heard before the connection is reported up. */
	ck_assert(!h->up);
	h->servers++;
	snprintf(h->run_id, sizeof(h->run_id), "%s", run_id);
}

static void
hook_state(void *arg, bool up, bool open)
{
	struct hookrec *h = arg;

	h->state_calls++;
	h->up = up;
	if (open && !h->open)
		h->opens++;
	h->open = open;
}

static void
get_cb(void *arg, int result, const uint8_t *val, size_t len)
{
	struct res *r = arg;

	ck_assert(!r->done);
	r->done = true;
	r->result = result;
	r->at = ev_time();
	r->len = len;
	if (val != NULL && len <= sizeof(r->val))
		memcpy(r->val, val, len);
}

static void
done_cb(void *arg, int result)
{
	struct res *r = arg;

	ck_assert(!r->done);
	r->done = true;
	r->result = result;
	r->at = ev_time();
}

static struct l2 *
open_l2(const char *url, uint64_t host, struct hookrec *h)
{
	char buf[256];
	struct l2_config cfg = {
		.url = url, .key_prefix = "t:", .connect_timeout_ms = 200,
		.command_timeout_ms = CMD_TIMEOUT_MS, .breaker_failures = FAILURES,
		.breaker_window_ms = WINDOW_MS, .host_id = host,
	};
	struct l2_hooks hooks = { h, hook_invalidate, hook_state, hook_server };

	if (url == NULL) {
		snprintf(buf, sizeof(buf), "redis://127.0.0.1:%d", srv.port);
		cfg.url = buf;
	}
	return (l2_new(loop, &cfg, &hooks));
}

static struct l2 *
open_ready(uint64_t host, struct hookrec *h)
{
	struct l2 *l = open_l2(NULL, host, h);

	ck_assert_ptr_nonnull(l);
	ck_assert_msg(wait_for(pred_subscribed, l, 3.0), "l2 not up");
	return (l);
}

/* An envelope-shaped value: version big-endian at bytes 8..15. */
static size_t
envelope(uint8_t *out, uint64_t version, const char *payload)
{
	size_t n = strlen(payload);

	memset(out, 0xab, 8);
	for (int i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)(version >> (56 - 8 * i));
	memcpy(out + 16, payload, n);
	return (16 + n);
}

static int
store_sync(struct l2 *l, const uint8_t sid[16], uint64_t version, const char *payload, int64_t ttl)
{
	uint8_t val[128];
	size_t n = envelope(val, version, payload);
	struct res r = { 0 };

	l2_store(l, sid, val, n, version, ttl, done_cb, &r);
	ck_assert(wait_for(pred_done, &r, 2.0));
	return (r.result);
}

static struct res
get_sync(struct l2 *l, const uint8_t sid[16], int64_t ttl)
{
	struct res r = { 0 };

	l2_get(l, sid, ttl, get_cb, &r);
	ck_assert(wait_for(pred_done, &r, 2.0));
	return (r);
}

static long long
sync_integer(const char *fmt, const char *arg)
{
	redisContext *c = sync_connect();
	redisReply *r;
	long long v;

	ck_assert_ptr_nonnull(c);
	r = redisCommand(c, fmt, arg);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
	v = r->integer;
	freeReplyObject(r);
	redisFree(c);
	return (v);
}

/* --- tests --- */

START_TEST(test_round_trip)
{
	struct hookrec h = { 0 };
	struct l2 *l = open_ready(1, &h);
	uint8_t want[128];
	size_t n = envelope(want, 1, "hello");
	struct res r;

	ck_assert(h.up && !h.open);
	ck_assert_int_eq(store_sync(l, sid1, 1, "hello", 60000), L2_OK);
	ck_assert_int_eq(l2_pending(l), 0);
	r = get_sync(l, sid1, 60000);
	ck_assert_int_eq(r.result, L2_OK);
	ck_assert_uint_eq(r.len, n);
	ck_assert_mem_eq(r.val, want, n);
	/* The key is <prefix>s:<32 lowercase hex>. */
	ck_assert_int_eq(sync_integer("EXISTS t:s:%s", sid1_hex), 1);
	r = get_sync(l, sid2, 60000);
	ck_assert_int_eq(r.result, L2_NOTFOUND);
	ck_assert_int_eq(h.invalidations, 0);
	l2_free(l);
}
END_TEST

START_TEST(test_ttl_refreshed)
{
	struct hookrec h = { 0 };
	struct l2 *l = open_ready(1, &h);
	long long pttl;

	ck_assert_int_eq(store_sync(l, sid1, 1, "x", 2000), L2_OK);
	pttl = sync_integer("PTTL t:s:%s", sid1_hex);
	ck_assert(pttl > 0 && pttl <= 2000);
	ck_assert_int_eq(get_sync(l, sid1, 600000).result, L2_OK);
	pttl = sync_integer("PTTL t:s:%s", sid1_hex);
	ck_assert_msg(pttl > 500000, "pttl %lld", pttl);
	l2_free(l);
}
END_TEST

START_TEST(test_conflict)
{
	struct hookrec h = { 0 };
	struct l2 *l = open_ready(1, &h);
	struct res r;

	ck_assert_int_eq(store_sync(l, sid1, 5, "five", 60000), L2_OK);
	ck_assert_int_eq(store_sync(l, sid1, 5, "other5", 60000), L2_CONFLICT);
	ck_assert_int_eq(store_sync(l, sid1, 4, "four", 60000), L2_CONFLICT);
	r = get_sync(l, sid1, 60000);
	ck_assert_int_eq(r.result, L2_OK);
	ck_assert_mem_eq(r.val + 16, "five", 4);
	ck_assert_int_eq(store_sync(l, sid1, 6, "six", 60000), L2_OK);
	r = get_sync(l, sid1, 60000);
	ck_assert_mem_eq(r.val + 16, "six", 3);
	/* A big version beyond 2^32 still orders. */
	ck_assert_int_eq(store_sync(l, sid1, 1ULL << 40, "big", 60000), L2_OK);
	ck_assert_int_eq(store_sync(l, sid1, (1ULL << 40) - 1, "less", 60000), L2_CONFLICT);
	l2_free(l);
}
END_TEST

START_TEST(test_noscript_fallback)
{
	struct hookrec h = { 0 };
	struct l2 *l = open_ready(1, &h);
	redisContext *c;
	redisReply *rep;

	c = sync_connect();
	ck_assert_ptr_nonnull(c);
	rep = redisCommand(c, "SCRIPT FLUSH");
	ck_assert_ptr_nonnull(rep);
	freeReplyObject(rep);
	redisFree(c);
	ck_assert_int_eq(store_sync(l, sid1, 1, "a", 60000), L2_OK);
	ck_assert_int_eq(store_sync(l, sid1, 2, "b", 60000), L2_OK);
	ck_assert_int_eq(store_sync(l, sid1, 2, "c", 60000), L2_CONFLICT);
	ck_assert(l2_usable(l));
	l2_free(l);
}
END_TEST

START_TEST(test_delete)
{
	struct hookrec h = { 0 };
	struct l2 *l = open_ready(1, &h);
	struct res r = { 0 };

	ck_assert_int_eq(store_sync(l, sid1, 1, "x", 60000), L2_OK);
	l2_delete(l, sid1, 60000, done_cb, &r);
	ck_assert(wait_for(pred_done, &r, 2.0));
	ck_assert_int_eq(r.result, L2_OK);
	/* A tombstone holds the id until its TTL: no store may adopt it again. */
	r = get_sync(l, sid1, 0);
	ck_assert_int_eq(r.result, L2_OK);
	ck_assert(l2_is_tombstone(r.val, r.len));
	ck_assert_int_eq(store_sync(l, sid1, 1, "y", 60000), L2_CONFLICT);
	ck_assert_int_eq(store_sync(l, sid1, (1ULL << 53) - 1, "y", 60000), L2_CONFLICT);
	ck_assert_int_ge(sync_integer("PTTL t:s:%s", sid1_hex), 59000);
	r = get_sync(l, sid1, 0);
	ck_assert(l2_is_tombstone(r.val, r.len));
	/* Once it expires the id is free again (a fresh id never collides). */
	sync_integer("PEXPIRE t:s:%s 1", sid1_hex);
	pause_loop(0.05);
	ck_assert_int_eq(get_sync(l, sid1, 0).result, L2_NOTFOUND);
	l2_free(l);
}
END_TEST

START_TEST(test_invalidation_between_hosts)
{
	struct hookrec ha = { 0 }, hb = { 0 };
	struct l2 *a = open_ready(0xaaaa000000000001ULL, &ha);
	struct l2 *b = open_ready(0xbbbb000000000002ULL, &hb);
	struct res r = { 0 };

	ck_assert_int_eq(store_sync(a, sid1, 7, "from a", 60000), L2_OK);
	ck_assert(wait_for(pred_inval, &hb, 2.0));
	ck_assert_mem_eq(hb.sid, sid1, 16);
	ck_assert_uint_eq(hb.version, 7);
	/* A's own message comes back to A and is ignored. */
	pause_loop(0.3);
	ck_assert_int_eq(ha.invalidations, 0);
	ck_assert_int_eq(hb.invalidations, 1);

	/* B may hear of it before A hears back: count from before the call. */
	hb.invalidations = 0;
	l2_delete(a, sid1, 60000, done_cb, &r);
	ck_assert(wait_for(pred_done, &r, 2.0));
	ck_assert(wait_for(pred_inval, &hb, 2.0));
	ck_assert_uint_eq(hb.version, UINT64_MAX);

	/* And the other way round. */
	ck_assert_int_eq(store_sync(b, sid2, 3, "from b", 60000), L2_OK);
	ck_assert(wait_for(pred_inval, &ha, 2.0));
	ck_assert_mem_eq(ha.sid, sid2, 16);
	ck_assert_uint_eq(ha.version, 3);
	/* Heartbeats never reach the hooks. */
	pause_loop(1.2);
	ck_assert_int_eq(ha.invalidations, 1);
	ck_assert_int_eq(ha.zero + hb.zero, 0);
	l2_free(a);
	l2_free(b);
}
END_TEST

START_TEST(test_subscriber_reconnect)
{
	struct hookrec ha = { 0 }, hb = { 0 };
	struct l2 *a = open_ready(1, &ha);
	struct l2 *b = open_ready(2, &hb);
	redisContext *c;
	redisReply *rep;

	c = sync_connect();
	ck_assert_ptr_nonnull(c);
	rep = redisCommand(c, "CLIENT KILL TYPE pubsub");
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(rep->type, REDIS_REPLY_INTEGER);
	ck_assert_int_eq(rep->integer, 2);
	freeReplyObject(rep);
	redisFree(c);
	/* Both resubscribe and say they may have missed invalidations. */
	ck_assert(wait_for(pred_zero, &hb, 3.0));
	ck_assert(wait_for(pred_zero, &ha, 3.0));
	ck_assert(wait_for(pred_subscribed, b, 3.0));
	/* The command connection was never affected. */
	ck_assert(l2_usable(a) && ha.opens == 0);
	ck_assert_int_eq(store_sync(a, sid1, 9, "again", 60000), L2_OK);
	ck_assert(wait_for(pred_inval, &hb, 2.0));
	ck_assert_uint_eq(hb.version, 9);
	l2_free(a);
	l2_free(b);
}
END_TEST

START_TEST(test_heartbeat_keeps_subscriber)
{
	struct hookrec h = { 0 };
	struct l2 *l = open_ready(1, &h);
	redisContext *c;
	redisReply *rep;

	/* The subscriber listens on the shared channel and a private one. */
	c = sync_connect();
	ck_assert_ptr_nonnull(c);
	rep = redisCommand(c, "PUBSUB CHANNELS t:*");
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(rep->type, REDIS_REPLY_ARRAY);
	ck_assert_uint_eq(rep->elements, 2);
	freeReplyObject(rep);
	redisFree(c);
	/*
	 * Idle past the heartbeat deadline (first ping within 1 s, then
	 * 3 s): its own pings keep the subscription; without them it would
	 * be dropped, resubscribe and report a possible gap.
	 */
	pause_loop(5.3);
	ck_assert(l2_subscribed(l) && l2_usable(l));
	ck_assert_int_eq(h.zero, 0);
	ck_assert_int_eq(h.invalidations, 0);
	l2_free(l);
}
END_TEST

START_TEST(test_slow_redis_breaker)
{
	struct hookrec h = { 0 };
	struct l2 *l = open_ready(1, &h);
	struct res r = { 0 };
	double t0;

	ck_assert_int_eq(store_sync(l, sid1, 1, "x", 60000), L2_OK);
	ck_assert_int_eq(kill(srv.pid, SIGSTOP), 0);
	t0 = ev_time();
	l2_get(l, sid1, 60000, get_cb, &r);
	ck_assert(!r.done);
	ck_assert_int_eq(l2_pending(l), 1);
	ck_assert(wait_for(pred_done, &r, 2.0));
	ck_assert_int_eq(r.result, L2_ERROR);
	ck_assert_msg(r.at - t0 < CMD_TIMEOUT_MS * 3 / 1000.0, "took %.3f s", r.at - t0);
	ck_assert_int_eq(l2_pending(l), 0);

	/* Reconnects time out too; the breaker opens. */
	ck_assert(wait_for(pred_open, &h, 5.0));
	ck_assert(!l2_usable(l));
	ck_assert(!h.up);
	memset(&r, 0, sizeof(r));
	l2_get(l, sid1, 60000, get_cb, &r);
	ck_assert(r.done);	/* at once, no network */
	ck_assert_int_eq(r.result, L2_ERROR);
	memset(&r, 0, sizeof(r));
	l2_store(l, sid1, (const uint8_t *)"0123456789abcdefg", 17, 2, 1000, done_cb, &r);
	ck_assert(r.done);
	ck_assert_int_eq(r.result, L2_ERROR);

	/* Redis recovers: the half-open probe closes the breaker. */
	ck_assert_int_eq(kill(srv.pid, SIGCONT), 0);
	ck_assert(wait_for(pred_usable, l, 5.0));
	ck_assert(h.up && !h.open);
	ck_assert_int_eq(get_sync(l, sid1, 60000).result, L2_OK);
	l2_free(l);
}
END_TEST

START_TEST(test_redis_down_and_back)
{
	struct hookrec h = { 0 };
	struct l2 *l = open_ready(1, &h);
	struct res r = { 0 };

	server_kill();
	ck_assert(wait_for(pred_unusable, l, 2.0));
	ck_assert(!h.up);
	l2_get(l, sid1, 60000, get_cb, &r);
	ck_assert(r.done);
	ck_assert_int_eq(r.result, L2_ERROR);
	ck_assert(wait_for(pred_open, &h, 5.0));

	server_start();
	ck_assert(wait_for(pred_subscribed, l, 5.0));
	ck_assert(h.up && !h.open);
	/* The new subscription may have missed invalidations: say so. */
	ck_assert(wait_for(pred_zero, &h, 2.0));
	ck_assert_int_eq(store_sync(l, sid1, 1, "back", 60000), L2_OK);
	ck_assert_int_eq(get_sync(l, sid1, 60000).result, L2_OK);
	l2_free(l);
}
END_TEST

/* A restarted server is another process: its run_id tells the caller. */
START_TEST(test_server_identity_on_each_connection)
{
	struct hookrec h = { 0 };
	struct l2 *l = open_ready(1, &h);
	char first[L2_RUN_ID_LEN + 1];

	ck_assert_int_eq(h.servers, 1);
	snprintf(first, sizeof(first), "%s", h.run_id);
	server_kill();
	ck_assert(wait_for(pred_unusable, l, 2.0));
	server_start();
	ck_assert(wait_for(pred_usable, l, 5.0));
	ck_assert_int_eq(h.servers, 2);
	ck_assert_str_ne(h.run_id, first);
	l2_free(l);
}
END_TEST

START_TEST(test_free_with_commands_in_flight)
{
	struct hookrec h = { 0 };
	struct l2 *l = open_ready(1, &h);
	struct res r[3] = { { 0 } };

	ck_assert_int_eq(kill(srv.pid, SIGSTOP), 0);
	l2_get(l, sid1, 60000, get_cb, &r[0]);
	l2_get(l, sid2, 60000, get_cb, &r[1]);
	l2_delete(l, sid1, 60000, done_cb, &r[2]);
	ck_assert_int_eq(l2_pending(l), 3);
	l2_free(l);
	for (int i = 0; i < 3; i++) {
		ck_assert(r[i].done);
		ck_assert_int_eq(r[i].result, L2_ERROR);
	}
	kill(srv.pid, SIGCONT);
	pause_loop(0.2);
}
END_TEST

/*
 * Fire-and-forget (NULL callback) delete and store on every failure path:
 * no connection yet, connection lost, breaker open, and in flight when the
 * server stops answering or the tier is freed. None may call through NULL.
 */
START_TEST(test_fire_and_forget_on_every_path)
{
	struct hookrec h = { 0 };
	struct l2 *l;
	uint8_t val[64];
	size_t n = envelope(val, 1, "x");

	l = open_l2(NULL, 1, &h);
	ck_assert_ptr_nonnull(l);
	/* Not connected yet: refused at once. */
	l2_delete(l, sid1, 60000, NULL, NULL);
	l2_store(l, sid1, val, n, 1, 1000, NULL, NULL);
	l2_get(l, sid1, 1000, NULL, NULL);
	ck_assert(wait_for(pred_subscribed, l, 3.0));

	/* In flight when the server stops: the timeout fails them. */
	ck_assert_int_eq(kill(srv.pid, SIGSTOP), 0);
	l2_delete(l, sid1, 60000, NULL, NULL);
	l2_store(l, sid2, val, n, 1, 1000, NULL, NULL);
	ck_assert_int_eq(l2_pending(l), 2);
	ck_assert(wait_for(pred_open, &h, 5.0));
	ck_assert_int_eq(l2_pending(l), 0);

	/* Breaker open: refused at once. */
	l2_delete(l, sid1, 60000, NULL, NULL);
	l2_store(l, sid1, val, n, 2, 1000, NULL, NULL);

	ck_assert_int_eq(kill(srv.pid, SIGCONT), 0);
	ck_assert(wait_for(pred_usable, l, 5.0));
	/* Connection lost (server gone). */
	server_kill();
	ck_assert(wait_for(pred_unusable, l, 2.0));
	l2_delete(l, sid1, 60000, NULL, NULL);
	l2_store(l, sid1, val, n, 3, 1000, NULL, NULL);

	/* In flight when the tier is freed. */
	server_start();
	ck_assert(wait_for(pred_usable, l, 5.0));
	ck_assert_int_eq(kill(srv.pid, SIGSTOP), 0);
	l2_delete(l, sid1, 60000, NULL, NULL);
	ck_assert_int_eq(l2_pending(l), 1);
	l2_free(l);
	kill(srv.pid, SIGCONT);
	pause_loop(0.2);
}
END_TEST

/* Fire-and-forget commands that succeed reach Redis like any other. */
START_TEST(test_fire_and_forget_delivered)
{
	struct hookrec h = { 0 };
	struct l2 *l = open_ready(1, &h);
	struct res r;

	ck_assert_int_eq(store_sync(l, sid1, 1, "x", 60000), L2_OK);
	l2_delete(l, sid1, 60000, NULL, NULL);
	r = get_sync(l, sid1, 0);
	ck_assert_int_eq(r.result, L2_OK);
	ck_assert(l2_is_tombstone(r.val, r.len));
	l2_free(l);
}
END_TEST

static struct l2 *freed_in_cb;

static void
free_in_cb(void *arg, int result, const uint8_t *val, size_t len)
{
	get_cb(arg, result, val, len);
	l2_free(freed_in_cb);
}

START_TEST(test_free_from_callback)
{
	struct hookrec h = { 0 };
	struct res r1 = { 0 }, r2 = { 0 };

	freed_in_cb = open_ready(1, &h);
	l2_get(freed_in_cb, sid1, 60000, free_in_cb, &r1);
	l2_get(freed_in_cb, sid2, 60000, get_cb, &r2);
	ck_assert(wait_for(pred_done, &r1, 2.0));
	ck_assert_int_eq(r1.result, L2_NOTFOUND);
	ck_assert(r2.done);
	ck_assert_int_eq(r2.result, L2_ERROR);
	pause_loop(0.2);
}
END_TEST

START_TEST(test_bad_urls)
{
	static const char *bad[] = {
		"", "http://127.0.0.1:6379", "rediss://127.0.0.1:6379",
		"redis://example.com:6379", "redis://127.0.0.1:0",
		"redis://127.0.0.1:70000", "redis://127.0.0.1:63x9",
		"redis://127.0.0.1:6379/x", "redis://user@127.0.0.1:6379",
		"redis://:pw@", "redis://[::1", "unix:relative/path", "unix:",
	};
	static const char *good[] = {
		"redis://127.0.0.1:6379", "redis://localhost:6379/2",
		"redis://:pw@127.0.0.1:1", "redis://u:p%40ss@127.0.0.1",
		"redis://[::1]:6379", "unix:/tmp/redis.sock",
	};
	struct hookrec h = { 0 };
	struct l2 *l;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(open_l2(bad[i], 1, &h) == NULL, "accepted %s", bad[i]);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		l = open_l2(good[i], 1, &h);
		ck_assert_msg(l != NULL, "refused %s", good[i]);
		ck_assert(!l2_usable(l));
		l2_free(l);
	}
}
END_TEST

START_TEST(test_password)
{
	struct hookrec h = { 0 }, hw = { 0 };
	char url[128];
	struct l2 *l, *w;

	snprintf(url, sizeof(url), "redis://:s3cret@127.0.0.1:%d/3", srv.port);
	l = open_l2(url, 1, &h);
	ck_assert_ptr_nonnull(l);
	ck_assert(wait_for(pred_subscribed, l, 3.0));
	ck_assert_int_eq(store_sync(l, sid1, 1, "x", 60000), L2_OK);
	ck_assert_int_eq(get_sync(l, sid1, 60000).result, L2_OK);
	/* SELECT 3 took effect: db 0 has no such key. */
	ck_assert_int_eq(sync_integer("EXISTS t:s:%s", sid1_hex), 0);

	snprintf(url, sizeof(url), "redis://:wrong@127.0.0.1:%d", srv.port);
	w = open_l2(url, 2, &hw);
	ck_assert_ptr_nonnull(w);
	ck_assert(wait_for(pred_open, &hw, 4.0));
	ck_assert(!l2_usable(w));
	l2_free(w);
	l2_free(l);
}
END_TEST

START_TEST(test_unix_socket)
{
	struct hookrec h = { 0 };
	char url[128];
	struct l2 *l;

	snprintf(url, sizeof(url), "unix:%s", srv.sock);
	l = open_l2(url, 1, &h);
	ck_assert_ptr_nonnull(l);
	ck_assert(wait_for(pred_subscribed, l, 3.0));
	ck_assert_int_eq(store_sync(l, sid1, 1, "x", 60000), L2_OK);
	ck_assert_int_eq(get_sync(l, sid1, 60000).result, L2_OK);
	l2_free(l);
}
END_TEST

static bool
log_has(const char *path, const char *needle)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return (false);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (strstr(buf, needle) != NULL);
}

START_TEST(test_eviction_policy_warning)
{
	struct hookrec h = { 0 };
	char path[64];
	struct l2 *l;

	snprintf(path, sizeof(path), "/tmp/drover-l2-log-%d", (int)getpid());
	unlink(path);
	ck_assert_int_eq(log_open(path, "off"), 0);
	l = open_ready(1, &h);
	pause_loop(0.1);
	ck_assert(log_has(path, "level=warn event=redis state=up"));
	ck_assert(log_has(path, "maxmemory-policy allkeys-lru evicts live sessions; use noeviction"));
	ck_assert(l2_usable(l));
	l2_free(l);
	log_open("-", "-");
	unlink(path);
}
END_TEST

START_TEST(test_no_warning_by_default)
{
	struct hookrec h = { 0 };
	char path[64];
	struct l2 *l;

	snprintf(path, sizeof(path), "/tmp/drover-l2-log-%d", (int)getpid());
	unlink(path);
	ck_assert_int_eq(log_open(path, "off"), 0);
	l = open_ready(1, &h);
	pause_loop(0.1);
	ck_assert(log_has(path, "event=redis state=up"));
	ck_assert(!log_has(path, "maxmemory-policy"));
	l2_free(l);
	log_open("-", "-");
	unlink(path);
}
END_TEST

static Suite *
l2_suite(void)
{
	Suite *s = suite_create("l2");
	TCase *tc = tcase_create("redis");
	TCase *tp = tcase_create("password");
	TCase *tu = tcase_create("unix");
	TCase *tn = tcase_create("url");
	TCase *tl = tcase_create("policy");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_ttl_refreshed);
	tcase_add_test(tc, test_conflict);
	tcase_add_test(tc, test_noscript_fallback);
	tcase_add_test(tc, test_delete);
	tcase_add_test(tc, test_invalidation_between_hosts);
	tcase_add_test(tc, test_subscriber_reconnect);
	tcase_add_test(tc, test_heartbeat_keeps_subscriber);
	tcase_add_test(tc, test_slow_redis_breaker);
	tcase_add_test(tc, test_redis_down_and_back);
	tcase_add_test(tc, test_server_identity_on_each_connection);
	tcase_add_test(tc, test_free_with_commands_in_flight);
	tcase_add_test(tc, test_free_from_callback);
	tcase_add_test(tc, test_fire_and_forget_on_every_path);
	tcase_add_test(tc, test_fire_and_forget_delivered);
	tcase_add_test(tc, test_no_warning_by_default);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tp, setup_pass, teardown);
	tcase_set_timeout(tp, 15);
	tcase_add_test(tp, test_password);
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(tu, setup_unix, teardown);
	tcase_set_timeout(tu, 15);
	tcase_add_test(tu, test_unix_socket);
	suite_add_tcase(s, tu);

	tcase_add_checked_fixture(tn, setup_common, teardown);
	tcase_set_timeout(tn, 5);
	tcase_add_test(tn, test_bad_urls);
	suite_add_tcase(s, tn);
	tcase_add_checked_fixture(tl, setup_lru, teardown);
	tcase_set_timeout(tl, 10);
	tcase_add_test(tl, test_eviction_policy_warning);
	suite_add_tcase(s, tl);
	return (s);
}

int
main(void)
{
	SRunner *sr;
	int failed;
	const char *bin = getenv("REDIS_SERVER");

	if (bin != NULL && *bin != '\0')
		redis_bin = bin;
	if (access(redis_bin, X_OK) != 0) {
		fprintf(stderr, "test_l2: %s not found, skipping\n", redis_bin);
		return (77);
	}
	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(l2_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
