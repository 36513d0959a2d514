/*
 * test_http: the pure pieces of drover's HTTP and CGI path: the strict
 * request-head check, the app response-head parser fed in every split,
 * percent-decoding of request paths, and mapping a URL path onto a script
 * under a temporary root (PATH_INFO split, 403/404, symlink escapes).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cidr.h"
#include "common/util.h"
#include "conf/config.h"
#include "worker/appvars.h"
#include "worker/chunked.h"
#include "worker/conn.h"
#include "worker/http_syntax.h"
#include "worker/forwarded.h"
#include "worker/request.h"

/*
 * conn.c's own framing check (validate) is static and libhttp-parser
 * refuses Content-Length with Transfer-Encoding before it ever runs, so
 * the check is reached here directly: the file is compiled into this
 * suite, whose definitions then stand in for libdrover.a's conn.o.
 */
#include "worker/conn.c"

static int
head_check(const char *s)
{
	return http_head_check(s, strlen(s));
}

/* Same, for heads with embedded NUL bytes. */
static int
head_check_n(const char *s, size_t n)
{
	/* A buffer of exactly n bytes so ASan sees any overread. */
	char	*p = malloc(n);
	int	 r;

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, n);
	r = http_head_check(p, n);
	free(p);
	return r;
}

START_TEST(head_valid)
{
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	ck_assert_int_eq(head_check("GET / HTTP/1.0\r\n\r\n"), 0);
	ck_assert_int_eq(head_check("POST /x?y=1 HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 3\r\nX-Token_1!#$%&'*+.^`|~: v\r\n"
	    "Empty:\r\nTabbed:\tva lue\t\r\n\r\n"), 0);
	/* Bytes above 0x7f are allowed in values (obs-text). */
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n"), 0);
}
END_TEST

START_TEST(head_bare_lf)
{
	ck_assert_int_eq(head_check("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\n\n"), 400);
	ck_assert_int_eq(head_check("\nGET / HTTP/1.1\r\n\r\n"), 400);
}
END_TEST

START_TEST(head_folding)
{
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nX: one\r\n two\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nX: one\r\n\ttwo\r\n\r\n"), 400);
}
END_TEST

START_TEST(head_controls)
{
	static const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
	static const char nul_line[] = "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n";

	ck_assert_int_eq(head_check_n(nul, sizeof nul - 1), 400);
	ck_assert_int_eq(head_check_n(nul_line, sizeof nul_line - 1), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nX: a\x1b" "b\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f" "b\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\x0b\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(head_names)
{
	/* Space or tab before the colon: a smuggling classic. */
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nX(y): v\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nX/y: v\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nX\"y: v\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nX@y: v\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: v\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a\r\n[x]: v\r\n\r\n"), 400);
}
END_TEST

START_TEST(head_unterminated)
{
	/* A head that does not end in CRLF is not a head. */
	ck_assert_int_eq(head_check("GET / HTTP/1.1\r\nHost: a"), 400);
}
END_TEST

/* The app response-head parser. */

static void
ah_init(struct apphdr *ah, size_t limit)
{
	memset(ah, 0, sizeof *ah);
	buf_init(&ah->raw, limit);
	apphdr_reset(ah);
}

/* Feeds s in pieces of step bytes (0: all at once); returns bytes taken into the head. */
static long
ah_feed_steps(struct apphdr *ah, const char *s, size_t len, size_t step, size_t max)
{
	long	 total = 0;
	size_t	 pos = 0;

	while (pos < len && !ah->done) {
		size_t	 n = step == 0 || step > len - pos ? len - pos : step;
		char	*piece = malloc(n);
		long	 r;

		ck_assert_ptr_nonnull(piece);
		memcpy(piece, s + pos, n);
		r = apphdr_feed(ah, piece, n, max);
		free(piece);
		if (r < 0)
			return -1;
		ck_assert_int_le(r, (long)n);
		total += r;
		pos += (size_t)r;
		if (!ah->done)
			ck_assert_int_eq(r, (long)n);
	}
	return total;
}

/* Collects "name=value;" for every header line. */
static void
ah_collect(const struct apphdr *ah, char *out, size_t cap)
{
	struct header	 h;
	size_t		 pos = 0, o = 0;

	out[0] = '\0';
	while (apphdr_next(ah, &pos, &h) == 0) {
		int n = snprintf(out + o, cap - o, "%.*s=%.*s;", (int)h.nlen, h.name,
		    (int)h.vlen, h.value);
		ck_assert_int_lt(n, (int)(cap - o));
		o += (size_t)n;
	}
}

