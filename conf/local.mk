libdrover_a_SOURCES += conf/config.c conf/config.h conf/cli.c
EXTRA_DIST += conf/drover.ini
