/*
 * l2: the Redis tier of the session cache. See l2.h for the contract.
 *
 * Two hiredis 0.14 async connections share the worker's libev loop: "cmd"
 * carries GETEX, the store/delete script and this module's own PING and
 * heartbeat PUBLISH; "sub" is SUBSCRIBEd to the invalidation channel and
 * to a heartbeat channel of its own (so heartbeats reach only their sender
 * instead of every subscriber on every host).
 * hiredis 0.14 has no timeouts, so every connect and every command is
 * bounded by an ev_timer here, and a stuck connection is freed from that
 * timer and reconnected with jittered backoff.
 *
 * Lifetime rules that keep this safe:
 * - A context is never freed from inside one of its own callbacks: failures
 *   seen there are turned into a zero-delay drop timer.
 * - Each command has a record (struct req) whose hiredis callback runs
 *   exactly once, with a reply or with NULL when the context is freed. A
 *   record completed early (timeout, l2_free) is only released there.
 * - Caller code (result callbacks and hooks) may call l2_free at any time;
 *   every entry point from the loop holds l->busy so the struct outlives
 *   the frame, and checks l->dead after calling out.
 *
 * It must not block (no synchronous connect, no name lookups) and it logs
 * only its own state changes, never a password or a session id.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/random.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>

#include "cache/l2.h"
#include "cache/sid.h"
#include "common/log.h"
#include "common/util.h"

#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		5000
#define HEARTBEAT_MS		1000
#define HEARTBEAT_DEAD_MS	3000
#define DEFAULT_PORT		6379
#define SID_HEX			32
#define HOST_HEX		16

const uint8_t l2_tombstone[L2_TOMBSTONE_LEN] = {
	'd', 'e', 'l', 'e', 't', 'e', 'd', 0,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/*
 * KEYS[1] is the session key. Delete: ARGV = tombstone, ttl ms, channel,
 * message. Store: ARGV = value, version, ttl ms, channel, message. The
 * stored version sits big-endian at bytes 9..16 (1-based) of the envelope;
 * Lua numbers are doubles, exact to 2^53, far beyond any real write count.
 * A tombstone's version bytes are all ones, so every store loses to it.
 */
static const char store_script[] =
	"if #ARGV == 4 then\n"
	"  local ttl = tonumber(ARGV[2])\n"
	"  if ttl and ttl > 0 then\n"
	"    redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)\n"
	"  else\n"
	"    redis.call('SET', KEYS[1], ARGV[1])\n"
	"  end\n"
	"  redis.call('PUBLISH', ARGV[3], ARGV[4])\n"
	"  return {1, 0}\n"
	"end\n"
	"local v = tonumber(ARGV[2])\n"
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur and #cur >= 16 then\n"
	"  local cv = 0\n"
	"  for i = 9, 16 do cv = cv * 256 + string.byte(cur, i) end\n"
	"  if cv >= v then\n"
	"    if cv >= 9007199254740992 then cv = -1 end\n"
	"    return {0, cv}\n"
	"  end\n"
	"end\n"
	"local ttl = tonumber(ARGV[3])\n"
	"if ttl and ttl > 0 then\n"
	"  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)\n"
	"else\n"
	"  redis.call('SET', KEYS[1], ARGV[1])\n"
	"end\n"
	"redis.call('PUBLISH', ARGV[4], ARGV[5])\n"
	"return {1, v}\n";

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_HANDSHAKE, CONN_UP };
enum breaker { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

enum req_kind {
	REQ_GET, REQ_STORE, REQ_DELETE,		/* a caller's */
	REQ_HANDSHAKE, REQ_INFO, REQ_SCRIPT, REQ_POLICY, REQ_PROBE, REQ_HEARTBEAT
};

struct l2;

struct req {
	TAILQ_ENTRY(req) entry;
	struct l2	*l;		/* NULL once completed */
	int		 kind;
	bool		 in_redis;	/* hiredis holds a callback naming this */
	bool		 retried;	/* EVALSHA fell back to EVAL once */
	int64_t		 deadline;
	l2_get_cb	 get_cb;
	l2_done_cb	 done_cb;
	void		*arg;
	/* Script arguments kept for a NOSCRIPT retry; they point into data. */
	int		 nargs;
	const char	*args[6];
	size_t		 argslen[6];
	char		 data[];
};
TAILQ_HEAD(req_list, req);

struct conn {
	struct l2	*l;
	const char	*name;
	redisAsyncContext *ac;
	int		 state;
	int		 attempts;	/* failed connects since the last up */
	bool		 failing;	/* a drop is scheduled */
	char		 reason[160];
	ev_timer	 connect_timer;	/* connect, and for sub the SUBSCRIBE answer */
	ev_timer	 retry_timer;
	ev_timer	 drop_timer;
};

struct l2 {
	struct ev_loop	*loop;
	struct l2_hooks	 hooks;

