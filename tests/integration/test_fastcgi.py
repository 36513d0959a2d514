"""Black-box tests of drover's FastCGI adapter (DESIGN 6, 9; issue 3).

A real libfcgi app (examples/fastcgi/hello, built in DROVER_BUILDDIR) is run
as a spawned pool and as an external server; a small FastCGI server written
here plays a misbehaving app; php-cgi is used when installed. Every process
a test starts is stopped by pid in cleanup, and every wait is bounded.

Run: DROVER_BIN=... DROVER_SRCDIR=... DROVER_BUILDDIR=... \
     python3 -m unittest tests/integration/test_fastcgi.py
"""
import http.client
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Drover, request, wait_until, wait_gone, pid_alive  # noqa: E402

HELLO = os.path.join(harness.BUILDDIR, "examples", "fastcgi", "hello")
PHP_CGI = "/usr/bin/php-cgi"
PHP_ROOT = os.path.join(harness.SRCDIR, "examples", "fastcgi", "php")


def start_drover(test, **kw):
    """A Drover stopped in cleanup, whose log must hold no sanitizer error."""
    d = Drover(**kw)

    def done():
        d.stop()
        with open(d.log_path, errors="replace") as f:
            log = f.read()
        # Memory errors and undefined behaviour (leak reports at the
        # supervisor's exit are not this module's business).
        for bad in ("ERROR: AddressSanitizer", "runtime error:"):
            if bad in log:
                i = log.index(bad)
                test.fail("sanitizer report in drover's log:\n" + log[max(0, i - 200):i + 3000])
    test.addCleanup(done)
    return d


def body_field(body, name):
    m = re.search(rb"^" + re.escape(name.encode()) + rb"=(.*)$", body, re.M)
    return m.group(1).decode() if m else None


def app_pid(body):
    v = body_field(body, "pid")
    return int(v) if v else None


def hello_children(drover_pid):
    """Pids of hello app processes whose parent is a worker of drover_pid."""
    workers = set()
    apps = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(b")") + 2:].split()
        ppid = int(rest[1])
        comm = st[st.index(b"(") + 1:st.rindex(b")")]
        if ppid == drover_pid:
            workers.add(int(d))
        elif comm == b"hello" and rest[0] not in (b"Z", b"X"):
            apps.append((int(d), ppid))
    return sorted(p for p, pp in apps if pp in workers)


