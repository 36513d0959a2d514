libdrover_a_SOURCES += supervisor/shm.c supervisor/shm.h supervisor/listeners.c \
	supervisor/listeners.h supervisor/arbiter.c supervisor/arbiter.h \
	supervisor/admin.c supervisor/admin.h supervisor/oneshot.c supervisor/oneshot.h supervisor/metrics.c \
	supervisor/control.c supervisor/control.h supervisor/notify.c supervisor/notify.h \
	supervisor/upgrade.c supervisor/upgrade.h supervisor/version.c supervisor/version.h \
	supervisor/procstats.c supervisor/procstats.h
sbin_PROGRAMS += drover
drover_SOURCES = supervisor/main.c
drover_LDADD = $(DROVER_LIBS)
bin_PROGRAMS += droverctl
droverctl_SOURCES = supervisor/droverctl.c common/util.c
droverctl_LDADD =

# The status page is kept as plain HTML and turned into a C string here, so
# it can be read and edited as what it is.
nodist_libdrover_a_SOURCES = supervisor/status_html.c
libdrover_a_SOURCES += supervisor/status_page.h
EXTRA_DIST += supervisor/status.html
CLEANFILES += supervisor/status_html.c
supervisor/status_html.c: $(srcdir)/supervisor/status.html
	$(MKDIR_P) supervisor
	{ echo '/* Generated from supervisor/status.html: edit that file. */'; \
	  echo '#include "supervisor/status_page.h"'; \
	  echo 'const char status_html[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' \
	    $(srcdir)/supervisor/status.html; \
	  echo ';'; } >$@.tmp && mv $@.tmp $@
