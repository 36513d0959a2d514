#!/bin/sh
# test-install.sh: checks the packages that packaging/build.sh made, the way
# a system administrator meets them.
#
# As root (or with sudo), on a Debian system:
#   1. installs the .deb with apt-get and checks its files, conffiles,
#      account and log directory;
#   2. runs `drover -t` with the shipped configuration, no flags;
#   3. starts drover exactly as drover.service would (its ExecStartPre,
#      ExecStart, User, RuntimeDirectory and LimitNOFILE, read from the
#      installed unit), since systemd is not necessarily PID 1 here; only a
#      conf.d file moves it to free ports;
#   4. checks the placeholder page, droverctl's default socket, a reload
#      through the unit's ExecReload (and that a bad conf.d file fails it
#      with FILE:LINE), and a session;
#   5. upgrades to version N+1 (the same package, rebuilt with a higher
#      version) under load: the postinst must hand over with USR2, with no
#      failed request and the session kept;
#   6. purges the package and checks what is left.
# Without root it unpacks the .deb into a scratch directory and runs the
# unpacked drover. In both modes it compares the .rpm's file list with the
# .deb's. It stops only the processes it started, by pid.
#
# usage: packaging/test-install.sh [PKGDIR]     (default: ./dist-packages)
# environment: INSTALL_MODE=apt|extract forces how the .deb is installed.
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
pkgdir=${1:-./dist-packages}
[ -d "$pkgdir" ] || { echo "test-install.sh: no such directory: $pkgdir" >&2; exit 2; }
pkgdir=$(cd "$pkgdir" && pwd)

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
note() { echo "test-install.sh: $*"; }

deb=
for f in "$pkgdir"/drover_*.deb; do
	case "$f" in *dbgsym*) continue ;; esac
	[ -e "$f" ] && deb=$f && break
done
rpmfile=
for f in "$pkgdir"/drover-[0-9]*.rpm; do
	case "$f" in *.src.rpm|*debuginfo*|*debugsource*) continue ;; esac
	[ -e "$f" ] && rpmfile=$f && break
