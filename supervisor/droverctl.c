/*
 * droverctl: the command-line client of drover's control socket.
 *
 * Sends one command line, prints the answer's body on stdout (or its error
 * on stderr) and maps the outcome onto the exit codes of droverctl(8):
 * 0 ok, 1 the operation failed, 2 usage, 3 the socket cannot be reached or
 * does not answer within CTL_TIMEOUT seconds. It must not link drover's
 * library: it only speaks the line protocol described in control.h.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"

#define DEFAULT_SOCKET "/run/drover/drover.sock"
#define CTL_TIMEOUT 10
#define REPLY_MAX (16 << 20)

enum { EX_OK = 0, EX_FAILED = 1, EX_USAGE = 2, EX_UNREACHABLE = 3 };

static const char usage_lines[] =
    "usage: droverctl [-s SOCKET] status [--json] | reload | scale N | stop [--fast] |\n"
    "                 reopen-logs | metrics\n"
    "       droverctl -h|--help | -V|--version\n";

static void
usage(FILE *f)
{
	fprintf(f, "%s"
	    "\n"
	    "  status [--json]   workers and cache figures (--json: the /status document)\n"
	    "  reload            re-read the config, then a rolling restart (HUP)\n"
	    "  scale N           run N workers (until the next reload)\n"
	    "  stop [--fast]     graceful (TERM) or fast (QUIT) shutdown\n"
	    "  reopen-logs       reopen the log files (USR1)\n"
	    "  metrics           the Prometheus text of /metrics\n"
	    "  -s, --socket PATH the control socket; defaults to $DROVER_CONTROL_SOCKET,\n"
	    "                    else " DEFAULT_SOCKET "\n"
	    "Exit status: 0 ok, 1 the operation failed, 2 usage, 3 no answer on the socket.\n",
	    usage_lines);
}

static int
usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "droverctl: %s%s\n%s", what, arg, usage_lines);
	return EX_USAGE;
}

/* Builds the protocol line for argv[0..argc); NULL on a usage error. */
static const char *
command_line(int argc, char **argv, char *out, size_t cap)
{
	const char *cmd = argv[0];
	if (strcmp(cmd, "status") == 0) {
		/* The server renders the table, so droverctl parses no JSON. */
		if (argc == 1)
			return "status table\n";
		if (argc == 2 && strcmp(argv[1], "--json") == 0)
			return "status\n";
		return NULL;
	}
	if (strcmp(cmd, "stop") == 0) {
		if (argc == 1)
			return "stop\n";
		if (argc == 2 && strcmp(argv[1], "--fast") == 0)
			return "stop fast\n";
		return NULL;
	}
	if (strcmp(cmd, "scale") == 0) {
		if (argc != 2)
			return NULL;
		char *end;
		errno = 0;
		long n = strtol(argv[1], &end, 10);
		if (errno || end == argv[1] || *end != '\0' || n < 1 || n > 1000000)
			return NULL;
		snprintf(out, cap, "scale %ld\n", n);
		return out;
	}
	if (argc == 1 && (strcmp(cmd, "reload") == 0 || strcmp(cmd, "reopen-logs") == 0 ||
	    strcmp(cmd, "metrics") == 0)) {
		snprintf(out, cap, "%s\n", cmd);
		return out;
	}
	return NULL;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un su;
	memset(&su, 0, sizeof su);
	su.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof su.sun_path) {
		fprintf(stderr, "droverctl: cannot connect to %s: path too long\n", path);
		return -1;
	}
	strcpy(su.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "droverctl: socket: %s\n", strerror(errno));
		return -1;
	}
	struct timeval tv = { .tv_sec = CTL_TIMEOUT };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
	    connect(fd, (struct sockaddr *)&su, sizeof su) < 0) {
		fprintf(stderr, "droverctl: cannot connect to %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads the whole answer (the server closes after it). NULL on error. */
static char *
read_reply(int fd, const char *path, size_t *len)
{
	size_t cap = 8192, n = 0;
	char *b = malloc(cap);
	if (b == NULL) {
		fprintf(stderr, "droverctl: out of memory\n");
		return NULL;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= REPLY_MAX) {
				fprintf(stderr, "droverctl: answer from %s too large\n", path);
				free(b);
				return NULL;
			}
			char *nb = realloc(b, cap * 2);
			if (nb == NULL) {
				fprintf(stderr, "droverctl: out of memory\n");
				free(b);
				return NULL;
			}
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "droverctl: no answer from %s: %s\n", path,
			    errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : strerror(errno));
			free(b);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

int
main(int argc, char **argv)
{
	const char *path = getenv("DROVER_CONTROL_SOCKET");
	if (path == NULL || *path == '\0')
		path = DEFAULT_SOCKET;
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;
	opterr = 0;
	/* '+': options end at the command, so "status --json" stays its own. */
	while ((opt = getopt_long(argc, argv, "+:s:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("droverctl %s\n", PACKAGE_VERSION);
			return EX_OK;
		case ':':
			return usage_error("option needs an argument: ", argv[optind - 1]);
		default:
			return usage_error("unknown option ", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no command given", "");
	char line[64];
	const char *req = command_line(argc - optind, argv + optind, line, sizeof line);
	if (req == NULL)
		return usage_error("bad command or arguments: ", argv[optind]);

	int fd = connect_to(path);
	if (fd < 0)
		return EX_UNREACHABLE;
	if (write_all(fd, req, strlen(req)) < 0) {
		fprintf(stderr, "droverctl: cannot send to %s: %s\n", path, strerror(errno));
		close(fd);
		return EX_UNREACHABLE;
	}
	size_t len;
	char *reply = read_reply(fd, path, &len);
	close(fd);
	if (reply == NULL)
		return EX_UNREACHABLE;
	char *body = strchr(reply, '\n');
	if (body == NULL) {
		fprintf(stderr, "droverctl: %s closed the connection without an answer\n", path);
		free(reply);
		return EX_FAILED;
	}
	*body++ = '\0';
	int rc;
	if (strcmp(reply, "ok") == 0) {
		size_t blen = len - (size_t)(body - reply);
		rc = fwrite(body, 1, blen, stdout) == blen && fflush(stdout) == 0 ? EX_OK : EX_FAILED;
	} else if (strncmp(reply, "error: ", 7) == 0) {
		fprintf(stderr, "droverctl: %s\n", reply + 7);
		rc = EX_FAILED;
	} else {
		fprintf(stderr, "droverctl: unexpected answer from %s: %.80s\n", path, reply);
		rc = EX_FAILED;
	}
	free(reply);
	return rc;
}
