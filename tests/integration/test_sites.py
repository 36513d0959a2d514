"""Black-box tests of whole sites (issue 11): which files run as scripts
under a FastCGI root, deny prefixes and dot-files, paths that try to leave
the root, directory index files, and static files (validators, ranges,
HEAD, precompressed siblings, sendfile). php-cgi runs the PHP; those tests
skip without it.

Run: tests/integration/run.sh BUILDDIR test_sites.py
"""
import base64
import email.utils
import gzip
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Drover, raw, request, status_of  # noqa: E402

PHP_CGI = "/usr/bin/php-cgi"
# Source that prints the marker only when PHP runs it: the source itself
# holds the marker split in two.
PHP_CODE = b'<?php echo "RAN" . "-AS-PHP"; ?>\n'
RAN = b"RAN-AS-PHP"


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


class SiteBase(unittest.TestCase):
    """A temporary docroot and one drover for the class, from an ini file."""
    ini = ""

    @classmethod
    def make_root(cls, root):
        pass

    @classmethod
    def setUpClass(cls):
        cls.top = tempfile.mkdtemp(prefix="drover-sites-")
        os.chmod(cls.top, 0o755)
        cls.root = os.path.join(cls.top, "root")
        os.mkdir(cls.root, 0o755)
        cls.make_root(cls.root)
        cls.ini_path = os.path.join(cls.top, "site.ini")
        with open(cls.ini_path, "w") as f:
            f.write(cls.ini.format(root=cls.root, top=cls.top))
        cls.d = Drover(config=cls.ini_path, cgi=None, workers=1)
        try:
            cls.d.wait_ready(1)
        except Exception:
            cls.d.stop()
            shutil.rmtree(cls.top, ignore_errors=True)
            raise
        cls.port = cls.d.port

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        shutil.rmtree(cls.top, ignore_errors=True)

    def get(self, path, **kw):
        return request(self.port, path=path, **kw)

    def get_raw(self, target):
        resp = raw(self.port, b"GET " + target + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        head, _, body = resp.partition(b"\r\n\r\n")
        return status_of(resp), head, body


PHP_INI = """
[app]
type = fastcgi
command = /usr/bin/php-cgi
root = {root}
processes = 1
env = PHP_FCGI_MAX_REQUESTS=0
deny = /data/ /conf/
[session]
enabled = false
"""


@unittest.skipUnless(os.access(PHP_CGI, os.X_OK), "php-cgi not installed")
class PhpOnlyScriptsRun(SiteBase):
    ini = PHP_INI

    @classmethod
    def make_root(cls, root):
        write(os.path.join(root, "index.php"), PHP_CODE)
        write(os.path.join(root, "info.php"),
              b'<?php echo "SN=", $_SERVER["SCRIPT_NAME"], " PI=", $_SERVER["PATH_INFO"] ?? "", "\\n"; ?>')
        write(os.path.join(root, "up", "x.png"), PHP_CODE)
        write(os.path.join(root, "up", "notes.txt"), PHP_CODE)
        write(os.path.join(root, "up", "x.PHP"), PHP_CODE)
        write(os.path.join(root, "up", ".htaccess"), b"Deny from all\n")
        write(os.path.join(root, "up", ".hidden.php"), PHP_CODE)
        write(os.path.join(root, ".git", "config"), b"[core]\n")
        write(os.path.join(root, "data", "pages", "secret.txt"), b"secret page\n")
        write(os.path.join(root, "data", "run.php"), PHP_CODE)
        write(os.path.join(cls.top, "outside.php"), PHP_CODE)

    def test_php_runs(self):
        st, _, body = self.get("/index.php")
        self.assertEqual((st, body), (200, RAN))
        st, _, body = self.get("/info.php/a/b.png")
        self.assertEqual(st, 200, body)
        self.assertIn(b"SN=/info.php PI=/a/b.png", body)

    def test_renamed_php_never_runs(self):
        for path, ctype in (("/up/x.png", "image/png"), ("/up/notes.txt", "text/plain"),
                            ("/up/x.PHP", "application/octet-stream")):
            st, hdr, body = self.get(path)
            # Served as the data it is.
            self.assertEqual((st, body), (200, PHP_CODE), path)
            self.assertEqual(hdr["content-type"], ctype, path)

    def test_index_and_slash(self):
        st, _, body = self.get("/")
        self.assertEqual((st, body), (200, RAN))
        st, hdr, _ = self.get("/up?a=1")
        self.assertEqual(st, 301)
        self.assertEqual(hdr["location"], "/up/?a=1")
        # A directory without an index file is never listed.
        st, _, body = self.get("/up/")
        self.assertEqual(st, 404)
        self.assertNotIn(b"x.png", body)

    def test_path_info_trick_never_runs(self):
        for path in ("/up/x.png/y.php", "/up/x.png/index.php", "/up/notes.txt/x.php",
                     "/up/x.png%2fy.php", "/up/x.png/.php", "/up/x.png/"):
            st, _, body = self.get(path)
            self.assertEqual(st, 404, path)
            self.assertNotIn(RAN, body, path)

    def test_deny_and_dot_files(self):
        for path in ("/data/pages/secret.txt", "/data/run.php", "//data/pages/secret.txt",
                     "/data", "/data/", "/%64ata/run.php", "/up/.htaccess", "/up/.hidden.php",
                     "/.git/config", "/.git/", "/up/%2ehtaccess"):
            st, _, body = self.get(path)
            self.assertEqual(st, 404, path)
            self.assertNotIn(RAN, body, path)
            self.assertNotIn(b"secret page", body, path)

    def test_nothing_leaves_the_root(self):
        for target in (b"/../outside.php", b"/%2e%2e/outside.php", b"/up/%2E%2E/%2e%2e/outside.php",
                       b"/..%2foutside.php", b"/up/..%2F..%2Foutside.php", b"/./index.php",
                       b"/index.php%00.png", b"/up/x.png%00.php", b"//../outside.php"):
            st, _, body = self.get_raw(target)
            self.assertIn(st, (400, 404), target)
            self.assertNotIn(RAN, body, target)

    def test_missing_script_is_404(self):
        for path in ("/missing.php", "/up/missing.php", "/missing/x.php"):
            st, _, body = self.get(path)
            self.assertEqual(st, 404, path)


def http_date(t):
    return email.utils.formatdate(t, usegmt=True)


STATIC_INI = """
[app]
type = static
root = {root}
expires = 3600
mime_types = {top}/mime.types
[session]
enabled = false
"""

SMALL = b"hello, static world\n"
BIG = bytes(range(256)) * 8192          # 2 MiB: goes out by sendfile


class StaticFiles(SiteBase):
    ini = STATIC_INI

    @classmethod
    def make_root(cls, root):
        write(os.path.join(root, "a.txt"), SMALL)
        write(os.path.join(root, "big.bin"), BIG)
        write(os.path.join(root, "style.css"), b"body{}\n" * 100)
        write(os.path.join(root, "style.css.gz"), gzip.compress(b"body{}\n" * 100))
        write(os.path.join(root, "page.drover"), b"custom type\n")
        write(os.path.join(root, "docs", "index.html"), b"<h1>docs</h1>\n")
        write(os.path.join(root, "empty", "keep.txt"), b"")
        write(os.path.join(root, ".secret"), b"nope\n")
        write(os.path.join(root, "noread.txt"), b"x", 0o000)
        with open(os.path.join(cls.top, "mime.types"), "w") as f:
            f.write("# local types\napplication/x-drover\tdrover\n")

    def test_get_and_headers(self):
        st, hdr, body = self.get("/a.txt")
        self.assertEqual((st, body), (200, SMALL))
        self.assertEqual(hdr["content-type"], "text/plain")
        self.assertEqual(hdr["content-length"], str(len(SMALL)))
        self.assertEqual(hdr["cache-control"], "max-age=3600")
        self.assertEqual(hdr["accept-ranges"], "bytes")
        mtime = int(os.stat(os.path.join(self.root, "a.txt")).st_mtime)
        self.assertEqual(hdr["last-modified"], http_date(mtime))
        self.assertTrue(hdr["etag"].startswith('"'), hdr)
        st, hdr, _ = self.get("/page.drover")
        self.assertEqual(hdr["content-type"], "application/x-drover")

    def test_head(self):
        st, hdr, body = self.get("/big.bin", method="HEAD")
        self.assertEqual((st, body), (200, b""))
        self.assertEqual(hdr["content-length"], str(len(BIG)))

    def test_big_file_intact(self):
        st, hdr, body = self.get("/big.bin")
        self.assertEqual(st, 200)
        self.assertEqual(body, BIG)
        # Keep-alive survives a sendfile body.
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            for _ in range(3):
                c.request("GET", "/big.bin")
                r = c.getresponse()
                self.assertEqual(r.read(), BIG)
            c.request("GET", "/a.txt")
            self.assertEqual(c.getresponse().read(), SMALL)
        finally:
            c.close()

    def test_conditional(self):
        _, hdr, _ = self.get("/a.txt")
        etag, lm = hdr["etag"], hdr["last-modified"]
        st, h, body = self.get("/a.txt", headers={"If-None-Match": etag})
        self.assertEqual((st, body), (304, b""))
        self.assertEqual(h["etag"], etag)
        st, _, _ = self.get("/a.txt", headers={"If-None-Match": '"other", W/' + etag})
        self.assertEqual(st, 304)
        st, _, _ = self.get("/a.txt", headers={"If-None-Match": "*"})
        self.assertEqual(st, 304)
        st, _, body = self.get("/a.txt", headers={"If-None-Match": '"other"'})
        self.assertEqual((st, body), (200, SMALL))
        st, _, _ = self.get("/a.txt", headers={"If-Modified-Since": lm})
        self.assertEqual(st, 304)
        mtime = os.stat(os.path.join(self.root, "a.txt")).st_mtime
        st, _, _ = self.get("/a.txt", headers={"If-Modified-Since": http_date(mtime - 10)})
        self.assertEqual(st, 200)
        # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
        st, _, _ = self.get("/a.txt", headers={"If-None-Match": '"other"', "If-Modified-Since": lm})
        self.assertEqual(st, 200)
        st, _, _ = self.get("/a.txt", headers={"If-Modified-Since": "garbage"})
        self.assertEqual(st, 200)

    def test_ranges(self):
        n = len(BIG)
        for rng, first, last in (("bytes=0-9", 0, 9), ("bytes=100-", 100, n - 1),
                                 ("bytes=-5", n - 5, n - 1), ("bytes=5-999999999", 5, n - 1),
                                 ("bytes=1000-1500000", 1000, 1500000)):
            st, hdr, body = self.get("/big.bin", headers={"Range": rng})
            self.assertEqual(st, 206, rng)
            self.assertEqual(hdr["content-range"], "bytes %d-%d/%d" % (first, last, n), rng)
            self.assertEqual(body, BIG[first:last + 1], rng)
        st, hdr, body = self.get("/big.bin", headers={"Range": "bytes=%d-" % n})
        self.assertEqual(st, 416)
        self.assertEqual(hdr["content-range"], "bytes */%d" % n)
        self.assertEqual(body, b"")
        # Several ranges, other units, nonsense: the whole file.
        for rng in ("bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=x-"):
            st, _, body = self.get("/a.txt", headers={"Range": rng})
            self.assertEqual((st, body), (200, SMALL), rng)
        # If-Range with another validator: the whole file.
        st, _, body = self.get("/a.txt", headers={"Range": "bytes=0-1", "If-Range": '"old"'})
        self.assertEqual((st, body), (200, SMALL))
        _, hdr, _ = self.get("/a.txt")
        st, _, body = self.get("/a.txt", headers={"Range": "bytes=0-1", "If-Range": hdr["etag"]})
        self.assertEqual((st, body), (206, SMALL[:2]))

    def test_precompressed(self):
        plain = b"body{}\n" * 100
        st, hdr, body = self.get("/style.css", headers={"Accept-Encoding": "gzip, deflate"})
        self.assertEqual(st, 200)
        self.assertEqual(hdr["content-encoding"], "gzip")
        self.assertEqual(hdr["content-type"], "text/css")
        self.assertEqual(hdr["vary"], "Accept-Encoding")
        self.assertEqual(gzip.decompress(body), plain)
        for ae in (None, "deflate", "gzip;q=0", "br, gzip; q=0.0"):
            st, hdr, body = self.get("/style.css", headers={"Accept-Encoding": ae} if ae else {})
            self.assertEqual((st, body), (200, plain), ae)
            self.assertNotIn("content-encoding", hdr)
            self.assertEqual(hdr["vary"], "Accept-Encoding")

    def test_directories(self):
        st, _, body = self.get("/docs/")
        self.assertEqual((st, body), (200, b"<h1>docs</h1>\n"))
        st, hdr, _ = self.get("/docs")
        self.assertEqual((st, hdr["location"]), (301, "/docs/"))
        st, _, body = self.get("/empty/")
        self.assertEqual(st, 404)
        self.assertNotIn(b"keep.txt", body)
        st, _, _ = self.get("/")
        self.assertEqual(st, 404)

    def test_refusals(self):
        self.assertEqual(self.get("/.secret")[0], 404)
        self.assertEqual(self.get("/missing.txt")[0], 404)
        self.assertEqual(self.get("/a.txt/more")[0], 404)
        self.assertEqual(self.get("/a.txt", method="POST", body=b"x")[0], 405)
        if os.geteuid() != 0:
            self.assertEqual(self.get("/noread.txt")[0], 403)


CGI_INI = """
[app]
type = cgi
root = {root}
[session]
enabled = false
"""


class CgiSite(SiteBase):
    """A CGI root: executables run, other files are static, index.cgi answers /."""
    ini = CGI_INI

    @classmethod
    def make_root(cls, root):
        write(os.path.join(root, "index.cgi"),
              b"#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nSN=%s PI=%s\\n' "
              b"\"$SCRIPT_NAME\" \"$PATH_INFO\"\n", 0o755)
        write(os.path.join(root, "logo.png"), b"\x89PNG fake\n")
        write(os.path.join(root, "data.cgi"), b"#!/bin/sh\necho RAN\n", 0o644)

    def test_index_cgi_runs(self):
        st, _, body = self.get("/")
        self.assertEqual((st, body), (200, b"SN=/index.cgi PI=\n"))

    def test_assets_are_static(self):
        st, hdr, body = self.get("/logo.png")
        self.assertEqual((st, body, hdr["content-type"]), (200, b"\x89PNG fake\n", "image/png"))
        # Not executable: its bytes, never a run.
        st, _, body = self.get("/data.cgi")
        self.assertEqual((st, body), (200, b"#!/bin/sh\necho RAN\n"))


STATIC_ROOT_INI = """
[app]
type = fastcgi
command = /usr/bin/php-cgi
root = {root}
static_root = {top}/assets
processes = 1
[session]
enabled = false
"""


@unittest.skipUnless(os.access(PHP_CGI, os.X_OK), "php-cgi not installed")
class StaticRootBeforeApp(SiteBase):
    """static_root: its files first; the rest goes to the app, and files under
    root that are not scripts are not served from there."""
    ini = STATIC_ROOT_INI

    @classmethod
    def make_root(cls, root):
        write(os.path.join(root, "index.php"), PHP_CODE)
        write(os.path.join(root, "conf.ini"), b"password=1\n")
        write(os.path.join(cls.top, "assets", "app.js"), b"js\n")
        write(os.path.join(cls.top, "assets", "index.php"), b"<?php shadowed ?>\n")

    def test_static_root_first(self):
        st, hdr, body = self.get("/app.js")
        self.assertEqual((st, body), (200, b"js\n"))
        # A file of static_root wins even if named like a script: it is data.
        st, _, body = self.get("/index.php")
        self.assertEqual((st, body), (200, b"<?php shadowed ?>\n"))
        st, _, body = self.get("/")
        self.assertEqual((st, body), (200, RAN))
        self.assertEqual(self.get("/conf.ini")[0], 404)


def hashed(password, scheme):
    """An htpasswd hash: SHA-crypt through openssl, bcrypt through Python's crypt."""
    if scheme in ("5", "6"):
        return subprocess.run(["openssl", "passwd", "-" + scheme, password], check=True,
                              capture_output=True, text=True).stdout.strip()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH)).replace("$2b$", "$2y$", 1)


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}


