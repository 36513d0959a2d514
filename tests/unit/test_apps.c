/*
 * test_apps: [app NAME] sections: reading them (mount, sessions, every
 * [app] key, FILE:LINE errors for duplicates, bad mounts and unknown keys)
 * and choosing the app of a path (longest mount on whole segments).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/apps.h"
#include "conf/config.h"

static char ini[64];
static char err[CONFIG_ERR_MAX];

/* Builds a config from text; returns config_build's result. */
static int
build(struct config *c, const char *text)
{
	snprintf(ini, sizeof ini, "/tmp/drover-test-apps-XXXXXX");
	int fd = mkstemp(ini);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct cli cli;
	memset(&cli, 0, sizeof cli);
	cli.config_file = ini;
	err[0] = '\0';
	int rc = config_build(c, &cli, err, sizeof err);
	unlink(ini);
	return rc;
}

/* The error, without the temporary file's name. */
static const char *
msg(void)
{
	size_t n = strlen(ini);
	return strncmp(err, ini, n) == 0 ? err + n : err;
}

START_TEST(sections_build_apps)
{
	struct config c;
	ck_assert_int_eq(build(&c,
	    "[server]\nworkers = 3\n"
	    "[app]\nscript = /bin/true\n"
	    "[app git]\nmount = /git\nscript = /bin/true\nsessions = false\n"
	    "[app st]\ntype = static\nroot = /tmp\nmount = /git/static\nexpires = 60\n"), 0);
	ck_assert_uint_eq(c.napps, 2);
	const struct config *g = c.apps[0], *s = c.apps[1];
	ck_assert_str_eq(g->app_name, "git");
	ck_assert_str_eq(g->mount, "/git");
	ck_assert(!g->sessions);
	ck_assert_int_eq(g->workers, 3);          /* shared keys come from the main config */
	ck_assert_str_eq(s->root, "/tmp");
	ck_assert_int_eq(s->app_type, APP_STATIC);
	ck_assert_int_eq(s->expires_ms, 60000);
	ck_assert(s->sessions);
	ck_assert_ptr_null(s->script);            /* [app] keys are not inherited */

	size_t n;
	ck_assert_ptr_eq(apps_route(&c, "/git", &n), g);
	ck_assert_uint_eq(n, 4);
	ck_assert_ptr_eq(apps_route(&c, "/git/x/y", &n), g);
	ck_assert_ptr_eq(apps_route(&c, "/git/static/a.css", &n), s);
	ck_assert_uint_eq(n, 11);
	ck_assert_ptr_eq(apps_route(&c, "/git/staticx", &n), g);
	ck_assert_ptr_eq(apps_route(&c, "/gitx", &n), &c);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_eq(apps_route(&c, "/", &n), &c);
	config_free(&c);
}
END_TEST

START_TEST(only_named_apps)
{
	struct config c;
	ck_assert_int_eq(build(&c, "[app a]\nmount = /a\nscript = /bin/true\n"), 0);
	size_t n;
	ck_assert_ptr_null(apps_route(&c, "/b", &n));
	ck_assert_ptr_eq(apps_route(&c, "/a/b", &n), c.apps[0]);
	config_free(&c);
	/* A named app at / serves what no other mount takes. */
	ck_assert_int_eq(build(&c, "[app root]\nscript = /bin/true\n"
	    "[app a]\nmount = /a\nscript = /bin/true\n"), 0);
	ck_assert_ptr_eq(apps_route(&c, "/b", &n), c.apps[0]);
	config_free(&c);
}
END_TEST

START_TEST(errors_name_the_line)
{
	struct config c;
	ck_assert_int_eq(build(&c, "[app a]\nmount = /a\nscript = /bin/true\n"
	    "[app a]\nmount = /b\n"), -1);
	ck_assert_ptr_nonnull(strstr(msg(), ":4: duplicate section [app a] (first at "));
	ck_assert_ptr_nonnull(strstr(msg(), ":1)"));
	ck_assert_int_eq(build(&c, "[app a]\nmount = /a\nscript = /bin/true\n"
	    "[app b]\nscript = /bin/true\nmount = /a\n"), -1);
	ck_assert_str_eq(msg(), ":6: [app b] mount: /a is also the mount of [app a]");
	ck_assert_int_eq(build(&c, "[app a]\nscript = /bin/true\nmount = a\n"), -1);
	ck_assert_ptr_nonnull(strstr(msg(), ":3: [app a] mount: expected /"));
	for (const char *m = "/a/\0/a//b\0/a/../b\0/a/.git\0/a b\0/a?x\0"; *m; m += strlen(m) + 1) {
		char text[128];
		snprintf(text, sizeof text, "[app a]\nscript = /bin/true\nmount = %s\n", m);
		ck_assert_msg(build(&c, text) == -1, "mount %s accepted", m);
	}
	ck_assert_int_eq(build(&c, "[app a]\nmount = /a\nfoo = 1\n"), -1);
	ck_assert_str_eq(msg(), ":3: [app a] unknown key 'foo'");
	ck_assert_int_eq(build(&c, "[app a]\nmount = /a\nprocesses = 0\n"), -1);
	ck_assert_ptr_nonnull(strstr(msg(), ":3: [app a] processes"));
	ck_assert_int_eq(build(&c, "[app a]\nmount = /a\nsessions = maybe\nscript = /bin/true\n"), -1);
	ck_assert_ptr_nonnull(strstr(msg(), ":3: [app a] sessions"));
	ck_assert_int_eq(build(&c, "[app a b]\nmount = /a\n"), -1);
	ck_assert_int_eq(build(&c, "[app]\nmount = /a\n"), -1);
	ck_assert_int_eq(build(&c, "[app]\nscript = /bin/true\n[app a]\nscript = /bin/true\n"), -1);
	ck_assert_ptr_nonnull(strstr(msg(), "[app a] mount: / is the unnamed [app]'s"));
	ck_assert_int_eq(build(&c, "[app a]\nmount = /a\n"), -1);
	ck_assert_ptr_nonnull(strstr(msg(), "[app a] no CGI scripts configured"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("apps");
	TCase *t = tcase_create("apps");
	tcase_add_test(t, sections_build_apps);
	tcase_add_test(t, only_named_apps);
	tcase_add_test(t, errors_name_the_line);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
