# packaging: installed man pages and the files that build the .deb and .rpm.
# Everything here ships in the dist tarball, which is what rpmbuild and
# packaging/build.sh start from.
EXTRA_DIST += packaging/deps.sh
