/*
 * privs: the identities drover's processes run under, worked out once from
 * [server] user/group, [server] allow_root and [app] user/group.
 *
 * The supervisor keeps the identity it was started with (root stays root,
 * so the control socket and pidfile are out of the apps' reach); workers
 * take the [server] identity right after fork; apps take the [app] one
 * when it is set, or the workers' otherwise. Started as root with no
 * [server] user, workers and apps become nobody/nogroup unless allow_root
 * says otherwise.
 *
 * Owns resolving names to ids (before any fork: the lookups read files
 * and allocate) and the system calls that switch identity. It must not
 * log: callers decide what a failure means.
 */
#ifndef DROVER_PRIVS_H
#define DROVER_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf/config.h"

#define PRIVS_MAX_GROUPS 64

struct identity {
	bool set;                    /* false: keep the current one */
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[PRIVS_MAX_GROUPS];
	char name[64];
};

struct privs {
	struct identity worker;      /* workers, and apps when app is unset */
	struct identity app;         /* apps under their own uid ([app] user) */
	bool defaulted;              /* root without [server] user: nobody/nogroup */
	bool apps_as_root;           /* apps will run as uid 0 (allow_root) */
};

/* Works out who workers and apps run as, for the current effective uid. */
int privs_resolve(const struct config *c, struct privs *p, char *err, size_t errlen);
/*
 * Worker side, right after fork: becomes the worker identity. With a
 * separate app identity it keeps only CAP_SETUID and CAP_SETGID, to start
 * apps; otherwise it keeps nothing and root cannot be regained. Also makes
 * the process non-dumpable. -1 with errno on failure.
 */
int privs_enter_worker(const struct privs *p);
/*
 * App side, in the spawned child before exec: only system calls, no
 * allocation or locks (it runs in a vfork-like child).
 */
int privs_enter_app(const struct privs *p);
/* Whether the workers' identity can reach path with mode (R_OK, X_OK). */
bool privs_can_access(const struct privs *p, const char *path, int mode);
/* PR_SET_DUMPABLE 0: no core dump, /proc/PID owned by root, no ptrace by peers. */
int privs_no_dump(void);

#endif
