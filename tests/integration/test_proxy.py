"""drover behind a reverse proxy: who REMOTE_ADDR and HTTPS say the client
is (forwarded_allow_ips, forwarded_header), decided for each request and
never kept on a kept-alive proxy connection; and a unix: listener a proxy
running as another user can connect to (socket_mode, socket_owner)."""
import grp
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import unittest

from harness import DROVER, TEST_CGI_DIR, Drover, RawConn, SharedDrover, log_events, wait_until


def env_of(body):
    """NAME=value lines of vars.cgi as a dict."""
    out = {}
    for line in body.decode(errors="replace").splitlines():
        if line == "--- body ---":
            break
        k, sep, v = line.partition("=")
        if sep:
            out[k] = v
    return out


def get_vars(conn, headers=b""):
    conn.send(b"GET /vars.cgi HTTP/1.1\r\nHost: a\r\n" + headers + b"\r\n")
    r = conn.read_response()
    assert r.status == 200, r.status
    return env_of(r.body)


class ProxyBase(SharedDrover):
    workers = 1

    def vars(self, headers=b""):
        with RawConn(self.port) as c:
            return get_vars(c, headers)


class TrustedLoopback(ProxyBase):
    """The default: 127.0.0.1 is the trusted proxy."""

    def test_forwarded_identity_is_per_request(self):
        with RawConn(self.port) as c:
            first = get_vars(c, b"X-Forwarded-For: 203.0.113.5\r\nX-Forwarded-Proto: https\r\n")
            self.assertEqual(first["REMOTE_ADDR"], "203.0.113.5")
            self.assertEqual(first.get("HTTPS"), "on")
            # The next user on the same proxy connection is not the first one.
            second = get_vars(c)
            self.assertEqual(second["REMOTE_ADDR"], "127.0.0.1")
            self.assertNotIn("HTTPS", second)
            third = get_vars(c, b"X-Forwarded-For: 198.51.100.9\r\n")
            self.assertEqual(third["REMOTE_ADDR"], "198.51.100.9")
            self.assertNotIn("HTTPS", third)

    def test_rightmost_entry_is_the_client(self):
        # nginx's $proxy_add_x_forwarded_for appends the real peer to whatever the client sent.
        v = self.vars(b"X-Forwarded-For: 6.6.6.6, 203.0.113.7\r\n")
        self.assertEqual(v["REMOTE_ADDR"], "203.0.113.7")
        self.assertEqual(v["REMOTE_HOST"], "203.0.113.7")

    def test_invalid_address_falls_back_to_the_peer(self):
        v = self.vars(b"X-Forwarded-For: <script>alert(1)</script>\r\n")
        self.assertEqual(v["REMOTE_ADDR"], "127.0.0.1")
        wait_until(lambda: log_events(self.d.read_log(), event="http", peer="127.0.0.1"))
        line = log_events(self.d.read_log(), event="http", peer="127.0.0.1")[-1]
        self.assertIn("not valid", line["note"])
        self.assertEqual(line["value"], "<script>alert(1)</script>")

    def test_access_log_names_the_forwarded_client(self):
        self.vars(b"X-Forwarded-For: 192.0.2.77\r\n")
        wait_until(lambda: "192.0.2.77 - - [" in self.d.read_log())

    def test_forwarded_header_ignored_in_x_forwarded_mode(self):
        v = self.vars(b"Forwarded: for=192.0.2.1;proto=https\r\n")
        self.assertEqual(v["REMOTE_ADDR"], "127.0.0.1")
        self.assertNotIn("HTTPS", v)


class RecursiveRanges(ProxyBase):
    sets = ("server.forwarded_allow_ips=127.0.0.0/8, 10.0.0.0/8",)

    def test_trusted_hops_are_skipped(self):
        v = self.vars(b"X-Forwarded-For: 6.6.6.6, 198.51.100.1, 10.9.8.7, 10.0.0.1\r\n")
        self.assertEqual(v["REMOTE_ADDR"], "198.51.100.1")


class UntrustedPeer(ProxyBase):
    sets = ("server.forwarded_allow_ips=10.0.0.0/8",)

    def test_headers_of_an_untrusted_peer_are_ignored(self):
        v = self.vars(b"X-Forwarded-For: 203.0.113.5\r\nX-Forwarded-Proto: https\r\n")
        self.assertEqual(v["REMOTE_ADDR"], "127.0.0.1")
        self.assertNotIn("HTTPS", v)


