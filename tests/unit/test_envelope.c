/*
 * test_envelope: session key derivation and the stored-value envelope.
 *
 * Forged envelopes (bad LZ4, lying lengths, unknown flags) are built here
 * by hand with a correct MAC, so the checks after the MAC are reached.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cache/envelope.h"

static const uint8_t sid_a[SESSION_ID_LEN] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10
};
static const uint8_t sid_b[SESSION_ID_LEN] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x11
};
static const uint8_t fallback[32] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32
};

static void
ref_key(const void *secret, size_t len, const char *label, uint8_t out[32])
{
	unsigned int	 n = 0;

	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)len,
	    (const unsigned char *)label, strlen(label), out, &n));
	ck_assert_uint_eq(n, 32);
}

static void
keys(struct session_keys *k, const char *list)
{
	ck_assert_int_eq(session_keys_init(k, list, fallback), 0);
}

/* Deterministic bytes LZ4 cannot shrink. */
static void
noise(uint8_t *p, size_t len)
{
	uint64_t	 x = 0x9e3779b97f4a7c15ULL;
	size_t		 i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

static void
text(uint8_t *p, size_t len)
{
	static const char	 s[] = "{\"user\":42,\"cart\":[1,2,3],\"theme\":\"dark\"} ";
	size_t			 i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)s[i % (sizeof s - 1)];
}

static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/*
 * Builds an envelope from raw parts and signs it with envelope key idx,
 * exactly as the format says: HMAC over sid || header || payload.
 */
static size_t
forge(const struct session_keys *k, size_t idx, const uint8_t *sid,
    uint8_t format, uint8_t flags, uint8_t key_id, uint8_t resv,
    uint32_t orig, const uint8_t *payload, size_t plen, uint8_t *out)
{
	uint8_t		*buf;
	unsigned int	 n = 0;

	memset(out, 0, ENVELOPE_HEADER);
	out[0] = format;
	out[1] = flags;
	out[2] = key_id;
	out[3] = resv;
	be32(out + 4, orig);
	out[15] = 9;	/* version, big-endian */
	be32(out + 32, (uint32_t)plen);
	memcpy(out + ENVELOPE_HEADER, payload, plen);

	buf = malloc(SESSION_ID_LEN + ENVELOPE_HEADER + plen);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, sid, SESSION_ID_LEN);
	memcpy(buf + SESSION_ID_LEN, out, ENVELOPE_HEADER + plen);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), k->envelope[idx], 32, buf,
	    SESSION_ID_LEN + ENVELOPE_HEADER + plen,
	    out + ENVELOPE_HEADER + plen, &n));
	ck_assert_uint_eq(n, 32);
	free(buf);
	return (ENVELOPE_HEADER + plen + ENVELOPE_MAC);
}

/* Encodes len bytes of data, decodes them back and compares. */
static ssize_t
round_trip(const struct session_keys *k, const uint8_t *data, size_t len,
    size_t compress_min, uint8_t *flags_out)
{
	struct envelope_meta	 in = { 7, 1700000000123LL, 1700000000456LL, 0, 0 };
	struct envelope_meta	 m;
	size_t			 cap = envelope_bound(len), outlen = 0;
	uint8_t			*enc, *dec;
	ssize_t			 n;

	enc = malloc(cap);
	dec = malloc(len + 1);
	ck_assert_ptr_nonnull(enc);
	ck_assert_ptr_nonnull(dec);
	n = envelope_encode(k, sid_a, &in, data, len, compress_min, enc, cap);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_le((size_t)n, cap);
	ck_assert_uint_eq(enc[0], ENVELOPE_FORMAT);
	ck_assert_uint_eq(enc[2], 0);
	memset(&m, 0xaa, sizeof m);
	ck_assert_int_eq(envelope_decode(k, sid_a, enc, (size_t)n, &m, dec,
	    len, &outlen), ENV_OK);
	ck_assert_uint_eq(outlen, len);
	if (len > 0)
		ck_assert_mem_eq(dec, data, len);
	ck_assert_uint_eq(m.version, 7);
	ck_assert_int_eq(m.created_ms, 1700000000123LL);
	ck_assert_int_eq(m.updated_ms, 1700000000456LL);
	ck_assert_uint_eq(m.key_id, 0);
	*flags_out = m.flags;
	free(enc);
	free(dec);
	return (n);
}

