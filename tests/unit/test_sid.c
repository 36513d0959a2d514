/*
 * test_sid: session ids, the signed cookie value, and finding the cookie
 * in a Cookie header.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cache/sid.h"

static const uint8_t fallback[32] = { 9 };
static const uint8_t sid_a[SESSION_ID_LEN] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff
};

static void
keys(struct session_keys *k, const char *list)
{
	ck_assert_int_eq(session_keys_init(k, list, fallback), 0);
}

static int
verify(const struct session_keys *k, const char *v, uint8_t sid[SESSION_ID_LEN])
{
	return (cookie_verify(k, v, strlen(v), sid));
}

START_TEST(new_ids_distinct)
{
	uint8_t		 ids[64][SESSION_ID_LEN];
	static const uint8_t zero[SESSION_ID_LEN];
	size_t		 i, j;

	for (i = 0; i < 64; i++) {
		ck_assert_int_eq(sid_new(ids[i]), 0);
		ck_assert(memcmp(ids[i], zero, SESSION_ID_LEN) != 0);
		for (j = 0; j < i; j++)
			ck_assert(memcmp(ids[i], ids[j], SESSION_ID_LEN) != 0);
	}
}
END_TEST

START_TEST(hex_lowercase)
{
	char	 hex[SID_HEX_LEN + 1];

	memset(hex, 'x', sizeof hex);
	sid_hex(sid_a, hex);
	ck_assert_str_eq(hex, "00112233445566778899aabbccddeeff");
}
END_TEST

START_TEST(sign_shape_and_mac)
{
	struct session_keys	 k;
	char			 v[COOKIE_VALUE_LEN + 2], b64[45];
	uint8_t			 mac[32], dec[34];
	unsigned int		 n = 0;
	size_t			 i;

	keys(&k, "secret");
	memset(v, 'x', sizeof v);
	cookie_sign(&k, sid_a, v);
	ck_assert_uint_eq(strlen(v), COOKIE_VALUE_LEN);
	ck_assert(strncmp(v, "00112233445566778899aabbccddeeff.", 33) == 0);
	for (i = 33; i < COOKIE_VALUE_LEN; i++)
		ck_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_", v[i]) != NULL);

	/* The MAC part is HMAC-SHA-256 of the raw id under cookie key 0. */
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), k.cookie[0], 32, sid_a,
	    SESSION_ID_LEN, mac, &n));
	for (i = 0; i < 43; i++)
		b64[i] = v[33 + i] == '-' ? '+' : v[33 + i] == '_' ? '/' : v[33 + i];
	b64[43] = '=';
	b64[44] = '\0';
	ck_assert_int_eq(EVP_DecodeBlock(dec, (unsigned char *)b64, 44), 33);
	ck_assert_mem_eq(dec, mac, 32);
}
END_TEST

START_TEST(sign_verify_round_trip)
{
	struct session_keys	 k;
	char			 v[COOKIE_VALUE_LEN + 1];
	uint8_t			 id[SESSION_ID_LEN], got[SESSION_ID_LEN];
	int			 i;

	keys(&k, "secret");
	for (i = 0; i < 32; i++) {
		ck_assert_int_eq(sid_new(id), 0);
		cookie_sign(&k, id, v);
		memset(got, 0, sizeof got);
		ck_assert_int_eq(verify(&k, v, got), 0);
		ck_assert_mem_eq(got, id, SESSION_ID_LEN);
	}
}
END_TEST

START_TEST(rotation)
{
	struct session_keys	 old, both, fresh;
	char			 v[COOKIE_VALUE_LEN + 1], w[COOKIE_VALUE_LEN + 1];
	uint8_t			 got[SESSION_ID_LEN];

	keys(&old, "old");
	keys(&both, "new,old");
	keys(&fresh, "new");
	cookie_sign(&old, sid_a, v);
	ck_assert_int_eq(verify(&both, v, got), 0);
	ck_assert_mem_eq(got, sid_a, SESSION_ID_LEN);
	ck_assert_int_eq(verify(&fresh, v, got), -1);
	cookie_sign(&both, sid_a, w);
	ck_assert_str_ne(v, w);
	ck_assert_int_eq(verify(&fresh, w, got), 0);
	ck_assert_int_eq(verify(&old, w, got), -1);
	/* Envelope and cookie keys differ even for the same secret. */
	ck_assert(memcmp(old.cookie[0], old.envelope[0], 32) != 0);
}
END_TEST