class Rfc7239(ProxyBase):
    sets = ("server.forwarded_header=forwarded",)

    def test_forwarded_for_and_proto(self):
        v = self.vars(b"Forwarded: for=192.0.2.60;proto=https;by=203.0.113.43\r\n")
        self.assertEqual(v["REMOTE_ADDR"], "192.0.2.60")
        self.assertEqual(v.get("HTTPS"), "on")

    def test_rightmost_element_with_port(self):
        v = self.vars(b'Forwarded: for=6.6.6.6;proto=https, for="[2001:db8:cafe::17]:4711"\r\n')
        self.assertEqual(v["REMOTE_ADDR"], "2001:db8:cafe::17")
        self.assertEqual(v["REMOTE_PORT"], "4711")
        self.assertNotIn("HTTPS", v)

    def test_x_forwarded_for_ignored(self):
        v = self.vars(b"X-Forwarded-For: 203.0.113.5\r\nX-Forwarded-Proto: https\r\n")
        self.assertEqual(v["REMOTE_ADDR"], "127.0.0.1")
        self.assertNotIn("HTTPS", v)


@unittest.skipUnless(os.geteuid() == 0, "needs root to change socket owners")
class UnixSocketOwner(unittest.TestCase):
    """A proxy running as another user (nginx as www-data) can reach a
    unix: listener drover created as root."""

    def start(self, sets):
        tmp = tempfile.mkdtemp(prefix="drover-sock-")
        os.chmod(tmp, 0o755)
        path = os.path.join(tmp, "d.sock")
        d = Drover(workers=1, cgi=TEST_CGI_DIR, args=["--bind", "unix:" + path], sets=sets)
        self.addCleanup(shutil.rmtree, tmp, True)
        self.addCleanup(d.stop)
        d.wait_ready(1)
        return path

    def connect_as_nobody(self, path):
        """Status line (or EACCES) seen by a client running as nobody."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                pw = pwd.getpwnam("nobody")
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(5)
                try:
                    s.connect(path)
                    s.sendall(b"GET /pid.cgi HTTP/1.0\r\n\r\n")
                    out = s.recv(100).split(b"\r\n")[0]
                except PermissionError:
                    out = b"EACCES"
                os.write(w, out)
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            out = f.read().decode()
        os.waitpid(pid, 0)
        return out

    def test_mode_and_owner(self):
        path = self.start(["server.socket_mode=0660", "server.socket_owner=nobody:nogroup"])
        st = os.stat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_uid, pwd.getpwnam("nobody").pw_uid)
        self.assertEqual(st.st_gid, grp.getgrnam("nogroup").gr_gid)
        self.assertEqual(self.connect_as_nobody(path), "HTTP/1.0 200 OK")

    def test_owner_defaults_to_the_workers_user(self):
        path = self.start(["server.user=nobody", "server.group=nogroup"])
        st = os.stat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_uid, pwd.getpwnam("nobody").pw_uid)
        self.assertEqual(self.connect_as_nobody(path), "HTTP/1.0 200 OK")

    def test_mode_keeps_others_out(self):
        path = self.start(["server.socket_mode=0600"])
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(os.stat(path).st_uid, 0)
        self.assertEqual(self.connect_as_nobody(path), "EACCES")


class CheckConfig(unittest.TestCase):
    def test_bad_socket_settings_refused_at_check(self):
        for kv, word in (("server.socket_mode=0999", b"socket_mode"), ("server.socket_mode=rw", b"socket_mode"),
                         ("server.socket_owner=no-such-user-x", b"no such user"),
                         ("server.socket_owner=nobody:no-such-group-x", b"no such group")):
            p = subprocess.run([DROVER, "-t", "--cgi", TEST_CGI_DIR, "--set", kv],
                               capture_output=True, timeout=10)
            self.assertEqual(p.returncode, 2, kv)
            self.assertIn(word, p.stderr, kv)

    def test_bad_range_refused_at_check(self):
        p = subprocess.run([DROVER, "-t", "--cgi", TEST_CGI_DIR, "--set",
                            "server.forwarded_allow_ips=10.0.0.0/33"],
                           capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"forwarded_allow_ips", p.stderr)
        self.assertIn(b"10.0.0.0/33", p.stderr)


if __name__ == "__main__":
    unittest.main()
