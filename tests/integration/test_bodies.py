"""Request bodies (issue 13, items 8, 9 and 12): an early answer reaches a
client that sends its whole body anyway (lingering close), body_timeout
bounds a slow body in all, and large bodies stream to CGI and FastCGI apps
(or spool to an unlinked file) while the worker's memory stays bounded."""
import hashlib
import http.client
import os
import socket
import tempfile
import threading
import time
import unittest

import harness
from harness import TEST_CGI_DIR, Drover, SharedDrover, RawConn, request, status_of

HELLO_FCGI = os.path.join(harness.BUILDDIR, "examples", "fastcgi", "hello")
MB = 1 << 20


def _sanitized():
    try:
        with open(harness.DROVER, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# An AddressSanitizer build (tests/run-all.sh --sanitizers): memory bounds do not apply.
SANITIZED = _sanitized()


def vm_kb(pid, field):
    """A VmRSS/VmHWM line of /proc/PID/status, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("%s missing for pid %d" % (field, pid))


def payload(n, seed=0):
    """n bytes that are not all alike, so a shifted or dropped block shows."""
    block = hashlib.sha256(b"drover-%d" % seed).digest() * 2048   # 64 KiB
    out = block * (n // len(block) + 1)
    return out[:n]


def post_streaming(port, path, body, headers=(), chunk=256 * 1024, timeout=60):
    """POSTs body from a thread while reading the response on this one, as
    a full-duplex client does; returns (status, response body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    head = "POST %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n" % path
    for h in headers:
        head += h + "\r\n"
    if not any(h.lower().startswith("transfer-encoding") for h in headers):
        head += "Content-Length: %d\r\n" % len(body)
    errors = []

    def send():
        try:
            s.sendall(head.encode() + b"\r\n")
            for i in range(0, len(body), chunk):
                s.sendall(body[i:i + chunk])
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    c = RawConn.__new__(RawConn)
    c.sock, c.rfile = s, s.makefile("rb")
    try:
        r = c.read_response()
    finally:
        t.join(timeout)
        c.close()
    if errors:
        raise errors[0]
    return r.status, r.body


class TestLingeringClose(SharedDrover):
    """413 for a body the client sends without waiting for 100-continue."""
    sets = ("server.max_body_bytes=64K",)

    def test_413_reaches_a_client_sending_the_whole_body(self):
        # http.client sends the whole body before it reads: without a
        # lingering close the kernel answers the unread bytes with a reset
        # and the 413 is lost (issue 13 item 9: 3 of 3 tries).
        body = payload(8 * MB)
        for _ in range(3):
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
            try:
                c.request("POST", "/echo.cgi", body=body)
                r = c.getresponse()
                self.assertEqual(r.status, 413)
                self.assertIn(b"too large", r.read())
            finally:
                c.close()

    def test_chunked_413_reaches_the_client(self):
        chunks = b"".join(b"10000\r\n" + b"x" * 0x10000 + b"\r\n" for _ in range(64)) + b"0\r\n\r\n"
        st, _ = post_streaming(self.port, "/echo.cgi", chunks,
                               headers=("Transfer-Encoding: chunked",))
        self.assertEqual(st, 413)

    def test_answer_then_close_even_if_the_client_keeps_sending(self):
        # The discarding is bounded: a client that never stops is cut off.
        with RawConn(self.port, timeout=30) as c:
            c.send(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n")
            t0 = time.monotonic()
            try:
                while time.monotonic() - t0 < 25:
                    c.sock.sendall(b"z" * 65536)
            except OSError:
                pass
            self.assertLess(time.monotonic() - t0, 20)
        st, _, _ = request(self.port, "GET", "/pid.cgi")
        self.assertEqual(st, 200)


class TestBodyTimeout(SharedDrover):
    """A body trickled byte by byte ends at body_timeout, not byte after byte."""
    sets = ("server.body_timeout=2", "server.header_timeout=10")

    def test_slow_body_is_cut_at_body_timeout(self):
        with RawConn(self.port, timeout=15) as c:
            c.send(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
            t0 = time.monotonic()
            stop = threading.Event()

            def trickle():
                try:
                    while not stop.is_set() and time.monotonic() - t0 < 12:
                        c.sock.sendall(b"x")
                        stop.wait(0.5)
                except OSError:
                    pass

            t = threading.Thread(target=trickle, daemon=True)
            t.start()
            try:
                r = c.read_response()
            finally:
                stop.set()
                t.join(5)
            elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 408)
        self.assertLess(elapsed, 4.5)
        self.assertGreater(elapsed, 1.5)

    def test_body_in_time_is_served(self):
        st, _, out = request(self.port, "POST", "/echo.cgi", body=b"q" * 5000)
        self.assertEqual(st, 200)
        self.assertEqual(out, b"q" * 5000)


def field(body, name):
    for line in body.decode(errors="replace").splitlines():
        if line.startswith(name + "="):
            return line[len(name) + 1:]
    return None


def chunked(body, size=50000):
    out = [b"%x\r\n" % len(body[i:i + size]) + body[i:i + size] + b"\r\n"
           for i in range(0, len(body), size)]
    return b"".join(out) + b"0\r\n\r\n"


def run_concurrently(fn, n, timeout=120):
    """fn(0..n-1) on n threads at once: {i: its result or the exception it raised}."""
    results = {}

    def run(i):
        try:
            results[i] = fn(i)
        except Exception as e:       # reported by the caller, with the others
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    if len(results) != n:
        raise AssertionError("%d of %d did not finish in %ds" % (n - len(results), n, timeout))
    return results


class StreamBase(unittest.TestCase):
    """One worker, so its memory is the memory every upload went through."""
    args = ()
    cgi = TEST_CGI_DIR

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="drover-bodies-")
        cls.d = Drover(args=cls.args, workers=1, cgi=cls.cgi,
                       sets=("server.max_body_bytes=1G", "server.temp_dir=" + cls.tmp))
        try:
            cls.d.wait_ready(1)
        except Exception:
            cls.d.stop()
            raise
        cls.port = cls.d.port
        cls.worker = cls.d.worker_pids()[0]

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        os.rmdir(cls.tmp)       # nothing may be left behind in temp_dir

    def assertWorkerSmall(self, limit_mb=16):
        self.assertEqual(self.d.worker_pids(), [self.worker])
        if SANITIZED:
            return      # shadow memory and the free quarantine say nothing of drover's own
        # VmHWM is the peak of VmRSS over the worker's whole life.
        peak = vm_kb(self.worker, "VmHWM")
        self.assertLess(peak, limit_mb * 1024, "worker peaked at %d KiB" % peak)

    def spool_fds(self):
        """The worker's open files in temp_dir (O_TMPFILE ones are named '#N (deleted)')."""
        out = []
        fd_dir = "/proc/%d/fd" % self.worker
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith(self.tmp + "/"):
                out.append(target)
        return out


class TestStreamingCGI(StreamBase):
    def test_20mb_echo_is_intact_and_the_worker_stays_small(self):
        body = payload(20 * MB, 1)
        st, out = post_streaming(self.port, "/echo.cgi", body)
        self.assertEqual(st, 200)
        self.assertEqual(len(out), len(body))
        self.assertEqual(hashlib.sha256(out).hexdigest(), hashlib.sha256(body).hexdigest())
        self.assertWorkerSmall()

    def test_chunked_upload_is_spooled_unlinked_and_gets_its_length(self):
        body = payload(3 * MB, 2)
        data = chunked(body)
        half = len(data) // 2
        with RawConn(self.port, timeout=30) as c:
            c.send(b"POST /sha.cgi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            c.send(data[:half])
            # Past body_buffer_bytes the body is in a file that has no name.
            files = harness.wait_until(self.spool_fds, timeout=10)
            self.assertTrue(all(f.endswith("(deleted)") for f in files), files)
            self.assertEqual(os.listdir(self.tmp), [])
            c.send(data[half:])
            r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(field(r.body, "CONTENT_LENGTH"), str(len(body)))
        self.assertEqual(field(r.body, "sha256"), hashlib.sha256(body).hexdigest())
        harness.wait_until(lambda: not self.spool_fds(), timeout=5)
        self.assertWorkerSmall()

    def test_small_chunked_body_gets_its_length(self):
        body = payload(1000, 3)
        st, out = post_streaming(self.port, "/sha.cgi", chunked(body, 100),
                                 headers=("Transfer-Encoding: chunked",))
        self.assertEqual(st, 200)
        self.assertEqual(field(out, "CONTENT_LENGTH"), "1000")
        self.assertEqual(field(out, "sha256"), hashlib.sha256(body).hexdigest())

    def test_many_concurrent_uploads(self):
        def one(i):
            body = payload((1 + i % 4) * MB + i, 10 + i)
            if i % 3 == 0:
                st, out = post_streaming(self.port, "/sha.cgi", chunked(body),
                                         headers=("Transfer-Encoding: chunked",))
            else:
                st, _, out = request(self.port, "POST", "/sha.cgi", body=body, timeout=60)
            return (st, field(out, "CONTENT_LENGTH"), field(out, "sha256"),
                    len(body), hashlib.sha256(body).hexdigest())

        results = run_concurrently(one, 24)
        for i, r in sorted(results.items()):
            self.assertIsInstance(r, tuple, "upload %d: %r" % (i, r))
            st, cl, sha, n, want = r
            self.assertEqual((st, cl, sha), (200, str(n), want), "upload %d" % i)
        self.assertWorkerSmall()

    def test_app_answering_before_the_body_is_read(self):
        # pid.cgi never reads stdin: its answer arrives, the unread rest of
        # the body is drained (lingering close), the worker carries on.
        body = payload(8 * MB, 4)
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request("POST", "/pid.cgi", body=body)
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
        finally:
            c.close()
        st, _, _ = request(self.port, "GET", "/pid.cgi")
        self.assertEqual(st, 200)

    def test_client_leaving_mid_body(self):
        with RawConn(self.port, timeout=10) as c:
            c.send(b"POST /sha.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: 50000000\r\n\r\n")
            c.send(payload(2 * MB, 5))
        body = payload(300000, 6)
        st, _, out = request(self.port, "POST", "/sha.cgi", body=body)
        self.assertEqual(st, 200)
        self.assertEqual(field(out, "sha256"), hashlib.sha256(body).hexdigest())


@unittest.skipUnless(os.access(HELLO_FCGI, os.X_OK), "examples/fastcgi/hello not built")
class TestStreamingFastCGI(StreamBase):
    args = ("--fastcgi", HELLO_FCGI)
    cgi = None

    def test_20mb_echo_is_intact_and_the_worker_stays_small(self):
        body = payload(20 * MB, 7)
        st, _, out = request(self.port, "POST", "/up?echo=1", body=body, timeout=60)
        self.assertEqual(st, 200)
        self.assertEqual(field(out[:4096], "CONTENT_LENGTH"), str(len(body)))
        self.assertEqual(field(out[:4096], "body_len"), str(len(body)))
        self.assertEqual(hashlib.sha256(out[-len(body):]).hexdigest(),
                         hashlib.sha256(body).hexdigest())
        self.assertWorkerSmall()

    def test_chunked_upload_gets_its_length(self):
        body = payload(2 * MB, 8)
        st, out = post_streaming(self.port, "/up", chunked(body),
                                 headers=("Transfer-Encoding: chunked",))
        self.assertEqual(st, 200)
        self.assertEqual(field(out, "CONTENT_LENGTH"), str(len(body)))
        self.assertEqual(field(out, "body_len"), str(len(body)))
        self.assertEqual(field(out, "body_sum"), str(sum(body) & 0xffffffff))
        self.assertWorkerSmall()

    def test_concurrent_uploads_beyond_the_app_processes(self):
        # One app process: the others wait in the queue, their bodies held
        # back on their sockets rather than in the worker.
        def one(i):
            body = payload(3 * MB, 20 + i)
            st, _, out = request(self.port, "POST", "/up", body=body, timeout=60)
            return (st, field(out, "body_len"), field(out, "body_sum"),
                    str(len(body)), str(sum(body) & 0xffffffff))

        for r in run_concurrently(one, 8).values():
            self.assertIsInstance(r, tuple, repr(r))
            self.assertEqual(r[:3], (200, r[3], r[4]))
        self.assertWorkerSmall()


if __name__ == "__main__":
    unittest.main()