START_TEST(apphdr_crlf_and_lf)
{
	static const char *heads[] = {
		"Content-Type: text/plain\r\nStatus: 201 Created\r\n\r\nBODY",
		"Content-Type: text/plain\nStatus: 201 Created\n\nBODY",
		"Content-Type: text/plain\r\nStatus: 201 Created\n\r\nBODY",
	};

	for (size_t k = 0; k < sizeof heads / sizeof heads[0]; k++) {
		const char	*s = heads[k];
		size_t		 len = strlen(s);
		size_t		 head_len = len - 4;
		char		 got[512];

		for (size_t step = 0; step <= len; step++) {
			struct apphdr	 ah;
			long		 r;

			ah_init(&ah, 4096);
			r = ah_feed_steps(&ah, s, len, step, 4096);
			ck_assert_msg(ah.done, "head %zu step %zu not done", k, step);
			ck_assert_int_eq(r, (long)head_len);
			ck_assert_uint_eq(buf_used(&ah.raw), head_len);
			ah_collect(&ah, got, sizeof got);
			ck_assert_str_eq(got, "Content-Type=text/plain;Status=201 Created;");
			buf_free(&ah.raw);
		}
	}
}
END_TEST

START_TEST(apphdr_split_every_byte)
{
	/* Two-piece split at every position, the blank line included. */
	const char	*s = "Location: /other\r\nX-A:  spaced value \t\r\n\r\ntail";
	size_t		 len = strlen(s), head_len = len - 4;
	char		 got[512];

	for (size_t cut = 0; cut <= len; cut++) {
		struct apphdr	 ah;
		long		 a, b = 0;

		ah_init(&ah, 4096);
		a = apphdr_feed(&ah, s, cut, 4096);
		ck_assert_int_ge(a, 0);
		if (!ah.done) {
			ck_assert_int_eq(a, (long)cut);
			b = apphdr_feed(&ah, s + cut, len - cut, 4096);
			ck_assert_int_ge(b, 0);
		}
		ck_assert_msg(ah.done, "cut %zu", cut);
		ck_assert_int_eq(a + b, (long)head_len);
		ah_collect(&ah, got, sizeof got);
		ck_assert_str_eq(got, "Location=/other;X-A=spaced value;");
		buf_free(&ah.raw);
	}
}
END_TEST

START_TEST(apphdr_blank_only)
{
	static const char *heads[] = { "\r\nbody", "\nbody" };

	for (size_t k = 0; k < 2; k++) {
		struct apphdr	 ah;
		struct header	 h;
		size_t		 pos = 0;
		long		 r;

		ah_init(&ah, 4096);
		r = apphdr_feed(&ah, heads[k], strlen(heads[k]), 4096);
		ck_assert(ah.done);
		ck_assert_int_eq(r, (long)(strlen(heads[k]) - 4));
		ck_assert_int_eq(apphdr_next(&ah, &pos, &h), -1);
		buf_free(&ah.raw);
	}
}
END_TEST

START_TEST(apphdr_oversize)
{
	struct apphdr	 ah;
	char		 big[300];
	long		 r;

	memset(big, 'x', sizeof big);
	memcpy(big, "X-Big: ", 7);

	/* All at once. */
	ah_init(&ah, 256);
	r = apphdr_feed(&ah, big, sizeof big, 256);
	ck_assert_int_eq(r, -1);
	ck_assert(!ah.done);
	buf_free(&ah.raw);

	/* In small pieces: the piece that reaches the bound is refused. */
	ah_init(&ah, 256);
	r = ah_feed_steps(&ah, big, sizeof big, 10, 256);
	ck_assert_int_eq(r, -1);
	ck_assert(!ah.done);
	buf_free(&ah.raw);

	/* A head that fits exactly is accepted. */
	ah_init(&ah, 256);
	memcpy(big + 252, "\r\n\r\n", 4);
	r = apphdr_feed(&ah, big, 256, 256);
	ck_assert(ah.done);
	ck_assert_int_eq(r, 256);
	buf_free(&ah.raw);
}
END_TEST

START_TEST(apphdr_iteration)
{
	struct apphdr	 ah;
	char		 got[512];
	const char	*s = "Content-Type:text/html\r\n"
	    "not a header line\r\n"
	    ": empty name\r\n"
	    "X-Trim: \t  value with  inner  spaces \t \r\n"
	    "X-Empty:\r\n"
	    "Status: 404 Not Found\n"
	    "\r\n";

	ah_init(&ah, 4096);
	ck_assert_int_eq(apphdr_feed(&ah, s, strlen(s), 4096), (long)strlen(s));
	ck_assert(ah.done);
	ah_collect(&ah, got, sizeof got);
	ck_assert_str_eq(got, "Content-Type=text/html;X-Trim=value with  inner  spaces;"
	    "X-Empty=;Status=404 Not Found;");
	buf_free(&ah.raw);
}
END_TEST

/* percent_decode */

static long
pd(const char *in, char *out, size_t cap)
{
	snprintf(out, cap, "%s", in);
	return percent_decode(out, strlen(out));
}