	/* Where: a numeric address or a unix path, never a name to look up. */
	char		 host[INET6_ADDRSTRLEN];
	int		 port;
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char		 addr[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
	char		*user, *password;
	int		 db;

	char		*prefix;
	size_t		 prefix_len;
	char		*channel;
	size_t		 channel_len;
	char		*ping_channel;
	size_t		 ping_channel_len;
	char		 host_hex[HOST_HEX + 1];
	uint64_t	 host_id;
	int64_t		 connect_timeout_ms, command_timeout_ms, breaker_window_ms;
	int		 breaker_failures;

	struct conn	 cmd, sub;
	struct req_list	 pending;	/* cmd's commands, oldest deadline first */
	size_t		 npending_user;
	ev_timer	 cmd_timer;

	int		 breaker;
	int		 failures;
	ev_timer	 breaker_timer;

	ev_timer	 hb_timer;
	uint64_t	 hb_base, hb_seq;
	int64_t		 hb_since;	/* oldest heartbeat not yet seen back; 0: none */
	bool		 sub_ever;	/* subscribed before: a new one may have missed some */

	char		 sha[41];
	bool		 policy_checked;
	bool		 down_logged;
	bool		 last_up;
	int		 last_breaker;
	uint64_t	 rng;

	int		 busy;
	bool		 dead;
};

static void conn_connect(struct conn *);
static void conn_drop(struct conn *, const char *);
static void conn_gone(struct conn *, bool, const char *);
static void breaker_failure(struct l2 *);
static void probe_start(struct l2 *);

/*
 * Deadlines use the clock, not ev_now(): a caller that ran long since the
 * loop last woke must not see its command time out before it was sent.
 */
static int64_t
now_ms(const struct l2 *l)
{
	return (mono_ms());
}

static void
timer_after(struct l2 *l, ev_timer *w, int64_t ms)
{
	ev_timer_stop(l->loop, w);
	ev_timer_set(w, ms > 0 ? (double)ms / 1000.0 : 0.0, 0.0);
	ev_timer_start(l->loop, w);
}

static uint64_t
rng_next(struct l2 *l)
{
	uint64_t x = l->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	l->rng = x;
	return (x * 0x2545F4914F6CDD1DULL);
}

static void
destroy(struct l2 *l)
{
	free(l->user);
	free(l->password);
	free(l->prefix);
	free(l->channel);
	free(l->ping_channel);
	free(l);
}

static void
enter(struct l2 *l)
{
	l->busy++;
}

/* Ends a loop entry point; frees l when l2_free ran meanwhile. */
static void
leave(struct l2 *l)
{
	if (--l->busy == 0 && l->dead)
		destroy(l);
}

static void
notify_state(struct l2 *l)
{
	bool up = l2_usable(l);

	if (l->dead || (up == l->last_up && l->breaker == l->last_breaker))
		return;
	l->last_up = up;
	l->last_breaker = l->breaker;
	if (l->hooks.state != NULL)
		l->hooks.state(l->hooks.arg, up, l->breaker != BREAKER_CLOSED);
}

static const char *
quoted(char *buf, size_t cap, const char *s)
{
	return (log_quote(buf, cap, s, strlen(s)));
}

/* --- breaker --- */

static void
breaker_open(struct l2 *l)
{
	l->breaker = BREAKER_OPEN;
	log_warn("redis", "state=breaker_open addr=%s failures=%d window_ms=%lld",
	    l->addr, l->failures, (long long)l->breaker_window_ms);
	/* While open nothing is sent: the half-open probe reconnects. */
	ev_timer_stop(l->loop, &l->cmd.retry_timer);
	ev_timer_stop(l->loop, &l->sub.retry_timer);
	timer_after(l, &l->breaker_timer, l->breaker_window_ms);
	notify_state(l);
}

static void
breaker_failure(struct l2 *l)
{
	if (l->dead)
		return;
	if (l->breaker == BREAKER_HALF_OPEN) {
		breaker_open(l);
		return;
	}
	if (l->breaker == BREAKER_OPEN)
		return;
	if (++l->failures >= l->breaker_failures)
		breaker_open(l);
}

static void
breaker_success(struct l2 *l)
{
	if (!l->dead)
		l->failures = 0;
}

static void
breaker_close(struct l2 *l)
{
	l->breaker = BREAKER_CLOSED;
	l->failures = 0;
	l->hb_since = 0;
	log_info("redis", "state=breaker_closed addr=%s", l->addr);
	if (l->sub.state == CONN_DOWN && !ev_is_active(&l->sub.retry_timer)) {
		l->sub.attempts = 0;
		timer_after(l, &l->sub.retry_timer, 0);
	}
	notify_state(l);
}

/* The window is over (or a caller cannot wait for it): one probe decides. */
static void
breaker_half_open(struct l2 *l)
{
	if (l->breaker != BREAKER_OPEN)
		return;
	ev_timer_stop(l->loop, &l->breaker_timer);
	l->breaker = BREAKER_HALF_OPEN;
	log_info("redis", "state=breaker_half_open addr=%s", l->addr);
	notify_state(l);
	if (!l->dead)
		probe_start(l);
}

static void
breaker_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct l2 *l = w->data;

