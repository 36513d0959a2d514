/*
 * config: see config.h. Every key is one row of the table below, and every
 * layer (defaults excepted) goes through config_set, so a value is checked
 * the same way whether it came from the file, the environment or a flag.
 *
 * This file must not open sockets, fork or log: errors travel back to the
 * caller as text so a reload can report them and keep the running config.
 */
#include <config.h>

#include <errno.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ini.h>

#include "common/cidr.h"
#include "common/log.h"
#include "common/util.h"
#include "conf/apps.h"
#include "conf/config.h"
#include "conf/secrets.h"

/* Enums are written through an int pointer by the table. */
_Static_assert(sizeof(enum app_type) == sizeof(int), "enum app_type is not int-sized");
_Static_assert(sizeof(enum cookie_secure) == sizeof(int), "enum cookie_secure is not int-sized");
_Static_assert(sizeof(enum follow_symlinks) == sizeof(int), "enum follow_symlinks is not int-sized");
_Static_assert(sizeof(enum forwarded_header) == sizeof(int), "enum forwarded_header is not int-sized");

enum ktype {
	K_STR,          /* char *; empty means unset (NULL) */
	K_INT,          /* int within [min, max] */
	K_I64,          /* int64_t within [min, max] */
	K_SIZE,         /* size_t, bytes with K/M/G, within [min, max] */
	K_DUR,          /* int64_t milliseconds, within [min, max] ms */
	K_BOOL,
	K_ENUM,         /* int, from a name table */
	K_CHOICE,       /* char *, one of a name table, stored in its canonical spelling */
	K_LEVEL,        /* int, log level */
	K_ADDR,         /* char *, host:port, [v6]:port or unix:/path; empty unsets */
	K_URL,          /* char *, redis:// or unix:/ URL; empty unsets */
	K_BINDS,        /* struct strlist of addresses */
	K_ENVS,         /* struct strlist of NAME=value */
	K_CIDRS,        /* char *, addresses and ADDR/BITS ranges or *; empty unsets */
	K_MODE,         /* int, octal permission bits within [min, max] */
};

/* Flags for string keys. */
#define F_NONEMPTY  0x1 /* an empty value is an error: consumers need one */
#define F_KEEPEMPTY 0x2 /* an empty value is kept as "" rather than NULL */
#define F_PREFIXES  0x4 /* space-separated words, each starting with '/' */
#define F_SUFFIXES  0x8 /* space-separated words, each starting with '.' */

struct name_value {
	const char *name;
	int value;
};

struct key {
	const char *section, *name;
	enum ktype type;
	size_t off;
	int64_t min, max;
	const struct name_value *names;  /* K_ENUM, K_CHOICE; NULL-terminated */
	int flags;
};

static const struct name_value app_types[] = {
	{ "cgi", APP_CGI }, { "fastcgi", APP_FASTCGI }, { "static", APP_STATIC }, { NULL, 0 }
};
static const struct name_value secure_names[] = {
	{ "auto", COOKIE_SECURE_AUTO },
	{ "true", COOKIE_SECURE_ON }, { "on", COOKIE_SECURE_ON }, { "yes", COOKIE_SECURE_ON },
	{ "false", COOKIE_SECURE_OFF }, { "off", COOKIE_SECURE_OFF }, { "no", COOKIE_SECURE_OFF },
	{ NULL, 0 }
};
static const struct name_value forwarded_names[] = {
	{ "x-forwarded-for", FORWARDED_X }, { "forwarded", FORWARDED_RFC7239 }, { NULL, 0 }
};
static const struct name_value access_formats[] = {
	{ "combined", 0 }, { "json", 1 }, { "logfmt", 2 }, { NULL, 0 }
};
static const struct name_value follow_names[] = {
	{ "yes", FOLLOW_YES }, { "owner", FOLLOW_OWNER }, { "no", FOLLOW_NO }, { NULL, 0 }
};
static const struct name_value samesite_names[] = {
	{ "Lax", 0 }, { "Strict", 1 }, { "None", 2 }, { NULL, 0 }
};

#define KB ((int64_t)1024)
#define MB (KB * 1024)
#define GB (MB * 1024)
#define SEC ((int64_t)1000)
/* A year bounds every duration so later arithmetic on it cannot overflow. */
#define DUR_MAX (366 * 24 * 3600 * SEC)
#define COUNT_MAX ((int64_t)1 << 40)

#define O(f) offsetof(struct config, f)

