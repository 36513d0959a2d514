"""Hostile clients and hostile apps (docs/design.md §5, §9): slowloris crowds,
a client that never reads, apps that flood stderr or never answer, a
worker out of file descriptors, and 10 000 idle keep-alive connections on
one worker. Each bounded in time; loopback only."""
import os
import resource
import signal
import socket
import threading
import time
import unittest

from chaos_lib import (CHAOS_SECONDS, children, fd_count, harness, percentile, request,
                       script_dir, vm_kb)

MB = 1 << 20

SCRIPTS = {
    "pid.cgi": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' \"$PPID\"\n",
    # 100 MB of output for a client that never reads it.
    "huge.cgi": "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\r\\n\\r\\n'\n"
                "exec head -c %d /dev/zero\n" % (100 * MB),
    # 50 MB to stderr: half one line with no newline, half short lines.
    "stderr_flood.cgi": "#!/bin/sh\n"
                        "head -c %d /dev/zero | tr '\\0' x >&2\n"
                        "yes 'chaos stderr flood line' | head -c %d >&2\n"
                        "printf 'Content-Type: text/plain\\r\\n\\r\\nstill fine\\n'\n" % (25 * MB, 25 * MB),
    # Never answers and shrugs off polite signals.
    "hang.cgi": "#!/bin/sh\ntrap '' TERM HUP INT PIPE\n"
                "echo $$ > \"${QUERY_STRING:-/dev/null}\"\nwhile :; do sleep 1; done\n",
}


