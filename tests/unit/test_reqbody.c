/*
 * test_reqbody: a request body held in memory up to its bound, spilled to an
 * unlinked file past it, read back byte for byte across read-back windows,
 * rewound, and the failures (no directory, no room) reported, not hidden.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker/reqbody.h"

static char tmpdir[] = "/tmp/test_reqbody-XXXXXX";

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	/* Nothing may be left with a name: rmdir fails on a non-empty directory. */
	ck_assert_int_eq(rmdir(tmpdir), 0);
	strcpy(tmpdir, "/tmp/test_reqbody-XXXXXX");
}

static void
fill(char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)((i * 31 + seed + i / 251) & 0xff);
}

/* Reads the whole body back through peek/consume in pieces of at most step. */
static size_t
read_back(struct reqbody *b, char *out, size_t cap, size_t step)
{
	size_t got = 0;
	for (;;) {
		const char *p;
		ssize_t n = reqbody_peek(b, &p);
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		size_t take = (size_t)n < step ? (size_t)n : step;
		ck_assert_uint_le(got + take, cap);
		memcpy(out + got, p, take);
		reqbody_consume(b, take);
		got += take;
	}
	ck_assert(reqbody_eof(b));
	return got;
}

START_TEST(test_small_body_stays_in_memory)
{
	struct reqbody b;
	reqbody_init(&b, 1024, tmpdir);
	ck_assert_int_eq(reqbody_append(&b, "hello ", 6), 0);
	ck_assert_int_eq(reqbody_append(&b, "world", 5), 0);
	ck_assert(!reqbody_spooled(&b));
	char out[64];
	ck_assert_uint_eq(read_back(&b, out, sizeof out, 4), 11);
	ck_assert(memcmp(out, "hello world", 11) == 0);
	reqbody_rewind(&b);
	ck_assert_uint_eq(read_back(&b, out, sizeof out, 100), 11);
	reqbody_free(&b);
}
END_TEST

START_TEST(test_large_body_spills_to_an_unlinked_file)
{
	size_t n = 3 * REQBODY_WINDOW + 12345;
	char *in = malloc(n), *out = malloc(n);
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	fill(in, n, 7);
	struct reqbody b;
	reqbody_init(&b, 4096, tmpdir);
	/* Uneven pieces, so the spill happens in the middle of one. */
	for (size_t off = 0; off < n; ) {
		size_t piece = 1000 + off % 3000;
		if (piece > n - off)
			piece = n - off;
		ck_assert_int_eq(reqbody_append(&b, in + off, piece), 0);
		off += piece;
	}
	ck_assert(reqbody_spooled(&b));
	ck_assert_uint_eq(b.size, n);
	struct stat st;
	ck_assert_int_eq(fstat(b.fd, &st), 0);
	ck_assert_uint_eq(st.st_nlink, 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(read_back(&b, out, n, 777), n);
	ck_assert(memcmp(in, out, n) == 0);
	/* Once more from the start, as a retried FastCGI request reads it. */
	reqbody_rewind(&b);
	memset(out, 0, n);
	ck_assert_uint_eq(read_back(&b, out, n, n), n);
	ck_assert(memcmp(in, out, n) == 0);
	reqbody_free(&b);
	free(in);
	free(out);
}
END_TEST

START_TEST(test_no_memory_at_all_spools_everything)
{
	struct reqbody b;
	reqbody_init(&b, 0, tmpdir);
	ck_assert_int_eq(reqbody_append(&b, "abc", 3), 0);
	ck_assert(reqbody_spooled(&b));
	char out[8];
	ck_assert_uint_eq(read_back(&b, out, sizeof out, 8), 3);
	ck_assert(memcmp(out, "abc", 3) == 0);
	reqbody_free(&b);
}
END_TEST

START_TEST(test_missing_directory_is_an_error)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s/missing", tmpdir);
	struct reqbody b;
	reqbody_init(&b, 4, dir);
	ck_assert_int_eq(reqbody_append(&b, "1234", 4), 0);
	errno = 0;
	ck_assert_int_eq(reqbody_append(&b, "5", 1), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(b.size, 4);
	reqbody_free(&b);
}
END_TEST

START_TEST(test_zeroed_body_is_empty_and_cannot_grow)
{
	struct reqbody b;
	memset(&b, 0, sizeof b);
	const char *p;
	ck_assert_int_eq(reqbody_peek(&b, &p), 0);
	ck_assert(reqbody_eof(&b));
	ck_assert_int_eq(reqbody_append(&b, "x", 1), -1);
	reqbody_free(&b);       /* closes nothing: fd 0 is not its file */
	ck_assert_int_ne(fcntl(0, F_GETFD), -1);
}
END_TEST

static Suite *
reqbody_suite(void)
{
	Suite *s = suite_create("reqbody");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_small_body_stays_in_memory);
	tcase_add_test(tc, test_large_body_spills_to_an_unlinked_file);
	tcase_add_test(tc, test_no_memory_at_all_spools_everything);
	tcase_add_test(tc, test_missing_directory_is_an_error);
	tcase_add_test(tc, test_zeroed_body_is_empty_and_cannot_grow);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(reqbody_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
