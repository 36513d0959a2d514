"""Operations: the admin endpoint (/metrics, /healthz, /status), droverctl
and its control socket, log reopening, the USR2 binary upgrade, sd_notify
messages and socket activation. Black-box: drover and droverctl are run as
built, and every process a test starts is stopped by its pid."""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (BUILDDIR, CGI_DIR, DROVER, TEST_CGI_DIR, Drover, admin_get, free_port,
                     pid_alive, request, wait_until)

DROVERCTL = os.environ.get("DROVERCTL_BIN", os.path.join(BUILDDIR, "droverctl"))

# docs/design.md section 8: name -> (type, label values that must be exported).
CONTRACT_METRICS = {
    "drover_requests_total": ("counter", [("code_class", c) for c in ("2xx", "3xx", "4xx", "5xx")]),
    "drover_request_duration_seconds": ("histogram", []),
    "drover_workers": ("gauge", [("state", "ready")]),
    "drover_worker_restarts_total": ("counter", [("reason", "crash")]),
    "drover_session_lookups_total": ("counter", [("result", r) for r in ("hit", "rebuild", "miss")]),
    "drover_session_stores_total": ("counter",
                                    [("result", r) for r in ("ok", "oversize", "conflict", "error")]),
    "drover_session_cache_entries": ("gauge", []),
    "drover_session_cache_bytes": ("gauge", []),
    "drover_session_cache_evictions_total": ("counter", [("reason", r) for r in ("lru", "ttl")]),
    "drover_session_cache_dirty_entries": ("gauge", []),
    "drover_session_cache_refused_total": ("counter", []),
    "drover_redis_configured": ("gauge", []),
    "drover_redis_errors_total": ("counter", []),
    "drover_target_workers": ("gauge", []),
    "drover_connections": ("gauge", []),
    "drover_requests_in_flight": ("gauge", []),
    "drover_worker_open_fds": ("gauge", []),
    "drover_config_last_reload_successful": ("gauge", []),
    "drover_config_last_reload_success_timestamp_seconds": ("gauge", []),
    "drover_build_info": ("gauge", []),
    "process_cpu_seconds_total": ("counter", []),
    "process_open_fds": ("gauge", []),
    "process_max_fds": ("gauge", []),
    "process_resident_memory_bytes": ("gauge", []),
    "process_virtual_memory_bytes": ("gauge", []),
    "process_start_time_seconds": ("gauge", []),
}
# Exported only when a Redis url is configured (test_sessions checks them there).
REDIS_ONLY_METRICS = ("drover_redis_up", "drover_redis_breaker_open")


def built_with_systemd():
    try:
        with open(os.path.join(BUILDDIR, "config.h")) as f:
            return "#define HAVE_SYSTEMD 1" in f.read()
    except OSError:
        return False


def parse_exposition(text):
    """Prometheus text format into ({name: type}, {name: help}, [(name, labels, value)])."""
    types, helps, samples = {}, {}, []
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
        elif line.startswith("# HELP "):
            _, _, name, h = line.split(" ", 3)
            helps[name] = h
        elif line and not line.startswith("#"):
            m = line_re.match(line)
            if m is None:
                raise AssertionError("not a sample line: %r" % line)
            labels = {}
            if m.group(3):
                for kv in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3)):
                    labels[kv[0]] = kv[1]
            samples.append((m.group(1), labels, float(m.group(4))))
    return types, helps, samples


def sample(samples, name, **labels):
    for n, l, v in samples:
        if n == name and all(l.get(k) == str(x) for k, x in labels.items()):
            return v
    raise AssertionError("no sample %s%r" % (name, labels))