AUTH_INI = """
[server]
workers = 1
[app]
script = {top}/cgi/vars.cgi
auth_basic = {top}/htpasswd
auth_realm = Git push

[app open]
mount = /open
script = {top}/cgi/vars.cgi
pass_authorization = true
"""


class AuthBasic(SiteBase):
    """auth_basic: 401 from drover itself; REMOTE_USER and AUTH_TYPE for the
    app; Authorization reaches an app only with pass_authorization."""
    ini = AUTH_INI

    @classmethod
    def make_root(cls, root):
        with open(os.path.join(os.path.dirname(__file__), "cgi-bin", "vars.cgi"), "rb") as f:
            write(os.path.join(cls.top, "cgi", "vars.cgi"), f.read(), 0o755)
        lines = ["alice:" + hashed("s3cret", "6"), "carol:" + hashed("pw5", "5"),
                 "dave:plaintext", "# comment"]
        try:
            lines.append("bob:" + hashed("hunter2", "2y"))
        except ImportError:
            pass
        write(os.path.join(cls.top, "htpasswd"), ("\n".join(lines) + "\n").encode())

    def test_refused_never_reach_the_app(self):
        for hdrs in ({}, basic("alice", "wrong"), basic("nobody", "s3cret"), basic("dave", "plaintext"),
                     {"Authorization": "Basic !!!"}, {"Authorization": "Bearer x"},
                     {"Authorization": "Basic " + base64.b64encode(b"alice").decode()}):
            st, hdr, body = self.get("/x", headers=hdrs)
            self.assertEqual(st, 401, hdrs)
            self.assertEqual(hdr["www-authenticate"], 'Basic realm="Git push", charset="UTF-8"')
            self.assertNotIn(b"GATEWAY_INTERFACE", body)

    def test_accepted_users(self):
        users = [("alice", "s3cret"), ("carol", "pw5")]
        with open(os.path.join(self.top, "htpasswd")) as f:
            if "bob:" in f.read():
                users.append(("bob", "hunter2"))
        for user, password in users:
            for _ in range(2):          # the second from the accepted-value cache
                st, _, body = self.get("/x", headers=basic(user, password))
                self.assertEqual(st, 200, user)
                env = env_of(body)
                self.assertEqual((env["REMOTE_USER"], env["AUTH_TYPE"]), (user, "Basic"))
                self.assertNotIn("HTTP_AUTHORIZATION", env)

    def test_pass_authorization(self):
        st, _, body = self.get("/open/x", headers={"Authorization": "Bearer tok"})
        env = env_of(body)
        self.assertEqual((st, env["HTTP_AUTHORIZATION"]), (200, "Bearer tok"))
        self.assertNotIn("REMOTE_USER", env)

    def test_file_change_is_read(self):
        path = os.path.join(self.top, "htpasswd")
        with open(path) as f:
            old = f.read()
        try:
            with open(path, "a") as f:
                f.write("eve:%s\n" % hashed("new", "6"))
            st, _, _ = self.get("/x", headers=basic("eve", "new"))
            self.assertEqual(st, 200)
        finally:
            with open(path, "w") as f:
                f.write(old)
        self.assertEqual(self.get("/x", headers=basic("eve", "new"))[0], 401)


