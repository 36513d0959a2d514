"""Who drover's processes run as, and what an app can reach from there:
secrets out of the apps' reach (/proc/PID/environ and mem), the control
socket closed to them, no inherited descriptors, nobody by default when
started as root, [app] user for apps under their own uid, and secrets
handed to an upgraded binary without the environment."""
import grp
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import tempfile
import unittest

from harness import Drover, log_events, pid_alive, request, script_dir, wait_until

SECRET = "s3cret-signing-key-4711"
REDIS_PASSWORD = "hunter2-redis-password"

# Reports what the app can read of its worker and its worker's parent.
PEEK = r'''#!/usr/bin/env python3
import json, os, re
def environ_of(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return f.read().decode("latin-1")
    except OSError as e:
        return "error:%d" % e.errno
def mem_of(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            maps = f.read()
    except OSError as e:
        return "error:%d" % e.errno
    m = re.search(r"^([0-9a-f]+)-([0-9a-f]+) .*drover-shm", maps, re.M)
    if not m:
        m = re.search(r"^([0-9a-f]+)-([0-9a-f]+) rw", maps, re.M)
    try:
        with open("/proc/%d/mem" % pid, "rb") as f:
            f.seek(int(m.group(1), 16))
            return "read:%d" % len(f.read(4096))
    except OSError as e:
        return "error:%d" % e.errno
worker = os.getppid()
with open("/proc/%d/stat" % worker) as f:
    supervisor = int(f.read().rsplit(")", 1)[1].split()[1])
out = {"worker_environ": environ_of(worker), "supervisor_environ": environ_of(supervisor),
       "worker_mem": mem_of(worker), "supervisor_mem": mem_of(supervisor),
       "own_environ": "\n".join("%s=%s" % kv for kv in os.environ.items())}
print("Content-Type: application/json\r\n\r\n" + json.dumps(out))
'''

# Lists the descriptors the app started with.
FDS = r'''#!/usr/bin/env python3
import os
fds = []
for fd in range(4096):
    try:
        os.fstat(fd)
        fds.append(fd)
    except OSError:
        pass
print("Content-Type: text/plain\r\n\r\n" + " ".join(map(str, fds)))
'''

# Tries to stop drover through its control socket (path in CTL).
STOP = r'''#!/usr/bin/env python3
import os, socket
try:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(3)
    s.connect(os.environ["CTL"])
    s.sendall(b"stop\n")
    r = s.recv(100).decode() or "closed"
except OSError as e:
    r = "error:%d" % e.errno
print("Content-Type: text/plain\r\n\r\n" + r)
'''

ID = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s %s\\n' \"$(id -u)\" \"$(id -g)\"\n"


def nogroup():
    try:
        return grp.getgrnam("nogroup").gr_gid
    except KeyError:
        return pwd.getpwnam("nobody").pw_gid


def status_ids(pid):
    with open("/proc/%d/status" % pid) as f:
        st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    return int(st["Uid"].split()[0]), int(st["Gid"].split()[0]), st["CapEff"].strip()


class PrivBase(unittest.TestCase):
    def setUp(self):
        self.drovers = []
        self.dirs = []

    def tearDown(self):
        for d in self.drovers:
            d.stop()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)

    def root_dir(self, scripts):
        d = script_dir(scripts, prefix="drover-priv-")
        self.dirs.append(d)
        return d

    def start(self, n=1, ready=True, **kw):
        d = Drover(workers=n, **kw)
        self.drovers.append(d)
        if ready:
            d.wait_ready(n)
        return d

    def need_root(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")


class Secrets(PrivBase):
    def test_app_cannot_read_secrets_of_its_worker_or_supervisor(self):
        """Apps under drover's own uid (any start without root): neither
        /proc/PID/environ nor /proc/PID/mem of a worker or the supervisor
        gives them the secret keys or the Redis password."""
        kw = {}
        if os.geteuid() == 0:
            # The reported setup: drover and its apps under one plain uid.
            kw = {"user": "nobody", "group": nogroup(), "extra_groups": []}
        root = self.root_dir({"peek.cgi": PEEK})
        env = {"DROVER_SECRET_KEYS": SECRET,
               "REDIS_URL": "redis://:%s@127.0.0.1:1/0" % REDIS_PASSWORD}
        d = self.start(cgi=root, env=env, popen_kw=kw)
        st, _, body = request(d.port, path="/peek.cgi")
        self.assertEqual(st, 200, body)
        seen = json.loads(body)
        for key, val in seen.items():
            self.assertNotIn(SECRET, val, key)
            self.assertNotIn(REDIS_PASSWORD, val, key)
        self.assertTrue(seen["worker_mem"].startswith("error:"), seen["worker_mem"])
        self.assertTrue(seen["supervisor_mem"].startswith("error:"), seen["supervisor_mem"])
        # The secrets still work: a session cookie is signed and accepted.
        self.assertEqual(request(d.port, path="/peek.cgi")[0], 200)

    def test_secrets_handed_to_upgraded_binary_not_through_environ(self):
        tmp = tempfile.mkdtemp(prefix="drover-priv-")
        self.dirs.append(tmp)
        pidfile = os.path.join(tmp, "drover.pid")
        d = self.start(cgi=os.path.join(os.environ.get("DROVER_SRCDIR", "."), "examples", "cgi-bin"),
                       env={"DROVER_SECRET_KEYS": SECRET}, sets=["server.pidfile=" + pidfile])
        status, hdrs, body = request(d.port, path="/counter.cgi")
        cookie = (hdrs.get("set-cookie") or "").split(";")[0]
        self.assertTrue(cookie, hdrs)
        with open("/proc/%d/environ" % d.pid, "rb") as f:
            self.assertNotIn(SECRET.encode(), f.read())
        d.signal(signal.SIGUSR2)

        def new_pid():
            with open(pidfile) as f:
                p = int(f.read().strip())
            return p if p != d.pid else None
        pid = wait_until(new_pid, 20)
        try:
            d.proc.wait(20)
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = f.read()
            self.assertNotIn(SECRET.encode(), env)
            # The new binary signs with the same key: the old cookie is still
            # this visitor's session.
            body = request(d.port, path="/counter.cgi", headers={"Cookie": cookie})[2]
            self.assertIn(b"count=2", body)
            links = [os.readlink("/proc/%d/fd/%s" % (pid, x)) for x in os.listdir("/proc/%d/fd" % pid)]
            self.assertFalse([l for l in links if "drover-secrets" in l], links)
        finally:
            os.kill(pid, signal.SIGQUIT)
            wait_until(lambda: not pid_alive(pid), 10)


class ControlSocket(PrivBase):
    def test_app_cannot_stop_drover(self):
        self.need_root()
        tmp = tempfile.mkdtemp(prefix="drover-priv-")
        self.dirs.append(tmp)
        os.chmod(tmp, 0o755)
        sock = os.path.join(tmp, "ctl.sock")
        root = self.root_dir({"stop.cgi": STOP})
        d = self.start(cgi=root, allow_root=False,
                       sets=["server.user=nobody", "admin.control_socket=" + sock, "app.env=CTL=" + sock])
        st = os.stat(sock)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o600))
        self.assertTrue(request(d.port, path="/stop.cgi")[2].startswith(b"error:"))
        # Even with the socket opened up, the peer's uid is checked.
        os.chmod(sock, 0o666)
        self.assertIn(request(d.port, path="/stop.cgi")[2].strip(), (b"closed", b"error:104", b"error:32"))
        self.assertIsNone(d.proc.poll())
        self.assertTrue(log_events(d.read_log(), event="control", result="refused"))
        self.assertEqual(len(d.worker_pids()), 1)
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.sendall(b"status\n")
        self.assertTrue(s.recv(10).startswith(b"ok"))
        s.close()


