/*
 * cli: drover's command line (docs/design.md §2) turned into a list of
 * (section, key, value) settings applied on top of the file and environment.
 *
 * Every flag is a shorthand for one or more config keys, so the command line
 * can say nothing the ini file cannot. Values are checked here already, so a
 * typo is reported with the flag the user wrote; this file must not read the
 * config file or apply anything itself.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/config.h"

const char *cli_default_config = SYSCONFDIR "/drover/drover.ini";

static const char usage_text[] =
    "usage: drover [-c FILE] [--bind ADDR]... [--workers N] [--cgi DIR|SCRIPT]\n"
    "              [--fastcgi COMMAND|ADDR] [--set SECTION.KEY=VALUE]...\n"
    "              [-t|--check-config] [-V|--version] [-h|--help]\n"
    "\n"
    "  -c, --config FILE        read settings from an ini file (default, unless an\n"
    "                           app is given: " SYSCONFDIR "/drover/drover.ini)\n"
    "      --bind ADDR          listen on host:port, [v6]:port or unix:/path (repeatable)\n"
    "      --workers N          number of worker processes (default: CPUs)\n"
    "      --cgi DIR|SCRIPT     run CGI scripts from DIR, or one SCRIPT for every path\n"
    "      --fastcgi CMD|ADDR   spawn the FastCGI app CMD, or use the one at host:port\n"
    "                           or unix:/path\n"
    "      --set S.KEY=VALUE    set any config key, e.g. --set session.ttl=600\n"
    "  -t, --check-config       validate the configuration and exit (2 if invalid)\n"
    "  -V, --version            print the version and exit\n"
    "  -h, --help               print this help and exit\n"
    "\n"
    "Precedence: defaults < ini file < environment (REDIS_URL, DROVER_SECRET_KEYS)\n"
    "< command line.\n";

void
cli_usage(int fd)
{
	const char *p = usage_text;
	size_t left = sizeof usage_text - 1;

	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += n;
		left -= (size_t)n;
	}
}

void
cli_free(struct cli *cli)
{
	for (size_t i = 0; i < cli->nsets; i++) {
		free(cli->sets[i].section);
		free(cli->sets[i].key);
		free(cli->sets[i].value);
		cli->sets[i].section = cli->sets[i].key = cli->sets[i].value = NULL;
	}
	cli->nsets = 0;
}

static void __attribute__((format(printf, 3, 4)))
cerr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Appends one setting after checking it against a scratch config, so a bad
 * value fails at parse time naming the flag ("where") it came from.
 */
static int
add_set(struct cli *cli, const char *where, const char *section, size_t slen,
    const char *key, size_t klen, const char *value, char *err, size_t errlen)
{
	struct config scratch;
	char msg[CONFIG_ERR_MAX];
	char *s, *k, *v;
	int rc;

	if (cli->nsets >= sizeof cli->sets / sizeof cli->sets[0]) {
		cerr(err, errlen, "drover: too many settings on the command line");
		return -1;
	}
	s = strndup(section, slen);
	k = strndup(key, klen);
	v = strdup(value);
	if (s == NULL || k == NULL || v == NULL) {
		free(s);
		free(k);
		free(v);
		cerr(err, errlen, "drover: out of memory");
		return -1;
	}

	config_defaults(&scratch);
	rc = config_set(&scratch, LAYER_CLI, s, k, v, where, msg, sizeof msg);
	config_free(&scratch);
	if (rc != 0) {
		free(s);
		free(k);
		free(v);
		cerr(err, errlen, "drover: %s", msg);
		return -1;
	}

	cli->sets[cli->nsets].section = s;
	cli->sets[cli->nsets].key = k;
	cli->sets[cli->nsets].value = v;
	cli->nsets++;
	return 0;
}

static int
add(struct cli *cli, const char *where, const char *section, const char *key,
    const char *value, char *err, size_t errlen)
{
	return add_set(cli, where, section, strlen(section), key, strlen(key),
	    value, err, errlen);
}

/* host:port with digits after the last colon and no spaces, or unix:PATH. */
static int
looks_like_address(const char *s)
{
	const char *colon;

	if (strncmp(s, "unix:", 5) == 0)
		return 1;
	if (strpbrk(s, " \t") != NULL)
		return 0;
	colon = strrchr(s, ':');
	if (colon == NULL || colon == s || colon[1] == '\0')
		return 0;
	return strspn(colon + 1, "0123456789") == strlen(colon + 1);
}

