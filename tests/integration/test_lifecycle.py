"""The supervisor's signals and worker lifecycle, from outside: reload under
load without a failed request, graceful and fast shutdown within their
bounds, crash and heartbeat replacement, scaling, recycling, log reopening,
pidfile and unix sockets, and no worker outliving the supervisor."""
import datetime
import http.client
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import unittest

from harness import (TEST_CGI_DIR, Drover, admin_get, assert_ready_before_drain, log_events,
                     pid_alive, request, wait_gone, wait_until)


def read_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def log_ms(event):
    """A log line's ts= as milliseconds since the epoch."""
    when = datetime.datetime.strptime(event["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return round(when.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


class LifecycleBase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="drover-life-")
        self.drovers = []

    def tearDown(self):
        for d in self.drovers:
            d.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, workers=2, sets=(), args=(), config=None, ready=True):
        d = Drover(workers=workers, cgi=TEST_CGI_DIR, sets=sets, args=args, config=config)
        self.drovers.append(d)
        if ready:
            d.wait_ready(workers)
        return d

    def slow_request(self, d, seconds, name="slow"):
        """Starts GET /slow.cgi in a thread; returns (thread, result dict, pidfile)."""
        pidfile = os.path.join(self.tmp, name + ".pid")
        result = {}

        def run():
            try:
                result["resp"] = request(d.port, "GET", "/slow.cgi?sleep=%s&pidfile=%s" % (seconds, pidfile),
                                         timeout=seconds + 10)
            except Exception as e:         # the outcome is what the test inspects
                result["error"] = e
        t = threading.Thread(target=run, daemon=True)
        t.start()
        wait_until(lambda: os.path.exists(pidfile), 10)
        with open(pidfile) as f:
            result["pids"] = [int(x) for x in f.read().split()]
        return t, result, pidfile

    def wait_exit(self, d, timeout):
        t0 = time.monotonic()
        rc = d.proc.wait(timeout)
        return rc, time.monotonic() - t0


