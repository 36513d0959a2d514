"""Workers killed under load (DESIGN.md §9 "worker SIGKILLed": only its
in-flight requests fail; replaced; sessions intact) and a worker killed
while it holds the L1 session cache lock (§7: must not wedge the others)."""
import mmap
import os
import random
import signal
import struct
import threading
import time
import unittest

from chaos_lib import CHAOS_SECONDS, Client, harness, request


class WorkerKills(unittest.TestCase):
    workers = 4
    clients = 8

    def setUp(self):
        self.d = harness.Drover(workers=self.workers).wait_ready(self.workers)

    def tearDown(self):
        self.d.stop()

    def test_random_sigkill_under_load(self):
        d = self.d
        clients = [Client(d.port) for _ in range(self.clients)]
        for c in clients:
            self.assertEqual(c.hit(), 1)
        stop = threading.Event()
        latencies = []

        def load(c):
            while not stop.is_set():
                t0 = time.monotonic()
                c.hit()
                latencies.append(time.monotonic() - t0)

        threads = [threading.Thread(target=load, args=(c,), daemon=True) for c in clients]
        for t in threads:
            t.start()
        kills = []             # (time of kill, seconds until replaced)
        rng = random.Random(7)
        end = time.monotonic() + CHAOS_SECONDS
        while time.monotonic() < end:
            time.sleep(rng.uniform(0.3, 1.2))
            before = d.worker_pids()
            if not before:
                continue
            victim = rng.choice(before)
            t_kill = time.monotonic()
            os.kill(victim, signal.SIGKILL)

            def replaced():
                now = d.worker_pids()
                return victim not in now and len(now) >= self.workers

            harness.wait_until(replaced, 10, step=0.01)
            kills.append((t_kill, time.monotonic() - t_kill))
        stop.set()
        for t in threads:
            t.join(30)
        ok = sum(c.ok for c in clients)
        failed = sum(c.failed for c in clients)
        worst = max(k[1] for k in kills)
        print("\n  %d kills in %.0fs; %d requests ok, %d failed; replacement max %.3fs mean %.3fs; "
              "p99 latency %.3fs" % (len(kills), CHAOS_SECONDS, ok, failed, worst,
                                     sum(k[1] for k in kills) / len(kills),
                                     sorted(latencies)[int(0.99 * (len(latencies) - 1))]))
        self.assertGreater(len(kills), 0)
        self.assertLess(worst, 1.0, "a killed worker took more than 1 s to be replaced")
        # Only requests in flight on a killed worker may fail: at most one
        # per client per kill, and each failure follows a kill closely.
        self.assertLessEqual(failed, len(kills) * self.clients)
        kill_times = [k[0] for k in kills]
        for c in clients:
            for t, what in c.errors:
                self.assertTrue(any(k - 0.05 <= t <= k + 1.0 for k in kill_times) or
                                any(k <= t + c.timeout for k in kill_times if k >= t),
                                "a request failed away from any kill: %s" % what)
        # Zero lost sessions: the next count is one more than the stored one,
        # which counts every success and possibly a failed request that stored.
        for c in clients:
            successes = c.ok
            final = c.hit()
            self.assertIsNotNone(final, c.errors[-1:] if c.errors else "")
            stored = final - 1
            self.assertGreaterEqual(stored, successes, "a session lost acknowledged writes")
            self.assertLessEqual(stored, successes + c.failed)
        m = d.metrics()
        self.assertGreaterEqual(m['drover_worker_restarts_total{reason="crash"}'], len(kills))


LRU_MAGIC = 0x64726f766c727531      # cache/lru.c: the L1 header's first field
LRU_MUTEX_OFFSET = 72                 # offsetof(struct lru, mtx) on x86_64/aarch64 glibc
FUTEX_TID_MASK = 0x3fffffff