	enter(l);
	breaker_half_open(l);
	leave(l);
}

/* --- command records --- */

static struct req *
req_new(struct l2 *l, int kind, size_t datalen)
{
	struct req *r = calloc(1, sizeof(*r) + datalen);

	if (r == NULL)
		return (NULL);
	r->l = l;
	r->kind = kind;
	return (r);
}

static bool
req_is_user(const struct req *r)
{
	return (r->kind == REQ_GET || r->kind == REQ_STORE || r->kind == REQ_DELETE);
}

/*
 * Unlinks r and marks it completed; r is freed here unless hiredis still
 * holds its callback (then req_reply frees it later).
 */
static void
req_retire(struct req *r)
{
	struct l2 *l = r->l;

	if (l != NULL) {
		TAILQ_REMOVE(&l->pending, r, entry);
		if (req_is_user(r))
			l->npending_user--;
	}
	r->l = NULL;
	if (!r->in_redis)
		free(r);
}

/* Completes r and tells its caller; the call out is the last thing done. */
static void
req_complete(struct req *r, int result, const uint8_t *val, size_t len)
{
	l2_get_cb gcb = r->get_cb;
	l2_done_cb dcb = r->done_cb;
	void *arg = r->arg;

	req_retire(r);
	if (gcb != NULL)
		gcb(arg, result, val, len);
	else if (dcb != NULL)
		dcb(arg, result);
}

/*
 * A call that fails before anything is sent answers through these, like
 * req_complete does later: a NULL callback (fire-and-forget) is skipped.
 */
static void
get_now(l2_get_cb cb, void *arg, int result)
{
	if (cb != NULL)
		cb(arg, result, NULL, 0);
}

static void
done_now(l2_done_cb cb, void *arg, int result)
{
	if (cb != NULL)
		cb(arg, result);
}

static void req_reply(redisAsyncContext *, void *, void *);

/* Queues r on the command connection; -1 when hiredis refuses it. */
static int
req_send(struct l2 *l, struct req *r, int argc, const char **argv, const size_t *argvlen)
{
	redisAsyncContext *ac = l->cmd.ac;
	bool linked = r->in_redis || r->deadline != 0;

	if (ac == NULL)
		return (-1);
	if (redisAsyncCommandArgv(ac, req_reply, r, argc, argv, argvlen) != REDIS_OK)
		return (-1);
	r->in_redis = true;
	if (!linked) {
		r->deadline = now_ms(l) + l->command_timeout_ms;
		TAILQ_INSERT_TAIL(&l->pending, r, entry);
		if (req_is_user(r))
			l->npending_user++;
	}
	if (!ev_is_active(&l->cmd_timer))
		timer_after(l, &l->cmd_timer, r->deadline - now_ms(l));
	return (0);
}

/* An internal command on cmd; failing to queue one fails the connection. */
static void conn_fail_later(struct conn *, const char *);

static void
internal_send(struct l2 *l, int kind, int argc, const char **argv, const size_t *argvlen)
{
	struct req *r = req_new(l, kind, 0);

	if (r == NULL || req_send(l, r, argc, argv, argvlen) == -1) {
		free(r);
		conn_fail_later(&l->cmd, "cannot queue a command");
	}
}

static int
script_send(struct l2 *l, struct req *r)
{
	const char *argv[9];
	size_t argvlen[9];
	int i;

	if (r->retried) {
		argv[0] = "EVAL";
		argv[1] = store_script;
		argvlen[1] = sizeof(store_script) - 1;
	} else {
		argv[0] = "EVALSHA";
		argv[1] = l->sha;
		argvlen[1] = strlen(l->sha);
	}
	argvlen[0] = strlen(argv[0]);
	argv[2] = "1";
	argvlen[2] = 1;
	for (i = 0; i < r->nargs; i++) {
		argv[3 + i] = r->args[i];
		argvlen[3 + i] = r->argslen[i];
	}
	return (req_send(l, r, 3 + r->nargs, argv, argvlen));
}

static void
script_load(struct l2 *l, int kind)
{
	const char *argv[] = { "SCRIPT", "LOAD", store_script };
	size_t argvlen[] = { 6, 4, sizeof(store_script) - 1 };

	internal_send(l, kind, 3, argv, argvlen);
}

static void
reply_reason(char *buf, size_t cap, const char *what, const redisReply *rep)
{
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR)
		snprintf(buf, cap, "%s: %.*s", what, (int)(rep->len > 100 ? 100 : rep->len), rep->str);
	else
		snprintf(buf, cap, "%s: unexpected reply", what);
}

static void conn_up(struct conn *);

static void
handle_user(struct l2 *l, struct req *r, redisReply *rep)
{
	int result = L2_ERROR;
	bool ok = false;

	if (rep == NULL) {
		/* The connection went away; conn_gone does the accounting. */
		req_complete(r, L2_ERROR, NULL, 0);
		return;
	}
	if (r->kind == REQ_GET) {
		if (rep->type == REDIS_REPLY_NIL) {
			req_complete(r, L2_NOTFOUND, NULL, 0);
			breaker_success(l);
		} else if (rep->type == REDIS_REPLY_STRING) {
			req_complete(r, L2_OK, (const uint8_t *)rep->str, rep->len);
			breaker_success(l);
		} else {
			req_complete(r, L2_ERROR, NULL, 0);
			breaker_failure(l);
		}
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR && !r->retried &&
	    strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		/* Script cache flushed: run the text once, load it for the next. */
		r->retried = true;
		script_load(l, REQ_SCRIPT);
		if (script_send(l, r) == -1)
			req_complete(r, L2_ERROR, NULL, 0);
		return;
	}
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER) {
		ok = true;
		result = rep->element[0]->integer == 1 ? L2_OK : L2_CONFLICT;
	}
	req_complete(r, result, NULL, 0);
	if (ok)
		breaker_success(l);
	else
		breaker_failure(l);
}

/* Finds run_id in an INFO server answer and tells the hook. */
static void
server_identity(struct l2 *l, const char *p, size_t len)
{
	static const char key[] = "run_id:";
	const char *end = p + len, *at;
	char id[L2_RUN_ID_LEN + 1];
	size_t n;

	for (at = p; at + sizeof(key) - 1 <= end; at++) {
		if ((at == p || at[-1] == '\n') && memcmp(at, key, sizeof(key) - 1) == 0)
			break;
	}
	if (at + sizeof(key) - 1 > end || l->hooks.server == NULL)
		return;
	at += sizeof(key) - 1;
	for (n = 0; at + n < end && n < L2_RUN_ID_LEN && hex_digit((unsigned char)at[n]) >= 0; n++)
		id[n] = at[n];
	if (n != L2_RUN_ID_LEN)
		return;
	id[n] = '\0';
	l->hooks.server(l->hooks.arg, id);
}