class Load:
    """Client threads hammering /pid.cgi until stopped, counting outcomes.

    With keepalive, each thread keeps one http.client connection. A request
    on a reused connection that the server closed before sending any byte of
    a response is retried once on a fresh connection, as browsers do; such
    retries are counted apart from failures."""

    def __init__(self, port, threads=4, keepalive=False):
        self.port = port
        self.keepalive = keepalive
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = []
        self.retries = 0
        self.pids = set()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def finish(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(20)

    def one(self, conn):
        hdrs = {} if self.keepalive else {"Connection": "close"}
        conn.request("GET", "/pid.cgi", headers=hdrs)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise AssertionError("status %d: %r" % (r.status, body[:200]))
        return int(body)

    def run(self):
        conn, used = None, 0
        while not self.stop_flag.is_set():
            if conn is None or not self.keepalive:
                if conn is not None:
                    conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                used = 0
            try:
                pid = self.one(conn)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                if not (self.keepalive and used > 0):
                    self.fail_one(e)
                    conn.close()
                    conn = None
                    continue
                # Closed while idle between our requests: retry once, fresh.
                with self.lock:
                    self.retries += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                used = 0
                try:
                    pid = self.one(conn)
                except Exception as e2:
                    self.fail_one(e2)
                    conn.close()
                    conn = None
                    continue
            except Exception as e:
                self.fail_one(e)
                conn.close()
                conn = None
                continue
            used += 1
            with self.lock:
                self.ok += 1
                self.pids.add(pid)
        if conn is not None:
            conn.close()

    def fail_one(self, e):
        with self.lock:
            self.failed.append(repr(e))


class TestReload(LifecycleBase):
    def reload_under_load(self, keepalive):
        d = self.start(workers=2)
        old = d.worker_pids()
        gen = d.status()["generation"]
        load = Load(d.port, threads=4, keepalive=keepalive).start()

        def rolled():
            st = d.status()
            pids = [w["pid"] for w in st["workers"]]
            ready = [w for w in st["workers"] if w["state"] == "ready"]
            return (st["generation"] == gen + 1 and len(ready) == 2 and
                    all(w["generation"] == gen + 1 for w in st["workers"]) and
                    not set(old) & set(pids))
        try:
            # Requests reach the old workers, then the new ones, so the
            # reload is crossed by load on both sides.
            wait_until(lambda: load.ok >= 10, 10)
            d.signal(signal.SIGHUP)
            wait_until(rolled, 10)
            served = load.ok
            wait_until(lambda: load.ok >= served + 10, 10)
        finally:
            load.finish()
        new = d.worker_pids()
        self.assertFalse(set(old) & set(new))
        self.assertEqual(len(new), 2)
        self.assertEqual(load.failed, [], "failed requests during reload")
        self.assertGreater(load.ok, 20)
        # Requests were served both by old and by new workers.
        self.assertTrue(load.pids & set(old))
        self.assertTrue(load.pids & set(new))
        log = d.read_log()
        self.assertTrue(log_events(log, event="reload", result="accepted"))
        wait_until(lambda: log_events(d.read_log(), event="reload", result="done"), 5)
        for p in old:
            self.assertFalse(pid_alive(p))
        assert_ready_before_drain(self, d.read_log(), 2, min_drains=2)
        print("\n  reload keepalive=%s: %d ok, %d failed, %d retries" %
              (keepalive, load.ok, len(load.failed), load.retries), flush=True)
        return load

    def test_hup_under_load_no_keepalive(self):
        load = self.reload_under_load(keepalive=False)
        self.assertEqual(load.retries, 0)

    def test_hup_under_load_keepalive(self):
        self.reload_under_load(keepalive=True)

    def test_hup_bad_config_rejected(self):
        conf = os.path.join(self.tmp, "drover.ini")
        with open(conf, "w") as f:
            f.write("[server]\nworkers = 2\n[app]\nrequest_timeout = 10\n")
        d = self.start(workers=None, config=conf)
        d.wait_ready(2)
        old = d.worker_pids()
        gen = d.status()["generation"]
        with open(conf, "w") as f:
            f.write("[server]\nworkers = lots\nthis is not ini\n[nosuchsection]\nx=1\n")
        d.signal(signal.SIGHUP)
        wait_until(lambda: log_events(d.read_log(), event="reload", result="rejected"), 5)
        self.assertIn("drover.ini", d.read_log())
        time.sleep(0.5)
        self.assertEqual(request(d.port, "GET", "/pid.cgi")[0], 200)
        self.assertEqual(d.worker_pids(), old)
        self.assertEqual(d.status()["generation"], gen)
        # A good file again is taken by the next HUP.
        with open(conf, "w") as f:
            f.write("[server]\nworkers = 3\n")
        d.signal(signal.SIGHUP)
        wait_until(lambda: len(d.worker_pids()) == 3 and not set(old) & set(d.worker_pids()), 10)


class TestShutdown(LifecycleBase):
    def test_term_slow_request_completes(self):
        d = self.start(workers=2)
        workers = d.worker_pids()
        t, res, _ = self.slow_request(d, 2)
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        # New connections are refused while draining (or soon after).
        t.join(10)
        self.assertNotIn("error", res)
        st, _, body = res["resp"]
        self.assertEqual(st, 200)
        self.assertEqual(body, b"slept 2\n")
        rc = d.proc.wait(5)
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 5)
        wait_gone(workers, 2)
        self.assertTrue(log_events(d.read_log(), event="shutdown", state="done"))

    def test_term_bounded_by_graceful_timeout(self):
        d = self.start(workers=2, sets=("server.graceful_timeout=1",))
        workers = d.worker_pids()
        t, res, _ = self.slow_request(d, 10)
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        d.proc.wait(5)
        self.assertLess(time.monotonic() - t0, 3)
        wait_gone(workers, 2)
        t.join(5)
        # The request could not finish: it failed, never got a 200.
        if "resp" in res:
            self.assertNotEqual(res["resp"][0], 200)
        # The script and its child did not outlive the worker.
        wait_gone(res["pids"], 3)

    def test_quit_fast(self):
        d = self.start(workers=2)
        workers = d.worker_pids()
        t, res, _ = self.slow_request(d, 10)
        t0 = time.monotonic()
        d.signal(signal.SIGQUIT)
        d.proc.wait(5)
        self.assertLess(time.monotonic() - t0, 1.5)
        wait_gone(workers, 2)
        wait_gone(res["pids"], 3)
        t.join(5)

    def test_int_fast(self):
        d = self.start(workers=2)
        workers = d.worker_pids()
        t0 = time.monotonic()
        d.signal(signal.SIGINT)
        d.proc.wait(5)
        self.assertLess(time.monotonic() - t0, 1.5)
        wait_gone(workers, 2)

    def test_no_orphans_after_supervisor_sigkill(self):
        d = self.start(workers=3)
        workers = d.worker_pids()
        self.assertEqual(len(workers), 3)
        d.signal(signal.SIGKILL)
        d.proc.wait(5)
        wait_gone(workers, 2)

    # The workers' parent-death signal is one they handle: each kills its
    # CGI process groups before it exits.
    def test_no_cgi_orphans_after_supervisor_sigkill(self):
        d = self.start(workers=2)
        t, res, _ = self.slow_request(d, 10)
        d.signal(signal.SIGKILL)
        d.proc.wait(5)
        try:
            wait_gone(res["pids"], 3)
        finally:
            for p in res["pids"]:
                if pid_alive(p):
                    os.kill(p, signal.SIGKILL)
            t.join(5)


