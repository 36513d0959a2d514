/*
 * log: see log.h. Every line is written with one write(2) so lines from
 * several processes sharing a file (O_APPEND) never interleave.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static int level_min = LOG_INFO;
static int error_fd = STDERR_FILENO;
static int access_fd = STDERR_FILENO;
static int worker_id = -1;
static int journal;         /* the error log is stderr, and stderr is the journal */

static const char *level_names[] = { "debug", "info", "warn", "error" };

int
log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

void log_set_level(int level) { level_min = level; }
int log_enabled(int level) { return level >= level_min; }
void log_set_worker(int id) { worker_id = id; }
int log_access_enabled(void) { return access_fd >= 0; }

static int
open_one(const char *path, int current)
{
	if (strcmp(path, "-") == 0)
		return STDERR_FILENO;
	if (strcmp(path, "off") == 0)
		return -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -2;
	if (current > STDERR_FILENO)
		close(current);
	return fd;
}

/*
 * systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected stderr to; the journal reads a "<N>" prefix as the line's
 * priority. A stderr redirected elsewhere no longer matches.
 */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	char *end;
	struct stat st;
	if (js == NULL)
		return 0;
	errno = 0;
	dev = strtoull(js, &end, 10);
	if (errno != 0 || end == js || *end != ':')
		return 0;
	js = end + 1;
	ino = strtoull(js, &end, 10);
	if (errno != 0 || end == js || *end != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int
log_open(const char *error_path, const char *access_path)
{
	int e = open_one(error_path, error_fd);
	if (e == -2)
		return -1;
	error_fd = e < 0 ? STDERR_FILENO : e;
	journal = error_fd == STDERR_FILENO && stderr_is_journal();
	int a = open_one(access_path, access_fd);
	if (a == -2)
		return -1;
	access_fd = a;
	return 0;
}

const char *
log_quote(char *buf, size_t cap, const char *value, size_t len)
{
	int plain = len > 0;
	for (size_t i = 0; i < len && plain; i++) {
		unsigned char ch = (unsigned char)value[i];
		if (ch <= ' ' || ch == '"' || ch == '=' || ch == '\\' || ch >= 0x7f)
			plain = 0;
	}
	size_t o = 0;
	if (plain) {
		o = len < cap - 1 ? len : cap - 1;
		memcpy(buf, value, o);
		buf[o] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (size_t i = 0; i < len && o + 5 < cap; i++) {
		unsigned char ch = (unsigned char)value[i];
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < ' ' || ch == 0x7f) {
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

void
log_event(int level, const char *event, const char *fmt, ...)
{
	if (level < level_min || error_fd < 0)
		return;
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* sd-daemon(3) priorities: debug 7, info 6, warning 4, error 3. */
	static const char *prio[] = { "<7>", "<6>", "<4>", "<3>" };
	int n = snprintf(line, sizeof line,
	    "%sts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s ",
	    journal ? prio[level] : "", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, level_names[level], event);
	if (n < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof line - 24)
		len = sizeof line - 24;
	if (worker_id >= 0)
		len += (size_t)snprintf(line + len, sizeof line - len, " worker=%d", worker_id);
	line[len++] = '\n';
	int saved = errno;
	while (write(error_fd, line, len) < 0 && errno == EINTR)
		;
	errno = saved;
}

void
log_access(const char *line, size_t len)
{
	if (access_fd < 0)
		return;
	while (write(access_fd, line, len) < 0 && errno == EINTR)
		;
}
