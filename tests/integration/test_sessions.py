"""Sessions end to end (docs/design.md §7): the counter app across workers,
reloads, crashes, restarts, hosts and Redis outages, with the accounting of
§8 checked along the way."""
import os
import re
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import BUILDDIR, CGI_DIR, Drover, free_port, request, wait_until

REDIS = "/usr/bin/redis-server"
SECRET = "DROVER_SECRET_KEYS"


class Visitor:
    """A browser: keeps the session cookie between requests."""

    def __init__(self, port):
        self.port = port
        self.cookie = None

    def get(self, path="/counter.cgi", headers=None):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
        st, hdrs, body = request(self.port, "GET", path, headers=h)
        sc = hdrs.get("set-cookie")
        if sc:
            pair = sc.split(";", 1)[0]
            self.cookie = None if "Max-Age=0" in sc else pair
        return st, hdrs, body.decode()

    def count(self, path="/counter.cgi"):
        st, _, body = self.get(path)
        assert st == 200, (st, body)
        m = re.search(r"count=(\d+) status=(\w+) version=(\d+)", body)
        return int(m.group(1)), m.group(2), int(m.group(3))


class RedisServer:
    def __init__(self, port=None):
        self.port = port or free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: socket.create_connection(("127.0.0.1", self.port), 0.5).close() or True, 10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def cmd(self, *args):
        """A tiny RESP client: enough for GET/SET/KEYS in tests."""
        s = socket.create_connection(("127.0.0.1", self.port), 2)
        try:
            out = b"*%d\r\n" % len(args)
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(out)
            f = s.makefile("rb")
            return _read_resp(f)
        finally:
            s.close()

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port


def _read_resp(f):
    line = f.readline().rstrip(b"\r\n")
    t, rest = line[:1], line[1:]
    if t in (b"+", b"-"):
        return rest
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data
    if t == b"*":
        return [_read_resp(f) for _ in range(int(rest))]
    raise ValueError(line)


