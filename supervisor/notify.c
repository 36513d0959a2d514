/*
 * notify: see notify.h. Every message goes through send_state(), the one
 * place that depends on libsystemd.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "common/log.h"
#include "supervisor/arbiter.h"
#include "supervisor/notify.h"

static struct {
	bool ready_sent;      /* READY=1 announced (or inherited) */
	bool reloading;       /* RELOADING=1 announced, READY=1 pending */
	bool stopping;
	bool silent;          /* handed over to a new supervisor */
	pid_t old_main;       /* new side of an upgrade: the supervisor that is
	                       * still MAINPID while it is our parent */
	uint32_t generation;
	int last_ready, last_target;
} ns;

/*
 * With NotifyAccess=main systemd drops (and warns about) messages from any
 * pid but MAINPID. After a binary upgrade the old supervisor names us
 * MAINPID once we are ready, then drains and exits; until it has exited (we
 * are its child until then) we say nothing, so every message of ours comes
 * after the MAINPID= that makes it acceptable.
 */
static bool
may_speak(void)
{
	if (ns.silent)
		return false;
	if (ns.old_main != 0) {
		if (getppid() == ns.old_main)
			return false;
		ns.old_main = 0;
	}
	return true;
}

static void
send_state(const char *msg)
{
	if (!may_speak())
		return;
#ifdef HAVE_SYSTEMD
	int r = sd_notify(0, msg);
	if (r < 0)
		log_warn("notify", "error=\"sd_notify: %s\"", strerror(-r));
	else if (r > 0)
		log_debug("notify", "sent=\"%.*s\"", (int)strcspn(msg, "\n"), msg);
#else
	(void)msg;
#endif
}

void
notify_init(bool upgraded)
{
	memset(&ns, 0, sizeof ns);
	ns.ready_sent = upgraded;
	ns.old_main = upgraded ? getppid() : 0;
	ns.last_ready = ns.last_target = -1;
}

void
notify_tick(struct arbiter *a)
{
	char msg[256];
	int ready = arbiter_count(a, WS_READY);
	/* Nothing is noted while we may not speak, so the first tick that may
	 * tells the current state. */
	if (!may_speak())
		return;
	if (a->stopping) {
		if (!ns.stopping) {
			ns.stopping = true;
			send_state("STOPPING=1\nSTATUS=draining workers");
		}
		return;
	}
	if (!ns.ready_sent) {
		ns.generation = a->generation;
		if (ready < a->target)
			return;
		ns.ready_sent = true;
		ns.last_ready = ready;
		ns.last_target = a->target;
		snprintf(msg, sizeof msg, "READY=1\nSTATUS=%d workers ready", ready);
		send_state(msg);
		return;
	}
	/* prev_cfg is held exactly while a rollout is under way; a reload seen
	 * only through the generation finished (or failed) within one tick. */
	bool rolling = a->prev_cfg != NULL || a->generation != ns.generation;
	ns.generation = a->generation;
	if (rolling && !ns.reloading) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading: generation %u",
		    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000,
		    a->generation);
		send_state(msg);
		ns.reloading = true;
	}
	if (ns.reloading && a->prev_cfg == NULL) {
		ns.reloading = false;
		snprintf(msg, sizeof msg, "READY=1\nSTATUS=%d workers ready, generation %u", ready,
		    a->generation);
		send_state(msg);
		ns.last_ready = ready;
		ns.last_target = a->target;
		return;
	}
	if (ready != ns.last_ready || a->target != ns.last_target) {
		ns.last_ready = ready;
		ns.last_target = a->target;
		snprintf(msg, sizeof msg, "STATUS=%d workers ready (of %d)", ready, a->target);
		send_state(msg);
	}
}

void
notify_handover(pid_t new_main)
{
	char msg[64];
	snprintf(msg, sizeof msg, "MAINPID=%d\nSTATUS=handed over to pid %d", (int)new_main,
	    (int)new_main);
	send_state(msg);
	ns.silent = true;
}

int
notify_listen_fds(int *fds, int max, char *err, size_t errlen)
{
#ifdef HAVE_SYSTEMD
	/* unset_environment: the variables describe this process only, and
	 * must not reach a binary-upgrade child or an app. */
	int n = sd_listen_fds(1);
	if (n < 0) {
		snprintf(err, errlen, "socket activation: %s", strerror(-n));
		return -1;
	}
	if (n > max) {
		snprintf(err, errlen, "socket activation: %d sockets passed, at most %d supported", n, max);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			snprintf(err, errlen, "socket activation: fd %d is not a listening stream socket", fd);
			return -1;
		}
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			snprintf(err, errlen, "socket activation: fd %d: %s", fd, strerror(errno));
			return -1;
		}
		fds[i] = fd;
	}
	return n;
#else
	(void)fds;
	(void)max;
	(void)err;
	(void)errlen;
	return 0;
#endif
}
