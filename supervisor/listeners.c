/* listeners: see listeners.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "supervisor/listeners.h"

#define BIND_RETRY_MS 2000
#define BIND_RETRY_STEP_MS 50

int
sockaddr_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un *su = (struct sockaddr_un *)ss;
		const char *path = addr + 5;
		if (*path == '\0' || strlen(path) >= sizeof su->sun_path)
			return -1;
		su->sun_family = AF_UNIX;
		strcpy(su->sun_path, path);
		*len = sizeof *su;
		return 0;
	}
	char host[256];
	const char *port;
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - addr - 1) >= sizeof host)
			return -1;
		memcpy(host, addr + 1, (size_t)(end - addr - 1));
		host[end - addr - 1] = '\0';
		port = end + 2;
	} else {
		const char *colon = strrchr(addr, ':');
		if (colon == NULL || (size_t)(colon - addr) >= sizeof host)
			return -1;
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		port = colon + 1;
	}
	char *endp;
	errno = 0;
	long p = strtol(port, &endp, 10);
	if (errno || *port == '\0' || *endp != '\0' || p < 0 || p > 65535)
		return -1;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (host[0] == '\0' || strcmp(host, "*") == 0)
		strcpy(host, "0.0.0.0");
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof *s6;
		return 0;
	}
	return -1;
}

int
unix_perm_resolve(struct unix_perm *p, int mode, const char *owner, const char *user,
    const char *group, char *err, size_t errlen)
{
	char name[256];
	p->mode = (mode_t)mode;
	p->uid = (uid_t)-1;
	p->gid = (gid_t)-1;
	const char *g = NULL;
	if (owner && *owner) {
		const char *colon = strchr(owner, ':');
		size_t un = colon ? (size_t)(colon - owner) : strlen(owner);
		snprintf(name, sizeof name, "%.*s", (int)un, owner);
		user = un > 0 ? name : NULL;
		g = colon && colon[1] ? colon + 1 : NULL;
	} else if (geteuid() == 0) {
		g = group;
	} else {
		return 0;
	}
	if (user && *user) {
		struct passwd *pw = getpwnam(user);
		if (pw == NULL) {
			snprintf(err, errlen, "socket owner: no such user '%s'", user);
			return -1;
		}
		p->uid = pw->pw_uid;
		p->gid = pw->pw_gid;
	}
	if (g && *g) {
		struct group *gr = getgrnam(g);
		if (gr == NULL) {
			snprintf(err, errlen, "socket owner: no such group '%s'", g);
			return -1;
		}
		p->gid = gr->gr_gid;
	}
	return 0;
}

/* A socket file left by a crashed drover would make bind fail; remove it
 * only if it is a socket nobody answers on. */
static void
remove_stale_unix(const struct sockaddr_storage *ss, socklen_t slen)
{
	const char *path = ((const struct sockaddr_un *)ss)->sun_path;
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return;
	if (connect(probe, (const struct sockaddr *)ss, slen) < 0 && errno == ECONNREFUSED)
		unlink(path);
	close(probe);
}

/*
 * Right after a crash, the old workers may hold the address for a moment
 * while they clean up: an address in use is retried for BIND_RETRY_MS,
 * as nginx does, before it counts as taken.
 */
static int
bind_retrying(int fd, const struct sockaddr_storage *ss, socklen_t slen)
{
	int64_t deadline = mono_ms() + BIND_RETRY_MS;
	for (;;) {
		if (ss->ss_family == AF_UNIX)
			remove_stale_unix(ss, slen);
		if (bind(fd, (const struct sockaddr *)ss, slen) == 0)
			return 0;
		if (errno != EADDRINUSE || mono_ms() >= deadline)
			return -1;
		struct timespec ts = { 0, BIND_RETRY_STEP_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
}

int
listen_on(const char *addr, int backlog, char *err, size_t errlen)
{
	return listen_on_perm(addr, backlog, NULL, err, errlen);
}

int
listen_on_perm(const char *addr, int backlog, const struct unix_perm *perm, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	if (sockaddr_parse(addr, &ss, &slen) < 0) {
		snprintf(err, errlen, "bind %s: not host:port, [v6]:port or unix:/path", addr);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket for %s: %s", addr, strerror(errno));
		return -1;
	}
	int one = 1;
	if (ss.ss_family != AF_UNIX)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind_retrying(fd, &ss, slen) < 0) {
		snprintf(err, errlen, "bind %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	/* Before listen: nobody can connect through the umask's mode meanwhile. */
	if (ss.ss_family == AF_UNIX && perm) {
		const char *path = ((struct sockaddr_un *)&ss)->sun_path;
		if (chmod(path, perm->mode) < 0 ||
		    ((perm->uid != (uid_t)-1 || perm->gid != (gid_t)-1) &&
		    chown(path, perm->uid, perm->gid) < 0)) {
			snprintf(err, errlen, "bind %s: setting mode %04o and owner: %s", addr,
			    (unsigned)perm->mode, strerror(errno));
			close(fd);
			unlink(path);
			return -1;
		}
	}
	if (listen(fd, backlog) < 0) {
		snprintf(err, errlen, "listen %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
listeners_open(struct listener_set *ls, char *const *addrs, size_t n, int backlog,
    const struct unix_perm *perm, char *err, size_t errlen)
{
	ls->v = calloc(n ? n : 1, sizeof *ls->v);
	ls->n = 0;
	if (ls->v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int fd = listen_on_perm(addrs[i], backlog, perm, err, errlen);
		if (fd < 0) {
			listeners_close(ls, 1);
			return -1;
		}
		struct listener *l = &ls->v[ls->n++];
		l->fd = fd;
		l->addr = strdup(addrs[i]);
		l->unix_path = strncmp(addrs[i], "unix:", 5) == 0 ? strdup(addrs[i] + 5) : NULL;
	}
	return 0;
}

void
listeners_close(struct listener_set *ls, int unlink_files)
{
	for (size_t i = 0; i < ls->n; i++) {
		close(ls->v[i].fd);
		if (unlink_files && ls->v[i].unix_path)
			unlink(ls->v[i].unix_path);
		free(ls->v[i].addr);
		free(ls->v[i].unix_path);
	}
	free(ls->v);
	ls->v = NULL;
	ls->n = 0;
}
