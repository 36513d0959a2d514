/*
 * spawn: the one way a worker starts an app process, CGI script and
 * FastCGI app alike.
 *
 * The child gets exactly three descriptors (0, 1, 2: whatever else the
 * worker or the shell that launched drover had open is closed with
 * close_range), default signal dispositions and an empty mask, its own
 * process group (so the whole tree can be killed as one), optionally a
 * parent-death signal, and the [app] identity when one is configured. The
 * child shares the worker's memory until it execs (as posix_spawn does),
 * so an exec failure comes back as errno, synchronously.
 *
 * It must not know about requests or pools: callers own the pipes and the
 * reaping.
 */
#ifndef DROVER_SPAWN_H
#define DROVER_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

struct privs;

struct spawn_spec {
	const char *path;            /* executable, absolute or relative to the cwd */
	char *const *argv;
	char *const *envp;
	int fd[3];                   /* become the child's 0, 1 and 2 */
	const char *dir;             /* chdir before exec, or NULL */
	int death_signal;            /* sent to the child when the worker dies; 0: none */
};

/* Who apps run as, for every later spawn (set once per worker). */
void spawn_set_privs(const struct privs *p);
/*
 * Starts the process. Returns its pid (also its process group id), or -1
 * with errno set: the exec's own error (ENOENT, EACCES, ...) when the
 * program could not be run, or the setup's.
 */
pid_t spawn_app(const struct spawn_spec *s);

#endif
