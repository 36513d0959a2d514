"""HTTP syntax drover checks itself rather than trusting libhttp-parser or
the app: the request line, Host, transfer codings, and the app's response
head (1xx codes, Content-Length, control bytes, reason phrases, PATH_INFO
length)."""
import unittest

from harness import RawConn, SharedDrover, log_events, raw, request, status_of


class Base(SharedDrover):
    workers = 1

    def assertRefused(self, data, code=400):
        with RawConn(self.port, timeout=5) as c:
            c.send(data)
            r = c.read_response()
            self.assertEqual(r.status, code, data[:100])
            self.assertTrue(c.closed_by_peer(3), "left open: %r" % data[:100])

    def assertServed(self):
        st, _, _ = request(self.port, "GET", "/pid.cgi")
        self.assertEqual(st, 200)


class RequestLine(Base):
    def test_version_must_be_http_digit_dot_digit(self):
        for line in (b"GET /pid.cgi HTTZ/1.1", b"GET /pid.cgi H!!!/1.1", b"GET /pid.cgi HTTP/1.10",
                     b"GET /pid.cgi http/1.1"):
            self.assertRefused(line + b"\r\nHost: a\r\n\r\n")
        self.assertServed()

    def test_one_space_between_parts(self):
        for line in (b"GET  /pid.cgi HTTP/1.1", b"GET /pid.cgi  HTTP/1.1", b"GET\t/pid.cgi HTTP/1.1",
                     b"GET /pid.cgi HTTP/1.1 "):
            self.assertRefused(line + b"\r\nHost: a\r\n\r\n")

    def test_target_bytes(self):
        for target in (b"/pid.cgi#frag", b"/pid\xff.cgi", b"/pid\x7f.cgi", b"pid.cgi", b"*"):
            self.assertRefused(b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n")

    def test_forms_that_are_valid(self):
        with RawConn(self.port) as c:
            c.send(b"GET http://a/pid.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
            c.send(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertNotEqual(c.read_response().status, 400)


class HostHeader(Base):
    def test_bad_hosts_are_400(self):
        for host in (b"a b", b"evil/x?y", b"user@evil", b"\"><script>", b"[::1", b"a:b:c", b"a:99999x"):
            self.assertRefused(b"GET /vars.cgi HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        self.assertServed()

    def test_good_hosts_reach_server_name(self):
        for host, name in ((b"example.com:8080", "example.com"), (b"[::1]:80", "[::1]"),
                           (b"127.0.0.1", "127.0.0.1"), (b"xn--bcher-kva.example", "xn--bcher-kva.example")):
            st, _, body = request(self.port, "GET", "/vars.cgi", headers={"Host": host.decode()})
            self.assertEqual(st, 200, host)
            self.assertIn(("SERVER_NAME=%s\n" % name).encode(), body)


class TransferCoding(Base):
    def test_unimplemented_coding_is_501(self):
        for te in (b"gzip", b"gzip, chunked", b"identity", b"deflate"):
            self.assertRefused(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + te +
                               b"\r\n\r\n0\r\n\r\n", 501)
        self.assertServed()


class AppHead(Base):
    def test_1xx_other_than_103_is_502(self):
        for q in ("s101", "s100"):
            with RawConn(self.port) as c:
                c.send(b"GET /head.cgi?%s HTTP/1.1\r\nHost: a\r\n\r\n" % q.encode())
                self.assertEqual(c.read_response().status, 502, q)
                # Nothing the app wrote after its 1xx can pass for the answer to a next request.
                self.assertTrue(c.closed_by_peer(3))

    def test_103_is_interim(self):
        with RawConn(self.port) as c:
            c.send(b"GET /head.cgi?early HTTP/1.1\r\nHost: a\r\n\r\n")
            first = c.read_response()
            self.assertEqual((first.status, first.reason), (103, "Early Hints"))
            self.assertEqual(first.header("Link"), "</s.css>; rel=preload")
            self.assertIsNone(first.header("Drover-Session"))
            self.assertIsNone(first.header("Set-Cookie"))
            final = c.read_response()
            self.assertEqual(final.status, 200)
            self.assertEqual(final.body, b"final\n")
            c.send(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)

    def test_103_not_sent_to_http10(self):
        resp = raw(self.port, b"GET /head.cgi?early HTTP/1.0\r\n\r\n")
        self.assertEqual(status_of(resp), 200)
        self.assertNotIn(b" 103 ", resp)

    def test_endless_interim_heads_are_502(self):
        resp = raw(self.port, b"GET /head.cgi?earlyloop HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        self.assertIn(b"HTTP/1.1 502 ", resp)
        self.assertNotIn(b"never", resp)

    def test_unknown_status_keeps_reason(self):
        with RawConn(self.port) as c:
            c.send(b"GET /head.cgi?custom HTTP/1.1\r\nHost: a\r\n\r\n")
            r = c.read_response()
            self.assertEqual((r.status, r.reason), (299, "Custom Thing"))
            c.send(b"GET /status.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
            r = c.read_response()
            self.assertEqual((r.status, r.reason), (418, "I am a teapot"))

    def test_content_length_strict(self):
        for q in ("clplus", "clspace", "clhuge"):
            st, _, _ = request(self.port, "GET", "/head.cgi?" + q)
            self.assertEqual(st, 502, q)

    def test_control_bytes_in_values_dropped(self):
        with RawConn(self.port) as c:
            c.send(b"GET /head.cgi?ctl HTTP/1.1\r\nHost: a\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            for name in ("X-VT", "X-ESC", "X-DEL"):
                self.assertIsNone(r.header(name), name)
            self.assertEqual(r.header("X-Tab"), "a\tb")


class PathLength(Base):
    def test_long_path_info_is_414_never_cut(self):
        st, _, body = request(self.port, "GET", "/vars.cgi/" + "p" * 4000)
        self.assertEqual(st, 200)
        self.assertIn(b"PATH_INFO=/" + b"p" * 4000 + b"\n", body)
        st, _, _ = request(self.port, "GET", "/vars.cgi/" + "p" * 5000)
        self.assertEqual(st, 414)
        st, _, _ = request(self.port, "GET", "/" + "d" * 1100 + "/vars.cgi")
        self.assertIn(st, (404, 414))


if __name__ == "__main__":
    unittest.main()
