/*
 * test_route: mapping request paths onto files under an app's root: which
 * file the path names (the longest existing file prefix), whether it may run
 * (FastCGI extensions never looked up in PATH_INFO, the CGI execute bit),
 * deny prefixes, dot-files, dot segments and directories.
 */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/config.h"
#include "worker/route.h"

static char base[64], root[PATH_MAX], real_root[PATH_MAX];

static void
put(const char *rel, const char *body, mode_t mode)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(body, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(p, mode), 0);
}

static void
dir(const char *rel)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void
setup(void)
{
	snprintf(base, sizeof base, "/tmp/drover-test-route-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(root, sizeof root, "%s/root", base);
	ck_assert_int_eq(mkdir(root, 0755), 0);
	ck_assert_ptr_nonnull(realpath(root, real_root));
	put("index.php", "<?php echo 1;", 0644);
	put("run.cgi", "#!/bin/sh\n", 0755);
	dir("up");
	put("up/x.png", "<?php system('id');", 0644);
	put("up/notes.txt", "<?php system('id');", 0644);
	put("up/.htaccess", "Deny from all", 0644);
	dir("up/y.php");          /* a directory named like a script */
	dir("data");
	put("data/page.txt", "secret", 0644);
	dir(".git");
	put(".git/config", "[core]", 0644);
	put("a.PHP", "<?php", 0644);
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];
	if (strncmp(base, "/tmp/drover-test-route-", 23) == 0) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", base);
	}
}

static void
cfg(struct config *c, enum app_type type)
{
	config_defaults(c);
	c->app_type = type;
	c->root = strdup(root);
	ck_assert_ptr_nonnull(c->root);
}

static void
set(struct config *c, const char *key, const char *value)
{
	char err[CONFIG_ERR_MAX];
	ck_assert_msg(config_set(c, LAYER_CLI, "app", key, value, "--set", err, sizeof err) == 0,
	    "%s", err);
}

/* Resolves path; returns the status, or 1000 + kind on success. */
static int
kind_of(const struct config *c, const char *path, struct route *r)
{
	int st = route_resolve(c, path, r);
	return st ? st : 1000 + (int)r->kind;
}

#define SCRIPT (1000 + ROUTE_SCRIPT)
#define STATIC (1000 + ROUTE_STATIC)
#define SLASH  (1000 + ROUTE_SLASH)