static void
handle_internal(struct l2 *l, struct req *r, redisReply *rep)
{
	char reason[160], buf[200], val[64];
	int kind = r->kind;

	req_retire(r);
	if (rep == NULL)
		return;
	switch (kind) {
	case REQ_HANDSHAKE:
		if (rep->type == REDIS_REPLY_ERROR) {
			reply_reason(reason, sizeof(reason), "handshake", rep);
			conn_fail_later(&l->cmd, reason);
		}
		break;
	case REQ_SCRIPT:
		if (rep->type == REDIS_REPLY_STRING && rep->len == 40) {
			memcpy(l->sha, rep->str, 40);
			l->sha[40] = '\0';
			if (l->cmd.state == CONN_HANDSHAKE)
				conn_up(&l->cmd);
		} else if (l->cmd.state == CONN_HANDSHAKE) {
			reply_reason(reason, sizeof(reason), "SCRIPT LOAD", rep);
			conn_fail_later(&l->cmd, reason);
		}
		break;
	case REQ_INFO:
		/* Before the script's answer, so the hook hears of a new server
		 * before the state hook hears the connection is up. */
		if (rep->type == REDIS_REPLY_STRING)
			server_identity(l, rep->str, rep->len);
		break;
	case REQ_POLICY:
		/* CONFIG may be renamed or disabled: then there is nothing to check. */
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
		    rep->element[1]->type == REDIS_REPLY_STRING &&
		    strncmp(rep->element[1]->str, "allkeys-", 8) == 0) {
			snprintf(val, sizeof(val), "%.40s", rep->element[1]->str);
			snprintf(reason, sizeof(reason), "maxmemory-policy %s evicts "
			    "live sessions; use noeviction", val);
			log_warn("redis", "state=up addr=%s warning=%s", l->addr,
			    quoted(buf, sizeof(buf), reason));
		}
		break;
	case REQ_PROBE:
		if (l->breaker != BREAKER_HALF_OPEN)
			break;
		if (rep->type == REDIS_REPLY_STATUS)
			breaker_close(l);
		else
			breaker_failure(l);
		break;
	case REQ_HEARTBEAT:
		if (rep->type == REDIS_REPLY_INTEGER)
			breaker_success(l);
		else
			breaker_failure(l);
		break;
	}
}

static void
req_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct req *r = privdata;
	struct l2 *l = r->l;

	r->in_redis = false;
	if (l == NULL) {
		/* Already completed by a timeout or l2_free. */
		free(r);
		return;
	}
	enter(l);
	if (req_is_user(r))
		handle_user(l, r, reply);
	else
		handle_internal(l, r, reply);
	leave(l);
}

/* One timer for all commands: the oldest deadline is the head's. */
static void
cmd_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct l2 *l = w->data;
	struct req *r = TAILQ_FIRST(&l->pending);
	int64_t left;

	if (r == NULL)
		return;
	left = r->deadline - now_ms(l);
	if (left > 0) {
		timer_after(l, w, left);
		return;
	}
	enter(l);
	/* A slow Redis must not hold requests: fail them all and reconnect. */
	conn_drop(&l->cmd, "command timeout");
	leave(l);
}

/* --- connections --- */

static void
conn_schedule(struct conn *c)
{
	struct l2 *l = c->l;
	int64_t base, delay;
	int shift;

	if (l->dead || c->state != CONN_DOWN)
		return;
	/* An open breaker sends nothing; the probe or the close restarts us. */
	if (l->breaker != BREAKER_CLOSED)
		return;
	shift = c->attempts < 6 ? c->attempts : 6;
	base = (int64_t)BACKOFF_MIN_MS << shift;
	if (base > BACKOFF_MAX_MS)
		base = BACKOFF_MAX_MS;
	delay = base - base / 4 + (int64_t)(rng_next(l) % (uint64_t)(base / 2 + 1));
	if (delay < BACKOFF_MIN_MS)
		delay = BACKOFF_MIN_MS;
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	c->attempts++;
	timer_after(l, &c->retry_timer, delay);
}

/*
 * The connection (or the attempt) is over and its context is gone or
 * detached. Counts a failure for cmd, logs, and schedules a reconnect.
 */
static void
conn_gone(struct conn *c, bool was_up, const char *reason)
{
	struct l2 *l = c->l;
	char buf[200];

	c->state = CONN_DOWN;
	c->ac = NULL;
	c->failing = false;
	ev_timer_stop(l->loop, &c->connect_timer);
	ev_timer_stop(l->loop, &c->drop_timer);
	if (c == &l->cmd) {
		l->hb_since = 0;
		if (was_up || !l->down_logged) {
			log_warn("redis", "state=down addr=%s reason=%s", l->addr,
			    quoted(buf, sizeof(buf), reason));
			l->down_logged = true;
		}
		if (was_up)
			notify_state(l);
		breaker_failure(l);
	} else if (was_up) {
		log_warn("redis", "state=down conn=subscriber addr=%s reason=%s",
		    l->addr, quoted(buf, sizeof(buf), reason));
	}
	if (!l->dead)
		conn_schedule(c);
}

/* Frees c's context from outside its callbacks and fails what it held. */
static void
conn_drop(struct conn *c, const char *reason)
{
	struct l2 *l = c->l;
	redisAsyncContext *ac = c->ac;
	bool was_up = c->state == CONN_UP;
	char why[sizeof(c->reason)];

	if (ac == NULL && c->state == CONN_DOWN)
		return;
	snprintf(why, sizeof(why), "%s", reason);
	c->ac = NULL;
	c->state = CONN_DOWN;
	if (ac != NULL) {
		ac->data = NULL;
		/* Pending commands are called back with NULL: L2_ERROR. */
		redisAsyncFree(ac);
	}
	if (l->dead)
		return;
	conn_gone(c, was_up, why);
}

static void
drop_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;
	struct l2 *l = c->l;

	enter(l);
	if (c->failing)
		conn_drop(c, c->reason);
	leave(l);
}

/* From inside a hiredis callback: the drop must wait for the loop. */
static void
conn_fail_later(struct conn *c, const char *reason)
{
	if (c->failing || c->l->dead)
		return;
	c->failing = true;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	timer_after(c->l, &c->drop_timer, 0);
}

static void
connect_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;
	struct l2 *l = c->l;

	enter(l);
	if (c->state == CONN_CONNECTING)
		conn_drop(c, "connect timeout");
	else if (c->state == CONN_HANDSHAKE && c == &l->sub)
		conn_drop(c, "subscribe timeout");
	leave(l);
}

static void
retry_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;
	struct l2 *l = c->l;

	enter(l);
	if (c->state == CONN_DOWN)
		conn_connect(c);
	leave(l);
}