def ctl(sock, *args, env=None, timeout=15):
    """Runs droverctl; returns (exit code, stdout, stderr)."""
    e = dict(os.environ)
    e.pop("DROVER_CONTROL_SOCKET", None)
    e.update(env or {})
    cmd = [DROVERCTL] + (["-s", sock] if sock else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, env=e, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def stop_pid(pid, timeout=10.0):
    """Stops a drover this test did not start itself (the new side of an upgrade)."""
    try:
        os.kill(pid, signal.SIGQUIT)
    except ProcessLookupError:
        return
    try:
        wait_until(lambda: not pid_alive(pid), timeout)
    except AssertionError:
        os.kill(pid, signal.SIGKILL)


def read(path):
    with open(path) as f:
        return f.read()


def read_pidfile(path):
    with open(path) as f:
        return int(f.read().strip())


class Ctl(Drover):
    """A drover with a control socket and a pidfile in its temp dir."""

    def __init__(self, sets=(), **kw):
        tmp = tempfile.mkdtemp(prefix="drover-ops-")
        self.sock = os.path.join(tmp, "ctl.sock")
        self.pidfile = os.path.join(tmp, "drover.pid")
        sets = ["admin.control_socket=" + self.sock, "server.pidfile=" + self.pidfile] + list(sets)
        super().__init__(sets=sets, **kw)
        self.ctl_tmp = tmp

    def ctl(self, *args, **kw):
        return ctl(self.sock, *args, **kw)


class AdminEndpointTest(unittest.TestCase):
    def setUp(self):
        self.d = Drover(workers=2).wait_ready(2)

    def tearDown(self):
        self.d.stop()

    def metrics(self):
        code, body = admin_get(self.d.admin_port, "/metrics")
        self.assertEqual(code, 200)
        return parse_exposition(body.decode())

    def test_every_contract_metric_has_help_type_and_labels(self):
        types, helps, samples = self.metrics()
        for name, (typ, labels) in CONTRACT_METRICS.items():
            self.assertEqual(types.get(name), typ, name)
            self.assertTrue(helps.get(name), name)
            for k, v in labels:
                sample(samples, name, **{k: v})
            if typ != "histogram":
                sample(samples, name)
        for name in REDIS_ONLY_METRICS:
            self.assertNotIn(name, types, "no Redis is configured")
        self.assertEqual(sample(samples, "drover_redis_configured"), 0)

    def test_build_process_and_live_gauges(self):
        _, _, samples = self.metrics()
        st = self.d.status()
        self.assertEqual(sample(samples, "drover_build_info", version=st["version"]), 1)
        self.assertEqual(sample(samples, "drover_target_workers"), st["target_workers"])
        # The supervisor's own figures, checked against /proc.
        pid = st["pid"]
        # (the admin connection answering this is one more)
        self.assertAlmostEqual(sample(samples, "process_open_fds"), len(os.listdir("/proc/%d/fd" % pid)),
                               delta=2)
        with open("/proc/%d/stat" % pid) as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as f:
            btime = int([l for l in f if l.startswith("btime ")][0].split()[1])
        started = btime + start_ticks / os.sysconf("SC_CLK_TCK")
        self.assertAlmostEqual(sample(samples, "process_start_time_seconds"), started, delta=1.0)
        self.assertGreater(sample(samples, "process_resident_memory_bytes"), 1 << 20)
        # One fd gauge per live worker, matching /proc.
        for w in st["workers"]:
            n = sample(samples, "drover_worker_open_fds", id=w["id"])
            self.assertAlmostEqual(n, len(os.listdir("/proc/%d/fd" % w["pid"])), delta=2)
        self.assertEqual(sample(samples, "drover_connections"), 0)
        self.assertEqual(sample(samples, "drover_requests_in_flight"), 0)
        self.assertEqual(sample(samples, "drover_config_last_reload_successful"), 1)

    def test_counters_and_histogram_move_with_traffic(self):
        _, _, before = self.metrics()
        n = 7
        for _ in range(n):
            self.assertEqual(request(self.d.port, path="/hello.cgi")[0], 200)
        self.assertEqual(request(self.d.port, path="/no-such.cgi")[0], 404)
        _, _, after = self.metrics()
        self.assertEqual(sample(after, "drover_requests_total", code_class="2xx") -
                         sample(before, "drover_requests_total", code_class="2xx"), n)
        self.assertEqual(sample(after, "drover_requests_total", code_class="4xx") -
                         sample(before, "drover_requests_total", code_class="4xx"), 1)
        buckets = [(l["le"], v) for name, l, v in after
                   if name == "drover_request_duration_seconds_bucket"]
        self.assertEqual(buckets[-1][0], "+Inf")
        bounds = [float(le) for le, _ in buckets[:-1]]
        self.assertEqual(bounds, sorted(bounds))
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts), "buckets must be cumulative")
        count = sample(after, "drover_request_duration_seconds_count")
        self.assertEqual(counts[-1], count)
        self.assertGreaterEqual(count - sample(before, "drover_request_duration_seconds_count"), n + 1)
        self.assertGreater(sample(after, "drover_request_duration_seconds_sum"), 0)
        self.assertEqual(sample(after, "drover_workers", state="ready"), 2)

    def test_session_lookups_move_with_hits_and_misses(self):
        status, hdrs, body = request(self.d.port, path="/counter.cgi")
        self.assertEqual(status, 200)
        cookie = hdrs.get("set-cookie")
        if not cookie:
            self.skipTest("sessions not wired into the CGI adapter in this build")
        _, _, before = self.metrics()
        request(self.d.port, path="/counter.cgi", headers={"Cookie": cookie.split(";")[0]})
        request(self.d.port, path="/counter.cgi")
        _, _, after = self.metrics()
        self.assertGreaterEqual(sample(after, "drover_session_lookups_total", result="hit") -
                                sample(before, "drover_session_lookups_total", result="hit"), 1)
        self.assertGreaterEqual(sample(after, "drover_session_lookups_total", result="miss") -
                                sample(before, "drover_session_lookups_total", result="miss"), 1)
        self.assertGreaterEqual(sample(after, "drover_session_stores_total", result="ok") -
                                sample(before, "drover_session_stores_total", result="ok"), 2)
        self.assertGreaterEqual(sample(after, "drover_session_cache_entries"), 1)

    def test_status_json_and_unknown_path(self):
        request(self.d.port, path="/hello.cgi")
        st = self.d.status()
        self.assertEqual(st["pid"], self.d.pid)
        self.assertEqual(len(st["workers"]), 2)
        for w in st["workers"]:
            for k in ("id", "pid", "generation", "state", "age_seconds", "requests", "in_flight",
                      "last_heartbeat_ms_ago"):
                self.assertIn(k, w)
            self.assertEqual(w["state"], "ready")
        self.assertEqual(sum(w["requests"] for w in st["workers"]), 1)
        for k in ("entries", "bytes", "max_entries", "max_bytes", "evictions_lru", "evictions_ttl",
                  "hits", "rebuilds", "misses"):
            self.assertIn(k, st["cache"])
        self.assertIn("up", st["redis"])
        self.assertEqual(admin_get(self.d.admin_port, "/healthz")[0], 200)
        self.assertEqual(admin_get(self.d.admin_port, "/nope")[0], 404)
        self.assertEqual(admin_get(self.d.admin_port, "/metricsx")[0], 404)

    def test_head_has_no_body(self):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.d.admin_port, timeout=5)
        try:
            c.request("HEAD", "/metrics")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertGreater(int(r.getheader("Content-Length")), 0)
            self.assertEqual(r.read(), b"")
        finally:
            c.close()
        s = socket.create_connection(("127.0.0.1", self.d.admin_port), timeout=5)
        try:
            s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
        finally:
            s.close()
        self.assertTrue(data.endswith(b"\r\n\r\n"), data)

    def test_admin_request_size_is_bounded(self):
        s = socket.create_connection(("127.0.0.1", self.d.admin_port), timeout=5)
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 8192)
            data = s.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        finally:
            s.close()
        self.assertFalse(data.startswith(b"HTTP/1.1 200"), data[:40])