START_TEST(percent)
{
	char	 b[64];

	ck_assert_int_eq(pd("/a%2Fb", b, sizeof b), 4);
	ck_assert_str_eq(b, "/a/b");
	ck_assert_int_eq(pd("%2f%2E%2e", b, sizeof b), 3);
	ck_assert_str_eq(b, "/..");
	ck_assert_int_eq(pd("plain", b, sizeof b), 5);
	ck_assert_str_eq(b, "plain");
	ck_assert_int_eq(pd("%41%42c", b, sizeof b), 3);
	ck_assert_str_eq(b, "ABc");
	ck_assert_int_eq(pd("", b, sizeof b), 0);
	ck_assert_int_eq(pd("%20", b, sizeof b), 1);
	ck_assert_str_eq(b, " ");

	ck_assert_int_eq(pd("%00", b, sizeof b), -1);
	ck_assert_int_eq(pd("a%00b", b, sizeof b), -1);
	ck_assert_int_eq(pd("%", b, sizeof b), -1);
	ck_assert_int_eq(pd("%4", b, sizeof b), -1);
	ck_assert_int_eq(pd("a%4", b, sizeof b), -1);
	ck_assert_int_eq(pd("%zz", b, sizeof b), -1);
	ck_assert_int_eq(pd("%4g", b, sizeof b), -1);
	ck_assert_int_eq(pd("%g4", b, sizeof b), -1);
	ck_assert_int_eq(pd("%-1", b, sizeof b), -1);
}
END_TEST

/* script_resolve against a temporary root. */

static char	 tmp_root[256];
static char	 tmp_outside[256];

static void
write_file(const char *dir, const char *name, mode_t mode)
{
	char	 p[PATH_MAX];
	FILE	*f;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("#!/bin/sh\nexit 0\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(p, mode), 0);
}

static void
mk_link(const char *target, const char *name)
{
	char	 p[PATH_MAX];

	snprintf(p, sizeof p, "%s/%s", tmp_root, name);
	ck_assert_int_eq(symlink(target, p), 0);
}

static void
root_setup(void)
{
	char	 base[] = "/tmp/drover-test-http-XXXXXX";
	char	 p[PATH_MAX];

	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(tmp_root, sizeof tmp_root, "%s/root", base);
	snprintf(tmp_outside, sizeof tmp_outside, "%s/outside", base);
	ck_assert_int_eq(mkdir(tmp_root, 0755), 0);
	ck_assert_int_eq(mkdir(tmp_outside, 0755), 0);
	write_file(tmp_root, "a.cgi", 0755);
	write_file(tmp_root, "noexec.cgi", 0644);
	write_file(tmp_outside, "evil.cgi", 0755);
	snprintf(p, sizeof p, "%s/sub", tmp_root);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	write_file(p, "b.cgi", 0755);
	snprintf(p, sizeof p, "%s/evil.cgi", tmp_outside);
	mk_link(p, "escape.cgi");
	mk_link(tmp_outside, "outdir");
	mk_link("a.cgi", "alias.cgi");
}

static void
root_teardown(void)
{
	char	 cmd[PATH_MAX + 16];

	/* tmp_root is BASE/root; remove BASE. */
	char	*slash = strrchr(tmp_root, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	if (strncmp(tmp_root, "/tmp/drover-test-http-", 22) == 0) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp_root);
	}
}

static void
cfg_with(struct config *c, const char *key, const char *value)
{
	char	 err[CONFIG_ERR_MAX];

	config_defaults(c);
	ck_assert_msg(config_set(c, LAYER_CLI, "app", key, value, "--set", err, sizeof err) == 0,
	    "%s", err);
}

static int
resolve(const char *path, struct script_target *t)
{
	struct config	 c;
	int		 r;

	cfg_with(&c, "root", tmp_root);
	r = script_resolve(&c, path, t, 1);
	config_free(&c);
	return r;
}

START_TEST(resolve_split)
{
	struct script_target	 t;
	char			 want[PATH_MAX + 16];
	char			 real_root[PATH_MAX];

	(void)real_root;
	ck_assert_int_eq(resolve("/a.cgi/extra/more", &t), 0);
	ck_assert_str_eq(t.script_name, "/a.cgi");
	ck_assert_str_eq(t.path_info, "/extra/more");
	/* The file as named under root (links are not resolved). */
	snprintf(want, sizeof want, "%s/a.cgi", tmp_root);
	ck_assert_str_eq(t.filename, want);

	ck_assert_int_eq(resolve("/a.cgi", &t), 0);
	ck_assert_str_eq(t.script_name, "/a.cgi");
	ck_assert_str_eq(t.path_info, "");

	ck_assert_int_eq(resolve("/sub/b.cgi/x", &t), 0);
	ck_assert_str_eq(t.script_name, "/sub/b.cgi");
	ck_assert_str_eq(t.path_info, "/x");

	/* A symlink that stays inside root is fine. */
	ck_assert_int_eq(resolve("/alias.cgi", &t), 0);
	ck_assert_str_eq(t.script_name, "/alias.cgi");
}
END_TEST

START_TEST(resolve_missing)
{
	struct script_target	 t;

	ck_assert_int_eq(resolve("/nope.cgi", &t), 404);
	ck_assert_int_eq(resolve("/nope.cgi/extra", &t), 404);
	ck_assert_int_eq(resolve("/sub/nope.cgi", &t), 404);
	/* Directories are not scripts. */
	ck_assert_int_eq(resolve("/sub", &t), 404);
	ck_assert_int_eq(resolve("/sub/", &t), 404);
	ck_assert_int_eq(resolve("/", &t), 404);
}
END_TEST

