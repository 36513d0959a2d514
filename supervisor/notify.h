/*
 * notify: drover's side of the systemd service protocol: sd_notify state
 * messages (READY, RELOADING, STOPPING, STATUS, MAINPID) and socket
 * activation (LISTEN_FDS).
 *
 * Owns what is announced and when, derived from the arbiter's state in its
 * tick, so no other module has to remember to notify. Built on libsystemd
 * when configure found it (HAVE_SYSTEMD); without it every call is a no-op
 * and socket activation is never used. It must not change the arbiter.
 */
#ifndef DROVER_NOTIFY_H
#define DROVER_NOTIFY_H

#include <stdbool.h>
#include <sys/types.h>

struct arbiter;

/* upgraded: this process took over from an older supervisor, which already
 * told the service manager it was ready; only later changes are announced. */
void notify_init(bool upgraded);
/* Called from the arbiter's tick: READY once the first full set of workers
 * is ready, RELOADING / READY around a rollout, STOPPING, STATUS changes. */
void notify_tick(struct arbiter *a);
/* Hands the service over to another supervisor (binary upgrade) and stays
 * silent afterwards, so this process's drain is not taken for a stop. */
void notify_handover(pid_t new_main);

/*
 * Socket activation: the listening sockets passed by the service manager,
 * or none. Fills fds (at most max) and returns how many, 0 when the process
 * was not socket-activated, -1 when a passed fd is not a listening stream
 * socket (err says which).
 */
int notify_listen_fds(int *fds, int max, char *err, size_t errlen);

#endif
