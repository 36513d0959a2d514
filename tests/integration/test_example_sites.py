"""The example sites of examples/sites/ against the real apps from Debian
packages: git-http-backend (clone and push through auth_basic), cgit with
its assets, DokuWiki with its deny list, cgit at /git next to DokuWiki
at /wiki in one drover, Adminer at /adminer, and MediaWiki on SQLite. Each
test skips when its package is not installed. The shipped ini is used as
it is, with only its paths into /srv and /etc pointed at a temporary
directory (for MediaWiki, its LocalSettings.php, through MW_CONFIG_FILE).
"""
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Drover, request  # noqa: E402

EXAMPLES = os.path.join(harness.SRCDIR, "examples", "sites")
GIT_BACKEND = "/usr/lib/git-core/git-http-backend"
CGIT = "/usr/lib/cgit/cgit.cgi"
DOKUWIKI = "/usr/share/dokuwiki/doku.php"
PHP_CGI = "/usr/bin/php-cgi"
ADMINER = "/usr/share/adminer/adminer/index.php"
MEDIAWIKI = "/var/lib/mediawiki/index.php"
MW_INSTALL = "/usr/share/mediawiki/maintenance/install.php"
PHP = "/usr/bin/php"


def have(*paths):
    return all(os.path.exists(p) for p in paths)


class ExampleBase(unittest.TestCase):
    example = None
    replace = {}

    def setUp(self):
        self.top = tempfile.mkdtemp(prefix="drover-example-")
        os.chmod(self.top, 0o755)
        self.addCleanup(shutil.rmtree, self.top, True)

    def start(self, extra=""):
        with open(os.path.join(EXAMPLES, self.example)) as f:
            text = f.read()
        for old, new in self.replace.items():
            text = text.replace(old, new.format(top=self.top))
        ini = os.path.join(self.top, "site.ini")
        with open(ini, "w") as f:
            f.write("[server]\nworkers = 1\n" + text + extra)
        check = subprocess.run([harness.DROVER, "-t", "-c", ini], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stderr)
        d = Drover(config=ini, cgi=None, workers=1)
        self.addCleanup(d.stop)
        d.wait_ready(1)
        return d


@unittest.skipUnless(have(GIT_BACKEND) and shutil.which("git") and shutil.which("openssl"),
                     "git not installed")
class GitHttpBackend(ExampleBase):
    example = "git-http-backend.ini"
    replace = {"/srv/git": "{top}/repos", "/etc/drover/git.htpasswd": "{top}/htpasswd"}

    def git(self, *args, cwd=None, ok=True):
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1",
                   HOME=self.top, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@example.org",
                   GIT_COMMITTER_NAME="a", GIT_COMMITTER_EMAIL="a@example.org")
        r = subprocess.run(["git"] + list(args), cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=60)
        if ok:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_clone_and_push_with_auth(self):
        os.makedirs(os.path.join(self.top, "repos"))
        self.git("init", "-q", "--bare", "--initial-branch=main", os.path.join(self.top, "repos", "r.git"))
        pw = subprocess.run(["openssl", "passwd", "-6", "s3cret"], capture_output=True, text=True,
                            check=True).stdout.strip()
        with open(os.path.join(self.top, "htpasswd"), "w") as f:
            f.write("alice:%s\n" % pw)
        d = self.start()
        url = "http://alice:s3cret@127.0.0.1:%d/git/r.git" % d.port
        work = os.path.join(self.top, "work")
        self.git("clone", "-q", url, work)
        with open(os.path.join(work, "README"), "w") as f:
            f.write("hello\n" * 1000)
        self.git("add", "README", cwd=work)
        self.git("commit", "-q", "-m", "first", cwd=work)
        self.git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=work)
        log = self.git("--git-dir", os.path.join(self.top, "repos", "r.git"), "log", "--format=%s",
                       "main").stdout
        self.assertEqual(log.strip(), "first")
        # A second clone sees the push; without credentials nothing is served.
        self.git("clone", "-q", url, os.path.join(self.top, "again"))
        with open(os.path.join(self.top, "again", "README")) as f:
            self.assertEqual(f.read(), "hello\n" * 1000)
        anon = "http://127.0.0.1:%d/git/r.git" % d.port
        r = self.git("clone", "-q", anon, os.path.join(self.top, "anon"), ok=False)
        self.assertNotEqual(r.returncode, 0)
        st, _, _ = request(d.port, path="/git/r.git/info/refs?service=git-receive-pack")
        self.assertEqual(st, 401)
        bad = {"Authorization": "Basic " + base64.b64encode(b"alice:wrong").decode()}
        st, _, _ = request(d.port, path="/git/r.git/info/refs?service=git-upload-pack", headers=bad)
        self.assertEqual(st, 401)