START_TEST(resolve_forbidden)
{
	struct script_target	 t;

	ck_assert_int_eq(resolve("/noexec.cgi", &t), 403);
	/* Dot segments name nothing, however they were spelled. */
	ck_assert_int_eq(resolve("/../outside/evil.cgi", &t), 404);
	ck_assert_int_eq(resolve("/sub/../a.cgi", &t), 404);
	ck_assert_int_eq(resolve("/./a.cgi", &t), 404);
	ck_assert_int_eq(resolve("/..", &t), 404);
	ck_assert_int_eq(resolve("a.cgi", &t), 404);
}
END_TEST

START_TEST(resolve_symlinks)
{
	struct config		 c;
	struct script_target	 t;

	/* yes (the default): links are followed, in or out of root. */
	cfg_with(&c, "root", tmp_root);
	ck_assert_int_eq(script_resolve(&c, "/escape.cgi/extra", &t, 1), 0);
	ck_assert_int_eq(script_resolve(&c, "/outdir/evil.cgi", &t, 1), 0);
	ck_assert_int_eq(script_resolve(&c, "/alias.cgi", &t, 1), 0);
	/* owner: links owned by the target's owner (here, both ours). */
	config_free(&c);
	cfg_with(&c, "follow_symlinks", "owner");
	c.root = strdup(tmp_root);
	ck_assert_int_eq(script_resolve(&c, "/escape.cgi", &t, 1), 0);
	ck_assert_int_eq(script_resolve(&c, "/outdir/evil.cgi", &t, 1), 0);
	if (geteuid() == 0) {
		char p[PATH_MAX + 16];
		snprintf(p, sizeof p, "%s/escape.cgi", tmp_root);
		ck_assert_int_eq(lchown(p, 65534, (gid_t)-1), 0);
		ck_assert_int_eq(script_resolve(&c, "/escape.cgi", &t, 1), 403);
		snprintf(p, sizeof p, "%s/outdir", tmp_root);
		ck_assert_int_eq(lchown(p, 65534, (gid_t)-1), 0);
		ck_assert_int_eq(script_resolve(&c, "/outdir/evil.cgi", &t, 1), 403);
	}
	config_free(&c);
	/* no: no link anywhere below root, a file or a directory on the way. */
	cfg_with(&c, "follow_symlinks", "no");
	c.root = strdup(tmp_root);
	ck_assert_int_eq(script_resolve(&c, "/escape.cgi", &t, 1), 403);
	ck_assert_int_eq(script_resolve(&c, "/escape.cgi/extra", &t, 1), 403);
	ck_assert_int_eq(script_resolve(&c, "/outdir/evil.cgi", &t, 1), 403);
	ck_assert_int_eq(script_resolve(&c, "/alias.cgi", &t, 1), 403);
	ck_assert_int_eq(script_resolve(&c, "/a.cgi", &t, 1), 0);
	config_free(&c);
}
END_TEST

START_TEST(resolve_fastcgi_scripts_only)
{
	struct config		 c;
	struct script_target	 t;

	/* FastCGI: a file runs only when its own name has a script extension. */
	cfg_with(&c, "root", tmp_root);
	c.app_type = APP_FASTCGI;
	ck_assert_int_eq(script_resolve(&c, "/noexec.cgi/p", &t, 0), 404);
	ck_assert_int_eq(script_resolve(&c, "/noexec.cgi", &t, 0), 404);
	ck_assert_int_eq(script_resolve(&c, "/index.php", &t, 0), 404);
	ck_assert_int_eq(script_resolve(&c, "/../x", &t, 0), 404);
	config_free(&c);
}
END_TEST

START_TEST(resolve_script_mode)
{
	struct config		 c;
	struct script_target	 t;
	char			 script[PATH_MAX + 8];

	snprintf(script, sizeof script, "%s/a.cgi", tmp_root);
	cfg_with(&c, "script", script);
	ck_assert_int_eq(script_resolve(&c, "/any/path/here", &t, 1), 0);
	ck_assert_str_eq(t.script_name, "");
	ck_assert_str_eq(t.path_info, "/any/path/here");
	ck_assert_str_eq(t.filename, script);
	ck_assert_int_eq(script_resolve(&c, "/", &t, 1), 0);
	ck_assert_str_eq(t.path_info, "/");
	config_free(&c);
}
END_TEST

START_TEST(resolve_no_root)
{
	struct config		 c;
	struct script_target	 t;

	config_defaults(&c);
	ck_assert_int_eq(script_resolve(&c, "/a.cgi", &t, 1), 404);
	config_free(&c);
}
END_TEST

/* Feeds a whole body in one piece and byte by byte; both must agree. */
static int
chunks_ok(const char *body)
{
	struct chunk_check whole, bytes;
	size_t n = strlen(body);
	chunk_check_init(&whole);
	chunk_check_init(&bytes);
	int a = chunk_check_feed(&whole, body, n) == 0 && chunk_check_done(&whole);
	int b = 1;
	for (size_t i = 0; i < n && b; i++)
		b = chunk_check_feed(&bytes, body + i, 1) == 0;
	b = b && chunk_check_done(&bytes);
	ck_assert_int_eq(a, b);
	return a;
}