@unittest.skipUnless(os.access(HELLO, os.X_OK), "examples/fastcgi/hello not built (libfcgi missing?)")
class FastCGITest(unittest.TestCase):
    def start(self, args=(), workers=1, processes=1, sets=(), env=None, ready=True):
        sets = list(sets) + ["app.processes=%d" % processes]
        if "--fastcgi" not in args:
            args = ["--fastcgi", HELLO] + list(args)
        d = start_drover(self, args=args, workers=workers, cgi=None, sets=sets, env=env)
        self.addCleanup(self.stop_apps, d)
        if ready:
            d.wait_ready(workers)
        return d

    def stop_apps(self, d):
        # Runs before the drover cleanup: the workers stop their app
        # processes on the way out, and none may be left behind.
        apps = hello_children(d.pid) if d.proc.poll() is None else []
        d.stop()
        for p in apps:
            try:
                wait_gone([p], timeout=5)
            except AssertionError:
                os.kill(p, signal.SIGKILL)

    def get(self, d, path="/", **kw):
        return request(d.port, path=path, **kw)

    # ---- basic exchange

    def test_get_with_params(self):
        d = self.start()
        st, hdr, body = self.get(d, "/some/path?x=1&y=two", headers={"X-Test": "yes"})
        self.assertEqual(st, 200, body)
        self.assertEqual(hdr.get("content-type"), "text/plain")
        self.assertIn(b"Hello from FastCGI", body)
        self.assertEqual(body_field(body, "REQUEST_METHOD"), "GET")
        # No root or script: one app for every path, mounted at /.
        self.assertEqual(body_field(body, "SCRIPT_NAME"), "")
        self.assertEqual(body_field(body, "PATH_INFO"), "/some/path")
        self.assertEqual(body_field(body, "QUERY_STRING"), "x=1&y=two")
        self.assertEqual(body_field(body, "HTTP_X_TEST"), "yes")
        self.assertEqual(body_field(body, "body_len"), "0")

    def test_post_body(self):
        d = self.start()
        payload = b"name=value&other=\x01\x02\xff"
        st, _, body = self.get(d, "/form", method="POST", body=payload,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, body)
        self.assertEqual(body_field(body, "REQUEST_METHOD"), "POST")
        self.assertEqual(body_field(body, "CONTENT_LENGTH"), str(len(payload)))
        self.assertEqual(body_field(body, "body_len"), str(len(payload)))
        self.assertEqual(body_field(body, "body_sum"), str(sum(payload)))

    def test_chunked_request_body_is_dechunked(self):
        d = self.start()
        raw = (b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        with harness.RawConn(d.port) as c:
            c.send(raw)
            r = c.read_response()
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(body_field(r.body, "CONTENT_LENGTH"), "11")
        self.assertEqual(body_field(r.body, "body_len"), "11")

    def test_keepalive_many_requests_reuse_app(self):
        d = self.start(processes=1)
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
        self.addCleanup(c.close)
        pids = set()
        for i in range(50):
            c.request("GET", "/k?i=%d" % i)
            r = c.getresponse()
            b = r.read()
            self.assertEqual(r.status, 200)
            self.assertEqual(body_field(b, "QUERY_STRING"), "i=%d" % i)
            pids.add(app_pid(b))
        self.assertEqual(len(pids), 1)

    def test_stderr_goes_to_error_log(self):
        d = self.start()
        st, _, _ = self.get(d, "/err?stderr=1")
        self.assertEqual(st, 200)
        wait_until(lambda: harness.log_events(d.read_log(), event="fastcgi",
                                              stderr="hello: a line for the error log"), 5)
        ev = harness.log_events(d.read_log(), event="fastcgi",
                                stderr="hello: a line for the error log")[0]
        self.assertEqual(ev.get("script"), "/err")

    # ---- sizes

    def test_large_bodies_both_ways(self):
        d = self.start(sets=["server.max_body_bytes=4M"])
        payload = bytes((i * 7 + 3) % 251 for i in range(1 << 20))
        st, _, body = self.get(d, "/big?echo=1", method="POST", body=payload, timeout=30)
        self.assertEqual(st, 200)
        self.assertEqual(body_field(body[:4096], "body_len"), str(len(payload)))
        self.assertTrue(body.endswith(payload), "1 MB echo came back altered")
        st, _, body = self.get(d, "/big?out=%d" % (1 << 20), timeout=30)
        self.assertEqual(st, 200)
        tail = body[body.index(b"body_sum="):]
        tail = tail[tail.index(b"\n") + 1:]
        self.assertEqual(len(tail), 1 << 20)
        self.assertEqual(tail[:26], b"abcdefghijklmnopqrstuvwxyz")

    def test_large_response_to_slow_reader(self):
        # Back-pressure: 40 MB is far more than drover buffers for a client
        # (4 MB) plus the socket buffers; it only arrives whole if drover
        # stops reading the app while the client is not reading.
        d = self.start()
        size = 40 << 20
        s = socket.create_connection(("127.0.0.1", d.port), timeout=20)
        self.addCleanup(s.close)
        s.sendall(b"GET /?out=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % size)
        time.sleep(1.5)
        chunks = []
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            chunks.append(b)
        data = b"".join(chunks)
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
        body = data[data.index(b"\r\n\r\n") + 4:]
        # Chunked framing aside, the letters must all be there.
        letters = sum(len(x) for x in re.findall(rb"[a-z]{100,}", body))
        self.assertGreaterEqual(letters, size - 4096)
        self.assertTrue(data.endswith(b"0\r\n\r\n"))

    # ---- pool behaviour

    def test_concurrency_above_processes(self):
        d = self.start(workers=1, processes=2)
        results = []
        lock = threading.Lock()

        def one(i):
            path = "/c?sleep=1" if i % 5 == 0 else "/c?i=%d" % i
            try:
                st, _, b = self.get(d, path, timeout=20)
            except Exception as e:  # noqa: BLE001
                st, b = repr(e), b""
            with lock:
                results.append((st, app_pid(b)))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(len(results), 20)
        self.assertEqual([r[0] for r in results], [200] * 20)
        self.assertLessEqual(len({r[1] for r in results}), 2)

    def test_app_crash_gives_502_then_recovers(self):
        d = self.start(workers=1, processes=1)
        st, _, b = self.get(d, "/")
        self.assertEqual(st, 200)
        first = app_pid(b)
        st, _, _ = self.get(d, "/?crash=1")
        self.assertEqual(st, 502)
        for _ in range(5):
            st, _, b = self.get(d, "/after")
            self.assertEqual(st, 200)
        self.assertNotEqual(app_pid(b), first)
        wait_gone([first], 5)
        self.assertTrue(harness.log_events(d.read_log(), event="fastcgi", state="exited"))

    def test_timeout_gives_504_and_app_is_replaced(self):
        d = self.start(workers=1, processes=1, sets=["app.request_timeout=1"])
        st, _, b = self.get(d, "/")
        first = app_pid(b)
        t0 = time.monotonic()
        st, _, _ = self.get(d, "/slow?sleep=10", timeout=10)
        took = time.monotonic() - t0
        self.assertEqual(st, 504)
        self.assertLess(took, 2.5)
        wait_gone([first], 5)
        st, _, b = self.get(d, "/")
        self.assertEqual(st, 200)
        self.assertNotEqual(app_pid(b), first)

    def test_queue_waits_beyond_busy_app(self):
        # One process, a slow request in front: the next one queues, then runs.
        d = self.start(workers=1, processes=1)
        out = {}

        def slow():
            out["slow"] = self.get(d, "/?sleep=1", timeout=10)
        t = threading.Thread(target=slow)
        t.start()
        try:
            # The worker takes the slow request to the app in the same turn
            # of its loop that counts it in flight: the next one must queue.
            wait_until(lambda: d.status()["workers"][0]["in_flight"] == 1, 5)
            st, _, b = self.get(d, "/quick", timeout=10)
        finally:
            t.join(10)
        self.assertEqual(st, 200)
        self.assertEqual(out["slow"][0], 200)
        # Queued behind the slow one on the single app process: answered
        # by the same process, and only once the slow one is (the worker's
        # access log lines are written as each response completes).
        self.assertEqual(app_pid(b), app_pid(out["slow"][2]))
        log = wait_until(lambda: "GET /quick " in d.read_log() and d.read_log(), 5)
        self.assertLess(log.index("GET /?sleep=1 "), log.index("GET /quick "))

    def test_client_disconnect_aborts_request(self):
        d = self.start(workers=1, processes=1, sets=["app.request_timeout=20"])
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        s.sendall(b"GET /?sleep=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        s.close()
        # The app finishes its sleep unaware; drover serves the next one.
        st, _, _ = self.get(d, "/next", timeout=10)
        self.assertEqual(st, 200)
        st, _, _ = self.get(d, "/next", timeout=10)
        self.assertEqual(st, 200)

    def test_max_app_requests_recycles(self):
        d = self.start(workers=1, processes=1, sets=["app.max_app_requests=3"])
        pids = []
        for i in range(9):
            st, _, b = self.get(d, "/r?i=%d" % i)
            self.assertEqual(st, 200)
            pids.append(app_pid(b))
        self.assertEqual(len(set(pids)), 3, pids)
        self.assertEqual(pids[0], pids[2])
        self.assertNotEqual(pids[2], pids[3])
        self.assertTrue(harness.log_events(d.read_log(), event="fastcgi", state="recycled"))

    def test_env_and_working_dir_reach_the_app_process(self):
        wd = tempfile.mkdtemp(prefix="drover-fcgi-wd-")
        self.addCleanup(shutil.rmtree, wd, True)
        d = self.start(workers=1, processes=1,
                       sets=["app.working_dir=%s" % wd, "app.env=FOO_FROM_CONFIG=bar"])
        st, _, b = self.get(d, "/")
        self.assertEqual(st, 200)
        pid = app_pid(b)
        self.assertEqual(os.readlink("/proc/%d/cwd" % pid), os.path.realpath(wd))
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = f.read().split(b"\0")
        self.assertIn(b"FOO_FROM_CONFIG=bar", env)
        # Its own process group, and fd 0 is a listening unix socket.
        self.assertEqual(os.getpgid(pid), pid)
        self.assertTrue(os.readlink("/proc/%d/fd/0" % pid).startswith("socket:"))

    def test_shutdown_stops_apps_and_removes_sockets(self):
        tmp = tempfile.mkdtemp(prefix="drover-fcgi-tmp-")
        self.addCleanup(shutil.rmtree, tmp, True)
        d = self.start(workers=2, processes=2, env={"TMPDIR": tmp})
        # Ready workers may still be starting their app processes.
        apps = wait_until(lambda: len(hello_children(d.pid)) == 4 and hello_children(d.pid), 10)
        wait_until(lambda: len(os.listdir(tmp)) == 2, 10)
        st, _, _ = self.get(d, "/")
        self.assertEqual(st, 200)
        d.signal(signal.SIGTERM)
        d.proc.wait(10)
        wait_gone(apps, 5)
        self.assertEqual(os.listdir(tmp), [])

    def test_rolling_restart_under_load_loses_nothing(self):
        d = self.start(workers=2, processes=2)
        stop = threading.Event()
        failures, ok, seen = [], [0], set()
        lock = threading.Lock()

        def client():
            while not stop.is_set():
                try:
                    st, _, b = request(d.port, path="/roll?sleep=0", headers={"Connection": "close"},
                                       timeout=10)
                except Exception as e:  # noqa: BLE001
                    with lock:
                        failures.append(repr(e))
                    continue
                with lock:
                    if st != 200:
                        failures.append(st)
                    else:
                        ok[0] += 1
                        seen.add(app_pid(b))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            old_workers = set(d.worker_pids())
            old_apps = hello_children(d.pid)
            d.signal(signal.SIGHUP)
            wait_until(lambda: len(d.worker_pids()) == 2 and not (set(d.worker_pids()) & old_workers)
                       and not any(pid_alive(p) for p in old_workers), 20)
            time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join(15)
        self.assertEqual(failures, [])
        self.assertGreater(ok[0], 20)
        harness.assert_ready_before_drain(self, d.read_log(), 2, min_drains=2)
        # The old workers' app processes went with them.
        wait_gone(old_apps, 5)
        self.assertEqual(len(hello_children(d.pid)), 4)


@unittest.skipUnless(os.access(HELLO, os.X_OK), "examples/fastcgi/hello not built (libfcgi missing?)")
class ExternalServerTest(unittest.TestCase):
    def start_app(self, path):
        """hello listening on a unix socket of our own, given as fd 0."""
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
        ls.listen(16)
        p = subprocess.Popen([HELLO], stdin=ls.fileno(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        ls.close()
        self.addCleanup(self.kill, p)
        return p

    def kill(self, p):
        if p.poll() is None:
            p.kill()
            p.wait(5)

    def test_external_unix_address(self):
        tmp = tempfile.mkdtemp(prefix="drover-fcgi-ext-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "app.sock")
        app = self.start_app(path)
        d = start_drover(self, args=["--fastcgi", "unix:" + path], workers=2, cgi=None,
                         sets=["app.processes=2"])
        d.wait_ready(2)
        st, _, b = request(d.port, path="/ext?q=1")
        self.assertEqual(st, 200, b)
        self.assertEqual(app_pid(b), app.pid)
        self.assertEqual(body_field(b, "QUERY_STRING"), "q=1")
        st, _, b = request(d.port, path="/ext", method="POST", body=b"x" * 100000)
        self.assertEqual(st, 200)
        self.assertEqual(body_field(b, "body_len"), "100000")
        # Kept connections are reused: many requests, one app, all fine.
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
        self.addCleanup(c.close)
        for i in range(20):
            c.request("GET", "/ext?i=%d" % i)
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
        # The app going away: 502, not a hang and not a dead worker.
        self.kill(app)
        st, _, _ = request(d.port, path="/gone")
        self.assertEqual(st, 502)
        self.assertEqual(len(d.worker_pids()), 2)

    def test_external_refused_is_502(self):
        port = harness.free_port()
        d = start_drover(self, args=["--fastcgi", "127.0.0.1:%d" % port], workers=1, cgi=None)
        d.wait_ready(1)
        t0 = time.monotonic()
        st, _, _ = request(d.port, path="/")
        self.assertEqual(st, 502)
        self.assertLess(time.monotonic() - t0, 2.0)


# ---- a misbehaving FastCGI app, written here

def rec(rtype, content=b"", rid=1, pad=None, version=1):
    if pad is None:
        pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBx", version, rtype, rid, len(content), pad) + content + b"\0" * pad


def end_rec(proto=0, rid=1):
    return rec(3, struct.pack(">IB3x", 0, proto), rid)


STDOUT, STDERR = 6, 7


class BadApp:
    """Reads each request (params to the empty STDIN) and answers as its
    QUERY_STRING asks, well or badly. Connections are kept when it can."""

    def __init__(self, path):
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(path)
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.stopping = False
        self.lock = threading.Lock()
        self.nconn = 0
        self.seen = []                  # (QUERY_STRING, connection number)
        self.hold = threading.Event()   # releases an "afterend_hold" answer
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def stop(self):
        self.stopping = True
        self.t.join(5)
        self.ls.close()

    def serve(self):
        while not self.stopping:
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.conn, args=(c,), daemon=True).start()

    @staticmethod
    def read_exact(c, n):
        b = b""
        while len(b) < n:
            x = c.recv(n - len(b))
            if not x:
                raise EOFError
            b += x
        return b

    def read_request(self, c):
        params, got_stdin_end, keep = b"", False, False
        while not got_stdin_end:
            h = self.read_exact(c, 8)
            ver, rtype, rid, clen, pad = struct.unpack(">BBHHBx", h)
            body = self.read_exact(c, clen + pad)[:clen]
            if rtype == 1:
                keep = bool(body[2] & 1)
            elif rtype == 4:
                params += body
            elif rtype == 5 and clen == 0:
                got_stdin_end = True
        env, i = {}, 0
        while i < len(params):
            lens = []
            for _ in range(2):
                if params[i] & 0x80:
                    lens.append(struct.unpack(">I", params[i:i + 4])[0] & 0x7fffffff)
                    i += 4
                else:
                    lens.append(params[i])
                    i += 1
            n, v = params[i:i + lens[0]], params[i + lens[0]:i + lens[0] + lens[1]]
            i += lens[0] + lens[1]
            env[n.decode()] = v.decode(errors="replace")
        return env, keep

    def conn(self, c):
        c.settimeout(10)
        with self.lock:
            self.nconn += 1
            n = self.nconn
        try:
            while True:
                env, keep = self.read_request(c)
                with self.lock:
                    self.seen.append((env.get("QUERY_STRING", ""), n))
                if not self.answer(c, env.get("QUERY_STRING", "")):
                    break
                if not keep:
                    break
        except (EOFError, OSError):
            pass
        finally:
            c.close()

    def answer(self, c, q):
        """Sends the reply; False closes the connection afterwards."""
        head = b"Content-Type: text/plain\r\nX-Mode: " + q.encode() + b"\r\n\r\n"
        if q == "ok":
            c.sendall(rec(STDOUT, head + b"ok") + rec(STDOUT) + end_rec())
            return True
        if q == "split":
            # Odd padding, many small records, stderr between, sent in 3-byte pieces.
            data = rec(STDERR, b"warn one\n", pad=3)
            for i in range(0, len(head), 5):
                data += rec(STDOUT, head[i:i + 5], pad=i % 8)
            data += rec(STDOUT, b"split-" * 50, pad=255) + rec(STDOUT) + end_rec()
            for i in range(0, len(data), 3):
                c.sendall(data[i:i + 3])
            return True
        if q == "garbage":
            c.sendall(b"HTTP/1.0 200 OK\r\n\r\nnot fastcgi at all")
        elif q == "version":
            c.sendall(rec(STDOUT, head, version=2))
        elif q == "otherid":
            c.sendall(rec(STDOUT, head, rid=7))
        elif q == "early_end":
            c.sendall(end_rec())
            return True
        elif q == "truncated":
            c.sendall(struct.pack(">BBHHBx", 1, STDOUT, 1, 100, 0) + head[:10])
        elif q == "overloaded":
            c.sendall(end_rec(proto=2))
            return True
        elif q == "unknown_role":
            c.sendall(end_rec(proto=3))
            return True
        elif q == "bighead":
            c.sendall(rec(STDOUT, b"X-Big: " + b"a" * 60000 + b"\r\n"))
            time.sleep(0.5)
        elif q == "afterend":
            c.sendall(rec(STDOUT, head + b"ok") + rec(STDOUT) + end_rec() + rec(STDOUT, b"more"))
        elif q == "afterend_hold":
            # Answers when told, with a stray record after END_REQUEST in
            # the same write, and would take the next request on this
            # connection if drover sent one.
            self.hold.wait(10)
            c.sendall(rec(STDOUT, head + b"ok") + rec(STDOUT) + end_rec() + rec(STDOUT, b"more"))
            return True
        return False


def start_bad_app(test, processes):
    """A BadApp as the external server of a one-worker drover, both stopped
    in cleanup; sets test.app and test.d."""
    tmp = tempfile.mkdtemp(prefix="drover-fcgi-bad-")
    test.addCleanup(shutil.rmtree, tmp, True)
    path = os.path.join(tmp, "bad.sock")
    test.app = BadApp(path)
    test.addCleanup(test.app.stop)
    test.addCleanup(test.app.hold.set)
    test.d = start_drover(test, args=["--fastcgi", "unix:" + path], workers=1, cgi=None,
                          sets=["app.processes=%d" % processes, "app.request_timeout=5"])
    test.d.wait_ready(1)


class ProtocolViolationTest(unittest.TestCase):
    def setUp(self):
        start_bad_app(self, processes=2)
        self.worker = self.d.worker_pids()

    def q(self, mode):
        return request(self.d.port, path="/?" + mode, timeout=10)

    def test_good_answers_split_and_padded(self):
        st, hdr, b = self.q("ok")
        self.assertEqual((st, b), (200, b"ok"))
        st, hdr, b = self.q("split")
        self.assertEqual(st, 200)
        self.assertEqual(hdr.get("x-mode"), "split")
        self.assertEqual(b, b"split-" * 50)
        wait_until(lambda: harness.log_events(self.d.read_log(), event="fastcgi", stderr="warn one"), 5)

    def test_each_violation_is_502_and_worker_survives(self):
        cases = {"garbage": 502, "version": 502, "otherid": 502, "early_end": 502,
                 "truncated": 502, "unknown_role": 502, "bighead": 502, "overloaded": 503}
        for mode, want in cases.items():
            with self.subTest(mode=mode):
                st, _, _ = self.q(mode)
                self.assertEqual(st, want)
                st, _, b = self.q("ok")
                self.assertEqual((st, b), (200, b"ok"))
        # A record after END_REQUEST spoils only the connection, not the answer.
        st, _, b = self.q("afterend")
        self.assertEqual((st, b), (200, b"ok"))
        self.assertEqual(self.d.worker_pids(), self.worker)


class StrayBytesTest(unittest.TestCase):
    """Bytes after END_REQUEST close the app connection: drover does not
    know what they were, so it never sends another request down it. An
    external server's connection is kept only to hand straight to a
    request waiting in the worker, so one is made to wait."""

    def setUp(self):
        start_bad_app(self, processes=1)

    def test_stray_bytes_after_end_request_close_the_kept_connection(self):
        out = {}

        def get(name, q):
            out[name] = request(self.d.port, path="/?" + q, timeout=10)
        first = threading.Thread(target=get, args=("first", "afterend_hold"))
        second = threading.Thread(target=get, args=("second", "ok"))
        first.start()
        try:
            wait_until(lambda: self.app.seen, 5)
            second.start()
            # Counted in flight in the same turn of the worker's loop that
            # queues it behind the first (one app connection at most).
            wait_until(lambda: self.d.status()["workers"][0]["in_flight"] == 2, 5)
        finally:
            self.app.hold.set()
            first.join(10)
            if second.ident is not None:
                second.join(10)
        self.assertEqual((out["first"][0], out["first"][2]), (200, b"ok"))
        self.assertEqual((out["second"][0], out["second"][2]), (200, b"ok"))
        with self.app.lock:
            seen = dict(self.app.seen)
        self.assertEqual(len(self.app.seen), 2)
        self.assertNotEqual(seen["afterend_hold"], seen["ok"],
                            "the queued request went down the connection that had stray bytes")


@unittest.skipUnless(os.access(PHP_CGI, os.X_OK), "php-cgi not installed")
class PhpCgiTest(unittest.TestCase):
    def test_php_get_and_post(self):
        d = start_drover(self, args=["-c", os.path.join(harness.SRCDIR, "examples", "fastcgi",
                                                        "php-cgi.ini")],
                         workers=2, cgi=None, sets=["app.root=" + PHP_ROOT, "app.processes=1"])
        d.wait_ready(2)
        st, hdr, b = request(d.port, path="/index.php?a=b")
        self.assertEqual(st, 200, b)
        self.assertIn(b"Hello from PHP", b)
        self.assertIn(b"SCRIPT_NAME=/index.php", b)
        self.assertIn(b"QUERY_STRING=a=b", b)
        self.assertTrue(hdr.get("content-type", "").startswith("text/plain"))
        st, _, b = request(d.port, path="/index.php", method="POST", body=b"posted=1&x=y",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, b)
        self.assertIn(b"REQUEST_METHOD=POST", b)
        self.assertIn(b"body=posted=1&x=y", b)
        st, _, b = request(d.port, path="/missing.php")
        self.assertEqual(st, 404, b)


if __name__ == "__main__":
    unittest.main()
