/*
 * sid: makes session ids, signs and verifies the cookie value that carries
 * one, and finds that cookie in a Cookie header.
 *
 * It checks shape and MAC and nothing more; it must not log, allocate, or
 * let a value that fails reach a cache lookup.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/random.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cache/sid.h"
#include "common/util.h"

#define COOKIE_MAC_LEN	32
#define COOKIE_B64_LEN	43	/* 32 bytes in base64url without padding */

int
sid_new(uint8_t sid[SESSION_ID_LEN])
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < SESSION_ID_LEN) {
		n = getrandom(sid + off, SESSION_ID_LEN - off, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		off += (size_t)n;
	}
	return (0);
}

void
sid_hex(const uint8_t sid[SESSION_ID_LEN], char out[SID_HEX_LEN + 1])
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < SESSION_ID_LEN; i++) {
		out[2 * i] = digits[sid[i] >> 4];
		out[2 * i + 1] = digits[sid[i] & 0x0f];
	}
	out[SID_HEX_LEN] = '\0';
}

/*
 * The MAC of sid under key, as base64url without padding. Comparing this
 * encoding, not decoded bytes, rejects the non-canonical spellings whose
 * unused low bits in the last character differ but decode the same.
 */
static int
cookie_mac(const uint8_t key[32], const uint8_t sid[SESSION_ID_LEN],
    char out[COOKIE_B64_LEN])
{
	uint8_t		 mac[COOKIE_MAC_LEN];
	unsigned char	 b64[4 * ((COOKIE_MAC_LEN + 2) / 3) + 1];
	size_t		 i;

	if (session_hmac(key, sid, SESSION_ID_LEN, NULL, 0, mac) < 0)
		return (-1);
	if (EVP_EncodeBlock(b64, mac, COOKIE_MAC_LEN) != COOKIE_B64_LEN + 1)
		return (-1);
	for (i = 0; i < COOKIE_B64_LEN; i++) {
		switch (b64[i]) {
		case '+':
			out[i] = '-';
			break;
		case '/':
			out[i] = '_';
			break;
		default:
			out[i] = (char)b64[i];
			break;
		}
	}
	OPENSSL_cleanse(mac, sizeof mac);
	OPENSSL_cleanse(b64, sizeof b64);
	return (0);
}

/* On a libcrypto failure out is left empty, which never verifies. */
void
cookie_sign(const struct session_keys *k, const uint8_t sid[SESSION_ID_LEN],
    char *out)
{
	out[0] = '\0';
	if (k->n == 0)
		return;
	if (cookie_mac(k->cookie[0], sid, out + SID_HEX_LEN + 1) != 0) {
		out[0] = '\0';
		return;
	}
	sid_hex(sid, out);
	out[SID_HEX_LEN] = '.';
	out[COOKIE_VALUE_LEN] = '\0';
}

static int
b64url_char(char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_');
}

/* Lower-case hex only: one spelling per id, so one id per cookie. */
static int
lower_hex(unsigned char c)
{
	if (c >= 'A' && c <= 'F')
		return (-1);
	return (hex_digit(c));
}

int
cookie_verify(const struct session_keys *k, const char *value, size_t len,
    uint8_t sid[SESSION_ID_LEN])
{
	size_t	 key;

	return (cookie_verify_key(k, value, len, sid, &key));
}

int
cookie_verify_key(const struct session_keys *k, const char *value, size_t len,
    uint8_t sid[SESSION_ID_LEN], size_t *key)
{
	uint8_t		 id[SESSION_ID_LEN];
	char		 want[COOKIE_B64_LEN];
	const char	*mac;
	size_t		 i;
	int		 hi, lo, ok = 0;

	if (value == NULL || len != COOKIE_VALUE_LEN)
		return (-1);
	if (value[SID_HEX_LEN] != '.')
		return (-1);
	for (i = 0; i < SESSION_ID_LEN; i++) {
		hi = lower_hex((unsigned char)value[2 * i]);
		lo = lower_hex((unsigned char)value[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return (-1);
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	mac = value + SID_HEX_LEN + 1;
	for (i = 0; i < COOKIE_B64_LEN; i++) {
		if (!b64url_char(mac[i]))
			return (-1);
	}

	for (i = 0; i < k->n && !ok; i++) {
		if (cookie_mac(k->cookie[i], id, want) != 0)
			break;
		if (CRYPTO_memcmp(want, mac, COOKIE_B64_LEN) == 0) {
			ok = 1;
			*key = i;
		}
	}
	OPENSSL_cleanse(want, sizeof want);
	if (!ok)
		return (-1);
	memcpy(sid, id, SESSION_ID_LEN);
	return (0);
}

static int
is_blank(char c)
{
	return (c == ' ' || c == '\t');
}

/*
 * Cookie: a=b; name=value; c=d. Names match exactly and case-sensitively;
 * the first match wins. A value in double quotes comes back without them.
 */
const char *
cookie_find(const char *header, size_t hlen, const char *name, size_t *len)
{
	const char	*p, *end, *seg, *segend, *eq, *n0, *n1, *v0, *v1;
	size_t		 nlen;

	if (header == NULL || name == NULL || (nlen = strlen(name)) == 0)
		return (NULL);
	p = header;
	end = header + hlen;
	while (p < end) {
		seg = p;
		segend = memchr(seg, ';', end - seg);
		if (segend == NULL)
			segend = end;
		p = segend < end ? segend + 1 : end;

		eq = memchr(seg, '=', segend - seg);
		if (eq == NULL)
			continue;
		n0 = seg;
		n1 = eq;
		while (n0 < n1 && is_blank(*n0))
			n0++;
		while (n1 > n0 && is_blank(n1[-1]))
			n1--;
		if ((size_t)(n1 - n0) != nlen || memcmp(n0, name, nlen) != 0)
			continue;

		v0 = eq + 1;
		v1 = segend;
		while (v0 < v1 && is_blank(*v0))
			v0++;
		while (v1 > v0 && is_blank(v1[-1]))
			v1--;
		if (v1 - v0 >= 2 && *v0 == '"' && v1[-1] == '"') {
			v0++;
			v1--;
		}
		*len = (size_t)(v1 - v0);
		return (v0);
	}
	return (NULL);
}
