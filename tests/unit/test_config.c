/*
 * test_config: the config module's contract: defaults, every value type,
 * error messages with file and line, layering of defaults < file < env <
 * command line, the command-line parser, cross-key validation, and the
 * shipped conf/drover.ini.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "conf/config.h"

static char tmpdir[512];
static char cgidir[PATH_MAX];     /* an existing directory */
static char cgiscript[PATH_MAX];  /* an existing executable */
static char plainfile[PATH_MAX];  /* an existing non-executable file */

/*
 * Writes content to tmpdir/name; returns the path in a static buffer, or
 * NULL. Plain checks, since main() uses it too, outside any test.
 */
static const char *
try_write_file(const char *name, const char *content, mode_t mode)
{
	static char path[PATH_MAX];
	FILE *f;
	int ok;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	/* Parent directories below tmpdir, for include trees. */
	for (char *sl = path + strlen(tmpdir) + 1; (sl = strchr(sl, '/')) != NULL; sl++) {
		*sl = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return NULL;
		*sl = '/';
	}
	if ((f = fopen(path, "we")) == NULL)
		return NULL;
	ok = fputs(content, f) >= 0;
	if (fclose(f) != 0 || !ok || chmod(path, mode) != 0)
		return NULL;
	return path;
}

static const char *
write_file(const char *name, const char *content, mode_t mode)
{
	const char *p = try_write_file(name, content, mode);

	ck_assert_msg(p != NULL, "writing %s: %s", name, strerror(errno));
	return p;
}

static int
load_text(struct config *c, const char *name, const char *text, char *err)
{
	const char *p = write_file(name, text, 0644);
	return config_load_file(c, p, err, CONFIG_ERR_MAX);
}

/* Asserts err is "TMPDIR/name:line: rest". */
static void
assert_err_at(const char *err, const char *name, int line, const char *rest)
{
	char want[PATH_MAX + 600];

	snprintf(want, sizeof want, "%s/%s:%d: %s", tmpdir, name, line, rest);
	ck_assert_str_eq(err, want);
}

/* Runs cli_parse + config_build on a NULL-terminated argv list. */
static int
build_argv(struct config *c, char *err, char **argv)
{
	struct cli cli;
	int argc = 0, rc;

	while (argv[argc] != NULL)
		argc++;
	if (cli_parse(&cli, argc, argv, err, CONFIG_ERR_MAX) != 0)
		return -2;
	rc = config_build(c, &cli, err, CONFIG_ERR_MAX);
	cli_free(&cli);
	return rc;
}

/* ---- defaults ---- */

START_TEST(test_defaults)
{
	struct config c;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	config_defaults(&c);
	ck_assert_uint_eq(c.binds.n, 1);
	ck_assert_str_eq(c.binds.v[0], "127.0.0.1:8000");
	ck_assert_int_eq(c.binds.layer, LAYER_DEFAULT);
	ck_assert_int_eq(c.workers, ncpu < 1 ? 1 : ncpu > 128 ? 128 : ncpu);
	ck_assert_int_eq(c.backlog, 1024);
	ck_assert_ptr_null(c.user);
	ck_assert_ptr_null(c.group);
	ck_assert_ptr_null(c.pidfile);
	ck_assert_int_eq(c.graceful_timeout_ms, 30000);
	ck_assert_int_eq(c.timeout_ms, 30000);
	ck_assert_int_eq(c.max_requests, 0);
	ck_assert_int_eq(c.max_requests_jitter, 0);
	ck_assert_int_eq(c.keepalive_timeout_ms, 5000);
	ck_assert_int_eq(c.header_timeout_ms, 10000);
	ck_assert_uint_eq(c.max_header_bytes, 16 * 1024);
	ck_assert_uint_eq(c.max_body_bytes, 10 * 1024 * 1024);
	ck_assert_int_eq(c.max_connections, 1024);
	ck_assert_str_eq(c.forwarded_allow_ips, "127.0.0.1");

	ck_assert_int_eq(c.app_type, APP_CGI);
	ck_assert_ptr_null(c.root);
	ck_assert_ptr_null(c.script);
	ck_assert_ptr_null(c.command);
	ck_assert_ptr_null(c.address);
	ck_assert_int_eq(c.processes, 1);
	ck_assert_int_eq(c.max_app_requests, 0);
	ck_assert_int_eq(c.request_timeout_ms, 60000);
	ck_assert_ptr_null(c.working_dir);
	ck_assert_uint_eq(c.env.n, 0);
	ck_assert_str_eq(c.pass_env, "PATH LANG");

	ck_assert(c.session_enabled);
	ck_assert_str_eq(c.cookie_name, "drover_sid");
	ck_assert_int_eq(c.cookie_secure, COOKIE_SECURE_AUTO);
	ck_assert_str_eq(c.cookie_samesite, "Lax");
	ck_assert_int_eq(c.ttl_ms, 1800000);
	ck_assert_int_eq(c.max_entries, 10000);
	ck_assert_uint_eq(c.max_bytes, 64 * 1024 * 1024);
	ck_assert_uint_eq(c.max_value_bytes, 64 * 1024);
	ck_assert_uint_eq(c.warn_value_bytes, 16 * 1024);
	ck_assert_uint_eq(c.compress_min_bytes, 1024);
	ck_assert_ptr_null(c.secret_keys);

	ck_assert_ptr_null(c.redis_url);
	ck_assert_str_eq(c.key_prefix, "drover:");
	ck_assert_int_eq(c.connect_timeout_ms, 200);
	ck_assert_int_eq(c.command_timeout_ms, 200);
	ck_assert_int_eq(c.breaker_failures, 5);
	ck_assert_int_eq(c.breaker_window_ms, 10000);

	ck_assert_str_eq(c.admin_bind, "127.0.0.1:9191");
	ck_assert_ptr_null(c.control_socket);

	ck_assert_int_eq(c.log_level, LOG_INFO);
	ck_assert_str_eq(c.error_log, "-");
	ck_assert_str_eq(c.access_log, "-");
	ck_assert_str_eq(c.access_format, "combined");
	ck_assert_ptr_null(c.file);
	config_free(&c);
}
END_TEST

START_TEST(test_free_twice)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, LAYER_FILE, "app", "env", "A=1", "x", err, sizeof err), 0);
	config_free(&c);
	ck_assert_ptr_null(c.cookie_name);
	ck_assert_ptr_null(c.binds.v);
	ck_assert_uint_eq(c.binds.n, 0);
	ck_assert_uint_eq(c.env.n, 0);
	config_free(&c);
}
END_TEST

/* ---- unit parsers ---- */