def cgit_repos(top):
    """A repository for cgit to list: Debian's /etc/cgitrc, then a scan-path."""
    repos = os.path.join(top, "repos")
    os.makedirs(repos)
    subprocess.run(["git", "init", "-q", "--bare", os.path.join(repos, "demo.git")], check=True)
    with open(os.path.join(top, "cgitrc"), "w") as f:
        f.write("include=/etc/cgitrc\ncache-size=0\nscan-path=%s\n" % repos)


@unittest.skipUnless(have(CGIT), "cgit not installed")
class Cgit(ExampleBase):
    example = "cgit.ini"
    replace = {"CGIT_CONFIG=/etc/cgitrc": "CGIT_CONFIG={top}/cgitrc"}

    def test_pages_and_assets(self):
        cgit_repos(self.top)
        d = self.start()
        st, _, body = request(d.port, path="/")
        self.assertEqual(st, 200, body[:300])
        self.assertIn(b"demo.git", body)
        self.assertIn(b"/cgit-css/cgit.css", body)
        for path, ctype in (("/cgit-css/cgit.css", "text/css"), ("/cgit.css", "text/css"),
                            ("/cgit-css/cgit.png", "image/png")):
            st, hdr, _ = request(d.port, path=path)
            self.assertEqual((st, hdr.get("content-type")), (200, ctype), path)


@unittest.skipUnless(have(DOKUWIKI, PHP_CGI), "dokuwiki or php-cgi not installed")
class DokuWiki(ExampleBase):
    example = "dokuwiki.ini"

    def test_wiki_and_denials(self):
        d = self.start()
        st, _, body = request(d.port, path="/")
        self.assertEqual(st, 200, body[:300])
        self.assertIn(b"DokuWiki", body)
        for path in ("/data/pages/wiki/dokuwiki.txt", "/conf/local.php", "/conf/users.auth.php",
                     "/inc/init.php", "/bin/indexer.php", "/.htaccess", "//data/pages/"):
            st, _, body = request(d.port, path=path)
            self.assertEqual(st, 404, path)
        st, hdr, _ = request(d.port, path="/lib/tpl/dokuwiki/images/logo.png")
        self.assertEqual((st, hdr.get("content-type")), (200, "image/png"))


@unittest.skipUnless(have(CGIT, DOKUWIKI, PHP_CGI), "cgit, dokuwiki or php-cgi not installed")
class GitAndWiki(ExampleBase):
    example = "git-and-wiki.ini"
    replace = {"CGIT_CONFIG=/etc/cgitrc": "CGIT_CONFIG={top}/cgitrc"}

    def test_both_apps(self):
        cgit_repos(self.top)
        d = self.start()
        st, _, body = request(d.port, path="/git/")
        self.assertEqual(st, 200, body[:300])
        self.assertIn(b"/git/demo.git/", body)   # cgit's links carry the mount
        st, _, body = request(d.port, path="/wiki/")
        self.assertEqual(st, 200, body[:300])
        self.assertIn(b"DokuWiki", body)
        self.assertEqual(request(d.port, path="/wiki/data/pages/")[0], 404)
        self.assertEqual(request(d.port, path="/cgit-css/cgit.css")[0], 200)


