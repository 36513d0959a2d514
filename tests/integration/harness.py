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
import unittest

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

    def __init__(self, args=(), workers=2, cgi=CGI_DIR, config=None, env=None, sets=(),
                 allow_root=None, popen_kw=None, port=None):
        self.port = port or free_port()
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
        # Run as root, drover runs apps as nobody unless told otherwise; the
        # tests' scripts write into root-only temporary directories, so
        # they keep root unless a test is about the drop itself.
        if allow_root or (allow_root is None and os.geteuid() == 0):
            cmd += ["--set", "server.allow_root=true"]
        for s in sets:
            cmd += ["--set", s]
        cmd += list(args)
        self.cmd = cmd
        e = dict(os.environ)
        e.update(env or {})
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=e,
                                     **(popen_kw or {}))
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


def script_dir(scripts, prefix="drover-cgi-"):
    """A temporary CGI root (mode 0755) holding {name: body} as executable scripts."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    for name, body in scripts.items():
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(body)
        os.chmod(p, 0o755)
    return d


# Test-only CGI scripts (slow, crashing, streaming, echoing...).
TEST_CGI_DIR = os.path.join(SRCDIR, "tests", "integration", "cgi-bin")


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            st = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The state follows the parenthesised command name.
    state = st[st.rindex(b")") + 2:st.rindex(b")") + 3]
    return state not in (b"Z", b"X")


def pid_exists(pid):
    """True while pid exists at all, zombies included (not yet reaped)."""
    return os.path.exists("/proc/%d" % pid)


def wait_gone(pids, timeout=5.0, reaped=False):
    """Waits until every pid is dead (and, with reaped, no zombie is left)."""
    check = pid_exists if reaped else pid_alive
    wait_until(lambda: not any(check(p) for p in pids), timeout)


def logfmt(line):
    """One logfmt line as a dict (values may be quoted)."""
    out = {}
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        j = i
        while j < n and line[j] not in "= ":
            j += 1
        key = line[i:j]
        if j < n and line[j] == "=":
            j += 1
            if j < n and line[j] == '"':
                k = j + 1
                val = []
                while k < n and line[k] != '"':
                    if line[k] == "\\" and k + 1 < n:
                        k += 1
                    val.append(line[k])
                    k += 1
                out[key] = "".join(val)
                j = k + 1
            else:
                k = j
                while k < n and line[k] != " ":
                    k += 1
                out[key] = line[j:k]
                j = k
        elif key:
            out[key] = ""
        i = j
    return out


def log_events(text, **match):
    """The logfmt lines of text whose fields include every key=value of match."""
    out = []
    for line in text.splitlines():
        if "=" not in line or not line.startswith("ts="):
            continue
        d = logfmt(line)
        if all(d.get(k) == str(v) for k, v in match.items()):
            out.append(d)
    return out


def assert_ready_before_drain(test, text, target, min_drains=1):
    """The rolling-restart order, read from the supervisor's worker lines in
    the order they were logged: an outdated worker (reason reload or
    max_requests) is drained only while `target` other workers are ready,
    so a replacement must have reported ready first (docs/design.md, rolling
    restart). Fails unless at least min_drains such drains were seen."""
    ready, drains = set(), 0
    for e in log_events(text, event="worker"):
        state, pid = e.get("state"), e.get("pid")
        if state == "ready":
            ready.add(pid)
        elif state in ("draining", "gone"):
            ready.discard(pid)
            if state == "draining" and e.get("reason") in ("reload", "max_requests"):
                drains += 1
                test.assertGreaterEqual(
                    len(ready), target,
                    "worker pid=%s drained while only %d other workers were ready "
                    "(its replacement was not ready yet)" % (pid, len(ready)))
    test.assertGreaterEqual(drains, min_drains, "no rolling drain in the log")


class RawResponse:
    def __init__(self, status, reason, headers, body, version):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value), as sent
        self.body = body
        self.version = version

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class RawConn:
    """A client socket that reads responses one at a time off one buffered
    stream, so pipelined and interim (1xx) responses can be told apart."""

    def __init__(self, port, timeout=10.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.rfile = self.sock.makefile("rb")

    def send(self, data):
        self.sock.sendall(data)

    def read_response(self, method="GET"):
        """Reads one response; raises EOFError if the server closed first."""
        line = self.rfile.readline(65537)
        if not line:
            raise EOFError("connection closed before a response")
        parts = line.rstrip(b"\r\n").split(b" ", 2)
        version = parts[0].decode()
        status = int(parts[1])
        reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
        headers = []
        while True:
            h = self.rfile.readline(65537)
            if not h:
                raise EOFError("connection closed in the response head")
            if h in (b"\r\n", b"\n"):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers.append((k, v.strip()))
        r = RawResponse(status, reason, headers, b"", version)
        if method == "HEAD" or status < 200 or status in (204, 304):
            return r
        te = (r.header("Transfer-Encoding") or "").lower()
        cl = r.header("Content-Length")
        if te == "chunked":
            body = []
            while True:
                size_line = self.rfile.readline(1024)
                if not size_line:
                    raise EOFError("connection closed in a chunk size")
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body.append(self._read_exact(size))
                self._read_exact(2)
            r.body = b"".join(body)
        elif cl is not None:
            r.body = self._read_exact(int(cl))
        else:
            r.body = self.rfile.read()
        return r

    def _read_exact(self, n):
        data = self.rfile.read(n)
        if data is None or len(data) != n:
            raise EOFError("connection closed in a body")
        return data

    def closed_by_peer(self, timeout=3.0):
        """True when the server closes the connection (EOF) within timeout."""
        self.sock.settimeout(timeout)
        try:
            return self.rfile.read(1) == b""
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return True

    def close(self):
        try:
            self.rfile.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class SharedDrover(unittest.TestCase):
    """One drover for a whole test class; subclasses set workers, sets, cgi."""
    workers = 2
    sets = ()
    cgi = TEST_CGI_DIR

    @classmethod
    def setUpClass(cls):
        cls.d = Drover(workers=cls.workers, cgi=cls.cgi, sets=cls.sets)
        try:
            cls.d.wait_ready(cls.workers)
        except Exception:
            cls.d.stop()
            raise
        cls.port = cls.d.port

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