START_TEST(test_parse_size)
{
	size_t v;

	ck_assert_int_eq(parse_size("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse_size("512", &v), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(parse_size("1K", &v), 0);
	ck_assert_uint_eq(v, 1024);
	ck_assert_int_eq(parse_size("16K", &v), 0);
	ck_assert_uint_eq(v, 16384);
	ck_assert_int_eq(parse_size("10M", &v), 0);
	ck_assert_uint_eq(v, 10485760);
	ck_assert_int_eq(parse_size("1G", &v), 0);
	ck_assert_uint_eq(v, 1073741824);
	ck_assert_int_eq(parse_size("2k", &v), 0);
	ck_assert_uint_eq(v, 2048);

	ck_assert_int_eq(parse_size("", &v), -1);
	ck_assert_int_eq(parse_size("-1", &v), -1);
	ck_assert_int_eq(parse_size("+1", &v), -1);
	ck_assert_int_eq(parse_size(" 1", &v), -1);
	ck_assert_int_eq(parse_size("10X", &v), -1);
	ck_assert_int_eq(parse_size("1KB", &v), -1);
	ck_assert_int_eq(parse_size("1 K", &v), -1);
	ck_assert_int_eq(parse_size("1.5K", &v), -1);
	ck_assert_int_eq(parse_size("K", &v), -1);
	ck_assert_int_eq(parse_size("18446744073709551616", &v), -1);
	ck_assert_int_eq(parse_size("17179869184G", &v), -1);
	ck_assert_int_eq(parse_size("99999999999999999999999", &v), -1);
}
END_TEST

START_TEST(test_parse_duration)
{
	int64_t v;

	ck_assert_int_eq(parse_duration_ms("30", &v), 0);
	ck_assert_int_eq(v, 30000);
	ck_assert_int_eq(parse_duration_ms("30s", &v), 0);
	ck_assert_int_eq(v, 30000);
	ck_assert_int_eq(parse_duration_ms("200ms", &v), 0);
	ck_assert_int_eq(v, 200);
	ck_assert_int_eq(parse_duration_ms("0", &v), 0);
	ck_assert_int_eq(v, 0);

	ck_assert_int_eq(parse_duration_ms("1.5", &v), -1);
	ck_assert_int_eq(parse_duration_ms("-1", &v), -1);
	ck_assert_int_eq(parse_duration_ms("10m", &v), -1);
	ck_assert_int_eq(parse_duration_ms("10 ms", &v), -1);
	ck_assert_int_eq(parse_duration_ms("ms", &v), -1);
	ck_assert_int_eq(parse_duration_ms("", &v), -1);
	ck_assert_int_eq(parse_duration_ms("5msx", &v), -1);
	ck_assert_int_eq(parse_duration_ms("9223372036854775807", &v), -1);
	ck_assert_int_eq(parse_duration_ms("9223372036854775808ms", &v), -1);
}
END_TEST

START_TEST(test_parse_bool)
{
	bool b;
	static const char *yes[] = { "true", "TRUE", "yes", "on", "1" };
	static const char *no[] = { "false", "No", "off", "0" };

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		b = false;
		ck_assert_int_eq(parse_bool(yes[i], &b), 0);
		ck_assert(b);
	}
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		b = true;
		ck_assert_int_eq(parse_bool(no[i], &b), 0);
		ck_assert(!b);
	}
	ck_assert_int_eq(parse_bool("", &b), -1);
	ck_assert_int_eq(parse_bool("maybe", &b), -1);
	ck_assert_int_eq(parse_bool("2", &b), -1);
}
END_TEST

/* ---- config_set, per type ---- */

static int
set1(struct config *c, const char *section, const char *key, const char *value, char *err)
{
	return config_set(c, LAYER_FILE, section, key, value, "f.ini:3", err, CONFIG_ERR_MAX);
}

START_TEST(test_set_int)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	config_defaults(&c);
	ck_assert_int_eq(set1(&c, "server", "workers", "128", err), 0);
	ck_assert_int_eq(c.workers, 128);
	ck_assert_int_eq(set1(&c, "server", "workers", "abc", err), -1);
	ck_assert_str_eq(err, "f.ini:3: [server] workers: expected an integer 1..128, got 'abc'");
	ck_assert_int_eq(set1(&c, "server", "workers", "0", err), -1);
	ck_assert_int_eq(set1(&c, "server", "workers", "129", err), -1);
	ck_assert_int_eq(set1(&c, "server", "workers", "-1", err), -1);
	ck_assert_int_eq(set1(&c, "server", "workers", "4x", err), -1);
	ck_assert_int_eq(set1(&c, "server", "workers", "99999999999999999999", err), -1);
	ck_assert_int_eq(c.workers, 128);
	ck_assert_int_eq(set1(&c, "app", "processes", "64", err), 0);
	ck_assert_int_eq(c.processes, 64);
	ck_assert_int_eq(set1(&c, "app", "processes", "65", err), -1);
	ck_assert_str_eq(err, "f.ini:3: [app] processes: expected an integer 1..64, got '65'");
	ck_assert_int_eq(set1(&c, "server", "max_requests", "5000", err), 0);
	ck_assert_int_eq(c.max_requests, 5000);
	ck_assert_int_eq(set1(&c, "session", "max_entries", "0", err), -1);
	config_free(&c);
}
END_TEST

START_TEST(test_set_size)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	config_defaults(&c);
	ck_assert_int_eq(set1(&c, "server", "max_body_bytes", "1G", err), 0);
	ck_assert_uint_eq(c.max_body_bytes, 1073741824);
	ck_assert_int_eq(set1(&c, "server", "max_header_bytes", "8K", err), 0);
	ck_assert_uint_eq(c.max_header_bytes, 8192);
	ck_assert_int_eq(set1(&c, "session", "compress_min_bytes", "0", err), 0);
	ck_assert_uint_eq(c.compress_min_bytes, 0);

	ck_assert_int_eq(set1(&c, "server", "max_body_bytes", "10X", err), -1);
	ck_assert_str_eq(err, "f.ini:3: [server] max_body_bytes: expected a size in bytes, "
	    "or with a K, M or G suffix (1K = 1024), got '10X'");
	ck_assert_int_eq(set1(&c, "server", "max_body_bytes", "-1", err), -1);
	ck_assert_int_eq(set1(&c, "server", "max_body_bytes", "17179869184G", err), -1);
	/* Parses, but is outside the key's range. */
	ck_assert_int_eq(set1(&c, "server", "max_header_bytes", "1", err), -1);
	ck_assert_ptr_nonnull(strstr(err, "[server] max_header_bytes: expected a size 512.."));
	ck_assert_uint_eq(c.max_body_bytes, 1073741824);
	config_free(&c);
}
END_TEST

START_TEST(test_set_duration)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	config_defaults(&c);
	ck_assert_int_eq(set1(&c, "server", "timeout", "45", err), 0);
	ck_assert_int_eq(c.timeout_ms, 45000);
	ck_assert_int_eq(set1(&c, "redis", "command_timeout", "50ms", err), 0);
	ck_assert_int_eq(c.command_timeout_ms, 50);
	ck_assert_int_eq(set1(&c, "session", "ttl", "600s", err), 0);
	ck_assert_int_eq(c.ttl_ms, 600000);
	ck_assert_int_eq(set1(&c, "server", "graceful_timeout", "0", err), 0);
	ck_assert_int_eq(c.graceful_timeout_ms, 0);

	ck_assert_int_eq(set1(&c, "server", "timeout", "1.5", err), -1);
	ck_assert_ptr_nonnull(strstr(err, "f.ini:3: [server] timeout: expected whole seconds"));
	ck_assert_ptr_nonnull(strstr(err, "write 1500ms for 1.5s"));
	ck_assert_ptr_nonnull(strstr(err, "got '1.5'"));
	ck_assert_int_eq(set1(&c, "server", "timeout", "-5", err), -1);
	ck_assert_int_eq(set1(&c, "server", "timeout", "5m", err), -1);
	ck_assert_int_eq(set1(&c, "server", "timeout", "0", err), -1);
	ck_assert_int_eq(set1(&c, "server", "timeout", "99999999999", err), -1);
	ck_assert_int_eq(c.timeout_ms, 45000);
	config_free(&c);
}
END_TEST

