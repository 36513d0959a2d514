"""Shared pieces of drover's black-box tests: free ports, starting and
stopping drover by pid, plain HTTP requests over sockets, and the scoreboard
through the admin endpoint.

Environment: DROVER_BIN (the drover binary), DROVER_SRCDIR (source tree),
DROVER_BUILDDIR (build tree), REDIS_PORT (a private redis-server, if any).
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

SRCDIR = os.path.abspath(os.environ.get("DROVER_SRCDIR", "."))
BUILDDIR = os.path.abspath(os.environ.get("DROVER_BUILDDIR", "."))
DROVER = os.environ.get("DROVER_BIN", os.path.join(BUILDDIR, "drover"))
CGI_DIR = os.path.join(SRCDIR, "examples", "cgi-bin")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=10.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            v = pred()
            if v:
                return v
        except (OSError, http.client.HTTPException, ValueError):
            pass
        time.sleep(step)
    raise AssertionError("condition not met within %.1fs" % timeout)


class Drover:
    """One drover supervisor started for a test, stopped by pid."""

    def __init__(self, args=(), workers=2, cgi=CGI_DIR, config=None, env=None, sets=()):
        self.port = free_port()
        self.admin_port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="drover-test-")
        self.log_path = os.path.join(self.tmp, "drover.log")
        cmd = [DROVER]
        if config:
            cmd += ["-c", config]
        cmd += ["--bind", "127.0.0.1:%d" % self.port,
                "--set", "admin.bind=127.0.0.1:%d" % self.admin_port]
        if workers:
            cmd += ["--workers", str(workers)]
        if cgi:
            cmd += ["--cgi", cgi]
        for s in sets:
            cmd += ["--set", s]
        cmd += list(args)
        self.cmd = cmd
        e = dict(os.environ)
        e.update(env or {})
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=e)
        self.pid = self.proc.pid

    def wait_ready(self, n=None, timeout=15.0):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("drover exited with %s:\n%s" % (self.proc.returncode, self.read_log()))
            st = self.status()
            r = [w for w in st["workers"] if w["state"] == "ready"]
            return len(r) >= (n if n is not None else 1)
        wait_until(ready, timeout)
        return self

    def status(self):
        return json.loads(admin_get(self.admin_port, "/status")[1])

    def metrics(self):
        """Prometheus text parsed into {'name{labels}': value}."""
        out = {}
        for line in admin_get(self.admin_port, "/metrics")[1].decode().splitlines():
            if not line or line.startswith("#"):
                continue
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
        return out

    def worker_pids(self, state="ready"):
        return sorted(w["pid"] for w in self.status()["workers"] if w["state"] == state)

    def signal(self, sig):
        os.kill(self.pid, sig)

    def read_log(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, timeout=10.0):
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGQUIT)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self.log.close()
        return self.proc.returncode


def admin_get(port, path, timeout=5.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def request(port, method="GET", path="/", body=None, headers=None, timeout=10.0):
    """One request on a fresh connection; returns (status, headers dict, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def raw(port, data, timeout=5.0, read_all=True):
    """Sends raw bytes, returns everything the server sends until it closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
            if not read_all:
                break
        return b"".join(chunks)
    finally:
        s.close()


def status_of(resp):
    """Status code of the first response in raw bytes."""
    line = resp.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
