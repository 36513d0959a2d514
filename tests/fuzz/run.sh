#!/bin/sh
# drover's fuzz targets: build and run them outside the automake build.
#
#   tests/fuzz/run.sh [SECONDS]     build every target with libFuzzer + ASan +
#                                   UBSan and run each for SECONDS (default 60)
#   tests/fuzz/run.sh --replay      build plain replay binaries (ASan + UBSan)
#                                   and run every seed of tests/fuzz/corpus/
#
# Environment:
#   FUZZ_WORK   where libraries, binaries and grown corpora go
#               (default /tmp/drover-fuzz-$USER)
#   TARGETS     which targets (default: all of them)
#   CC          replay compiler (default clang, else gcc); fuzzing needs clang
#   JOBS        fuzzers run side by side (default: number of CPUs)
#
# How it links: each mode configures a private out-of-tree build of drover
# whose CFLAGS carry the sanitizers (and, for fuzzing, coverage with
# -fsanitize=fuzzer-no-link), builds only libdrover.a there, and links each
# target against it. The targets thus see exactly the objects the daemon is
# made of, compiled with the flags fuzzing needs, and config.h comes from
# that configure run. Nothing is added to Makefile.am.
#
# A crash, leak or sanitizer report makes the script exit non-zero; the
# input that caused it is left in $FUZZ_WORK/crashes/<target>/.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir="$srcdir/tests/fuzz"
work=${FUZZ_WORK:-/tmp/drover-fuzz-${USER:-$(id -u)}}
all_targets="http apphdr fcgi cookie envelope ini"
targets=${TARGETS:-$all_targets}
libs="-lev -lhttp_parser -lhiredis -linih -llz4 -lcrypto"
jobs=${JOBS:-$(nproc 2>/dev/null || echo 1)}

mode=fuzz
seconds=60
case "${1:-}" in
--replay) mode=replay ;;
"") ;;
*[!0-9]*) echo "usage: $0 [SECONDS | --replay]" >&2; exit 2 ;;
*) seconds=$1 ;;
esac

# configure_lib DIR CC CFLAGS LDFLAGS: an out-of-tree libdrover.a.
configure_lib() {
	dir=$1
	mkdir -p "$dir"
	# The source tree is part of the stamp: a work directory left by
	# another checkout holds objects of other sources, which make would
	# take as up to date and link with this checkout's harness.
	stamp="$srcdir $2 $3 $4"
	if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.fuzz-flags" 2>/dev/null)" != "$stamp" ]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		(cd "$dir" && CC="$2" CFLAGS="$3" LDFLAGS="$4" \
		    "$srcdir/configure" --without-systemd >configure.log 2>&1) || {
			echo "configure failed: see $dir/configure.log" >&2
			exit 1
		}
		echo "$stamp" >"$dir/.fuzz-flags"
	fi
	make -C "$dir" -j"$jobs" libdrover.a >"$dir/make.log" 2>&1 || {
		tail -n 40 "$dir/make.log" >&2
		echo "building libdrover.a failed: see $dir/make.log" >&2
		exit 1
	}
}

# build CC CFLAGS LIBDIR OUT TARGET [EXTRA SOURCES...]
build() {
	cc=$1 cflags=$2 libdir=$3 out=$4 t=$5
	shift 5
	# The targets that drive a whole connection share the fake worker.
	case $t in
	http|apphdr) set -- "$@" "$fuzzdir/harness.c" ;;
	esac
	# shellcheck disable=SC2086
	$cc $cflags -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -I"$srcdir" -I"$libdir" -I"$fuzzdir" \
	    -o "$out" "$fuzzdir/fuzz_$t.c" "$@" "$libdir/libdrover.a" $libs
}

[ -x "$srcdir/configure" ] || (cd "$srcdir" && ./autogen.sh)
mkdir -p "$work/bin"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

if [ "$mode" = replay ]; then
	if [ -z "${CC:-}" ]; then
		if command -v clang >/dev/null 2>&1; then CC=clang; else CC=gcc; fi
	fi
	san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
	configure_lib "$work/lib-replay" "$CC" "-g -O1 $san" "$san"
	status=0
	for t in $targets; do
		bin="$work/bin/replay_$t"
		build "$CC" "-g -O1 $san" "$work/lib-replay" "$bin" "$t" "$fuzzdir/replay.c"
		if "$bin" "$fuzzdir/corpus/$t"; then
			echo "replay $t: ok"
		else
			echo "replay $t: FAILED" >&2
			status=1
		fi
	done
	exit $status
fi

command -v clang >/dev/null 2>&1 || { echo "fuzzing needs clang" >&2; exit 1; }
cov="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
configure_lib "$work/lib-fuzz" clang "-g -O1 $cov" "-fsanitize=address,undefined"
for t in $targets; do
	build clang "-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	    "$work/lib-fuzz" "$work/bin/fuzz_$t" "$t"
done

# run_one TARGET: grows a private corpus seeded from the checked-in one.
run_one() {
	t=$1
	mkdir -p "$work/corpus/$t" "$work/crashes/$t"
	log="$work/fuzz_$t.log"
	dict=
	[ -f "$fuzzdir/$t.dict" ] && dict="-dict=$fuzzdir/$t.dict"
	# shellcheck disable=SC2086
	if "$work/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$work/crashes/$t/" $dict \
	    "$work/corpus/$t" "$fuzzdir/corpus/$t" >"$log" 2>&1; then
		printf 'fuzz %-8s ok   execs=%s exec/s=%s cov=%s ft=%s corpus=%s\n' "$t" \
		    "$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")" \
		    "$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")" \
		    "$(sed -n 's/.*DONE *cov: \([0-9]*\).*/\1/p' "$log")" \
		    "$(sed -n 's/.*DONE .* ft: \([0-9]*\).*/\1/p' "$log")" \
		    "$(sed -n 's/.*DONE .* corp: \([^ ]*\).*/\1/p' "$log")"
	else
		printf 'fuzz %-8s FAILED (log %s)\n' "$t" "$log" >&2
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" >&2 || tail -n 30 "$log" >&2
		return 1
	fi
}

status=0
pids=
running=0
for t in $targets; do
	run_one "$t" &
	pids="$pids $!"
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		for p in $pids; do wait "$p" || status=1; done
		pids= running=0
	fi
done
for p in $pids; do wait "$p" || status=1; done
exit $status