START_TEST(test_set_bool_enum)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	config_defaults(&c);
	ck_assert_int_eq(set1(&c, "session", "enabled", "off", err), 0);
	ck_assert(!c.session_enabled);
	ck_assert_int_eq(set1(&c, "session", "enabled", "yes", err), 0);
	ck_assert(c.session_enabled);
	ck_assert_int_eq(set1(&c, "session", "enabled", "sure", err), -1);
	ck_assert_str_eq(err, "f.ini:3: [session] enabled: expected true|false "
	    "(also yes|no, on|off, 1|0), got 'sure'");

	ck_assert_int_eq(set1(&c, "app", "type", "fastcgi", err), 0);
	ck_assert_int_eq(c.app_type, APP_FASTCGI);
	ck_assert_int_eq(set1(&c, "app", "type", "cgi", err), 0);
	ck_assert_int_eq(c.app_type, APP_CGI);
	ck_assert_int_eq(set1(&c, "app", "type", "wsgi", err), -1);
	ck_assert_str_eq(err, "f.ini:3: [app] type: expected cgi|fastcgi|static, got 'wsgi'");

	ck_assert_int_eq(set1(&c, "session", "cookie_secure", "true", err), 0);
	ck_assert_int_eq(c.cookie_secure, COOKIE_SECURE_ON);
	ck_assert_int_eq(set1(&c, "session", "cookie_secure", "off", err), 0);
	ck_assert_int_eq(c.cookie_secure, COOKIE_SECURE_OFF);
	ck_assert_int_eq(set1(&c, "session", "cookie_secure", "yes", err), 0);
	ck_assert_int_eq(c.cookie_secure, COOKIE_SECURE_ON);
	ck_assert_int_eq(set1(&c, "session", "cookie_secure", "auto", err), 0);
	ck_assert_int_eq(c.cookie_secure, COOKIE_SECURE_AUTO);
	ck_assert_int_eq(set1(&c, "session", "cookie_secure", "https", err), -1);

	ck_assert_int_eq(set1(&c, "session", "cookie_samesite", "strict", err), 0);
	ck_assert_str_eq(c.cookie_samesite, "Strict");
	ck_assert_int_eq(set1(&c, "session", "cookie_samesite", "None", err), 0);
	ck_assert_str_eq(c.cookie_samesite, "None");
	ck_assert_int_eq(set1(&c, "session", "cookie_samesite", "Loose", err), -1);
	ck_assert_str_eq(err, "f.ini:3: [session] cookie_samesite: expected Lax|Strict|None, got 'Loose'");
	ck_assert_str_eq(c.cookie_samesite, "None");

	ck_assert_int_eq(set1(&c, "log", "level", "debug", err), 0);
	ck_assert_int_eq(c.log_level, LOG_DEBUG);
	ck_assert_int_eq(set1(&c, "log", "level", "error", err), 0);
	ck_assert_int_eq(c.log_level, LOG_ERROR);
	ck_assert_int_eq(set1(&c, "log", "level", "verbose", err), -1);
	ck_assert_str_eq(err, "f.ini:3: [log] level: expected debug|info|warn|error, got 'verbose'");
	config_free(&c);
}
END_TEST

START_TEST(test_set_strings)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	config_defaults(&c);
	ck_assert_int_eq(set1(&c, "server", "user", "www-data", err), 0);
	ck_assert_str_eq(c.user, "www-data");
	ck_assert_int_eq(set1(&c, "server", "user", "", err), 0);
	ck_assert_ptr_null(c.user);
	ck_assert_int_eq(set1(&c, "server", "forwarded_allow_ips", "", err), 0);
	ck_assert_ptr_null(c.forwarded_allow_ips);
	ck_assert_int_eq(set1(&c, "server", "forwarded_allow_ips", "10.0.0.0/8, ::1 *", err), 0);
	ck_assert_str_eq(c.forwarded_allow_ips, "10.0.0.0/8, ::1 *");
	/* A typo fails at startup with its line, not silently at the first request. */
	ck_assert_int_eq(set1(&c, "server", "forwarded_allow_ips", "10.0.0.0/8 proxy.local", err), -1);
	ck_assert_ptr_nonnull(strstr(err, "f.ini:3: [server] forwarded_allow_ips:"));
	ck_assert_ptr_nonnull(strstr(err, "'proxy.local' is not an address"));
	ck_assert_int_eq(set1(&c, "server", "forwarded_header", "forwarded", err), 0);
	ck_assert_int_eq(c.forwarded_header, FORWARDED_RFC7239);
	ck_assert_int_eq(set1(&c, "server", "forwarded_header", "x-real-ip", err), -1);
	/* Consumers iterate these, so empty stays a string. */
	ck_assert_int_eq(set1(&c, "redis", "key_prefix", "", err), 0);
	ck_assert_str_eq(c.key_prefix, "");
	ck_assert_int_eq(set1(&c, "app", "pass_env", "", err), 0);
	ck_assert_str_eq(c.pass_env, "");
	ck_assert_int_eq(set1(&c, "session", "cookie_name", "", err), -1);
	ck_assert_str_eq(err, "f.ini:3: [session] cookie_name: expected a value, got ''");
	ck_assert_str_eq(c.cookie_name, "drover_sid");

	ck_assert_int_eq(set1(&c, "redis", "url", "redis://127.0.0.1:6379/0", err), 0);
	ck_assert_str_eq(c.redis_url, "redis://127.0.0.1:6379/0");
	ck_assert_int_eq(set1(&c, "redis", "url", "unix:/run/redis.sock", err), 0);
	ck_assert_int_eq(set1(&c, "redis", "url", "http://x", err), -1);
	ck_assert_ptr_nonnull(strstr(err, "[redis] url: expected redis://"));
	ck_assert_int_eq(set1(&c, "redis", "url", "", err), 0);
	ck_assert_ptr_null(c.redis_url);

	ck_assert_int_eq(set1(&c, "admin", "bind", "", err), 0);
	ck_assert_ptr_null(c.admin_bind);
	ck_assert_int_eq(set1(&c, "admin", "bind", "9191", err), -1);
	config_free(&c);
}
END_TEST

START_TEST(test_set_bind_forms)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	static const char *good[] = {
		"0.0.0.0:80", "127.0.0.1:0", "localhost:8080", "[::1]:8080",
		"[::]:443", "unix:/run/drover.sock", "unix:rel.sock",
	};
	static const char *bad[] = {
		"8000", "localhost", ":80", "::1:80", "[::1]", "[]:80", "[::1]80",
		"host:99999", "host:", "host:8o", "unix:", "a b:80", "",
	};

	config_defaults(&c);
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(set1(&c, "server", "bind", good[i], err) == 0,
		    "%s: %s", good[i], err);
	ck_assert_uint_eq(c.binds.n, sizeof good / sizeof good[0]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(set1(&c, "server", "bind", bad[i], err) == -1, "%s accepted", bad[i]);
		ck_assert_msg(strstr(err, "[server] bind: expected host:port, [v6]:port "
		    "or unix:/path") != NULL, "%s", err);
	}
	ck_assert_int_eq(set1(&c, "server", "bind", "::1:80", err), -1);
	ck_assert_ptr_nonnull(strstr(err, "brackets"));
	ck_assert_int_eq(set1(&c, "app", "address", "127.0.0.1:9000", err), 0);
	ck_assert_int_eq(set1(&c, "app", "address", "php-fpm", err), -1);
	config_free(&c);
}
END_TEST

START_TEST(test_set_env_forms)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	config_defaults(&c);
	ck_assert_int_eq(set1(&c, "app", "env", "A=1", err), 0);
	ck_assert_int_eq(set1(&c, "app", "env", "EMPTY=", err), 0);
	ck_assert_int_eq(set1(&c, "app", "env", "B=x=y", err), 0);
	ck_assert_uint_eq(c.env.n, 3);
	ck_assert_str_eq(c.env.v[2], "B=x=y");
	ck_assert_int_eq(set1(&c, "app", "env", "NOEQ", err), -1);
	ck_assert_str_eq(err, "f.ini:3: [app] env: expected NAME=value, got 'NOEQ'");
	ck_assert_int_eq(set1(&c, "app", "env", "=x", err), -1);
	ck_assert_int_eq(set1(&c, "app", "env", "A B=x", err), -1);
	ck_assert_uint_eq(c.env.n, 3);
	config_free(&c);
}
END_TEST

START_TEST(test_set_unknown)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	config_defaults(&c);
	ck_assert_int_eq(set1(&c, "sever", "workers", "2", err), -1);
	ck_assert_str_eq(err, "f.ini:3: unknown section [sever]");
	ck_assert_int_eq(set1(&c, "server", "wrokers", "2", err), -1);
	ck_assert_str_eq(err, "f.ini:3: [server] unknown key 'wrokers'");
	/* A key of another section is still unknown here. */
	ck_assert_int_eq(set1(&c, "server", "ttl", "2", err), -1);
	ck_assert_str_eq(err, "f.ini:3: [server] unknown key 'ttl'");
	ck_assert_int_eq(set1(&c, "", "workers", "2", err), -1);
	ck_assert_str_eq(err, "f.ini:3: key 'workers' is outside any section");
	config_free(&c);
}
END_TEST

/* ---- files ---- */