static void
conn_up(struct conn *c)
{
	struct l2 *l = c->l;

	c->state = CONN_UP;
	c->attempts = 0;
	log_info("redis", "state=up addr=%s", l->addr);
	l->down_logged = false;
	l->hb_since = 0;
	notify_state(l);
	if (!l->dead && l->breaker == BREAKER_HALF_OPEN)
		probe_start(l);
}

static void sub_reply(redisAsyncContext *, void *, void *);

static void
sub_subscribe(struct conn *c)
{
	struct l2 *l = c->l;

	if (redisAsyncCommand(c->ac, sub_reply, NULL, "SUBSCRIBE %b %b",
	    l->channel, l->channel_len, l->ping_channel, l->ping_channel_len) != REDIS_OK)
		conn_fail_later(c, "cannot queue SUBSCRIBE");
}

static void
sub_auth_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct conn *c = ac->data;
	redisReply *rep = reply;
	char reason[160];

	if (c == NULL || rep == NULL)
		return;
	enter(c->l);
	if (rep->type == REDIS_REPLY_ERROR) {
		reply_reason(reason, sizeof(reason), "AUTH", rep);
		conn_fail_later(c, reason);
	} else
		sub_subscribe(c);
	leave(c->l);
}

static void
sub_message(struct l2 *l, const char *p, size_t len)
{
	uint8_t sid[16];
	uint64_t host = 0, version = 0, n = 0;
	size_t i;
	int hi, lo;

	if (len < HOST_HEX + 2 || p[HOST_HEX] != ' ')
		return;
	for (i = 0; i < HOST_HEX; i++) {
		if ((hi = hex_digit((unsigned char)p[i])) < 0)
			return;
		host = host << 4 | (uint64_t)hi;
	}
	p += HOST_HEX + 1;
	len -= HOST_HEX + 1;
	if (len > 5 && memcmp(p, "ping ", 5) == 0) {
		if (host != l->host_id)
			return;
		for (i = 5; i < len && i < 25; i++) {
			if (p[i] < '0' || p[i] > '9')
				return;
			n = n * 10 + (uint64_t)(p[i] - '0');
		}
		if (n > l->hb_base && n <= l->hb_seq)
			l->hb_since = 0;
		return;
	}
	if (host == l->host_id)
		return;
	if (len < SID_HEX + 2 || len > SID_HEX + 1 + 20 || p[SID_HEX] != ' ')
		return;
	for (i = 0; i < 16; i++) {
		if ((hi = hex_digit((unsigned char)p[2 * i])) < 0 || (lo = hex_digit((unsigned char)p[2 * i + 1])) < 0)
			return;
		sid[i] = (uint8_t)(hi << 4 | lo);
	}
	for (i = SID_HEX + 1; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return;
		if (version > (UINT64_MAX - 9) / 10 &&
		    (version > UINT64_MAX / 10 ||
		    (uint64_t)(p[i] - '0') > UINT64_MAX - version * 10))
			return;
		version = version * 10 + (uint64_t)(p[i] - '0');
	}
	if (l->hooks.invalidate != NULL)
		l->hooks.invalidate(l->hooks.arg, sid, version);
}

static void
sub_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct conn *c = ac->data;
	redisReply *rep = reply, *kind;
	struct l2 *l;
	static const uint8_t all[16];

	if (c == NULL || rep == NULL)
		return;
	l = c->l;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
	    rep->element[0]->type != REDIS_REPLY_STRING)
		return;
	kind = rep->element[0];
	enter(l);
	if (strcasecmp(kind->str, "subscribe") == 0 && c->state == CONN_HANDSHAKE &&
	    rep->element[2]->type == REDIS_REPLY_INTEGER && rep->element[2]->integer == 2) {
		ev_timer_stop(l->loop, &c->connect_timer);
		c->state = CONN_UP;
		c->attempts = 0;
		l->hb_since = 0;
		if (l->sub_ever) {
			log_info("redis", "state=up conn=subscriber addr=%s", l->addr);
			/* Delivery is at most once: whatever was sent meanwhile is lost. */
			if (l->hooks.invalidate != NULL)
				l->hooks.invalidate(l->hooks.arg, all, 0);
		}
		l->sub_ever = true;
	} else if (strcasecmp(kind->str, "message") == 0 &&
	    rep->element[2]->type == REDIS_REPLY_STRING)
		sub_message(l, rep->element[2]->str, rep->element[2]->len);
	leave(l);
}

static void
on_connect(const redisAsyncContext *cac, int status)
{
	struct conn *c = cac->data;
	struct l2 *l;
	char why[160];

	if (c == NULL)
		return;
	l = c->l;
	enter(l);
	if (status != REDIS_OK) {
		/* hiredis frees the context after this returns. */
		snprintf(why, sizeof(why), "connect: %s",
		    cac->errstr != NULL ? cac->errstr : "failed");
		c->ac = NULL;
		conn_gone(c, false, why);
		leave(l);
		return;
	}
	c->state = CONN_HANDSHAKE;
	ev_timer_stop(l->loop, &c->connect_timer);
	if (c == &l->sub) {
		/* The SUBSCRIBE answer is bounded like a command. */
		timer_after(l, &c->connect_timer, l->command_timeout_ms);
		if (l->password != NULL) {
			int rc;

			if (l->user != NULL)
				rc = redisAsyncCommand(c->ac, sub_auth_reply, NULL,
				    "AUTH %s %s", l->user, l->password);
			else
				rc = redisAsyncCommand(c->ac, sub_auth_reply, NULL,
				    "AUTH %s", l->password);
			if (rc != REDIS_OK)
				conn_fail_later(c, "cannot queue AUTH");
		} else
			sub_subscribe(c);
		leave(l);
		return;
	}
	if (l->password != NULL) {
		const char *argv[3] = { "AUTH", NULL, NULL };
		size_t argvlen[3] = { 4, 0, 0 };
		int argc = 1;

		if (l->user != NULL) {
			argv[argc] = l->user;
			argvlen[argc++] = strlen(l->user);
		}
		argv[argc] = l->password;
		argvlen[argc++] = strlen(l->password);
		internal_send(l, REQ_HANDSHAKE, argc, argv, argvlen);
	}
	if (l->db != 0) {
		char db[16];
		const char *argv[2] = { "SELECT", db };
		size_t argvlen[2] = { 6, 0 };

		argvlen[1] = (size_t)snprintf(db, sizeof(db), "%d", l->db);
		internal_send(l, REQ_HANDSHAKE, 2, argv, argvlen);
	}
	{
		const char *argv[2] = { "INFO", "server" };
		size_t argvlen[2] = { 4, 6 };

		internal_send(l, REQ_INFO, 2, argv, argvlen);
	}
	script_load(l, REQ_SCRIPT);
	if (!l->policy_checked) {
		const char *argv[3] = { "CONFIG", "GET", "maxmemory-policy" };
		size_t argvlen[3] = { 6, 3, 16 };

		l->policy_checked = true;
		internal_send(l, REQ_POLICY, 3, argv, argvlen);
	}
	leave(l);
}