START_TEST(keys_derivation)
{
	struct session_keys	 k;
	uint8_t			 want[32];

	keys(&k, "alpha");
	ck_assert_uint_eq(k.n, 1);
	ref_key("alpha", 5, "drover cookie v1", want);
	ck_assert_mem_eq(k.cookie[0], want, 32);
	ref_key("alpha", 5, "drover envelope v1", want);
	ck_assert_mem_eq(k.envelope[0], want, 32);
	ck_assert(memcmp(k.cookie[0], k.envelope[0], 32) != 0);
}
END_TEST

START_TEST(keys_list_parsing)
{
	struct session_keys	 k, one;

	keys(&k, "  new , ,old,, \tthird\t ,");
	ck_assert_uint_eq(k.n, 3);
	keys(&one, "new");
	ck_assert_mem_eq(k.envelope[0], one.envelope[0], 32);
	keys(&one, "old");
	ck_assert_mem_eq(k.envelope[1], one.envelope[0], 32);
	ck_assert_mem_eq(k.cookie[1], one.cookie[0], 32);
	keys(&one, "third");
	ck_assert_mem_eq(k.envelope[2], one.envelope[0], 32);
	/* Inner spaces belong to the secret. */
	keys(&k, "a b");
	keys(&one, "ab");
	ck_assert(memcmp(k.envelope[0], one.envelope[0], 32) != 0);
}
END_TEST

START_TEST(keys_fallback)
{
	struct session_keys	 k;
	uint8_t			 want[32];

	ref_key(fallback, 32, "drover envelope v1", want);
	keys(&k, NULL);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_mem_eq(k.envelope[0], want, 32);
	keys(&k, "");
	ck_assert_uint_eq(k.n, 1);
	ck_assert_mem_eq(k.envelope[0], want, 32);
	keys(&k, " , ,");
	ck_assert_uint_eq(k.n, 1);
	ck_assert_mem_eq(k.envelope[0], want, 32);
	ref_key(fallback, 32, "drover cookie v1", want);
	ck_assert_mem_eq(k.cookie[0], want, 32);
	ck_assert_int_eq(session_keys_init(&k, "", NULL), -1);
}
END_TEST

START_TEST(keys_limit)
{
	struct session_keys	 k;

	ck_assert_int_eq(session_keys_init(&k, "1,2,3,4,5,6,7,8", fallback), 0);
	ck_assert_uint_eq(k.n, SESSION_MAX_KEYS);
	ck_assert_int_eq(session_keys_init(&k, "1,2,3,4,5,6,7,8,9", fallback),
	    -1);
	ck_assert_int_eq(session_keys_init(&k, "1,2,3,4,5,6,7,8, ,", fallback),
	    0);
}
END_TEST

START_TEST(round_trip_empty)
{
	struct session_keys	 k;
	uint8_t			 flags;

	keys(&k, "s");
	ck_assert_int_eq(round_trip(&k, (const uint8_t *)"", 0, 64, &flags),
	    ENVELOPE_HEADER + ENVELOPE_MAC);
	ck_assert_uint_eq(flags, 0);
}
END_TEST

START_TEST(round_trip_small_raw)
{
	struct session_keys	 k;
	uint8_t			 data[40], flags;

	keys(&k, "s");
	text(data, sizeof data);
	ck_assert_int_eq(round_trip(&k, data, sizeof data, 64, &flags),
	    ENVELOPE_HEADER + sizeof data + ENVELOPE_MAC);
	ck_assert_uint_eq(flags, 0);
}
END_TEST

START_TEST(round_trip_compressible)
{
	struct session_keys	 k;
	static uint8_t		 data[100000];
	uint8_t			 flags;
	ssize_t			 n;

	keys(&k, "s");
	text(data, sizeof data);
	n = round_trip(&k, data, sizeof data, 64, &flags);
	ck_assert_uint_eq(flags, ENVELOPE_FLAG_LZ4);
	ck_assert_int_lt(n, (ssize_t)sizeof data / 4);
}
END_TEST

START_TEST(round_trip_incompressible)
{
	struct session_keys	 k;
	static uint8_t		 data[50000];
	uint8_t			 flags;

	keys(&k, "s");
	noise(data, sizeof data);
	ck_assert_int_eq(round_trip(&k, data, sizeof data, 64, &flags),
	    ENVELOPE_HEADER + sizeof data + ENVELOPE_MAC);
	ck_assert_uint_eq(flags, 0);
}
END_TEST

