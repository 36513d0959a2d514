/*
 * fuzz_cookie: the session cookie on its way in (cache/sid.c): finding our
 * cookie in a Cookie header and verifying its MAC.
 *
 * Byte 0 picks the cookie name looked for and which character of a good
 * cookie to alter; the rest is a Cookie header value. Whatever cookie_find
 * returns must lie inside the header; a verified id must sign back to a
 * value that verifies; a good cookie wrapped in the fuzzed header's
 * neighbours must be found intact, and with any one character altered it
 * must not verify (the MAC is checked before any lookup, docs/design.md §7).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/envelope.h"
#include "cache/sid.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz_cookie: %s failed at line %d\n", #cond, __LINE__); \
	abort(); } } while (0)

static struct session_keys keys;
static const char *names[4] = { "drover_sid", "sid", "a", "drover_sid2" };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Two keys: the old one still verifies after a rotation. */
	if (session_keys_init(&keys, "fuzz-cookie-new, fuzz-cookie-old", NULL) != 0 ||
	    keys.n != 2)
		abort();
	return 0;
}

/* A different character of the same class, so only the MAC can object. */
static char
other(char c, int hex)
{
	if (hex)
		return c == '0' ? '1' : '0';
	return c == 'A' ? 'B' : 'A';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *hdr, *v, *name;
	char signed_value[COOKIE_VALUE_LEN + 1], again[COOKIE_VALUE_LEN + 1];
	uint8_t sid[SESSION_ID_LEN], sid2[SESSION_ID_LEN];
	size_t vlen = 0, hlen, nlen, at;

	if (size < 1)
		return 0;
	name = names[data[0] & 3];
	at = (data[0] >> 2) % COOKIE_VALUE_LEN;
	hdr = (const char *)data + 1;
	hlen = size - 1;
	nlen = strlen(name);

	v = cookie_find(hdr, hlen, name, &vlen);
	if (v != NULL) {
		CHECK(v >= hdr && v + vlen <= hdr + hlen);
		if (cookie_verify(&keys, v, vlen, sid) == 0) {
			cookie_sign(&keys, sid, again);
			CHECK(cookie_verify(&keys, again, strlen(again), sid2) == 0);
			CHECK(memcmp(sid, sid2, sizeof sid) == 0);
		}
	}
	if (cookie_verify(&keys, hdr, hlen, sid) == 0) {
		cookie_sign(&keys, sid, again);
		CHECK(cookie_verify(&keys, again, strlen(again), sid2) == 0);
	}

	/* A good cookie among the fuzzed header's fields. */
	memset(sid, 0, sizeof sid);
	memcpy(sid, hdr, hlen < sizeof sid ? hlen : sizeof sid);
	cookie_sign(&keys, sid, signed_value);
	CHECK(strlen(signed_value) == COOKIE_VALUE_LEN);
	CHECK(cookie_verify(&keys, signed_value, COOKIE_VALUE_LEN, sid2) == 0);
	CHECK(memcmp(sid, sid2, sizeof sid) == 0);

	/* Our cookie first: the fuzzed rest must not change what is found. */
	size_t cap = nlen + COOKIE_VALUE_LEN + 8 + hlen;   /* name="value"; rest */
	char *wrapped = malloc(cap);
	CHECK(wrapped != NULL);
	int n = snprintf(wrapped, cap, "%s=\"%s\"; ", name, signed_value);
	CHECK(n > 0 && (size_t)n < cap);
	memcpy(wrapped + n, hdr, hlen);
	v = cookie_find(wrapped, (size_t)n + hlen, name, &vlen);
	CHECK(v != NULL && vlen == COOKIE_VALUE_LEN);
	CHECK(memcmp(v, signed_value, COOKIE_VALUE_LEN) == 0);
	free(wrapped);

	/* One altered character: never verifies. */
	if (at != SID_HEX_LEN) {
		signed_value[at] = other(signed_value[at], at < SID_HEX_LEN);
		CHECK(cookie_verify(&keys, signed_value, COOKIE_VALUE_LEN, sid2) != 0);
	}
	return 0;
}