static void
on_disconnect(const redisAsyncContext *cac, int status)
{
	struct conn *c = cac->data;
	struct l2 *l;
	char why[160];

	if (c == NULL)
		return;
	l = c->l;
	enter(l);
	snprintf(why, sizeof(why), "%s", cac->errstr != NULL && cac->errstr[0] != '\0' ?
	    cac->errstr : "connection closed");
	/* hiredis frees the context after this returns. */
	c->ac = NULL;
	conn_gone(c, c->state == CONN_UP, why);
	leave(l);
}

static void
conn_connect(struct conn *c)
{
	struct l2 *l = c->l;
	redisAsyncContext *ac;
	char why[160];

	c->failing = false;
	ev_timer_stop(l->loop, &c->retry_timer);
	if (l->path[0] != '\0')
		ac = redisAsyncConnectUnix(l->path);
	else
		ac = redisAsyncConnect(l->host, l->port);
	if (ac == NULL || ac->err) {
		snprintf(why, sizeof(why), "connect: %s",
		    ac != NULL && ac->errstr != NULL ? ac->errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		conn_gone(c, false, why);
		return;
	}
	/* hiredis 0.14 opens its socket without close-on-exec: CGI scripts and
	 * FastCGI apps this worker starts must not inherit it. */
	if (fcntl(ac->c.fd, F_SETFD, FD_CLOEXEC) < 0) {
		redisAsyncFree(ac);
		conn_gone(c, false, "connect: cannot set close-on-exec");
		return;
	}
	if (redisLibevAttach(l->loop, ac) != REDIS_OK) {
		redisAsyncFree(ac);
		conn_gone(c, false, "connect: cannot attach to the loop");
		return;
	}
	ac->data = c;
	c->ac = ac;
	c->state = CONN_CONNECTING;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	timer_after(l, &c->connect_timer, l->connect_timeout_ms);
}

static void
probe_start(struct l2 *l)
{
	const char *argv[] = { "PING" };
	size_t argvlen[] = { 4 };

	if (l->cmd.state == CONN_UP)
		internal_send(l, REQ_PROBE, 1, argv, argvlen);
	else if (l->cmd.state == CONN_DOWN) {
		l->cmd.attempts = 0;
		conn_connect(&l->cmd);
	}
	/* Connecting or in the handshake: conn_up sends the probe. */
}

static void
hb_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct l2 *l = w->data;
	char msg[HOST_HEX + 32];
	const char *argv[3] = { "PUBLISH", l->ping_channel, msg };
	size_t argvlen[3] = { 7, l->ping_channel_len, 0 };

	if (l->breaker != BREAKER_CLOSED || l->cmd.state != CONN_UP ||
	    l->sub.state != CONN_UP)
		return;
	enter(l);
	/*
	 * hiredis 0.14 never answers a PING on a subscribed connection, so
	 * the subscriber proves itself alive by hearing our own messages.
	 */
	if (l->hb_since != 0 && now_ms(l) - l->hb_since > HEARTBEAT_DEAD_MS) {
		conn_drop(&l->sub, "heartbeat not received");
		leave(l);
		return;
	}
	argvlen[2] = (size_t)snprintf(msg, sizeof(msg), "%s ping %llu", l->host_hex,
	    (unsigned long long)++l->hb_seq);
	if (l->hb_since == 0)
		l->hb_since = now_ms(l);
	internal_send(l, REQ_HEARTBEAT, 3, argv, argvlen);
	leave(l);
}

/* --- URL --- */

