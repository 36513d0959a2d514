/*
 * listeners: the sockets drover serves on, bound once by the supervisor and
 * shared by every worker.
 *
 * Owns address parsing (host:port, [v6]:port, unix:/path), bind/listen and
 * removing unix socket files on exit. It must not accept connections.
 */
#ifndef DROVER_LISTENERS_H
#define DROVER_LISTENERS_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct listener {
	int fd;
	char *addr;        /* as configured */
	char *unix_path;   /* set for unix sockets we created */
};

struct listener_set {
	struct listener *v;
	size_t n;
};

/* Parses host:port, [v6]:port or unix:/path into ss. Returns 0 or -1. */
int sockaddr_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *len);
/* Who may connect to a unix: listener: its file's mode and owner. */
struct unix_perm {
	mode_t mode;
	uid_t uid;         /* (uid_t)-1: left as created */
	gid_t gid;         /* (gid_t)-1: left as created */
};

/*
 * The owner of unix: listeners: owner ("user", "user:group" or ":group")
 * when set, else, when started as root, the workers' user and group, so a
 * proxy running as that user or in that group can connect.
 */
int unix_perm_resolve(struct unix_perm *p, int mode, const char *owner, const char *user,
    const char *group, char *err, size_t errlen);
/* Binds a listening socket (close-on-exec, non-blocking). err gets why. */
int listen_on(const char *addr, int backlog, char *err, size_t errlen);
/* Same; a unix: socket file gets perm (NULL: as the umask made it) before it listens. */
int listen_on_perm(const char *addr, int backlog, const struct unix_perm *perm, char *err,
    size_t errlen);
int listeners_open(struct listener_set *ls, char *const *addrs, size_t n, int backlog,
    const struct unix_perm *perm, char *err, size_t errlen);
/* Closes every socket; unlink removes unix socket files (final exit only). */
void listeners_close(struct listener_set *ls, int unlink_files);

#endif
