# packaging: installed man pages and the files that build the .deb and .rpm.
# Everything here ships in the dist tarball, which is what rpmbuild and
# packaging/build.sh start from.
dist_man_MANS = packaging/man/drover.8 packaging/man/droverctl.8 \
	packaging/man/drover.ini.5
EXTRA_DIST += packaging/deps.sh packaging/drover.service packaging/drover.logrotate \
	packaging/drover.ini packaging/conf.d/welcome.ini packaging/welcome.cgi \
	packaging/drover@.service packaging/drover.socket packaging/drover.sysusers \
	packaging/rpm/rpmlint.toml packaging/debian/drover.lintian-overrides \
	packaging/debian/changelog packaging/debian/clean packaging/debian/control \
	packaging/debian/copyright packaging/debian/drover.docs \
	packaging/debian/drover.install \
	packaging/debian/postinst packaging/debian/postrm packaging/debian/rules \
	packaging/debian/source/format packaging/rpm/drover.spec \
	packaging/build.sh packaging/test-install.sh