START_TEST(test_file_ok)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	const char *p;

	config_defaults(&c);
	p = write_file("ok.ini",
	    "; comment\n"
	    "# another\n"
	    "[server]\n"
	    "workers = 3   ; inline comment\n"
	    "max_body_bytes = 2M\n"
	    "user =\n"
	    "\n"
	    "[redis]\n"
	    "key_prefix = app:\n"
	    "connect_timeout = 150ms\n", 0644);
	ck_assert_int_eq(config_load_file(&c, p, err, sizeof err), 0);
	ck_assert_int_eq(c.workers, 3);
	ck_assert_uint_eq(c.max_body_bytes, 2 * 1024 * 1024);
	ck_assert_ptr_null(c.user);
	ck_assert_str_eq(c.key_prefix, "app:");
	ck_assert_int_eq(c.connect_timeout_ms, 150);
	ck_assert_str_eq(c.file, p);
	config_free(&c);
}
END_TEST

START_TEST(test_file_error_lines)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	config_defaults(&c);
	ck_assert_int_eq(load_text(&c, "badval.ini",
	    "; line 1\n"
	    "[server]\n"
	    "\n"
	    "backlog = 10\n"
	    "workers = abc\n"
	    "workers = 2\n", err), -1);
	assert_err_at(err, "badval.ini", 5,
	    "[server] workers: expected an integer 1..128, got 'abc'");
	config_free(&c);

	config_defaults(&c);
	ck_assert_int_eq(load_text(&c, "badkey.ini",
	    "[server]\nworkers = 2\n[log]\n\n; x\n\nlevle = info\n", err), -1);
	assert_err_at(err, "badkey.ini", 7, "[log] unknown key 'levle'");
	config_free(&c);

	config_defaults(&c);
	ck_assert_int_eq(load_text(&c, "badsec.ini",
	    "[server]\nworkers = 2\n[logging]\nlevel = info\n", err), -1);
	assert_err_at(err, "badsec.ini", 4, "unknown section [logging]");
	config_free(&c);

	config_defaults(&c);
	ck_assert_int_eq(load_text(&c, "nosec.ini", "workers = 2\n", err), -1);
	assert_err_at(err, "nosec.ini", 1, "key 'workers' is outside any section");
	config_free(&c);

	/* No trailing newline on the bad last line. */
	config_defaults(&c);
	ck_assert_int_eq(load_text(&c, "noeol.ini", "[session]\nttl = 1.5", err), -1);
	ck_assert_ptr_nonnull(strstr(err, "/noeol.ini:2: [session] ttl: expected whole seconds"));
	config_free(&c);
}
END_TEST

START_TEST(test_file_syntax_error)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	config_defaults(&c);
	ck_assert_int_eq(load_text(&c, "syn1.ini",
	    "[server]\nworkers = 2\nthis line has no equals sign\nbacklog = 5\n", err), -1);
	assert_err_at(err, "syn1.ini", 3, "syntax error");
	config_free(&c);

	config_defaults(&c);
	ck_assert_int_eq(load_text(&c, "syn2.ini", "[server\nworkers = 2\n", err), -1);
	assert_err_at(err, "syn2.ini", 1, "syntax error");
	config_free(&c);

	/* The first problem wins, whichever kind it is. */
	config_defaults(&c);
	ck_assert_int_eq(load_text(&c, "syn3.ini",
	    "[server]\ngarbage\nworkers = 0\n", err), -1);
	assert_err_at(err, "syn3.ini", 2, "syntax error");
	config_free(&c);

	config_defaults(&c);
	ck_assert_int_eq(load_text(&c, "syn4.ini",
	    "[server]\nworkers = 0\ngarbage\n", err), -1);
	assert_err_at(err, "syn4.ini", 2,
	    "[server] workers: expected an integer 1..128, got '0'");
	config_free(&c);
}
END_TEST

START_TEST(test_file_long_line)
{
	struct config c;
	char err[CONFIG_ERR_MAX], text[1024];

	snprintf(text, sizeof text, "[session]\nttl = 5\nsecret_keys = %0500d\nttl = 6\n", 0);
	config_defaults(&c);
	ck_assert_int_eq(load_text(&c, "long.ini", text, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "/long.ini:3: line too long"));
	config_free(&c);
}
END_TEST

START_TEST(test_file_unreadable)
{
	struct config c;
	char err[CONFIG_ERR_MAX], want[PATH_MAX + 64], path[PATH_MAX];

	snprintf(path, sizeof path, "%s/missing.ini", tmpdir);
	config_defaults(&c);
	ck_assert_int_eq(config_load_file(&c, path, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
	ck_assert_str_eq(err, want);

	ck_assert_int_eq(config_load_file(&c, tmpdir, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: cannot open: %s", tmpdir, strerror(EISDIR));
	ck_assert_str_eq(err, want);
	config_free(&c);
}
END_TEST

/* ---- layering ---- */

START_TEST(test_bind_layers)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	const char *p = write_file("binds.ini",
	    "[server]\nbind = 127.0.0.1:8001\nbind = unix:/tmp/d.sock\n"
	    "[app]\nenv = A=1\nenv = B=2\n", 0644);
	char file[PATH_MAX];

	snprintf(file, sizeof file, "%s", p);

	/* The file replaces the default, and its binds add up. */
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file,
	    "--cgi", cgidir, NULL }), 0);
	ck_assert_uint_eq(c.binds.n, 2);
	ck_assert_str_eq(c.binds.v[0], "127.0.0.1:8001");
	ck_assert_str_eq(c.binds.v[1], "unix:/tmp/d.sock");
	ck_assert_uint_eq(c.env.n, 2);
	config_free(&c);

	/* The command line replaces the file, and its binds add up. */
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file,
	    "--bind", "127.0.0.1:9001", "--cgi", cgidir, "--bind", "[::1]:9002",
	    "--set", "app.env=C=3", NULL }), 0);
	ck_assert_uint_eq(c.binds.n, 2);
	ck_assert_str_eq(c.binds.v[0], "127.0.0.1:9001");
	ck_assert_str_eq(c.binds.v[1], "[::1]:9002");
	ck_assert_uint_eq(c.env.n, 1);
	ck_assert_str_eq(c.env.v[0], "C=3");
	config_free(&c);

	/* Same layer appends; a lower layer after a higher one is ignored. */
	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, LAYER_CLI, "server", "bind", "127.0.0.1:1", "x", err, sizeof err), 0);
	ck_assert_int_eq(config_set(&c, LAYER_CLI, "server", "bind", "127.0.0.1:2", "x", err, sizeof err), 0);
	ck_assert_int_eq(config_set(&c, LAYER_FILE, "server", "bind", "127.0.0.1:3", "x", err, sizeof err), 0);
	ck_assert_uint_eq(c.binds.n, 2);
	ck_assert_int_eq(c.binds.layer, LAYER_CLI);
	config_free(&c);

	/* Without a bind anywhere, the default stays. */
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "--cgi", cgidir, NULL }), 0);
	ck_assert_uint_eq(c.binds.n, 1);
	ck_assert_str_eq(c.binds.v[0], "127.0.0.1:8000");
	ck_assert_ptr_null(c.file);
	config_free(&c);
}
END_TEST

START_TEST(test_env_precedence)
{
	struct config c;
	char err[CONFIG_ERR_MAX], file[PATH_MAX];

	snprintf(file, sizeof file, "%s", write_file("redis.ini",
	    "[redis]\nurl = redis://file:6379\n[session]\nsecret_keys = filekey\n"
	    "ttl = 100\n", 0644));

	unsetenv("REDIS_URL");
	unsetenv("DROVER_SECRET_KEYS");
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file,
	    "--cgi", cgidir, NULL }), 0);
	ck_assert_str_eq(c.redis_url, "redis://file:6379");
	ck_assert_str_eq(c.secret_keys, "filekey");
	ck_assert_str_eq(c.file, file);
	config_free(&c);

	/* Environment beats the file. */
	setenv("REDIS_URL", "redis://env:6379", 1);
	setenv("DROVER_SECRET_KEYS", "envkey", 1);
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file,
	    "--cgi", cgidir, NULL }), 0);
	ck_assert_str_eq(c.redis_url, "redis://env:6379");
	ck_assert_str_eq(c.secret_keys, "envkey");
	ck_assert_int_eq(c.ttl_ms, 100000);
	config_free(&c);

	/* A flag beats the environment. */
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file,
	    "--cgi", cgidir, "--set", "redis.url=unix:/run/r.sock",
	    "--set", "session.secret_keys=clikey", NULL }), 0);
	ck_assert_str_eq(c.redis_url, "unix:/run/r.sock");
	ck_assert_str_eq(c.secret_keys, "clikey");
	config_free(&c);

	/* An empty variable counts as unset. */
	setenv("REDIS_URL", "", 1);
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file,
	    "--cgi", cgidir, NULL }), 0);
	ck_assert_str_eq(c.redis_url, "redis://file:6379");
	config_free(&c);

	/* A bad value in the environment names the variable. */
	setenv("REDIS_URL", "http://nope", 1);
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "--cgi", cgidir, NULL }), -1);
	ck_assert_ptr_nonnull(strstr(err, "drover: REDIS_URL: [redis] url: expected redis://"));
	ck_assert_ptr_null(c.redis_url);

	/* The environment alone turns Redis on, and then needs keys. */
	setenv("REDIS_URL", "redis://127.0.0.1:6379", 1);
	unsetenv("DROVER_SECRET_KEYS");
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "--cgi", cgidir, NULL }), -1);
	ck_assert_str_eq(err, "drover: [session] secret_keys: required when [redis] url is set "
	    "(or set DROVER_SECRET_KEYS)");
	unsetenv("REDIS_URL");
}
END_TEST

