#!/usr/bin/env python3
"""bench/uploads.py: the memory a drover worker needs for request bodies.

Starts drover (by pid, on free 127.0.0.1 ports, from a temporary directory)
with a CGI that counts its stdin, then:
  1. N concurrent uploads of SIZE each (default 100 x 10 MB) with a
     Content-Length, so they stream to their CGI; and the same count of
     chunked uploads, which drover spools to temp_dir first;
  2. one upload of BIG (default 1 GB) to the same CGI.
While each runs, every worker's VmRSS is sampled from /proc/PID/status every
20 ms; the table gives the peak of their sum, each worker's VmHWM (its peak
over its whole life) and what each upload got back. It prints a markdown
section; bench/run puts it in bench/results.md.

Usage: bench/uploads.py --drover BIN [--workers N] [--uploads N]
       [--size MB] [--big MB]
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

MB = 1 << 20
SINK = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
printf 'length=%s got=' "${CONTENT_LENGTH-unset}"
wc -c | tr -d ' '
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Drover:
    def __init__(self, binary, workers, tmp):
        self.port, self.admin = free_port(), free_port()
        # Workers started as root run as nobody: they must reach both directories.
        os.chmod(tmp, 0o755)
        cgi = os.path.join(tmp, "cgi")
        os.mkdir(cgi, 0o755)
        with open(os.path.join(cgi, "sink.cgi"), "w") as f:
            f.write(SINK)
        os.chmod(os.path.join(cgi, "sink.cgi"), 0o755)
        spool = os.path.join(tmp, "spool")
        os.mkdir(spool)
        os.chmod(spool, 0o1777)
        self.log = open(os.path.join(tmp, "drover.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "--cgi", cgi, "--workers", str(workers),
             "--bind", "127.0.0.1:%d" % self.port,
             "--set", "admin.bind=127.0.0.1:%d" % self.admin,
             "--set", "server.max_body_bytes=4G", "--set", "server.body_timeout=900",
             "--set", "app.request_timeout=900", "--set", "server.temp_dir=" + spool,
             "--set", "log.access_log=off"],
            stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + 15
        while time.monotonic() < end:
            try:
                if len(self.workers()) == workers:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        with open(self.log.name, errors="replace") as f:
            raise SystemExit("drover did not start:\n" + f.read()[-2000:])

    def workers(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/status" % self.admin, timeout=5) as r:
            st = json.load(r)
        return [w["pid"] for w in st["workers"] if w["state"] == "ready"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def upload(port, total, chunked, block):
    """Sends total bytes as one POST; returns the sink's answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=900)
    try:
        head = "POST /sink.cgi HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n"
        head += "Transfer-Encoding: chunked\r\n" if chunked else "Content-Length: %d\r\n" % total
        s.sendall(head.encode() + b"\r\n")
        left = total
        while left > 0:
            n = min(left, len(block))
            if chunked:
                s.sendall(b"%x\r\n" % n + block[:n] + b"\r\n")
            else:
                s.sendall(block[:n])
            left -= n
        if chunked:
            s.sendall(b"0\r\n\r\n")
        r = http.client.HTTPResponse(s)
        r.begin()
        return " ".join(r.read().decode(errors="replace").split())
    finally:
        s.close()


def measure(d, pids, jobs):
    """Runs jobs (callables) on threads while sampling the workers' VmRSS."""
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], sum(kib(p, "VmRSS") for p in pids))
            done.wait(0.02)

    results = [None] * len(jobs)

    def run(i):
        try:
            results[i] = jobs[i]()
        except Exception as e:
            results[i] = "error: %s" % e

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    done.set()
    sampler.join()
    return peak[0], secs, results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--drover", required=True)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--uploads", type=int, default=100)
    ap.add_argument("--size", type=int, default=10, help="MB per concurrent upload")
    ap.add_argument("--big", type=int, default=1024, help="MB of the single upload")
    a = ap.parse_args()
    block = bytes(range(256)) * 4096          # 1 MiB
    tmp = tempfile.mkdtemp(prefix="drover-uploads-")
    d = Drover(a.drover, a.workers, tmp)
    rows = []
    try:
        pids = d.workers()
        base = sum(kib(p, "VmRSS") for p in pids)
        size = a.size * MB
        for label, chunked in (("Content-Length (streamed)", False), ("chunked (spooled)", True)):
            jobs = [lambda c=chunked: upload(d.port, size, c, block) for _ in range(a.uploads)]
            peak, secs, res = measure(d, pids, jobs)
            ok = sum(1 for r in res if r == "length=%d got=%d" % (size, size))
            rows.append((label, "%d x %d MB" % (a.uploads, a.size), base, peak,
                         [kib(p, "VmHWM") for p in pids], "%d of %d" % (ok, a.uploads),
                         a.uploads * size / MB / secs))
        big = a.big * MB
        peak, secs, res = measure(d, pids, [lambda: upload(d.port, big, False, block)])
        ok = "1 of 1" if res[0] == "length=%d got=%d" % (big, big) else "0 of 1 (%s)" % res[0]
        rows.append(("Content-Length (streamed)", "1 x %d MB" % a.big, base, peak,
                     [kib(p, "VmHWM") for p in pids], ok, big / MB / secs))
        if d.workers() != pids:
            print("note: the workers changed during the run", file=sys.stderr)
        left = os.listdir(os.path.join(tmp, "spool"))
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("### Request bodies: worker memory during uploads (bench/uploads.py)")
    print()
    print("drover with %d workers, a /bin/sh CGI counting its stdin (`wc -c`), default "
          "`body_buffer_bytes` (64K). Sum of the workers' VmRSS sampled every 20 ms; "
          "VmHWM is each worker's peak over its whole life (cumulative down the table). "
          "Files left in temp_dir after the run: %d." % (a.workers, len(left)))
    print()
    print("| body | uploads | workers' VmRSS before (sum) | peak of the sum during | "
          "each worker's VmHWM after | answered intact | MB/s |")
    print("|---|---|---|---|---|---|---|")
    for label, what, base, peak, hwm, ok, rate in rows:
        print("| %s | %s | %.1f MB | %.1f MB | %s | %s | %.0f |" % (
            label, what, base / 1024, peak / 1024,
            ", ".join("%.1f MB" % (h / 1024) for h in hwm), ok, rate))


if __name__ == "__main__":
    main()