class L1Sessions(unittest.TestCase):
    """The embedded default: one host, no Redis."""

    def setUp(self):
        self.d = Drover(workers=4).wait_ready(4)

    def tearDown(self):
        self.d.stop()

    def test_count_exact_across_workers(self):
        v = Visitor(self.d.port)
        self.assertEqual(v.count()[:2], (1, "miss"))
        for i in range(2, 41):
            c, status, ver = v.count()
            self.assertEqual(c, i)
            self.assertEqual(status, "hit")
            self.assertEqual(ver, i - 1)
        served = [w["requests"] for w in self.d.status()["workers"]]
        self.assertGreater(sum(1 for s in served if s > 0), 1, "requests spread over workers")
        m = self.d.metrics()
        self.assertEqual(m['drover_session_lookups_total{result="hit"}'], 39)
        self.assertEqual(m['drover_session_lookups_total{result="miss"}'], 1)
        self.assertEqual(m['drover_session_stores_total{result="ok"}'], 40)
        self.assertEqual(m["drover_session_cache_entries"], 1)
        self.assertIn("event=session result=hit sid=", self.d.read_log())
        # No Redis: nothing to be up or down, so no sample a naive alert could see.
        self.assertEqual(m["drover_redis_configured"], 0)
        self.assertNotIn("drover_redis_up", m)
        self.assertNotIn("drover_redis_breaker_open", m)

    def test_survives_hup_and_sigkill_of_every_worker(self):
        v = Visitor(self.d.port)
        for _ in range(5):
            v.count()
        old = self.d.worker_pids()
        self.d.signal(signal.SIGHUP)
        wait_until(lambda: not set(old) & set(self.d.worker_pids()) and len(self.d.worker_pids()) == 4, 20)
        self.assertEqual(v.count()[:2], (6, "hit"))
        for pid in self.d.worker_pids():
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: len(self.d.worker_pids()) == 4, 20)
        self.assertEqual(v.count()[:2], (7, "hit"))

    def test_forged_and_tampered_cookies_are_new_visitors(self):
        v = Visitor(self.d.port)
        v.count()
        good = v.cookie
        name, value = good.split("=", 1)
        bad = value[:-1] + ("A" if value[-1] != "A" else "B")
        for forged in (name + "=" + bad, name + "=0123", name + "=" + "0" * 32 + "." + "A" * 43):
            w = Visitor(self.d.port)
            w.cookie = forged
            c, status, _ = w.count()
            self.assertEqual((c, status), (1, "miss"))
            self.assertNotEqual(w.cookie, forged)
        self.assertIn("result=tampered", self.d.read_log())
        self.assertGreaterEqual(self.d.metrics()["drover_session_tampered_total"], 3)

    def test_delete_and_renew(self):
        v = Visitor(self.d.port)
        v.count()
        v.count()
        first = v.cookie
        c, _, _ = v.count("/counter.cgi?renew=1")
        self.assertEqual(c, 3)
        self.assertNotEqual(v.cookie, first, "renew must hand out a fresh id")
        old = Visitor(self.d.port)
        old.cookie = first
        self.assertEqual(old.count()[:2], (1, "miss"), "the old id carries no state after renew")
        self.assertEqual(v.count()[:2], (4, "hit"))
        deleted = v.cookie
        st, hdrs, _ = v.get("/counter.cgi?delete=1")
        self.assertEqual(st, 200)
        self.assertIn("Max-Age=0", hdrs.get("set-cookie", ""))
        self.assertEqual(v.count()[:2], (1, "miss"))
        # A replayed deleted (or renewed-away) id is a new visitor every
        # time: its tombstone keeps it from being taken up again.
        for gone in (deleted, deleted, first):
            replay = Visitor(self.d.port)
            replay.cookie = gone
            self.assertEqual(replay.count()[:2], (1, "miss"))
            self.assertNotEqual(replay.cookie, gone, "the deleted id was adopted again")

    def test_cookie_only_once_something_is_stored(self):
        # Pages that keep no state stay cacheable and quiet in the log.
        for path in ("/hello.cgi", "/no-such-script.cgi"):
            st, hdrs, _ = request(self.d.port, "GET", path)
            self.assertIn(st, (200, 404))
            self.assertNotIn("set-cookie", hdrs, path)
        m = self.d.metrics()
        self.assertEqual(m["drover_session_cache_entries"], 0)
        self.assertNotIn("result=miss", self.d.read_log())
        v = Visitor(self.d.port)
        self.assertEqual(v.count()[:2], (1, "miss"))
        self.assertIsNotNone(v.cookie, "a store sets the cookie")
        self.assertEqual(len(re.findall(r"level=info event=session result=miss", self.d.read_log())), 1)
        self.assertEqual(v.count()[:2], (2, "hit"))

    def test_unstored_miss_logged_at_debug(self):
        self.d.stop()
        self.d = Drover(workers=1, sets=["log.level=debug"]).wait_ready(1)
        st, hdrs, _ = request(self.d.port, "GET", "/hello.cgi")
        self.assertEqual(st, 200)
        self.assertNotIn("set-cookie", hdrs)
        wait_until(lambda: "level=debug event=session result=miss" in self.d.read_log(), 5)

    def test_upper_case_id_is_a_new_visitor(self):
        v = Visitor(self.d.port)
        v.count()
        name, value = v.cookie.split("=", 1)
        sid, mac = value.split(".")
        self.assertRegex(sid, "[a-f]", "the id has a letter to change")
        w = Visitor(self.d.port)
        w.cookie = "%s=%s.%s" % (name, sid.upper(), mac)
        self.assertEqual(w.count()[:2], (1, "miss"))
        self.assertNotIn(sid, w.cookie)
        self.assertEqual(v.count()[:2], (2, "hit"))

    def test_samesite_none_always_secure(self):
        self.d.stop()
        self.d = Drover(workers=1, sets=["session.cookie_samesite=None"]).wait_ready(1)
        st, hdrs, _ = Visitor(self.d.port).get()
        self.assertEqual(st, 200)
        self.assertIn("SameSite=None", hdrs["set-cookie"])
        self.assertIn("; Secure", hdrs["set-cookie"])
        from harness import DROVER
        r = subprocess.run([DROVER, "--cgi", CGI_DIR, "--bind", "127.0.0.1:%d" % free_port(), "-t",
                            "--set", "session.cookie_samesite=None", "--set", "session.cookie_secure=false"],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"cookie_samesite = None", r.stdout + r.stderr)

    def test_session_headers_never_reach_the_client(self):
        v = Visitor(self.d.port)
        st, hdrs, _ = v.get()
        self.assertEqual(st, 200)
        self.assertFalse([h for h in hdrs if h.startswith("drover-session")])
        self.assertIn("HttpOnly", hdrs["set-cookie"])
        self.assertIn("SameSite=Lax", hdrs["set-cookie"])
        self.assertNotIn("Secure", hdrs["set-cookie"])

    def test_bad_base64_from_app_not_stored_response_served(self):
        self.d.stop()
        here = os.path.dirname(os.path.abspath(__file__))
        self.d = Drover(workers=1, cgi=os.path.join(here, "cgi-bin")).wait_ready(1)
        v = Visitor(self.d.port)
        st, hdrs, body = v.get("/badsession.cgi")
        self.assertEqual((st, body), (200, "served anyway\n"))
        self.assertNotIn("drover-session", hdrs)
        m = self.d.metrics()
        self.assertEqual(m['drover_session_stores_total{result="error"}'], 1)
        self.assertEqual(m['drover_session_stores_total{result="ok"}'], 0)
        self.assertIn("error=bad_base64", self.d.read_log())

    def test_oversize_snapshot_is_dropped_response_served(self):
        self.d.stop()
        self.d = Drover(workers=1, sets=["session.max_value_bytes=1K", "session.warn_value_bytes=512"]).wait_ready(1)
        v = Visitor(self.d.port)
        self.assertEqual(v.count()[0], 1)
        st, _, body = v.get("/counter.cgi?pad=5000")
        self.assertEqual(st, 200)
        self.assertIn("count=2", body)
        self.assertEqual(v.count()[0], 2, "the oversize snapshot was not stored")
        self.assertEqual(self.d.metrics()['drover_session_stores_total{result="oversize"}'], 1)
        self.assertIn("result=oversize", self.d.read_log())