START_TEST(test_build_failure_frees)
{
	struct config c;
	char err[CONFIG_ERR_MAX], file[PATH_MAX];

	snprintf(file, sizeof file, "%s", write_file("bad.ini",
	    "[server]\nworkers = 2\nnope = 1\n", 0644));
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file,
	    "--cgi", cgidir, NULL }), -1);
	assert_err_at(err, "bad.ini", 3, "[server] unknown key 'nope'");
	ck_assert_ptr_null(c.cookie_name);
	ck_assert_ptr_null(c.file);
	ck_assert_uint_eq(c.binds.n, 0);
	config_free(&c);
}
END_TEST

/* ---- cli_parse ---- */

static int
parse(struct cli *cli, char *err, char **argv)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return cli_parse(cli, argc, argv, err, CONFIG_ERR_MAX);
}

static void
assert_set(const struct cli *cli, size_t i, const char *s, const char *k, const char *v)
{
	ck_assert_uint_gt(cli->nsets, i);
	ck_assert_str_eq(cli->sets[i].section, s);
	ck_assert_str_eq(cli->sets[i].key, k);
	ck_assert_str_eq(cli->sets[i].value, v);
}

START_TEST(test_cli_flags)
{
	struct cli cli;
	char err[CONFIG_ERR_MAX];

	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", NULL }), 0);
	ck_assert_ptr_null(cli.config_file);
	ck_assert(!cli.check_only && !cli.version && !cli.help);
	ck_assert_uint_eq(cli.nsets, 0);
	cli_free(&cli);

	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "-c", "/etc/drover.ini",
	    "--bind", "127.0.0.1:1", "--workers", "4", "--bind=unix:/x.sock",
	    "--set", "session.ttl=60", "-t", "--set", "app.env=A=b", NULL }), 0);
	ck_assert_str_eq(cli.config_file, "/etc/drover.ini");
	ck_assert(cli.check_only);
	ck_assert_uint_eq(cli.nsets, 5);
	assert_set(&cli, 0, "server", "bind", "127.0.0.1:1");
	assert_set(&cli, 1, "server", "workers", "4");
	assert_set(&cli, 2, "server", "bind", "unix:/x.sock");
	assert_set(&cli, 3, "session", "ttl", "60");
	assert_set(&cli, 4, "app", "env", "A=b");
	cli_free(&cli);
	ck_assert_uint_eq(cli.nsets, 0);

	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--check-config",
	    "--config", "x.ini", NULL }), 0);
	ck_assert(cli.check_only);
	ck_assert_str_eq(cli.config_file, "x.ini");
	cli_free(&cli);

	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "-V", NULL }), 0);
	ck_assert(cli.version);
	cli_free(&cli);
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--version", NULL }), 0);
	ck_assert(cli.version);
	cli_free(&cli);
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "-h", NULL }), 0);
	ck_assert(cli.help);
	cli_free(&cli);
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--help", NULL }), 0);
	ck_assert(cli.help);
	cli_free(&cli);
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "-tV", NULL }), 0);
	ck_assert(cli.check_only && cli.version);
	cli_free(&cli);
}
END_TEST

START_TEST(test_cli_errors)
{
	struct cli cli;
	char err[CONFIG_ERR_MAX];

	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--nope", NULL }), -1);
	ck_assert_str_eq(err, "drover: unknown option '--nope'");
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "-x", NULL }), -1);
	ck_assert_str_eq(err, "drover: unknown option '-x'");
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--cgi", cgidir, "stray", NULL }), -1);
	ck_assert_str_eq(err, "drover: unexpected argument 'stray'");
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--bind", NULL }), -1);
	ck_assert_str_eq(err, "drover: option '--bind' needs an argument");
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "-c", NULL }), -1);
	ck_assert_str_eq(err, "drover: option '-c' needs a file");
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--help=x", NULL }), -1);

	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--workers", "abc", NULL }), -1);
	ck_assert_str_eq(err, "drover: --workers: [server] workers: expected an integer 1..128, got 'abc'");
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--bind", "8000", NULL }), -1);
	ck_assert_ptr_nonnull(strstr(err, "drover: --bind: [server] bind: expected host:port"));

	static const char *badsets[] = { "x", "a=b", ".k=v", "s.=v", "sk", "s.k" };
	for (size_t i = 0; i < sizeof badsets / sizeof badsets[0]; i++) {
		char want[128];
		ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--set",
		    (char *)badsets[i], NULL }), -1);
		snprintf(want, sizeof want, "drover: --set expects SECTION.KEY=VALUE, got '%s'", badsets[i]);
		ck_assert_str_eq(err, want);
	}
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--set", "server.nope=1", NULL }), -1);
	ck_assert_str_eq(err, "drover: --set server.nope: [server] unknown key 'nope'");
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--set", "nope.x=1", NULL }), -1);
	ck_assert_str_eq(err, "drover: --set nope.x: unknown section [nope]");
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--set", "session.ttl=1.5", NULL }), -1);
	ck_assert_ptr_nonnull(strstr(err, "drover: --set session.ttl: [session] ttl: expected whole seconds"));
	/* A value may itself hold dots and equals signs. */
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--set",
	    "redis.url=redis://a.b:1/0?x=y", NULL }), 0);
	assert_set(&cli, 0, "redis", "url", "redis://a.b:1/0?x=y");
	cli_free(&cli);
}
END_TEST

START_TEST(test_cli_cgi)
{
	struct cli cli;
	struct config c;
	char err[CONFIG_ERR_MAX];

	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--cgi", cgidir, NULL }), 0);
	ck_assert_uint_eq(cli.nsets, 3);
	assert_set(&cli, 0, "app", "root", cgidir);
	assert_set(&cli, 1, "app", "script", "");
	assert_set(&cli, 2, "app", "type", "cgi");
	cli_free(&cli);

	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--cgi", cgiscript, NULL }), 0);
	assert_set(&cli, 0, "app", "script", cgiscript);
	assert_set(&cli, 1, "app", "root", "");
	assert_set(&cli, 2, "app", "type", "cgi");
	cli_free(&cli);

	/* --cgi over a file that configured the other form and FastCGI. */
	char file[PATH_MAX];
	snprintf(file, sizeof file, "%s", write_file("fcgi.ini",
	    "[app]\ntype = fastcgi\ncommand = php-cgi\nscript = /nonexistent\n", 0644));
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file,
	    "--cgi", cgidir, NULL }), 0);
	ck_assert_int_eq(c.app_type, APP_CGI);
	ck_assert_str_eq(c.root, cgidir);
	ck_assert_ptr_null(c.script);
	config_free(&c);

	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "--cgi", cgiscript, NULL }), 0);
	ck_assert_str_eq(c.script, cgiscript);
	ck_assert_ptr_null(c.root);
	config_free(&c);
}
END_TEST

