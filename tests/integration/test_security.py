"""Security properties of drover checked from outside (docs/design.md §5, §6,
§7, §9), beyond what test_http, test_cgi and test_sessions already prove:
more request smuggling shapes, header injection by the app, path escapes
through symlinked directories and sibling prefixes, privilege drop seen in
/proc, session fixation and cookie forging, and HMAC key rotation."""
import os
import re
import shutil
import socket
import tempfile
import unittest

from harness import Drover, RawConn, SharedDrover, raw, request, status_of, wait_until
from test_sessions import REDIS, RedisServer, Visitor


def make_root(scripts, mode=0o755):
    d = tempfile.mkdtemp(prefix="drover-sec-")
    os.chmod(d, mode)
    for name, body in scripts.items():
        p = os.path.join(d, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(body)
        os.chmod(p, 0o755)
    return d


class ServerBase(SharedDrover):
    def setUp(self):
        self.pids = self.d.worker_pids()

    def assertUnharmed(self):
        st, _, _ = request(self.port, "GET", "/pid.cgi")
        self.assertEqual(st, 200)
        self.assertEqual(self.d.worker_pids(), self.pids)

    def assertRejected(self, data, codes=(400,)):
        """data gets one of codes as its only response, then the connection closes."""
        with RawConn(self.port, timeout=5) as c:
            c.send(data)
            r = c.read_response()
            self.assertIn(r.status, codes, data[:160])
            self.assertTrue(c.closed_by_peer(3), "connection left open after %d: %r" % (r.status, data[:160]))
        self.assertUnharmed()


class Smuggling(ServerBase):
    """Each shape that two parsers could frame differently is refused, and
    nothing sent after it on the connection is ever answered."""

    POST = b"POST /echo.cgi HTTP/1.1\r\nHost: a\r\n"

    def test_te_then_cl(self):
        self.assertRejected(self.POST + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n")

    def test_te_with_cl_zero(self):
        self.assertRejected(self.POST + b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")

    def test_te_other_codings(self):
        for te in (b"identity", b"gzip", b"chunked, identity", b"xchunked", b"chunked;q=1",
                   b"chunked, chunked", b"deflate, chunked", b"\"chunked\""):
            self.assertRejected(self.POST + b"Transfer-Encoding: " + te + b"\r\n\r\n0\r\n\r\n", (400, 501))

    def test_content_length_shapes(self):
        for cl in (b"-1", b"18446744073709551616", b"99999999999999999999999", b"1e3", b"0x10",
                   b"3 3", b"3,3", b""):
            self.assertRejected(self.POST + b"Content-Length: " + cl + b"\r\n\r\nabc", (400, 413))

    def test_nul_and_cr_in_head(self):
        for data in (b"GET /pid.cgi\x00 HTTP/1.1\r\nHost: a\r\n\r\n",
                     b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nX\x00Y: 1\r\n\r\n",
                     b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
                     b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nX: a\r\rb\r\n\r\n",
                     b"GET /pid.cgi HTTP/1.1\r\r\nHost: a\r\n\r\n"):
            self.assertRejected(data)

    def test_malformed_header_lines(self):
        for data in (b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
                     b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n",
                     b"GET /pid.cgi HTTP/1.1\r\n Host: a\r\n\r\n",
                     b"GET /pid.cgi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n",
                     b"GET /a b.cgi HTTP/1.1\r\nHost: a\r\n\r\n"):
            self.assertRejected(data)

    def test_bare_lf_in_chunked_body(self):
        self.assertRejected(self.POST + b"Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n")

    def test_chunk_size_overflow(self):
        for size in (b"10000000000000000", b"1" + b"0" * 40, b"ffffffffffffffffff"):
            self.assertRejected(self.POST + b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\nabc\r\n0\r\n\r\n")
        # Fits in 64 bits but not in max_body_bytes.
        self.assertRejected(self.POST + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffff0\r\nabc\r\n0\r\n\r\n",
                            (400, 413))

    def test_invalid_chunk_size_characters(self):
        for size in (b"0x3", b"-3", b"+3", b" 3", b"3g", b"", b"3\t"):
            self.assertRejected(self.POST + b"Transfer-Encoding: chunked\r\n\r\n" + size +
                                b"\r\nabc\r\n0\r\n\r\n")

    def test_chunk_extension_bare_cr(self):
        for ext in (b";a=b\rc", b";\r"):
            self.assertRejected(self.POST + b"Transfer-Encoding: chunked\r\n\r\n3" + ext +
                                b"\r\nabc\r\n0\r\n\r\n")

    # Known gap: libhttp-parser skips everything after ';' up to the CR of a
    # chunk-size line and stops a chunk size at a space, so these chunk lines
    # are accepted. A front proxy that ends the line at the bare LF (or reads
    # "3 3" otherwise) would frame the body differently: a smuggling shape.
    # Rejecting them needs a check of the raw chunk-size lines in
    # worker/conn.c; drop this decorator once that lands.
    def test_chunk_line_garbage(self):
        for line in (b"3;a=b\nc", b"3;\x01", b"3;a=\x7f", b"3; \x00", b"3;a b c", b"3 3"):
            self.assertRejected(self.POST + b"Transfer-Encoding: chunked\r\n\r\n" + line +
                                b"\r\nabc\r\n0\r\n\r\n")

    def test_chunk_extension_well_formed_accepted(self):
        resp = raw(self.port, self.POST + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                   b"3;name=value\r\nabc\r\n0\r\n\r\n")
        self.assertEqual(status_of(resp), 200)
        self.assertTrue(resp.endswith(b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n") or resp.endswith(b"\r\n\r\nabc"),
                        resp[-40:])

    def test_smuggled_request_never_answered(self):
        smuggled = b"GET /vars.cgi?smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
        for head in (b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % (5 + len(smuggled)),
                     b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
                     b"Content-Length: 0\r\nContent-Length: %d\r\n" % len(smuggled)):
            resp = raw(self.port, self.POST + head + b"\r\n0\r\n\r\n" + smuggled, timeout=3)
            self.assertEqual(status_of(resp), 400, head)
            self.assertEqual(resp.count(b"HTTP/1."), 1, "a second response followed the 400")
            self.assertNotIn(b"smuggled", resp)
        self.assertUnharmed()


INJECT_SCRIPTS = {
    "name_space.cgi": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nX Bad: 1\\r\\nX-Good: fine\\r\\n\\r\\nbody\\n'\n",
    "name_ctl.cgi": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nX(Bad): 1\\r\\nX-Good: fine\\r\\n\\r\\nbody\\n'\n",
    "status_cr.cgi": "#!/bin/sh\nprintf 'Status: 200 OK\\rInjected: yes\\r\\nContent-Type: text/plain\\r\\n\\r\\nbody\\n'\n",
    "location_cr.cgi": "#!/bin/sh\nprintf 'Status: 302 Found\\r\\nLocation: http://a.example/\\rInjected: yes\\r\\n\\r\\n'\n",
    "value_nul.cgi": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nX-Evil: a\\000Injected: yes\\r\\n\\r\\nbody\\n'\n",
    "ctype_cr.cgi": "#!/bin/sh\nprintf 'Content-Type: text/plain\\rInjected: yes\\r\\n\\r\\nbody\\n'\n",
    "pid.cgi": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' \"$PPID\"\n",
}


class AppHeaderInjection(ServerBase):
    """What the app writes into its head never splits drover's response:
    the bad field is dropped or the response is a 502, never forwarded."""

    @classmethod
    def setUpClass(cls):
        cls.cgi = make_root(INJECT_SCRIPTS)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.cgi, ignore_errors=True)

    def test_bad_fields_never_reach_the_client(self):
        for name in sorted(INJECT_SCRIPTS):
            if name == "pid.cgi":
                continue
            resp = raw(self.port, b"GET /%s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % name.encode())
            head = resp.partition(b"\r\n\r\n")[0]
            st = status_of(resp)
            self.assertIn(st, (200, 302, 502), (name, resp[:200]))
            self.assertNotIn(b"\r", head.replace(b"\r\n", b""), name)
            self.assertNotIn(b"\x00", head, name)
            self.assertNotIn(b"injected", head.lower(), name)
            self.assertNotIn(b"x bad", head.lower(), name)
            self.assertNotIn(b"x(bad)", head.lower(), name)
            for line in head.split(b"\r\n")[1:]:
                self.assertRegex(line, rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+: [\x20-\x7e\t]*$", name)
        self.assertUnharmed()


OUTSIDE = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nOUTSIDE-ROOT\\n'\n"
INSIDE = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\ninside\\n'\n"


LINK_TARGETS = (b"/linkdir/evil.cgi", b"/sibling/evil.cgi", b"/sib.cgi", b"/sib.cgi/x",
                b"/linkdir%2fevil.cgi")
PATH_TRICKS = (b"/../evil.cgi", b"/%2e%2e/evil.cgi", b"/%2E%2e/outside/evil.cgi",
               b"/..%2fevil.cgi", b"/..%2Foutside%2Fevil.cgi", b"//../evil.cgi",
               b"/.%2e/evil.cgi", b"/ok.cgi/../../evil.cgi", b"/..\\evil.cgi",
               b"/%252e%252e/evil.cgi", b"/./../evil.cgi", b"/linkdir/../../evil.cgi",
               b"/linkdir/%2e%2e/%2e%2e/evil.cgi", b"/sibling%2f..%2f..%2fevil.cgi",
               b"/ok.cgi%2f..%2f..%2fevil.cgi", b"/%00/../evil.cgi",
               b"http://a" + b"/../evil.cgi")


class PathEscapes(ServerBase):
    """root/ with a symlinked directory pointing out, a symlink into a
    sibling directory whose name starts with the root's, and encoded tricks;
    with follow_symlinks = no, no link is followed either."""
    sets = ("app.follow_symlinks=no",)
    targets = LINK_TARGETS + PATH_TRICKS

    @classmethod
    def setUpClass(cls):
        cls.top = tempfile.mkdtemp(prefix="drover-sec-paths-")
        os.chmod(cls.top, 0o755)
        root = os.path.join(cls.top, "root")
        for d in (root, os.path.join(cls.top, "outside"), os.path.join(cls.top, "rootevil")):
            os.mkdir(d, 0o755)
        for p, body in ((os.path.join(root, "ok.cgi"), INSIDE),
                        (os.path.join(root, "pid.cgi"), INJECT_SCRIPTS["pid.cgi"]),
                        (os.path.join(cls.top, "outside", "evil.cgi"), OUTSIDE),
                        (os.path.join(cls.top, "rootevil", "evil.cgi"), OUTSIDE),
                        (os.path.join(cls.top, "evil.cgi"), OUTSIDE)):
            with open(p, "w") as f:
                f.write(body)
            os.chmod(p, 0o755)
        os.symlink(os.path.join(cls.top, "outside"), os.path.join(root, "linkdir"))
        os.symlink("../rootevil", os.path.join(root, "sibling"))
        os.symlink("../rootevil/evil.cgi", os.path.join(root, "sib.cgi"))
        cls.cgi = root
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.top, ignore_errors=True)

    def test_inside_is_served(self):
        st, _, body = request(self.port, "GET", "/ok.cgi")
        self.assertEqual((st, body), (200, b"inside\n"))

    def test_nothing_outside_root_runs(self):
        for target in self.targets + (b"/" + os.path.join(self.top.encode(), b"evil.cgi"),):
            resp = raw(self.port, b"GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % target)
            st = status_of(resp)
            self.assertIn(st, (400, 403, 404), (target, resp[:200]))
            self.assertNotIn(b"OUTSIDE-ROOT", resp, target)
        self.assertUnharmed()

    def test_double_slash_stays_inside(self):
        resp = raw(self.port, b"GET //ok.cgi HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        self.assertIn(status_of(resp), (200, 400, 404))
        self.assertNotIn(b"OUTSIDE-ROOT", resp)


class PathEscapesFollowingLinks(PathEscapes):
    """follow_symlinks = yes (the default): links the administrator made are
    followed, as nginx does; .. and its encodings still never leave the root."""
    sets = ()
    targets = PATH_TRICKS

    def test_links_are_followed(self):
        for target in (b"/sib.cgi", b"/linkdir/evil.cgi"):
            st, _, body = request(self.port, "GET", target.decode())
            self.assertEqual((st, body), (200, b"OUTSIDE-ROOT\n"), target)


class PathEscapesOwnerLinks(PathEscapes):
    """follow_symlinks = owner: a link is followed only when its owner owns
    the target."""
    sets = ("app.follow_symlinks=owner",)
    targets = PATH_TRICKS

    def test_owner_decides(self):
        # The test's own links to its own files: followed.
        st, _, body = request(self.port, "GET", "/sib.cgi")
        self.assertEqual((st, body), (200, b"OUTSIDE-ROOT\n"))
        if os.geteuid() != 0:
            self.skipTest("another owner needs root")
        link = os.path.join(self.cgi, "other.cgi")
        os.symlink(os.path.join(self.top, "evil.cgi"), link)
        try:
            os.lchown(link, 65534, -1)
            st, _, body = request(self.port, "GET", "/other.cgi")
            self.assertEqual(st, 403)
            self.assertNotIn(b"OUTSIDE-ROOT", body)
        finally:
            os.unlink(link)


@unittest.skipUnless(os.geteuid() == 0, "privilege drop needs root")
class PrivilegeDrop(unittest.TestCase):
    def test_workers_and_apps_run_as_nobody(self):
        import grp
        import pwd
        uid = pwd.getpwnam("nobody").pw_uid
        try:
            gid = grp.getgrnam("nogroup").gr_gid
            group = "nogroup"
        except KeyError:
            gid = pwd.getpwnam("nobody").pw_gid
            group = grp.getgrgid(gid).gr_name
        root = make_root({"id.cgi": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
                                    "printf 'uid=%s gid=%s groups=%s\\n' \"$(id -u)\" \"$(id -g)\" \"$(id -G)\"\n"})
        d = Drover(workers=2, cgi=root, sets=["server.user=nobody", "server.group=%s" % group])
        try:
            d.wait_ready(2)
            for pid in d.worker_pids():
                with open("/proc/%d/status" % pid) as f:
                    status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
                self.assertEqual(status["Uid"].split(), [str(uid)] * 4, "worker %d" % pid)
                self.assertEqual(status["Gid"].split(), [str(gid)] * 4, "worker %d" % pid)
                self.assertEqual(status["Groups"].split(), [] if not status["Groups"].strip()
                                 else [str(gid)], "supplementary groups kept")
                self.assertEqual(status["CapEff"].strip("0 "), "", "worker kept capabilities")
            st, _, body = request(d.port, "GET", "/id.cgi")
            self.assertEqual(st, 200)
            m = re.match(rb"uid=(\d+) gid=(\d+) groups=([\d ]*)", body)
            self.assertEqual((int(m.group(1)), int(m.group(2))), (uid, gid))
            self.assertTrue(set(m.group(3).split()) <= {str(gid).encode()}, body)
        finally:
            d.stop()
            shutil.rmtree(root, ignore_errors=True)


class CookieForgery(unittest.TestCase):
    def setUp(self):
        self.drovers = []

    def tearDown(self):
        for d in self.drovers:
            d.stop()

    def start(self, keys, **kw):
        d = Drover(workers=1, env={"DROVER_SECRET_KEYS": keys}, **kw).wait_ready(1)
        self.drovers.append(d)
        return d

    def test_cookie_of_another_key_is_a_new_visitor(self):
        a = self.start("key-of-host-a")
        b = self.start("key-of-host-b")
        v = Visitor(a.port)
        v.count()
        v.count()
        stolen = v.cookie
        v.port = b.port
        self.assertEqual(v.count()[:2], (1, "miss"))
        self.assertNotEqual(v.cookie, stolen)
        self.assertIn("result=tampered", b.read_log())

    def test_non_canonical_mac_spelling_rejected(self):
        a = self.start("one-key")
        v = Visitor(a.port)
        v.count()
        name, value = v.cookie.split("=", 1)
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet.index(value[-1])
        # The last of 43 base64url characters carries 2 unused bits: a
        # different character that decodes to the same MAC.
        twin = value[:-1] + alphabet[last ^ 1]
        w = Visitor(a.port)
        w.cookie = name + "=" + twin
        self.assertEqual(w.count()[:2], (1, "miss"))
        self.assertEqual(v.count()[:2], (2, "hit"))

    def test_forged_id_never_adopted(self):
        a = self.start("one-key")
        for forged in ("0" * 32 + "." + "A" * 43, "f" * 32 + ".x", "attacker-chosen", "0" * 32):
            w = Visitor(a.port)
            w.cookie = "drover_sid=" + forged
            _, hdrs, body = w.get()
            sid = re.search(r"id=(\w+)", body).group(1)
            self.assertNotIn(sid, forged)
            self.assertNotIn(forged.split(".")[0], hdrs.get("set-cookie", ""))

    def test_deleted_session_cookie_carries_nothing(self):
        # A validly signed cookie whose session is gone (deleted, expired)
        # starts empty. drover keeps its id (it is not forged); what stops
        # fixation is Renew at login, next test.
        a = self.start("one-key")
        attacker = Visitor(a.port)
        attacker.count()
        attacker.count()
        planted = attacker.cookie
        attacker.get("/counter.cgi?delete=1")
        victim = Visitor(a.port)
        victim.cookie = planted
        self.assertEqual(victim.count()[:2], (1, "miss"))

    def test_renew_moves_state_away_from_a_planted_id(self):
        a = self.start("one-key")
        attacker = Visitor(a.port)
        attacker.count()
        planted = attacker.cookie
        victim = Visitor(a.port)
        victim.cookie = planted
        victim.count()
        victim.count("/counter.cgi?renew=1")       # the victim logs in
        self.assertNotEqual(victim.cookie, planted)
        attacker.cookie = planted
        self.assertEqual(attacker.count()[:2], (1, "miss"), "the planted id still reaches the state")
        self.assertEqual(victim.count()[:2], (4, "hit"))


@unittest.skipUnless(os.path.exists(REDIS), "redis-server not installed")
class KeyRotation(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer()
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.stop()
        self.redis.stop()

    def start(self, keys):
        if self.d:
            self.d.stop()
        self.d = Drover(workers=1, env={"REDIS_URL": self.redis.url, "DROVER_SECRET_KEYS": keys}).wait_ready(1)
        wait_until(lambda: self.d.metrics()["drover_redis_up"] == 1, 10)
        return self.d

    def flushed(self, v, version):
        sid = v.cookie.split("=", 1)[1].split(".")[0]
        wait_until(lambda: (self.redis.cmd("GET", "drover:s:" + sid) or b"\0" * 16)[8:16] ==
                   version.to_bytes(8, "big"), 10)

    def monitor(self):
        """Starts Redis MONITOR; returns a function giving what it saw."""
        m = socket.create_connection(("127.0.0.1", self.redis.port), 5)
        m.sendall(b"MONITOR\r\n")
        m.recv(64)                          # +OK
        m.settimeout(0.5)

        def seen():
            out = b""
            while True:
                try:
                    b = m.recv(65536)
                except (socket.timeout, OSError):
                    break
                if not b:
                    break
                out += b
            m.close()
            return out
        return seen

    def test_bad_cookie_never_reaches_redis(self):
        d = self.start("one-key")
        v = Visitor(d.port)
        v.count()
        name, value = v.cookie.split("=", 1)
        sid = value.split(".")[0]
        d = self.start("one-key")           # empty L1: a good cookie now asks Redis
        seen = self.monitor()
        forged = [value[:-1] + ("A" if value[-1] != "A" else "B"), "0" * 32 + "." + "A" * 43]
        for f in forged:
            w = Visitor(d.port)
            w.cookie = name + "=" + f
            self.assertEqual(w.count()[:2], (1, "miss"))
        v.port = d.port
        self.assertEqual(v.count()[:2], (2, "rebuild"))
        traffic = seen()
        # One lookup of the id: the good cookie's. The same id with a bad
        # MAC, and a made-up id, were never looked up.
        self.assertEqual(traffic.count(b'"GET" "drover:s:' + sid.encode() + b'"'), 1, traffic[-2000:])
        self.assertNotIn(b"0" * 32, traffic)

    def test_rotation(self):
        d = self.start("old-key")
        old = Visitor(d.port)
        for i in range(1, 4):
            self.assertEqual(old.count()[0], i)
        old_cookie = old.cookie
        self.flushed(old, 3)

        # "new,old": new signs, old still verifies cookies and envelopes.
        d = self.start("new-key,old-key")
        old.port = d.port
        self.assertEqual(old.count()[:2], (4, "rebuild"))
        fresh = Visitor(d.port)
        self.assertEqual(fresh.count()[0], 1)
        self.assertNotEqual(fresh.cookie.split(".")[1], "")
        self.flushed(old, 4)
        self.flushed(fresh, 1)

        # "new" alone: cookies signed with old are rejected, new ones work.
        d = self.start("new-key")
        fresh.port = d.port
        self.assertEqual(fresh.count()[:2], (2, "rebuild"), "a cookie signed with the new key")
        stale = Visitor(d.port)
        stale.cookie = old_cookie
        self.assertEqual(stale.count()[:2], (1, "miss"))
        self.assertIn("result=tampered", d.read_log())
        # The old visitor's current cookie: kept if drover re-signed it under
        # new-key, else refused like any cookie of a retired key.
        old.port = d.port
        c, status, _ = old.count()
        if old.cookie == old_cookie or c == 1:
            self.assertEqual((c, status), (1, "miss"))
        else:
            self.assertEqual((c, status), (5, "rebuild"))


if __name__ == "__main__":
    unittest.main()
