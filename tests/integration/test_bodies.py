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


if __name__ == "__main__":
    unittest.main()