static const struct key keys[] = {
	{ "server", "bind", K_BINDS, O(binds), 0, 0, NULL, 0 },
	{ "server", "workers", K_INT, O(workers), 1, DROVER_MAX_WORKERS, NULL, 0 },
	{ "server", "backlog", K_INT, O(backlog), 1, 65535, NULL, 0 },
	{ "server", "user", K_STR, O(user), 0, 0, NULL, 0 },
	{ "server", "group", K_STR, O(group), 0, 0, NULL, 0 },
	{ "server", "allow_root", K_BOOL, O(allow_root), 0, 0, NULL, 0 },
	{ "server", "pidfile", K_STR, O(pidfile), 0, 0, NULL, 0 },
	{ "server", "graceful_timeout", K_DUR, O(graceful_timeout_ms), 0, DUR_MAX, NULL, 0 },
	{ "server", "timeout", K_DUR, O(timeout_ms), 1, DUR_MAX, NULL, 0 },
	{ "server", "max_requests", K_I64, O(max_requests), 0, COUNT_MAX, NULL, 0 },
	{ "server", "max_requests_jitter", K_I64, O(max_requests_jitter), 0, COUNT_MAX, NULL, 0 },
	{ "server", "keepalive_timeout", K_DUR, O(keepalive_timeout_ms), 0, DUR_MAX, NULL, 0 },
	{ "server", "header_timeout", K_DUR, O(header_timeout_ms), 1, DUR_MAX, NULL, 0 },
	{ "server", "max_header_bytes", K_SIZE, O(max_header_bytes), 512, 16 * MB, NULL, 0 },
	{ "server", "max_body_bytes", K_SIZE, O(max_body_bytes), 0, 64 * GB, NULL, 0 },
	{ "server", "body_timeout", K_DUR, O(body_timeout_ms), 1, DUR_MAX, NULL, 0 },
	{ "server", "body_buffer_bytes", K_SIZE, O(body_buffer_bytes), 0, 64 * MB, NULL, 0 },
	{ "server", "temp_dir", K_STR, O(temp_dir), 0, 0, NULL, F_NONEMPTY },
	{ "server", "max_connections", K_INT, O(max_connections), 1, 1000000, NULL, 0 },
	{ "server", "forwarded_allow_ips", K_CIDRS, O(forwarded_allow_ips), 0, 0, NULL, 0 },
	{ "server", "socket_mode", K_MODE, O(socket_mode), 0, 0777, NULL, 0 },
	{ "server", "socket_owner", K_STR, O(socket_owner), 0, 0, NULL, 0 },
	{ "server", "forwarded_header", K_ENUM, O(forwarded_header), 0, 0, forwarded_names, 0 },

	{ "app", "type", K_ENUM, O(app_type), 0, 0, app_types, 0 },
	{ "app", "root", K_STR, O(root), 0, 0, NULL, 0 },
	{ "app", "script", K_STR, O(script), 0, 0, NULL, 0 },
	{ "app", "command", K_STR, O(command), 0, 0, NULL, 0 },
	{ "app", "address", K_ADDR, O(address), 0, 0, NULL, 0 },
	{ "app", "processes", K_INT, O(processes), 1, 64, NULL, 0 },
	{ "app", "max_queue", K_INT, O(max_queue), 0, 1000000, NULL, 0 },
	{ "app", "max_app_requests", K_I64, O(max_app_requests), 0, COUNT_MAX, NULL, 0 },
	{ "app", "request_timeout", K_DUR, O(request_timeout_ms), 1, DUR_MAX, NULL, 0 },
	{ "app", "working_dir", K_STR, O(working_dir), 0, 0, NULL, 0 },
	{ "app", "env", K_ENVS, O(env), 0, 0, NULL, 0 },
	{ "app", "pass_env", K_STR, O(pass_env), 0, 0, NULL, F_KEEPEMPTY },
	{ "app", "extensions", K_STR, O(extensions), 0, 0, NULL, F_NONEMPTY | F_SUFFIXES },
	{ "app", "deny", K_STR, O(deny), 0, 0, NULL, F_PREFIXES },
	{ "app", "user", K_STR, O(app_user), 0, 0, NULL, 0 },
	{ "app", "group", K_STR, O(app_group), 0, 0, NULL, 0 },
	{ "app", "index", K_STR, O(index), 0, 0, NULL, 0 },
	{ "app", "static_root", K_STR, O(static_root), 0, 0, NULL, 0 },
	{ "app", "mime_types", K_STR, O(mime_types), 0, 0, NULL, 0 },
	{ "app", "expires", K_DUR, O(expires_ms), 0, DUR_MAX, NULL, 0 },
	{ "app", "follow_symlinks", K_ENUM, O(follow_symlinks), 0, 0, follow_names, 0 },
	{ "app", "pass_authorization", K_BOOL, O(pass_authorization), 0, 0, NULL, 0 },
	{ "app", "auth_basic", K_STR, O(auth_basic), 0, 0, NULL, 0 },
	{ "app", "auth_realm", K_STR, O(auth_realm), 0, 0, NULL, F_NONEMPTY },
	{ "app", "x_sendfile", K_STR, O(x_sendfile), 0, 0, NULL, F_PREFIXES },

	{ "session", "enabled", K_BOOL, O(session_enabled), 0, 0, NULL, 0 },
	{ "session", "cookie_name", K_STR, O(cookie_name), 0, 0, NULL, F_NONEMPTY },
	{ "session", "cookie_secure", K_ENUM, O(cookie_secure), 0, 0, secure_names, 0 },
	{ "session", "cookie_samesite", K_CHOICE, O(cookie_samesite), 0, 0, samesite_names, 0 },
	{ "session", "ttl", K_DUR, O(ttl_ms), 1 * SEC, DUR_MAX, NULL, 0 },
	{ "session", "max_entries", K_I64, O(max_entries), 1, 100000000, NULL, 0 },
	{ "session", "max_bytes", K_SIZE, O(max_bytes), 64 * KB, 64 * GB, NULL, 0 },
	{ "session", "max_value_bytes", K_SIZE, O(max_value_bytes), 1, 1 * GB, NULL, 0 },
	{ "session", "warn_value_bytes", K_SIZE, O(warn_value_bytes), 0, 1 * GB, NULL, 0 },
	{ "session", "compress_min_bytes", K_SIZE, O(compress_min_bytes), 0, 1 * GB, NULL, 0 },
	{ "session", "secret_keys", K_STR, O(secret_keys), 0, 0, NULL, 0 },

	{ "redis", "url", K_URL, O(redis_url), 0, 0, NULL, 0 },
	{ "redis", "key_prefix", K_STR, O(key_prefix), 0, 0, NULL, F_KEEPEMPTY },
	{ "redis", "connect_timeout", K_DUR, O(connect_timeout_ms), 1, DUR_MAX, NULL, 0 },
	{ "redis", "command_timeout", K_DUR, O(command_timeout_ms), 1, DUR_MAX, NULL, 0 },
	{ "redis", "breaker_failures", K_INT, O(breaker_failures), 1, 1000000, NULL, 0 },
	{ "redis", "breaker_window", K_DUR, O(breaker_window_ms), 1, DUR_MAX, NULL, 0 },

	{ "admin", "bind", K_ADDR, O(admin_bind), 0, 0, NULL, 0 },
	{ "admin", "control_socket", K_STR, O(control_socket), 0, 0, NULL, 0 },

	{ "log", "level", K_LEVEL, O(log_level), 0, 0, NULL, 0 },
	{ "log", "error_log", K_STR, O(error_log), 0, 0, NULL, F_NONEMPTY },
	{ "log", "access_log", K_STR, O(access_log), 0, 0, NULL, F_NONEMPTY },
	{ "log", "access_format", K_CHOICE, O(access_format), 0, 0, access_formats, 0 },
};

#define NKEYS (sizeof keys / sizeof keys[0])

