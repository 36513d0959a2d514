"""A worker with no room left: idle connections give way to new clients
(max_connections), refusals are 503 with Retry-After, counted by reason and
logged at most once a second; the admin endpoint answers /healthz with its
own connection cap full of idle sockets; the open-file limit is raised."""
import os
import resource
import socket
import tempfile
import threading
import time
import unittest

from harness import (Drover, RawConn, SharedDrover, admin_get, log_events, request, wait_until,
                     TEST_CGI_DIR)


def idle_sockets(port, n):
    socks = []
    for _ in range(n):
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    return socks


def rejected(d, reason):
    return d.metrics().get('drover_requests_rejected_total{reason="%s"}' % reason, 0)


class IdleGiveWay(SharedDrover):
    workers = 1
    sets = ("server.max_connections=5", "server.header_timeout=10", "server.keepalive_timeout=30")

    def test_idle_sockets_do_not_stall_a_real_client(self):
        # A kept-alive connection that served a request is idle too.
        keep = RawConn(self.port)
        keep.send(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(keep.read_response().status, 200)
        # Four silent sockets: the worker is at its cap of 5.
        socks = idle_sockets(self.port, 4)
        wait_until(lambda: self.d.status()["workers"][0]["connections"] == 5)
        try:
            t0 = time.monotonic()
            for _ in range(3):
                st, _, _ = request(self.port, "GET", "/pid.cgi", timeout=5)
                self.assertEqual(st, 200)
            self.assertLess(time.monotonic() - t0, 3.0)
            # The oldest idle ones made room: the kept-alive one first.
            self.assertTrue(keep.closed_by_peer(3))
        finally:
            keep.close()
            for s in socks:
                s.close()


class AllBusy(SharedDrover):
    workers = 1
    sets = ("server.max_connections=2",)

    def test_refused_with_503_retry_after_counted_and_logged_once_a_second(self):
        before = rejected(self.d, "connections")
        busy = []
        for i in range(2):
            c = RawConn(self.port)
            c.send(b"GET /slow.cgi?sleep=3&busy%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
            busy.append(c)
        try:
            wait_until(lambda: self.d.status()["workers"][0]["in_flight"] >= 2)
            for i in range(40):
                with RawConn(self.port) as c:
                    c.send(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
                    r = c.read_response()
                    self.assertEqual(r.status, 503)
                    self.assertEqual(r.header("Retry-After"), "1")
            wait_until(lambda: rejected(self.d, "connections") == before + 40)
            lines = log_events(self.d.read_log(), event="overload", reason="connections")
            self.assertGreaterEqual(len(lines), 1)
            self.assertLessEqual(len(lines), 5, "one line a second at most")
            for c in busy:
                self.assertEqual(c.read_response().status, 200)
        finally:
            for c in busy:
                c.close()


def hold_fastcgi_server(path, stop):
    """A FastCGI 'app' that accepts connections and never answers."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(64)
    srv.settimeout(0.2)
    held = []
    while not stop.is_set():
        try:
            c, _ = srv.accept()
            held.append(c)
        except socket.timeout:
            pass
    for c in held:
        c.close()
    srv.close()


class QueueFull(unittest.TestCase):
    def test_queue_full_is_503_with_retry_after(self):
        tmp = tempfile.mkdtemp(prefix="drover-queue-")
        path = os.path.join(tmp, "app.sock")
        stop = threading.Event()
        t = threading.Thread(target=hold_fastcgi_server, args=(path, stop), daemon=True)
        t.start()
        wait_until(lambda: os.path.exists(path))
        d = Drover(workers=1, cgi=None, args=["--fastcgi", "unix:" + path],
                   sets=["app.max_queue=2", "app.request_timeout=20"])
        conns = []
        try:
            d.wait_ready(1)
            # One request takes the app's only connection, two wait in the queue.
            for i in range(3):
                c = RawConn(d.port)
                c.send(b"GET /q%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
                conns.append(c)
            wait_until(lambda: d.status()["workers"][0]["in_flight"] >= 3)
            for i in range(30):
                st, h, _ = request(d.port, "GET", "/over%d" % i)
                self.assertEqual(st, 503)
                self.assertEqual(h.get("retry-after"), "1")
            self.assertEqual(rejected(d, "queue_full"), 30)
            lines = log_events(d.read_log(), event="overload", reason="queue_full")
            self.assertGreaterEqual(len(lines), 1)
            self.assertLessEqual(len(lines), 5)
            self.assertLessEqual(sum(int(l["refused"]) for l in lines), 30)
        finally:
            for c in conns:
                c.close()
            d.stop()
            stop.set()
            t.join(5)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class OutOfDescriptors(SharedDrover):
    workers = 1
    sets = ("server.header_timeout=30",)

    def test_emfile_pauses_accept_with_one_line_a_second(self):
        worker = self.d.worker_pids()[0]
        nfds = len(os.listdir("/proc/%d/fd" % worker))
        soft, hard = resource.prlimit(worker, resource.RLIMIT_NOFILE)
        resource.prlimit(worker, resource.RLIMIT_NOFILE, (nfds + 4, hard))
        socks = []
        try:
            for _ in range(30):
                socks.append(socket.create_connection(("127.0.0.1", self.port), timeout=5))
            wait_until(lambda: "Too many open files" in self.d.read_log())
            cpu0, t0 = cpu_seconds(worker), time.monotonic()
            time.sleep(2)
            cpu = cpu_seconds(worker) - cpu0
            wall = time.monotonic() - t0
            lines = [l for l in self.d.read_log().splitlines() if "Too many open files" in l]
            self.assertLessEqual(len(lines), 4, "accept failures flood the log")
            self.assertLess(cpu / wall, 0.25, "the worker spins on accept")
        finally:
            for s in socks:
                s.close()
            resource.prlimit(worker, resource.RLIMIT_NOFILE, (soft, hard))
        # Descriptors back: the queued connections are served.
        wait_until(lambda: request(self.port, "GET", "/pid.cgi", timeout=2)[0] == 200, 15)


class AdminCap(SharedDrover):
    workers = 1

    def test_healthz_answers_with_the_cap_full_of_idle_sockets(self):
        socks = idle_sockets(self.d.admin_port, 70)
        try:
            for _ in range(3):
                st, body = admin_get(self.d.admin_port, "/healthz", timeout=3)
                self.assertEqual(st, 200)
        finally:
            for s in socks:
                s.close()


class OpenFiles(SharedDrover):
    """Started with the usual soft limit (here 512, below the hard one)."""
    workers = 1

    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard <= 512:
            raise unittest.SkipTest("hard open-file limit too low to lower the soft one")
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
        try:
            super().setUpClass()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    def test_soft_limit_raised_to_hard(self):
        pid = self.d.worker_pids()[0]
        with open("/proc/%d/limits" % pid) as f:
            row = [l for l in f if l.startswith("Max open files")][0].split()
        soft, hard = row[3], row[4]
        self.assertEqual(soft, hard)
        self.assertNotEqual(soft, "512")


if __name__ == "__main__":
    unittest.main()