START_TEST(php_runs_only_php)
{
	struct config c;
	struct route r;
	char want[PATH_MAX + 32];

	cfg(&c, APP_FASTCGI);
	ck_assert_int_eq(kind_of(&c, "/index.php", &r), SCRIPT);
	ck_assert_str_eq(r.t.script_name, "/index.php");
	ck_assert_str_eq(r.t.path_info, "");
	snprintf(want, sizeof want, "%s/index.php", root);
	ck_assert_str_eq(r.t.filename, want);
	ck_assert_int_eq(kind_of(&c, "/index.php/a/b.png", &r), SCRIPT);
	ck_assert_str_eq(r.t.script_name, "/index.php");
	ck_assert_str_eq(r.t.path_info, "/a/b.png");

	/* PHP code in an image or a text file is data. */
	ck_assert_int_eq(kind_of(&c, "/up/x.png", &r), STATIC);
	ck_assert_int_eq(kind_of(&c, "/up/notes.txt", &r), STATIC);
	/* The extension of trailing PATH_INFO never makes the file a script. */
	ck_assert_int_eq(kind_of(&c, "/up/x.png/y.php", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/up/notes.txt/.php", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/up/x.png/", &r), 404);
	/* A directory named like a script is a directory. */
	ck_assert_int_eq(kind_of(&c, "/up/y.php", &r), SLASH);
	ck_assert_int_eq(kind_of(&c, "/up/y.php/", &r), 404);
	/* Extensions match exactly. */
	ck_assert_int_eq(kind_of(&c, "/a.PHP", &r), STATIC);
	/* Nothing there: nothing to run. */
	ck_assert_int_eq(kind_of(&c, "/missing.php", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/up/missing.php", &r), 404);

	set(&c, "extensions", ".php .PHP");
	ck_assert_int_eq(kind_of(&c, "/a.PHP", &r), SCRIPT);
	config_free(&c);
}
END_TEST

START_TEST(cgi_runs_executables)
{
	struct config c;
	struct route r;

	cfg(&c, APP_CGI);
	ck_assert_int_eq(kind_of(&c, "/run.cgi/x", &r), SCRIPT);
	ck_assert_str_eq(r.t.path_info, "/x");
	ck_assert_int_eq(kind_of(&c, "/index.php", &r), STATIC);
	ck_assert_int_eq(kind_of(&c, "/up/x.png/run.cgi", &r), 404);
	config_free(&c);
}
END_TEST

START_TEST(dots_and_denials)
{
	struct config c;
	struct route r;

	cfg(&c, APP_FASTCGI);
	ck_assert_int_eq(kind_of(&c, "/up/.htaccess", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/.git/config", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/.git/", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/index.php/.git", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/up/../index.php", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/./index.php", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/..", &r), 404);
	ck_assert_int_eq(kind_of(&c, "index.php", &r), 404);
	ck_assert_int_eq(kind_of(&c, "", &r), 404);

	ck_assert_int_eq(kind_of(&c, "/data/page.txt", &r), STATIC);
	set(&c, "deny", "/data/ /conf/");
	ck_assert_int_eq(kind_of(&c, "/data/page.txt", &r), 404);
	ck_assert_int_eq(kind_of(&c, "//data/page.txt", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/data//page.txt", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/data", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/data/", &r), 404);
	ck_assert_int_eq(kind_of(&c, "/up/x.png", &r), STATIC);
	config_free(&c);
}
END_TEST

START_TEST(directories)
{
	struct config c;
	struct route r;

	cfg(&c, APP_FASTCGI);
	ck_assert_int_eq(kind_of(&c, "/up", &r), SLASH);
	ck_assert_str_eq(r.t.script_name, "/up");
	ck_assert_int_eq(kind_of(&c, "//up", &r), SLASH);
	ck_assert_str_eq(r.t.script_name, "/up");
	/* Index files: the first of index that exists; scripts run. */
	ck_assert_int_eq(kind_of(&c, "/", &r), SCRIPT);
	ck_assert_str_eq(r.t.script_name, "/index.php");
	ck_assert_str_eq(r.t.path_info, "");
	ck_assert_int_eq(kind_of(&c, "/up/", &r), 404);
	put("up/index.html", "<p>", 0644);
	ck_assert_int_eq(kind_of(&c, "/up/", &r), STATIC);
	ck_assert_str_eq(r.t.script_name, "/up/index.html");
	set(&c, "index", "x.png index.html");
	ck_assert_int_eq(kind_of(&c, "/up/", &r), STATIC);
	ck_assert_str_eq(r.t.script_name, "/up/x.png");
	/* The static type never runs anything, index.php included. */
	ck_assert_int_eq(route_resolve_in(&c, root, APP_STATIC, "/index.php", &r), 0);
	ck_assert_int_eq(r.kind, ROUTE_STATIC);
	config_free(&c);
	cfg(&c, APP_STATIC);
	ck_assert_int_eq(kind_of(&c, "/", &r), 404);
	ck_assert_str_eq(route_index_names(&c), "index.html");
	c.app_type = APP_CGI;
	ck_assert_str_eq(route_index_names(&c), "index.cgi index.html");
	config_free(&c);
}
END_TEST

START_TEST(suffixes)
{
	ck_assert(route_has_suffix("/a/b.php", ".php"));
	ck_assert(route_has_suffix("/a/b.php5", ".php .php5"));
	ck_assert(!route_has_suffix("/a/b.php.png", ".php"));
	ck_assert(!route_has_suffix("/a.php/b", ".php"));
	ck_assert(!route_has_suffix("/a/.php", ".php"));
	ck_assert(!route_has_suffix("/a/bphp", ".php"));
	ck_assert(!route_has_suffix("/a/b.php", ""));
	ck_assert(!route_has_suffix("/a/b.php", NULL));
}
END_TEST

START_TEST(config_checks)
{
	struct config c;
	char err[CONFIG_ERR_MAX];

	config_defaults(&c);
	ck_assert_str_eq(c.extensions, ".php");
	ck_assert_ptr_null(c.deny);
	ck_assert_int_eq(config_set(&c, LAYER_FILE, "app", "extensions", "php", "f:3", err,
	    sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "f:3: [app] extensions"));
	ck_assert_int_eq(config_set(&c, LAYER_FILE, "app", "extensions", "", "f:3", err,
	    sizeof err), -1);
	ck_assert_int_eq(config_set(&c, LAYER_FILE, "app", "extensions", ".php .", "f:3", err,
	    sizeof err), -1);
	ck_assert_int_eq(config_set(&c, LAYER_FILE, "app", "deny", "/data/ conf/", "f:4", err,
	    sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "f:4: [app] deny"));
	ck_assert_int_eq(config_set(&c, LAYER_FILE, "app", "deny", "/data/  /conf/", "f:4", err,
	    sizeof err), 0);
	config_free(&c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("route");
	TCase *t = tcase_create("resolve");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, php_runs_only_php);
	tcase_add_test(t, cgi_runs_executables);
	tcase_add_test(t, dots_and_denials);
	tcase_add_test(t, directories);
	suite_add_tcase(s, t);
	TCase *p = tcase_create("pure");
	tcase_add_test(p, suffixes);
	tcase_add_test(p, config_checks);
	suite_add_tcase(s, p);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