START_TEST(test_cli_fastcgi)
{
	struct cli cli;
	char err[CONFIG_ERR_MAX];
	static const char *addrs[] = {
		"127.0.0.1:9000", "localhost:9000", "unix:/run/php.sock", "[::1]:9000",
	};
	static const char *cmds[] = {
		"php-cgi", "/usr/bin/app --port 9000", "localhost:abc", "./app:", "app 1:2",
	};

	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--fastcgi",
		    (char *)addrs[i], NULL }), 0);
		ck_assert_uint_eq(cli.nsets, 3);
		assert_set(&cli, 0, "app", "address", addrs[i]);
		assert_set(&cli, 1, "app", "command", "");
		assert_set(&cli, 2, "app", "type", "fastcgi");
		cli_free(&cli);
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--fastcgi",
		    (char *)cmds[i], NULL }), 0);
		assert_set(&cli, 0, "app", "command", cmds[i]);
		assert_set(&cli, 1, "app", "address", "");
		assert_set(&cli, 2, "app", "type", "fastcgi");
		cli_free(&cli);
	}
	/* Looks like an address, so it is checked as one. */
	ck_assert_int_eq(parse(&cli, err, (char *[]){ "drover", "--fastcgi", "host:99999", NULL }), -1);
	ck_assert_ptr_nonnull(strstr(err, "drover: --fastcgi: [app] address: expected host:port"));

	struct config c;
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "--fastcgi",
	    "127.0.0.1:9000", NULL }), 0);
	ck_assert_int_eq(c.app_type, APP_FASTCGI);
	ck_assert_str_eq(c.address, "127.0.0.1:9000");
	ck_assert_ptr_null(c.command);
	config_free(&c);
}
END_TEST

START_TEST(test_cli_usage)
{
	int p[2];
	char buf[4096];
	ssize_t n;

	ck_assert_int_eq(pipe(p), 0);
	cli_usage(p[1]);
	close(p[1]);
	n = read(p[0], buf, sizeof buf - 1);
	close(p[0]);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "usage: drover"));
	ck_assert_ptr_nonnull(strstr(buf, "--check-config"));
	ck_assert_ptr_nonnull(strstr(buf, "--fastcgi"));
}
END_TEST

/* ---- config_validate ---- */

static int
validate_with(struct config *c, char *err, const char *sets[][3], size_t n)
{
	config_defaults(c);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(config_set(c, LAYER_CLI, sets[i][0], sets[i][1], sets[i][2],
		    NULL, err, CONFIG_ERR_MAX) == 0, "%s", err);
	return config_validate(c, err, CONFIG_ERR_MAX);
}

#define VALIDATE(c, err, ...) ({ \
	const char *sets_[][3] = { __VA_ARGS__ }; \
	validate_with(c, err, sets_, sizeof sets_ / sizeof sets_[0]); })

START_TEST(test_validate)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", cgidir }), 0);
	config_free(&c);
	ck_assert_int_eq(VALIDATE(&c, err, { "app", "script", cgiscript }), 0);
	config_free(&c);

	config_defaults(&c);
	ck_assert_int_eq(config_validate(&c, err, sizeof err), -1);
	ck_assert_str_eq(err, "drover: [app] no CGI scripts configured: pass --cgi DIR "
	    "or set [app] root (or [app] script)");
	config_free(&c);

	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", cgidir },
	    { "app", "script", cgiscript }), -1);
	ck_assert_ptr_nonnull(strstr(err, "drover: [app] root and script are both set"));
	config_free(&c);

	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", "/nonexistent/drover" }), -1);
	ck_assert_str_eq(err, "drover: [app] root: /nonexistent/drover: No such file or directory");
	config_free(&c);
	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", plainfile }), -1);
	ck_assert_ptr_nonnull(strstr(err, "is not a directory"));
	config_free(&c);
	ck_assert_int_eq(VALIDATE(&c, err, { "app", "script", plainfile }), -1);
	ck_assert_ptr_nonnull(strstr(err, "is not executable"));
	config_free(&c);
	ck_assert_int_eq(VALIDATE(&c, err, { "app", "script", cgidir }), -1);
	ck_assert_ptr_nonnull(strstr(err, "is not a regular file"));
	config_free(&c);

	ck_assert_int_eq(VALIDATE(&c, err, { "app", "type", "fastcgi" }), -1);
	ck_assert_ptr_nonnull(strstr(err, "[app] no FastCGI app configured"));
	config_free(&c);
	ck_assert_int_eq(VALIDATE(&c, err, { "app", "type", "fastcgi" },
	    { "app", "command", "php-cgi" }, { "app", "address", "127.0.0.1:9000" }), -1);
	ck_assert_ptr_nonnull(strstr(err, "[app] command and address are both set"));
	config_free(&c);
	ck_assert_int_eq(VALIDATE(&c, err, { "app", "type", "fastcgi" },
	    { "app", "command", "php-cgi" }), 0);
	config_free(&c);

	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", cgidir },
	    { "redis", "url", "redis://127.0.0.1:6379" }), -1);
	ck_assert_ptr_nonnull(strstr(err, "[session] secret_keys: required when [redis] url is set"));
	config_free(&c);
	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", cgidir },
	    { "redis", "url", "redis://127.0.0.1:6379" }, { "session", "secret_keys", " , " }), -1);
	config_free(&c);
	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", cgidir },
	    { "redis", "url", "redis://127.0.0.1:6379" }, { "session", "secret_keys", "k1,k2" }), 0);
	config_free(&c);

	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", cgidir },
	    { "session", "max_bytes", "64K" }, { "session", "max_value_bytes", "128K" }), -1);
	ck_assert_str_eq(err, "drover: [session] max_value_bytes (131072) is larger than max_bytes (65536)");
	config_free(&c);
	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", cgidir },
	    { "session", "warn_value_bytes", "65K" }), -1);
	ck_assert_ptr_nonnull(strstr(err, "[session] warn_value_bytes"));
	config_free(&c);

	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", cgidir },
	    { "server", "user", "drover-no-such-user-x" }), -1);
	ck_assert_str_eq(err, "drover: [server] user: no such user 'drover-no-such-user-x'");
	config_free(&c);
	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", cgidir },
	    { "server", "group", "drover-no-such-group-x" }), -1);
	ck_assert_str_eq(err, "drover: [server] group: no such group 'drover-no-such-group-x'");
	config_free(&c);
	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", cgidir },
	    { "server", "user", "root" }, { "server", "group", "root" }), 0);
	config_free(&c);

	ck_assert_int_eq(VALIDATE(&c, err, { "app", "root", cgidir },
	    { "server", "bind", "127.0.0.1:9191" }), -1);
	ck_assert_ptr_nonnull(strstr(err, "[admin] bind: 127.0.0.1:9191 is also a [server] bind"));
	config_free(&c);
}
END_TEST

START_TEST(test_validate_names_file)
{
	struct config c;
	char err[CONFIG_ERR_MAX], want[PATH_MAX + 200], file[PATH_MAX];

	snprintf(file, sizeof file, "%s", write_file("noroot.ini",
	    "[app]\nroot = /nonexistent/drover\n", 0644));
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file, NULL }), -1);
	snprintf(want, sizeof want, "%s:2: [app] root: /nonexistent/drover: %s", file,
	    strerror(ENOENT));
	ck_assert_str_eq(err, want);

	cli_default_config = "/nonexistent/drover/drover.ini";
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", NULL }), -1);
	ck_assert_ptr_nonnull(strstr(err, "drover: [app] no CGI scripts configured: pass --cgi DIR"));
}
END_TEST

/* Every cross-key error names a line: the key's own, else the first line of
 * its section that set something, else the file's last line. */
START_TEST(test_validate_lines)
{
	struct config c;
	char err[CONFIG_ERR_MAX], want[PATH_MAX + 200], file[PATH_MAX];

	snprintf(file, sizeof file, "%s", write_file("both.ini",
	    "[server]\nworkers = 2\n\n[app]\nprocesses = 2\nroot = /\n"
	    "script = /bin/sh\n", 0644));
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file, NULL }), -1);
	snprintf(want, sizeof want, "%s:6: [app] root and script are both set", file);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);

	/* The shipped main file names no app: the error points at its end. */
	snprintf(file, sizeof file, "%s", write_file("noapp.ini",
	    "[server]\nworkers = 2\n; nothing else\n", 0644));
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file, NULL }), -1);
	snprintf(want, sizeof want, "%s:3: [app] no CGI scripts configured", file);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);

	/* A key set in [app] but not the one at fault: that section's line. */
	snprintf(file, sizeof file, "%s", write_file("fcgi.ini",
	    "[log]\nlevel = info\n[app]\ntype = fastcgi\nprocesses = 2\n", 0644));
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file, NULL }), -1);
	snprintf(want, sizeof want, "%s:4: [app] no FastCGI app configured", file);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);

	/* A flag at fault is named as such. */
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file,
	    "--fastcgi", "cmd", "--set", "app.address=127.0.0.1:9000", NULL }), -1);
	ck_assert_msg(strstr(err, "--set app.command: [app] command and address are both set")
	    == err, "%s", err);
}
END_TEST