class HealthzTest(unittest.TestCase):
    def test_503_while_no_worker_is_ready(self):
        # During a graceful stop every worker drains: none is ready, while
        # a slow request still finishes and the admin endpoint still answers.
        d = Drover(workers=1, cgi=TEST_CGI_DIR, sets=["server.graceful_timeout=10"]).wait_ready(1)
        try:
            self.assertEqual(admin_get(d.admin_port, "/healthz")[0], 200)
            result = {}
            t = threading.Thread(target=lambda: result.update(
                r=request(d.port, path="/slow.cgi?sleep=2", timeout=15)))
            t.start()
            wait_until(lambda: sum(w["in_flight"] for w in d.status()["workers"]) >= 1, 5)
            d.signal(signal.SIGTERM)
            wait_until(lambda: admin_get(d.admin_port, "/healthz")[0] == 503, 5)
            t.join(15)
            self.assertEqual(result["r"][0], 200)
            d.proc.wait(15)
            self.assertEqual(d.proc.returncode, 0)
        finally:
            d.stop()


class DroverctlTest(unittest.TestCase):
    def setUp(self):
        self.d = Ctl(workers=2).wait_ready(2)

    def tearDown(self):
        self.d.stop()

    def test_socket_mode_0600(self):
        st = os.stat(self.d.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to drop privileges")
    def test_socket_owned_by_the_supervisor_not_the_service_user(self):
        """Apps run as [server] user: the socket stays with the supervisor's uid."""
        self.d.stop()
        self.d = Ctl(workers=1, sets=["server.user=nobody"]).wait_ready(1)
        st = os.stat(self.d.sock)
        self.assertEqual(st.st_uid, os.geteuid())
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(self.d.ctl("status")[0], 0)

    def test_status_table(self):
        request(self.d.port, path="/hello.cgi")
        rc, out, err = self.d.ctl("status")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        head = [l for l in lines if l.startswith("ID")]
        self.assertEqual(len(head), 1, out)
        self.assertEqual(head[0].split()[:7], ["ID", "PID", "GEN", "STATE", "AGE", "REQUESTS", "INFLIGHT"])
        rows = {int(l.split()[1]): l.split() for l in lines if re.match(r"^\d+\s", l)}
        self.assertEqual(sorted(rows), self.d.worker_pids())
        self.assertTrue(all(r[3] == "ready" for r in rows.values()))
        self.assertEqual(sum(int(r[5]) for r in rows.values()), 1)
        self.assertTrue(any(l.startswith("cache:") and "entries" in l for l in lines), out)

    def test_status_json_is_the_admin_document(self):
        rc, out, err = self.d.ctl("status", "--json")
        self.assertEqual(rc, 0, err)
        import json
        st = json.loads(out)
        self.assertEqual(st["pid"], self.d.pid)
        self.assertEqual(sorted(w["pid"] for w in st["workers"]), self.d.worker_pids())
        self.assertIn("cache", st)

    def test_default_socket_from_environment(self):
        rc, out, err = ctl(None, "status", "--json", env={"DROVER_CONTROL_SOCKET": self.d.sock})
        self.assertEqual(rc, 0, err)
        self.assertIn('"workers"', out)

    def test_reload_changes_generation(self):
        old = self.d.worker_pids()
        rc, out, err = self.d.ctl("reload")
        self.assertEqual(rc, 0, err)
        wait_until(lambda: self.d.status()["generation"] == 2 and
                   [w["generation"] for w in self.d.status()["workers"]] == [2, 2] and
                   all(w["state"] == "ready" for w in self.d.status()["workers"]), 15)
        self.assertFalse(set(old) & set(self.d.worker_pids()))

    def test_reload_with_bad_config_fails_with_file_and_line(self):
        self.d.stop()
        tmp = tempfile.mkdtemp(prefix="drover-ops-")
        ini = os.path.join(tmp, "drover.ini")
        with open(ini, "w") as f:
            f.write("[server]\nworkers = 2\n")
        self.d = Ctl(workers=0, config=ini).wait_ready(2)
        with open(ini, "w") as f:
            f.write("[server]\nworkers = 2\nno_such_key = 1\n")
        rc, out, err = self.d.ctl("reload")
        self.assertEqual(rc, 1)
        self.assertIn(ini + ":3", err)
        self.assertTrue(err.startswith("droverctl: "), err)
        self.assertEqual(self.d.status()["generation"], 1)
        # The failure shows in the metrics, in /status and on the status page's source.
        m = parse_exposition(ctl(self.d.sock, "metrics")[1])[2]
        self.assertEqual(sample(m, "drover_config_last_reload_successful"), 0)
        last = self.d.status()["reloads"][0]
        self.assertEqual(last["result"], "rejected")
        self.assertIn(ini + ":3", last["error"])
        with open(ini, "w") as f:
            f.write("[server]\nworkers = 2\n")
        self.assertEqual(self.d.ctl("reload")[0], 0)
        m = parse_exposition(ctl(self.d.sock, "metrics")[1])[2]
        self.assertEqual(sample(m, "drover_config_last_reload_successful"), 1)
        self.assertEqual(self.d.status()["reloads"][0]["result"], "accepted")

    def test_scale(self):
        rc, out, err = self.d.ctl("scale", "3")
        self.assertEqual(rc, 0, err)
        wait_until(lambda: len(self.d.worker_pids()) == 3, 10)
        rc, _, _ = self.d.ctl("scale", "1")
        self.assertEqual(rc, 0)
        wait_until(lambda: len(self.d.status()["workers"]) == 1, 15)
        for bad in (["scale"], ["scale", "0"], ["scale", "x"], ["scale", "2", "3"]):
            self.assertEqual(self.d.ctl(*bad)[0], 2, bad)
        # Past what the supervisor accepts: it answers with an error.
        rc, _, err = self.d.ctl("scale", "100000")
        self.assertEqual(rc, 1, err)

    def test_metrics(self):
        rc, out, err = self.d.ctl("metrics")
        self.assertEqual(rc, 0, err)
        types, _, samples = parse_exposition(out)
        self.assertEqual(types["drover_requests_total"], "counter")
        self.assertEqual(sample(samples, "drover_workers", state="ready"), 2)

    def test_stop_drains_and_removes_files(self):
        pids = self.d.worker_pids()
        rc, out, err = self.d.ctl("stop")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.d.proc.wait(15), 0)
        for p in pids:
            wait_until(lambda: not pid_alive(p), 5)
        self.assertFalse(os.path.exists(self.d.sock))
        self.assertFalse(os.path.exists(self.d.pidfile))
        self.assertEqual(self.d.ctl("status")[0], 3)

    def test_stop_fast(self):
        rc, out, err = self.d.ctl("stop", "--fast")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.d.proc.wait(10), 0)
        self.assertIn("state=fast", self.d.read_log())

    def test_usage_errors_exit_2(self):
        for args in ([], ["bogus"], ["status", "--xml"], ["stop", "now"], ["reload", "x"],
                     ["metrics", "x"], ["reopen-logs", "x"]):
            rc, out, err = self.d.ctl(*args)
            self.assertEqual(rc, 2, args)
            self.assertIn("usage:", err)
        p = subprocess.run([DROVERCTL, "-s"], capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        p = subprocess.run([DROVERCTL, "-x", "status"], capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        # An unknown option is named as written, short or long.
        for opt in ("-x", "--foo", "--version=3"):
            p = subprocess.run([DROVERCTL, opt, "status"], capture_output=True, timeout=10)
            self.assertEqual(p.returncode, 2, opt)
            self.assertTrue(p.stderr.decode().startswith("droverctl: unknown option %s\n" % opt)
                            or "option" in p.stderr.decode().split("\n")[0], p.stderr)
        p = subprocess.run([DROVERCTL, "--foo"], capture_output=True, timeout=10)
        self.assertEqual(p.stderr.decode().split("\n")[0], "droverctl: unknown option --foo")

    def test_version_and_help(self):
        for opt in ("--version", "-V"):
            p = subprocess.run([DROVERCTL, opt], capture_output=True, timeout=10)
            self.assertEqual(p.returncode, 0)
            self.assertRegex(p.stdout.decode(), r"^droverctl \d+\.\d+\.\d+\n$")
        for opt in ("--help", "-h"):
            p = subprocess.run([DROVERCTL, opt], capture_output=True, timeout=10)
            self.assertEqual(p.returncode, 0)
            out = p.stdout.decode()
            for word in ("usage: droverctl", "reload", "scale N", "--socket", "Exit status"):
                self.assertIn(word, out)
        # drover -V: build options and the libraries it runs with.
        p = subprocess.run([DROVER, "-V"], capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 0)
        out = p.stdout.decode()
        self.assertRegex(out, r"^drover \d+\.\d+\.\d+\n")
        for word in ("configure arguments:", "default config:", "libev ", "hiredis ",
                     "http-parser ", "lz4 ", "OpenSSL ", "systemd:"):
            self.assertIn(word, out)

    def test_unreachable_socket_exit_3(self):
        missing = os.path.join(self.d.ctl_tmp, "missing.sock")
        rc, out, err = ctl(missing, "status")
        self.assertEqual(rc, 3)
        self.assertEqual(err.strip(),
                         "droverctl: cannot connect to %s: No such file or directory" % missing)
        # A socket file nobody listens on: refused.
        dead = os.path.join(self.d.ctl_tmp, "dead.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(dead)
        s.close()
        rc, out, err = ctl(dead, "reload")
        self.assertEqual(rc, 3)
        self.assertIn("Connection refused", err)


class ReopenLogsTest(unittest.TestCase):
    def check_reopen(self, how):
        tmp = tempfile.mkdtemp(prefix="drover-ops-")
        elog, alog = os.path.join(tmp, "error.log"), os.path.join(tmp, "access.log")
        d = Ctl(workers=2, sets=["log.error_log=" + elog, "log.access_log=" + alog]).wait_ready(2)
        try:
            request(d.port, path="/hello.cgi?before")
            wait_until(lambda: "before" in read(alog), 5)
            os.rename(elog, elog + ".1")
            os.rename(alog, alog + ".1")
            how(d)
            wait_until(lambda: os.path.exists(elog) and os.path.exists(alog), 5)
            # Every worker must have reopened: each serves one request.
            for i in range(40):
                status, hdrs, _ = request(d.port, path="/hello.cgi?after%d" % i)
                self.assertEqual(status, 200)
            wait_until(lambda: read(alog).count("after") == 40, 5)
            self.assertNotIn("after", read(alog + ".1"))
            self.assertEqual(len(d.worker_pids()), 2)   # none died of the signal
            # No process, supervisor or worker, still writes to a moved file.
            for pid in [d.pid] + d.worker_pids():
                fds = os.listdir("/proc/%d/fd" % pid)
                targets = []
                for fd in fds:
                    try:
                        targets.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
                    except OSError:
                        pass
                self.assertFalse([t for t in targets if t.endswith(".log.1")], (pid, targets))
        finally:
            d.stop()

    def test_droverctl_reopen_logs(self):
        def how(d):
            rc, out, err = d.ctl("reopen-logs")
            self.assertEqual(rc, 0, err)
        self.check_reopen(how)

    def test_sigusr1(self):
        self.check_reopen(lambda d: d.signal(signal.SIGUSR1))


class UpgradeTest(unittest.TestCase):
    def load(self, port, stop, results):
        while not stop.is_set():
            try:
                status, _, body = request(port, path="/hello.cgi", headers={"Connection": "close"},
                                          timeout=10)
                results.append(status)
            except Exception as e:   # any failure counts
                results.append(repr(e))

    def test_usr2_under_load(self):
        d = Ctl(workers=2, cgi=CGI_DIR).wait_ready(2)
        new_pid = None
        try:
            old_pid = d.pid
            old_workers = d.worker_pids()
            self.assertEqual(read_pidfile(d.pidfile), old_pid)
            stop, results = threading.Event(), []
            threads = [threading.Thread(target=self.load, args=(d.port, stop, results))
                       for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            d.signal(signal.SIGUSR2)
            wait_until(lambda: read_pidfile(d.pidfile) != old_pid, 20)
            new_pid = read_pidfile(d.pidfile)
            self.assertEqual(d.proc.wait(20), 0)      # the old supervisor drained and left
            for p in old_workers:
                wait_until(lambda: not pid_alive(p), 5)
            time.sleep(0.5)
            stop.set()
            for t in threads:
                t.join(20)
            failures = [r for r in results if r != 200]
            self.assertEqual(failures, [])
            self.assertGreater(len(results), 20)
            st = d.status()
            self.assertEqual(st["pid"], new_pid)
            self.assertEqual(len([w for w in st["workers"] if w["state"] == "ready"]), 2)
            self.assertFalse(set(old_workers) & set(w["pid"] for w in st["workers"]))
            # The unix socket and the pidfile survived the old one's exit.
            self.assertTrue(os.path.exists(d.sock))
            rc, out, err = d.ctl("status", "--json")
            self.assertEqual(rc, 0, err)
            self.assertIn('"pid":%d' % new_pid, out)
            self.assertEqual(request(d.port, path="/hello.cgi")[0], 200)
            log = d.read_log()
            self.assertIn("result=handed_over new_pid=%d" % new_pid, log)
        finally:
            if new_pid:
                stop_pid(new_pid)
            d.stop()

    def test_usr2_keeps_l1_sessions(self):
        d = Ctl(workers=2, cgi=CGI_DIR).wait_ready(2)
        new_pid = None
        try:
            status, hdrs, body = request(d.port, path="/counter.cgi")
            cookie = (hdrs.get("set-cookie") or "").split(";")[0]
            if not cookie:
                self.skipTest("sessions not wired into the CGI adapter in this build")
            for _ in range(2):
                body = request(d.port, path="/counter.cgi", headers={"Cookie": cookie})[2]
            self.assertIn(b"count=3", body)
            entries = d.status()["cache"]["entries"]
            d.signal(signal.SIGUSR2)
            wait_until(lambda: read_pidfile(d.pidfile) != d.pid, 20)
            new_pid = read_pidfile(d.pidfile)
            d.proc.wait(20)
            self.assertEqual(d.status()["pid"], new_pid)
            self.assertEqual(d.status()["cache"]["entries"], entries)
            body = request(d.port, path="/counter.cgi", headers={"Cookie": cookie})[2]
            self.assertIn(b"count=4", body)
            self.assertIn(b"status=hit", body)
        finally:
            if new_pid:
                stop_pid(new_pid)
            d.stop()

    def check_failed_upgrade(self, script, sets, reasons):
        tmp = tempfile.mkdtemp(prefix="drover-ops-")
        exe = os.path.join(tmp, "drover")
        shutil.copy(DROVER, exe)
        import harness
        saved = harness.DROVER
        harness.DROVER = exe
        try:
            d = Ctl(workers=2, sets=list(sets))
        finally:
            harness.DROVER = saved
        try:
            d.wait_ready(2)
            workers = d.worker_pids()
            os.unlink(exe)
            with open(exe, "w") as f:
                f.write(script)
            os.chmod(exe, 0o755)
            d.signal(signal.SIGUSR2)
            wait_until(lambda: "event=upgrade result=failed" in d.read_log(), 15)
            log = d.read_log()
            self.assertTrue(any(r in log for r in reasons), log)
            child = int(re.search(r"event=upgrade state=starting pid=(\d+)", log).group(1))
            # The old supervisor keeps serving with its workers, pidfile and socket.
            time.sleep(0.3)
            self.assertIsNone(d.proc.poll())
            self.assertEqual(d.worker_pids(), workers)
            self.assertEqual(read_pidfile(d.pidfile), d.pid)
            self.assertEqual(request(d.port, path="/hello.cgi")[0], 200)
            self.assertEqual(d.ctl("status")[0], 0)
            # The failed child is stopped and reaped.
            wait_until(lambda: not pid_alive(child), 10)
        finally:
            d.stop()

    def test_new_binary_that_exits(self):
        # Its exit or the closing of its ready pipe, whichever is seen first.
        self.check_failed_upgrade("#!/bin/sh\nexit 1\n", [],
                                  ["before it was ready", "closed its ready pipe"])

    def test_new_binary_that_never_gets_ready(self):
        self.check_failed_upgrade("#!/bin/sh\nexec sleep 30\n", ["server.timeout=2"],
                                  ["not ready within timeout"])


class AmbientCapabilityTest(unittest.TestCase):
    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv")
    def test_apps_do_not_inherit_the_bind_capability(self):
        # The packaged unit grants CAP_NET_BIND_SERVICE as an ambient
        # capability so drover can bind port 80 as its own user; the scripts it
        # runs must not get it.
        tmp = tempfile.mkdtemp(prefix="drover-ops-")
        exe = os.path.join(tmp, "drover")
        with open(exe, "w") as f:
            f.write('#!/bin/sh\nexec setpriv --inh-caps +net_bind_service '
                    '--ambient-caps +net_bind_service %s "$@"\n' % DROVER)
        os.chmod(exe, 0o755)
        import harness
        saved = harness.DROVER
        harness.DROVER = exe
        try:
            d = Drover(workers=1, cgi=TEST_CGI_DIR)
        finally:
            harness.DROVER = saved
        try:
            d.wait_ready(1)
            status, _, body = request(d.port, path="/caps.cgi")
            self.assertEqual(status, 200)
            script = dict(l.split(":\t") for l in body.decode().splitlines())
            self.assertEqual(int(script["CapAmb"], 16), 0, body)
            # The same wrapper does grant it: else this test proves nothing.
            out = subprocess.run(["setpriv", "--inh-caps", "+net_bind_service", "--ambient-caps",
                                  "+net_bind_service", "grep", "^CapAmb", "/proc/self/status"],
                                 capture_output=True, check=True).stdout.decode()
            self.assertNotEqual(int(out.split()[1], 16), 0, out)
        finally:
            d.stop()


@unittest.skipUnless(built_with_systemd(), "built without libsystemd")
class SystemdTest(unittest.TestCase):
    def notify_socket(self):
        tmp = tempfile.mkdtemp(prefix="drover-ops-")
        path = os.path.join(tmp, "notify.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(0.2)
        self.addCleanup(s.close)
        return s, path

    def wait_message(self, s, key, seen, timeout=15.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                msg = s.recv(4096).decode()
            except socket.timeout:
                continue
            seen.append(msg)
            if key in msg.split("\n"):
                return msg
        raise AssertionError("no %s within %.0fs; got %r" % (key, timeout, seen))

    def test_notify_ready_reloading_stopping(self):
        s, path = self.notify_socket()
        d = Drover(workers=2, env={"NOTIFY_SOCKET": path})
        try:
            seen = []
            msg = self.wait_message(s, "READY=1", seen)
            self.assertIn("STATUS=2 workers ready", msg)
            self.assertEqual(len(d.worker_pids()), 2)
            d.signal(signal.SIGHUP)
            self.wait_message(s, "RELOADING=1", seen)
            msg = self.wait_message(s, "READY=1", seen)
            self.assertTrue(any(l.startswith("STATUS=") for l in msg.split("\n")))
            self.assertEqual(d.status()["generation"], 2)
            d.signal(signal.SIGTERM)
            self.wait_message(s, "STOPPING=1", seen)
            self.assertEqual(d.proc.wait(15), 0)
        finally:
            d.stop()

    def test_upgrade_speaks_only_as_mainpid(self):
        # systemd (NotifyAccess=main) accepts a message only from MAINPID: during
        # a USR2 upgrade the old supervisor must name the new one MAINPID before
        # the new one says anything. The sender of each datagram is read from
        # its credentials, as systemd does.
        s, path = self.notify_socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        d = Ctl(workers=2, env={"NOTIFY_SOCKET": path})
        new_pid = None
        try:
            msgs = []   # (sender pid, message)

            def drain(until, timeout=20.0):
                end = time.monotonic() + timeout
                while time.monotonic() < end:
                    try:
                        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
                    except socket.timeout:
                        if until():
                            return
                        continue
                    pid = 0
                    for level, typ, cdata in anc:
                        if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                            pid = int.from_bytes(cdata[:4], "little")
                    msgs.append((pid, data.decode()))
                    if until():
                        return
                raise AssertionError("timed out; got %r" % msgs)

            drain(lambda: any("READY=1" in m.split("\n") for _, m in msgs))
            old_pid = d.pid
            self.assertTrue(all(p == old_pid for p, _ in msgs), msgs)
            d.signal(signal.SIGUSR2)
            wait_until(lambda: read_pidfile(d.pidfile) != old_pid, 20)
            new_pid = read_pidfile(d.pidfile)
            self.assertEqual(d.proc.wait(20), 0)
            # Once the old one is gone the new one speaks as MAINPID.
            drain(lambda: any(p == new_pid for p, _ in msgs))
            handover = [i for i, (p, m) in enumerate(msgs)
                        if p == old_pid and "MAINPID=%d" % new_pid in m.split("\n")]
            first_new = min(i for i, (p, _) in enumerate(msgs) if p == new_pid)
            self.assertTrue(handover, msgs)
            self.assertLess(handover[0], first_new, msgs)
            self.assertEqual({p for p, _ in msgs}, {old_pid, new_pid}, msgs)
        finally:
            if new_pid:
                stop_pid(new_pid)
            d.stop()

    def test_socket_activation(self):
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(64)
        port = lsock.getsockname()[1]
        unused, admin = free_port(), free_port()
        fd = lsock.fileno()
        # LISTEN_PID must be drover's own pid: the shell execs drover in place.
        redirect = "" if fd == 3 else "3<&%d %d<&-" % (fd, fd)
        wrapper = 'export LISTEN_PID=$$ LISTEN_FDS=1; exec "$@" ' + redirect
        tmp = tempfile.mkdtemp(prefix="drover-ops-")
        log = open(os.path.join(tmp, "drover.log"), "wb")
        p = subprocess.Popen(["sh", "-c", wrapper, "sh", DROVER, "--cgi", CGI_DIR, "--workers", "2",
                              "--bind", "127.0.0.1:%d" % unused,
                              "--set", "admin.bind=127.0.0.1:%d" % admin],
                             pass_fds=(fd,), stdout=log, stderr=subprocess.STDOUT)
        lsock.close()
        try:
            wait_until(lambda: admin_get(admin, "/healthz")[0] == 200, 15)
            status, _, body = request(port, path="/hello.cgi")
            self.assertEqual(status, 200)
            self.assertIn(b"Hello", body)
            # The configured bind was not used.
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", unused), timeout=2).close()
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGQUIT)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
            log.close()


if __name__ == "__main__":
    unittest.main()
