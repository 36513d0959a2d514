"""A FastCGI app that cannot start is visible at once: `-t` refuses a
command that is missing or not executable, requests get 503 without
waiting for request_timeout, /healthz says why, restarts are counted by
reason, and start failures back off; once the app can start again, it is
served again."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import DROVER, Drover, admin_get, log_events, request, wait_until

HELLO = os.path.join(os.environ.get("DROVER_BUILDDIR", "."), "examples", "fastcgi", "hello")


def check(*args):
    p = subprocess.run([DROVER, "-t"] + list(args), capture_output=True, timeout=10)
    return p.returncode, (p.stdout + p.stderr).decode()


class CheckConfig(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="drover-broken-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_missing_command_refused(self):
        rc, out = check("--fastcgi", "/nonexistent/php-cgi")
        self.assertEqual(rc, 2, out)
        self.assertIn("[app] command: /nonexistent/php-cgi: No such file or directory", out)

    def test_command_not_in_path_refused(self):
        rc, out = check("--fastcgi", "no-such-fastcgi-app-4711 -b x")
        self.assertEqual(rc, 2, out)
        self.assertIn("[app] command: no-such-fastcgi-app-4711: not found in PATH", out)

    def not_executable(self, name):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(path, 0o644)
        return path

    def test_command_not_executable_refused(self):
        path = self.not_executable("app")
        rc, out = check("--fastcgi", path)
        self.assertEqual(rc, 2, out)
        self.assertIn("[app] command: %s: not executable" % path, out)

    def test_cgi_script_not_executable_refused(self):
        rc, out = check("--cgi", self.not_executable("one.cgi"))
        self.assertEqual(rc, 2, out)
        self.assertIn("is not executable", out)

    def test_good_command_accepted(self):
        rc, out = check("--fastcgi", "/bin/sh -c true")
        self.assertEqual(rc, 0, out)


class AppCannotStart(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="drover-broken-")
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, command, **kw):
        self.d = Drover(workers=1, cgi=None, args=["--fastcgi", command],
                        sets=["app.request_timeout=20"], **kw).wait_ready(1)
        return self.d

    def restarts(self, reason):
        m = self.d.metrics()
        return sum(v for k, v in m.items()
                   if k.startswith("drover_app_restarts_total{") and 'reason="%s"' % reason in k)

    def healthz(self):
        return admin_get(self.d.admin_port, "/healthz")

    def test_app_dying_at_start_gives_503_at_once_and_backs_off(self):
        d = self.start("/bin/false")
        wait_until(lambda: self.healthz()[0] == 503, 5)
        self.assertIn(b"every app process exits at start", self.healthz()[1])
        t0 = time.monotonic()
        st, hdrs, _ = request(d.port, path="/x")
        self.assertEqual(st, 503)
        self.assertLess(time.monotonic() - t0, 1.0)
        # Backoff: 100, 200, 400, 800, 1600 ms... not a fork loop.
        n0 = self.restarts("exited")
        time.sleep(3)
        n = self.restarts("exited") - n0
        self.assertGreaterEqual(n, 1)
        self.assertLess(n, 6, "restarted %d times in 3 s" % n)
        m = d.metrics()
        self.assertIn('drover_app_restarts_total{app="false",reason="exited"}', m)
        self.assertTrue(log_events(d.read_log(), event="fastcgi", state="down"))

    @unittest.skipUnless(os.access(HELLO, os.X_OK), "examples/fastcgi/hello not built")
    def test_app_removed_then_restored(self):
        app = os.path.join(self.tmp, "hello")
        shutil.copy(HELLO, app)
        d = self.start(app)
        self.assertEqual(request(d.port, path="/")[0], 200)
        self.assertEqual(self.healthz()[0], 200)
        os.rename(app, app + ".away")
        for pid in self.app_pids():
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: b"No such file or directory" in self.healthz()[1], 5)
        self.assertEqual(self.healthz()[0], 503)
        t0 = time.monotonic()
        self.assertEqual(request(d.port, path="/")[0], 503)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertGreaterEqual(self.restarts("spawn_failed"), 1)
        self.assertGreaterEqual(self.restarts("signal"), 1)
        os.rename(app + ".away", app)
        wait_until(lambda: self.healthz()[0] == 200, 10)
        self.assertEqual(request(d.port, path="/")[0], 200)
        self.assertTrue(log_events(d.read_log(), event="fastcgi", state="up"))

    def app_pids(self):
        out = []
        for w in self.d.worker_pids():
            with open("/proc/%d/task/%d/children" % (w, w)) as f:
                out += [int(x) for x in f.read().split()]
        self.assertTrue(out)
        return out


if __name__ == "__main__":
    unittest.main()