/* ---- include ---- */

static const char *srcdir(void);

START_TEST(test_include_sorted_and_relative)
{
	struct config c;
	char err[CONFIG_ERR_MAX], file[PATH_MAX];

	write_file("inc1/conf.d/20-b.ini", "[server]\nworkers = 7\n", 0644);
	write_file("inc1/conf.d/10-a.ini", "[server]\nworkers = 5\nbacklog = 77\n", 0644);
	write_file("inc1/conf.d/ignored.conf", "[server]\nworkers = 9\n", 0644);
	snprintf(file, sizeof file, "%s", write_file("inc1/main.ini",
	    "[server]\nworkers = 3\nbacklog = 10\ninclude = conf.d/*.ini\n"
	    "max_connections = 11\n[app]\nscript = /bin/sh\n", 0644));
	ck_assert_msg(build_argv(&c, err, (char *[]){ "drover", "-c", file, NULL }) == 0,
	    "%s", err);
	/* 10-a then 20-b: the later file wins; *.conf is not matched. */
	ck_assert_int_eq(c.workers, 7);
	ck_assert_int_eq(c.backlog, 77);
	/* After the include the main file is back in its own [server]. */
	ck_assert_int_eq(c.max_connections, 11);
	config_free(&c);

	/* A pattern that matches nothing is fine (an empty conf.d). */
	snprintf(file, sizeof file, "%s", write_file("inc1/empty.ini",
	    "include = nothing.d/*.ini\n[app]\nscript = /bin/sh\n", 0644));
	ck_assert_msg(build_argv(&c, err, (char *[]){ "drover", "-c", file, NULL }) == 0,
	    "%s", err);
	config_free(&c);
}
END_TEST

START_TEST(test_include_errors_name_the_included_file)
{
	struct config c;
	char err[CONFIG_ERR_MAX], file[PATH_MAX];

	write_file("inc2/conf.d/a.ini", "[server]\nworkers = 2\n", 0644);
	write_file("inc2/conf.d/b.ini", "[server]\n\nworkers = lots\n", 0644);
	snprintf(file, sizeof file, "%s", write_file("inc2/main.ini",
	    "include = conf.d/*.ini\n", 0644));
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file, NULL }), -1);
	assert_err_at(err, "inc2/conf.d/b.ini", 3,
	    "[server] workers: expected an integer 1..128, got 'lots'");

	write_file("inc2/conf.d/b.ini", "[server]\nworkers 2\n", 0644);
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file, NULL }), -1);
	assert_err_at(err, "inc2/conf.d/b.ini", 2, "syntax error");

	/* A cross-key error caused by an included file points into it. */
	write_file("inc2/conf.d/b.ini", "[app]\nroot = /nonexistent/drover\n", 0644);
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file, NULL }), -1);
	assert_err_at(err, "inc2/conf.d/b.ini", 2,
	    "[app] root: /nonexistent/drover: No such file or directory");

	/* A plain path must exist. */
	snprintf(file, sizeof file, "%s", write_file("inc2/plain.ini",
	    "[app]\nscript = /bin/sh\ninclude = missing.ini\n", 0644));
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file, NULL }), -1);
	ck_assert_msg(strstr(err, "plain.ini:3: include '") != NULL &&
	    strstr(err, "missing.ini': No such file or directory") != NULL, "%s", err);

	/* A file that includes itself stops at the depth bound. */
	snprintf(file, sizeof file, "%s", write_file("inc2/loop.ini",
	    "[app]\nscript = /bin/sh\ninclude = loop.ini\n", 0644));
	ck_assert_int_eq(build_argv(&c, err, (char *[]){ "drover", "-c", file, NULL }), -1);
	ck_assert_msg(strstr(err, "loop.ini:3: include 'loop.ini': nested more than") != NULL,
	    "%s", err);
}
END_TEST

/* What the package ships loads cleanly: the short main file with its
 * conf.d, and every example site. */
START_TEST(test_shipped_configs)
{
	static const char *sites[] = { "cgit", "dokuwiki", "php-cgi" };
	struct config c;
	char err[CONFIG_ERR_MAX], path[PATH_MAX];

	snprintf(path, sizeof path, "%s/packaging/drover.ini", srcdir());
	config_defaults(&c);
	ck_assert_msg(config_load_file(&c, path, err, sizeof err) == 0, "%s", err);
	ck_assert_str_eq(c.binds.v[0], "127.0.0.1:8000");
	ck_assert_str_eq(c.script, "/usr/share/drover/welcome.cgi");
	config_free(&c);
	for (size_t i = 0; i < sizeof sites / sizeof sites[0]; i++) {
		snprintf(path, sizeof path, "%s/examples/sites/%s.ini", srcdir(), sites[i]);
		config_defaults(&c);
		ck_assert_msg(config_load_file(&c, path, err, sizeof err) == 0, "%s", err);
		config_free(&c);
	}
}
END_TEST

/* Without -c and without an app on the command line, the default file is
 * read; naming an app keeps drover on flags alone. */
START_TEST(test_default_config_file)
{
	struct config c;
	char err[CONFIG_ERR_MAX], file[PATH_MAX];
	const char *saved = cli_default_config;

	snprintf(file, sizeof file, "%s", write_file("etc/drover.ini",
	    "[server]\nworkers = 3\n[app]\nscript = /bin/sh\n", 0644));
	cli_default_config = file;
	ck_assert_msg(build_argv(&c, err, (char *[]){ "drover", "-t", NULL }) == 0, "%s", err);
	ck_assert_int_eq(c.workers, 3);
	ck_assert_str_eq(c.file, file);
	config_free(&c);

	ck_assert_msg(build_argv(&c, err, (char *[]){ "drover", "--cgi", "/bin/sh", NULL }) == 0,
	    "%s", err);
	ck_assert_ptr_null(c.file);
	ck_assert_int_ne(c.workers, 3);
	config_free(&c);
	cli_default_config = saved;
}
END_TEST

/* ---- conf/drover.ini ---- */

static const char *
srcdir(void)
{
#ifdef SRCDIR
	return SRCDIR;
#else
	const char *s = getenv("srcdir");
	return s != NULL && *s != '\0' ? s : ".";
#endif
}

/* Whether the text's [section] block has "key =" or ";key =" on a line. */
static bool
mentions(const char *text, const char *section, const char *key)
{
	char head[64];
	const char *p, *end;
	size_t klen = strlen(key);

	snprintf(head, sizeof head, "\n[%s]\n", section);
	if ((p = strstr(text, head)) == NULL)
		return false;
	p += strlen(head);
	end = strstr(p, "\n[");
	if (end == NULL)
		end = p + strlen(p);
	while (p < end) {
		const char *q = p;
		while (*q == ';' || *q == '#' || *q == ' ')
			q++;
		if (strncmp(q, key, klen) == 0) {
			q += klen;
			while (*q == ' ')
				q++;
			if (*q == '=')
				return true;
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return false;
}

/* Whether (section, key) is a key of the table. */
static bool
is_key(const char *section, const char *key)
{
	const char *sec, *name;

	for (size_t i = 0; (name = config_key_name(i, &sec)) != NULL; i++)
		if (strcmp(sec, section) == 0 && strcmp(name, key) == 0)
			return true;
	return false;
}

/* One key a document names, and where. */
struct doc_key {
	char section[32], key[64];
	int line;
};

/*
 * The keys drover.ini(5) documents: each is a ".TP" paragraph whose tag
 * line is ".B key" or ".BR key ..." under a .SH "[section]" heading.
 */
static size_t
man_keys(const char *path, struct doc_key *out, size_t cap)
{
	char line[512], section[32] = "";
	bool tag = false;
	size_t n = 0;
	int no = 0;
	FILE *f = fopen(path, "re");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f) != NULL) {
		no++;
		if (strncmp(line, ".SH ", 4) == 0) {
			char close = '\0';
			/* Only "[name]": a named section such as "[app NAME]" has
			 * keys of its own, checked where it is parsed. */
			if (sscanf(line, ".SH \"[%31[a-z]%c", section, &close) != 2 || close != ']')
				section[0] = '\0';
			tag = false;
			continue;
		}
		if (tag && section[0] != '\0' && n < cap &&
		    sscanf(line, ".B%*[R] %63[a-z_]", out[n].key) == 1) {
			snprintf(out[n].section, sizeof out[n].section, "%s", section);
			out[n++].line = no;
		} else if (tag && section[0] != '\0' && n < cap &&
		    sscanf(line, ".B %63[a-z_]", out[n].key) == 1) {
			snprintf(out[n].section, sizeof out[n].section, "%s", section);
			out[n++].line = no;
		}
		tag = strncmp(line, ".TP", 3) == 0;
	}
	fclose(f);
	return n;
}