const char *
config_key_name(size_t i, const char **section)
{
	if (i >= NKEYS)
		return NULL;
	if (section != NULL)
		*section = keys[i].section;
	return keys[i].name;
}

static char **
str_at(struct config *c, const struct key *k)
{
	return (char **)((char *)c + k->off);
}

static struct strlist *
list_at(struct config *c, const struct key *k)
{
	return (struct strlist *)((char *)c + k->off);
}

/* ---- unit parsers ---- */

/*
 * Reads a run of decimal digits. Signs, spaces and an empty run are refused
 * here because strtoull would quietly accept "-1" and " 5".
 */
static int
parse_digits(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*sp = s;
	*out = v;
	return 0;
}

int
parse_size(const char *s, size_t *out)
{
	uint64_t v, mult = 1;

	if (s == NULL || parse_digits(&s, &v) != 0)
		return -1;
	switch (*s) {
	case '\0':
		break;
	case 'k': case 'K':
		mult = 1024;
		s++;
		break;
	case 'm': case 'M':
		mult = 1024 * 1024;
		s++;
		break;
	case 'g': case 'G':
		mult = 1024 * 1024 * 1024;
		s++;
		break;
	default:
		return -1;
	}
	if (*s != '\0')
		return -1;
	if (v > SIZE_MAX / mult)
		return -1;
	*out = (size_t)(v * mult);
	return 0;
}

int
parse_duration_ms(const char *s, int64_t *out)
{
	uint64_t v, mult;

	if (s == NULL || parse_digits(&s, &v) != 0)
		return -1;
	if (*s == '\0' || strcmp(s, "s") == 0)
		mult = 1000;
	else if (strcmp(s, "ms") == 0)
		mult = 1;
	else
		return -1;
	if (v > (uint64_t)INT64_MAX / mult)
		return -1;
	*out = (int64_t)(v * mult);
	return 0;
}

int
parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[] = { "false", "no", "off", "0" };

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int
parse_i64(const char *s, int64_t *out)
{
	uint64_t v;

	if (parse_digits(&s, &v) != 0 || *s != '\0' || v > (uint64_t)INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* Loose on purpose: the listener resolves the host; this catches typos early. */
static int
check_addr(const char *s, const char **why)
{
	const char *colon, *p;
	uint64_t port;

	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] == '\0') {
			*why = "unix: needs a path";
			return -1;
		}
		if (strlen(s + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			*why = "unix socket path too long";
			return -1;
		}
		return 0;
	}
	if (strpbrk(s, " \t") != NULL) {
		*why = "spaces are not allowed";
		return -1;
	}
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end == s + 1 || end[1] != ':') {
			*why = "expected [v6]:port";
			return -1;
		}
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || colon == s) {
			*why = "expected host:port";
			return -1;
		}
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			*why = "IPv6 addresses need brackets: [v6]:port";
			return -1;
		}
	}
	p = colon + 1;
	if (parse_digits(&p, &port) != 0 || *p != '\0' || port > 65535) {
		*why = "port must be a number 0..65535";
		return -1;
	}
	return 0;
}

/* ---- errors ---- */

static void __attribute__((format(printf, 3, 4)))
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Quotes a value for a message, cutting it so the key stays readable. */
static const char *
shown(char *buf, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n + 3 <= cap)
		snprintf(buf, cap, "'%s'", v);
	else
		snprintf(buf, cap, "'%.*s...'", (int)(cap > 8 ? cap - 8 : 0), v);
	return buf;
}

static void __attribute__((format(printf, 6, 7)))
key_err(char *err, size_t errlen, const char *where, const struct key *k,
    const char *value, const char *fmt, ...)
{
	char msg[256], val[80];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	errf(err, errlen, "%s%s[%s] %s: %s, got %s", where ? where : "",
	    where ? ": " : "", k->section, k->name, msg,
	    shown(val, sizeof val, value));
}

/* ---- strlist ---- */

static void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
strlist_add(struct strlist *l, int layer, const char *value)
{
	char **nv, *dup;

	/* A lower layer arriving late must not mix into what a higher one chose. */
	if (layer < l->layer)
		return 0;
	if (layer > l->layer) {
		strlist_free(l);
		l->layer = layer;
	}
	if ((dup = strdup(value)) == NULL)
		return -1;
	nv = realloc(l->v, (l->n + 1) * sizeof *nv);
	if (nv == NULL) {
		free(dup);
		return -1;
	}
	nv[l->n++] = dup;
	l->v = nv;
	return 0;
}

/* ---- defaults ---- */

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		/* Defaults are tiny; failing here means the process cannot run at all. */
		fputs("drover: out of memory\n", stderr);
		abort();
	}
	return p;
}