START_TEST(every_char_flip_rejected)
{
	struct session_keys	 k;
	char			 v[COOKIE_VALUE_LEN + 1];
	uint8_t			 got[SESSION_ID_LEN];
	size_t			 i;

	keys(&k, "secret");
	cookie_sign(&k, sid_a, v);
	for (i = 0; i < COOKIE_VALUE_LEN; i++) {
		v[i] ^= 0x01;
		ck_assert_msg(verify(&k, v, got) == -1, "position %zu", i);
		v[i] ^= 0x01;
	}
	ck_assert_int_eq(verify(&k, v, got), 0);
}
END_TEST

/*
 * The last base64url character carries two unused bits; spellings that
 * differ only there decode to the same MAC and must still be refused.
 */
START_TEST(non_canonical_rejected)
{
	static const char	 alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct session_keys	 k;
	char			 v[COOKIE_VALUE_LEN + 1];
	uint8_t			 got[SESSION_ID_LEN];
	size_t			 i, accepted = 0;
	char			 last;

	keys(&k, "secret");
	cookie_sign(&k, sid_a, v);
	last = v[COOKIE_VALUE_LEN - 1];
	for (i = 0; i < 64; i++) {
		v[COOKIE_VALUE_LEN - 1] = alpha[i];
		if (verify(&k, v, got) == 0) {
			accepted++;
			ck_assert_int_eq(alpha[i], last);
		}
	}
	ck_assert_uint_eq(accepted, 1);
}
END_TEST

/* An upper-case spelling of the id is another visitor, not the same one. */
START_TEST(upper_case_id_rejected)
{
	struct session_keys	 k;
	char			 v[COOKIE_VALUE_LEN + 1];
	uint8_t			 got[SESSION_ID_LEN];
	size_t			 i, tried = 0;

	keys(&k, "secret");
	cookie_sign(&k, sid_a, v);
	for (i = 0; i < SID_HEX_LEN; i++) {
		if (v[i] < 'a' || v[i] > 'f')
			continue;
		v[i] -= 'a' - 'A';
		ck_assert_msg(verify(&k, v, got) == -1, "position %zu", i);
		v[i] += 'a' - 'A';
		tried++;
	}
	ck_assert_uint_gt(tried, 0);
	ck_assert_int_eq(verify(&k, v, got), 0);
}
END_TEST

/* Which key verified: a cookie under an old key is to be re-issued. */
START_TEST(verifying_key_reported)
{
	struct session_keys	 old, both;
	char			 v[COOKIE_VALUE_LEN + 1];
	uint8_t			 got[SESSION_ID_LEN];
	size_t			 key = 99;

	keys(&old, "old");
	keys(&both, "new,old");
	cookie_sign(&old, sid_a, v);
	ck_assert_int_eq(cookie_verify_key(&both, v, COOKIE_VALUE_LEN, got, &key), 0);
	ck_assert_uint_eq(key, 1);
	cookie_sign(&both, sid_a, v);
	ck_assert_int_eq(cookie_verify_key(&both, v, COOKIE_VALUE_LEN, got, &key), 0);
	ck_assert_uint_eq(key, 0);
}
END_TEST

START_TEST(malformed_rejected)
{
	struct session_keys	 k;
	char			 v[COOKIE_VALUE_LEN + 2], w[COOKIE_VALUE_LEN + 2];
	uint8_t			 got[SESSION_ID_LEN];

	memset(got, 0x77, sizeof got);
	keys(&k, "secret");
	cookie_sign(&k, sid_a, v);

	ck_assert_int_eq(cookie_verify(&k, v, COOKIE_VALUE_LEN - 1, got), -1);
	ck_assert_int_eq(cookie_verify(&k, "", 0, got), -1);
	ck_assert_int_eq(cookie_verify(&k, NULL, 0, got), -1);
	strcpy(w, v);
	strcat(w, "A");
	ck_assert_int_eq(verify(&k, w, got), -1);

	strcpy(w, v);
	w[5] = 'g';
	ck_assert_int_eq(verify(&k, w, got), -1);
	strcpy(w, v);
	w[0] = ' ';
	ck_assert_int_eq(verify(&k, w, got), -1);
	strcpy(w, v);
	w[SID_HEX_LEN] = 'a';
	ck_assert_int_eq(verify(&k, w, got), -1);
	strcpy(w, v);
	w[SID_HEX_LEN] = '-';
	ck_assert_int_eq(verify(&k, w, got), -1);
	/* Standard base64 characters and padding are not base64url. */
	strcpy(w, v);
	w[40] = '+';
	ck_assert_int_eq(verify(&k, w, got), -1);
	strcpy(w, v);
	w[40] = '/';
	ck_assert_int_eq(verify(&k, w, got), -1);
	strcpy(w, v);
	w[COOKIE_VALUE_LEN - 1] = '=';
	ck_assert_int_eq(verify(&k, w, got), -1);
	/* Shape right, id swapped under someone else's MAC. */
	strcpy(w, v);
	memcpy(w, "ffeeddccbbaa99887766554433221100", SID_HEX_LEN);
	ck_assert_int_eq(verify(&k, w, got), -1);
	/* A failed check leaves the output alone. */
	ck_assert_uint_eq(got[0], 0x77);
}
END_TEST

