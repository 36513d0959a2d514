#!/bin/sh
# Runs every black-box test against a built drover.
#   tests/integration/run.sh BUILDDIR [PATTERN]
# BUILDDIR holds the drover binary; PATTERN narrows the test files (test_*.py).
set -eu
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
builddir=$(cd "${1:-.}" && pwd)
pattern=${2:-test_*.py}
export DROVER_SRCDIR="$srcdir" DROVER_BUILDDIR="$builddir" DROVER_BIN="$builddir/drover"
export DROVERCTL_BIN="$builddir/droverctl"
cd "$srcdir/tests/integration"
exec python3 -m unittest discover -v -s . -p "$pattern"
