"""The status page on GET / of the admin bind: one self-contained HTML page
that draws itself from /status. Checked as served (no external asset) and
rendered in a real headless browser (Debian's chromium): after it has
refreshed from /status, the DOM holds the workers, the reload and the
charts, and a screenshot of it is a real image."""
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import unittest

from harness import Drover, admin_get, request, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(args, timeout=90):
    """Runs headless chromium with a throwaway profile; returns stdout."""
    profile = tempfile.mkdtemp(prefix="drover-chromium-")
    try:
        cmd = [CHROMIUM, "--headless", "--disable-gpu", "--no-first-run",
               "--user-data-dir=" + profile, "--hide-scrollbars"]
        if os.geteuid() == 0:
            cmd.append("--no-sandbox")   # chromium refuses to run as root with it
        p = subprocess.run(cmd + args, capture_output=True, timeout=timeout)
        return p.stdout.decode(errors="replace")
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def render(args, done, tries=3):
    """chromium(args) until done(output) holds, at most tries times.

    Virtual time runs the page's timers without the test sleeping, but a
    browser starved of CPU can still hand back a page whose fetches of
    /status had not come back yet; a page that never refreshes fails every
    try."""
    out = ""
    for _ in range(tries):
        out = chromium(args)
        if done(out):
            break
    return out


def refreshed(dom, times=2):
    m = re.search(r'data-refreshes="(\d+)"', dom)
    return m is not None and int(m.group(1)) >= times


class StatusPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Drover(workers=2).wait_ready(2)
        cls.stop = threading.Event()

        def traffic():
            # Sessions: new visitors (miss) and returning ones (hit).
            cookie = None
            while not cls.stop.is_set():
                try:
                    h = {"Cookie": cookie} if cookie else {}
                    _, hdrs, _ = request(cls.d.port, path="/counter.cgi", headers=h, timeout=5)
                    if cookie is None and hdrs.get("set-cookie"):
                        cookie = hdrs["set-cookie"].split(";")[0]
                    request(cls.d.port, path="/counter.cgi", timeout=5)
                except OSError:
                    pass
                cls.stop.wait(0.05)

        cls.loader = threading.Thread(target=traffic)
        cls.loader.start()
        # One accepted reload for the page to list.
        gen = cls.d.status()["generation"]
        cls.d.signal(signal.SIGHUP)
        wait_until(lambda: cls.d.status()["generation"] == gen + 1 and
                   all(w["state"] == "ready" and w["generation"] == gen + 1
                       for w in cls.d.status()["workers"]), 20)

    @classmethod
    def tearDownClass(cls):
        cls.stop.set()
        cls.loader.join(10)
        cls.d.stop()

    def url(self):
        return "http://127.0.0.1:%d/" % self.d.admin_port

    def test_served_self_contained(self):
        status, body = admin_get(self.d.admin_port, "/")
        self.assertEqual(status, 200)
        html = body.decode()
        self.assertTrue(html.startswith("<!DOCTYPE html>"))
        # Nothing is fetched from elsewhere: no scripts, styles or images by
        # address, and the only request it makes is to /status.
        self.assertNotRegex(html, r'<(script|img|link|iframe)[^>]*\b(src|href)=')
        self.assertNotRegex(html, r'@import|url\(')
        self.assertEqual(re.findall(r'fetch\("([^"]*)"', html), ["/status"])
        for url in re.findall(r'https?://[^"\s)]+', html):
            self.assertEqual(url, "http://www.w3.org/2000/svg")   # a namespace name, not a fetch

    @unittest.skipUnless(CHROMIUM, "chromium is not installed (packaging/deps.sh installs it)")
    def test_renders_and_refreshes_in_a_browser(self):
        # Virtual time lets the page's 2 s refresh timer fire several times
        # without the test sleeping.
        dom = render(["--virtual-time-budget=9000", "--dump-dom", self.url()], refreshed)
        self.assertTrue(refreshed(dom), "the page did not refresh from /status: " + dom[:2000])
        st = self.d.status()
        body = re.search(r'<table id="workers">.*?<tbody>(.*?)</tbody>', dom, re.S).group(1)
        rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
        self.assertEqual(len(rows), len(st["workers"]), body)
        for w in st["workers"]:
            self.assertIn("<td>%d</td>" % w["pid"], body)
        self.assertIn(">ready</td>", body)
        reloads = re.search(r'<table id="reloads">.*?<tbody>(.*?)</tbody>', dom, re.S).group(1)
        self.assertIn(">accepted</td>", reloads)
        # The charts were drawn from at least two samples: a rate line and
        # stacked session bars, one segment per lookup result seen.
        rate = re.search(r'<svg id="chart-rate".*?</svg>', dom, re.S).group(0)
        self.assertIn("<polyline", rate)
        sessions = re.search(r'<svg id="chart-sessions".*?</svg>', dom, re.S).group(0)
        self.assertRegex(sessions, r'<rect [^>]*class="bar-(hit|rebuild|miss)"')
        self.assertIn("not configured", dom)          # no Redis in this test
        self.assertIn('id="pid">%d<' % st["pid"], dom)

    @unittest.skipUnless(CHROMIUM, "chromium is not installed (packaging/deps.sh installs it)")
    def test_screenshot(self):
        out = tempfile.mkdtemp(prefix="drover-shot-")
        png = os.path.join(out, "status.png")
        try:
            def drawn(_):
                return os.path.exists(png) and os.path.getsize(png) > 30000
            render(["--virtual-time-budget=9000", "--window-size=1100,860",
                    "--screenshot=" + png, self.url()], drawn)
            with open(png, "rb") as f:
                data = f.read()
            self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
            width, height = struct.unpack(">II", data[16:24])
            self.assertEqual((width, height), (1100, 860))
            # A blank page compresses to a few kB; tables, text and charts do not.
            self.assertGreater(len(data), 30000)
            if os.environ.get("DROVER_SCREENSHOT"):
                shutil.copy(png, os.environ["DROVER_SCREENSHOT"])
        finally:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