void
config_defaults(struct config *c)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof *c);

	c->binds.layer = LAYER_DEFAULT;
	if (strlist_add(&c->binds, LAYER_DEFAULT, "127.0.0.1:8000") != 0) {
		fputs("drover: out of memory\n", stderr);
		abort();
	}
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > DROVER_MAX_WORKERS)
		ncpu = DROVER_MAX_WORKERS;
	c->workers = (int)ncpu;
	c->backlog = 1024;
	c->graceful_timeout_ms = 30 * SEC;
	c->timeout_ms = 30 * SEC;
	c->max_requests = 0;
	c->max_requests_jitter = 0;
	c->keepalive_timeout_ms = 5 * SEC;
	c->header_timeout_ms = 10 * SEC;
	c->max_header_bytes = 16 * KB;
	c->max_body_bytes = 10 * MB;
	c->body_timeout_ms = 60 * SEC;
	c->body_buffer_bytes = 64 * KB;
	c->temp_dir = xstrdup("/tmp");
	c->max_connections = 1024;
	c->forwarded_allow_ips = xstrdup("127.0.0.1");
	c->socket_mode = 0660;

	c->app_type = APP_CGI;
	c->processes = 1;
	c->max_queue = 1024;
	c->max_app_requests = 0;
	c->request_timeout_ms = 60 * SEC;
	c->env.layer = LAYER_DEFAULT;
	c->pass_env = xstrdup("PATH LANG");
	c->extensions = xstrdup(".php");
	c->auth_realm = xstrdup("drover");

	c->session_enabled = true;
	c->cookie_name = xstrdup("drover_sid");
	c->cookie_secure = COOKIE_SECURE_AUTO;
	c->cookie_samesite = xstrdup("Lax");
	c->ttl_ms = 1800 * SEC;
	c->max_entries = 10000;
	c->max_bytes = 64 * MB;
	c->max_value_bytes = 64 * KB;
	c->warn_value_bytes = 16 * KB;
	c->compress_min_bytes = 1 * KB;

	c->key_prefix = xstrdup("drover:");
	c->connect_timeout_ms = 200;
	c->command_timeout_ms = 200;
	c->breaker_failures = 5;
	c->breaker_window_ms = 10 * SEC;

	c->admin_bind = xstrdup("127.0.0.1:9191");

	c->log_level = LOG_INFO;
	c->error_log = xstrdup("-");
	c->access_log = xstrdup("-");
	c->access_format = xstrdup("combined");
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		switch (k->type) {
		case K_STR:
		case K_CHOICE:
		case K_CIDRS:
		case K_ADDR:
		case K_URL: {
			char **p = str_at(c, k);
			free(*p);
			*p = NULL;
			break;
		}
		case K_BINDS:
		case K_ENVS:
			strlist_free(list_at(c, k));
			break;
		default:
			break;
		}
	}
	free(c->file);
	c->file = NULL;
	apps_free(c);
	if (c->origins != NULL) {
		for (size_t i = 0; i < NKEYS; i++)
			free(c->origins[i]);
		free(c->origins);
		c->origins = NULL;
	}
}

/*
 * Copies every key outside [app] from src into dst (which holds defaults):
 * a named [app NAME] section shares the server, session, redis, admin and
 * log settings and has only its [app] keys of its own.
 */
int
config_copy_shared(struct config *dst, const struct config *src)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		if (strcmp(k->section, "app") == 0)
			continue;
		switch (k->type) {
		case K_STR:
		case K_CHOICE:
		case K_CIDRS:
		case K_ADDR:
		case K_URL: {
			char **d = str_at(dst, k);
			const char *v = *(char *const *)((const char *)src + k->off);
			free(*d);
			*d = NULL;
			if (v != NULL && (*d = strdup(v)) == NULL)
				return -1;
			break;
		}
		case K_BINDS:
		case K_ENVS: {
			struct strlist *d = list_at(dst, k);
			const struct strlist *sl = (const struct strlist *)((const char *)src + k->off);
			strlist_free(d);
			for (size_t j = 0; j < sl->n; j++)
				if (strlist_add(d, sl->layer, sl->v[j]) != 0)
					return -1;
			break;
		}
		case K_INT:
		case K_ENUM:
		case K_LEVEL:
		case K_MODE:
			*(int *)((char *)dst + k->off) = *(const int *)((const char *)src + k->off);
			break;
		case K_I64:
		case K_DUR:
			*(int64_t *)((char *)dst + k->off) = *(const int64_t *)((const char *)src + k->off);
			break;
		case K_SIZE:
			*(size_t *)((char *)dst + k->off) = *(const size_t *)((const char *)src + k->off);
			break;
		case K_BOOL:
			*(bool *)((char *)dst + k->off) = *(const bool *)((const char *)src + k->off);
			break;
		}
	}
	free(dst->file);
	dst->file = src->file ? strdup(src->file) : NULL;
	return src->file && dst->file == NULL ? -1 : 0;
}

/* ---- config_set ---- */

static const struct key *
find_key(const char *section, const char *name, bool *section_known)
{
	*section_known = false;
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) != 0)
			continue;
		*section_known = true;
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

static int
set_string(char **dst, const char *value, bool keep_empty)
{
	char *v = NULL;

	if (*value != '\0' || keep_empty) {
		if ((v = strdup(value)) == NULL)
			return -1;
	}
	free(*dst);
	*dst = v;
	return 0;
}

