libdrover_a_SOURCES += supervisor/shm.c supervisor/shm.h
sbin_PROGRAMS += drover
drover_SOURCES = supervisor/main.c
drover_LDADD = $(DROVER_LIBS)