class Descriptors(PrivBase):
    def test_no_inherited_descriptors_reach_apps(self):
        root = self.root_dir({"fds.cgi": FDS})
        null = os.open("/dev/null", os.O_RDONLY)
        try:
            os.dup2(null, 10, inheritable=True)
            os.dup2(null, 251, inheritable=True)
            d = self.start(cgi=root, popen_kw={"pass_fds": (10, 251)})
        finally:
            for fd in (null, 10, 251):
                os.close(fd)
        worker = d.worker_pids()[0]
        self.assertIn("251", os.listdir("/proc/%d/fd" % worker), "the test's descriptors were not passed")
        st, _, body = request(d.port, path="/fds.cgi")
        self.assertEqual(st, 200)
        self.assertEqual(body.split(), [b"0", b"1", b"2"])


class Identities(PrivBase):
    def test_root_without_user_drops_to_nobody(self):
        self.need_root()
        root = self.root_dir({"id.cgi": ID})
        d = self.start(n=2, cgi=root, allow_root=False)
        nobody = pwd.getpwnam("nobody").pw_uid
        for pid in d.worker_pids():
            self.assertEqual(status_ids(pid)[:2], (nobody, nogroup()))
        self.assertEqual(request(d.port, path="/id.cgi")[2].split(),
                         [str(nobody).encode(), str(nogroup()).encode()])
        self.assertEqual(status_ids(d.pid)[0], 0, "the supervisor keeps its identity")
        warn = log_events(d.read_log(), event="startup", level="warn")
        self.assertTrue([w for w in warn if "[server] user" in w.get("note", "")], warn)

    def test_apps_run_as_root_only_with_allow_root(self):
        self.need_root()
        root = self.root_dir({"id.cgi": ID})
        d = self.start(cgi=root, allow_root=False, sets=["server.user=root"], ready=False)
        self.assertEqual(d.proc.wait(10), 2)
        self.assertIn("allow_root", d.read_log())
        d = self.start(cgi=root, allow_root=True, sets=["server.user=root"])
        self.assertEqual(request(d.port, path="/id.cgi")[2].split()[0], b"0")

    def test_unreachable_app_is_refused_at_start(self):
        self.need_root()
        root = self.root_dir({"id.cgi": ID})
        os.chmod(root, 0o700)
        d = self.start(cgi=root, allow_root=False, ready=False)
        self.assertEqual(d.proc.wait(10), 2)
        self.assertIn("not reachable by user nobody", d.read_log())

    def test_app_user_separate_from_workers(self):
        self.need_root()
        app = pwd.getpwnam("daemon")
        root = self.root_dir({"id.cgi": ID, "peek.cgi": PEEK})
        d = self.start(cgi=root, allow_root=False, env={"DROVER_SECRET_KEYS": SECRET},
                       sets=["server.user=nobody", "app.user=daemon"])
        uid, gid, caps = status_ids(d.worker_pids()[0])
        self.assertEqual(uid, pwd.getpwnam("nobody").pw_uid)
        self.assertEqual(int(caps, 16), (1 << 6) | (1 << 7), "worker keeps CAP_SETGID and CAP_SETUID only")
        self.assertEqual(request(d.port, path="/id.cgi")[2].split(),
                         [str(app.pw_uid).encode(), str(app.pw_gid).encode()])
        seen = json.loads(request(d.port, path="/peek.cgi")[2])
        self.assertTrue(seen["worker_environ"].startswith("error:"), seen)


if __name__ == "__main__":
    unittest.main()
