# packaging: installed man pages and the files that build the .deb and .rpm.
# Everything here ships in the dist tarball, which is what rpmbuild and
# packaging/build.sh start from.
dist_man_MANS = packaging/man/drover.8 packaging/man/droverctl.8 \
	packaging/man/drover.ini.5
EXTRA_DIST += packaging/deps.sh packaging/drover.service packaging/drover.logrotate
