/*
 * reload_probe: a load client that tells exactly which requests failed, for
 * bench/run's reload rows (wrk lumps a server closing a connection after a
 * response together with a broken request). C threads each keep one HTTP/1.1
 * keep-alive connection busy with GET requests for the given time and sort
 * every attempt into one outcome:
 *
 *	ok		status 200 and the whole body
 *	non200		a complete response with another status
 *	connect		connect() refused or failed
 *	stale		a reused keep-alive connection closed before any byte of
 *			the response: the request never reached the app and
 *			clients retry it (RFC 9112 9.3.1); retried, not failed
 *	broken		reset or EOF mid-response, or no response on a fresh
 *			connection
 *	timeout		no complete response within 10 s
 *
 * Failed requests are non200 + connect + broken + timeout.
 *
 *	reload_probe [-c CONNECTIONS] [-d SECONDS] HOST PORT PATH
 */

#define _GNU_SOURCE

#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ	65536

enum { RES_OK, RES_NON200, RES_CONNECT, RES_STALE, RES_BROKEN, RES_TIMEOUT, RES_N };
static const char *rname[RES_N] = {
	"ok", "non200", "connect", "stale", "broken", "timeout"
};

static struct sockaddr_in	 addr;
static char			 req[1024];
static size_t			 reqlen;
static atomic_int		 stop;

struct client {
	pthread_t	thread;
	uint64_t	count[RES_N];
	char		buf[BUFSZ];
	size_t		len;		/* bytes in buf */
	size_t		off;		/* parse position */
	int		fd;
	int		timedout;
};

/* fill: read more into buf; 1 got bytes, 0 EOF, -1 error */
static int
fill(struct client *c)
{
	ssize_t	n;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof(c->buf))
		return (-1);
	for (;;) {
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			return (1);
		}
		if (n == 0)
			return (0);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			c->timedout = 1;
		return (-1);
	}
}

/* line: the next CRLF-terminated line; NULL when more input is needed */
static char *
line(struct client *c)
{
	char	*s = c->buf + c->off, *e;

	e = memmem(s, c->len - c->off, "\r\n", 2);
	if (e == NULL)
		return (NULL);
	*e = '\0';
	c->off = (size_t)(e + 2 - c->buf);
	return (s);
}

static int
need_line(struct client *c, char **out)
{
	int	r;

	while ((*out = line(c)) == NULL)
		if ((r = fill(c)) <= 0)
			return (r);
	return (1);
}

static int
skip_bytes(struct client *c, uint64_t n)
{
	size_t	have;
	int	r;

	while (n > 0) {
		if (c->off == c->len && (r = fill(c)) <= 0)
			return (r);
		have = c->len - c->off;
		if (have > n)
			have = (size_t)n;
		c->off += have;
		n -= have;
	}
	return (1);
}

/*
 * one response: outcome, and whether the connection stays open. got_any says
 * whether any byte of the response arrived.
 */
static int
response(struct client *c, int *keep, int *got_any)
{
	char		*l;
	int		 status = 0, chunked = 0, close_conn = 0, r, minor = 1;
	int64_t		 clen = -1;
	uint64_t	 sz;

	*keep = 0;
	*got_any = 0;
	c->len = c->off = 0;
	if ((r = need_line(c, &l)) <= 0)
		return (c->timedout ? RES_TIMEOUT : RES_BROKEN);
	*got_any = 1;
	if (sscanf(l, "HTTP/1.%d %d", &minor, &status) != 2)
		return (RES_BROKEN);
	if (minor == 0)
		close_conn = 1;
	for (;;) {
		if ((r = need_line(c, &l)) <= 0)
			return (c->timedout ? RES_TIMEOUT : RES_BROKEN);
		if (*l == '\0')
			break;
		if (strncasecmp(l, "content-length:", 15) == 0)
			clen = strtoll(l + 15, NULL, 10);
		else if (strncasecmp(l, "transfer-encoding:", 18) == 0 &&
		    strcasestr(l, "chunked") != NULL)
			chunked = 1;
		else if (strncasecmp(l, "connection:", 11) == 0) {
			if (strcasestr(l, "close") != NULL)
				close_conn = 1;
			else if (strcasestr(l, "keep-alive") != NULL)
				close_conn = 0;
		}
	}
	if (chunked) {
		for (;;) {
			if ((r = need_line(c, &l)) <= 0)
				return (c->timedout ? RES_TIMEOUT : RES_BROKEN);
			sz = strtoull(l, NULL, 16);
			if (sz == 0) {
				/* trailers up to the empty line */
				do {
					if ((r = need_line(c, &l)) <= 0)
						return (c->timedout ? RES_TIMEOUT :
						    RES_BROKEN);
				} while (*l != '\0');
				break;
			}
			if ((r = skip_bytes(c, sz + 2)) <= 0)
				return (c->timedout ? RES_TIMEOUT : RES_BROKEN);
		}
	} else if (clen >= 0) {
		if ((r = skip_bytes(c, (uint64_t)clen)) <= 0)
			return (c->timedout ? RES_TIMEOUT : RES_BROKEN);
	} else {
		/* delimited by EOF */
		while ((r = fill(c)) > 0)
			c->off = c->len;
		if (r < 0)
			return (c->timedout ? RES_TIMEOUT : RES_BROKEN);
		close_conn = 1;
	}
	*keep = !close_conn;
	return (status == 200 ? RES_OK : RES_NON200);
}

