/*
 * config: drover's settings, their defaults, and the one path that builds
 * them from defaults < ini file < environment < command line.
 *
 * Owns parsing and validation of every key of docs/design.md §3. It must not open
 * sockets, fork or touch anything outside the struct it fills: the supervisor
 * builds a fresh config on reload and keeps the old one if this fails.
 */
#ifndef DROVER_CONFIG_H
#define DROVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_ERR_MAX 512

enum app_type { APP_CGI = 0, APP_FASTCGI, APP_STATIC };
enum follow_symlinks { FOLLOW_YES = 0, FOLLOW_OWNER, FOLLOW_NO };
enum cookie_secure { COOKIE_SECURE_AUTO = 0, COOKIE_SECURE_ON, COOKIE_SECURE_OFF };
/* Which header a trusted proxy speaks: X-Forwarded-For/-Proto, or RFC 7239 Forwarded. */
enum forwarded_header { FORWARDED_X = 0, FORWARDED_RFC7239 };

/* Which layer set a value; a repeatable key set by a higher layer replaces
 * what the lower layers gave rather than adding to it. */
enum config_layer { LAYER_DEFAULT = 0, LAYER_FILE, LAYER_ENV, LAYER_CLI };

struct strlist {
	char **v;
	size_t n;
	int layer;
};

/*
 * The most workers a config may ask for ([server] workers, scale, TTIN).
 * A rolling restart runs one replacement beyond the target while every old
 * worker may still be draining, so the scoreboard has room for target +
 * surge + draining: twice as many plus one.
 */
#define DROVER_MAX_WORKERS 128
#define DROVER_SCOREBOARD_SLOTS (2 * DROVER_MAX_WORKERS + 1)

struct config {
	/* [server] */
	struct strlist binds;
	int workers;
	int backlog;
	char *user, *group, *pidfile;
	bool allow_root;          /* apps may run as uid 0 */
	int64_t graceful_timeout_ms, timeout_ms;
	int64_t max_requests, max_requests_jitter;
	int64_t keepalive_timeout_ms, header_timeout_ms;
	size_t max_header_bytes, max_body_bytes;
	int64_t body_timeout_ms;
	size_t body_buffer_bytes;
	char *temp_dir;
	int max_connections;
	char *forwarded_allow_ips;
	int socket_mode;          /* permission bits of unix: listeners */
	char *socket_owner;       /* user[:group] of unix: listeners */
	enum forwarded_header forwarded_header;

	/* [app] */
	enum app_type app_type;
	char *root, *script, *command, *address;
	int processes;
	int max_queue;            /* fastcgi: requests waiting for an app process, per worker */
	int64_t max_app_requests;
	int64_t request_timeout_ms;
	char *working_dir;
	struct strlist env;       /* NAME=value */
	char *pass_env;           /* space-separated names */
	char *extensions;         /* fastcgi root: space-separated script suffixes */
	char *deny;               /* space-separated path prefixes answered 404 */
	char *app_user, *app_group; /* apps under their own identity (root only) */
	char *index;              /* space-separated names; NULL: the type's default */
	char *static_root;        /* NULL: root */
	char *mime_types;         /* extra mime.types file, read after /etc/mime.types */
	int64_t expires_ms;       /* static files: Cache-Control max-age; 0: none */
	enum follow_symlinks follow_symlinks;
	bool pass_authorization;  /* Authorization reaches the app as HTTP_AUTHORIZATION */
	char *auth_basic;         /* htpasswd file: drover checks Basic credentials */
	char *auth_realm;
	char *x_sendfile;         /* space-separated directories X-Sendfile may name */

	/* [session] */
	bool session_enabled;
	char *cookie_name;
	enum cookie_secure cookie_secure;
	char *cookie_samesite;
	int64_t ttl_ms;
	int64_t max_entries;
	size_t max_bytes, max_value_bytes, warn_value_bytes, compress_min_bytes;
	char *secret_keys;        /* comma-separated */

	/* [redis] */
	char *redis_url, *key_prefix;
	int64_t connect_timeout_ms, command_timeout_ms;
	int breaker_failures;
	int64_t breaker_window_ms;

	/* [admin] */
	char *admin_bind, *control_socket;

	/* [log] */
	int log_level;
	char *error_log, *access_log, *access_format;

	/* [app NAME] sections (conf/apps.c): each a whole config whose [app]
	 * keys are its own and every other key a copy of this one's. */
	struct config **apps;
	size_t napps;
	struct app_pending *pending;   /* their keys as read, until apps_finish */
	size_t npending;
	char *app_name;           /* a named app's NAME; NULL for the unnamed [app] */
	char *mount;              /* a named app's mount; NULL means / */
	bool sessions;            /* a named app's sessions = (default true) */
	bool app_configured;      /* some [app] key was set (file or command line) */

	char *file;               /* the ini file read, or NULL */
	int file_lines;           /* its number of lines */
	char **origins;           /* per key of the table: where it was last set
	                           * ("FILE:LINE", "--set ...", "REDIS_URL"), or NULL */
};

/* What the command line asked for, kept so a reload can rebuild the config. */
struct cli {
	const char *config_file;
	bool check_only, version, help;
	size_t nsets;
	struct { char *section, *key, *value; } sets[256];
};

/* The file read when the command line names neither a file (-c) nor an app
 * (--cgi, --fastcgi, --set app.*): SYSCONFDIR/drover/drover.ini, if it
 * exists, so `drover -t` checks what the packaged service runs. */
extern const char *cli_default_config;

/* Parses argv into cli. Returns 0, or -1 with "drover: message" in err. */
int cli_parse(struct cli *cli, int argc, char **argv, char *err, size_t errlen);
void cli_free(struct cli *cli);
void cli_usage(int fd);

void config_defaults(struct config *c);
/* Sets one key from a given layer; where is "FILE:LINE" or "--set" for messages. */
int config_set(struct config *c, int layer, const char *section, const char *key,
    const char *value, const char *where, char *err, size_t errlen);
/* Reads an ini file into c (layer FILE), following `include = GLOB` lines
 * (matches read in sorted order, relative to the including file, nested at
 * most CONFIG_INCLUDE_DEPTH deep). err gets "FILE:LINE: message", naming the
 * included file when the error is in one. */
#define CONFIG_INCLUDE_DEPTH 8
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);
/* Cross-key checks once every layer is in (root exists, fastcgi needs a
 * command, ...). err names where the offending key was set ("FILE:LINE"). */
int config_validate(const struct config *c, char *err, size_t errlen);
/* The whole precedence chain. On failure c is left freed and err says why. */
int config_build(struct config *c, const struct cli *cli, char *err, size_t errlen);
void config_free(struct config *c);

/* Copies every key outside [app] from src into dst; -1 when out of memory. */
int config_copy_shared(struct config *dst, const struct config *src);

/* Unit parsers, exposed for tests: sizes take K/M/G, durations s (default) or ms. */
int parse_size(const char *s, size_t *out);
int parse_duration_ms(const char *s, int64_t *out);
int parse_bool(const char *s, bool *out);

/* The i-th (section, key) of the key table, or NULL past the end; lets tests
 * and docs walk every key. */
const char *config_key_name(size_t i, const char **section);

#endif
