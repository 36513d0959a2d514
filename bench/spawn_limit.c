/*
 * spawn_limit: the ceiling for any CGI server on this machine. N threads
 * (default: the number of online CPUs) each posix_spawn the script in a loop,
 * with a CGI-sized environment, read its output to EOF and reap it. It prints
 * spawns per second and the p50/p99 of one spawn-read-reap round, so bench/run
 * can put it in the CGI table beside the servers. It measures only; no HTTP.
 *
 *	spawn_limit [-t THREADS] [-d SECONDS] [-w WARMUP_SECONDS] SCRIPT
 */

#define _GNU_SOURCE

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BIN_US		10		/* histogram resolution */
#define NBINS		100000		/* 10 us bins up to 1 s; the last one clamps */

extern char	**environ;

static const char	*script;
static atomic_int	 phase;		/* 0 warm-up, 1 measuring, 2 stop */

struct counter {
	pthread_t	 thread;
	uint64_t	 spawns;
	uint64_t	 failures;
	uint32_t	*bins;
};

static char *cgi_env[] = {
	"GATEWAY_INTERFACE=CGI/1.1", "SERVER_SOFTWARE=spawn_limit",
	"SERVER_NAME=127.0.0.1", "SERVER_PORT=8080", "SERVER_PROTOCOL=HTTP/1.1",
	"REQUEST_METHOD=GET", "REQUEST_URI=/hello.cgi", "SCRIPT_NAME=/hello.cgi",
	"SCRIPT_FILENAME=/tmp/hello.cgi", "PATH_INFO=", "QUERY_STRING=",
	"REMOTE_ADDR=127.0.0.1", "REMOTE_PORT=40000", "DOCUMENT_ROOT=/tmp",
	"HTTP_HOST=127.0.0.1:8080", "HTTP_USER_AGENT=wrk",
	"PATH=/usr/local/bin:/usr/bin:/bin", "REDIRECT_STATUS=200", NULL
};

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

static int
one_spawn(void)
{
	posix_spawn_file_actions_t	 fa;
	char				*argv[] = { (char *)script, NULL };
	char				 buf[4096];
	int				 p[2], status, rc = -1;
	pid_t				 pid;
	ssize_t				 n;

	if (pipe2(p, O_CLOEXEC) == -1)
		return (-1);
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	if (posix_spawn(&pid, script, &fa, NULL, argv, cgi_env) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto out;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	p[1] = -1;
	for (;;) {
		n = read(p[0], buf, sizeof(buf));
		if (n > 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		break;
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	rc = (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : -1;
out:
	close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	return (rc);
}

static void *
loop(void *arg)
{
	struct counter	*c = arg;
	uint64_t	 t0, us;
	int		 ph, ok;

	while ((ph = atomic_load(&phase)) != 2) {
		t0 = now_ns();
		ok = one_spawn() == 0;
		if (ph != 1 || atomic_load(&phase) != 1)
			continue;
		if (!ok) {
			c->failures++;
			continue;
		}
		us = (now_ns() - t0) / 1000;
		c->bins[us / BIN_US < NBINS ? us / BIN_US : NBINS - 1]++;
		c->spawns++;
	}
	return (NULL);
}

static double
percentile(const uint64_t *bins, uint64_t total, double q)
{
	uint64_t	want = (uint64_t)(q * (double)total), seen = 0;
	size_t		i;

	for (i = 0; i < NBINS; i++) {
		seen += bins[i];
		if (seen > want)
			return ((double)(i * BIN_US + BIN_US / 2) / 1000.0);
	}
	return ((double)(NBINS * BIN_US) / 1000.0);
}

int
main(int argc, char **argv)
{
	struct counter	*cs;
	uint64_t	*all, total = 0, fails = 0, t0, t1;
	long		 nthreads = sysconf(_SC_NPROCESSORS_ONLN);
	double		 secs = 10, warm = 2, elapsed;
	int		 ch, i;
	size_t		 b;

	while ((ch = getopt(argc, argv, "t:d:w:")) != -1) {
		switch (ch) {
		case 't':
			nthreads = strtol(optarg, NULL, 10);
			break;
		case 'd':
			secs = strtod(optarg, NULL);
			break;
		case 'w':
			warm = strtod(optarg, NULL);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || nthreads < 1 || nthreads > 1024 || secs <= 0)
		goto usage;
	script = argv[optind];
	if (access(script, X_OK) == -1) {
		perror(script);
		return (1);
	}
	if ((cs = calloc((size_t)nthreads, sizeof(*cs))) == NULL ||
	    (all = calloc(NBINS, sizeof(*all))) == NULL) {
		perror("calloc");
		return (1);
	}
	for (i = 0; i < nthreads; i++) {
		if ((cs[i].bins = calloc(NBINS, sizeof(uint32_t))) == NULL) {
			perror("calloc");
			return (1);
		}
		if (pthread_create(&cs[i].thread, NULL, loop, &cs[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return (1);
		}
	}
	usleep((useconds_t)(warm * 1e6));
	t0 = now_ns();
	atomic_store(&phase, 1);
	usleep((useconds_t)(secs * 1e6));
	atomic_store(&phase, 2);
	t1 = now_ns();
	for (i = 0; i < nthreads; i++) {
		pthread_join(cs[i].thread, NULL);
		total += cs[i].spawns;
		fails += cs[i].failures;
		for (b = 0; b < NBINS; b++)
			all[b] += cs[i].bins[b];
	}
	elapsed = (double)(t1 - t0) / 1e9;
	printf("threads=%ld seconds=%.2f spawns=%llu failures=%llu "
	    "spawns_per_s=%.1f p50_ms=%.3f p99_ms=%.3f\n", nthreads, elapsed,
	    (unsigned long long)total, (unsigned long long)fails,
	    (double)total / elapsed, percentile(all, total, 0.50),
	    percentile(all, total, 0.99));
	return (0);
usage:
	fprintf(stderr, "usage: spawn_limit [-t THREADS] [-d SECONDS] "
	    "[-w WARMUP] SCRIPT\n");
	return (2);
}
