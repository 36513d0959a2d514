"""Shared pieces of drover's fault-injection tests: the integration harness
(imported from ../integration), a CHAOS_SECONDS budget, per-process memory
and fd figures from /proc, and clients that keep a session cookie.

Everything here talks to 127.0.0.1 only and stops what it started by pid."""
import os
import re
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
from harness import request  # noqa: E402

CHAOS_SECONDS = float(os.environ.get("CHAOS_SECONDS", "30"))
REDIS = "/usr/bin/redis-server"


def vm_kb(pid, field="VmRSS"):
    """A Vm* figure of /proc/PID/status in kB (None once pid is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except (FileNotFoundError, ProcessLookupError):
        return None


def children(pid):
    """Direct children of pid, from /proc/PID/task/*/children."""
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def percentile(values, p):
    if not values:
        return 0.0
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def script_dir(scripts):
    """A temporary CGI root holding {name: body} as executable scripts."""
    return harness.script_dir(scripts, prefix="drover-chaos-cgi-")


COUNT_RE = re.compile(r"count=(\d+) status=(\w+) version=(\d+)")


class Client:
    """A browser with a session cookie, counting on counter.cgi."""

    def __init__(self, port, timeout=10.0):
        self.port = port
        self.cookie = None
        self.timeout = timeout
        self.ok = 0
        self.failed = 0
        self.last = 0
        self.errors = []        # (monotonic time, what)

    def hit(self, path="/counter.cgi"):
        """One counted request; returns the count or None on failure."""
        h = {"Cookie": self.cookie} if self.cookie else {}
        t = time.monotonic()
        try:
            st, hdrs, body = request(self.port, "GET", path, headers=h, timeout=self.timeout)
        except (OSError, harness.http.client.HTTPException) as e:
            self.failed += 1
            self.errors.append((t, repr(e)))
            return None
        if st != 200:
            self.failed += 1
            self.errors.append((t, "status %d" % st))
            return None
        m = COUNT_RE.search(body.decode(errors="replace"))
        if m is None:
            self.failed += 1
            self.errors.append((t, "body %r" % body[:80]))
            return None
        sc = hdrs.get("set-cookie")
        if sc:
            self.cookie = sc.split(";", 1)[0]
        self.ok += 1
        c = int(m.group(1))
        self.last = c
        return c

    @property
    def sid_hex(self):
        """The 32 hex digits of the session id in the cookie."""
        return self.cookie.split("=", 1)[1].split(".", 1)[0]


def wait_port(port, timeout=10.0):
    harness.wait_until(lambda: socket.create_connection(("127.0.0.1", port), 0.5).close() or True, timeout)