/* The keys conf/drover.ini sets or shows commented out (";key = ..."). */
static size_t
ini_keys(const char *path, struct doc_key *out, size_t cap)
{
	char line[512], section[32] = "";
	size_t n = 0;
	int no = 0;
	FILE *f = fopen(path, "re");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f) != NULL) {
		const char *p = line;
		char key[64], eq;
		no++;
		if (*p == ';' || *p == '#')
			p++;
		/* A section header, or one shown commented out as an example. */
		if (*p == '[') {
			char close = '\0';
			if (sscanf(p, "[%31[a-z]%c", section, &close) != 2 || close != ']')
				section[0] = '\0';
			continue;
		}
		if (section[0] != '\0' && n < cap && sscanf(p, "%63[a-z_] %c", key, &eq) == 2 &&
		    eq == '=' && strcmp(key, "include") != 0) {
			snprintf(out[n].key, sizeof out[n].key, "%s", key);
			snprintf(out[n].section, sizeof out[n].section, "%s", section);
			out[n++].line = no;
		}
	}
	fclose(f);
	return n;
}

static bool
documents(const struct doc_key *d, size_t n, const char *section, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].section, section) == 0 && strcmp(d[i].key, key) == 0)
			return true;
	return false;
}

/* The key table, conf/drover.ini and drover.ini(5) name the same keys, each
 * under the same section: a key added to one and not the others fails. */
START_TEST(test_docs_match_keys)
{
	static struct doc_key man[256], ini[256];
	char path[PATH_MAX];
	const char *section, *key;
	size_t nman, nini, i;

	snprintf(path, sizeof path, "%s/packaging/man/drover.ini.5", srcdir());
	nman = man_keys(path, man, 256);
	snprintf(path, sizeof path, "%s/conf/drover.ini", srcdir());
	nini = ini_keys(path, ini, 256);
	for (i = 0; (key = config_key_name(i, &section)) != NULL; i++) {
		ck_assert_msg(documents(man, nman, section, key),
		    "drover.ini(5) does not document [%s] %s", section, key);
		ck_assert_msg(documents(ini, nini, section, key),
		    "conf/drover.ini does not show [%s] %s", section, key);
	}
	for (i = 0; i < nman; i++)
		ck_assert_msg(is_key(man[i].section, man[i].key),
		    "drover.ini.5:%d documents [%s] %s, which drover does not know",
		    man[i].line, man[i].section, man[i].key);
	for (i = 0; i < nini; i++)
		ck_assert_msg(is_key(ini[i].section, ini[i].key),
		    "conf/drover.ini:%d shows [%s] %s, which drover does not know",
		    ini[i].line, ini[i].section, ini[i].key);
}
END_TEST

START_TEST(test_example_ini)
{
	struct config c;
	char err[CONFIG_ERR_MAX], path[PATH_MAX];
	static char text[65536];
	const char *section, *key;
	size_t n, i;
	FILE *f;

	snprintf(path, sizeof path, "%s/conf/drover.ini", srcdir());
	config_defaults(&c);
	ck_assert_msg(config_load_file(&c, path, err, sizeof err) == 0, "%s", err);
	/* Every value written there is the default. */
	ck_assert_uint_eq(c.binds.n, 1);
	ck_assert_str_eq(c.binds.v[0], "127.0.0.1:8000");
	ck_assert_uint_eq(c.max_header_bytes, 16 * 1024);
	ck_assert_int_eq(c.command_timeout_ms, 200);
	ck_assert_str_eq(c.key_prefix, "drover:");
	ck_assert_str_eq(c.pass_env, "PATH LANG");
	ck_assert_ptr_null(c.root);
	config_free(&c);

	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	text[0] = '\n';
	n = fread(text + 1, 1, sizeof text - 2, f);
	fclose(f);
	text[n + 1] = '\0';
	for (i = 0; (key = config_key_name(i, &section)) != NULL; i++)
		ck_assert_msg(mentions(text, section, key), "conf/drover.ini lacks [%s] %s",
		    section, key);
	ck_assert_uint_gt(i, 40);
}
END_TEST

/* ---- harness ---- */

static void
make_fixtures(void)
{
	const char *base = getenv("TMPDIR"), *p;

	snprintf(tmpdir, sizeof tmpdir, "%s/drover-test-config.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(cgidir, sizeof cgidir, "%s/cgi-bin", tmpdir);
	if (mkdir(cgidir, 0755) != 0) {
		perror("mkdir");
		exit(1);
	}
	if ((p = try_write_file("app.cgi", "#!/bin/sh\necho\n", 0755)) == NULL) {
		perror("app.cgi");
		exit(1);
	}
	snprintf(cgiscript, sizeof cgiscript, "%s", p);
	if ((p = try_write_file("plain.txt", "x\n", 0644)) == NULL) {
		perror("plain.txt");
		exit(1);
	}
	snprintf(plainfile, sizeof plainfile, "%s", p);
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
remove_fixtures(void)
{
	nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("values");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_free_twice);
	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_parse_duration);
	tcase_add_test(tc, test_parse_bool);
	tcase_add_test(tc, test_set_int);
	tcase_add_test(tc, test_set_size);
	tcase_add_test(tc, test_set_duration);
	tcase_add_test(tc, test_set_bool_enum);
	tcase_add_test(tc, test_set_strings);
	tcase_add_test(tc, test_set_bind_forms);
	tcase_add_test(tc, test_set_env_forms);
	tcase_add_test(tc, test_set_unknown);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, test_file_ok);
	tcase_add_test(tc, test_file_error_lines);
	tcase_add_test(tc, test_file_syntax_error);
	tcase_add_test(tc, test_file_long_line);
	tcase_add_test(tc, test_file_unreadable);
	tcase_add_test(tc, test_example_ini);
	tcase_add_test(tc, test_docs_match_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("layers");
	tcase_add_test(tc, test_bind_layers);
	tcase_add_test(tc, test_env_precedence);
	tcase_add_test(tc, test_build_failure_frees);
	suite_add_tcase(s, tc);

	tc = tcase_create("cli");
	tcase_add_test(tc, test_cli_flags);
	tcase_add_test(tc, test_cli_errors);
	tcase_add_test(tc, test_cli_cgi);
	tcase_add_test(tc, test_cli_fastcgi);
	tcase_add_test(tc, test_cli_usage);
	suite_add_tcase(s, tc);

	tc = tcase_create("validate");
	tcase_add_test(tc, test_validate);
	tcase_add_test(tc, test_validate_names_file);
	tcase_add_test(tc, test_validate_lines);
	tcase_add_test(tc, test_include_sorted_and_relative);
	tcase_add_test(tc, test_include_errors_name_the_included_file);
	tcase_add_test(tc, test_default_config_file);
	tcase_add_test(tc, test_shipped_configs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* The tests set these themselves; inherited values would skew them. */
	unsetenv("REDIS_URL");
	unsetenv("DROVER_SECRET_KEYS");
	make_fixtures();
	sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_fixtures();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
