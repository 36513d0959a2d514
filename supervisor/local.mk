libdrover_a_SOURCES += supervisor/shm.c supervisor/shm.h supervisor/listeners.c \
	supervisor/listeners.h supervisor/arbiter.c supervisor/arbiter.h \
	supervisor/admin.c supervisor/admin.h supervisor/metrics.c
sbin_PROGRAMS += drover
drover_SOURCES = supervisor/main.c
drover_LDADD = $(DROVER_LIBS)
