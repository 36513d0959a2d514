libdrover_a_SOURCES += cache/lru.c cache/lru.h cache/envelope.c cache/envelope.h \
	cache/sid.c cache/sid.h
libdrover_a_SOURCES += cache/l2.c cache/l2.h
