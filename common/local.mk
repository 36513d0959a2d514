libdrover_a_SOURCES += common/log.c common/log.h common/util.c common/util.h \
	common/cidr.c common/cidr.h common/ratelog.c common/ratelog.h \
	common/privs.c common/privs.h