@unittest.skipUnless(have(ADMINER, PHP_CGI), "adminer or php-cgi not installed")
class Adminer(ExampleBase):
    """The login page and every asset it links. Logging in is not tested:
    Adminer 4.8 refuses a login without a password, and its SQLite driver
    refuses one with a password, so SQLite needs a plugin to log in."""
    example = "adminer.ini"

    def test_login_page_and_assets(self):
        d = self.start()
        st, hdr, body = request(d.port, path="/adminer")
        self.assertEqual((st, hdr.get("location")), (301, "/adminer/"))
        st, hdr, body = request(d.port, path="/adminer/")
        self.assertEqual(st, 200, body[:300])
        self.assertTrue(hdr.get("content-type", "").startswith("text/html"), hdr)
        self.assertIn(b'name="auth[username]"', body)
        self.assertIn(b'name="auth[password]"', body)
        links = re.findall(rb"(?:href|src)=[\"'][.][.]/adminer/(static/[^\"'?]+)", body)
        self.assertIn(b"static/default.css", links)
        self.assertIn(b"static/functions.js", links)
        types = {".css": "text/css", ".js": "text/javascript", ".ico": "image/"}
        for link in set(links):
            path = "/adminer/" + link.decode()
            st, hdr, data = request(d.port, path=path)
            self.assertEqual(st, 200, path)
            self.assertTrue(hdr.get("content-type", "").startswith(types[os.path.splitext(path)[1]]),
                            (path, hdr.get("content-type")))
            self.assertNotIn(b"<?php", data)
            self.assertIn("max-age=3600", hdr.get("cache-control", ""))
        for path in ("/adminer/include/bootstrap.inc.php", "/adminer/drivers/sqlite.inc.php",
                     "/adminer/lang/en.inc.php", "/adminer.php"):
            self.assertEqual(request(d.port, path=path)[0], 404, path)


def php_has(ext):
    code = "exit(extension_loaded('%s') ? 0 : 1);" % ext
    return have(PHP) and subprocess.run([PHP, "-r", code]).returncode == 0


@unittest.skipUnless(have(MEDIAWIKI, MW_INSTALL, PHP_CGI) and php_has("pdo_sqlite"),
                     "mediawiki, php-cgi or php-sqlite3 not installed")
class MediaWiki(ExampleBase):
    """Debian's docroot as shipped; the wiki is installed by MediaWiki's own
    install.php into the temporary directory (SQLite database and
    LocalSettings.php), which the app is pointed at with MW_CONFIG_FILE, so
    nothing is written under /var/lib or /etc."""
    example = "mediawiki.ini"
    replace = {"env = PHP_FCGI_MAX_REQUESTS=0":
               "env = PHP_FCGI_MAX_REQUESTS=0\nenv = MW_CONFIG_FILE={top}/LocalSettings.php"}

    def test_main_page_styles_and_assets(self):
        d = self.start()   # MediaWiki reads LocalSettings.php per request
        r = subprocess.run([PHP, MW_INSTALL, "--dbtype", "sqlite",
                            "--dbpath", os.path.join(self.top, "db"), "--confpath", self.top,
                            "--server", "http://127.0.0.1:%d" % d.port,
                            "--scriptpath", "", "--pass", "Long-enough-pw-1", "Wiki", "Admin"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr[-2000:])
        st, hdr, _ = request(d.port, path="/", timeout=60)   # index.php
        self.assertEqual((st, hdr.get("location")),
                         (301, "http://127.0.0.1:%d/index.php?title=Main_Page" % d.port))
        st, hdr, body = request(d.port, path="/index.php?title=Main_Page", timeout=60)
        self.assertEqual(st, 200, body[:500])
        self.assertTrue(hdr.get("content-type", "").startswith("text/html"), hdr)
        self.assertIn(b'<span class="mw-page-title-main">Main Page</span>', body)
        self.assertIn(b"MediaWiki has been installed", body)
        page = body
        css = re.search(rb'href="(/load\.php\?[^"]*only=styles[^"]*)"', page)
        self.assertIsNotNone(css, page[:1000])
        st, hdr, body = request(d.port, path=css.group(1).decode().replace("&amp;", "&"), timeout=60)
        self.assertEqual((st, hdr.get("content-type", "").split(";")[0]), (200, "text/css"), body[:300])
        self.assertIn(b"{", body)
        png = "/resources/assets/poweredby_mediawiki_88x31.png"
        self.assertIn(('src="%s"' % png).encode(), page)
        st, hdr, body = request(d.port, path=png)
        self.assertEqual((st, hdr.get("content-type")), (200, "image/png"))
        self.assertTrue(body.startswith(b"\x89PNG"))
        self.assertIn("max-age=3600", hdr.get("cache-control", ""))
        for path in ("/includes/WebStart.php", "/maintenance/install.php", "/vendor/autoload.php",
                     "/cache/", "/.htaccess"):
            self.assertEqual(request(d.port, path=path)[0], 404, path)


if __name__ == "__main__":
    unittest.main()
