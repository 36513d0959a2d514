#!/bin/sh
# cppcheck and clang-tidy over drover's C sources with the checked-in
# configuration (.clang-tidy, tests/cppcheck.supp, tests/clang-tidy.supp).
# Exits nonzero on any finding that is not suppressed there with a reason.
#
#   tests/static-analysis.sh [BUILDDIR]
#
# BUILDDIR gets a configured tree and compile_commands.json (made with bear)
# if it has none; default: a temporary directory removed at the end.
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
tmpdir=
if [ $# -ge 1 ]; then
	mkdir -p "$1"
	builddir=$(cd "$1" && pwd)
else
	tmpdir=$(mktemp -d /tmp/drover-sa.XXXXXX)
	builddir=$tmpdir
fi
cleanup() { [ -z "$tmpdir" ] || rm -rf "$tmpdir"; }
trap cleanup EXIT INT TERM
jobs=$(nproc 2>/dev/null || echo 2)

for tool in cppcheck clang-tidy bear python3; do
	command -v $tool >/dev/null 2>&1 || { echo "static-analysis: $tool not installed" >&2; exit 2; }
done
[ -x "$srcdir/configure" ] || (cd "$srcdir" && ./autogen.sh)
if [ ! -s "$builddir/compile_commands.json" ]; then
	(cd "$builddir" && { [ -f Makefile ] || "$srcdir/configure" >configure.log 2>&1; } &&
	    make clean >/dev/null 2>&1 || true)
	(cd "$builddir" && bear -- make -j"$jobs" >make.log 2>&1) ||
	    { tail -n 30 "$builddir/make.log" >&2; exit 2; }
fi
db="$builddir/compile_commands.json"
# The project's own C files (fuzz targets and unit suites have their own rules).
files=$(python3 - "$db" "$srcdir" <<'PY'
import json, os, sys
db, src = sys.argv[1], os.path.realpath(sys.argv[2])
seen = []
for e in json.load(open(db)):
    f = os.path.realpath(os.path.join(e.get("directory", ""), e["file"]))
    rel = os.path.relpath(f, src)
    if rel.startswith("tests/") or rel.startswith("..") or not f.endswith(".c"):
        continue
    if f not in seen:
        seen.append(f)
print("\n".join(seen))
PY
)
[ -n "$files" ] || { echo "static-analysis: no C files in $db" >&2; exit 2; }
status=0

echo "== cppcheck $(cppcheck --version | sed 's/Cppcheck //')"
# shellcheck disable=SC2086
if ! cppcheck --enable=warning,style,performance,portability --inline-suppr \
    --error-exitcode=1 --std=c11 -q -j"$jobs" \
    --suppressions-list="$srcdir/tests/cppcheck.supp" \
    -I"$builddir" -I"$srcdir" -DHAVE_CONFIG_H $files; then
	status=1
	echo "cppcheck: findings above" >&2
else
	echo "cppcheck: clean"
fi

echo "== clang-tidy $(clang-tidy --version | sed -n 's/.*LLVM version //p')"
out="$builddir/clang-tidy.out"
# shellcheck disable=SC2086
printf '%s\n' $files | xargs -P"$jobs" -n1 clang-tidy -p "$builddir" --quiet \
    --config-file="$srcdir/.clang-tidy" >"$out" 2>/dev/null || true
if ! python3 - "$out" "$srcdir" "$srcdir/tests/clang-tidy.supp" <<'PY'
import os, re, sys
out, src, supp = sys.argv[1], os.path.realpath(sys.argv[2]), sys.argv[3]
rules = []
for line in open(supp):
    if line.strip() and not line.startswith("#"):
        check, path, frag = line.rstrip("\n").split("\t", 2)
        rules.append([check, path, frag.strip(), 0])
pat = re.compile(r"^(/[^:]+):(\d+):(\d+): (warning|error): (.*) \[([^\]]+)\]$")
findings, seen = [], set()
for line in open(out, errors="replace"):
    m = pat.match(line.rstrip("\n"))
    if not m:
        continue
    path, lineno, check = m.group(1), int(m.group(2)), m.group(6)
    key = (path, lineno, check)
    if key in seen:
        continue
    seen.add(key)
    rel = os.path.relpath(os.path.realpath(path), src)
    try:
        text = open(path, errors="replace").read().splitlines()[lineno - 1]
    except (OSError, IndexError):
        text = ""
    hit = False
    for r in rules:
        if r[0] == check and r[1] == rel and r[2] in text:
            r[3] += 1
            hit = True
    if not hit:
        findings.append(line.rstrip("\n"))
for f in findings:
    print(f)
for r in rules:
    if r[3] == 0:
        print("clang-tidy.supp: stale rule (matched nothing): %s %s" % (r[0], r[1]))
print("clang-tidy: %d finding(s), %d suppressed" % (len(findings), sum(r[3] for r in rules)))
sys.exit(1 if findings else 0)
PY
then
	status=1
	echo "clang-tidy: full output in $out" >&2
fi
exit $status