XSF_INI = """
[server]
workers = 1
[app]
root = {top}/cgi
x_sendfile = {top}/files/ {top}/more
[app plain]
mount = /plain
script = {top}/cgi/send.cgi
"""

SEND_CGI = b"""#!/bin/sh
printf 'Content-Type: text/html\\r\\n%s: %s\\r\\n\\r\\n' "${HTTP_X_HEADER:-X-Sendfile}" "$QUERY_STRING"
"""


class XSendfile(SiteBase):
    """X-Sendfile and X-Accel-Redirect: stripped, and the file under an
    x_sendfile directory sent as a static response."""
    ini = XSF_INI

    @classmethod
    def make_root(cls, root):
        write(os.path.join(cls.top, "cgi", "send.cgi"), SEND_CGI, 0o755)
        write(os.path.join(cls.top, "files", "report.pdf"), BIG)
        write(os.path.join(cls.top, "more", "a.txt"), SMALL)
        write(os.path.join(cls.top, "secret.txt"), b"secret\n")

    def test_file_is_sent(self):
        top = self.top
        st, hdr, body = self.get("/send.cgi?" + top + "/files/report.pdf")
        self.assertEqual((st, hdr["content-type"]), (200, "application/pdf"))
        self.assertEqual(body, BIG)
        self.assertNotIn("x-sendfile", hdr)
        st, hdr, body = self.get("/send.cgi?" + top + "/more/a.txt",
                                 headers={"X-Header": "X-Accel-Redirect"})
        self.assertEqual((st, body), (200, SMALL))
        self.assertNotIn("x-accel-redirect", hdr)
        st, _, body = self.get("/send.cgi?" + top + "/files/report.pdf", headers={"Range": "bytes=0-9"})
        self.assertEqual((st, body), (206, BIG[:10]))
        st, _, body = self.get("/send.cgi?" + top + "/more/a.txt", method="POST", body=b"x=1")
        self.assertEqual((st, body), (200, SMALL))

    def test_only_under_the_directories(self):
        top = self.top
        for path in (top + "/secret.txt", top + "/files/../secret.txt", top + "/files",
                     top + "/filesx/a", "files/report.pdf", top + "/files/missing"):
            st, hdr, body = self.get("/send.cgi?" + path)
            self.assertEqual(st, 404, path)
            self.assertNotIn(b"secret", body)
            self.assertNotIn("x-sendfile", hdr)

    def test_never_leaks_without_x_sendfile(self):
        st, hdr, body = self.get("/plain/x?" + self.top + "/files/report.pdf")
        self.assertEqual((st, body), (200, b""))
        self.assertNotIn("x-sendfile", hdr)