static const char *
find(const char *hdr, const char *name)
{
	static char	 buf[256];
	const char	*p;
	size_t		 len = 9999;

	p = cookie_find(hdr, strlen(hdr), name, &len);
	if (p == NULL)
		return (NULL);
	ck_assert(p >= hdr);
	ck_assert(p + len <= hdr + strlen(hdr));
	ck_assert_uint_lt(len, sizeof buf);
	memcpy(buf, p, len);
	buf[len] = '\0';
	return (buf);
}

START_TEST(find_cookie)
{
	size_t	 len;

	ck_assert_str_eq(find("drover_sid=abc", "drover_sid"), "abc");
	ck_assert_str_eq(find("a=b; drover_sid=abc; c=d", "drover_sid"), "abc");
	ck_assert_str_eq(find("a=b;drover_sid=abc;c=d", "drover_sid"), "abc");
	ck_assert_str_eq(find("a=b;   drover_sid = abc ;c=d", "drover_sid"),
	    "abc");
	ck_assert_str_eq(find("a=b; c=d; drover_sid=last", "drover_sid"),
	    "last");
	ck_assert_str_eq(find("a=b; drover_sid=\"quoted\"; c=d", "drover_sid"),
	    "quoted");
	ck_assert_str_eq(find("drover_sid=\"\"", "drover_sid"), "");
	ck_assert_str_eq(find("drover_sid=", "drover_sid"), "");
	ck_assert_str_eq(find("drover_sid=one; drover_sid=two", "drover_sid"),
	    "one");
	ck_assert_str_eq(find("x=1=2; drover_sid=v=w", "drover_sid"), "v=w");

	/* Names match whole, and case matters. */
	ck_assert_str_eq(find("xdrover_sid=bad; drover_sid=good", "drover_sid"),
	    "good");
	ck_assert_ptr_null(find("xdrover_sid=bad", "drover_sid"));
	ck_assert_ptr_null(find("drover_sidx=bad", "drover_sid"));
	ck_assert_ptr_null(find("drover=bad; sid=bad", "drover_sid"));
	ck_assert_ptr_null(find("DROVER_SID=bad", "drover_sid"));
	ck_assert_ptr_null(find("a=drover_sid; drover_sid", "drover_sid"));
	ck_assert_ptr_null(find("", "drover_sid"));
	ck_assert_ptr_null(find(";;; ;", "drover_sid"));
	ck_assert_ptr_null(find("a=b", ""));
	ck_assert_ptr_null(cookie_find(NULL, 0, "drover_sid", &len));

	/* Only hlen bytes are read: the header need not end in NUL. */
	ck_assert_ptr_null(cookie_find("drover_sid=abc", 8, "drover_sid",
	    &len));
	ck_assert_ptr_nonnull(cookie_find("drover_sid=abcdef", 14,
	    "drover_sid", &len));
	ck_assert_uint_eq(len, 3);
}
END_TEST

START_TEST(find_then_verify)
{
	struct session_keys	 k;
	char			 v[COOKIE_VALUE_LEN + 1], hdr[256];
	const char		*p;
	uint8_t			 got[SESSION_ID_LEN];
	size_t			 len;

	keys(&k, "secret");
	cookie_sign(&k, sid_a, v);
	snprintf(hdr, sizeof hdr, "theme=dark; drover_sid=\"%s\"; lang=en", v);
	p = cookie_find(hdr, strlen(hdr), "drover_sid", &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(cookie_verify(&k, p, len, got), 0);
	ck_assert_mem_eq(got, sid_a, SESSION_ID_LEN);
}
END_TEST

static Suite *
sid_suite(void)
{
	Suite	*s = suite_create("sid");
	TCase	*tc;

	tc = tcase_create("ids");
	tcase_add_test(tc, new_ids_distinct);
	tcase_add_test(tc, hex_lowercase);
	suite_add_tcase(s, tc);

	tc = tcase_create("cookie");
	tcase_add_test(tc, sign_shape_and_mac);
	tcase_add_test(tc, sign_verify_round_trip);
	tcase_add_test(tc, rotation);
	tcase_add_test(tc, every_char_flip_rejected);
	tcase_add_test(tc, non_canonical_rejected);
	tcase_add_test(tc, malformed_rejected);
	tcase_add_test(tc, upper_case_id_rejected);
	tcase_add_test(tc, verifying_key_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("find");
	tcase_add_test(tc, find_cookie);
	tcase_add_test(tc, find_then_verify);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(sid_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