static int
parse_port(const char *s, size_t len, int *port)
{
	long v = 0;

	if (len == 0 || len > 5)
		return (-1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return (-1);
	*port = (int)v;
	return (0);
}

static char *
decoded(const char *s, size_t len)
{
	char *d = strndup(s, len);
	long n;

	if (d == NULL)
		return (NULL);
	if ((n = percent_decode(d, len)) < 0) {
		free(d);
		return (NULL);
	}
	d[n] = '\0';
	return (d);
}

static int
parse_url(struct l2 *l, const char *url)
{
	const char *p, *at, *slash, *hp, *hpend, *colon;
	struct in6_addr a6;
	struct in_addr a4;
	size_t hlen;

	if (strncmp(url, "unix:", 5) == 0) {
		p = url + 5;
		if (strncmp(p, "//", 2) == 0)
			p += 2;
		if (p[0] != '/' || strlen(p) >= sizeof(l->path))
			return (-1);
		snprintf(l->path, sizeof(l->path), "%s", p);
		snprintf(l->addr, sizeof(l->addr), "unix:%s", p);
		return (0);
	}
	if (strncmp(url, "redis://", 8) != 0)
		return (-1);
	p = url + 8;
	if ((at = strrchr(p, '@')) != NULL) {
		if ((colon = memchr(p, ':', (size_t)(at - p))) == NULL)
			return (-1);
		if (colon > p && (l->user = decoded(p, (size_t)(colon - p))) == NULL)
			return (-1);
		if ((l->password = decoded(colon + 1, (size_t)(at - colon - 1))) == NULL)
			return (-1);
		p = at + 1;
	}
	slash = strchr(p, '/');
	hpend = slash != NULL ? slash : p + strlen(p);
	l->port = DEFAULT_PORT;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(hpend - p));

		if (rb == NULL)
			return (-1);
		hp = p + 1;
		hlen = (size_t)(rb - hp);
		if (rb + 1 < hpend) {
			if (rb[1] != ':' || parse_port(rb + 2, (size_t)(hpend - rb - 2), &l->port) == -1)
				return (-1);
		}
	} else {
		hp = p;
		colon = memchr(p, ':', (size_t)(hpend - p));
		hlen = (size_t)((colon != NULL ? colon : hpend) - p);
		if (colon != NULL &&
		    parse_port(colon + 1, (size_t)(hpend - colon - 1), &l->port) == -1)
			return (-1);
	}
	if (hlen == 0 || hlen >= sizeof(l->host))
		return (-1);
	memcpy(l->host, hp, hlen);
	l->host[hlen] = '\0';
	/* Names would need a blocking lookup: only addresses and localhost. */
	if (strcmp(l->host, "localhost") == 0)
		snprintf(l->host, sizeof(l->host), "127.0.0.1");
	if (inet_pton(AF_INET, l->host, &a4) != 1 && inet_pton(AF_INET6, l->host, &a6) != 1)
		return (-1);
	if (slash != NULL && slash[1] != '\0') {
		long db = 0;

		for (p = slash + 1; *p != '\0'; p++) {
			if (*p < '0' || *p > '9' || db > 100000000)
				return (-1);
			db = db * 10 + (*p - '0');
		}
		l->db = (int)db;
	}
	if (strchr(l->host, ':') != NULL)
		snprintf(l->addr, sizeof(l->addr), "[%s]:%d", l->host, l->port);
	else
		snprintf(l->addr, sizeof(l->addr), "%s:%d", l->host, l->port);
	return (0);
}

/* --- interface --- */

static void
conn_init(struct l2 *l, struct conn *c, const char *name)
{
	c->l = l;
	c->name = name;
	c->state = CONN_DOWN;
	ev_timer_init(&c->connect_timer, connect_timer_cb, 0.0, 0.0);
	ev_timer_init(&c->retry_timer, retry_timer_cb, 0.0, 0.0);
	ev_timer_init(&c->drop_timer, drop_timer_cb, 0.0, 0.0);
	c->connect_timer.data = c->retry_timer.data = c->drop_timer.data = c;
}

struct l2 *
l2_new(struct ev_loop *loop, const struct l2_config *cfg, const struct l2_hooks *hooks)
{
	struct l2 *l;
	const char *prefix;
	uint64_t seed;

	if (loop == NULL || cfg == NULL || cfg->url == NULL)
		return (NULL);
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	l->loop = loop;
	if (hooks != NULL)
		l->hooks = *hooks;
	if (parse_url(l, cfg->url) == -1)
		goto fail;
	prefix = cfg->key_prefix != NULL ? cfg->key_prefix : "";
	l->prefix_len = strlen(prefix);
	if ((l->prefix = strdup(prefix)) == NULL)
		goto fail;
	if (asprintf(&l->channel, "%sinvalidate", prefix) == -1) {
		l->channel = NULL;
		goto fail;
	}
	l->channel_len = strlen(l->channel);
	l->host_id = cfg->host_id;
	snprintf(l->host_hex, sizeof(l->host_hex), "%016llx", (unsigned long long)cfg->host_id);
	l->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 200;
	l->command_timeout_ms = cfg->command_timeout_ms > 0 ? cfg->command_timeout_ms : 200;
	l->breaker_window_ms = cfg->breaker_window_ms > 0 ? cfg->breaker_window_ms : 10000;
	l->breaker_failures = cfg->breaker_failures > 0 ? cfg->breaker_failures : 5;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	l->rng = seed | 1;
	l->hb_base = l->hb_seq = rng_next(l) >> 2;
	if (asprintf(&l->ping_channel, "%sping:%s:%016llx", prefix, l->host_hex,
	    (unsigned long long)rng_next(l)) == -1) {
		l->ping_channel = NULL;
		goto fail;
	}
	l->ping_channel_len = strlen(l->ping_channel);

	TAILQ_INIT(&l->pending);
	conn_init(l, &l->cmd, "cmd");
	conn_init(l, &l->sub, "sub");
	ev_timer_init(&l->cmd_timer, cmd_timer_cb, 0.0, 0.0);
	ev_timer_init(&l->breaker_timer, breaker_timer_cb, 0.0, 0.0);
	ev_timer_init(&l->hb_timer, hb_timer_cb, HEARTBEAT_MS / 1000.0, HEARTBEAT_MS / 1000.0);
	l->cmd_timer.data = l->breaker_timer.data = l->hb_timer.data = l;
	ev_timer_start(loop, &l->hb_timer);
	/* Connect from the loop, so no hook runs inside l2_new. */
	timer_after(l, &l->cmd.retry_timer, 0);
	timer_after(l, &l->sub.retry_timer, 0);
	return (l);
fail:
	destroy(l);
	return (NULL);
}

static void
conn_stop(struct conn *c)
{
	struct l2 *l = c->l;
	redisAsyncContext *ac = c->ac;

	ev_timer_stop(l->loop, &c->connect_timer);
	ev_timer_stop(l->loop, &c->retry_timer);
	ev_timer_stop(l->loop, &c->drop_timer);
	c->ac = NULL;
	c->state = CONN_DOWN;
	if (ac != NULL) {
		ac->data = NULL;
		/* Inside one of ac's callbacks hiredis defers this until it returns. */
		redisAsyncFree(ac);
	}
}

