/*
 * spawn: see spawn.h.
 *
 * clone(CLONE_VM | CLONE_VFORK) on a private stack: the worker is paused
 * until the child execs or fails, and the child writes its errno into the
 * shared context. Between clone and exec the child makes system calls
 * only. Every signal is blocked in the worker around the clone so that no
 * handler of the worker's runs in the child; the child restores default
 * dispositions first and only then unblocks.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/privs.h"
#include "worker/spawn.h"

#define STACK_SIZE (256 * 1024)
#define CLOSE_FALLBACK_MAX 65536     /* close_range missing: close this many by hand */

static const struct privs *app_privs;
static void *stack;

struct spawn_ctx {
	const struct spawn_spec *s;
	pid_t parent;
	volatile int err;
};

void
spawn_set_privs(const struct privs *p)
{
	app_privs = p;
}

static void
close_above_2(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
#endif
	for (int fd = 3; fd < CLOSE_FALLBACK_MAX; fd++)
		(void)close(fd);
}

static int
child_main(void *arg)
{
	struct spawn_ctx *c = arg;
	const struct spawn_spec *s = c->s;
	struct sigaction dfl, cur;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* Caught and ignored ones alike: SIGPIPE ignored by the worker
		 * must not stay ignored in the app. */
		if (sigaction(sig, NULL, &cur) == 0 && cur.sa_handler != SIG_DFL)
			(void)sigaction(sig, &dfl, NULL);
	}
	if (setpgid(0, 0) < 0)
		goto fail;
	if (s->death_signal && (prctl(PR_SET_PDEATHSIG, s->death_signal, 0, 0, 0) < 0 ||
	    getppid() != c->parent)) {
		errno = ESRCH;
		goto fail;
	}
	int fd[3];
	for (int i = 0; i < 3; i++) {
		fd[i] = s->fd[i];
		/* A source sitting on a lower target would be overwritten first. */
		if (fd[i] < 3 && fd[i] != i && (fd[i] = fcntl(fd[i], F_DUPFD, 3)) < 0)
			goto fail;
	}
	for (int i = 0; i < 3; i++) {
		if (fd[i] == i ? fcntl(i, F_SETFD, 0) < 0 : dup2(fd[i], i) < 0)
			goto fail;
	}
	close_above_2();
	if (s->dir && chdir(s->dir) < 0)
		goto fail;
	if (app_privs && privs_enter_app(app_privs) < 0)
		goto fail;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(s->path, s->argv, s->envp);
fail:
	c->err = errno ? errno : EINVAL;
	_exit(127);
}

pid_t
spawn_app(const struct spawn_spec *s)
{
	if (stack == NULL) {
		void *p = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		stack = p;
	}
	struct spawn_ctx c = { .s = s, .parent = getpid(), .err = 0 };
	sigset_t all, old;
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, &old) < 0)
		return -1;
	pid_t pid = clone(child_main, (char *)stack + STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	int e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		errno = e;
		return -1;
	}
	if (c.err) {
		/* It has exited: reap it here (libev may have done so already). */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		errno = c.err;
		return -1;
	}
	return pid;
}