class TestWorkers(LifecycleBase):
    def test_sigkill_worker_replaced(self):
        d = self.start(workers=2)
        old = d.worker_pids()
        victim = old[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(d.worker_pids()) == 2 and victim not in d.worker_pids(), 5)
        self.assertIn(old[1], d.worker_pids())
        self.assertTrue(log_events(d.read_log(), event="worker", state="gone", reason="crash",
                                   pid=victim))
        self.assertEqual(request(d.port, "GET", "/pid.cgi")[0], 200)
        m = d.metrics()
        self.assertEqual(m['drover_worker_restarts_total{reason="crash"}'], 1)

    def test_kill_storm_never_empties_the_fleet(self):
        """Ready workers SIGKILLed again and again are replaced at once: a
        kill storm is not a crash loop, and capacity is never zero for long."""
        d = self.start(workers=2)
        end = time.monotonic() + 5
        longest_empty = 0.0
        empty_since = None
        kills = 0
        next_kill = 0.0
        while time.monotonic() < end:
            now = time.monotonic()
            ready = d.worker_pids()
            if ready:
                empty_since = None
            else:
                empty_since = empty_since or now
                longest_empty = max(longest_empty, now - empty_since)
            if ready and now >= next_kill:
                os.kill(ready[0], signal.SIGKILL)
                kills += 1
                next_kill = now + 0.15
            time.sleep(0.02)
        self.assertGreater(kills, 10)
        self.assertLess(longest_empty, 1.0, "no ready worker for %.2f s" % longest_empty)
        self.assertFalse(log_events(d.read_log(), event="worker", state="backoff"))
        wait_until(lambda: len(d.worker_pids()) == 2, 5)
        self.assertEqual(request(d.port, "GET", "/pid.cgi")[0], 200)

    def test_workers_failing_at_start_back_off(self):
        """Workers that exit before they are ready are restarted after
        growing delays, not in a fork loop."""
        d = Drover(workers=1, cgi=None, args=("--fastcgi", "/bin/true"),
                   env={"TMPDIR": os.path.join(self.tmp, "missing")})
        self.drovers.append(d)
        wait_until(lambda: len(log_events(d.read_log(), event="worker", state="backoff")) >= 4, 10)
        lines = log_events(d.read_log(), event="worker", state="backoff")
        delays = [int(x["delay_ms"]) for x in lines]
        self.assertEqual(delays[:4], sorted(delays[:4]))
        self.assertGreater(delays[3], delays[0])
        gone = [x for x in log_events(d.read_log(), event="worker", state="gone")]
        self.assertLess(len(gone), 8, "fork loop: %d exits" % len(gone))
        # The delays are kept, not just logged: each next start comes at
        # least delay_ms after the failure (the log's millisecond stamps).
        events = [e for e in log_events(d.read_log(), event="worker")
                  if e.get("state") in ("backoff", "starting")]
        gaps = []
        for i, e in enumerate(events):
            nxt = [x for x in events[i + 1:] if x["state"] == "starting"]
            if e["state"] == "backoff" and nxt:
                gaps.append((int(e["delay_ms"]), log_ms(nxt[0]) - log_ms(e)))
        self.assertGreaterEqual(len(gaps), 3, events)
        for delay, gap in gaps:
            self.assertGreaterEqual(gap, delay - 5, "restarted %d ms after a failure, "
                                    "backoff said %d ms: %s" % (gap, delay, gaps))

    def test_ttin_ttou(self):
        d = self.start(workers=2)
        old = d.worker_pids()
        d.signal(signal.SIGTTIN)
        wait_until(lambda: len(d.worker_pids()) == 3, 5)
        self.assertTrue(set(old) <= set(d.worker_pids()))
        self.assertEqual(d.status()["target_workers"], 3)
        three = d.worker_pids()
        d.signal(signal.SIGTTOU)
        wait_until(lambda: len(d.worker_pids()) == 2 and
                   len([w for w in d.status()["workers"]]) == 2, 5)
        gone = set(three) - set(d.worker_pids())
        self.assertEqual(len(gone), 1)
        wait_gone(gone, 3)
        d.signal(signal.SIGTTOU)
        wait_until(lambda: len(d.worker_pids()) == 1, 5)
        self.assertEqual(request(d.port, "GET", "/pid.cgi")[0], 200)

    def test_heartbeat_timeout(self):
        d = self.start(workers=2, sets=("server.timeout=2",))
        old = d.worker_pids()
        victim = old[0]
        os.kill(victim, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            wait_until(lambda: victim not in d.worker_pids() and len(d.worker_pids()) == 2, 6)
            self.assertLess(time.monotonic() - t0, 4.5)
            wait_gone([victim], 2)
        finally:
            if pid_alive(victim):
                os.kill(victim, signal.SIGCONT)
        self.assertTrue(log_events(d.read_log(), event="worker", state="gone", reason="timeout",
                                   pid=victim))
        self.assertEqual(request(d.port, "GET", "/pid.cgi")[0], 200)

    def test_max_requests_recycle(self):
        d = self.start(workers=1, sets=("server.max_requests=5",))
        first = d.worker_pids()[0]
        seen = []
        # Requests go on until the first worker has been replaced; none fails.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            st, _, body = request(d.port, "GET", "/pid.cgi")
            self.assertEqual(st, 200)
            seen.append(int(body))
            if len(seen) >= 5 and first not in d.worker_pids():
                break
        self.assertNotIn(first, d.worker_pids())
        self.assertGreaterEqual(seen.count(first), 5)
        wait_gone([first], 5)
        for _ in range(3):
            st, _, body = request(d.port, "GET", "/pid.cgi")
            self.assertEqual(st, 200)
            self.assertNotEqual(int(body), first)
        wait_until(lambda: log_events(d.read_log(), event="worker", state="gone",
                                      reason="max_requests", pid=first), 5)
        assert_ready_before_drain(self, d.read_log(), 1)
        # The old worker keeps serving while its replacement starts (the
        # rolling path), so it may pass the limit under a tight loop.
        print("\n  max_requests=5: first worker served %d of %d requests" %
              (seen.count(first), len(seen)), flush=True)

    def test_max_requests_exact(self):
        """With max_requests_jitter = 0, a worker is recycled after exactly
        max_requests requests: not after one fewer, and without waiting for
        one more. Nothing else is sent, so there is no overshoot either."""
        n = 5
        d = self.start(workers=1, sets=("server.max_requests=%d" % n,
                                        "server.max_requests_jitter=0"))
        first = d.worker_pids()[0]

        def one():
            st, _, body = request(d.port, "GET", "/pid.cgi")
            self.assertEqual((st, int(body)), (200, first))
        for _ in range(n - 1):
            one()
        # No event says "the arbiter looked and kept the worker": three of
        # its 100 ms ticks are let pass, then nothing may have started.
        time.sleep(0.35)
        self.assertFalse(log_events(d.read_log(), event="worker", state="starting",
                                    reason="max_requests"), "recycled after %d requests" % (n - 1))
        self.assertEqual(d.status()["workers"][0]["requests"], n - 1)
        one()
        wait_until(lambda: log_events(d.read_log(), event="worker", state="draining",
                                      reason="max_requests", pid=first), 5)
        assert_ready_before_drain(self, d.read_log(), 1)
        gone = wait_until(lambda: log_events(d.read_log(), event="worker", state="gone",
                                             pid=first), 5)
        self.assertEqual(gone[0]["reason"], "max_requests")
        wait_until(lambda: len(d.worker_pids()) == 1 and first not in d.worker_pids(), 5)
        st, _, body = request(d.port, "GET", "/pid.cgi")
        self.assertEqual(st, 200)
        self.assertNotEqual(int(body), first)


class TestProcesses(LifecycleBase):
    """No app process outlives its request or its worker."""

    def test_script_that_closes_stdout_and_lingers_is_killed(self):
        d = self.start(workers=1)
        pidfile = os.path.join(self.tmp, "linger.pid")
        t0 = time.monotonic()
        st, _, body = request(d.port, path="/linger.cgi?pidfile=" + pidfile)
        self.assertEqual((st, body), (200, b"bye\n"))
        self.assertLess(time.monotonic() - t0, 5)
        with open(pidfile) as f:
            pid = int(f.read())
        wait_gone([pid], 4)
        self.assertTrue(log_events(d.read_log(), event="cgi", pid=pid))

    def test_sigkilled_worker_takes_its_scripts_along(self):
        """A worker killed outright cannot clean up: its scripts, and what
        they started, are killed all the same."""
        d = self.start(workers=1)
        worker = d.worker_pids()[0]
        t, res, _ = self.slow_request(d, 30)
        os.kill(worker, signal.SIGKILL)
        t.join(10)
        wait_gone(res["pids"], 3)

    def test_bind_right_after_supervisor_sigkill(self):
        """The old workers give the port back first thing, and a new
        supervisor retries bind: 5 of 5 immediate restarts succeed."""
        # An app that ignores SIGTERM keeps an exiting worker busy for most
        # of a second, holding the port unless it lets go of it first.
        stubborn = os.path.join(self.tmp, "stubborn")
        with open(stubborn, "w") as f:
            f.write("#!/bin/sh\ntrap '' TERM\nexec sleep 60\n")
        os.chmod(stubborn, 0o755)
        app = ["--fastcgi", stubborn]
        d = Drover(workers=2, cgi=None, args=app)
        self.drovers.append(d)
        d.wait_ready(2)
        for _ in range(5):
            os.kill(d.pid, signal.SIGKILL)
            d.proc.wait(5)
            d = Drover(workers=2, cgi=None, args=app, port=d.port)
            self.drovers.append(d)
            d.wait_ready(2)
        for x in self.drovers:
            self.assertNotIn("Address already in use", x.read_log())

    def test_max_workers_reload(self):
        """workers = 128 (the most a config may ask for) rolls over on HUP:
        the scoreboard holds target, surge and draining workers."""
        cfg = os.path.join(self.tmp, "big.ini")
        with open(cfg, "w") as f:
            f.write("[server]\nworkers = 128\ngraceful_timeout = 30\n")
        d = self.start(workers=None, config=cfg, ready=False)
        d.wait_ready(128, timeout=60)
        old = set(d.worker_pids())
        d.signal(signal.SIGHUP)
        wait_until(lambda: "event=reload result=done" in d.read_log(), 90, step=0.5)
        self.assertFalse(old & set(d.worker_pids()))
        self.assertNotIn("no free scoreboard slot", d.read_log())


class TestOperations(LifecycleBase):
    def test_usr1_reopens_logs(self):
        logf = os.path.join(self.tmp, "error.log")
        d = self.start(workers=1, sets=("log.error_log=%s" % logf,))
        first = d.worker_pids()[0]
        wait_until(lambda: "state=ready" in read_text(logf), 5)
        os.rename(logf, logf + ".1")
        d.signal(signal.SIGUSR1)
        wait_until(lambda: os.path.exists(logf), 5)
        # A supervisor line and a worker line (a script's stderr) both land
        # in the new file.
        d.signal(signal.SIGTTIN)
        wait_until(lambda: len(d.worker_pids()) == 2, 5)
        for _ in range(4):
            self.assertEqual(request(d.port, "GET", "/stderr.cgi?after-reopen")[0], 200)
        wait_until(lambda: "state=ready" in read_text(logf), 5)
        wait_until(lambda: "after-reopen" in read_text(logf), 5)
        self.assertNotIn("after-reopen", read_text(logf + ".1"))
        # Reopening is not a restart.
        self.assertIn(first, d.worker_pids())

    def test_pidfile(self):
        pidfile = os.path.join(self.tmp, "drover.pid")
        d = self.start(workers=1, sets=("server.pidfile=%s" % pidfile,))
        with open(pidfile) as f:
            self.assertEqual(int(f.read().strip()), d.pid)
        d.signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(10), 0)
        self.assertFalse(os.path.exists(pidfile))

    def test_unix_socket(self):
        path = os.path.join(self.tmp, "d.sock")
        d = self.start(workers=2, args=("--bind", "unix:" + path))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(path)
            s.sendall(b"GET /vars.cgi HTTP/1.1\r\nHost: sock\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        finally:
            s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
        self.assertIn(b"SERVER_NAME=sock\n", data)
        # TCP keeps working next to it.
        self.assertEqual(request(d.port, "GET", "/pid.cgi")[0], 200)
        d.signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(10), 0)
        self.assertFalse(os.path.exists(path))

    def test_healthz_and_status(self):
        d = self.start(workers=2)
        st, body = admin_get(d.admin_port, "/healthz")
        self.assertEqual(st, 200)
        s = d.status()
        self.assertEqual(s["pid"], d.pid)
        self.assertEqual(len(s["workers"]), 2)
        for w in s["workers"]:
            for k in ("id", "pid", "state", "age_seconds", "requests", "in_flight"):
                self.assertIn(k, w)
        self.assertIn("cache", s)
        request(d.port, "GET", "/pid.cgi")
        m = d.metrics()
        self.assertEqual(m['drover_workers{state="ready"}'], 2)
        self.assertGreaterEqual(m['drover_requests_total{code_class="2xx"}'], 1)


if __name__ == "__main__":
    unittest.main()