def read_response(s, buf=b""):
    """One whole response with a Content-Length off socket s; returns
    (status, leftover bytes)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise EOFError("closed before a response")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        d = s.recv(65536)
        if not d:
            raise EOFError("closed in a body")
        rest += d
    return int(head.split(b" ", 2)[1]), rest[length:]


class Overload(unittest.TestCase):
    workers = 1
    sets = ()

    @classmethod
    def setUpClass(cls):
        cls.cgi = script_dir(SCRIPTS)

    def start(self, workers=1, sets=()):
        self.d = harness.Drover(workers=workers, cgi=self.cgi, sets=list(sets)).wait_ready(workers)
        return self.d

    def tearDown(self):
        if getattr(self, "d", None):
            self.d.stop()

    def test_slowloris_crowd(self):
        d = self.start(workers=2, sets=["server.header_timeout=4"])
        pids = d.worker_pids()
        slow = []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", d.port), 5)
            s.setblocking(False)
            slow.append(s)
        head = b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"z" * 100
        closed = set()
        stop = threading.Event()

        def trickle():
            i = 0
            while not stop.is_set() and i < len(head):
                for n, s in enumerate(slow):
                    if n in closed:
                        continue
                    try:
                        s.send(head[i:i + 1])
                    except (BlockingIOError, OSError):
                        closed.add(n)
                i += 1
                stop.wait(1.0)

        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        lat = []
        end = time.monotonic() + max(7.0, CHAOS_SECONDS / 4)
        while time.monotonic() < end:
            t0 = time.monotonic()
            st, _, _ = request(d.port, "GET", "/pid.cgi", timeout=5)
            lat.append(time.monotonic() - t0)
            self.assertEqual(st, 200)
            time.sleep(0.05)
        stop.set()
        t.join(5)
        # Each slow connection was answered (408) or closed by header_timeout.
        cut = 0
        for s in slow:
            s.setblocking(True)
            s.settimeout(0.5)
            try:
                data = s.recv(4096)
                if data == b"" or data.startswith(b"HTTP/1.1 408"):
                    cut += 1
            except (socket.timeout, OSError):
                pass
            s.close()
        print("\n  200 slowloris connections: %d other requests, p99 %.3fs max %.3fs; "
              "%d slow connections cut by header_timeout" % (len(lat), percentile(lat, 99), max(lat), cut))
        self.assertLess(max(lat), 1.0)
        self.assertGreaterEqual(cut, 190)
        self.assertEqual(d.worker_pids(), pids)

    def test_client_never_reads_100mb(self):
        d = self.start(sets=["app.request_timeout=60"])
        worker = d.worker_pids()[0]
        rss0 = vm_kb(worker)
        s = socket.create_connection(("127.0.0.1", d.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /huge.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
        peak = rss0
        end = time.monotonic() + 5
        while time.monotonic() < end:
            peak = max(peak, vm_kb(worker) or 0)
            time.sleep(0.1)
        # The worker still serves others meanwhile.
        st, _, _ = request(d.port, "GET", "/pid.cgi", timeout=5)
        self.assertEqual(st, 200)
        kids = children(worker)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        print("\n  client never reading 100 MB: worker RSS %d kB before, peak %d kB" % (rss0, peak))
        self.assertLess(peak, 100 * 1024)
        self.assertLess(peak - rss0, 32 * 1024, "the worker buffers what the client does not read")
        # Closing the client kills the streaming script.
        harness.wait_until(lambda: not [k for k in kids if harness.pid_alive(k)], 5)
        self.assertEqual(d.worker_pids(), [worker])

    def test_stderr_flood(self):
        d = self.start(sets=["app.request_timeout=60"])
        worker = d.worker_pids()[0]
        t0 = time.monotonic()
        st, _, body = request(d.port, "GET", "/stderr_flood.cgi", timeout=60)
        took = time.monotonic() - t0
        self.assertEqual(st, 200)
        self.assertEqual(body, b"still fine\n")
        self.assertEqual(d.worker_pids(), [worker])
        self.assertEqual(request(d.port, "GET", "/pid.cgi")[0], 200)
        longest = 0
        nlines = 0
        size = 0
        with open(d.log_path, "rb") as f:
            for line in f:
                size += len(line)
                nlines += 1
                longest = max(longest, len(line))
        print("\n  50 MB of app stderr in %.1fs: log %d lines, %.1f MB, longest line %d bytes"
              % (took, nlines, size / MB, longest))
        self.assertLess(longest, 16 * 1024, "an app's stderr line reached the log unbounded")
        self.assertLess(size, 1 * MB, "one request's stderr flooded the log")
        self.assertIn("stderr over", d.read_log())
        self.assertLess(vm_kb(worker), 100 * 1024)

    def test_app_never_answers(self):
        d = self.start(workers=2, sets=["app.request_timeout=2"])
        pids = d.worker_pids()
        tmp = d.tmp
        results = []

        def one(i):
            t0 = time.monotonic()
            st, _, _ = request(d.port, "GET", "/hang.cgi?%s/hang%d.pid" % (tmp, i), timeout=10)
            results.append((st, time.monotonic() - t0))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        # Others are served while 20 requests hang.
        t0 = time.monotonic()
        self.assertEqual(request(d.port, "GET", "/pid.cgi", timeout=5)[0], 200)
        quick = time.monotonic() - t0
        for t in threads:
            t.join(15)
        print("\n  20 hanging apps: statuses %s, slowest %.2fs; a normal request meanwhile %.3fs"
              % (sorted(set(r[0] for r in results)), max(r[1] for r in results), quick))
        self.assertEqual([r[0] for r in results], [504] * 20)
        self.assertLess(max(r[1] for r in results), 3.5)
        self.assertLess(quick, 1.0)
        # The scripts ignored TERM; they are gone all the same.
        script_pids = []
        for i in range(20):
            with open(os.path.join(tmp, "hang%d.pid" % i)) as f:
                script_pids.append(int(f.read()))
        harness.wait_gone(script_pids, 5)
        self.assertEqual(d.worker_pids(), pids)

    def test_fd_exhaustion(self):
        d = self.start(sets=["server.header_timeout=30"])
        worker = d.worker_pids()[0]
        for pid in (d.pid, worker):
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (64, 64))
        base_fds = fd_count(worker)
        conns = []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", d.port), 5)
            s.sendall(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
            conns.append(s)
        time.sleep(2)
        answered = {}
        pending = 0
        for s in conns:
            s.settimeout(0.2)
            try:
                st, _ = read_response(s)
                answered[st] = answered.get(st, 0) + 1
            except (socket.timeout, BlockingIOError):
                pending += 1
            except (EOFError, ConnectionResetError):
                answered["closed"] = answered.get("closed", 0) + 1
        peak_fds = fd_count(worker)
        log = d.read_log()
        for s in conns:
            s.close()
        print("\n  200 connections on a worker limited to 64 fds (%d open at rest, %d at peak): "
              "answers %s, %d still queued" % (base_fds, peak_fds, answered, pending))
        # No crash: same supervisor and worker; nothing but 200 or 503 answered.
        self.assertIsNone(d.proc.poll())
        self.assertEqual(d.worker_pids(), [worker])
        self.assertTrue(set(answered) <= {200, 503, "closed"}, answered)
        self.assertGreater(answered.get(200, 0), 0)
        self.assertIn("Too many open files", log)
        # Recovery once the connections are gone.
        harness.wait_until(lambda: request(d.port, "GET", "/pid.cgi", timeout=2)[0] == 200, 10)
        for _ in range(20):
            self.assertEqual(request(d.port, "GET", "/pid.cgi", timeout=5)[0], 200)
        self.assertEqual(d.worker_pids(), [worker])


class TenThousand(unittest.TestCase):
    """10 000 idle keep-alive connections on one worker, memory bounded."""
    target = 10000

    def test_ten_thousand_keepalive_connections(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = self.target + 500
        if hard < want:
            n = max(1000, hard - 500)
            note = "hard fd limit %d: scaled to %d connections" % (hard, n)
        else:
            n = self.target
            note = ""
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want), hard))
        cgi = script_dir({"pid.cgi": SCRIPTS["pid.cgi"]})
        # drover inherits the raised limit.
        d = harness.Drover(workers=1, cgi=cgi, sets=["server.max_connections=20000",
                                                     "server.keepalive_timeout=300",
                                                     "server.backlog=4096"]).wait_ready(1)
        conns = []
        try:
            worker = d.worker_pids()[0]
            # Warm the worker: its first requests grow buffers and pools.
            for _ in range(20):
                request(d.port, "GET", "/pid.cgi")
            rss0 = vm_kb(worker)
            t0 = time.monotonic()
            batch = 500
            while len(conns) < n:
                group = []
                for _ in range(min(batch, n - len(conns))):
                    s = socket.create_connection(("127.0.0.1", d.port), 10)
                    s.sendall(b"GET /missing.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
                    group.append(s)
                for s in group:
                    st, _ = read_response(s)
                    self.assertEqual(st, 404)
                conns += group
            opened = time.monotonic() - t0
            time.sleep(1)
            rss1 = vm_kb(worker)
            per = (rss1 - rss0) * 1024.0 / n
            # Still served promptly with all of them open.
            t1 = time.monotonic()
            self.assertEqual(request(d.port, "GET", "/pid.cgi", timeout=5)[0], 200)
            quick = time.monotonic() - t1
            # And every one of them is still usable.
            for s in conns[::max(1, n // 50)]:
                s.sendall(b"GET /missing.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
                self.assertEqual(read_response(s)[0], 404)
            print("\n  %d keep-alive connections on one worker (opened in %.1fs): RSS %d -> %d kB, "
                  "%.0f bytes per idle connection; a new request meanwhile %.3fs %s"
                  % (n, opened, rss0, rss1, per, quick, note))
            self.assertEqual(d.worker_pids(), [worker])
            self.assertLess(per, 20 * 1024)
            self.assertLess(quick, 1.0)
        finally:
            for s in conns:
                s.close()
            d.stop()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


if __name__ == "__main__":
    unittest.main()
