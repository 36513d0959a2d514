"""A rollout whose replacements never become ready stops, and the fleet
returns to the config its untouched workers run: no gap, no half-rolled
fleet (docs/design.md §4, HUP)."""
import os
import signal
import tempfile
import threading
import unittest

from harness import CGI_DIR, Drover, log_events, request, wait_until

GOOD = """[server]
workers = 2
timeout = 3
[app]
root = %s
"""

# Passes the config checks but a worker cannot start with it: drover never
# resolves Redis host names (resolution would block the worker's loop).
BAD = GOOD + """[redis]
url = redis://redis.invalid:6379
[session]
secret_keys = k1
"""


class Rollout(unittest.TestCase):
    def test_failed_rollout_keeps_serving_and_reverts(self):
        fd, path = tempfile.mkstemp(suffix=".ini")
        os.write(fd, (GOOD % CGI_DIR).encode())
        os.close(fd)
        d = Drover(config=path, cgi=None, workers=None).wait_ready(2)
        try:
            old = d.worker_pids()
            failures, stop, count = [], threading.Event(), [0]

            def load():
                while not stop.is_set():
                    try:
                        st = request(d.port, "GET", "/hello.cgi", timeout=5)[0]
                        if st != 200:
                            failures.append(st)
                        count[0] += 1
                    except OSError as e:
                        failures.append(repr(e))

            threads = [threading.Thread(target=load) for _ in range(3)]
            for t in threads:
                t.start()
            try:
                with open(path, "w") as f:
                    f.write(BAD % CGI_DIR)
                d.signal(signal.SIGHUP)
                wait_until(lambda: "event=reload result=failed" in d.read_log(), 20)
                # Load goes on across the revert as well.
                done = count[0]
                wait_until(lambda: count[0] >= done + 10, 10)
            finally:
                stop.set()
                for t in threads:
                    t.join(10)
            self.assertEqual(failures, [])
            # No old worker was drained for a replacement that never got ready.
            self.assertFalse(log_events(d.read_log(), event="worker", state="draining"))
            self.assertEqual(d.worker_pids(), old, "the original workers keep serving")
            st = d.status()
            self.assertEqual(st["generation"], 1, "back on the previous config")
            self.assertEqual(len([w for w in st["workers"] if w["state"] in ("ready", "starting")]), 2)
            self.assertEqual(request(d.port, "GET", "/hello.cgi")[0], 200)
        finally:
            d.stop()
            os.unlink(path)


if __name__ == "__main__":
    unittest.main()