if __name__ == "__main__":
    unittest.main()


MOUNTS_INI = """
[server]
workers = 1

[app]
type = static
root = {top}/home

[app git]
mount = /git
type = cgi
script = {top}/cgi/vars.cgi
sessions = false

[app wiki]
mount = /wiki
type = fastcgi
command = /usr/bin/php-cgi
root = {root}
env = PHP_FCGI_MAX_REQUESTS=0

[app assets]
mount = /git/static
type = static
root = {top}/assets

[app withsessions]
mount = /s
type = cgi
script = {top}/cgi/vars.cgi
"""


def env_of(body):
    return dict(line.split("=", 1) for line in body.decode().splitlines() if "=" in line)


@unittest.skipUnless(os.access(PHP_CGI, os.X_OK), "php-cgi not installed")
class MountedApps(SiteBase):
    """[app NAME] sections on mount points next to the unnamed [app] at /."""
    ini = MOUNTS_INI

    @classmethod
    def make_root(cls, root):
        write(os.path.join(root, "index.php"),
              b'<?php echo "SN=", $_SERVER["SCRIPT_NAME"], " PI=", $_SERVER["PATH_INFO"] ?? "",'
              b' " RU=", $_SERVER["REQUEST_URI"], "\\n"; ?>')
        write(os.path.join(root, "logo.png"), b"png\n")
        with open(os.path.join(os.path.dirname(__file__), "cgi-bin", "vars.cgi"), "rb") as f:
            write(os.path.join(cls.top, "cgi", "vars.cgi"), f.read(), 0o755)
        write(os.path.join(cls.top, "assets", "cgit.css"), b"css\n")
        write(os.path.join(cls.top, "home", "index.html"), b"home\n")

    def test_longest_mount_on_whole_segments(self):
        st, _, body = self.get("/git/repo/tree?id=1")
        env = env_of(body)
        self.assertEqual(st, 200)
        self.assertEqual((env["SCRIPT_NAME"], env["PATH_INFO"], env["REQUEST_URI"]),
                         ("/git", "/repo/tree", "/git/repo/tree?id=1"))
        st, _, body = self.get("/git")
        env = env_of(body)
        self.assertEqual((env["SCRIPT_NAME"], env["PATH_INFO"]), ("/git", ""))
        st, hdr, body = self.get("/git/static/cgit.css")
        self.assertEqual((st, body, hdr["content-type"]), (200, b"css\n", "text/css"))
        # /gitx is not under /git: the unnamed [app] at / answers.
        self.assertEqual(self.get("/gitx")[0], 404)
        self.assertEqual(self.get("/")[2], b"home\n")

    def test_root_mode_script_name(self):
        st, _, body = self.get("/wiki/index.php/Main_Page?x=1")
        self.assertEqual(st, 200, body)
        self.assertEqual(body, b"SN=/wiki/index.php PI=/Main_Page RU=/wiki/index.php/Main_Page?x=1\n")
        st, _, body = self.get("/wiki/")
        self.assertEqual(body, b"SN=/wiki/index.php PI= RU=/wiki/\n")
        st, hdr, _ = self.get("/wiki?a=b")
        self.assertEqual((st, hdr["location"]), (301, "/wiki/?a=b"))
        st, hdr, body = self.get("/wiki/logo.png")
        self.assertEqual((st, body), (200, b"png\n"))

    def test_sessions_switch(self):
        env = env_of(self.get("/git/x")[2])
        self.assertFalse([k for k in env if k.startswith("DROVER_SESSION")], env)
        env = env_of(self.get("/s/x")[2])
        self.assertIn("DROVER_SESSION_ID", env)


