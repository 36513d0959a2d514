/*
 * upgrade: the USR2 binary upgrade, both sides of it.
 *
 * Old side: on USR2 a forked child execs the binary at the path this
 * supervisor was started from (so a package upgrade that replaced the file
 * runs the new one), with the same argv and an environment variable naming
 * the descriptors it inherits:
 *
 *   DROVER_UPGRADE_FDS="listeners=3,4;unlink=4;shm=5;admin=6;control=7;ready=8"
 *
 * (unlink: listeners whose unix socket file the holder removes at its final
 * exit; admin and control are absent when not configured.) New side: adopt
 * those, start workers, and once a full set is ready write one byte on the
 * ready pipe and write the pidfile. The old side then hands the service
 * over (MAINPID for systemd), closes its admin and control sockets and
 * drains its workers without removing socket files or the pidfile. If the
 * child exits, closes the pipe or misses [server] timeout first, the old
 * side stops it and keeps serving. The new process is a child of the old
 * one until the old one exits; its workers' parent-death signal concerns
 * the new supervisor only.
 *
 * The shared region is one memfd laid out [scoreboard | L1 cache]. The new
 * supervisor maps the inherited memfd and uses its cache part unchanged, so
 * every L1 entry and lock survives; but it gets a fresh scoreboard of its
 * own (anonymous shared memory), because the old supervisor's workers keep
 * writing theirs while they drain. The host id and session secret are
 * copied over (they never change, so the memfd's scoreboard part holds them
 * after any number of upgrades); the counters start from zero, which
 * Prometheus reads as a counter reset, as after a restart. The memfd
 * handed on by a later upgrade is the same one, so the layout holds across
 * any number of upgrades.
 *
 * Listeners are adopted as passed: a changed [server] bind takes effect at
 * a restart, not an upgrade.
 */
#ifndef DROVER_UPGRADE_H
#define DROVER_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "supervisor/listeners.h"
#include "supervisor/shm.h"

struct arbiter;

/* Remembers the binary and argv for a later upgrade, and reads
 * DROVER_UPGRADE_FDS if this process is the new side of one. */
int upgrade_init(char **argv, char *err, size_t errlen);
/* True in a supervisor started by an upgrade. */
bool upgrade_inherited(void);
/* An inherited socket by name ("admin", "control"), or -1; each is taken once. */
int upgrade_take_fd(const char *name);
/* The ready pipe of the new side, which workers must close; -1 if none. */
int upgrade_ready_fd(void);
int upgrade_adopt_listeners(struct listener_set *ls, char *err, size_t errlen);
int upgrade_adopt_shm(struct shm_region *r, char *err, size_t errlen);
/* Closes inherited sockets nobody took (the new config turned them off). */
void upgrade_close_unused(void);

/* Builds a listener set from already-bound fds (socket activation or an
 * upgrade). own_unix: unix socket files are removed at the final exit. */
int listeners_adopt(struct listener_set *ls, const int *fds, size_t n, const bool *own_unix,
    char *err, size_t errlen);

struct upgrade_hooks {
	void (*handover)(struct arbiter *);  /* old side: stop the admin and control sockets */
	void (*ready)(struct arbiter *);     /* new side: took over (write the pidfile) */
};

void upgrade_setup(struct ev_loop *loop, int admin_fd, int control_fd, const struct upgrade_hooks *h);
/* USR2. */
void upgrade_start(struct arbiter *a);
/* From the arbiter's tick: the new side reports readiness. */
void upgrade_tick(struct arbiter *a);
/* Old side, after a successful upgrade: files and sockets belong to the new one. */
bool upgrade_handed_over(void);

#endif