START_TEST(compress_min_respected)
{
	struct session_keys	 k;
	struct envelope_meta	 m = { 1, 0, 0, 0, 0 };
	uint8_t			 data[1000], enc[1200];
	ssize_t			 n;

	keys(&k, "s");
	text(data, sizeof data);
	n = envelope_encode(&k, sid_a, &m, data, sizeof data, sizeof data + 1,
	    enc, sizeof enc);
	ck_assert_int_eq(n, ENVELOPE_HEADER + sizeof data + ENVELOPE_MAC);
	ck_assert_uint_eq(enc[1], 0);
	n = envelope_encode(&k, sid_a, &m, data, sizeof data, sizeof data,
	    enc, sizeof enc);
	ck_assert_int_lt(n, (ssize_t)sizeof data);
	ck_assert_uint_eq(enc[1], ENVELOPE_FLAG_LZ4);
	/* compress_min 0 still leaves an empty value raw. */
	n = envelope_encode(&k, sid_a, &m, data, 0, 0, enc, sizeof enc);
	ck_assert_int_eq(n, ENVELOPE_HEADER + ENVELOPE_MAC);
	ck_assert_uint_eq(enc[1], 0);
}
END_TEST

START_TEST(encode_nospace)
{
	struct session_keys	 k;
	struct envelope_meta	 m = { 1, 0, 0, 0, 0 };
	static uint8_t		 data[4096], enc[8192];
	size_t			 need = ENVELOPE_HEADER + sizeof data + ENVELOPE_MAC;

	keys(&k, "s");
	noise(data, sizeof data);
	ck_assert_uint_ge(envelope_bound(sizeof data), need);
	ck_assert_uint_ge(envelope_bound(0), ENVELOPE_HEADER + ENVELOPE_MAC);
	ck_assert_int_eq(envelope_encode(&k, sid_a, &m, data, sizeof data, 64,
	    enc, need - 1), ENV_NOSPACE);
	ck_assert_int_eq(envelope_encode(&k, sid_a, &m, data, sizeof data, 64,
	    enc, need), (ssize_t)need);
	ck_assert_int_eq(envelope_encode(&k, sid_a, &m, data, 0, 64,
	    enc, ENVELOPE_HEADER + ENVELOPE_MAC - 1), ENV_NOSPACE);
	/* A compressible value fits a buffer too small for it raw. */
	text(data, sizeof data);
	ck_assert_int_gt(envelope_encode(&k, sid_a, &m, data, sizeof data, 64,
	    enc, need / 2), 0);
	ck_assert_uint_eq(enc[1], ENVELOPE_FLAG_LZ4);
}
END_TEST

/* Encodes a mid-sized value, raw or compressed, for the tamper tests. */
static size_t
sample(const struct session_keys *k, int compress, uint8_t *enc, size_t cap)
{
	struct envelope_meta	 m = { 3, 10, 20, 0, 0 };
	uint8_t			 data[300];
	ssize_t			 n;

	if (compress)
		text(data, sizeof data);
	else
		noise(data, sizeof data);
	n = envelope_encode(k, sid_a, &m, data, sizeof data, 64, enc, cap);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(enc[1], compress ? ENVELOPE_FLAG_LZ4 : 0);
	return ((size_t)n);
}

START_TEST(every_bit_flip_tampered)
{
	struct session_keys	 k;
	uint8_t			 enc[512], dec[512];
	size_t			 len, i, outlen;
	int			 compress = _i;

	keys(&k, "s");
	len = sample(&k, compress, enc, sizeof enc);
	for (i = 0; i < len; i++) {
		enc[i] ^= 0x01;
		ck_assert_msg(envelope_decode(&k, sid_a, enc, len, NULL, dec,
		    sizeof dec, &outlen) == ENV_TAMPERED, "byte %zu", i);
		enc[i] ^= 0x01;
	}
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_OK);
}
END_TEST

START_TEST(every_truncation_tampered)
{
	struct session_keys	 k;
	uint8_t			 enc[512], dec[512];
	size_t			 len, i, outlen;
	int			 compress = _i;

	keys(&k, "s");
	len = sample(&k, compress, enc, sizeof enc - 1);
	for (i = 0; i < len; i++)
		ck_assert_msg(envelope_decode(&k, sid_a, enc, i, NULL, dec,
		    sizeof dec, &outlen) == ENV_TAMPERED, "length %zu", i);
	enc[len] = 0;
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len + 1, NULL, dec,
	    sizeof dec, &outlen), ENV_TAMPERED);
	ck_assert_int_eq(envelope_decode(&k, sid_a, NULL, 0, NULL, dec,
	    sizeof dec, &outlen), ENV_TAMPERED);
}
END_TEST

