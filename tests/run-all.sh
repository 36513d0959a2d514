#!/bin/sh
# drover's whole test suite: build, unit suites (Check), black-box
# integration tests against a private redis-server.
#
#   tests/run-all.sh                 build in build/, run everything
#   tests/run-all.sh --sanitizers    the same under AddressSanitizer + UBSan, in build-asan/
#
# Needs the packages of packaging/deps.sh. Starts redis-server on a free
# loopback port and stops it by pid on exit.
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir="$srcdir/build"
confargs="--enable-werror"
if [ "${1:-}" = "--sanitizers" ]; then
	builddir="$srcdir/build-asan"
	confargs="--enable-werror --enable-sanitizers"
	export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
fi

[ -x "$srcdir/configure" ] || (cd "$srcdir" && ./autogen.sh)
mkdir -p "$builddir"
cd "$builddir"
[ -f Makefile ] || "$srcdir/configure" $confargs
make -j"$(nproc)"

redis_pid=
cleanup() {
	if [ -n "$redis_pid" ]; then
		kill "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT INT TERM
if command -v redis-server >/dev/null 2>&1; then
	REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize no --loglevel warning >"$builddir/redis.log" 2>&1 &
	redis_pid=$!
	export REDIS_PORT
	i=0
	until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$REDIS_PORT),1)" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 50 ] || { echo "redis-server did not start" >&2; exit 1; }
		sleep 0.1
	done
fi

status=0
make -j"$(nproc)" check || { status=1; cat tests/unit/*.log 2>/dev/null | tail -n 100; }
"$srcdir/tests/integration/run.sh" "$builddir" || status=1
exit $status
