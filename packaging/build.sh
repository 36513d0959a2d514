#!/bin/sh
# build.sh: builds drover's release tarball, .rpm and .deb in one go.
#
# All the work happens in a scratch directory: the source tree is copied,
# configured and `make dist`ed there; the .rpm is built from that tarball
# with rpmbuild, and the .deb from the unpacked tarball with
# packaging/debian copied in as debian/. The checkout itself is never
# written to (in particular no debian/ appears in it). lintian errors on the
# .deb fail the build.
#
# usage: packaging/build.sh [OUTDIR]     (default: ./dist-packages)
# environment: DROVER_PACKAGES="deb rpm" selects what to build;
#              KEEP_SCRATCH=1 keeps the scratch directory for inspection.
set -eu

say() { echo "build.sh: $(date -u +%T) $*"; }
die() { echo "build.sh: error: $*" >&2; exit 1; }

srcdir=$(cd "$(dirname "$0")/.." && pwd)
outdir=${1:-./dist-packages}
mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)
packages=${DROVER_PACKAGES:-deb rpm}

want() { case " $packages " in *" $1 "*) return 0 ;; esac; return 1; }

need=
for t in autoreconf make tar gzip; do
	command -v "$t" >/dev/null 2>&1 || need="$need $t"
done
if want rpm; then
	command -v rpmbuild >/dev/null 2>&1 || need="$need rpmbuild"
fi
if want deb; then
	for t in dpkg-buildpackage dh lintian fakeroot; do
		command -v "$t" >/dev/null 2>&1 || need="$need $t"
	done
fi
[ -z "$need" ] ||
    die "missing tools:$need (run packaging/deps.sh --packaging)"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/drover-pkg.XXXXXX")
cleanup() {
	if [ "${KEEP_SCRATCH:-0}" = 1 ]; then
		say "scratch kept in $scratch"
	else
		rm -rf "$scratch"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. A clean copy of the sources: tracked files plus new ones not ignored,
# so work in progress is packaged but build directories are not.
say "copying sources from $srcdir"
mkdir "$scratch/src"
if command -v git >/dev/null 2>&1 && git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$srcdir" && git ls-files -z --cached --others --exclude-standard |
	    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	    tar --null -T - -cf -) | tar -xf - -C "$scratch/src" ||
	    die "copying the sources failed"
else
	(cd "$srcdir" && tar --exclude=./.git --exclude='./dist-packages' -cf - .) |
	    tar -xf - -C "$scratch/src" || die "copying the sources failed"
fi
[ ! -e "$scratch/src/debian" ] || die "the source tree has a debian/ directory; packaging/debian is the only one"

# 2. The release tarball.
say "make dist"
(
	cd "$scratch/src"
	autoreconf -fi >"$scratch/autoreconf.log" 2>&1 ||
	    { cat "$scratch/autoreconf.log" >&2; exit 1; }
	mkdir build && cd build
	../configure >"$scratch/configure.log" 2>&1 ||
	    { tail -n 30 "$scratch/configure.log" >&2; exit 1; }
	make dist >"$scratch/dist.log" 2>&1 ||
	    { tail -n 30 "$scratch/dist.log" >&2; exit 1; }
) || die "make dist failed"
tarball=$(ls "$scratch"/src/build/drover-*.tar.gz 2>/dev/null | head -n 1)
[ -n "$tarball" ] || die "make dist made no drover-*.tar.gz"
version=$(basename "$tarball" .tar.gz)
version=${version#drover-}
cp "$tarball" "$outdir/" || die "cannot copy the tarball to $outdir"
say "tarball: $outdir/drover-$version.tar.gz"

status=0

# 3. The RPM, from the tarball. --nodeps: on a Debian host the build
# dependencies are Debian packages, which rpm does not know about.
if want rpm; then
	say "rpmbuild -ba"
	top="$scratch/rpm"
	mkdir -p "$top/SOURCES" "$top/SPECS" "$top/BUILD" "$top/RPMS" "$top/SRPMS"
	cp "$tarball" "$scratch/src/packaging/drover.sysusers" "$top/SOURCES/"
	cp "$scratch/src/packaging/rpm/drover.spec" "$top/SPECS/"
	# --nocheck: the .deb build below runs the same unit suites.
	if rpmbuild -ba --nocheck --nodeps --define "_topdir $top" \
	    "$top/SPECS/drover.spec" >"$scratch/rpmbuild.log" 2>&1; then
		find "$top/RPMS" "$top/SRPMS" -name 'drover-*.rpm' -exec cp {} "$outdir/" \;
		say "rpm: $(cd "$outdir" && ls drover-*.rpm | tr '\n' ' ')"
		if command -v rpmlint >/dev/null 2>&1; then
			if rpmlint -c "$scratch/src/packaging/rpm/rpmlint.toml" \
			    "$outdir"/drover-*.rpm; then
				say "rpmlint: clean"
			else
				say "rpmlint reported problems"
				status=1
			fi
		fi
	else
		tail -n 40 "$scratch/rpmbuild.log" >&2
		say "rpmbuild failed (full log: $scratch/rpmbuild.log)"
		KEEP_SCRATCH=1
		status=1
	fi
fi

# 4. The .deb, from the unpacked tarball with debian/ added.
if want deb; then
	say "dpkg-buildpackage -us -uc -b"
	mkdir "$scratch/deb"
	tar -xzf "$tarball" -C "$scratch/deb"
	tree="$scratch/deb/drover-$version"
	cp -r "$scratch/src/packaging/debian" "$tree/debian"
	if (cd "$tree" && dpkg-buildpackage -us -uc -b -jauto) \
	    >"$scratch/dpkg-buildpackage.log" 2>&1; then
		for f in "$scratch"/deb/*.deb "$scratch"/deb/*.buildinfo "$scratch"/deb/*.changes; do
			[ -e "$f" ] && cp "$f" "$outdir/"
		done
		deb=$(ls "$outdir"/drover_"$version"*.deb | head -n 1)
		say "deb: $deb"
		say "lintian $(basename "$deb")"
		if lintian --fail-on error,warning --display-info "$deb"; then
			say "lintian: no errors"
		else
			say "lintian reported errors"
			status=1
		fi
	else
		tail -n 40 "$scratch/dpkg-buildpackage.log" >&2
		say "dpkg-buildpackage failed (full log: $scratch/dpkg-buildpackage.log)"
		KEEP_SCRATCH=1
		status=1
	fi
fi

[ "$status" -eq 0 ] || die "some packages failed to build"
say "done: packages in $outdir"