static int
open_conn(void)
{
	struct timeval	tv = { 10, 0 };
	int		fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

static void *
run(void *arg)
{
	struct client	*c = arg;
	int		 reused, keep, got_any, res;
	ssize_t		 n;

	c->fd = -1;
	while (!atomic_load(&stop)) {
		reused = c->fd != -1;
		if (c->fd == -1 && (c->fd = open_conn()) == -1) {
			c->count[RES_CONNECT]++;
			usleep(1000);
			continue;
		}
		c->timedout = 0;
		n = send(c->fd, req, reqlen, MSG_NOSIGNAL);
		if (n != (ssize_t)reqlen) {
			res = reused ? RES_STALE : RES_BROKEN;
			keep = 0;
		} else {
			res = response(c, &keep, &got_any);
			if (res == RES_BROKEN && !got_any && reused)
				res = RES_STALE;
		}
		if (!atomic_load(&stop) || res == RES_OK || res == RES_NON200)
			c->count[res]++;
		if (!keep) {
			close(c->fd);
			c->fd = -1;
		}
	}
	if (c->fd != -1)
		close(c->fd);
	return (NULL);
}

int
main(int argc, char **argv)
{
	struct client	*cs;
	struct timespec	 t0, t1;
	uint64_t	 tot[RES_N] = { 0 };
	double		 secs = 10, el;
	long		 conns = 32;
	int		 ch, i, j;

	while ((ch = getopt(argc, argv, "c:d:")) != -1) {
		switch (ch) {
		case 'c':
			conns = strtol(optarg, NULL, 10);
			break;
		case 'd':
			secs = strtod(optarg, NULL);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 3 || conns < 1 || conns > 4096 || secs <= 0)
		goto usage;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &addr.sin_addr) != 1)
		goto usage;
	i = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "User-Agent: reload_probe\r\n\r\n", argv[optind + 2], argv[optind],
	    argv[optind + 1]);
	if (i < 0 || (size_t)i >= sizeof(req))
		goto usage;
	reqlen = (size_t)i;
	if ((cs = calloc((size_t)conns, sizeof(*cs))) == NULL) {
		perror("calloc");
		return (1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < conns; i++)
		if (pthread_create(&cs[i].thread, NULL, run, &cs[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return (1);
		}
	usleep((useconds_t)(secs * 1e6));
	atomic_store(&stop, 1);
	for (i = 0; i < conns; i++) {
		pthread_join(cs[i].thread, NULL);
		for (j = 0; j < RES_N; j++)
			tot[j] += cs[i].count[j];
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (j = 0; j < RES_N; j++)
		printf("%s=%llu ", rname[j], (unsigned long long)tot[j]);
	printf("failed=%llu rps=%.0f\n", (unsigned long long)(tot[RES_NON200] +
	    tot[RES_CONNECT] + tot[RES_BROKEN] + tot[RES_TIMEOUT]),
	    (double)tot[RES_OK] / el);
	return (0);
usage:
	fprintf(stderr, "usage: reload_probe [-c CONNECTIONS] [-d SECONDS] "
	    "HOST PORT PATH\n");
	return (2);
}
