"""CGI behaviour of drover seen from outside: meta-variables, bodies in and
out, response head handling, redirects, streaming, failures and timeouts,
and that script paths never escape the root."""
import hashlib
import os
import shutil
import socket
import tempfile
import time
import unittest

from harness import (CGI_DIR, TEST_CGI_DIR, RawConn, SharedDrover, pid_alive,
                     pid_exists, raw, request, status_of, wait_gone, wait_until)


def parse_env(body):
    """vars.cgi output as a dict, and the body it echoed (or None)."""
    text, sep, echoed = body.partition(b"--- body ---\n")
    env = {}
    for line in text.decode("latin-1").splitlines():
        k, eq, v = line.partition("=")
        if eq:
            env[k] = v
    return env, (echoed if sep else None)


def big_pattern(mb):
    return b"".join((b"%015d\n" % i) * 4096 for i in range(mb * 16))


class CgiBase(SharedDrover):
    """One drover over the test scripts for the whole class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="drover-cgi-")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, path, **kw):
        return request(self.port, "GET", path, **kw)

    def assertUnharmed(self, pids_before):
        st, _, body = self.get("/pid.cgi")
        self.assertEqual(st, 200)
        self.assertEqual(self.d.worker_pids(), pids_before)


class TestMetaVariables(CgiBase):
    def test_every_variable(self):
        body = b"a=1&b=two"
        c = RawConn(self.port)
        try:
            local_port = c.sock.getsockname()[1]
            c.send(b"POST /vars.cgi/extra/p%%20q?x=1&y=%%41 HTTP/1.1\r\n"
                   b"Host: example.test:%d\r\n"
                   b"Content-Type: application/x-www-form-urlencoded\r\n"
                   b"Content-Length: %d\r\n"
                   b"X-Test-Header: hello world\r\n"
                   b"Authorization: Basic dXNlcjpwYXNz\r\n"
                   b"Proxy: http://evil.example:1/\r\n"
                   b"Connection: close\r\n\r\n%s" % (self.port, len(body), body))
            r = c.read_response()
        finally:
            c.close()
        self.assertEqual(r.status, 200, r.body)
        env, echoed = parse_env(r.body)
        root = os.path.realpath(TEST_CGI_DIR)
        self.assertEqual(env["GATEWAY_INTERFACE"], "CGI/1.1")
        self.assertEqual(env["SERVER_PROTOCOL"], "HTTP/1.1")
        self.assertTrue(env["SERVER_SOFTWARE"].startswith("drover"), env["SERVER_SOFTWARE"])
        self.assertEqual(env["REQUEST_METHOD"], "POST")
        self.assertEqual(env["SCRIPT_NAME"], "/vars.cgi")
        self.assertEqual(env["PATH_INFO"], "/extra/p q")
        self.assertEqual(env["QUERY_STRING"], "x=1&y=%41")
        self.assertEqual(env["REQUEST_URI"], "/vars.cgi/extra/p%20q?x=1&y=%41")
        self.assertEqual(env["CONTENT_LENGTH"], str(len(body)))
        self.assertEqual(env["CONTENT_TYPE"], "application/x-www-form-urlencoded")
        self.assertEqual(env["SERVER_NAME"], "example.test")
        self.assertEqual(env["SERVER_PORT"], str(self.port))
        self.assertEqual(env["REMOTE_ADDR"], "127.0.0.1")
        self.assertEqual(env["REMOTE_HOST"], "127.0.0.1")
        self.assertEqual(env["REMOTE_PORT"], str(local_port))
        self.assertEqual(os.path.realpath(env["SCRIPT_FILENAME"]), os.path.join(root, "vars.cgi"))
        self.assertEqual(os.path.realpath(env["DOCUMENT_ROOT"]), root)
        self.assertEqual(os.path.realpath(env["PATH_TRANSLATED"]), os.path.join(root, "extra/p q"))
        self.assertEqual(env["REDIRECT_STATUS"], "200")
        self.assertEqual(env["HTTP_X_TEST_HEADER"], "hello world")
        self.assertEqual(env["HTTP_HOST"], "example.test:%d" % self.port)
        self.assertEqual(env["AUTH_TYPE"], "Basic")
        self.assertNotIn("HTTP_AUTHORIZATION", env)
        self.assertNotIn("HTTPS", env)
        self.assertEqual(echoed, body)

    def test_get_without_body(self):
        st, _, out = self.get("/vars.cgi")
        self.assertEqual(st, 200)
        env, echoed = parse_env(out)
        self.assertEqual(env["REQUEST_METHOD"], "GET")
        self.assertEqual(env["PATH_INFO"], "")
        self.assertEqual(env["QUERY_STRING"], "")
        self.assertNotIn("CONTENT_TYPE", env)
        self.assertIsNone(echoed)

    def test_httpoxy(self):
        for name in (b"Proxy", b"proxy", b"PROXY"):
            c = RawConn(self.port)
            try:
                c.send(b"GET /vars.cgi HTTP/1.1\r\nHost: a\r\n%s: http://evil.example:1/\r\n"
                       b"Connection: close\r\n\r\n" % name)
                r = c.read_response()
            finally:
                c.close()
            self.assertEqual(r.status, 200)
            env, _ = parse_env(r.body)
            self.assertNotIn("HTTP_PROXY", env)
            self.assertNotIn(b"evil.example", r.body)

    def test_repeated_headers_joined(self):
        resp = raw(self.port, b"GET /vars.cgi HTTP/1.0\r\nX-Dup: a\r\nx-dup: b\r\n"
                   b"Cookie: c=1\r\nCookie: d=2\r\n\r\n")
        self.assertEqual(status_of(resp), 200)
        env, _ = parse_env(resp.partition(b"\r\n\r\n")[2])
        self.assertEqual(env["HTTP_X_DUP"], "a, b")
        self.assertEqual(env["HTTP_COOKIE"], "c=1; d=2")
        lines = resp.count(b"\nHTTP_X_DUP=")
        self.assertEqual(lines, 1)

    def test_underscore_header_not_mapped(self):
        # X_Forged and X-Forged would both map to HTTP_X_FORGED.
        st, _, out = self.get("/vars.cgi", headers={"X_Forged": "1"})
        self.assertEqual(st, 200)
        env, _ = parse_env(out)
        self.assertNotIn("HTTP_X_FORGED", env)

    def test_server_name_ipv6_host(self):
        st, _, out = self.get("/vars.cgi", headers={"Host": "[::1]:8080"})
        self.assertEqual(st, 200)
        env, _ = parse_env(out)
        self.assertEqual(env["SERVER_NAME"], "[::1]")

    def test_http10(self):
        resp = raw(self.port, b"GET /vars.cgi HTTP/1.0\r\n\r\n")
        self.assertEqual(status_of(resp), 200)
        env, _ = parse_env(resp.split(b"\r\n\r\n", 1)[1])
        self.assertEqual(env["SERVER_PROTOCOL"], "HTTP/1.0")


class TestBodies(CgiBase):
    def test_post_echo_exact(self):
        body = bytes(range(256)) * 4 + b"\r\n\r\n\x00end"
        st, h, out = request(self.port, "POST", "/echo.cgi", body=body,
                             headers={"Content-Type": "application/x-test"})
        self.assertEqual(st, 200)
        self.assertEqual(h["x-content-length"], str(len(body)))
        self.assertEqual(h["x-content-type"], "application/x-test")
        self.assertEqual(out, body)

    def test_post_echo_1mb(self):
        body = os.urandom(1 << 20)
        st, h, out = request(self.port, "POST", "/echo.cgi", body=body, timeout=30)
        self.assertEqual(st, 200)
        self.assertEqual(h["x-content-length"], str(len(body)))
        self.assertEqual(hashlib.sha256(out).hexdigest(), hashlib.sha256(body).hexdigest())

    def test_empty_post(self):
        st, h, out = request(self.port, "POST", "/echo.cgi", body=b"")
        self.assertEqual(st, 200)
        self.assertEqual(h["x-content-length"], "0")
        self.assertEqual(out, b"")

    def test_chunked_request_dechunked(self):
        with RawConn(self.port) as c:
            c.send(b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                   b"Connection: close\r\n\r\n"
                   b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\n")
            r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("X-Content-Length"), "12")
        self.assertEqual(r.body, b"hello world!")

    def test_chunked_request_no_te_var(self):
        with RawConn(self.port) as c:
            c.send(b"POST /vars.cgi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                   b"Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
            r = c.read_response()
        env, echoed = parse_env(r.body)
        self.assertEqual(env["CONTENT_LENGTH"], "3")
        self.assertNotIn("HTTP_TRANSFER_ENCODING", env)
        self.assertEqual(echoed, b"abc")

    def test_big_output_intact(self):
        st, h, out = request(self.port, "GET", "/big.cgi?20", timeout=60)
        self.assertEqual(st, 200)
        self.assertEqual(len(out), 20 << 20)
        self.assertEqual(hashlib.sha256(out).hexdigest(),
                         hashlib.sha256(big_pattern(20)).hexdigest())

    def test_streaming_is_chunked(self):
        with RawConn(self.port) as c:
            t0 = time.monotonic()
            c.send(b"GET /stream.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
            status = c.rfile.readline()
            first_byte = time.monotonic() - t0
            self.assertIn(b" 200 ", status)
            # The head and the first piece come before the script's pause ends.
            self.assertLess(first_byte, 0.5)
            hdrs = []
            while True:
                line = c.rfile.readline()
                if line == b"\r\n":
                    break
                hdrs.append(line.lower())
            self.assertIn(b"transfer-encoding: chunked\r\n", hdrs)
            size = int(c.rfile.readline(), 16)
            self.assertEqual(c.rfile.read(size), b"first\n")
            self.assertLess(time.monotonic() - t0, 0.5)
            c.rfile.readline()
            rest = b""
            while b"0\r\n\r\n" not in rest:
                b = c.sock.recv(4096)
                self.assertTrue(b)
                rest += b
            self.assertIn(b"second\n", rest)
            # Keep-alive survives a chunked response.
            c.send(b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)

    def test_http10_streaming_not_chunked(self):
        resp = raw(self.port, b"GET /stream.cgi HTTP/1.0\r\n\r\n")
        head, _, body = resp.partition(b"\r\n\r\n")
        self.assertEqual(status_of(resp), 200)
        self.assertNotIn(b"chunked", head.lower())
        self.assertEqual(body, b"first\nsecond\n")


class TestResponseHead(CgiBase):
    def test_status_and_headers(self):
        st, h, out = self.get("/status.cgi")
        self.assertEqual(st, 418)
        self.assertEqual(h["x-custom"], "custom value")
        self.assertEqual(h["content-length"], "7")
        self.assertNotIn("transfer-encoding", h)
        self.assertNotIn("status", h)
        self.assertEqual(out, b"teapot\n")

    def test_local_redirect(self):
        st, h, out = self.get("/redirect.cgi")
        self.assertEqual(st, 200)
        self.assertNotIn("location", h)
        env, _ = parse_env(out)
        self.assertEqual(env["SCRIPT_NAME"], "/vars.cgi")
        self.assertEqual(env["PATH_INFO"], "/via")
        self.assertEqual(env["QUERY_STRING"], "redirected=1")
        self.assertEqual(env["REQUEST_METHOD"], "GET")

    def test_absolute_redirect(self):
        st, h, _ = self.get("/redirect.cgi?abs")
        self.assertEqual(st, 302)
        self.assertEqual(h["location"], "http://example.invalid/elsewhere")

    def test_status_with_local_location_is_not_internal(self):
        st, h, out = self.get("/redirect.cgi?status")
        self.assertEqual(st, 302)
        self.assertEqual(h["location"], "/pid.cgi")
        self.assertEqual(out, b"moved\n")

    def test_redirect_loop_bounded(self):
        pids = self.d.worker_pids()
        st, _, _ = self.get("/redirect.cgi?loop", timeout=10)
        self.assertGreaterEqual(st, 500)
        self.assertUnharmed(pids)

    def test_header_injection_not_forwarded(self):
        resp = raw(self.port, b"GET /inject.cgi HTTP/1.0\r\n\r\n")
        head, _, body = resp.partition(b"\r\n\r\n")
        self.assertEqual(status_of(resp), 200)
        self.assertNotIn(b"\r", head.replace(b"\r\n", b""))
        self.assertNotIn(b"injected", head.lower())
        self.assertNotIn(b"x-evil", head.lower())
        self.assertIn(b"X-Good: fine", head)
        self.assertEqual(body, b"body\n")


class TestFailures(CgiBase):
    # escape.cgi links out of the root: not followed with follow_symlinks = no.
    sets = ("app.follow_symlinks=no",)

    def test_missing_404(self):
        self.assertEqual(self.get("/nope.cgi")[0], 404)
        self.assertEqual(self.get("/nope.cgi/extra")[0], 404)

    def test_directory_404(self):
        self.assertEqual(self.get("/")[0], 404)

    def test_not_executable_is_a_file(self):
        # Not executable: served as the bytes it holds, never run.
        st, _, out = self.get("/noexec.cgi")
        self.assertEqual(st, 200)
        with open(os.path.join(TEST_CGI_DIR, "noexec.cgi"), "rb") as f:
            self.assertEqual(out, f.read())

    def test_outside_root_never_served(self):
        # escape.cgi is a symlink to a runnable script outside the root.
        for target in (b"/escape.cgi", b"/escape.cgi/x",
                       b"/../../../examples/cgi-bin/hello.cgi",
                       b"/%2e%2e/%2e%2e/%2e%2e/examples/cgi-bin/hello.cgi",
                       b"/%2E%2E/%2E%2E/%2E%2E/examples/cgi-bin/hello.cgi",
                       b"/..%2f..%2f..%2fexamples/cgi-bin/hello.cgi",
                       b"/./vars.cgi"):
            resp = raw(self.port, b"GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % target)
            st = status_of(resp)
            self.assertIn(st, (400, 403, 404), (target, resp[:200]))
            self.assertNotIn(b"Hello from drover", resp)
            self.assertNotIn(b"GATEWAY_INTERFACE", resp)

    def test_encoded_nul_rejected(self):
        resp = raw(self.port, b"GET /vars.cgi%00.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        self.assertIn(status_of(resp), (400, 404))

    def test_bad_outputs_502(self):
        pids = self.d.worker_pids()
        for path in ("/crash.cgi", "/garbage.cgi", "/garbage.cgi?nohead", "/garbage.cgi?binary",
                     "/garbage.cgi?partial", "/garbage.cgi?empty"):
            st, _, _ = self.get(path)
            self.assertEqual(st, 502, path)
        self.assertUnharmed(pids)

    def test_bad_status_line(self):
        st, _, _ = self.get("/garbage.cgi?badstatus")
        self.assertEqual(st, 502)

    def test_stderr_logged_with_script(self):
        st, _, _ = self.get("/stderr.cgi?tag42")
        self.assertEqual(st, 200)

        def logged():
            for line in self.d.read_log().splitlines():
                if "itest-stderr-marker tag42" in line:
                    return line
            return None
        line = wait_until(logged, 5)
        self.assertIn("stderr.cgi", line)

    def test_client_disconnect_kills_child(self):
        pidfile = os.path.join(self.tmp, "disc.pid")
        c = RawConn(self.port)
        c.send(b"GET /slow.cgi?sleep=30&pidfile=%s HTTP/1.1\r\nHost: a\r\n\r\n" % pidfile.encode())
        wait_until(lambda: os.path.exists(pidfile), 10)
        with open(pidfile) as f:
            shell, child = (int(x) for x in f.read().split())
        self.assertTrue(pid_alive(shell))
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()
        # The script, its own child (same process group) and no zombie left.
        wait_gone([shell, child], 5)
        wait_until(lambda: not pid_exists(shell), 5)


class TestTimeout(CgiBase):
    sets = ("app.request_timeout=1",)

    def test_request_timeout_504_and_killed(self):
        pids = self.d.worker_pids()
        pidfile = os.path.join(self.tmp, "slow.pid")
        t0 = time.monotonic()
        st, _, _ = self.get("/slow.cgi?sleep=5&pidfile=%s" % pidfile, timeout=10)
        elapsed = time.monotonic() - t0
        self.assertEqual(st, 504)
        self.assertLess(elapsed, 2.5)
        with open(pidfile) as f:
            shell, child = (int(x) for x in f.read().split())
        wait_gone([shell, child], 3)
        wait_until(lambda: not pid_exists(shell), 3)
        self.assertUnharmed(pids)

    def test_fast_request_unaffected(self):
        self.assertEqual(self.get("/pid.cgi")[0], 200)


class TestScriptMode(CgiBase):
    cgi = os.path.join(TEST_CGI_DIR, "vars.cgi")
    workers = 1

    def test_whole_path_is_path_info(self):
        st, _, out = self.get("/some/deep/path?q=1")
        self.assertEqual(st, 200)
        env, _ = parse_env(out)
        self.assertEqual(env["SCRIPT_NAME"], "")
        self.assertEqual(env["PATH_INFO"], "/some/deep/path")
        self.assertEqual(env["QUERY_STRING"], "q=1")
        self.assertEqual(os.path.realpath(env["SCRIPT_FILENAME"]),
                         os.path.realpath(os.path.join(TEST_CGI_DIR, "vars.cgi")))

    def test_root_path(self):
        st, _, out = self.get("/")
        self.assertEqual(st, 200)
        env, _ = parse_env(out)
        self.assertEqual(env["PATH_INFO"], "/")


class TestExamples(CgiBase):
    cgi = CGI_DIR
    workers = 1

    def test_hello(self):
        st, _, out = self.get("/hello.cgi")
        self.assertEqual(st, 200)
        self.assertEqual(out, b"Hello from drover\n")

    def test_env(self):
        st, _, out = request(self.port, "POST", "/env.cgi/x?y=1", body=b"zz")
        self.assertEqual(st, 200)
        self.assertIn(b"PATH_INFO=/x\n", out)
        self.assertTrue(out.endswith(b"--- body ---\nzz"))


if __name__ == "__main__":
    unittest.main()