static int
parse_set(struct cli *cli, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '='), *dot;
	char where[128];

	dot = eq ? memchr(arg, '.', (size_t)(eq - arg)) : NULL;
	if (eq == NULL || dot == NULL || dot == arg || dot + 1 == eq) {
		cerr(err, errlen, "drover: --set expects SECTION.KEY=VALUE, got '%s'", arg);
		return -1;
	}
	snprintf(where, sizeof where, "--set %.*s", (int)(eq - arg), arg);
	return add_set(cli, where, arg, (size_t)(dot - arg), dot + 1,
	    (size_t)(eq - dot - 1), eq + 1, err, errlen);
}

/* Whether the command line says what to serve by itself. */
static bool
names_app(const struct cli *cli)
{
	for (size_t i = 0; i < cli->nsets; i++)
		if (strcmp(cli->sets[i].section, "app") == 0)
			return true;
	return false;
}

enum { OPT_BIND = 256, OPT_WORKERS, OPT_CGI, OPT_FASTCGI, OPT_SET };

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "bind", required_argument, NULL, OPT_BIND },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "cgi", required_argument, NULL, OPT_CGI },
	{ "fastcgi", required_argument, NULL, OPT_FASTCGI },
	{ "set", required_argument, NULL, OPT_SET },
	{ "check-config", no_argument, NULL, 't' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static const char *
opt_name(int opt)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

int
cli_parse(struct cli *cli, int argc, char **argv, char *err, size_t errlen)
{
	struct stat st;
	int opt, rc = 0;

	memset(cli, 0, sizeof *cli);
	/* 0, not 1: makes glibc reset its internal state for repeated calls. */
	optind = 0;
	opterr = 0;
	/* '+' stops at the first non-option instead of reordering argv. */
	while (rc == 0 &&
	    (opt = getopt_long(argc, argv, "+:c:tVh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cli->config_file = optarg;
			break;
		case 't':
			cli->check_only = true;
			break;
		case 'V':
			cli->version = true;
			break;
		case 'h':
			cli->help = true;
			break;
		case OPT_BIND:
			rc = add(cli, "--bind", "server", "bind", optarg, err, errlen);
			break;
		case OPT_WORKERS:
			rc = add(cli, "--workers", "server", "workers", optarg, err, errlen);
			break;
		case OPT_CGI:
			if (*optarg == '\0') {
				cerr(err, errlen, "drover: --cgi needs a directory or a script");
				rc = -1;
				break;
			}
			/* A missing path is taken as a script; validation names it. */
			if (stat(optarg, &st) == 0 && S_ISDIR(st.st_mode))
				rc = add(cli, "--cgi", "app", "root", optarg, err, errlen) ||
				    add(cli, "--cgi", "app", "script", "", err, errlen);
			else
				rc = add(cli, "--cgi", "app", "script", optarg, err, errlen) ||
				    add(cli, "--cgi", "app", "root", "", err, errlen);
			if (rc == 0)
				rc = add(cli, "--cgi", "app", "type", "cgi", err, errlen);
			break;
		case OPT_FASTCGI:
			if (*optarg == '\0') {
				cerr(err, errlen, "drover: --fastcgi needs a command or an address");
				rc = -1;
				break;
			}
			if (looks_like_address(optarg))
				rc = add(cli, "--fastcgi", "app", "address", optarg, err, errlen) ||
				    add(cli, "--fastcgi", "app", "command", "", err, errlen);
			else
				rc = add(cli, "--fastcgi", "app", "command", optarg, err, errlen) ||
				    add(cli, "--fastcgi", "app", "address", "", err, errlen);
			if (rc == 0)
				rc = add(cli, "--fastcgi", "app", "type", "fastcgi", err, errlen);
			break;
		case OPT_SET:
			rc = parse_set(cli, optarg, err, errlen);
			break;
		case ':':
			if (optopt >= 256)
				cerr(err, errlen, "drover: option '--%s' needs an argument",
				    opt_name(optopt));
			else if (optopt == 'c')
				cerr(err, errlen, "drover: option '-c' needs a file");
			else
				cerr(err, errlen, "drover: option '%s' needs an argument",
				    argv[optind - 1]);
			rc = -1;
			break;
		default:
			if (optopt != 0 && optopt < 256)
				cerr(err, errlen, "drover: unknown option '-%c'", optopt);
			else
				cerr(err, errlen, "drover: unknown option '%s'",
				    argv[optind - 1]);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && optind < argc) {
		cerr(err, errlen, "drover: unexpected argument '%s'", argv[optind]);
		rc = -1;
	}
	if (rc != 0) {
		cli_free(cli);
		return -1;
	}
	if (cli->config_file == NULL && !names_app(cli) &&
	    access(cli_default_config, F_OK) == 0)
		cli->config_file = cli_default_config;
	return 0;
}
