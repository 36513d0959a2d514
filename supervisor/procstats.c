/* procstats: see procstats.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "supervisor/procstats.h"

/* struct linux_dirent64, as getdents64(2) fills it. */
struct dent64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static void
proc_path(char *buf, size_t cap, pid_t pid, const char *what)
{
	if (pid == 0)
		snprintf(buf, cap, "/proc/self/%s", what);
	else
		snprintf(buf, cap, "/proc/%d/%s", (int)pid, what);
}

int64_t
procstats_open_fds(pid_t pid)
{
	char path[64], buf[4096];
	int64_t n = 0;
	long got;
	int fd;

	proc_path(path, sizeof path, pid, "fd");
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < got; ) {
			const struct dent64 *d = (const struct dent64 *)(buf + off);
			if (d->name[0] != '.')
				n++;
			off += d->reclen;
		}
	}
	close(fd);
	if (got < 0)
		return -1;
	/* Our own count includes the descriptor that read the directory. */
	return pid == 0 ? n - 1 : n;
}

/* Reads a small /proc file into buf, NUL-terminated; its length or -1. */
static ssize_t
read_small(const char *path, char *buf, size_t cap)
{
	ssize_t n, len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)len < cap - 1 && (n = read(fd, buf + len, cap - 1 - (size_t)len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

/* The boot time in seconds since the epoch, from /proc/stat. */
static double
boot_time(void)
{
	static char buf[8192];   /* no allocation; the supervisor is single-threaded */
	const char *p;

	if (read_small("/proc/stat", buf, sizeof buf) < 0 || (p = strstr(buf, "\nbtime ")) == NULL)
		return 0;
	return strtod(p + 7, NULL);
}

int
procstats_read(pid_t pid, struct procstats *st)
{
	char path[64], buf[1024];
	const char *p;
	unsigned long long utime, stime, start, vsize;
	long long rss;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;

	memset(st, 0, sizeof *st);
	st->open_fds = procstats_open_fds(pid);
	st->max_fds = -1;
	if (pid == 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		st->max_fds = (int64_t)rl.rlim_cur;

	proc_path(path, sizeof path, pid, "stat");
	if (read_small(path, buf, sizeof buf) < 0)
		return -1;
	/* The command name may hold spaces and parentheses: fields start after
	 * the last ')'. Field 3 (state) is the first one after it. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
	    "%*d %*d %llu %llu %lld", &utime, &stime, &start, &vsize, &rss) != 5)
		return -1;
	if (tick <= 0)
		tick = 100;
	st->cpu_seconds = (double)(utime + stime) / (double)tick;
	st->start_time = boot_time() + (double)start / (double)tick;
	st->vsize_bytes = vsize;
	st->rss_bytes = rss > 0 ? (uint64_t)rss * (uint64_t)(page > 0 ? page : 4096) : 0;
	return 0;
}