START_TEST(chunked_valid)
{
	ck_assert(chunks_ok("3\r\nabc\r\n0\r\n\r\n"));
	ck_assert(chunks_ok("A\r\n0123456789\r\n0\r\n\r\n"));
	ck_assert(chunks_ok("3;name\r\nabc\r\n0\r\n\r\n"));
	ck_assert(chunks_ok("3 ; a=b ; c=\"x y\\\"z\"\r\nabc\r\n0\r\n\r\n"));
	ck_assert(chunks_ok("3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"));
	ck_assert(chunks_ok("0\r\n\r\n"));
}
END_TEST

/*
 * Many chunks in one body: the size parser must start afresh at every chunk
 * (15 one-digit sizes in a row add up to the 16 digits of an overflow).
 */
START_TEST(chunked_many)
{
	char	 body[4096];
	size_t	 n = 0;

	for (int i = 1; i <= 40; i++)
		n += (size_t)snprintf(body + n, sizeof body - n, "%x\r\n%.*s\r\n", i % 20 + 1,
		    i % 20 + 1, "abcdefghijklmnopqrstu");
	n += (size_t)snprintf(body + n, sizeof body - n, "0\r\n\r\n");
	ck_assert_uint_lt(n, sizeof body);
	ck_assert(chunks_ok(body));
}
END_TEST