START_TEST(wrong_sid_tampered)
{
	struct session_keys	 k;
	uint8_t			 enc[512], dec[512];
	size_t			 len, outlen;

	keys(&k, "s");
	len = sample(&k, 1, enc, sizeof enc);
	ck_assert_int_eq(envelope_decode(&k, sid_b, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_TAMPERED);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_OK);
}
END_TEST

START_TEST(oversize)
{
	struct session_keys	 k;
	struct envelope_meta	 m;
	uint8_t			 enc[512], dec[512];
	size_t			 len, outlen = 12345;
	int			 compress = _i;

	keys(&k, "s");
	len = sample(&k, compress, enc, sizeof enc);
	memset(dec, 0x5a, sizeof dec);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, &m, dec, 299,
	    &outlen), ENV_OVERSIZE);
	ck_assert_uint_eq(outlen, 12345);
	ck_assert_uint_eq(dec[0], 0x5a);
	ck_assert_uint_eq(m.version, 3);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, &m, dec, 300,
	    &outlen), ENV_OK);
	ck_assert_uint_eq(outlen, 300);
}
END_TEST

START_TEST(bad_lz4_corrupt)
{
	struct session_keys	 k;
	uint8_t			 garbage[64], enc[256], dec[4096];
	size_t			 len, outlen, i;

	keys(&k, "s");
	/* A match offset pointing before the start of the output. */
	for (i = 0; i < sizeof garbage; i++)
		garbage[i] = (uint8_t)(0xf0 | (i * 7));
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT, ENVELOPE_FLAG_LZ4, 0, 0,
	    1000, garbage, sizeof garbage, enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_CORRUPT);

	/* Valid LZ4 of 5 literals, but the header claims 6. */
	memcpy(garbage, "\x50hello", 6);
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT, ENVELOPE_FLAG_LZ4, 0, 0,
	    6, garbage, 6, enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_CORRUPT);
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT, ENVELOPE_FLAG_LZ4, 0, 0,
	    5, garbage, 6, enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_OK);
	ck_assert_uint_eq(outlen, 5);
	ck_assert_mem_eq(dec, "hello", 5);
	/* ...and the decoder honours cap as the destination size. */
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT, ENVELOPE_FLAG_LZ4, 0, 0,
	    4, garbage, 6, enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_CORRUPT);

	/* Raw payload whose length disagrees with orig_len. */
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT, 0, 0, 0, 7, garbage, 6, enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_CORRUPT);
}
END_TEST

START_TEST(orig_len_lie_oversize)
{
	struct session_keys	 k;
	uint8_t			 payload[16], enc[256], dec[72];
	size_t			 len, outlen;

	keys(&k, "s");
	memset(payload, 0, sizeof payload);
	memset(dec, 0x5a, sizeof dec);
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT, ENVELOPE_FLAG_LZ4, 0, 0,
	    0xffffffffU, payload, sizeof payload, enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec, 64,
	    &outlen), ENV_OVERSIZE);
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT, 0, 0, 0, 0xffffffffU,
	    payload, sizeof payload, enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec, 64,
	    &outlen), ENV_OVERSIZE);
	for (size_t i = 0; i < sizeof dec; i++)
		ck_assert_uint_eq(dec[i], 0x5a);
}
END_TEST

START_TEST(signed_but_unknown)
{
	struct session_keys	 k;
	uint8_t			 payload[4] = { 1, 2, 3, 4 }, enc[256], dec[64];
	size_t			 len, outlen;
	struct envelope_meta	 m;

	keys(&k, "s");
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT, 0, 0, 0, 4, payload, 4, enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, &m, dec,
	    sizeof dec, &outlen), ENV_OK);
	ck_assert_uint_eq(m.version, 9);
	ck_assert_mem_eq(dec, payload, 4);
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT, 0x02, 0, 0, 4, payload, 4,
	    enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_TAMPERED);
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT, 0x80 | ENVELOPE_FLAG_LZ4, 0,
	    0, 4, payload, 4, enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_TAMPERED);
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT + 1, 0, 0, 0, 4, payload, 4,
	    enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_TAMPERED);
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT, 0, 0, 1, 4, payload, 4, enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_TAMPERED);
	/* Key id past the configured keys, though the MAC is key 0's. */
	len = forge(&k, 0, sid_a, ENVELOPE_FORMAT, 0, 1, 0, 4, payload, 4, enc);
	ck_assert_int_eq(envelope_decode(&k, sid_a, enc, len, NULL, dec,
	    sizeof dec, &outlen), ENV_TAMPERED);
}
END_TEST

