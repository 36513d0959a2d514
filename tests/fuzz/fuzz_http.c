/*
 * fuzz_http: request framing through the real connection code. The input
 * is what a client sends on one connection (any number of pipelined
 * requests); it reaches worker/conn.c through a socketpair and an event
 * loop, so the head check, libhttp-parser, the limits, body collection,
 * keep-alive, the response writer and the app output path all run as in
 * a worker.
 *
 * Byte 0 picks how the client's bytes are split across reads (bits 0-2)
 * and whether the timeouts fire before the client closes (bit 3); the
 * rest is the stream. It must not assume anything about the answers beyond what
 * harness.c checks (accounting, a status line first).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/conn.h"
#include "worker/http_syntax.h"

#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t chunks[8] = { 0, 0, 1, 2, 5, 17, 100, 1000 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	harness_init(NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk;
	int flags = 0;

	if (size < 1)
		return 0;
	chunk = chunks[data[0] & 7];
	if (data[0] & 8)
		flags |= HARNESS_EXPIRE;
	data++;
	size--;
	/* One byte per loop turn costs a few syscalls; keep long inputs fast. */
	if (chunk > 0 && size / chunk > 2000)
		chunk = 0;

	/* The strict pass alone, on exactly the bytes given. */
	(void)http_head_check((const char *)data, size);

	/* A HEAD answer can only be framed by knowing the request. */
	if (memmem(data, size, "HEAD", 4) == NULL)
		flags |= HARNESS_STRICT;
	harness_run(data, size, chunk, NULL, flags);
	return 0;
}
