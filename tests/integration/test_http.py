"""HTTP/1.x behaviour of drover's workers seen from a socket: keep-alive,
pipelining, HTTP/1.0, HEAD, 100-continue, chunked bodies, and every
bad-input row of docs/design.md section 9 that HTTP framing can produce. After
each bad request the worker must be unharmed: same pids, next request fine."""
import email.utils
import select
import socket
import threading
import time
import unittest

from harness import TEST_CGI_DIR, Drover, RawConn, raw, request, status_of

GOOD = b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\n\r\n"


class HttpBase(unittest.TestCase):
    workers = 2
    sets = ()

    @classmethod
    def setUpClass(cls):
        cls.d = Drover(workers=cls.workers, cgi=TEST_CGI_DIR, sets=cls.sets)
        try:
            cls.d.wait_ready(cls.workers)
        except Exception:
            cls.d.stop()
            raise
        cls.port = cls.d.port

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def setUp(self):
        self.pids = self.d.worker_pids()
        self.assertEqual(len(self.pids), self.workers)

    def assertUnharmed(self):
        st, _, _ = request(self.port, "GET", "/pid.cgi")
        self.assertEqual(st, 200)
        self.assertEqual(self.d.worker_pids(), self.pids)

    def assertRejected(self, data, code, closed=True):
        """Sends data, expects code as the only response and the connection closed."""
        with RawConn(self.port, timeout=5) as c:
            c.send(data)
            r = c.read_response()
            self.assertEqual(r.status, code, data[:120])
            if closed:
                self.assertTrue(c.closed_by_peer(3), "connection left open after %d" % code)
        self.assertUnharmed()
        return r


