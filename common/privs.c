/*
 * privs: see privs.h.
 *
 * Identity switches in the app child use raw system calls: glibc's
 * setuid() family signals every thread of the process to switch together,
 * which must not happen in a child that shares the worker's memory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/privs.h"

#define NOBODY_UID 65534

static bool
nonempty(const char *s)
{
	return s != NULL && *s != '\0';
}

/* Fills id from a user name (and an optional group overriding its primary one). */
static int
lookup(struct identity *id, const char *user, const char *group, const char *what,
    char *err, size_t errlen)
{
	memset(id, 0, sizeof *id);
	const struct passwd *pw = NULL;
	if (nonempty(user)) {
		pw = getpwnam(user);
		if (pw == NULL) {
			snprintf(err, errlen, "%s user: no such user '%s'", what, user);
			return -1;
		}
		id->uid = pw->pw_uid;
		id->gid = pw->pw_gid;
		snprintf(id->name, sizeof id->name, "%s", user);
	} else {
		/* A group alone keeps the uid. */
		id->uid = geteuid();
		snprintf(id->name, sizeof id->name, "%d", (int)id->uid);
	}
	if (nonempty(group)) {
		const struct group *gr = getgrnam(group);
		if (gr == NULL) {
			snprintf(err, errlen, "%s group: no such group '%s'", what, group);
			return -1;
		}
		id->gid = gr->gr_gid;
	}
	if (pw != NULL && !nonempty(group)) {
		/* The user's own supplementary groups, as a login would get. */
		int n = PRIVS_MAX_GROUPS;
		if (getgrouplist(user, id->gid, id->groups, &n) < 0)
			n = PRIVS_MAX_GROUPS;
		id->ngroups = n;
	} else {
		id->groups[0] = id->gid;
		id->ngroups = 1;
	}
	id->set = true;
	return 0;
}

int
privs_resolve(const struct config *c, struct privs *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	if (geteuid() != 0)
		return 0;        /* nothing to switch to: [server]/[app] user need root */
	if (nonempty(c->user) || (nonempty(c->group) && c->allow_root)) {
		if (lookup(&p->worker, c->user, c->group, "[server]", err, errlen) < 0)
			return -1;
	} else if (!c->allow_root) {
		/* nginx's default: the least privileged identity there is. */
		const char *group = nonempty(c->group) ? c->group :
		    getgrnam("nogroup") != NULL ? "nogroup" : NULL;
		if (lookup(&p->worker, getpwnam("nobody") ? "nobody" : NULL, group, "[server]",
		    err, errlen) < 0)
			return -1;
		if (getpwnam("nobody") == NULL) {
			p->worker.uid = NOBODY_UID;
			snprintf(p->worker.name, sizeof p->worker.name, "nobody");
		}
		if (group == NULL) {
			p->worker.gid = p->worker.groups[0] = NOBODY_UID;
			p->worker.ngroups = 1;
		}
		p->defaulted = true;
	}
	if (nonempty(c->app_user) || nonempty(c->app_group)) {
		if (lookup(&p->app, c->app_user, c->app_group, "[app]", err, errlen) < 0)
			return -1;
	}
	const struct identity *apps = p->app.set ? &p->app : &p->worker;
	p->apps_as_root = !apps->set || apps->uid == 0;
	if (p->apps_as_root && !c->allow_root) {
		snprintf(err, errlen, "apps would run as root: set [server] user (or [app] user), "
		    "or [server] allow_root = true");
		return -1;
	}
	return 0;
}

static int
set_ids(const struct identity *id)
{
	if (syscall(SYS_setgroups, (size_t)id->ngroups, id->groups) < 0 ||
	    syscall(SYS_setresgid, id->gid, id->gid, id->gid) < 0 ||
	    syscall(SYS_setresuid, id->uid, id->uid, id->uid) < 0)
		return -1;
	return 0;
}

/* Keeps exactly the capabilities in mask (bits below 32), permitted and effective. */
static int
keep_caps(uint32_t mask)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	data[0].permitted = data[0].effective = mask;
	return (int)syscall(SYS_capset, &hdr, data);
}

int
privs_no_dump(void)
{
	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int
privs_enter_worker(const struct privs *p)
{
	if (p->worker.set) {
		bool keep = p->app.set && p->worker.uid != 0;
		if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return -1;
		if (set_ids(&p->worker) < 0)
			return -1;
		if (keep) {
			if (keep_caps((1U << CAP_SETUID) | (1U << CAP_SETGID)) < 0 ||
			    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
				return -1;
		} else if (p->worker.uid != 0 && syscall(SYS_setresuid, 0, 0, 0) == 0) {
			errno = EPERM;   /* root came back: refuse to go on */
			return -1;
		}
	}
	/* A uid change resets it to fs.suid_dumpable; set it in every case. */
	return privs_no_dump();
}

int
privs_enter_app(const struct privs *p)
{
	if (!p->app.set)
		return 0;
	if (set_ids(&p->app) < 0)
		return -1;
	/* Whatever the worker kept for this goes: exec as a plain user. */
	return p->app.uid != 0 ? keep_caps(0) : 0;
}

bool
privs_can_access(const struct privs *p, const char *path, int mode)
{
	const struct identity *id = &p->worker;
	if (!id->set || geteuid() != 0)
		return access(path, mode) == 0;
	/* Ask the kernel as that user: switch the effective ids only, and back. */
	gid_t sg = getegid();
	uid_t su = geteuid();
	bool ok = false;
	if (syscall(SYS_setresgid, -1, id->gid, -1) == 0) {
		if (syscall(SYS_setresuid, -1, id->uid, -1) == 0) {
			ok = faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0;
			(void)syscall(SYS_setresuid, -1, su, -1);
		}
		(void)syscall(SYS_setresgid, -1, sg, -1);
	}
	return ok;
}
