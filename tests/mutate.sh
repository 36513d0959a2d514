#!/bin/sh
# Breaks drover on purpose, one line at a time, and reports whether the
# tests notice. Run on demand (it takes a while), not in CI.
#
#   tests/mutate.sh [-k] [--quick] [NAME...]
#
# Each file tests/mutations/NAME holds one break:
#   file:      the source file to change
#   breaks:    what the change breaks
#   find:      a line (or part of one) that must occur exactly once
#   replace:   what it becomes
#   caught-by: the test expected to notice
#   unit:      the unit suites that cover the file (for --quick)
#   tests:     the integration files to run after `make check`
# Without NAMEs every mutation runs. The tracked files of this checkout (as
# they are now, uncommitted changes included) are copied to a scratch
# directory that is built once and then rebuilt per mutation: the checkout
# itself is never changed.
#
# Per mutation: "caught" (make check or a named integration file failed),
# "NOT CAUGHT" (everything passed), "does not apply" (the line is gone or
# not unique: the code moved on and the mutation needs a new line) or "does
# not build". The unmutated tree must pass the same tests first.
# --quick runs each mutation's unit suites instead of the whole `make check`.
# -k keeps the scratch directory. Exit status: 0 all applied breaks caught,
# 1 some break was NOT CAUGHT, 2 the unmutated tree fails or cannot build.
# Honours REDIS_PORT for the integration files, like tests/run-all.sh.
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
mutdir=$srcdir/tests/mutations
keep=no
quick=no
while [ $# -gt 0 ]; do
	case $1 in
	-k) keep=yes; shift ;;
	--quick) quick=yes; shift ;;
	-h|--help) sed -n '2,30p' "$0"; exit 0 ;;
	--) shift; break ;;
	-*) echo "mutate.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $# -gt 0 ]; then
	names=$*
else
	names=$(cd "$mutdir" && ls)
fi
for n in $names; do
	[ -f "$mutdir/$n" ] || { echo "mutate.sh: no mutation $n in tests/mutations" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/drover-mutate.XXXXXX") || exit 2
cleanup() {
	if [ "$keep" = yes ]; then
		echo "scratch tree kept in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM
mkdir -p "$work/src" "$work/logs"
tree=$work/src
build=$tree/build

field() {   # field NAME MUTATION: the value after "NAME: " (first such line)
	sed -n "s/^$1: //p" "$mutdir/$2" | head -n 1
}

# Replaces the mutation's find text by its replace text in the scratch
# tree; 0 when done, 1 when the text does not occur exactly once.
apply() {
	MUT_FILE=$tree/$(field file "$1") MUT_FIND=$(field find "$1") \
	MUT_REPLACE=$(field replace "$1") python3 -c '
import os, sys
path, find, repl = os.environ["MUT_FILE"], os.environ["MUT_FIND"], os.environ["MUT_REPLACE"]
try:
    text = open(path).read()
except OSError:
    sys.exit(1)
if not find or text.count(find) != 1:
    sys.exit(1)
open(path, "w").write(text.replace(find, repl))
'
}

# Runs the suites for mutation $1 (or the baseline, with "" and the union of
# all integration files in $2); 0 when everything passed.
run_suites() {
	log=$work/logs/${1:-baseline}.log
	if [ "$quick" = yes ]; then
		units=""
		for u in $(if [ -n "$1" ]; then field unit "$1"; else
		    for n in $names; do field unit "$n"; done; fi | tr ' ' '\n' | sort -u); do
			units="$units tests/unit/$u"
		done
		if [ -n "$units" ]; then
			(cd "$build" && make -j2 check TESTS="$units") >>"$log" 2>&1 || return 1
		fi
	else
		(cd "$build" && make -j2 check) >>"$log" 2>&1 || return 1
	fi
	for t in $2; do
		echo "== $t" >>"$log"
		timeout 1200 "$tree/tests/integration/run.sh" "$build" "$t" >>"$log" 2>&1 || return 1
	done
	return 0
}

echo "copying the tracked files of $srcdir to $tree"
(cd "$srcdir" && git ls-files -z | tar --null -T - --ignore-failed-read -cf -) | tar -C "$tree" -xf - ||
    exit 2
echo "building the unmutated tree"
if ! (cd "$tree" && ./autogen.sh && mkdir -p build && cd build && ../configure --enable-werror &&
    make -j2) >"$work/logs/build.log" 2>&1; then
	echo "the unmutated tree does not build: see $work/logs/build.log"
	keep=yes
	exit 2
fi
all_tests=$(for n in $names; do field tests "$n"; done | tr ' ' '\n' | sort -u | tr '\n' ' ')
echo "running the unmutated tree's suites ($([ "$quick" = yes ] && echo "unit suites named" || echo "make check"); $all_tests)"
if ! run_suites "" "$all_tests"; then
	echo "the unmutated tree fails its tests: see $work/logs/baseline.log"
	keep=yes
	exit 2
fi

caught=0 missed=0 skipped=0
report=$work/report
: >"$report"
for n in $names; do
	file=$(field file "$n")
	cp -p "$tree/$file" "$work/pristine"
	if ! apply "$n"; then
		result="does not apply"
		skipped=$((skipped + 1))
	elif ! (cd "$build" && make -j2) >"$work/logs/$n.log" 2>&1; then
		result="does not build"
		skipped=$((skipped + 1))
	elif run_suites "$n" "$(field tests "$n")"; then
		result="NOT CAUGHT"
		missed=$((missed + 1))
	else
		result="caught"
		caught=$((caught + 1))
	fi
	# A fresh mtime, so the next build recompiles the restored file.
	cp "$work/pristine" "$tree/$file"
	touch "$tree/$file"
	line=$(printf '%-15s %-32s %s' "$result" "$n" "$(field breaks "$n")")
	echo "$line"
	echo "$line" >>"$report"
	if [ "$result" = "NOT CAUGHT" ]; then
		echo "                expected to be caught by: $(field caught-by "$n")"
		keep=yes
	fi
done
echo
echo "$caught caught, $missed NOT CAUGHT, $skipped did not apply or build"
[ "$missed" -eq 0 ] || exit 1
exit 0
