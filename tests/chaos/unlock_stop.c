/*
 * unlock_stop: a fault-injection shim for tests/chaos/test_workers.py,
 * preloaded into drover. When the file named by DROVER_CHAOS_TRIGGER
 * exists, the first worker to release a pthread mutex removes it and stops
 * itself (SIGSTOP) just before the release, so the test can SIGKILL a
 * worker that holds a lock. The supervisor (the process that loaded the
 * shim) is never stopped.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static pid_t first_pid;
static const char *trigger;
static int (*real_unlock)(pthread_mutex_t *);

__attribute__((constructor)) static void
shim_init(void)
{
	first_pid = getpid();
	trigger = getenv("DROVER_CHAOS_TRIGGER");
	real_unlock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_unlock");
}

int
pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (trigger != NULL && getpid() != first_pid && unlink(trigger) == 0)
		raise(SIGSTOP);
	return (real_unlock(m));
}
