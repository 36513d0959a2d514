"""The access log: every request gets its line, those whose client left
before the app finished too (499, counted); every client-controlled value is
escaped so no request can forge a line; [log] access_format combined, json
and logfmt."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import DROVER, TEST_CGI_DIR, RawConn, SharedDrover, free_port, logfmt, request, wait_until

# Control bytes other than HTAB never get this far (400); the rest must not
# end a field or pass through raw.
NASTY_UA = b'evil" 200 1 "-" "x\tcol\\red\xff\xc3\xa9 end'


def send_and_leave(port, data, after=0.3):
    """Sends data, waits a moment, and closes without reading."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    time.sleep(after)
    s.close()


class Base(SharedDrover):
    workers = 1

    def lines(self, pred):
        return [l for l in self.d.read_log().splitlines() if pred(l)]

    def wait_line(self, pred, n=1):
        return wait_until(lambda: len(self.lines(pred)) >= n and self.lines(pred))


class Combined(Base):
    def test_client_gone_before_the_app_finished_is_499(self):
        before = self.d.metrics().get('drover_requests_total{code_class="4xx"}', 0)
        send_and_leave(self.port, b"GET /slow.cgi?sleep=2&gone499 HTTP/1.1\r\nHost: a\r\n\r\n")
        line = self.wait_line(lambda l: "gone499" in l and '" 499 ' in l)[0]
        self.assertRegex(line, r'^127\.0\.0\.1 - - \[[^]]+\] "GET /slow\.cgi\?sleep=2&gone499 HTTP/1\.1" 499 0 ')
        wait_until(lambda: self.d.metrics().get('drover_requests_total{code_class="4xx"}', 0) == before + 1)

    def test_every_head_request_logged(self):
        # curl -I: the client has its whole answer when the app's head arrives
        # and leaves while the app still writes its body.
        for i in range(4):
            with RawConn(self.port) as c:
                c.send(b"HEAD /stream.cgi?head%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
                self.assertEqual(c.read_response("HEAD").status, 200)
        for i in range(4):
            self.wait_line(lambda l, i=i: '"HEAD /stream.cgi?head%d HTTP/1.1" 200 ' % i in l)

    def test_values_escaped_as_nginx_does(self):
        with RawConn(self.port) as c:
            c.send(b"GET /pid.cgi?esc1 HTTP/1.1\r\nHost: a\r\nUser-Agent: " + NASTY_UA +
                   b"\r\nReferer: http://x/\"q\\\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
        line = self.wait_line(lambda l: "esc1" in l)[0]
        self.assertIn(r'"http://x/\x22q\x5C"', line)
        self.assertIn(r'"evil\x22 200 1 \x22-\x22 \x22x\x09col\x5Cred\xFF\xC3\xA9 end"', line)
        self.assertEqual(line.count('"'), 6, line)


class Json(Base):
    sets = ("log.access_format=json",)

    def test_json_lines(self):
        with RawConn(self.port) as c:
            c.send(b"GET /pid.cgi?json1 HTTP/1.1\r\nHost: a\r\nUser-Agent: " + NASTY_UA + b"\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
        line = self.wait_line(lambda l: l.startswith("{") and "json1" in l)[0]
        d = json.loads(line)
        self.assertEqual(d["remote_addr"], "127.0.0.1")
        self.assertEqual((d["method"], d["uri"], d["protocol"]), ("GET", "/pid.cgi?json1", "HTTP/1.1"))
        self.assertEqual(d["status"], 200)
        self.assertGreater(d["bytes"], 0)
        self.assertEqual(d["referer"], "")
        self.assertEqual(d["user_agent"], NASTY_UA.decode("latin-1"))
        self.assertRegex(d["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertIsInstance(d["duration"], float)

    def test_499_in_json(self):
        send_and_leave(self.port, b"GET /slow.cgi?sleep=2&json499 HTTP/1.1\r\nHost: a\r\n\r\n")
        line = self.wait_line(lambda l: l.startswith("{") and "json499" in l)[0]
        self.assertEqual(json.loads(line)["status"], 499)


class Logfmt(Base):
    sets = ("log.access_format=logfmt",)

    def test_logfmt_lines(self):
        with RawConn(self.port) as c:
            c.send(b"GET /pid.cgi?lf1 HTTP/1.1\r\nHost: a\r\nUser-Agent: a \"b\" c=d\tz\xff\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
        line = self.wait_line(lambda l: "event=access" in l and "lf1" in l)[0]
        d = logfmt(line)
        self.assertEqual(d["remote_addr"], "127.0.0.1")
        self.assertEqual((d["method"], d["uri"], d["protocol"]), ("GET", "/pid.cgi?lf1", "HTTP/1.1"))
        self.assertEqual(d["status"], "200")
        self.assertIn(r'user_agent="a \"b\" c=d\x09z\xff"', line)


class JournalPriorities(unittest.TestCase):
    """Under systemd, stderr is the journal (JOURNAL_STREAM names it): each
    error-log line starts with its sd-daemon priority."""

    def run_drover(self, journal_stream):
        tmp = tempfile.mkdtemp(prefix="drover-journal-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "stderr")
        log = open(path, "wb")
        self.addCleanup(log.close)
        st = os.fstat(log.fileno())
        env = dict(os.environ)
        env["JOURNAL_STREAM"] = journal_stream(st)
        port, admin = free_port(), free_port()
        p = subprocess.Popen([DROVER, "--cgi", TEST_CGI_DIR, "--workers", "1", "--bind", "127.0.0.1:%d" % port,
                              "--set", "admin.bind=127.0.0.1:%d" % admin, "--set", "log.access_log=off"],
                             stdout=log, stderr=log, env=env)

        def stop():
            p.send_signal(signal.SIGQUIT)
            p.wait(10)
        self.addCleanup(stop)
        read = lambda: open(path, "rb").read().decode(errors="replace")
        wait_until(lambda: "state=ready" in read())
        # A warning: a request for a script that fails.
        request(port, "GET", "/garbage.cgi")
        wait_until(lambda: "level=warn" in read())
        return read().splitlines()

    def test_prefixes_when_stderr_is_the_journal(self):
        lines = self.run_drover(lambda st: "%d:%d" % (st.st_dev, st.st_ino))
        info = [l for l in lines if "level=info" in l]
        warn = [l for l in lines if "level=warn" in l]
        self.assertTrue(info and warn)
        self.assertTrue(all(l.startswith("<6>ts=") for l in info), info[:3])
        self.assertTrue(all(l.startswith("<4>ts=") for l in warn), warn[:3])

    def test_no_prefix_when_stderr_is_elsewhere(self):
        lines = self.run_drover(lambda st: "%d:%d" % (st.st_dev, st.st_ino + 1))
        self.assertTrue(all(l.startswith("ts=") for l in lines if "level=" in l))


class CheckConfig(unittest.TestCase):
    def test_unknown_format_refused(self):
        p = subprocess.run([DROVER, "-t", "--cgi", TEST_CGI_DIR, "--set", "log.access_format=apache"],
                           capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"combined|json|logfmt", p.stderr)


if __name__ == "__main__":
    unittest.main()
