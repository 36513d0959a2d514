/*
 * test_static: the pure parts of static file serving: one byte range
 * against a file size (satisfiable, ignored, unsatisfiable), whether an
 * Accept-Encoding value takes gzip, and the mime.types table.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/mime.h"
#include "worker/static.h"

static int64_t first, last;

static int
range(const char *v, int64_t size)
{
	first = last = -7;
	return static_parse_range(v, strlen(v), size, &first, &last);
}

#define RANGE_IS(v, size, a, b) do {                                       \
	ck_assert_int_eq(range(v, size), 1);                                   \
	ck_assert_int_eq(first, a);                                            \
	ck_assert_int_eq(last, b);                                             \
} while (0)

START_TEST(ranges_satisfiable)
{
	RANGE_IS("bytes=0-0", 10, 0, 0);
	RANGE_IS("bytes=0-9", 10, 0, 9);
	RANGE_IS("bytes=2-", 10, 2, 9);
	RANGE_IS("bytes=2-100", 10, 2, 9);
	RANGE_IS("bytes=-3", 10, 7, 9);
	RANGE_IS("bytes=-30", 10, 0, 9);
	RANGE_IS("BYTES=1-2", 10, 1, 2);
	RANGE_IS("bytes= 1-2 ", 10, 1, 2);
	RANGE_IS("bytes=9-9", 10, 9, 9);
}
END_TEST

START_TEST(ranges_ignored)
{
	ck_assert_int_eq(range("bytes=0-1,3-4", 10), 0);
	ck_assert_int_eq(range("items=0-1", 10), 0);
	ck_assert_int_eq(range("bytes=", 10), 0);
	ck_assert_int_eq(range("bytes=-", 10), 0);
	ck_assert_int_eq(range("bytes=5-1", 10), 0);
	ck_assert_int_eq(range("bytes=a-1", 10), 0);
	ck_assert_int_eq(range("bytes=1-2x", 10), 0);
	ck_assert_int_eq(range("bytes=+1-2", 10), 0);
	ck_assert_int_eq(range("bytes=1 - 2", 10), 0);
	ck_assert_int_eq(range("bytes=99999999999999999999-", 10), 0);
	ck_assert_int_eq(range("bytes", 10), 0);
	ck_assert_int_eq(range("", 10), 0);
}
END_TEST

START_TEST(ranges_unsatisfiable)
{
	ck_assert_int_eq(range("bytes=10-", 10), -1);
	ck_assert_int_eq(range("bytes=10-20", 10), -1);
	ck_assert_int_eq(range("bytes=-0", 10), -1);
	ck_assert_int_eq(range("bytes=0-", 0), -1);
	ck_assert_int_eq(range("bytes=-1", 0), -1);
}
END_TEST

static int
gz(const char *v)
{
	return static_accepts_gzip(v, strlen(v));
}

START_TEST(accept_encoding)
{
	ck_assert(gz("gzip"));
	ck_assert(gz("deflate, gzip"));
	ck_assert(gz("GZIP;q=0.5"));
	ck_assert(gz("br;q=1, gzip ; q=1.0"));
	ck_assert(gz("x-gzip"));
	ck_assert(gz("gzip;q=0.01"));
	ck_assert(!gz(""));
	ck_assert(!gz("deflate, br"));
	ck_assert(!gz("gzip;q=0"));
	ck_assert(!gz("gzip; q=0.000"));
	ck_assert(!gz("gzipx"));
	ck_assert(!gz("xgzip"));
	ck_assert(!gz("identity;q=0.5, gzip;q=0, *"));
}
END_TEST

START_TEST(mime_table)
{
	char path[] = "/tmp/drover-test-mime-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char *text = "# comment\n"
	    "text/x-one\tone ONE2\n"
	    "application/x-over png # trailing comment\n"
	    "broken-line-without-slash qqzz\n"
	    "\n";
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	/* First use reads /etc/mime.types, then the extra file. */
	mime_reset();
	ck_assert_str_eq(mime_type("/a/b.one", path), "text/x-one");
	ck_assert_str_eq(mime_type("/a/b.One2", path), "text/x-one");
	ck_assert_str_eq(mime_type("/a/b.png", path), "application/x-over");
	ck_assert_str_eq(mime_type("/a/b.qqzz", path), "application/octet-stream");
	ck_assert_str_eq(mime_type("/a/noext", path), "application/octet-stream");
	ck_assert_str_eq(mime_type("/a.d/noext", path), "application/octet-stream");
	ck_assert_str_eq(mime_type("/a/b.", path), "application/octet-stream");
	if (access("/etc/mime.types", R_OK) == 0) {
		ck_assert_str_eq(mime_type("/x.css", path), "text/css");
		ck_assert_str_eq(mime_type("/x.HTML", path), "text/html");
	}
	mime_reset();
	unlink(path);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("static");
	TCase *t = tcase_create("parse");
	tcase_add_test(t, ranges_satisfiable);
	tcase_add_test(t, ranges_ignored);
	tcase_add_test(t, ranges_unsatisfiable);
	tcase_add_test(t, accept_encoding);
	tcase_add_test(t, mime_table);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
