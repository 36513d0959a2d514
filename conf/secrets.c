/*
 * secrets: see secrets.h.
 *
 * The memfd holds NAME=value records separated by NUL bytes, at most
 * SECRETS_MAX bytes in all.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf/secrets.h"

#define SECRETS_MAX 65536

extern char **environ;

static const char *const names[] = { "REDIS_URL", "DROVER_SECRET_KEYS" };
#define NNAMES (sizeof names / sizeof names[0])

static struct {
	bool taken;
	char *value[NNAMES];
} S;

static int
index_of(const char *name, size_t len)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return (int)i;
	return -1;
}

/* Overwrites the value in place, then drops the variable. */
static void
wipe(const char *name)
{
	size_t len = strlen(name);
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			explicit_bzero(*e + len + 1, strlen(*e + len + 1));
	unsetenv(name);
}

static int
take_from_fd(const char *fdname)
{
	char *end;
	errno = 0;
	long fd = strtol(fdname, &end, 10);
	if (errno || end == fdname || *end || fd < 3 || fd > INT_MAX) {
		errno = EBADF;
		return -1;
	}
	char *buf = malloc(SECRETS_MAX + 1);
	if (buf == NULL)
		return -1;
	size_t n = 0;
	for (;;) {
		ssize_t r = pread((int)fd, buf + n, SECRETS_MAX - n, (off_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			close((int)fd);
			return -1;
		}
		if (r == 0 || (n += (size_t)r) == SECRETS_MAX)
			break;
	}
	close((int)fd);
	buf[n] = '\0';
	for (size_t off = 0; off < n; off += strlen(buf + off) + 1) {
		char *rec = buf + off, *eq = strchr(rec, '=');
		int i = eq ? index_of(rec, (size_t)(eq - rec)) : -1;
		if (i >= 0 && S.value[i] == NULL && (S.value[i] = strdup(eq + 1)) == NULL) {
			explicit_bzero(buf, n);
			free(buf);
			return -1;
		}
	}
	explicit_bzero(buf, n);
	free(buf);
	return 0;
}

int
secrets_take(void)
{
	if (S.taken)
		return 0;
	S.taken = true;
	const char *fdname = getenv(SECRETS_FD_ENV);
	int rc = 0;
	if (fdname != NULL) {
		rc = take_from_fd(fdname);
		unsetenv(SECRETS_FD_ENV);
	} else {
		for (size_t i = 0; i < NNAMES; i++) {
			const char *v = getenv(names[i]);
			if (v != NULL && (S.value[i] = strdup(v)) == NULL)
				rc = -1;
		}
	}
	for (size_t i = 0; i < NNAMES; i++)
		wipe(names[i]);
	return rc;
}

const char *
secrets_get(const char *name)
{
	if (!S.taken)
		return getenv(name);
	int i = index_of(name, strlen(name));
	return i >= 0 ? S.value[i] : getenv(name);
}

int
secrets_export(void)
{
	int fd = memfd_create("drover-secrets", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < NNAMES; i++) {
		if (S.value[i] == NULL)
			continue;
		size_t nl = strlen(names[i]), vl = strlen(S.value[i]);
		if (write(fd, names[i], nl) != (ssize_t)nl || write(fd, "=", 1) != 1 ||
		    write(fd, S.value[i], vl + 1) != (ssize_t)(vl + 1)) {
			close(fd);
			return -1;
		}
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}