START_TEST(key_rotation)
{
	struct session_keys	 old, both, fresh, three;
	struct envelope_meta	 m = { 5, 1, 2, 0, 0 };
	uint8_t			 data[200], enc[512], dec[256];
	size_t			 outlen;
	ssize_t			 n;

	keys(&old, "old");
	keys(&both, "new, old");
	keys(&fresh, "new");
	keys(&three, "newer,new,old");
	text(data, sizeof data);
	n = envelope_encode(&old, sid_a, &m, data, sizeof data, 64, enc,
	    sizeof enc);
	ck_assert_int_gt(n, 0);
	memset(&m, 0, sizeof m);
	ck_assert_int_eq(envelope_decode(&both, sid_a, enc, (size_t)n, &m, dec,
	    sizeof dec, &outlen), ENV_OK);
	ck_assert_uint_eq(outlen, sizeof data);
	ck_assert_mem_eq(dec, data, sizeof data);
	/* Reports which current key verified: the caller may re-sign. */
	ck_assert_uint_eq(m.key_id, 1);
	ck_assert_uint_eq(m.version, 5);
	ck_assert_int_eq(envelope_decode(&three, sid_a, enc, (size_t)n, &m, dec,
	    sizeof dec, &outlen), ENV_OK);
	ck_assert_uint_eq(m.key_id, 2);
	ck_assert_int_eq(envelope_decode(&fresh, sid_a, enc, (size_t)n, NULL,
	    dec, sizeof dec, &outlen), ENV_TAMPERED);

	/* New writes are signed with the first key. */
	n = envelope_encode(&both, sid_a, &m, data, sizeof data, 64, enc,
	    sizeof enc);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(envelope_decode(&fresh, sid_a, enc, (size_t)n, &m, dec,
	    sizeof dec, &outlen), ENV_OK);
	ck_assert_uint_eq(m.key_id, 0);
	ck_assert_int_eq(envelope_decode(&old, sid_a, enc, (size_t)n, NULL, dec,
	    sizeof dec, &outlen), ENV_TAMPERED);
}
END_TEST

START_TEST(peek_version)
{
	struct session_keys	 k;
	struct envelope_meta	 m = { 0x0102030405060708ULL, 0, 0, 0, 0 };
	uint8_t			 enc[256];
	uint64_t		 v = 0;
	ssize_t			 n;

	keys(&k, "s");
	n = envelope_encode(&k, sid_a, &m, "abc", 3, 64, enc, sizeof enc);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(envelope_peek_version(enc, (size_t)n, &v), ENV_OK);
	ck_assert_uint_eq(v, 0x0102030405060708ULL);
	ck_assert_int_eq(envelope_peek_version(enc, (size_t)n - 1, &v),
	    ENV_TAMPERED);
	ck_assert_int_eq(envelope_peek_version(enc, 10, &v), ENV_TAMPERED);
	enc[0] = 2;
	ck_assert_int_eq(envelope_peek_version(enc, (size_t)n, &v),
	    ENV_TAMPERED);
}
END_TEST

static Suite *
envelope_suite(void)
{
	Suite	*s = suite_create("envelope");
	TCase	*tc;

	tc = tcase_create("keys");
	tcase_add_test(tc, keys_derivation);
	tcase_add_test(tc, keys_list_parsing);
	tcase_add_test(tc, keys_fallback);
	tcase_add_test(tc, keys_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("round_trip");
	tcase_add_test(tc, round_trip_empty);
	tcase_add_test(tc, round_trip_small_raw);
	tcase_add_test(tc, round_trip_compressible);
	tcase_add_test(tc, round_trip_incompressible);
	tcase_add_test(tc, compress_min_respected);
	tcase_add_test(tc, encode_nospace);
	tcase_add_test(tc, peek_version);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, every_bit_flip_tampered, 0, 2);
	tcase_add_loop_test(tc, every_truncation_tampered, 0, 2);
	tcase_add_test(tc, wrong_sid_tampered);
	tcase_add_loop_test(tc, oversize, 0, 2);
	tcase_add_test(tc, bad_lz4_corrupt);
	tcase_add_test(tc, orig_len_lie_oversize);
	tcase_add_test(tc, signed_but_unknown);
	tcase_add_test(tc, key_rotation);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(envelope_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
