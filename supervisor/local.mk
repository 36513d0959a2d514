libdrover_a_SOURCES += supervisor/shm.c supervisor/shm.h supervisor/listeners.c \
	supervisor/listeners.h supervisor/arbiter.c supervisor/arbiter.h \
	supervisor/admin.c supervisor/admin.h supervisor/oneshot.c supervisor/oneshot.h supervisor/metrics.c \
	supervisor/control.c supervisor/control.h supervisor/notify.c supervisor/notify.h \
	supervisor/upgrade.c supervisor/upgrade.h supervisor/version.c supervisor/version.h
sbin_PROGRAMS += drover
drover_SOURCES = supervisor/main.c
drover_LDADD = $(DROVER_LIBS)
bin_PROGRAMS += droverctl
droverctl_SOURCES = supervisor/droverctl.c
droverctl_LDADD =