void
l2_free(struct l2 *l)
{
	struct req *r;

	if (l == NULL || l->dead)
		return;
	l->dead = true;
	enter(l);
	ev_timer_stop(l->loop, &l->cmd_timer);
	ev_timer_stop(l->loop, &l->breaker_timer);
	ev_timer_stop(l->loop, &l->hb_timer);
	/* Records stay allocated until hiredis calls them back with NULL. */
	while ((r = TAILQ_FIRST(&l->pending)) != NULL)
		req_complete(r, L2_ERROR, NULL, 0);
	conn_stop(&l->cmd);
	conn_stop(&l->sub);
	leave(l);
}

bool
l2_usable(const struct l2 *l)
{
	return (l != NULL && !l->dead && l->breaker == BREAKER_CLOSED &&
	    l->cmd.state == CONN_UP && l->cmd.ac != NULL);
}

void
l2_retry_now(struct l2 *l)
{
	if (l == NULL || l->dead)
		return;
	enter(l);
	if (l->breaker == BREAKER_OPEN)
		breaker_half_open(l);
	else if (l->breaker == BREAKER_CLOSED && l->cmd.state == CONN_DOWN &&
	    ev_is_active(&l->cmd.retry_timer))
		timer_after(l, &l->cmd.retry_timer, 0);
	leave(l);
}

bool
l2_subscribed(const struct l2 *l)
{
	return (l != NULL && !l->dead && l->sub.state == CONN_UP);
}

size_t
l2_pending(const struct l2 *l)
{
	return (l != NULL ? l->npending_user : 0);
}

static size_t
key_write(const struct l2 *l, char *out, const uint8_t sid[16])
{
	char hex[SID_HEX_LEN + 1];

	sid_hex(sid, hex);
	memcpy(out, l->prefix, l->prefix_len);
	memcpy(out + l->prefix_len, "s:", 2);
	memcpy(out + l->prefix_len + 2, hex, SID_HEX_LEN);
	return (l->prefix_len + 2 + SID_HEX_LEN);
}

void
l2_get(struct l2 *l, const uint8_t sid[16], int64_t ttl_ms, l2_get_cb cb, void *arg)
{
	struct req *r;
	char ttl[24];
	const char *argv[4];
	size_t argvlen[4];
	int argc = 2;

	if (!l2_usable(l) || (r = req_new(l, REQ_GET, l->prefix_len + 2 + SID_HEX_LEN)) == NULL) {
		get_now(cb, arg, L2_ERROR);
		return;
	}
	r->get_cb = cb;
	r->arg = arg;
	argv[1] = r->data;
	argvlen[1] = key_write(l, r->data, sid);
	if (ttl_ms > 0) {
		argv[0] = "GETEX";
		argv[2] = "PX";
		argvlen[2] = 2;
		argv[3] = ttl;
		argvlen[3] = (size_t)snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
		argc = 4;
	} else
		argv[0] = "GET";
	argvlen[0] = strlen(argv[0]);
	if (req_send(l, r, argc, argv, argvlen) == -1) {
		free(r);
		get_now(cb, arg, L2_ERROR);
	}
}

/* Appends one script argument to r->data at *off. */
static void
arg_add(struct req *r, size_t *off, const void *p, size_t len)
{
	memcpy(r->data + *off, p, len);
	r->args[r->nargs] = r->data + *off;
	r->argslen[r->nargs++] = len;
	*off += len;
}

static void
script_call(struct l2 *l, int kind, const uint8_t sid[16], const uint8_t *val,
    size_t len, uint64_t version, int64_t ttl_ms, l2_done_cb cb, void *arg)
{
	struct req *r;
	char key[512], msg[HOST_HEX + SID_HEX + 32], ver[24], ttl[24], hex[SID_HEX_LEN + 1];
	size_t klen, mlen, vlen, tlen, off = 0;

	if (!l2_usable(l) || l->prefix_len + 2 + SID_HEX > sizeof(key)) {
		done_now(cb, arg, L2_ERROR);
		return;
	}
	klen = key_write(l, key, sid);
	sid_hex(sid, hex);
	mlen = (size_t)snprintf(msg, sizeof(msg), "%s %s %llu", l->host_hex, hex,
	    (unsigned long long)version);
	vlen = (size_t)snprintf(ver, sizeof(ver), "%llu", (unsigned long long)version);
	tlen = (size_t)snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
	if ((r = req_new(l, kind, klen + len + sizeof(l2_tombstone) + vlen + tlen +
	    l->channel_len + mlen)) == NULL) {
		done_now(cb, arg, L2_ERROR);
		return;
	}
	r->done_cb = cb;
	r->arg = arg;
	arg_add(r, &off, key, klen);
	if (kind == REQ_STORE) {
		arg_add(r, &off, val, len);
		arg_add(r, &off, ver, vlen);
	} else
		arg_add(r, &off, l2_tombstone, sizeof(l2_tombstone));
	arg_add(r, &off, ttl, tlen);
	arg_add(r, &off, l->channel, l->channel_len);
	arg_add(r, &off, msg, mlen);
	/* The key goes first in argv as KEYS[1]; script_send adds the rest. */
	if (script_send(l, r) == -1) {
		free(r);
		done_now(cb, arg, L2_ERROR);
	}
}

void
l2_store(struct l2 *l, const uint8_t sid[16], const uint8_t *val, size_t len,
    uint64_t version, int64_t ttl_ms, l2_done_cb cb, void *arg)
{
	script_call(l, REQ_STORE, sid, val, len, version, ttl_ms, cb, arg);
}

void
l2_delete(struct l2 *l, const uint8_t sid[16], int64_t ttl_ms, l2_done_cb cb, void *arg)
{
	script_call(l, REQ_DELETE, sid, NULL, 0, UINT64_MAX, ttl_ms, cb, arg);
}

bool
l2_is_tombstone(const uint8_t *val, size_t len)
{
	return (val != NULL && len == sizeof(l2_tombstone) &&
	    memcmp(val, l2_tombstone, sizeof(l2_tombstone)) == 0);
}
