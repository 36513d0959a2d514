#!/bin/sh
# Memcheck over drover: every unit suite, then a subset of the black-box
# tests against a drover run under valgrind (the supervisor and, since
# valgrind follows fork, every worker; CGI scripts are exec'd and left
# untraced). Fails on any memory error or definite/indirect leak.
#
#   tests/valgrind.sh BUILDDIR      (a build configured WITHOUT --enable-sanitizers)
#
# VALGRIND_TESTS overrides the integration subset (unittest ids, space separated).
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "${1:?usage: tests/valgrind.sh BUILDDIR}" && pwd)
command -v valgrind >/dev/null 2>&1 || { echo "valgrind: not installed" >&2; exit 2; }
if grep -q 'fsanitize' "$builddir/Makefile" 2>/dev/null; then
	echo "valgrind: $builddir is a sanitizer build; use a plain one" >&2
	exit 2
fi
(cd "$builddir" && make -j"$(nproc)" >/dev/null && make -j"$(nproc)" check TESTS= >/dev/null)

logs="$builddir/valgrind"
rm -rf "$logs"
mkdir -p "$logs"
vg="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --num-callers=30 --trace-children=no"
status=0
pass=0
fail=0

echo "== unit suites under memcheck"
for t in "$builddir"/tests/unit/test_*; do
	case $t in *.o|*.log|*.trs) continue ;; esac
	[ -x "$t" ] || continue
	name=$(basename "$t")
	# CK_FORK=no: the tests run in the suite's own process, which valgrind
	# checks; the timeout is scaled for valgrind's slowness.
	rc=0
	(cd "$builddir" && srcdir="$srcdir" CK_FORK=no CK_TIMEOUT_MULTIPLIER=20 $vg --log-file="$logs/unit-$name.log" "$t" \
	    >"$logs/unit-$name.out" 2>&1) || rc=$?
	if [ $rc -eq 0 ] || [ $rc -eq 77 ]; then
		pass=$((pass + 1))
		echo "ok   $name$( [ $rc -eq 77 ] && echo ' (skipped)')"
	else
		fail=$((fail + 1))
		status=1
		echo "FAIL $name (exit $rc)"
		tail -n 40 "$logs/unit-$name.log"
		tail -n 20 "$logs/unit-$name.out"
	fi
done

echo "== integration subset, drover under memcheck"
wrapper="$logs/drover-vg"
cat >"$wrapper" <<WRAP
#!/bin/sh
exec $(echo $vg) --log-file="$logs/drover.%p.log" "$builddir/drover" "\$@"
WRAP
chmod +x "$wrapper"
tests=${VALGRIND_TESTS:-"test_http.TestProtocol test_http.TestBadInput test_sessions.L1Sessions.test_count_exact_across_workers test_sessions.L1Sessions.test_survives_hup_and_sigkill_of_every_worker test_cgi.TestFailures test_lifecycle.TestShutdown.test_term_slow_request_completes test_lifecycle.TestWorkers.test_sigkill_worker_replaced"}
rc=0
(cd "$srcdir/tests/integration" &&
    DROVER_SRCDIR="$srcdir" DROVER_BUILDDIR="$builddir" DROVER_BIN="$wrapper" \
    DROVERCTL_BIN="$builddir/droverctl" python3 -m unittest -v $tests) >"$logs/integration.out" 2>&1 || rc=$?
tail -n 5 "$logs/integration.out"
if [ $rc -ne 0 ]; then
	status=1
	fail=$((fail + 1))
	grep -E '^(FAIL|ERROR):' "$logs/integration.out" || true
else
	pass=$((pass + 1))
fi
# One log per process: the supervisor and each worker. A worker SIGKILLed by
# a test leaves a log with no summary; that is expected.
bad=0
nlogs=0
for f in "$logs"/drover.*.log; do
	[ -f "$f" ] || continue
	nlogs=$((nlogs + 1))
	if grep -Eq 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|indirectly lost: [1-9]' "$f"; then
		bad=$((bad + 1))
		echo "memcheck errors in $f:"
		sed -n '/==[0-9]*== [A-Z][a-z]/,$p' "$f" | head -n 80
	fi
done
echo "memcheck: $nlogs drover process logs, $bad with errors or leaks"
if [ $bad -ne 0 ]; then
	status=1
	fail=$((fail + 1))
else
	pass=$((pass + 1))
fi
echo "valgrind: $pass passed, $fail failed"
exit $status
