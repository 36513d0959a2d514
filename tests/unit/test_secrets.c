/*
 * test_secrets: REDIS_URL and DROVER_SECRET_KEYS taken out of the
 * environment (and wiped where /proc/PID/environ would show them), and the
 * sealed memfd that hands them to an upgraded binary. Check forks a child
 * for every test, so each one starts with nothing taken.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf/secrets.h"

START_TEST(nothing_taken_reads_the_environment)
{
	setenv("REDIS_URL", "redis://h:1", 1);
	ck_assert_str_eq(secrets_get("REDIS_URL"), "redis://h:1");
	ck_assert_ptr_null(secrets_get("DROVER_SECRET_KEYS"));
}
END_TEST

START_TEST(take_wipes_the_environment)
{
	setenv("REDIS_URL", "redis://:pw@h:1", 1);
	setenv("DROVER_SECRET_KEYS", "k-one,k-two", 1);
	unsetenv(SECRETS_FD_ENV);
	char *val = getenv("DROVER_SECRET_KEYS");
	ck_assert_int_eq(secrets_take(), 0);
	ck_assert_ptr_null(getenv("REDIS_URL"));
	ck_assert_ptr_null(getenv("DROVER_SECRET_KEYS"));
	/* The bytes themselves are gone, not only the pointer to them. */
	ck_assert_int_eq(val[0], '\0');
	ck_assert_str_eq(secrets_get("REDIS_URL"), "redis://:pw@h:1");
	ck_assert_str_eq(secrets_get("DROVER_SECRET_KEYS"), "k-one,k-two");
	/* A later setenv is not a secret any more: the taken value stays. */
	setenv("DROVER_SECRET_KEYS", "planted", 1);
	ck_assert_str_eq(secrets_get("DROVER_SECRET_KEYS"), "k-one,k-two");
}
END_TEST

START_TEST(export_is_sealed_and_holds_the_values)
{
	setenv("DROVER_SECRET_KEYS", "abc", 1);
	unsetenv("REDIS_URL");
	unsetenv(SECRETS_FD_ENV);
	ck_assert_int_eq(secrets_take(), 0);
	int fd = secrets_export();
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	char buf[64];
	ssize_t n = pread(fd, buf, sizeof buf, 0);
	ck_assert_int_eq(n, (ssize_t)sizeof "DROVER_SECRET_KEYS=abc");
	ck_assert_mem_eq(buf, "DROVER_SECRET_KEYS=abc", (size_t)n);
	ck_assert_int_eq(pwrite(fd, "x", 1, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	close(fd);
}
END_TEST

START_TEST(take_from_an_inherited_memfd)
{
	static const char rec[] = "REDIS_URL=redis://m:2\0DROVER_SECRET_KEYS=from-fd\0UNRELATED=x";
	int fd = memfd_create("t", 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, rec, sizeof rec), (ssize_t)sizeof rec);
	char num[16];
	snprintf(num, sizeof num, "%d", fd);
	setenv(SECRETS_FD_ENV, num, 1);
	setenv("DROVER_SECRET_KEYS", "from-environ", 1);
	ck_assert_int_eq(secrets_take(), 0);
	ck_assert_str_eq(secrets_get("REDIS_URL"), "redis://m:2");
	ck_assert_str_eq(secrets_get("DROVER_SECRET_KEYS"), "from-fd");
	ck_assert_ptr_null(getenv("DROVER_SECRET_KEYS"));
	ck_assert_ptr_null(getenv(SECRETS_FD_ENV));
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);   /* read once, closed */
}
END_TEST

START_TEST(bad_inherited_fd_fails)
{
	setenv(SECRETS_FD_ENV, "not-a-number", 1);
	ck_assert_int_eq(secrets_take(), -1);
	ck_assert_ptr_null(getenv(SECRETS_FD_ENV));
}
END_TEST

static Suite *
secrets_suite(void)
{
	Suite *s = suite_create("secrets");
	TCase *tc = tcase_create("secrets");
	tcase_add_test(tc, nothing_taken_reads_the_environment);
	tcase_add_test(tc, take_wipes_the_environment);
	tcase_add_test(tc, export_is_sealed_and_holds_the_values);
	tcase_add_test(tc, take_from_an_inherited_memfd);
	tcase_add_test(tc, bad_inherited_fd_fails);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(secrets_suite());
	/* What was taken stays taken for the life of a process, so each test
	 * needs its own, even where CK_FORK=no is asked for (tests/valgrind.sh;
	 * memcheck follows the forked children). */
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
