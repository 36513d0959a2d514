#!/bin/sh
# drover's fault-injection suite (tests/chaos): workers SIGKILLed under load
# and inside the L1 lock, Redis killed and slow, slowloris crowds, clients
# that never read, apps that flood or hang, fd exhaustion, 10 000 idle
# connections. Loopback only; every process is stopped by pid.
#
#   tests/chaos/run.sh BUILDDIR [PATTERN]
#
# CHAOS_SECONDS (default 30) bounds each timed run; the whole suite takes
# about 3 + 4 * CHAOS_SECONDS / 30 minutes at most.
set -eu
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
builddir=$(cd "${1:?usage: tests/chaos/run.sh BUILDDIR [PATTERN]}" && pwd)
pattern=${2:-test_*.py}
export DROVER_SRCDIR="$srcdir" DROVER_BUILDDIR="$builddir" DROVER_BIN="$builddir/drover"
export DROVERCTL_BIN="$builddir/droverctl"
export CHAOS_SECONDS="${CHAOS_SECONDS:-30}"
export PYTHONPATH="$srcdir/tests/integration${PYTHONPATH:+:$PYTHONPATH}"
cd "$srcdir/tests/chaos"
exec python3 -m unittest discover -v -s . -p "$pattern"
