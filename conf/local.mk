libdrover_a_SOURCES += conf/config.c conf/config.h conf/cli.c conf/secrets.c conf/secrets.h \
	conf/apps.c conf/apps.h
EXTRA_DIST += conf/drover.ini