done
[ -n "$deb" ] || { echo "test-install.sh: no drover_*.deb in $pkgdir (run packaging/build.sh)" >&2; exit 2; }
command -v python3 >/dev/null 2>&1 || { echo "test-install.sh: python3 is needed" >&2; exit 2; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/drover-install.XXXXXX")
chmod 0755 "$scratch"
pids=              # processes this script started and must stop
installed_by_us=no
SUDO=

cleanup() {
	for p in $pids; do
		if kill -0 "$p" 2>/dev/null; then
			kill -KILL "$p" 2>/dev/null
		fi
	done
	if [ "$installed_by_us" = yes ]; then
		note "removing the drover package again"
		$SUDO rm -f /etc/drover/conf.d/zz-test-*.ini
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get purge -y drover >/dev/null 2>&1 ||
		    note "could not purge drover"
	fi
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- small HTTP helpers (python3 stdlib) ------------------------------------
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# http_get URL [COOKIEFILE]: prints the status code, then the body; 000 when
# nothing answers. With COOKIEFILE, sends the cookie it holds and stores the
# one the answer sets.
http_get() {
	python3 - "$@" <<'EOF'
import sys, urllib.request, urllib.error
url = sys.argv[1]
jar = sys.argv[2] if len(sys.argv) > 2 else None
req = urllib.request.Request(url)
if jar:
    try:
        with open(jar) as f:
            req.add_header("Cookie", f.read().strip())
    except OSError:
        pass
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        code, body, setc = r.status, r.read(), r.headers.get("Set-Cookie")
except urllib.error.HTTPError as e:
    code, body, setc = e.code, e.read(), None
except Exception:
    code, body, setc = 0, b"", None
if jar and setc:
    with open(jar, "w") as f:
        f.write(setc.split(";")[0])
print("%03d" % code)
sys.stdout.write(body.decode("utf-8", "replace"))
EOF
}

# wait_http URL: waits up to 15 s for URL to answer anything.
wait_http() {
	i=0
	while [ $i -lt 150 ]; do
		code=$(http_get "$1" 2>/dev/null | head -n 1)
		[ "$code" != 000 ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# --- install ------------------------------------------------------------------
can_apt=no
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		can_apt=yes
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO=sudo
		can_apt=yes
	fi
fi
mode=${INSTALL_MODE:-}
[ -n "$mode" ] || { [ "$can_apt" = yes ] && mode=apt || mode=extract; }

if [ "$mode" = apt ]; then
	was=$(dpkg-query -W -f='${db:Status-Status}' drover 2>/dev/null || true)
	if [ "$was" = installed ]; then
		echo "test-install.sh: drover is already installed here; refusing to replace it" >&2
		exit 2
	fi
	note "apt-get install $(basename "$deb")"
	if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y \
	    --no-install-recommends "$deb" >"$scratch/apt.log" 2>&1; then
		ok "apt-get installs the .deb"
		installed_by_us=yes
		root=
	else
		tail -n 20 "$scratch/apt.log"
		bad "apt-get install of the .deb failed"
		exit 1
	fi
else
	note "unpacking $(basename "$deb") into a scratch root"
	mkdir "$scratch/root"
	if dpkg-deb -x "$deb" "$scratch/root"; then
		ok "the .deb unpacks"
	else
		bad "dpkg-deb -x failed"
		exit 1
	fi
	root=$scratch/root
fi

drover=$root/usr/sbin/drover
droverctl=$root/usr/bin/droverctl
ini=$root/etc/drover/drover.ini
examples=$root/usr/share/drover/examples

for f in "$drover" "$droverctl" "$root/usr/share/drover/welcome.cgi"; do
	if [ -x "$f" ]; then ok "installed $f"; else bad "missing executable $f"; fi
done
for f in "$ini" "$root/etc/drover/conf.d/welcome.ini" "$examples/cgi-bin/hello.cgi" \
    "$examples/sites/php-cgi.ini" "$examples/drover.ini" "$root/etc/logrotate.d/drover" \
    "$root/usr/share/man/man8/drover.8.gz" "$root/usr/share/man/man8/droverctl.8.gz" \
    "$root/usr/share/man/man5/drover.ini.5.gz" "$root/usr/share/doc/drover/copyright"; do
	if [ -e "$f" ]; then ok "installed $f"; else bad "missing $f"; fi
done
# debhelper puts units in /lib before Debian 13 and in /usr/lib after.
unitdir=
for d in "$root/lib/systemd/system" "$root/usr/lib/systemd/system"; do
	[ -f "$d/drover.service" ] && unitdir=$d
done
if [ -n "$unitdir" ]; then
	for u in drover.service drover@.service drover.socket; do
		if [ -f "$unitdir/$u" ]; then ok "installed $u"; else bad "missing $u"; fi
	done
else
	bad "missing drover.service under lib/systemd/system"
fi
if grep -q '^[[:space:]]*su drover drover' "$root/etc/logrotate.d/drover" 2>/dev/null; then
	ok "logrotate rotates as drover"
else
	bad "logrotate rules lack 'su drover drover'"
fi
if [ "$(wc -l <"$ini")" -le 25 ]; then
	ok "the shipped drover.ini is short ($(wc -l <"$ini") lines)"
else
	bad "the shipped drover.ini has $(wc -l <"$ini") lines"
fi

# --- the .rpm holds the same files as the .deb ------------------------------
# Known differences: Debian's unit dir is /lib/systemd/system, its doc dir
# adds changelog.gz and copyright where rpm has %license (rpm on Debian
# puts docs in a versioned directory, Fedora's does not), man pages may or
# may not be compressed, Fedora adds a sysusers.d file where the .deb's
# postinst calls adduser, /var/log/drover is made by the .deb's postinst,
# and rpm adds .build-id links.
if [ -z "$rpmfile" ]; then
	note "no drover-*.rpm in $pkgdir: file list comparison skipped"
elif ! command -v rpm >/dev/null 2>&1; then
	note "rpm is not installed: file list comparison skipped"
else
	normalize() {
		sed -e 's#^/lib/systemd/system/#/usr/lib/systemd/system/#' \
		    -e 's#^/usr/share/\(doc\|licenses\)/drover-[0-9][^/]*/#/usr/share/\1/drover/#' \
		    -e 's#^\(/usr/share/\(man\|doc\)/.*\)\.\(gz\|xz\|bz2\|zst\)$#\1#' |
		grep -v -e '^/usr/lib/\.build-id' \
		    -e '^/usr/share/doc/drover/changelog' \
		    -e '^/usr/share/doc/drover/copyright$' \
		    -e '^/usr/share/licenses/drover/LICENSE$' \
		    -e '^/usr/share/lintian/overrides/drover$' \
		    -e '^/usr/lib/sysusers.d/drover.conf$' \
		    -e '^/var/log/drover$' | sort -u
	}
	dpkg-deb --fsys-tarfile "$deb" | tar -tvf - |
	    awk '$1 !~ /^d/ { p = $6; sub(/^\./, "", p); print p }' |
	    normalize >"$scratch/deb.list"
	rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpmfile" 2>/dev/null |
	    awk '$1 !~ /^d/ { print $2 }' | normalize >"$scratch/rpm.list"
	if [ ! -s "$scratch/rpm.list" ]; then
		bad "cannot list the files of $(basename "$rpmfile")"
	elif diff -u "$scratch/deb.list" "$scratch/rpm.list" >"$scratch/lists.diff"; then
		ok "the .rpm and the .deb hold the same $(wc -l <"$scratch/deb.list") files"
	else
		cat "$scratch/lists.diff"
		bad "the .rpm and the .deb file lists differ (- deb, + rpm)"
	fi
fi

# --- without root: run the unpacked drover and stop -----------------------
if [ "$mode" = extract ]; then
	port=$(free_port)
	aport=$(free_port)
	"$drover" -c "$ini" --cgi "$examples/cgi-bin" --bind "127.0.0.1:$port" \
	    --set "admin.bind=127.0.0.1:$aport" --set "admin.control_socket=$scratch/ctl.sock" \
	    --set "log.access_log=-" >"$scratch/drover.out" 2>&1 &
	pid=$!
	pids="$pids $pid"
	wait_http "http://127.0.0.1:$aport/healthz"
	if [ "$(http_get "http://127.0.0.1:$port/hello.cgi" | head -n 1)" = 200 ]; then
		ok "the unpacked drover serves the installed examples"
	else
		bad "the unpacked drover does not serve"
		sed -n '1,20p' "$scratch/drover.out"
	fi
	kill -TERM "$pid"
	wait "$pid"
	echo "test-install: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
fi

# --- as installed -----------------------------------------------------------
if dpkg-query -W -f='${Conffiles}\n' drover | grep -q ' /etc/drover/drover.ini '; then
	ok "/etc/drover/drover.ini is a conffile"
else
	bad "/etc/drover/drover.ini is not a conffile"
fi
if getent passwd drover >/dev/null && getent group drover >/dev/null; then
	ok "postinst created the drover user and group"
else
	bad "no drover user or group after install"
fi
owner=$(stat -c %U:%G /var/log/drover 2>/dev/null || true)
if [ "$owner" = drover:drover ]; then
	ok "/var/log/drover belongs to drover"
else
	bad "/var/log/drover owner is '${owner:-missing}'"
fi

# `drover -t` with no -c checks the shipped file.
if $SUDO /usr/sbin/drover -t >"$scratch/t.out" 2>&1 &&
    grep -q '/etc/drover/drover.ini' "$scratch/t.out"; then
	ok "drover -t passes with the shipped /etc/drover/drover.ini"
else
	bad "drover -t fails with the shipped configuration"
	cat "$scratch/t.out"
fi

# The unit's own settings, read from the installed file.
unit=$unitdir/drover.service
unit_value() { sed -n "s/^$1=//p" "$unit" | head -n 1; }
exec_pre=$(unit_value ExecStartPre)
exec_start=$(unit_value ExecStart)
exec_reload=$(unit_value ExecReload)
unit_user=$(unit_value User)
unit_group=$(unit_value Group)
nofile=$(unit_value LimitNOFILE)
rundir=/run/$(unit_value RuntimeDirectory)
pidfile=$(echo "$exec_start" | sed -n 's/.*server\.pidfile=\([^ ]*\).*/\1/p')
for v in exec_pre exec_start exec_reload unit_user nofile pidfile; do
	eval "[ -n \"\$$v\" ]" || bad "drover.service: cannot read $v"
done
case "$exec_start" in *admin.control_socket=/run/drover/drover.sock*) ok "the unit sets the control socket droverctl defaults to" ;;
*) bad "drover.service does not set admin.control_socket=/run/drover/drover.sock" ;; esac

# Only the ports move, through conf.d as an administrator would do it (the
# shipped 127.0.0.1:8000 and :9191 may be taken on a shared machine).
port=$(free_port)
aport=$(free_port)
printf '[server]\nbind = 127.0.0.1:%s\nworkers = 2\n[admin]\nbind = 127.0.0.1:%s\n' \
    "$port" "$aport" | $SUDO tee /etc/drover/conf.d/zz-test-ports.ini >/dev/null

# As the unit would: runtime directory, file limit, user, then the commands.
as_unit() {
	$SUDO setpriv --reuid="$unit_user" --regid="$unit_group" --init-groups -- "$@"
}
$SUDO install -d -o "$unit_user" -g "$unit_group" -m 0750 "$rundir"
ulimit -n "$nofile" 2>/dev/null || note "cannot raise the file limit to $nofile here"
# shellcheck disable=SC2086
if as_unit $exec_pre >"$scratch/pre.out" 2>&1; then
	ok "ExecStartPre ($exec_pre) passes"
else
	bad "ExecStartPre fails"
	cat "$scratch/pre.out"
fi
# shellcheck disable=SC2086
as_unit $exec_start >"$scratch/drover.out" 2>&1 &
starter=$!
pids="$pids $starter"
if wait_http "http://127.0.0.1:$aport/healthz"; then
	ok "drover started as drover.service would start it"
else
	bad "drover did not start"
	sed -n '1,30p' "$scratch/drover.out"
	exit 1
fi
i=0
while [ ! -s "$pidfile" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
old_pid=$(cat "$pidfile" 2>/dev/null || echo 0)
pids="$pids $old_pid"
if [ "$(stat -c %U "/proc/$old_pid" 2>/dev/null)" = "$unit_user" ]; then
	ok "drover runs as $unit_user (pid $old_pid)"
else
	bad "drover (pid $old_pid) does not run as $unit_user"
fi

http_get "http://127.0.0.1:$port/" >"$scratch/welcome"
if [ "$(head -n 1 "$scratch/welcome")" = 200 ] &&
    grep -q 'drover is running' "$scratch/welcome" &&
    grep -q '/etc/drover/conf.d/' "$scratch/welcome"; then
	ok "GET / answers the placeholder page"
else
	bad "GET / did not answer the placeholder page"
	head -n 5 "$scratch/welcome"
fi
if /usr/bin/droverctl status >"$scratch/status" 2>&1; then
	ok "droverctl status works with its default socket"
else
	bad "droverctl status exited $?"
	cat "$scratch/status"
fi

# A reload through the unit's ExecReload: an app from the examples.
printf '[app]\nscript =\nroot = %s\n' /usr/share/drover/examples/cgi-bin |
    $SUDO tee /etc/drover/conf.d/zz-test-app.ini >/dev/null
# shellcheck disable=SC2086
if as_unit $exec_reload >"$scratch/reload.out" 2>&1; then
	ok "ExecReload ($exec_reload) applies conf.d"
else
	bad "ExecReload failed"
	cat "$scratch/reload.out"
fi
i=0
while [ "$(http_get "http://127.0.0.1:$port/hello.cgi" 2>/dev/null | head -n 1)" != 200 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ $i -lt 100 ]; then ok "the reloaded app serves /hello.cgi"; else bad "no /hello.cgi after the reload"; fi

printf '[server]\n\nworkers = many\n' | $SUDO tee /etc/drover/conf.d/zz-test-bad.ini >/dev/null
# shellcheck disable=SC2086
if as_unit $exec_reload >"$scratch/bad.out" 2>&1; then
	bad "ExecReload succeeded with a bad conf.d file"
elif grep -q '/etc/drover/conf.d/zz-test-bad.ini:3:' "$scratch/bad.out"; then
	ok "a bad conf.d file fails the reload with its FILE:LINE"
else
	bad "the failed reload does not name FILE:LINE"
	cat "$scratch/bad.out"
fi
$SUDO rm -f /etc/drover/conf.d/zz-test-bad.ini

jar=$scratch/cookie
for n in 1 2 3; do
	http_get "http://127.0.0.1:$port/counter.cgi" "$jar" >"$scratch/counter"
done
if grep -q 'count=3' "$scratch/counter"; then
	ok "a session counts to 3"
else
	bad "the session counter does not count"
	cat "$scratch/counter"
fi

# --- upgrade to N+1 under load ---------------------------------------------
version=$(dpkg-deb -f "$deb" Version)
next=$version+1
mkdir "$scratch/next"
dpkg-deb -R "$deb" "$scratch/next/tree"
sed -i "s/^Version: .*/Version: $next/" "$scratch/next/tree/DEBIAN/control"
dpkg-deb -b "$scratch/next/tree" "$scratch/next/drover_${next}.deb" >/dev/null
chmod -R a+rX "$scratch/next"

python3 - "$port" "$scratch/stop-load" "$scratch/load.result" <<'EOF' &
import http.client, os, sys, threading, time
port, stop, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ok, fails, lock = [0], [], threading.Lock()
def run():
    while not os.path.exists(stop):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/hello.cgi", headers={"Connection": "close"})
            r = c.getresponse()
            r.read()
            c.close()
            with lock:
                if r.status == 200:
                    ok[0] += 1
                else:
                    fails.append(r.status)
        except Exception as e:
            with lock:
                fails.append(repr(e))
threads = [threading.Thread(target=run) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(out, "w") as f:
    f.write("%d %d %s\n" % (ok[0], len(fails), fails[:5]))
EOF
loader=$!
pids="$pids $loader"
sleep 1
note "apt-get install drover $next under load"
if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
    "$scratch/next/drover_${next}.deb" >"$scratch/apt-next.log" 2>&1; then
	ok "apt-get upgrades to $next"
else
	bad "apt-get install of $next failed"
	tail -n 20 "$scratch/apt-next.log"
fi
if grep -q "handed over to the new binary" "$scratch/apt-next.log"; then
	ok "postinst handed over with USR2"
else
	bad "postinst did not hand over"
	tail -n 20 "$scratch/apt-next.log"
fi
new_pid=$(cat "$pidfile" 2>/dev/null || echo 0)
pids="$pids $new_pid"
# The old supervisor drains and exits; it is our child (through setpriv's exec).
i=0
while kill -0 "$old_pid" 2>/dev/null && [ $i -lt 400 ]; do sleep 0.1; i=$((i + 1)); done
wait "$starter" 2>/dev/null
if [ "$new_pid" != "$old_pid" ] && kill -0 "$new_pid" 2>/dev/null && ! kill -0 "$old_pid" 2>/dev/null; then
	ok "pid $old_pid handed over to pid $new_pid and exited"
else
	bad "after the upgrade: old pid $old_pid, new pid $new_pid"
fi
sleep 1
touch "$scratch/stop-load"
wait "$loader"
read -r served failures rest <"$scratch/load.result"
if [ "$failures" -eq 0 ] && [ "$served" -gt 20 ]; then
	ok "upgrade under load: $served requests, 0 failed"
else
	bad "upgrade under load: $served served, $failures failed: $rest"
fi
http_get "http://127.0.0.1:$port/counter.cgi" "$jar" >"$scratch/counter"
if grep -q 'count=4' "$scratch/counter"; then
	ok "the session survived the upgrade"
else
	bad "the session was lost in the upgrade"
	cat "$scratch/counter"
fi
if [ "$(dpkg-query -W -f='${Version}' drover)" = "$next" ]; then
	ok "drover $next is installed"
else
	bad "dpkg does not show drover $next"
fi

# --- stop, purge, and what is left -------------------------------------------
kill -TERM "$new_pid" 2>/dev/null
i=0
while kill -0 "$new_pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$new_pid" 2>/dev/null; then
	bad "drover still runs 15 s after SIGTERM"
else
	ok "drover stops on SIGTERM"
fi
if [ ! -e "$pidfile" ] && [ ! -e "$rundir/drover.sock" ]; then
	ok "the pidfile and control socket are removed at exit"
else
	bad "left in $rundir after exit: $(ls "$rundir")"
fi
$SUDO rm -f /etc/drover/conf.d/zz-test-*.ini
$SUDO rmdir "$rundir" 2>/dev/null    # systemd removes RuntimeDirectory at stop
if DEBIAN_FRONTEND=noninteractive $SUDO apt-get purge -y drover >"$scratch/purge.log" 2>&1; then
	ok "apt-get purge drover"
	installed_by_us=no
else
	bad "apt-get purge failed"
	tail -n 20 "$scratch/purge.log"
fi
left=
for f in /usr/sbin/drover /usr/bin/droverctl /etc/drover /var/log/drover /usr/share/drover \
    /usr/share/doc/drover /etc/logrotate.d/drover "$unitdir/drover.service"; do
	[ -e "$f" ] && left="$left $f"
done
if [ -z "$left" ]; then
	ok "purge leaves no file behind (the drover account stays, by design)"
else
	bad "left after purge:$left"
fi

echo "test-install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