class MountsReload(unittest.TestCase):
    """HUP adds, changes and removes [app NAME] sections; a bad one keeps the old."""

    def test_hup_adds_changes_removes(self):
        import signal
        from harness import wait_until
        top = tempfile.mkdtemp(prefix="drover-sites-")
        self.addCleanup(shutil.rmtree, top, True)
        for d in ("a", "b"):
            write(os.path.join(top, d, "f.txt"), d.encode() + b"\n")
        ini = os.path.join(top, "d.ini")

        def conf(text):
            with open(ini, "w") as f:
                f.write("[server]\nworkers = 1\n[session]\nenabled = false\n" + text)
        conf("[app one]\nmount = /one\ntype = static\nroot = %s/a\n" % top)
        d = Drover(config=ini, cgi=None, workers=1)
        self.addCleanup(d.stop)
        d.wait_ready(1)
        self.assertEqual(request(d.port, path="/one/f.txt")[2], b"a\n")
        self.assertEqual(request(d.port, path="/two/f.txt")[0], 404)

        def after_hup(path, want):
            gen = d.status()["generation"]
            d.signal(signal.SIGHUP)

            def rolled():
                # Every worker of the new generation, none of the old left.
                ws = d.status()["workers"]
                return ws and all(w["generation"] > gen and w["state"] == "ready" for w in ws)
            wait_until(rolled, 15)
            self.assertEqual(request(d.port, path=path)[2], want)
        conf("[app one]\nmount = /one\ntype = static\nroot = %s/b\n"
             "[app two]\nmount = /two\ntype = static\nroot = %s/a\n" % (top, top))
        after_hup("/two/f.txt", b"a\n")
        self.assertEqual(request(d.port, path="/one/f.txt")[2], b"b\n")
        conf("[app two]\nmount = /two\ntype = static\nroot = %s/a\n" % top)
        after_hup("/one/f.txt", b"404 Not Found\n")
        # A bad section: refused, the running apps stay.
        conf("[app two]\nmount = two\ntype = static\nroot = %s/a\n" % top)
        d.signal(signal.SIGHUP)
        wait_until(lambda: "[app two] mount: expected /" in d.read_log(), 10)
        self.assertEqual(request(d.port, path="/two/f.txt")[2], b"a\n")