class TestProtocol(HttpBase):
    def test_keepalive_two_requests(self):
        with RawConn(self.port) as c:
            c.send(GOOD)
            r1 = c.read_response()
            c.send(GOOD)
            r2 = c.read_response()
        self.assertEqual((r1.status, r2.status), (200, 200))
        # Same connection, so the same worker ran both scripts.
        self.assertEqual(r1.body, r2.body)
        self.assertNotEqual((r1.header("Connection") or "").lower(), "close")

    def test_pipelining(self):
        with RawConn(self.port) as c:
            c.send(b"GET /vars.cgi/one HTTP/1.1\r\nHost: a\r\n\r\n"
                   b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\ntwo"
                   b"GET /vars.cgi/three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            r1, r2, r3 = c.read_response(), c.read_response(), c.read_response()
            self.assertTrue(c.closed_by_peer(3))
        self.assertEqual((r1.status, r2.status, r3.status), (200, 200, 200))
        self.assertIn(b"PATH_INFO=/one\n", r1.body)
        self.assertEqual(r2.body, b"two")
        self.assertIn(b"PATH_INFO=/three\n", r3.body)

    def test_http10(self):
        resp = raw(self.port, b"GET /stream.cgi HTTP/1.0\r\n\r\n")
        head, _, body = resp.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1."))
        self.assertEqual(status_of(resp), 200)
        self.assertNotIn(b"transfer-encoding", head.lower())
        self.assertEqual(body, b"first\nsecond\n")

    def test_http10_keepalive_header_respected_or_closed(self):
        with RawConn(self.port) as c:
            c.send(b"GET /status.cgi HTTP/1.0\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 418)
            self.assertTrue(c.closed_by_peer(3))

    def test_connection_close(self):
        with RawConn(self.port) as c:
            c.send(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual((r.header("Connection") or "").lower(), "close")
            self.assertTrue(c.closed_by_peer(3))

    def test_head(self):
        with RawConn(self.port) as c:
            c.send(b"HEAD /status.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
            r = c.read_response("HEAD")
            self.assertEqual(r.status, 418)
            self.assertEqual(r.header("X-Custom"), "custom value")
            # No body bytes: the next response follows the head directly.
            c.send(b"HEAD /vars.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
            r2 = c.read_response("HEAD")
            self.assertEqual(r2.status, 200)
            c.send(GOOD)
            r3 = c.read_response()
            self.assertEqual(r3.status, 200)
            self.assertTrue(r3.body.strip().isdigit())

    def test_expect_100_continue(self):
        with RawConn(self.port) as c:
            c.send(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                   b"Expect: 100-continue\r\n\r\n")
            interim = c.read_response()
            self.assertEqual(interim.status, 100)
            c.send(b"hello")
            r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"hello")

    def test_expect_100_body_sent_anyway(self):
        # A client that does not wait for the 100 still gets its answer.
        with RawConn(self.port) as c:
            c.send(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                   b"Expect: 100-continue\r\n\r\nhello")
            r = c.read_response()
            if r.status == 100:
                r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"hello")

    def test_chunked_request_body(self):
        with RawConn(self.port) as c:
            c.send(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in (b"3\r\nabc\r\n", b"A\r\n0123456789\r\n", b"0\r\n\r\n"):
                time.sleep(0.05)
                c.send(piece)
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, b"abc0123456789")
            # The connection is still good for the next request.
            c.send(GOOD)
            self.assertEqual(c.read_response().status, 200)

    def test_many_chunks_echoed_exactly(self):
        # 30 chunks of every size from 1 to 30 bytes, with one- and two-digit
        # sizes: the chunk-size parser starts afresh at each one.
        body = bytes(range(256)) * 2
        chunks, pos = [], 0
        for size in range(1, 31):
            chunks.append(b"%x\r\n" % size + body[pos:pos + size] + b"\r\n")
            pos += size
        with RawConn(self.port) as c:
            c.send(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
                   b"".join(chunks) + b"0\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, body[:pos])
            self.assertEqual(r.header("X-Content-Length"), str(pos))
            c.send(GOOD)
            self.assertEqual(c.read_response().status, 200)

    def test_date_and_server(self):
        st, h, _ = request(self.port, "GET", "/pid.cgi")
        self.assertEqual(st, 200)
        self.assertTrue(h["server"].startswith("drover"))
        when = email.utils.parsedate_to_datetime(h["date"])
        self.assertLess(abs(when.timestamp() - time.time()), 5)
        # Error responses carry them too.
        st, h, _ = request(self.port, "GET", "/nope.cgi")
        self.assertEqual(st, 404)
        self.assertIn("date", h)
        self.assertIn("server", h)


class TestBadInput(HttpBase):
    def test_cl_and_te(self):
        self.assertRejected(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)

    def test_conflicting_cl(self):
        self.assertRejected(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                            b"Content-Length: 5\r\n\r\nabcde", 400)

    def test_cl_list(self):
        self.assertRejected(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 5\r\n\r\nabcde", 400)

    def test_cl_not_a_number(self):
        self.assertRejected(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", 400)

    def test_te_gzip_chunked(self):
        # A coding drover does not implement: 501 (RFC 9112 §6.1), and the connection closes.
        self.assertRejected(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n"
                            b"\r\n0\r\n\r\n", 501)
        self.assertRejected(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
                            b"\r\nabc", 501)

    def test_te_twice(self):
        self.assertRejected(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)

    def test_te_on_http10(self):
        self.assertRejected(b"POST /echo.cgi HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
                            b"\r\n0\r\n\r\n", 400)

    def test_bad_chunk_size(self):
        self.assertRejected(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                            b"\r\nzz\r\nabc\r\n0\r\n\r\n", 400)

    def test_bare_lf(self):
        self.assertRejected(b"GET /pid.cgi HTTP/1.1\nHost: a\n\n", 400)
        self.assertRejected(b"GET /pid.cgi HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400)

    def test_obsolete_folding(self):
        self.assertRejected(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nX: one\r\n two\r\n\r\n", 400)

    def test_nul_in_header(self):
        self.assertRejected(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400)

    def test_bad_header_name(self):
        self.assertRejected(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n", 400)
        self.assertRejected(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nX y: 1\r\n\r\n", 400)

    def test_space_before_colon(self):
        self.assertRejected(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\nabc", 400)

    def test_missing_host(self):
        self.assertRejected(b"GET /pid.cgi HTTP/1.1\r\n\r\n", 400)

    def test_duplicate_host(self):
        self.assertRejected(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)

    def test_garbage_request_line(self):
        self.assertRejected(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400)

    def test_bad_version(self):
        resp = raw(self.port, b"GET /pid.cgi HTTP/2.0\r\nHost: a\r\n\r\n")
        self.assertIn(status_of(resp), (400, 505))
        self.assertUnharmed()

    def test_oversize_head_431(self):
        # Default max_header_bytes is 16K.
        big = b"".join(b"X-Fill-%d: %s\r\n" % (i, b"v" * 100) for i in range(200))
        self.assertRejected(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\n" + big + b"\r\n", 431)

    def test_long_request_line_414(self):
        self.assertRejected(b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414)

    def test_oversize_head_slowly(self):
        # The limit holds when the head comes in many small pieces too, and
        # the client gets the 431, not a silent close: it stops sending as
        # soon as the answer is there, as a browser would.
        with RawConn(self.port, timeout=5) as c:
            c.send(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\n")
            for i in range(400):
                if select.select([c.sock], [], [], 0)[0]:
                    break
                c.send(b"X-Fill-%d: %s\r\n" % (i, b"v" * 60))
            self.assertEqual(c.read_response().status, 431)
        self.assertUnharmed()

    def test_abrupt_close_mid_head(self):
        for part in (b"GET /pid.cgi HT", b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nab"):
            s = socket.create_connection(("127.0.0.1", self.port))
            s.sendall(part)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        self.assertUnharmed()

    def test_many_bad_requests_in_a_row(self):
        for _ in range(50):
            raw(self.port, b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", timeout=2)
        self.assertUnharmed()


class TestBodyLimit(HttpBase):
    sets = ("server.max_body_bytes=1K",)

    def test_content_length_over_limit_413(self):
        self.assertRejected(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n", 413)

    def test_chunked_over_limit_413(self):
        chunks = b"".join(b"100\r\n" + b"x" * 256 + b"\r\n" for _ in range(6)) + b"0\r\n\r\n"
        with RawConn(self.port, timeout=5) as c:
            c.send(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            try:
                c.send(chunks)
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = c.read_response()
            self.assertEqual(r.status, 413)
        self.assertUnharmed()

    def test_at_limit_ok(self):
        body = b"y" * 1024
        st, _, out = request(self.port, "POST", "/echo.cgi", body=body)
        self.assertEqual(st, 200)
        self.assertEqual(out, body)


class TestHeaderTimeout(HttpBase):
    sets = ("server.header_timeout=1",)

    def test_slowloris(self):
        head = b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"z" * 40 + b"\r\n\r\n"
        result = {}

        def slow_client():
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            t0 = time.monotonic()
            got = b""
            try:
                for b in head:
                    s.sendall(bytes([b]))
                    time.sleep(0.3)
                    if time.monotonic() - t0 > 6:
                        break
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                s.settimeout(3)
                while True:
                    d = s.recv(4096)
                    if not d:
                        break
                    got += d
            except (socket.timeout, ConnectionResetError):
                pass
            result["elapsed"] = time.monotonic() - t0
            result["resp"] = got
            s.close()

        t = threading.Thread(target=slow_client, daemon=True)
        t.start()
        # Another client is served while the slow one trickles.
        time.sleep(0.5)
        for _ in range(3):
            st, _, _ = request(self.port, "GET", "/pid.cgi", timeout=2)
            self.assertEqual(st, 200)
        t.join(15)
        self.assertFalse(t.is_alive())
        # The slow client is cut off in about header_timeout, not after its
        # whole (about 17 s) head.
        self.assertLess(result["elapsed"], 2.5)
        if result["resp"]:
            self.assertEqual(status_of(result["resp"]), 408)
        self.assertUnharmed()

    def test_idle_connection_no_bytes(self):
        with RawConn(self.port) as c:
            t0 = time.monotonic()
            closed = c.closed_by_peer(4)
            self.assertTrue(closed)
            self.assertLess(time.monotonic() - t0, 3)


class TestKeepaliveTimeout(HttpBase):
    sets = ("server.keepalive_timeout=1",)
    workers = 1

    def test_idle_keepalive_closed(self):
        with RawConn(self.port) as c:
            c.send(GOOD)
            self.assertEqual(c.read_response().status, 200)
            t0 = time.monotonic()
            self.assertTrue(c.closed_by_peer(4))
            self.assertLess(time.monotonic() - t0, 2.5)


if __name__ == "__main__":
    unittest.main()
