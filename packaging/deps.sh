#!/bin/sh
# deps.sh: installs what drover needs to build and run its test suites.
#
# Idempotent: on Debian/Ubuntu the package index is refreshed only when a
# package is actually missing, so a second run on a ready machine touches
# nothing. With --packaging it also installs the tools that build and check
# the .deb and .rpm (packaging/build.sh). It must not change anything but the
# system's package set.
#
# usage: packaging/deps.sh [--packaging] [--dry-run]
set -eu

packaging=no
dry_run=no
for arg in "$@"; do
	case "$arg" in
	--packaging) packaging=yes ;;
	--dry-run) dry_run=yes ;;
	-h|--help)
		echo "usage: $0 [--packaging] [--dry-run]"
		exit 0 ;;
	*)
		echo "deps.sh: unknown argument: $arg" >&2
		echo "usage: $0 [--packaging] [--dry-run]" >&2
		exit 2 ;;
	esac
done

say() { echo "deps.sh: $*"; }
die() { echo "deps.sh: error: $*" >&2; exit 1; }

# Root runs package managers directly; anyone else goes through sudo.
# Checked only when something must be installed, so a ready machine needs
# neither.
SUDO=
no_root=no
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		no_root=yes
	fi
fi

run() {
	say "+ $*"
	[ "$dry_run" = yes ] && return 0
	[ "$no_root" = no ] ||
	    die "not root and sudo is not installed: run this as root"
	"$@"
}

deb_installed() {
	st=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)
	[ "$st" = installed ]
}

deb_install() {
	base="build-essential autoconf automake libtool pkg-config libev-dev
	    libhiredis-dev libinih-dev liblz4-dev check libhttp-parser-dev
	    libssl-dev libsystemd-dev libfcgi-dev redis-server php-cgi python3
	    clang valgrind cppcheck clang-tidy bear util-linux media-types chromium
	    libcrypt-dev git cgit dokuwiki mediawiki php-sqlite3 adminer"
	# Fuzzing runtime: wanted, not required (absent from some releases).
	optional="libclang-rt-14-dev"
	tools="debhelper devscripts lintian dpkg-dev rpm rpmlint fakeroot man-db
	    groff-base"
	want=$base
	[ "$packaging" = yes ] && want="$want $tools"

	missing=
	for p in $want; do
		deb_installed "$p" || missing="$missing $p"
	done
	# An optional package the current index does not know is not worth an
	# index refresh on every run; a fresh machine refreshes anyway.
	for p in $optional; do
		deb_installed "$p" && continue
		if [ -n "$missing" ] || apt-cache show "$p" >/dev/null 2>&1; then
			missing="$missing $p"
		else
			say "optional package $p is not available here; skipping (fuzzing only)"
		fi
	done
	if [ -z "$missing" ]; then
		say "all packages already installed"
		return 0
	fi
	say "missing:$missing"

	export DEBIAN_FRONTEND=noninteractive
	run $SUDO apt-get update || die "apt-get update failed"

	# Drop optional packages the archive does not carry rather than failing.
	install=
	for p in $missing; do
		case " $optional " in
		*" $p "*)
			if apt-cache show "$p" >/dev/null 2>&1; then
				install="$install $p"
			else
				say "optional package $p is not available here; skipping (fuzzing only)"
			fi ;;
		*) install="$install $p" ;;
		esac
	done
	[ -n "$install" ] || return 0
	# shellcheck disable=SC2086
	run $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y \
	    --no-install-recommends $install ||
	    die "apt-get install failed for:$install"
}

rpm_install() {
	pm=$1
	base="gcc make autoconf automake libtool pkgconf-pkg-config libev-devel
	    hiredis-devel inih-devel lz4-devel check-devel http-parser-devel
	    openssl-devel systemd-devel fcgi-devel redis php-cli python3 clang valgrind cppcheck clang-tools-extra bear util-linux"
	optional="compiler-rt"
	tools="rpm-build rpmlint systemd-rpm-macros man-db groff-base"
	want=$base
	[ "$packaging" = yes ] && want="$want $tools"

	missing=
	for p in $want $optional; do
		rpm -q "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	if [ -z "$missing" ]; then
		say "all packages already installed"
		return 0
	fi
	say "missing:$missing"
	required=
	for p in $missing; do
		case " $optional " in
		*" $p "*) ;;
		*) required="$required $p" ;;
		esac
	done
	if [ -n "$required" ]; then
		# shellcheck disable=SC2086
		run $SUDO "$pm" install -y $required ||
		    die "$pm install failed for:$required"
	fi
	for p in $optional; do
		case " $missing " in
		*" $p "*)
			run $SUDO "$pm" install -y "$p" ||
			    say "optional package $p could not be installed; skipping (fuzzing only)" ;;
		esac
	done
}

if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
	deb_install
elif command -v dnf >/dev/null 2>&1; then
	rpm_install dnf
elif command -v yum >/dev/null 2>&1; then
	rpm_install yum
else
	die "no supported package manager (apt-get, dnf or yum) found; install the packages listed in packaging/deps.sh by hand"
fi
say "done"
