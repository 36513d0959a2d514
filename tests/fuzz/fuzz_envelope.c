/*
 * fuzz_envelope: decoding stored session values (cache/envelope.c), with
 * the key so that fuzzed bytes get past the MAC and into LZ4.
 *
 * Byte 0 picks the mode:
 *   0  the rest is an envelope as Redis or L1 might hold it;
 *   1  the rest is orig_len(4) key(1) payload: the harness signs a valid
 *      envelope around the payload with the LZ4 flag set (bit 2 of byte 0
 *      clear) or not, so the decompressor sees arbitrary blocks;
 *   2  the rest is a value: encode, decode, and it must come back intact.
 * A valid MAC must never decode as tampered, a value must never come out
 * longer than the caller's cap, and an envelope that verifies must still be
 * refused once any byte of it changes.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cache/envelope.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz_envelope: %s failed at line %d\n", #cond, __LINE__); \
	abort(); } } while (0)

#define OUT_CAP 65536

static struct session_keys keys;
static const uint8_t sid[SESSION_ID_LEN] = "fuzz-session-id";
static uint8_t *out;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (session_keys_init(&keys, "fuzz-env-new,fuzz-env-old,fuzz-env-older", NULL) != 0 ||
	    keys.n != 3)
		abort();
	if ((out = malloc(OUT_CAP)) == NULL)
		abort();
	return 0;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Decodes into an exact-size copy of the output cap so overruns show. */
static int
decode(const uint8_t *in, size_t len, size_t cap, struct envelope_meta *meta, size_t *outlen)
{
	int rc;

	*outlen = SIZE_MAX;
	rc = envelope_decode(&keys, sid, in, len, meta, out + OUT_CAP - cap, cap, outlen);
	CHECK(rc == ENV_OK || rc == ENV_TAMPERED || rc == ENV_OVERSIZE || rc == ENV_CORRUPT);
	if (rc == ENV_OK)
		CHECK(*outlen <= cap);
	else
		CHECK(*outlen == SIZE_MAX);
	return rc;
}

/* An envelope whose MAC checks, around whatever payload the input gives. */
static void
signed_payload(const uint8_t *data, size_t size, int lz4)
{
	struct envelope_meta meta;
	size_t len, outlen, cap;
	unsigned int maclen = 0;
	uint32_t orig;
	uint8_t key, *env;
	int rc;

	if (size < 5)
		return;
	orig = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
	    (uint32_t)data[2] << 8 | data[3];
	/* Mostly plausible lengths, sometimes anything. */
	if ((orig & 0x80000000U) == 0)
		orig &= 0x1ffff;
	key = data[4] % keys.n;
	data += 5;
	size -= 5;

	len = ENVELOPE_HEADER + size + ENVELOPE_MAC;
	CHECK((env = malloc(len)) != NULL);
	memset(env, 0, ENVELOPE_HEADER);
	env[0] = ENVELOPE_FORMAT;
	env[1] = lz4 ? ENVELOPE_FLAG_LZ4 : 0;
	env[2] = key;
	put32(env + 4, orig);
	env[15] = 9;                 /* version 9 */
	put32(env + 32, (uint32_t)size);
	if (size > 0)
		memcpy(env + ENVELOPE_HEADER, data, size);
	{
		uint8_t *msg = malloc(SESSION_ID_LEN + ENVELOPE_HEADER + size);
		CHECK(msg != NULL);
		memcpy(msg, sid, SESSION_ID_LEN);
		memcpy(msg + SESSION_ID_LEN, env, ENVELOPE_HEADER + size);
		CHECK(HMAC(EVP_sha256(), keys.envelope[key], 32, msg,
		    SESSION_ID_LEN + ENVELOPE_HEADER + size, env + ENVELOPE_HEADER + size,
		    &maclen) != NULL && maclen == ENVELOPE_MAC);
		free(msg);
	}

	for (int i = 0; i < 2; i++) {
		cap = i == 0 ? OUT_CAP : (orig > 0 && orig <= OUT_CAP ? orig : 1);
		memset(&meta, 0, sizeof meta);
		rc = decode(env, len, cap, &meta, &outlen);
		CHECK(rc != ENV_TAMPERED);
		CHECK(meta.version == 9 && meta.key_id == key);
		if (rc == ENV_OK)
			CHECK(outlen == orig);
		if (orig > cap)
			CHECK(rc == ENV_OVERSIZE);
		if (!lz4 && orig <= cap)
			CHECK(rc == (orig == size ? ENV_OK : ENV_CORRUPT));
	}
	free(env);
}

static void
roundtrip(const uint8_t *data, size_t size, size_t compress_min, size_t flip)
{
	struct envelope_meta meta, got;
	size_t cap = envelope_bound(size), outlen;
	uint8_t *env;
	uint64_t version = 0;
	ssize_t n;

	if (size > OUT_CAP)
		return;
	CHECK(cap >= size + ENVELOPE_HEADER + ENVELOPE_MAC);
	CHECK((env = malloc(cap)) != NULL);
	memset(&meta, 0, sizeof meta);
	meta.version = size * 31 + 1;
	meta.created_ms = 1700000000000;
	meta.updated_ms = 1700000000123;
	n = envelope_encode(&keys, sid, &meta, data, size, compress_min, env, cap);
	CHECK(n >= (ssize_t)(ENVELOPE_HEADER + ENVELOPE_MAC) && (size_t)n <= cap);
	CHECK(envelope_peek_version(env, (size_t)n, &version) == ENV_OK);
	CHECK(version == meta.version);

	memset(&got, 0, sizeof got);
	CHECK(decode(env, (size_t)n, size > 0 ? size : 1, &got, &outlen) == ENV_OK);
	CHECK(outlen == size);
	CHECK(size == 0 || memcmp(out + OUT_CAP - (size > 0 ? size : 1), data, size) == 0);
	CHECK(got.version == meta.version && got.created_ms == meta.created_ms &&
	    got.updated_ms == meta.updated_ms && got.key_id == 0);
	if (size > 1)
		CHECK(decode(env, (size_t)n, size - 1, NULL, &outlen) == ENV_OVERSIZE);

	/* Any changed byte, MAC included, and the value is refused. */
	env[flip % (size_t)n] ^= 0x01;
	CHECK(decode(env, (size_t)n, OUT_CAP, NULL, &outlen) == ENV_TAMPERED);
	/* So is a truncated one. */
	CHECK(decode(env, (size_t)n - 1, OUT_CAP, NULL, &outlen) == ENV_TAMPERED);
	free(env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope_meta meta;
	size_t outlen;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		(void)decode(data + 1, size - 1, OUT_CAP, &meta, &outlen);
		(void)decode(data + 1, size - 1, 16, NULL, &outlen);
		break;
	case 1:
		signed_payload(data + 1, size - 1, (data[0] & 4) == 0);
		break;
	default:
		roundtrip(data + 1, size - 1, data[0] & 8 ? 0 : 64,
		    (size_t)data[0] * 2654435761U);
		break;
	}
	return 0;
}
