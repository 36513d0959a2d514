"""Redis faults under load (docs/design.md §7 degraded mode, §9 "Redis down or
slow"): Redis SIGKILLed and restarted while clients keep counting, and a
Redis that answers slowly behind a delaying proxy."""
import os
import signal
import socket
import threading
import time
import unittest

from chaos_lib import CHAOS_SECONDS, REDIS, Client, harness, percentile, wait_port
from test_sessions import RedisServer

SECRET = "chaos-secret-one"


def envelope_version(raw):
    """The version of a stored envelope: big-endian bytes 8..15."""
    return int.from_bytes(raw[8:16], "big")


def start_load(test, port, n, pause=0.0):
    """n counting clients, each with a first write done, then hitting in a
    thread each until the returned event is set; returns (clients, event,
    threads)."""
    clients = [Client(port) for _ in range(n)]
    for c in clients:
        test.assertEqual(c.hit(), 1)
    stop = threading.Event()

    def load(c):
        while not stop.is_set():
            c.hit()
            time.sleep(pause)

    threads = [threading.Thread(target=load, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    return clients, stop, threads


@unittest.skipUnless(os.path.exists(REDIS), "redis-server not installed")
class RedisKilled(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer()
        self.d = harness.Drover(workers=2, env={"REDIS_URL": self.redis.url, "DROVER_SECRET_KEYS": SECRET},
                                sets=["redis.breaker_failures=3", "redis.breaker_window=1"]).wait_ready(2)
        harness.wait_until(lambda: self.d.metrics()["drover_redis_up"] == 1, 10)

    def tearDown(self):
        self.d.stop()
        self.redis.stop()

    def test_kill_and_restart_under_load(self):
        d = self.d
        clients, stop, threads = start_load(self, d.port, 6, pause=0.01)
        # Two outages: each a SIGKILL, some seconds down, a restart on the
        # same port with an empty data set (no persistence).
        phase = CHAOS_SECONDS / 5.0
        outages = 0
        saw_down = False
        for _ in range(2):
            time.sleep(phase)
            self.redis.stop()
            outages += 1
            t_down = time.monotonic()
            while time.monotonic() - t_down < phase:
                if d.metrics()["drover_redis_up"] == 0:
                    saw_down = True
                time.sleep(0.1)
            self.redis.start()
        time.sleep(phase / 2)
        stop.set()
        for t in threads:
            t.join(30)
        failed = sum(c.failed for c in clients)
        ok = sum(c.ok for c in clients)
        print("\n  %d Redis outages; %d requests ok, %d failed" % (outages, ok, failed))
        self.assertTrue(saw_down, "drover never noticed Redis was down")
        self.assertEqual(failed, 0, [c.errors[:3] for c in clients if c.errors])

        # Every write acknowledged to L1 reaches Redis once it is back: the
        # version in Redis equals each client's last count.
        def flushed():
            for c in clients:
                raw = self.redis.cmd("GET", "drover:s:" + c.sid_hex)
                if raw is None or envelope_version(raw) != c.last:
                    return False
            return True

        try:
            harness.wait_until(flushed, 30, step=0.2)
        except AssertionError:
            got = {c.sid_hex[:8]: (c.last, self.redis.cmd("GET", "drover:s:" + c.sid_hex))
                   for c in clients}
            self.fail("writes missing in Redis after recovery: %r" %
                      {k: (v[0], v[1] and envelope_version(v[1])) for k, v in got.items()})
        self.assertEqual(d.metrics()["drover_redis_up"], 1)


@unittest.skipUnless(os.path.exists(REDIS), "redis-server not installed")
class RedisPausedAtStop(unittest.TestCase):
    """TERM while Redis is paused (SIGSTOP), under load: the drain keeps
    probing until Redis answers (SIGCONT), and nothing acknowledged is lost."""

    def setUp(self):
        self.redis = RedisServer()
        self.d = harness.Drover(workers=3, env={"REDIS_URL": self.redis.url, "DROVER_SECRET_KEYS": SECRET},
                                sets=["redis.breaker_failures=2", "redis.breaker_window=60"]).wait_ready(3)
        harness.wait_until(lambda: self.d.metrics()["drover_redis_up"] == 1, 10)

    def tearDown(self):
        try:
            os.kill(self.redis.proc.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        self.d.stop()
        self.redis.stop()

    def test_term_during_a_pause_under_load(self):
        d = self.d
        clients, stop, threads = start_load(self, d.port, 8)
        time.sleep(min(2.0, CHAOS_SECONDS / 10.0))
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        time.sleep(0.3)
        d.signal(signal.SIGTERM)
        stop.set()
        for t in threads:
            t.join(30)

        def probe_failed():
            log = d.read_log()
            return "breaker_open" in log[log.index("event=shutdown"):]

        try:
            harness.wait_until(lambda: d.proc.poll() is not None or probe_failed(), 15)
        finally:
            os.kill(self.redis.proc.pid, signal.SIGCONT)
        d.proc.wait(40)
        # A request cut by the stop may have stored one more version than
        # its client saw; an acknowledged one may never be missing.
        got = {c.sid_hex[:8]: (c.last, envelope_version(self.redis.cmd("GET", "drover:s:" + c.sid_hex) or
                                                        bytes(16)))
               for c in clients}
        print("\n  %d writes acknowledged before the stop" % sum(c.ok for c in clients))
        self.assertEqual({k: v for k, v in got.items() if v[1] < v[0]}, {}, "acknowledged writes lost")
        self.assertNotIn("lost_at_exit", d.read_log())


class SlowProxy:
    """A TCP relay to Redis that holds every byte for `delay` seconds in
    each direction. Loopback only; stopped by its owner."""

    def __init__(self, target_port, delay=1.0):
        self.target = target_port
        self.delay = delay
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.stopping = threading.Event()
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.lsock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                a, _ = self.lsock.accept()
            except (socket.timeout, OSError):
                continue
            try:
                b = socket.create_connection(("127.0.0.1", self.target), 2)
            except OSError:
                a.close()
                continue
            self.socks += [a, b]
            for src, dst in ((a, b), (b, a)):
                q = []
                cv = threading.Condition()
                threading.Thread(target=self._read, args=(src, q, cv), daemon=True).start()
                threading.Thread(target=self._write, args=(dst, q, cv), daemon=True).start()

    def _read(self, src, q, cv):
        while not self.stopping.is_set():
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            with cv:
                q.append((time.monotonic() + self.delay, data))
                cv.notify()
            if not data:
                return

    def _write(self, dst, q, cv):
        while not self.stopping.is_set():
            with cv:
                while not q and not self.stopping.is_set():
                    cv.wait(0.2)
                if not q:
                    continue
                due, data = q[0]
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with cv:
                q.pop(0)
            try:
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
            except OSError:
                return

    def stop(self):
        self.stopping.set()
        self.lsock.close()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


@unittest.skipUnless(os.path.exists(REDIS), "redis-server not installed")
class RedisSlow(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer()
        self.proxy = SlowProxy(self.redis.port, delay=0.0)
        self.drovers = []

    def tearDown(self):
        for d in self.drovers:
            d.stop()
        self.proxy.stop()
        self.redis.stop()

    def test_latency_bounded_and_breaker_opens(self):
        env = {"DROVER_SECRET_KEYS": SECRET}
        # Sessions made on a host that reaches Redis directly...
        direct = harness.Drover(workers=1, env=dict(env, REDIS_URL=self.redis.url)).wait_ready(1)
        self.drovers.append(direct)
        harness.wait_until(lambda: direct.metrics()["drover_redis_up"] == 1, 10)
        clients = [Client(direct.port) for _ in range(20)]
        for c in clients:
            c.hit()
            c.hit()
        harness.wait_until(lambda: all(self.redis.cmd("GET", "drover:s:" + c.sid_hex) for c in clients), 10)
        # ...then carried to a host whose Redis answers a second late: every
        # first visit there is an L1 miss that asks Redis, every write a store.
        slow = harness.Drover(workers=2, env=dict(env, REDIS_URL="redis://127.0.0.1:%d" % self.proxy.port),
                              sets=["redis.command_timeout=200ms", "redis.connect_timeout=200ms",
                                    "redis.breaker_failures=3", "redis.breaker_window=2"]).wait_ready(2)
        self.drovers.append(slow)
        # Up through the proxy first, then Redis turns slow under drover.
        harness.wait_until(lambda: slow.metrics()["drover_redis_up"] == 1, 10)
        self.proxy.delay = 1.0
        lat = []
        failed = 0
        breaker_seen = False
        end = time.monotonic() + max(8.0, CHAOS_SECONDS / 3)
        newcomers = 0
        while time.monotonic() < end:
            for c in clients:
                c.port = slow.port
                t0 = time.monotonic()
                if c.hit() is None:
                    failed += 1
                lat.append(time.monotonic() - t0)
            # New visitors too, and a cookie the slow host's L1 has never seen.
            fresh = Client(slow.port)
            t0 = time.monotonic()
            if fresh.hit() is None:
                failed += 1
            lat.append(time.monotonic() - t0)
            newcomers += 1
            if slow.metrics()["drover_redis_breaker_open"] == 1:
                breaker_seen = True
        p50, p99, worst = percentile(lat, 50), percentile(lat, 99), max(lat)
        lookups = slow.metrics()
        print("\n  lookups on the slow host: %s" % {k.split('"')[1]: v for k, v in lookups.items()
                                                   if k.startswith("drover_session_lookups_total")})
        print("  %d requests through a Redis delayed 1 s/byte (command_timeout 200ms): "
              "p50 %.3fs p99 %.3fs max %.3fs, %d failed, breaker opened: %s"
              % (len(lat), p50, p99, worst, failed, breaker_seen))
        self.assertEqual(failed, 0)
        self.assertLess(p99, 1.0)
        self.assertLess(worst, 2.0)
        self.assertTrue(breaker_seen or "breaker_open" in slow.read_log(), "the breaker never opened")


if __name__ == "__main__":
    unittest.main()
