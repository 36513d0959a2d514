#!/bin/sh
# test-install.sh: checks the packages that packaging/build.sh made.
#
# Installs the .deb (apt-get when root, else unpacked into a scratch root),
# runs the installed drover with the installed drover.ini and example CGI
# scripts on a free 127.0.0.1 port, fetches /hello.cgi and /healthz, asks
# droverctl for status, compares the .rpm's file list with the .deb's, and
# checks that the man pages document every key of conf/drover.ini. It stops
# only the drover it started, by pid, and removes the package again if it
# installed it.
#
# usage: packaging/test-install.sh [PKGDIR]     (default: ./dist-packages)
# environment: INSTALL_MODE=apt|extract forces how the .deb is installed;
#              KEEP_INSTALLED=1 leaves an apt-installed package in place.
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
drover_pid=
installed_by_us=no

cleanup() {
	if [ -n "$drover_pid" ] && kill -0 "$drover_pid" 2>/dev/null; then
		kill -KILL "$drover_pid" 2>/dev/null
		wait "$drover_pid" 2>/dev/null
	fi
	if [ "$installed_by_us" = yes ] && [ "${KEEP_INSTALLED:-0}" != 1 ]; then
		note "removing the drover package again"
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get purge -y drover >/dev/null 2>&1 ||
		    note "could not purge drover"
	fi
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- install --------------------------------------------------------------
SUDO=
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

root=
if [ "$mode" = apt ]; then
	was_installed=$(dpkg-query -W -f='${db:Status-Status}' drover 2>/dev/null || true)
	note "apt-get install $(basename "$deb")"
	# apt-get wants a path with a slash to take a local file.
	if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y \
	    --no-install-recommends "$deb" >"$scratch/apt.log" 2>&1; then
		ok "apt-get installs the .deb"
		[ "$was_installed" = installed ] || installed_by_us=yes
		root=
	else
		tail -n 20 "$scratch/apt.log"
		bad "apt-get install of the .deb failed"
		mode=extract
	fi
fi
if [ "$mode" = extract ]; then
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
cgidir=$root/usr/share/doc/drover/examples/cgi-bin

for f in "$drover" "$droverctl"; do
	if [ -x "$f" ]; then ok "installed $f"; else bad "missing executable $f"; fi
done
for f in "$ini" "$cgidir/hello.cgi" "$cgidir/env.cgi" \
    "$root/etc/logrotate.d/drover" \
    "$root/usr/share/man/man8/drover.8.gz" "$root/usr/share/man/man8/droverctl.8.gz" \
    "$root/usr/share/man/man5/drover.ini.5.gz"; do
	if [ -e "$f" ]; then ok "installed $f"; else bad "missing $f"; fi
done
# debhelper puts units in /lib before Debian 13 and in /usr/lib after.
if [ -f "$root/lib/systemd/system/drover.service" ] ||
    [ -f "$root/usr/lib/systemd/system/drover.service" ]; then
	ok "installed the drover.service unit"
else
	bad "missing drover.service under lib/systemd/system"
fi

if [ "$mode" = apt ]; then
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
fi

# --- man pages document every key of conf/drover.ini ----------------------
keysrc=$srcdir/conf/drover.ini
[ -f "$keysrc" ] || keysrc=$ini
man5=$root/usr/share/man/man5/drover.ini.5.gz
if [ -f "$keysrc" ] && [ -f "$man5" ]; then
	gzip -dc "$man5" >"$scratch/drover.ini.5"
	# Keys, set or commented out (";workers = 2"), with their section.
	awk '
		/^\[[a-z]+\]/ { s = substr($0, 2, index($0, "]") - 2); next }
		/^[;#]?[a-z_]+[ \t]*=/ {
			k = $0; sub(/^[;#]/, "", k); sub(/[ \t]*=.*/, "", k)
			if (s != "") print s, k
		}' "$keysrc" | sort -u >"$scratch/keys"
	missing=
	n=0
	while read -r section key; do
		n=$((n + 1))
		# Each key is documented under its section's .SH heading.
		if ! awk -v s="$section" -v k="$key" '
			/^\.SH / { in_s = ($0 == ".SH \"[" s "]\"") }
			in_s && index($0, ".BR " k " ") == 1 { found = 1 }
			END { exit !found }' "$scratch/drover.ini.5"; then
			missing="$missing $section.$key"
		fi
	done <"$scratch/keys"
	if [ "$n" -eq 0 ]; then
		bad "found no keys in $keysrc"
	elif [ -z "$missing" ]; then
		ok "drover.ini(5) documents all $n keys of $(basename "$keysrc")"
	else
		bad "drover.ini(5) does not document:$missing"
	fi
else
	bad "cannot check man page keys (no $keysrc or $man5)"
fi

# --- the .rpm holds the same files as the .deb ----------------------------
# Known differences: Debian's unit dir is /lib/systemd/system, its doc dir
# adds changelog.gz and copyright, man pages may or may not be compressed,
# /var/log/drover is made by the .deb's postinst, and rpm adds .build-id
# links.
if [ -z "$rpmfile" ]; then
	note "no drover-*.rpm in $pkgdir: file list comparison skipped"
elif ! command -v rpm >/dev/null 2>&1; then
	note "rpm is not installed: file list comparison skipped"
else
	normalize() {
		sed -e 's#^/lib/systemd/system/#/usr/lib/systemd/system/#' \
		    -e 's#^\(/usr/share/\(man\|doc\)/.*\)\.\(gz\|xz\|bz2\|zst\)$#\1#' |
		grep -v -e '^/usr/lib/\.build-id' \
		    -e '^/usr/share/doc/drover/changelog' \
		    -e '^/usr/share/doc/drover/copyright$' \
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

# --- run the installed drover ---------------------------------------------
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# GET URL: prints the status code, then the body; 000 when nothing answers.
http_get() {
	python3 - "$1" <<'EOF'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
except Exception:
    code, body = 0, b""
print("%03d" % code)
sys.stdout.write(body.decode("utf-8", "replace"))
EOF
}

if [ -x "$drover" ] && [ -f "$ini" ]; then
	port=$(free_port)
	admin_port=$(free_port)
	sock=$scratch/ctl.sock
	note "starting $drover on 127.0.0.1:$port (admin $admin_port)"
	"$drover" -c "$ini" --cgi "$cgidir" --bind "127.0.0.1:$port" \
	    --set "admin.bind=127.0.0.1:$admin_port" \
	    --set "admin.control_socket=$sock" \
	    --set "log.error_log=$scratch/error.log" \
	    --set "log.access_log=$scratch/access.log" \
	    >"$scratch/drover.out" 2>&1 &
	drover_pid=$!

	code=000
	i=0
	while [ $i -lt 50 ]; do
		kill -0 "$drover_pid" 2>/dev/null || break
		http_get "http://127.0.0.1:$port/hello.cgi" >"$scratch/hello" 2>/dev/null
		code=$(head -n 1 "$scratch/hello")
		[ "$code" = 000 ] || break
		sleep 0.2
		i=$((i + 1))
	done
	if [ "$code" = 200 ] && [ -n "$(tail -n +2 "$scratch/hello")" ]; then
		ok "GET /hello.cgi answers 200 from the installed examples"
	else
		bad "GET /hello.cgi answered $code"
		sed -n '1,20p' "$scratch/drover.out" "$scratch/error.log" 2>/dev/null
	fi

	code=$(http_get "http://127.0.0.1:$admin_port/healthz" 2>/dev/null | head -n 1)
	if [ "$code" = 200 ]; then
		ok "GET /healthz answers 200"
	else
		bad "GET /healthz answered $code"
	fi

	if [ -x "$droverctl" ]; then
		if "$droverctl" -s "$sock" status >"$scratch/status" 2>&1; then
			ok "droverctl status exits 0"
		else
			rc=$?
			bad "droverctl status exited $rc"
			sed -n '1,10p' "$scratch/status"
		fi
	fi

	if kill -0 "$drover_pid" 2>/dev/null; then
		kill -TERM "$drover_pid"
		i=0
		while kill -0 "$drover_pid" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if kill -0 "$drover_pid" 2>/dev/null; then
			bad "drover still running 10 s after SIGTERM"
		else
			wait "$drover_pid"
			rc=$?
			if [ "$rc" -eq 0 ]; then
				ok "drover exits 0 on SIGTERM"
			else
				bad "drover exited $rc on SIGTERM"
			fi
			drover_pid=
		fi
	else
		wait "$drover_pid"
		bad "drover exited early with status $?"
		sed -n '1,20p' "$scratch/drover.out"
		drover_pid=
	fi
fi

echo "test-install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
