/*
 * fuzz_apphdr: the app response head, as a CGI script's stdout or a
 * FastCGI app's STDOUT stream gives it (worker/apphdr.c).
 *
 * Two passes per input. The parser alone: apphdr_feed in pieces under a
 * size cap, then every line apphdr_next yields, checked to lie inside the
 * head. Then the whole output path: the input becomes the stub app's
 * output for pipelined HTTP/1.1, HEAD and HTTP/1.0 requests on a real
 * connection, so Status, Content-Length, Location (internal redirects
 * included), header filtering and the body framing all run.
 *
 * Byte 0: feed piece size and head cap; byte 1: how the app's output is
 * spread over writes and loop turns. The rest is the app's output.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "worker/request.h"

#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t pieces[8] = { 0, 1, 2, 3, 7, 64, 300, 4096 };
static const size_t caps[4] = { 2048, 16, 100, 512 };

static const char requests[] =
    "GET /first HTTP/1.1\r\nHost: a\r\n\r\n"
    "HEAD /second HTTP/1.1\r\nHost: a\r\n\r\n"
    "POST /third HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
    "GET /fourth HTTP/1.0\r\n\r\n";

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz_apphdr: %s failed at line %d\n", #cond, __LINE__); \
	abort(); } } while (0)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	harness_init(NULL);
	return 0;
}

static void
parser_only(const uint8_t *data, size_t size, size_t piece, size_t max)
{
	struct apphdr ah;
	size_t off = 0, pos = 0, lines = 0;
	struct header h;

	memset(&ah, 0, sizeof ah);
	buf_init(&ah.raw, max);
	apphdr_reset(&ah);
	while (off < size && !ah.done) {
		size_t n = size - off;
		if (piece > 0 && n > piece)
			n = piece;
		long took = apphdr_feed(&ah, (const char *)data + off, n, max);
		if (took < 0)
			break;
		CHECK((size_t)took <= n);
		off += (size_t)took;
		CHECK(buf_used(&ah.raw) <= max);
		if (!ah.done)
			CHECK((size_t)took == n);
	}
	if (ah.done) {
		const char *raw = buf_head(&ah.raw);
		size_t rlen = buf_used(&ah.raw);

		/* The head the parser kept is exactly the bytes it took. */
		CHECK(rlen == off);
		CHECK(memcmp(raw, data, rlen) == 0);
		while (apphdr_next(&ah, &pos, &h) == 0) {
			CHECK(++lines <= rlen);
			CHECK(h.nlen > 0);
			CHECK(h.name >= raw && h.name + h.nlen <= raw + rlen);
			CHECK(h.value >= raw && h.value + h.vlen <= raw + rlen);
			CHECK(memchr(h.name, ':', h.nlen) == NULL);
			CHECK(memchr(h.value, '\n', h.vlen) == NULL);
			CHECK(pos <= rlen);
		}
	}
	buf_free(&ah.raw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness_app app;

	if (size < 2)
		return 0;
	parser_only(data + 2, size - 2, pieces[data[0] & 7], caps[(data[0] >> 3) & 3]);

	memset(&app, 0, sizeof app);
	app.out = data + 2;
	app.outlen = size - 2;
	app.chunk = pieces[data[1] & 7];
	app.deferred = (data[1] & 8) != 0;
	harness_run((const uint8_t *)requests, sizeof requests - 1, 0, &app, 0);
	return 0;
}