START_TEST(chunked_refused)
{
	static const char *bad[] = {
		"3;a=b\nc\r\nabc\r\n0\r\n\r\n",  /* bare LF in an extension */
		"3;\x01\r\nabc\r\n0\r\n\r\n",      /* control byte */
		"3;a=\x7f\r\nabc\r\n0\r\n\r\n",
		"3;a b c\r\nabc\r\n0\r\n\r\n",      /* names without ';' between them */
		"3 3\r\nabc\r\n0\r\n\r\n",          /* a second size */
		"3\nabc\r\n0\r\n\r\n",               /* bare LF after the size */
		"3\r\nabcd\r\n0\r\n\r\n",           /* more data than the size */
		"3\r\nabc\n0\r\n\r\n",               /* bare LF after the data */
		"x\r\nabc\r\n0\r\n\r\n",            /* not hex */
		"\r\nabc\r\n0\r\n\r\n",             /* no size */
		"1000000000000000\r\n",               /* 16 hex digits: overflow */
		"0\r\nX-Trailer: \x01\r\n\r\n",      /* control byte in a trailer */
		"0\r\n\r\nGET / HTTP/1.1\r\n",        /* bytes after the end */
		"3;a=\"unterminated\r\nabc\r\n0\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!chunks_ok(bad[i]), "accepted: %s", bad[i]);
}
END_TEST



START_TEST(request_line_strict)
{
	static const char *good[] = { "GET / HTTP/1.1", "GET /a/b?c=d&e=%20 HTTP/1.0",
		"OPTIONS * HTTP/1.1", "GET http://example.com/x HTTP/1.1", "CONNECT example.com:443 HTTP/1.1",
		"M-SEARCH /x HTTP/1.1", "GET /~user/a;b=c,d!$'()*+@:[] HTTP/1.1", "GET / HTTP/2.0" };
	static const char *bad[] = {
		"GET / HTTZ/1.1", "GET / H!!!/1.1", "GET / HTTP/1.10", "GET / HTTP/1", "GET / http/1.1",
		"GET / HTTP/1.1 ", "GET  / HTTP/1.1", "GET /  HTTP/1.1", " GET / HTTP/1.1", "GET\t/ HTTP/1.1",
		"GET /\t HTTP/1.1", "GET /a#frag HTTP/1.1", "GET /\xff HTTP/1.1", "GET /\x7f HTTP/1.1",
		"GET HTTP/1.1", "GET /", "G(T / HTTP/1.1", "GET * HTTP/1.1", "GET example.com HTTP/1.1",
		"GET 1http://x/ HTTP/1.1", "GET http: HTTP/1.1", "CONNECT example.com HTTP/1.1",
		"GET / HTTP/1.1 extra", "/ HTTP/1.1", "",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(http_request_line_check(good[i], strlen(good[i])) == 0, "refused %s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(http_request_line_check(bad[i], strlen(bad[i])) == 400, "accepted %s", bad[i]);
	/* And through the whole-head check. */
	ck_assert_int_eq(head_check("GET / HTTZ/1.1\r\nHost: a\r\n\r\n"), 400);
	ck_assert_int_eq(head_check("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}
END_TEST

START_TEST(host_values)
{
	static const char *good[] = { "", "a", "example.com", "example.com:8080", "127.0.0.1:80", "[::1]",
		"[::1]:8000", "[v1.fe80::a+en1]", "xn--bcher-kva.example", "a-b_c~d", "a%20b", "a!$&'()*+,;=b",
		"example.com:" };
	static const char *bad[] = { "a b", "evil/x?y", "user@evil", "\"><script>", "[::1", "[zz]",
		"[::1]x", "[::1]:8o", "example.com:80:80", "example.com:123456", ":80", "a%2", "a%zz", "a\tb",
		"caf\xc3\xa9", "a\\b", "a#b", "[]" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(http_host_check(good[i], strlen(good[i])) == 0, "refused %s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(http_host_check(bad[i], strlen(bad[i])) == 400, "accepted %s", bad[i]);
}
END_TEST

START_TEST(transfer_codings)
{
	ck_assert_int_eq(http_te_check("chunked", 7), 0);
	ck_assert_int_eq(http_te_check("Chunked", 7), 0);
	ck_assert_int_eq(http_te_check("gzip", 4), 501);
	ck_assert_int_eq(http_te_check("identity", 8), 501);
	ck_assert_int_eq(http_te_check("gzip, chunked", 13), 501);
	ck_assert_int_eq(http_te_check("xchunked", 8), 501);
	ck_assert_int_eq(http_te_check("chunked, chunked", 16), 400);
	ck_assert_int_eq(http_te_check("chunked;q=1", 11), 400);
	ck_assert_int_eq(http_te_check("\"chunked\"", 9), 400);
	ck_assert_int_eq(http_te_check("chunked,", 8), 400);
	ck_assert_int_eq(http_te_check("", 0), 400);
}
END_TEST

/* A request as libhttp-parser leaves it, with the given header lines. */
static int
framing_check(int minor, const char *const *hdr, size_t nhdr)
{
	struct config		 cfg;
	struct request		 req;

	config_defaults(&cfg);
	conn_env.cfg = &cfg;
	memset(&req, 0, sizeof req);
	req.http_major = 1;
	req.http_minor = minor;
	req.content_length = -1;
	for (size_t i = 0; i < nhdr; i++) {
		const char *colon = strchr(hdr[i], ':');

		ck_assert_ptr_nonnull(colon);
		req.hdr[i].name = hdr[i];
		req.hdr[i].nlen = (size_t)(colon - hdr[i]);
		req.hdr[i].value = colon + 2;
		req.hdr[i].vlen = strlen(colon + 2);
		if (strncasecmp(hdr[i], "Content-Length", 14) == 0)
			req.content_length = strtoll(colon + 2, NULL, 10);
		if (strncasecmp(hdr[i], "Transfer-Encoding", 17) == 0)
			req.chunked = true;
	}
	req.nhdr = nhdr;
	int status = validate(NULL, &req);
	conn_env.cfg = NULL;
	config_free(&cfg);
	return status;
}

#define FRAMING(minor, ...) \
	framing_check((minor), (const char *const[]){ __VA_ARGS__ }, \
	    sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

/* drover's own refusal of framing two parsers could read two ways. */
START_TEST(framing_cl_and_te)
{
	ck_assert_int_eq(FRAMING(1, "Host: a", "Content-Length: 3"), 0);
	ck_assert_int_eq(FRAMING(1, "Host: a", "Transfer-Encoding: chunked"), 0);
	ck_assert_int_eq(FRAMING(1, "Host: a", "Content-Length: 3", "Transfer-Encoding: chunked"), 400);
	ck_assert_int_eq(FRAMING(1, "Host: a", "Transfer-Encoding: chunked", "Content-Length: 0"), 400);
	ck_assert_int_eq(FRAMING(1, "Host: a", "transfer-encoding: chunked", "content-length: 3"), 400);
	ck_assert_int_eq(FRAMING(1, "Host: a", "Transfer-Encoding: chunked",
	    "Transfer-Encoding: chunked"), 400);
	ck_assert_int_eq(FRAMING(1, "Host: a", "Content-Length: 3", "Content-Length: 3"), 400);
	ck_assert_int_eq(FRAMING(0, "Transfer-Encoding: chunked"), 400);
	ck_assert_int_eq(FRAMING(1, "Content-Length: 3"), 400);   /* no Host */
}
END_TEST

/* Trusted-proxy ranges and the forwarded client address. */

static bool
in_set(const struct cidr_set *s, const char *a)
{
	int	 fam;
	uint8_t	 b[16];

	ck_assert_int_eq(ip_parse(a, strlen(a), &fam, b), 0);
	return cidr_set_contains(s, fam, b);
}

START_TEST(cidr_ranges)
{
	struct cidr_set	 s;
	char		 err[128];

	ck_assert_int_eq(cidr_set_parse(&s, "10.0.0.0/8, ::1 192.168.1.7 2001:db8::/32", err, sizeof err), 0);
	ck_assert_uint_eq(s.n, 4);
	ck_assert(in_set(&s, "10.255.1.2"));
	ck_assert(!in_set(&s, "11.0.0.1"));
	ck_assert(in_set(&s, "::1"));
	ck_assert(!in_set(&s, "::2"));
	ck_assert(in_set(&s, "192.168.1.7"));
	ck_assert(!in_set(&s, "192.168.1.8"));
	ck_assert(in_set(&s, "2001:db8:ffff::1"));
	ck_assert(!in_set(&s, "2001:db9::1"));
	/* An IPv4-mapped IPv6 peer is its IPv4 address. */
	ck_assert(in_set(&s, "::ffff:10.1.1.1"));
	/* Host bits of a range are ignored, as nginx reads 10.1.2.3/8. */
	ck_assert_int_eq(cidr_set_parse(&s, "10.1.2.3/8 172.16.0.0/12", err, sizeof err), 0);
	ck_assert(in_set(&s, "10.9.9.9"));
	ck_assert(in_set(&s, "172.31.255.255"));
	ck_assert(!in_set(&s, "172.32.0.0"));
	ck_assert_int_eq(cidr_set_parse(&s, "*", err, sizeof err), 0);
	ck_assert(in_set(&s, "203.0.113.9"));
	ck_assert_int_eq(cidr_set_parse(&s, "", err, sizeof err), 0);
	ck_assert(!in_set(&s, "127.0.0.1"));
	ck_assert_int_eq(cidr_set_parse(&s, NULL, err, sizeof err), 0);
	ck_assert(!in_set(&s, "127.0.0.1"));
}
END_TEST

START_TEST(cidr_refused)
{
	static const char	*bad[] = { "localhost", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0/8",
		"10.0.0.0/8x", "1.2.3.4.5", "**", "[::1]", "10.0.0.0/-1" };
	struct cidr_set		 s;
	char			 err[128];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(cidr_set_parse(&s, bad[i], err, sizeof err) < 0, "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, "not an address"));
	}
}
END_TEST

static struct client_id
fwd(const char *allow, enum forwarded_header which, const char *peer, const char *name,
    const char *value, const char *name2, const char *value2, int rc_want)
{
	struct cidr_set		 s;
	struct client_id	 out;
	struct header		 h[3];
	size_t			 n = 0;
	char			 err[128];

	ck_assert_int_eq(cidr_set_parse(&s, allow, err, sizeof err), 0);
	h[n++] = (struct header){ "Host", "a", 4, 1 };
	if (name)
		h[n++] = (struct header){ name, value, strlen(name), strlen(value) };
	if (name2)
		h[n++] = (struct header){ name2, value2, strlen(name2), strlen(value2) };
	ck_assert_int_eq(forwarded_resolve(&s, which, peer, 4000, h, n, &out), rc_want);
	return out;
}

#define XFF(allow, peer, v, want) \
	ck_assert_str_eq(fwd(allow, FORWARDED_X, peer, "X-Forwarded-For", v, NULL, NULL, 0).addr, want)

START_TEST(forwarded_xff)
{
	/* The rightmost entry a trusted proxy appended, not what the client wrote first. */
	XFF("127.0.0.1", "127.0.0.1", "6.6.6.6, 203.0.113.7", "203.0.113.7");
	XFF("127.0.0.1", "127.0.0.1", "203.0.113.7", "203.0.113.7");
	/* Trusted hops are skipped from the right (real_ip_recursive). */
	XFF("127.0.0.1 10.0.0.0/8", "127.0.0.1", "6.6.6.6, 198.51.100.1,10.0.0.9 , 10.2.3.4", "198.51.100.1");
	/* Every hop trusted: the leftmost is the client. */
	XFF("127.0.0.1 10.0.0.0/8", "127.0.0.1", "10.0.0.9, 10.2.3.4", "10.0.0.9");
	/* An untrusted peer's header is nobody's word. */
	XFF("10.0.0.0/8", "127.0.0.1", "203.0.113.7", "127.0.0.1");
	XFF("", "127.0.0.1", "203.0.113.7", "127.0.0.1");
	XFF("*", "192.0.2.1", "203.0.113.7", "203.0.113.7");
	/* Canonical spelling: the app never sees the header's. */
	XFF("127.0.0.1", "127.0.0.1", "2001:DB8:0:0::1", "2001:db8::1");
	/* Two header lines are one list, in order. */
	ck_assert_str_eq(fwd("127.0.0.1", FORWARDED_X, "127.0.0.1", "X-Forwarded-For", "6.6.6.6",
	    "X-Forwarded-For", "203.0.113.8", 0).addr, "203.0.113.8");
	/* The scheme comes from the proxy we trust: the last X-Forwarded-Proto entry. */
	ck_assert(fwd("127.0.0.1", FORWARDED_X, "127.0.0.1", "X-Forwarded-Proto", "https", NULL, NULL, 0).https);
	ck_assert(!fwd("127.0.0.1", FORWARDED_X, "127.0.0.1", "X-Forwarded-Proto", "https, http", NULL, NULL,
	    0).https);
	ck_assert(!fwd("10.0.0.0/8", FORWARDED_X, "127.0.0.1", "X-Forwarded-Proto", "https", NULL, NULL, 0).https);
	ck_assert_int_eq(fwd("127.0.0.1", FORWARDED_X, "127.0.0.1", NULL, NULL, NULL, NULL, 0).port, 4000);
}
END_TEST

START_TEST(forwarded_xff_invalid)
{
	static const char	*bad[] = { "<script>alert(1)</script>", "1.2.3.4, evil", "203.0.113.7:80",
		"unknown", "1.2.3", "::1::2", "[::1]", "6.6.6.6, 10.0.0.1 x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct client_id c = fwd("127.0.0.1 10.0.0.0/8", FORWARDED_X, "127.0.0.1", "X-Forwarded-For",
		    bad[i], "X-Forwarded-Proto", "https", -1);
		ck_assert_str_eq(c.addr, "127.0.0.1");
		ck_assert(!c.https);
	}
	/* An untrusted entry to the right of garbage is still found first. */
	XFF("127.0.0.1", "127.0.0.1", "<x>, 203.0.113.9", "203.0.113.9");
}
END_TEST

START_TEST(forwarded_rfc7239)
{
	struct client_id c;

	c = fwd("127.0.0.1", FORWARDED_RFC7239, "127.0.0.1", "Forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43",
	    NULL, NULL, 0);
	ck_assert_str_eq(c.addr, "192.0.2.60");
	ck_assert(c.https);
	ck_assert_int_eq(c.port, 4000);
	c = fwd("127.0.0.1", FORWARDED_RFC7239, "127.0.0.1", "Forwarded",
	    "for=6.6.6.6;proto=https, For=\"[2001:db8:cafe::17]:4711\"", NULL, NULL, 0);
	ck_assert_str_eq(c.addr, "2001:db8:cafe::17");
	ck_assert_int_eq(c.port, 4711);
	ck_assert(!c.https);
	c = fwd("127.0.0.1 10.0.0.0/8", FORWARDED_RFC7239, "127.0.0.1", "Forwarded",
	    "for=\"198.51.100.2:8080\";proto=https", "Forwarded", "for=10.0.0.2;proto=http", 0);
	ck_assert_str_eq(c.addr, "198.51.100.2");
	ck_assert_int_eq(c.port, 8080);
	ck_assert(c.https);
	/* X-Forwarded-For means nothing when the proxy speaks Forwarded. */
	c = fwd("127.0.0.1", FORWARDED_RFC7239, "127.0.0.1", "X-Forwarded-For", "203.0.113.7", NULL, NULL, 0);
	ck_assert_str_eq(c.addr, "127.0.0.1");
	/* And Forwarded means nothing when it speaks X-Forwarded-For. */
	c = fwd("127.0.0.1", FORWARDED_X, "127.0.0.1", "Forwarded", "for=203.0.113.7", NULL, NULL, 0);
	ck_assert_str_eq(c.addr, "127.0.0.1");
	static const char *bad[] = { "for=unknown", "for=_hidden", "for=\"2001:db8::1\"",
		"for", "for=\"1.2.3.4", "for=1.2.3.4 x", "for=1.2.3.4:80", "for=[::1]", "for=\"[::1]x\"", "for=1.2.3.4:99999",
		"proto=https" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c = fwd("127.0.0.1", FORWARDED_RFC7239, "127.0.0.1", "Forwarded", bad[i], NULL, NULL, -1);
		ck_assert_str_eq(c.addr, "127.0.0.1");
		ck_assert(!c.https);
	}
}
END_TEST

static Suite *
http_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc = tcase_create("head");
	TCase	*ta = tcase_create("apphdr");
	TCase	*tr = tcase_create("resolve");

	tcase_add_test(tc, head_valid);
	tcase_add_test(tc, head_bare_lf);
	tcase_add_test(tc, head_folding);
	tcase_add_test(tc, head_controls);
	tcase_add_test(tc, head_names);
	tcase_add_test(tc, head_unterminated);
	tcase_add_test(tc, percent);
	tcase_add_test(tc, request_line_strict);
	tcase_add_test(tc, host_values);
	tcase_add_test(tc, transfer_codings);
	tcase_add_test(tc, framing_cl_and_te);
	suite_add_tcase(s, tc);

	tcase_add_test(ta, apphdr_crlf_and_lf);
	tcase_add_test(ta, apphdr_split_every_byte);
	tcase_add_test(ta, apphdr_blank_only);
	tcase_add_test(ta, apphdr_oversize);
	tcase_add_test(ta, apphdr_iteration);
	suite_add_tcase(s, ta);

	tcase_add_checked_fixture(tr, root_setup, root_teardown);
	tcase_add_test(tr, resolve_split);
	tcase_add_test(tr, resolve_missing);
	tcase_add_test(tr, resolve_forbidden);
	tcase_add_test(tr, resolve_fastcgi_scripts_only);
	tcase_add_test(tr, resolve_symlinks);
	tcase_add_test(tr, resolve_script_mode);
	tcase_add_test(tr, resolve_no_root);
	suite_add_tcase(s, tr);

	TCase	*tk = tcase_create("chunked");
	tcase_add_test(tk, chunked_valid);
	tcase_add_test(tk, chunked_refused);
	tcase_add_test(tk, chunked_many);
	suite_add_tcase(s, tk);

	TCase	*tf = tcase_create("forwarded");
	tcase_add_test(tf, cidr_ranges);
	tcase_add_test(tf, cidr_refused);
	tcase_add_test(tf, forwarded_xff);
	tcase_add_test(tf, forwarded_xff_invalid);
	tcase_add_test(tf, forwarded_rfc7239);
	suite_add_tcase(s, tf);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(http_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
