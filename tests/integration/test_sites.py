"""Black-box tests of whole sites (issue 11): which files run as scripts
under a FastCGI root, deny prefixes and dot-files, and paths that try to
leave the root. php-cgi runs the PHP; the tests skip without it.

Run: tests/integration/run.sh BUILDDIR test_sites.py
"""
import os
import shutil
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
        for path in ("/up/x.png", "/up/notes.txt", "/up/x.PHP"):
            st, _, body = self.get(path)
            self.assertNotIn(RAN, body, path)
            self.assertIn(st, (200, 404), path)
            if st == 200:
                self.assertEqual(body, PHP_CODE, path)

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


if __name__ == "__main__":
    unittest.main()