def l1_lock_word(supervisor_pid):
    """A read-only view of the L1 cache mutex's futex word, found in the
    supervisor's shared region (memfd "drover-shm") by the header magic.
    Returns a function giving the owner's tid (0: free), or None when the
    region cannot be found (then the test falls back to blind kills)."""
    fd_dir = "/proc/%d/fd" % supervisor_pid
    for name in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, name))
        except OSError:
            continue
        if not target.startswith("/memfd:drover-shm"):
            continue
        fd = os.open(os.path.join(fd_dir, name), os.O_RDONLY | os.O_CLOEXEC)
        try:
            mm = mmap.mmap(fd, os.fstat(fd).st_size, mmap.MAP_SHARED, mmap.PROT_READ)
        finally:
            os.close(fd)
        magic = struct.pack("<Q", LRU_MAGIC)
        off = mm.find(magic)
        while off >= 0 and off % 64:
            off = mm.find(magic, off + 1)
        if off < 0:
            mm.close()
            return None
        word = off + LRU_MUTEX_OFFSET
        return lambda: struct.unpack_from("<I", mm, word)[0] & FUTEX_TID_MASK
    return None


class LockHolderKilled(unittest.TestCase):
    """SIGSTOP workers at random moments of heavy session traffic; when one
    is stopped inside the L1 code, SIGKILL it. Repeat until drover reports a
    lock recovery, or give up and still require that nothing wedged."""
    workers = 3

    def setUp(self):
        self.d = harness.Drover(workers=self.workers).wait_ready(self.workers)

    def tearDown(self):
        self.d.stop()

    def test_kill_while_holding_l1_lock(self):
        d = self.d
        owner = l1_lock_word(d.pid)
        clients = [Client(d.port, timeout=5) for _ in range(6)]
        for c in clients:
            c.hit()
        stop = threading.Event()
        worst = [0.0]

        def load(c):
            while not stop.is_set():
                t0 = time.monotonic()
                # A large snapshot keeps the lock held for longer per store.
                c.hit("/counter.cgi?pad=8000")
                worst[0] = max(worst[0], time.monotonic() - t0)

        threads = [threading.Thread(target=load, args=(c,), daemon=True) for c in clients]
        for t in threads:
            t.start()
        rng = random.Random(11)
        end = time.monotonic() + max(10.0, CHAOS_SECONDS)
        kills = 0
        recovered = 0.0
        while time.monotonic() < end and recovered == 0:
            pids = set(d.worker_pids())
            victim = None
            # Niced workers get preempted more often, sometimes inside the
            # lock, which widens the window this loop aims at.
            for pid in pids:
                try:
                    os.setpriority(os.PRIO_PROCESS, pid, 19)
                except OSError:
                    pass
            if owner is not None:
                # Spin on the futex word and kill the owner the moment it is
                # a worker. The signal may land just after the unlock (the
                # lock is held for microseconds): then it is one more plain
                # worker kill, and the loop tries again.
                spin_end = time.monotonic() + 0.5
                while victim is None and time.monotonic() < spin_end:
                    for _ in range(20000):
                        tid = owner()
                        if tid and tid in pids:
                            victim = tid
                            break
            else:
                victim = rng.choice(sorted(pids)) if pids else None
                if victim is not None:
                    os.kill(victim, signal.SIGSTOP)
                    time.sleep(rng.uniform(0, 0.01))
            if victim is not None:
                try:
                    os.kill(victim, signal.SIGKILL)
                    kills += 1
                except ProcessLookupError:
                    pass
                harness.wait_until(lambda: victim not in d.worker_pids() and
                                   len(d.worker_pids()) >= self.workers, 10)
            recovered = d.metrics()["drover_session_cache_lock_recoveries_total"]
        stop.set()
        for t in threads:
            t.join(15)
        print("\n  %s; %d kills, lock recoveries %d, slowest request %.3fs"
              % ("owner watched through the shared region" if owner else "blind SIGSTOP/SIGKILL",
                 kills, recovered, worst[0]))
        # Never wedged: every client still completes requests promptly, and
        # each kept its count (the rebuild after a recovery keeps entries).
        lost = 0
        for c in clients:
            successes, failures = c.ok, c.failed
            t0 = time.monotonic()
            final = c.hit()
            self.assertIsNotNone(final, "service wedged after a worker died in the L1 code")
            self.assertLess(time.monotonic() - t0, 2.0)
            if not successes <= final - 1 <= successes + failures:
                lost += 1
        self.assertEqual(lost, 0, "sessions lost acknowledged writes across the lock recovery")
        self.assertLess(worst[0], 6.0)
        if recovered == 0:
            self.skipTest("no kill landed while the lock was held (%d kills); the service "
                          "never wedged" % kills)
        self.assertGreaterEqual(recovered, 1)


if __name__ == "__main__":
    unittest.main()