@unittest.skipUnless(os.path.exists(REDIS), "redis-server not installed")
class RedisSessions(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer()
        self.env = {"REDIS_URL": self.redis.url, SECRET: "test-key-one"}
        self.drovers = []

    def start(self, workers=2, sets=(), env=None):
        e = dict(self.env)
        e.update(env or {})
        d = Drover(workers=workers, env=e, sets=list(sets)).wait_ready(workers)
        self.drovers.append(d)
        wait_until(lambda: d.metrics()["drover_redis_up"] == 1, 10)
        return d

    def tearDown(self):
        for d in self.drovers:
            d.stop()
        self.redis.stop()

    def redis_keys(self):
        return self.redis.cmd("KEYS", "drover:*")

    def test_refuses_redis_without_secret(self):
        e = dict(os.environ, REDIS_URL=self.redis.url)
        e.pop(SECRET, None)
        from harness import DROVER
        r = subprocess.run([DROVER, "--cgi", CGI_DIR, "--bind", "127.0.0.1:%d" % free_port(), "-t"],
                           env=e, capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"secret_keys", r.stdout + r.stderr)

    def test_scripts_inherit_no_sockets(self):
        here = os.path.dirname(os.path.abspath(__file__))
        d = Drover(workers=1, cgi=os.path.join(here, "cgi-bin"),
                   env=self.env).wait_ready(1)
        self.drovers.append(d)
        wait_until(lambda: d.metrics()["drover_redis_up"] == 1, 10)
        st, _, body = request(d.port, "GET", "/sockets.cgi")
        self.assertEqual(st, 200)
        self.assertEqual(body.strip(), b"0", "a script inherited drover's sockets")

    def test_full_restart_rebuilds_from_redis(self):
        d = self.start()
        v = Visitor(d.port)
        for i in range(1, 4):
            self.assertEqual(v.count()[0], i)
        wait_until(lambda: len(self.redis_keys()) == 1, 5)
        d.stop()
        d2 = self.start()
        v.port = d2.port
        c, status, ver = v.count()
        self.assertEqual((c, status, ver), (4, "rebuild", 3))
        self.assertEqual(v.count()[:2], (5, "hit"))
        m = d2.metrics()
        self.assertEqual(m['drover_session_lookups_total{result="rebuild"}'], 1)

    def test_two_hosts_share_one_redis(self):
        a = self.start()
        b = self.start()
        v = Visitor(a.port)

        def switch(d):
            # A write reaches the other host's L1 through Redis pub/sub after
            # the response has left: a user switching hosts inside that window
            # would read the previous version (and its write would then be
            # refused as a conflict). Real users take longer than this pause.
            time.sleep(0.3)
            v.port = d.port

        self.assertEqual(v.count()[0], 1)
        switch(b)
        self.assertEqual(v.count()[:2], (2, "rebuild"))
        switch(a)
        # a's copy is older than b's write: the invalidation dropped it.
        self.assertEqual(v.count()[:2], (3, "rebuild"))
        switch(b)
        self.assertEqual(v.count()[:2], (4, "rebuild"))
        self.assertEqual(a.metrics()['drover_session_stores_total{result="conflict"}'], 0)
        self.assertEqual(b.metrics()['drover_session_stores_total{result="conflict"}'], 0)

    def test_redis_down_requests_continue_and_writes_flush_later(self):
        d = self.start(sets=["redis.breaker_failures=2", "redis.breaker_window=1"])
        v = Visitor(d.port)
        v.count()
        self.redis.stop()
        t0 = time.monotonic()
        for i in range(2, 12):
            self.assertEqual(v.count()[0], i)
        self.assertLess(time.monotonic() - t0, 10)
        wait_until(lambda: d.metrics()["drover_redis_up"] == 0, 10)
        self.redis.start()
        # Once the breaker closes, the dirty entry reaches Redis.
        def flushed():
            raw = self.redis.cmd("KEYS", "drover:*")
            if not raw:
                return False
            val = self.redis.cmd("GET", raw[0])
            return val is not None and int.from_bytes(val[8:16], "big") == 11
        wait_until(flushed, 20)

    def test_delete_and_renew_during_an_outage_and_with_the_breaker_open(self):
        # Both send a fire-and-forget Redis delete; while Redis is down or
        # the breaker is open that call fails at once, and must not crash.
        d = self.start(workers=1, sets=["redis.breaker_failures=2", "redis.breaker_window=30"])
        pids = d.worker_pids()
        users = [Visitor(d.port) for _ in range(4)]
        for u in users:
            u.count()
            u.count()

        def renew_and_delete(renewer, deleter):
            self.assertEqual(renewer.count("/counter.cgi?renew=1")[0], 3)
            st, hdrs, _ = deleter.get("/counter.cgi?delete=1")
            self.assertEqual(st, 200)
            self.assertIn("Max-Age=0", hdrs.get("set-cookie", ""))

        self.redis.stop()
        wait_until(lambda: d.metrics()["drover_redis_up"] == 0, 10)
        renew_and_delete(users[0], users[1])
        wait_until(lambda: d.metrics()["drover_redis_breaker_open"] == 1, 10)
        renew_and_delete(users[2], users[3])
        self.assertEqual(d.worker_pids(), pids, "a worker died")
        self.assertEqual(users[0].count()[:2], (4, "hit"))

    def test_lookup_redis_cannot_answer_is_unavailable_and_blind_stores_refused(self):
        # Host b's L1 has never seen the user: its lookups need Redis.
        a = self.start()
        b = self.start(sets=["redis.breaker_failures=2", "redis.breaker_window=2"])
        v = Visitor(a.port)
        for i in range(1, 4):
            self.assertEqual(v.count()[0], i)
        key = wait_until(lambda: self.redis_keys(), 5)[0]
        wait_until(lambda: int.from_bytes(self.redis.cmd("GET", key)[8:16], "big") == 3, 5)
        v.port = b.port
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        try:
            # The lookup times out: not a miss, and the app's write of a
            # fresh count must not replace the state it never saw.
            self.assertEqual(v.count()[:2], (1, "unavailable"))
            wait_until(lambda: b.metrics()["drover_redis_breaker_open"] == 1, 10)
            # With the breaker open the answer is immediate and the same.
            self.assertEqual(v.count()[:2], (1, "unavailable"))
        finally:
            os.kill(self.redis.proc.pid, signal.SIGCONT)
        m = b.metrics()
        self.assertEqual(m['drover_session_lookups_total{result="unavailable"}'], 2)
        self.assertEqual(m['drover_session_lookups_total{result="miss"}'], 0)
        self.assertEqual(m['drover_session_stores_total{result="unavailable"}'], 2)
        self.assertEqual(m['drover_session_stores_total{result="ok"}'], 0)
        self.assertIn("result=refused", b.read_log())
        self.assertEqual(int.from_bytes(self.redis.cmd("GET", key)[8:16], "big"), 3)
        wait_until(lambda: b.metrics()["drover_redis_breaker_open"] == 0, 10)
        self.assertEqual(v.count()[:2], (4, "rebuild"))

    def test_an_app_may_force_a_store_after_an_unavailable_lookup(self):
        d = self.start(sets=["redis.breaker_failures=1", "redis.breaker_window=30"])
        v = Visitor(d.port)
        v.count()
        d.stop()
        d = self.start(sets=["redis.breaker_failures=1", "redis.breaker_window=30"])
        v.port = d.port
        self.redis.stop()
        wait_until(lambda: d.metrics()["drover_redis_breaker_open"] == 1, 10)
        self.assertEqual(v.count("/counter.cgi?force=1")[:2], (1, "unavailable"))
        self.assertEqual(v.count()[:2], (2, "hit"))
        self.assertEqual(d.metrics()['drover_session_stores_total{result="ok"}'], 2)

    def test_deleted_id_is_never_adopted_again_on_another_host(self):
        a = self.start()
        b = self.start()
        v = Visitor(a.port)
        v.count()
        old = v.cookie
        v.get("/counter.cgi?delete=1")
        key = wait_until(lambda: self.redis_keys(), 5)[0]
        wait_until(lambda: int.from_bytes(self.redis.cmd("GET", key)[8:16], "big") == 2 ** 64 - 1, 5)
        self.assertGreater(self.redis.cmd("PTTL", key), 0, "a tombstone ends with its TTL")
        replay = Visitor(b.port)
        replay.cookie = old
        self.assertEqual(replay.count()[:2], (1, "miss"))
        self.assertNotEqual(replay.cookie, old)

    def test_cookie_from_an_old_key_is_reissued_under_the_current_one(self):
        a = self.start(env={SECRET: "key-one"})
        v = Visitor(a.port)
        v.count()
        wait_until(lambda: self.redis_keys(), 5)
        a.stop()
        b = self.start(env={SECRET: "key-two,key-one"})
        v.port = b.port
        old = v.cookie
        self.assertEqual(v.count()[:2], (2, "rebuild"))
        self.assertNotEqual(v.cookie, old, "not re-issued under the current key")
        self.assertEqual(v.cookie.split(".")[0], old.split(".")[0], "same id")
        b.stop()
        c = self.start(env={SECRET: "key-two"})
        v.port = c.port
        self.assertEqual(v.count()[:2], (3, "rebuild"))

    def test_stores_skipped_with_the_breaker_open_are_not_redis_errors(self):
        d = self.start(sets=["redis.breaker_failures=2", "redis.breaker_window=30"])
        self.assertEqual(d.metrics()["drover_redis_configured"], 1)
        v = Visitor(d.port)
        v.count()
        self.redis.stop()
        wait_until(lambda: d.metrics()["drover_redis_breaker_open"] == 1, 10)
        before = d.metrics()
        for i in range(2, 7):
            self.assertEqual(v.count()[:2], (i, "hit"))
        m = d.metrics()
        self.assertEqual(m["drover_redis_errors_total"], before["drover_redis_errors_total"],
                         "nothing was sent, nothing failed")
        self.assertEqual(m['drover_session_stores_total{result="skipped_breaker"}'] -
                         before['drover_session_stores_total{result="skipped_breaker"}'], 5)
        self.assertEqual(m['drover_session_stores_total{result="ok"}'], 6)

    def redis_version(self, v):
        sid = v.cookie.split("=", 1)[1].split(".")[0]
        val = self.redis.cmd("GET", "drover:s:" + sid)
        return None if val is None else int.from_bytes(val[8:16], "big")

    def test_term_during_a_redis_pause_loses_no_acknowledged_write(self):
        # A window long enough that only the drain's own probes can get the
        # writes out before the workers' graceful bound.
        d = self.start(sets=["redis.breaker_failures=2", "redis.breaker_window=60"])
        users = [Visitor(d.port) for _ in range(8)]
        for u in users:
            u.count()
        wait_until(lambda: all(self.redis_version(u) == 1 for u in users), 5)
        acked = [None] * len(users)

        def write(i):
            acked[i] = users[i].count()[0]   # count n is stored as version n

        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        paused = time.monotonic()
        try:
            threads = [threading.Thread(target=write, args=(i,)) for i in range(len(users))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            self.assertEqual(acked, [2] * len(users))
            time.sleep(max(0.0, paused + 0.3 - time.monotonic()))
            d.signal(signal.SIGTERM)
            # Redis stays paused until a drain's probe has failed on it (or
            # drover is gone without trying).
            def probe_failed():
                log = d.read_log()
                return "breaker_open" in log[log.index("state=draining"):]
            wait_until(lambda: d.proc.poll() is not None or probe_failed(), 10)
        finally:
            os.kill(self.redis.proc.pid, signal.SIGCONT)
        d.proc.wait(30)
        self.assertEqual([self.redis_version(u) for u in users], acked, "acknowledged writes lost")
        self.assertNotIn("lost_at_exit", d.read_log())

    def test_writes_that_cannot_be_flushed_are_counted_at_exit(self):
        d = self.start(sets=["redis.breaker_failures=1", "server.graceful_timeout=1"])
        users = [Visitor(d.port) for _ in range(3)]
        self.redis.stop()
        wait_until(lambda: d.metrics()["drover_redis_up"] == 0, 10)
        for u in users:
            u.count()
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        d.proc.wait(30)
        self.assertLess(time.monotonic() - t0, 10, "the drain bound holds with Redis gone")
        self.assertIn("result=lost_at_exit count=3", d.read_log())

    def test_redis_restarted_empty_gets_sessions_back_from_l1(self):
        a = self.start()
        v = Visitor(a.port)
        for i in range(1, 4):
            self.assertEqual(v.count()[0], i)
        wait_until(lambda: self.redis_version(v) == 3, 5)
        self.redis.stop()
        self.redis.start()   # same port, no persistence: empty
        self.assertIsNone(self.redis_version(v))
        wait_until(lambda: "state=server_changed" in a.read_log(), 15)
        wait_until(lambda: a.metrics()["drover_redis_up"] == 1, 15)
        # The session is only read here (hello.cgi stores nothing).
        st, _, _ = v.get("/hello.cgi")
        self.assertEqual(st, 200)
        wait_until(lambda: self.redis_version(v) == 3, 5)
        b = self.start()
        v.port = b.port
        self.assertEqual(v.count()[:2], (4, "rebuild"))

    def test_redis_restarted_empty_gets_idle_sessions_back_unasked(self):
        # Issue 12, finding 7: sessions nobody uses after the restart come
        # back too, byte for byte, and a deleted id comes back as a tombstone.
        a = self.start()
        visitors = [Visitor(a.port) for _ in range(6)]
        for i, v in enumerate(visitors):
            for _ in range(i + 1):
                v.count()
        gone = visitors.pop()
        gone.get("/counter.cgi?delete=1")
        keys = [b"drover:s:" + v.cookie.split("=", 1)[1].split(".")[0].encode()
                for v in visitors]
        wait_until(lambda: len(self.redis_keys()) == len(visitors) + 1, 10)
        wait_until(lambda: all(self.redis_version(v) == i + 1 for i, v in enumerate(visitors)), 10)
        before = {k: self.redis.cmd("GET", k) for k in self.redis_keys()}
        tomb = [k for k, val in before.items() if k not in keys]
        self.assertEqual(len(tomb), 1)
        self.assertEqual(int.from_bytes(before[tomb[0]][8:16], "big"), 2 ** 64 - 1)
        self.redis.stop()
        self.redis.start()   # same port, no persistence: empty
        self.assertEqual(self.redis_keys(), [])
        # No request from here on: L1 alone must put every entry back.
        wait_until(lambda: {k: self.redis.cmd("GET", k) for k in self.redis_keys()} == before, 15)
        self.assertIn("state=resynced", a.read_log())

    def test_tampered_redis_value_is_rejected(self):
        a = self.start()
        v = Visitor(a.port)
        v.count()
        v.count()
        key = wait_until(lambda: self.redis_keys(), 5)[0]
        val = bytearray(self.redis.cmd("GET", key))
        val[-1] ^= 1
        self.redis.cmd("SET", key, bytes(val))
        b = self.start()
        v.port = b.port
        c, status, _ = v.count()
        self.assertEqual((c, status), (1, "miss"))
        self.assertIn("result=tampered", b.read_log())

    def test_concurrent_writer_conflict_is_counted_never_merged(self):
        a = self.start()
        v = Visitor(a.port)
        v.count()
        key = wait_until(lambda: self.redis_keys(), 5)[0]
        wait_until(lambda: int.from_bytes(self.redis.cmd("GET", key)[8:16], "big") == 1, 5)
        # Another host wrote version 100 and its invalidation never arrived:
        # the version field is all the store script compares.
        val = bytearray(self.redis.cmd("GET", key))
        val[8:16] = (100).to_bytes(8, "big")
        self.redis.cmd("SET", key, bytes(val))
        c, status, _ = v.count()
        self.assertEqual((c, status), (2, "hit"))
        wait_until(lambda: a.metrics()['drover_session_stores_total{result="conflict"}'] == 1, 5)
        self.assertIn("result=conflict", a.read_log())
        self.assertEqual(int.from_bytes(self.redis.cmd("GET", key)[8:16], "big"), 100,
                         "the loser's write must not replace the winner's")

FCGI_COUNTER = os.path.join(BUILDDIR, "examples", "fastcgi", "counter")


@unittest.skipUnless(os.path.exists(FCGI_COUNTER), "FastCGI counter example not built (libfcgi-dev)")
class FastCGISessions(unittest.TestCase):
    """The same protocol as FastCGI params; the app keeps live objects."""

    def tearDown(self):
        self.d.stop()

    def counter(self, v):
        st, _, body = v.get("/")
        self.assertEqual(st, 200, body)
        m = re.search(r"count=(\d+) status=(\w+) version=(\d+) object=(\w+)", body)
        return int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)

    def test_live_object_reused_while_current(self):
        self.d = Drover(workers=1, cgi=None, args=["--fastcgi", FCGI_COUNTER]).wait_ready(1)
        v = Visitor(self.d.port)
        self.assertEqual(self.counter(v), (1, "miss", 0, "fresh"))
        self.assertEqual(self.counter(v), (2, "hit", 1, "live"))
        self.assertEqual(self.counter(v), (3, "hit", 2, "live"))

    def test_count_exact_across_workers_and_app_restarts(self):
        self.d = Drover(workers=3, cgi=None, args=["--fastcgi", FCGI_COUNTER]).wait_ready(3)
        v = Visitor(self.d.port)
        for i in range(1, 21):
            self.assertEqual(self.counter(v)[0], i)
        for pid in self.d.worker_pids():
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: len(self.d.worker_pids()) == 3, 20)
        c, status, _, obj = self.counter(v)
        self.assertEqual((c, status, obj), (21, "hit", "rebuilt"))


if __name__ == "__main__":
    unittest.main()