static const char *
names_list(char *buf, size_t cap, const struct name_value *nv)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; nv->name != NULL && used < cap; nv++) {
		int n = snprintf(buf + used, cap - used, "%s%s",
		    used ? "|" : "", nv->name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

/* Each space-separated word of s begins with lead and has more after it. */
static bool
words_start_with(const char *s, char lead)
{
	for (;;) {
		s += strspn(s, " \t");
		if (*s == '\0')
			return true;
		size_t n = strcspn(s, " \t");
		if (s[0] != lead || (lead == '.' && n < 2))
			return false;
		s += n;
	}
}

static int
set_key(struct config *c, int layer, const char *section, const char *key,
    const char *value, const char *where, char *err, size_t errlen)
{
	const struct key *k;
	bool section_known;
	const char *pre = where ? where : "", *sep = where ? ": " : "";
	const char *why;
	char buf[128];
	int64_t i64;
	size_t sz;
	bool b;

	if (value == NULL)
		value = "";
	if (section == NULL || *section == '\0') {
		errf(err, errlen, "%s%skey '%s' is outside any section", pre, sep, key);
		return -1;
	}
	k = find_key(section, key, &section_known);
	if (!section_known) {
		errf(err, errlen, "%s%sunknown section [%s]", pre, sep, section);
		return -1;
	}
	if (k == NULL) {
		errf(err, errlen, "%s%s[%s] unknown key '%s'", pre, sep, section, key);
		return -1;
	}
	if (strcmp(section, "app") == 0)
		c->app_configured = true;

	switch (k->type) {
	case K_STR:
		if (*value == '\0' && (k->flags & F_NONEMPTY)) {
			key_err(err, errlen, where, k, value, "expected a value");
			return -1;
		}
		if ((k->flags & (F_PREFIXES | F_SUFFIXES)) && !words_start_with(value,
		    (k->flags & F_PREFIXES) ? '/' : '.')) {
			key_err(err, errlen, where, k, value, "expected words each starting with '%c'",
			    (k->flags & F_PREFIXES) ? '/' : '.');
			return -1;
		}
		if (set_string(str_at(c, k), value, k->flags & F_KEEPEMPTY) != 0)
			goto nomem;
		return 0;

	case K_INT:
	case K_I64:
		if (parse_i64(value, &i64) != 0 || i64 < k->min || i64 > k->max) {
			key_err(err, errlen, where, k, value,
			    "expected an integer %lld..%lld",
			    (long long)k->min, (long long)k->max);
			return -1;
		}
		if (k->type == K_INT)
			*(int *)((char *)c + k->off) = (int)i64;
		else
			*(int64_t *)((char *)c + k->off) = i64;
		return 0;

	case K_SIZE:
		if (parse_size(value, &sz) != 0) {
			key_err(err, errlen, where, k, value,
			    "expected a size in bytes, or with a K, M or G suffix (1K = 1024)");
			return -1;
		}
		if ((uint64_t)sz < (uint64_t)k->min || (uint64_t)sz > (uint64_t)k->max) {
			key_err(err, errlen, where, k, value,
			    "expected a size %lld..%lld bytes",
			    (long long)k->min, (long long)k->max);
			return -1;
		}
		*(size_t *)((char *)c + k->off) = sz;
		return 0;

	case K_DUR:
		if (parse_duration_ms(value, &i64) != 0) {
			key_err(err, errlen, where, k, value,
			    "expected whole seconds (30, 30s) or milliseconds (200ms); "
			    "fractions are not accepted, write 1500ms for 1.5s");
			return -1;
		}
		if (i64 < k->min || i64 > k->max) {
			key_err(err, errlen, where, k, value,
			    "expected a duration %lldms..%llds",
			    (long long)k->min, (long long)(k->max / SEC));
			return -1;
		}
		*(int64_t *)((char *)c + k->off) = i64;
		return 0;

	case K_BOOL:
		if (parse_bool(value, &b) != 0) {
			key_err(err, errlen, where, k, value,
			    "expected true|false (also yes|no, on|off, 1|0)");
			return -1;
		}
		*(bool *)((char *)c + k->off) = b;
		return 0;

	case K_ENUM:
	case K_CHOICE:
		for (const struct name_value *nv = k->names; nv->name; nv++) {
			if (strcasecmp(nv->name, value) != 0)
				continue;
			if (k->type == K_ENUM) {
				*(int *)((char *)c + k->off) = nv->value;
				return 0;
			}
			if (set_string(str_at(c, k), nv->name, false) != 0)
				goto nomem;
			return 0;
		}
		key_err(err, errlen, where, k, value, "expected %s",
		    names_list(buf, sizeof buf, k->names));
		return -1;

	case K_LEVEL: {
		int lv = log_level_parse(value);
		if (lv < 0) {
			key_err(err, errlen, where, k, value,
			    "expected debug|info|warn|error");
			return -1;
		}
		*(int *)((char *)c + k->off) = lv;
		return 0;
	}

	case K_ADDR:
		if (*value != '\0' && check_addr(value, &why) != 0) {
			key_err(err, errlen, where, k, value,
			    "expected host:port, [v6]:port or unix:/path (%s)", why);
			return -1;
		}
		if (set_string(str_at(c, k), value, false) != 0)
			goto nomem;
		return 0;

	case K_MODE: {
		int64_t mode = 0;
		size_t n = strlen(value);
		bool ok = n > 0 && n <= 4 && strspn(value, "01234567") == n;
		for (size_t i = 0; ok && i < n; i++)
			mode = mode * 8 + (value[i] - '0');
		if (!ok || mode < k->min || mode > k->max) {
			key_err(err, errlen, where, k, value, "expected octal permission bits such as 0660");
			return -1;
		}
		*(int *)((char *)c + k->off) = (int)mode;
		return 0;
	}

	case K_CIDRS: {
		struct cidr_set set;
		if (cidr_set_parse(&set, value, buf, sizeof buf) != 0) {
			key_err(err, errlen, where, k, value,
			    "expected addresses or ranges like 10.0.0.0/8, ::1 or * (%s)", buf);
			return -1;
		}
		if (set_string(str_at(c, k), value, false) != 0)
			goto nomem;
		return 0;
	}

	case K_URL:
		if (*value != '\0' && strncmp(value, "redis://", 8) != 0 &&
		    strncmp(value, "unix:/", 6) != 0) {
			key_err(err, errlen, where, k, value,
			    "expected redis://[:password@]host:port[/db] or unix:/path");
			return -1;
		}
		if (set_string(str_at(c, k), value, false) != 0)
			goto nomem;
		return 0;

	case K_BINDS:
		if (check_addr(value, &why) != 0) {
			key_err(err, errlen, where, k, value,
			    "expected host:port, [v6]:port or unix:/path (%s)", why);
			return -1;
		}
		if (strlist_add(list_at(c, k), layer, value) != 0)
			goto nomem;
		return 0;

	case K_ENVS: {
		const char *eq = strchr(value, '=');
		if (eq == NULL || eq == value || strcspn(value, " \t") < (size_t)(eq - value)) {
			key_err(err, errlen, where, k, value, "expected NAME=value");
			return -1;
		}
		if (strlist_add(list_at(c, k), layer, value) != 0)
			goto nomem;
		return 0;
	}
	}
	errf(err, errlen, "%s%s[%s] %s: unsupported key type", pre, sep, section, key);
	return -1;

nomem:
	errf(err, errlen, "%s%s[%s] %s: out of memory", pre, sep, section, key);
	return -1;
}

/* Remembers where a key got its value, so a later cross-key check can say
 * FILE:LINE even though it runs once every layer is in. Best effort: without
 * memory the message just lacks the place. */
static void
note_origin(struct config *c, const char *section, const char *key, const char *where)
{
	bool section_known;
	const struct key *k = find_key(section, key, &section_known);
	char *dup;

	if (k == NULL || where == NULL)
		return;
	if (c->origins == NULL && (c->origins = calloc(NKEYS, sizeof *c->origins)) == NULL)
		return;
	if ((dup = strdup(where)) == NULL)
		return;
	free(c->origins[k - keys]);
	c->origins[k - keys] = dup;
}

int
config_set(struct config *c, int layer, const char *section, const char *key,
    const char *value, const char *where, char *err, size_t errlen)
{
	if (set_key(c, layer, section, key, value, where, err, errlen) != 0)
		return -1;
	note_origin(c, section, key, where);
	return 0;
}

/* ---- file layer ---- */

/*
 * The packaged libinih does not pass line numbers to the handler, so the
 * reader counts lines as it hands them over; the handler runs while the
 * line it reports on is the last one read.
 */
struct load {
	struct config *c;
	const char *path;
	FILE *f;
	int depth;           /* 0 for the main file, +1 per include */
	int line;            /* number of the line being read */
	bool at_line_start;
	int err_line;        /* first error found by us, 0 if none */
	bool too_long;
	char *err;
	size_t errlen;
};

static int load_one(struct config *c, const char *path, int depth, int *lines,
    char *err, size_t errlen);

static char *
load_reader(char *str, int num, void *stream)
{
	struct load *ld = stream;
	size_t n;

	if (ld->err_line != 0)
		return NULL;
	if (fgets(str, num, ld->f) == NULL)
		return NULL;
	if (ld->at_line_start)
		ld->line++;
	n = strlen(str);
	ld->at_line_start = n > 0 && str[n - 1] == '\n';
	/* inih would parse the rest of a long line as a line of its own. */
	if (!ld->at_line_start && !feof(ld->f)) {
		ld->err_line = ld->line;
		ld->too_long = true;
		errf(ld->err, ld->errlen, "%s:%d: line too long (at most %d characters)",
		    ld->path, ld->line, num - 3);
		return NULL;
	}
	if (str[strspn(str, " \t")] == '[') {
		char where[PATH_MAX + 32];
		snprintf(where, sizeof where, "%s:%d", ld->path, ld->line);
		if (apps_header(ld->c, str, where, ld->err, ld->errlen) != 0) {
			ld->err_line = ld->line;
			return NULL;
		}
	}
	return str;
}

/*
 * `include = GLOB`, in any section or before the first: every match is read
 * now, in sorted order, as if its lines stood here, each starting outside
 * any section; the including file then goes on in its own section. A
 * pattern with no wildcard must name a file; one with wildcards may match
 * nothing (an empty conf.d is normal). Relative patterns are taken from the
 * including file's directory, so a config tree can move as a whole.
 */
/* A directory of the pattern that does not exist matches nothing; one that
 * cannot be read is an error, so a conf.d the service user may not read is
 * reported rather than silently skipped. */
static int
glob_error(const char *path, int eerrno)
{
	(void)path;
	return eerrno != ENOENT && eerrno != ENOTDIR;
}

static int
load_include(struct load *ld, const char *where, const char *pattern)
{
	char full[PATH_MAX];
	const char *slash = strrchr(ld->path, '/');
	bool magic = strpbrk(pattern, "*?[") != NULL;
	glob_t g;
	int rc, lines;

	if (*pattern == '\0') {
		errf(ld->err, ld->errlen, "%s: include: expected a file or a pattern", where);
		return -1;
	}
	if (ld->depth + 1 >= CONFIG_INCLUDE_DEPTH) {
		errf(ld->err, ld->errlen, "%s: include '%s': nested more than %d deep "
		    "(does a file include itself?)", where, pattern, CONFIG_INCLUDE_DEPTH);
		return -1;
	}
	if (pattern[0] == '/' || slash == NULL)
		rc = snprintf(full, sizeof full, "%s", pattern);
	else
		rc = snprintf(full, sizeof full, "%.*s/%s", (int)(slash - ld->path),
		    ld->path, pattern);
	if (rc < 0 || (size_t)rc >= sizeof full) {
		errf(ld->err, ld->errlen, "%s: include: path too long", where);
		return -1;
	}
	if (!magic) {
		struct stat st;
		if (stat(full, &st) != 0) {
			errf(ld->err, ld->errlen, "%s: include '%s': %s", where, full,
			    strerror(errno));
			return -1;
		}
		return load_one(ld->c, full, ld->depth + 1, &lines, ld->err, ld->errlen);
	}

	memset(&g, 0, sizeof g);
	rc = glob(full, 0, glob_error, &g);
	if (rc == GLOB_NOMATCH) {
		globfree(&g);
		return 0;
	}
	if (rc != 0) {
		errf(ld->err, ld->errlen, "%s: include '%s': %s", where, full,
		    rc == GLOB_NOSPACE ? "out of memory" : "cannot read the directory");
		globfree(&g);
		return -1;
	}
	rc = 0;
	for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
		rc = load_one(ld->c, g.gl_pathv[i], ld->depth + 1, &lines, ld->err,
		    ld->errlen);
	globfree(&g);
	return rc;
}

static int
load_handler(void *user, const char *section, const char *name, const char *value)
{
	struct load *ld = user;
	char where[PATH_MAX + 32];
	int rc;

	if (ld->err_line != 0)
		return 1;
	snprintf(where, sizeof where, "%s:%d", ld->path, ld->line);
	if (strcmp(name, "include") == 0)
		rc = load_include(ld, where, value);
	else if ((rc = apps_handler(ld->c, section, name, value, where, ld->err, ld->errlen)) <= 0)
		;   /* an [app NAME] section's key: kept for apps_finish */
	else
		rc = config_set(ld->c, LAYER_FILE, section, name, value, where,
		    ld->err, ld->errlen);
	if (rc != 0) {
		ld->err_line = ld->line;
		return 0;
	}
	return 1;
}

/* Reads one file (the main one or an included one) into c; *lines gets its
 * number of lines. */
static int
load_one(struct config *c, const char *path, int depth, int *lines, char *err,
    size_t errlen)
{
	struct load ld;
	struct stat st;
	int rc, saved;

	memset(&ld, 0, sizeof ld);
	ld.c = c;
	ld.path = path;
	ld.depth = depth;
	ld.err = err;
	ld.errlen = errlen;
	ld.at_line_start = true;

	if ((ld.f = fopen(path, "re")) == NULL) {
		errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(ld.f), &st) != 0)
		saved = errno;
	else if (S_ISDIR(st.st_mode))
		saved = EISDIR;
	else if (depth > 0 && !S_ISREG(st.st_mode))
		saved = EINVAL;   /* a FIFO or device would hang or flood -t */
	else
		saved = 0;
	if (saved != 0) {
		fclose(ld.f);
		errf(err, errlen, "%s: cannot open: %s", path, strerror(saved));
		return -1;
	}

	rc = ini_parse_stream(load_reader, &ld, load_handler, &ld);
	*lines = ld.line;
	if (ferror(ld.f)) {
		saved = errno;
		fclose(ld.f);
		errf(err, errlen, "%s: read error: %s", path, strerror(saved));
		return -1;
	}
	fclose(ld.f);
	if (rc > 0 && (ld.err_line == 0 || rc < ld.err_line)) {
		errf(err, errlen, "%s:%d: syntax error", path, rc);
		return -1;
	}
	if (rc == -2) {
		errf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (ld.err_line != 0 || rc != 0)
		return -1;
	return 0;
}

int
config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	char *dup;

	if ((dup = strdup(path)) == NULL) {
		errf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	free(c->file);
	c->file = dup;
	return load_one(c, path, 0, &c->file_lines, err, errlen);
}

/* ---- validation ---- */

/*
 * Where a cross-key error is to be reported. Every message of
 * config_validate starts "[section] key..." or "[section] ...", which is
 * what this reads: the place that key was set, else the place the first key
 * of that section was set, else the end of the main file (for a key that is
 * missing altogether), else "drover" when no file was read. Reading it from
 * the message keeps each check a single line that cannot forget its place.
 */
static const char *
origin_of(const struct config *c, const char *msg, char *buf, size_t cap)
{
	const char *close, *name, *section_hit = NULL;
	size_t slen, nlen;

	if (msg[0] == '[' && (close = strchr(msg, ']')) != NULL && c->origins != NULL) {
		slen = (size_t)(close - msg - 1);
		name = close + 1 + strspn(close + 1, " ");
		nlen = strspn(name, "abcdefghijklmnopqrstuvwxyz_");
		for (size_t i = 0; i < NKEYS; i++) {
			if (c->origins[i] == NULL || strlen(keys[i].section) != slen ||
			    strncmp(keys[i].section, msg + 1, slen) != 0)
				continue;
			if (strlen(keys[i].name) == nlen && strncmp(keys[i].name, name, nlen) == 0)
				return c->origins[i];
			if (section_hit == NULL && strchr(c->origins[i], ':') != NULL &&
			    strncmp(c->origins[i], "--", 2) != 0)
				section_hit = c->origins[i];
		}
	}
	if (section_hit != NULL)
		return section_hit;
	if (c->file != NULL) {
		snprintf(buf, cap, "%s:%d", c->file, c->file_lines > 0 ? c->file_lines : 1);
		return buf;
	}
	return "drover";
}

static void __attribute__((format(printf, 4, 5)))
verr(const struct config *c, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[CONFIG_ERR_MAX], place[PATH_MAX + 32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	errf(err, errlen, "%s: %s", origin_of(c, msg, place, sizeof place), msg);
}

static bool
nonempty(const char *s)
{
	return s != NULL && *s != '\0';
}

/* key names a directory drover can search and read. */
static int
check_dir(const struct config *c, const char *key, const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		verr(c, err, errlen, "[app] %s: %s: %s", key, dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		verr(c, err, errlen, "[app] %s: %s is not a directory%s", key, dir,
		    strcmp(key, "root") == 0 ? " (use [app] script for a single script)" : "");
		return -1;
	}
	if (access(dir, R_OK | X_OK) != 0) {
		verr(c, err, errlen, "[app] %s: %s: %s", key, dir, strerror(errno));
		return -1;
	}
	return 0;
}

int
config_validate(const struct config *c, char *err, size_t errlen)
{
	struct stat st;

	if (c->binds.n == 0) {
		verr(c, err, errlen, "[server] bind: no address to listen on");
		return -1;
	}
	for (size_t i = 0; i < c->binds.n; i++) {
		if (nonempty(c->admin_bind) && strcmp(c->binds.v[i], c->admin_bind) == 0) {
			verr(c, err, errlen, "[admin] bind: %s is also a [server] bind",
			    c->admin_bind);
			return -1;
		}
	}

	if (c->napps > 0 && !c->app_configured) {
		/* Only [app NAME] sections: apps_finish checked each of them. */
	} else if (c->app_type == APP_STATIC) {
		if (!nonempty(c->root)) {
			verr(c, err, errlen, "[app] type = static needs a root");
			return -1;
		}
		if (check_dir(c, "root", c->root, err, errlen) != 0)
			return -1;
	} else if (c->app_type == APP_CGI) {
		if (nonempty(c->root) && nonempty(c->script)) {
			verr(c, err, errlen, "[app] root and script are both set; "
			    "a CGI app uses one or the other");
			return -1;
		}
		if (!nonempty(c->root) && !nonempty(c->script)) {
			verr(c, err, errlen, "[app] no CGI scripts configured: "
			    "pass --cgi DIR or set [app] root (or [app] script)");
			return -1;
		}
		if (nonempty(c->root)) {
			if (check_dir(c, "root", c->root, err, errlen) != 0)
				return -1;
		} else {
			if (stat(c->script, &st) != 0) {
				verr(c, err, errlen, "[app] script: %s: %s", c->script,
				    strerror(errno));
				return -1;
			}
			if (!S_ISREG(st.st_mode)) {
				verr(c, err, errlen, "[app] script: %s is not a regular file",
				    c->script);
				return -1;
			}
			if (access(c->script, X_OK) != 0) {
				verr(c, err, errlen, "[app] script: %s is not executable",
				    c->script);
				return -1;
			}
		}
	} else {
		if (nonempty(c->command) && nonempty(c->address)) {
			verr(c, err, errlen, "[app] command and address are both set; "
			    "a FastCGI app is either spawned or external");
			return -1;
		}
		if (!nonempty(c->command) && !nonempty(c->address)) {
			verr(c, err, errlen, "[app] no FastCGI app configured: "
			    "pass --fastcgi COMMAND|ADDR or set [app] command or address");
			return -1;
		}
		if (nonempty(c->command)) {
			/* The program is the first word: it must be there and runnable. */
			char prog[PATH_MAX], path[PATH_MAX];
			snprintf(prog, sizeof prog, "%.*s", (int)strcspn(c->command, " \t"), c->command);
			if (find_executable(prog, path, sizeof path) < 0) {
				verr(c, err, errlen, "[app] command: %s: %s", prog, errno == EACCES ?
				    "not executable" : strchr(prog, '/') ? strerror(errno) : "not found in PATH");
				return -1;
			}
		}
	}

	if (nonempty(c->static_root) && check_dir(c, "static_root", c->static_root, err, errlen) != 0)
		return -1;
	if (nonempty(c->auth_basic) && access(c->auth_basic, R_OK) != 0) {
		verr(c, err, errlen, "[app] auth_basic: %s: %s", c->auth_basic, strerror(errno));
		return -1;
	}
	if (nonempty(c->auth_realm) && strpbrk(c->auth_realm, "\"\\") != NULL) {
		verr(c, err, errlen, "[app] auth_realm: no quotes or backslashes, got '%s'", c->auth_realm);
		return -1;
	}
	if (nonempty(c->mime_types) && access(c->mime_types, R_OK) != 0) {
		verr(c, err, errlen, "[app] mime_types: %s: %s", c->mime_types, strerror(errno));
		return -1;
	}

	/* Bodies spill there at run time: a missing directory is found now, not by the first upload. */
	if (stat(c->temp_dir, &st) != 0) {
		verr(c, err, errlen, "[server] temp_dir: %s: %s", c->temp_dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		verr(c, err, errlen, "[server] temp_dir: %s is not a directory", c->temp_dir);
		return -1;
	}

	if (c->max_value_bytes > c->max_bytes) {
		verr(c, err, errlen, "[session] max_value_bytes (%zu) is larger "
		    "than max_bytes (%zu)", c->max_value_bytes, c->max_bytes);
		return -1;
	}
	if (c->warn_value_bytes > c->max_value_bytes) {
		verr(c, err, errlen, "[session] warn_value_bytes (%zu) is larger "
		    "than max_value_bytes (%zu)", c->warn_value_bytes,
		    c->max_value_bytes);
		return -1;
	}

	/* Browsers drop a SameSite=None cookie that is not Secure. */
	if (c->cookie_samesite != NULL && strcasecmp(c->cookie_samesite, "None") == 0 &&
	    c->cookie_secure == COOKIE_SECURE_OFF) {
		verr(c, err, errlen, "[session] cookie_secure: must not be false with "
		    "cookie_samesite = None (a SameSite=None cookie always carries Secure)");
		return -1;
	}

	if (nonempty(c->redis_url)) {
		if (strncmp(c->redis_url, "redis://", 8) != 0 &&
		    strncmp(c->redis_url, "unix:/", 6) != 0) {
			verr(c, err, errlen, "[redis] url: expected redis:// or unix:/, "
			    "got '%s'", c->redis_url);
			return -1;
		}
		if (!nonempty(c->secret_keys) || strspn(c->secret_keys, ", \t") ==
		    strlen(c->secret_keys)) {
			verr(c, err, errlen, "[session] secret_keys: required when "
			    "[redis] url is set (or set DROVER_SECRET_KEYS)");
			return -1;
		}
	}

	const struct { const char *name, *key; bool group; } ids[] = {
		{ c->user, "[server] user", false }, { c->group, "[server] group", true },
		{ c->app_user, "[app] user", false }, { c->app_group, "[app] group", true },
	};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		if (!nonempty(ids[i].name))
			continue;
		if (ids[i].group ? getgrnam(ids[i].name) == NULL : getpwnam(ids[i].name) == NULL) {
			verr(c, err, errlen, "%s: no such %s '%s'", ids[i].key,
			    ids[i].group ? "group" : "user", ids[i].name);
			return -1;
		}
	}
	if (nonempty(c->socket_owner)) {
		char user[256];
		const char *colon = strchr(c->socket_owner, ':');
		size_t un = colon ? (size_t)(colon - c->socket_owner) : strlen(c->socket_owner);
		snprintf(user, sizeof user, "%.*s", (int)un, c->socket_owner);
		if (un > 0 && getpwnam(user) == NULL) {
			verr(c, err, errlen, "[server] socket_owner: no such user '%s'", user);
			return -1;
		}
		if (colon && colon[1] && getgrnam(colon + 1) == NULL) {
			verr(c, err, errlen, "[server] socket_owner: no such group '%s'", colon + 1);
			return -1;
		}
	}
	return 0;
}

/* ---- the whole chain ---- */

static const struct {
	const char *var, *section, *key;
} env_keys[] = {
	{ "REDIS_URL", "redis", "url" },
	{ "DROVER_SECRET_KEYS", "session", "secret_keys" },
};

int
config_build(struct config *c, const struct cli *cli, char *err, size_t errlen)
{
	char msg[CONFIG_ERR_MAX], where[160];

	config_defaults(c);

	if (cli != NULL && cli->config_file != NULL &&
	    config_load_file(c, cli->config_file, err, errlen) != 0)
		goto fail;

	for (size_t i = 0; i < sizeof env_keys / sizeof env_keys[0]; i++) {
		const char *v = secrets_get(env_keys[i].var);
		/* An empty variable counts as unset, as most tools treat it. */
		if (v == NULL || *v == '\0')
			continue;
		if (config_set(c, LAYER_ENV, env_keys[i].section, env_keys[i].key, v,
		    env_keys[i].var, msg, sizeof msg) != 0) {
			errf(err, errlen, "drover: %s", msg);
			goto fail;
		}
	}

	for (size_t i = 0; cli != NULL && i < cli->nsets; i++) {
		snprintf(where, sizeof where, "--set %s.%s", cli->sets[i].section,
		    cli->sets[i].key);
		if (config_set(c, LAYER_CLI, cli->sets[i].section, cli->sets[i].key,
		    cli->sets[i].value, where, msg, sizeof msg) != 0) {
			errf(err, errlen, "drover: %s", msg);
			goto fail;
		}
	}

	if (apps_finish(c, err, errlen) != 0 || config_validate(c, err, errlen) != 0)
		goto fail;
	return 0;

fail:
	config_free(c);
	return -1;
}
