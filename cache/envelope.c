/*
 * envelope: encodes and decodes the one format every stored session value
 * takes (layout in envelope.h) and derives the session HMAC keys.
 *
 * It owns key derivation, the MAC, and bounded LZ4 block (de)compression.
 * It must not log, allocate buffers for values, or trust a single byte of
 * an envelope before its MAC has verified.
 */
#include "config.h"

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <lz4.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cache/envelope.h"

#define ENV_OFF_FORMAT	0
#define ENV_OFF_FLAGS	1
#define ENV_OFF_KEYID	2
#define ENV_OFF_RESV	3
#define ENV_OFF_ORIG	4
#define ENV_OFF_VERSION	8
#define ENV_OFF_CREATED	16
#define ENV_OFF_UPDATED	24
#define ENV_OFF_PLEN	32

/* Labels keep the cookie and envelope keys apart even for one secret. */
static const char label_cookie[] = "drover cookie v1";
static const char label_envelope[] = "drover envelope v1";

/*
 * One HMAC context per thread, created on first use and recreated after a
 * fork, so a worker never shares libcrypto state fetched by its parent.
 * Keeping it avoids a context allocation on every request.
 */
static _Thread_local EVP_MAC	*mac_alg;
static _Thread_local EVP_MAC_CTX *mac_ctx;
static _Thread_local pid_t	 mac_pid;

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, (uint32_t)v);
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t
get64(const uint8_t *p)
{
	return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

static int
derive(const char *secret, size_t len, const char *label, uint8_t out[32])
{
	unsigned int	 outlen = 0;

	if (len > INT_MAX)
		return (-1);
	if (HMAC(EVP_sha256(), secret, (int)len, (const unsigned char *)label,
	    strlen(label), out, &outlen) == NULL || outlen != 32)
		return (-1);
	return (0);
}

static int
derive_pair(struct session_keys *k, const char *secret, size_t len)
{
	if (derive(secret, len, label_cookie, k->cookie[k->n]) != 0 ||
	    derive(secret, len, label_envelope, k->envelope[k->n]) != 0)
		return (-1);
	k->n++;
	return (0);
}

/*
 * A list that holds nothing but separators and blanks counts as empty: it
 * gets the fallback key, as an unset option would.
 */
int
session_keys_init(struct session_keys *k, const char *secret_keys,
    const uint8_t fallback[32])
{
	const char	*p, *start, *end;

	memset(k, 0, sizeof *k);
	p = secret_keys != NULL ? secret_keys : "";
	for (;;) {
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end > start) {
			if (k->n == SESSION_MAX_KEYS)
				goto fail;
			if (derive_pair(k, start, end - start) != 0)
				goto fail;
		}
		if (*p == '\0')
			break;
		p++;
	}
	if (k->n == 0) {
		if (fallback == NULL ||
		    derive_pair(k, (const char *)fallback, 32) != 0)
			goto fail;
	}
	return (0);

fail:
	OPENSSL_cleanse(k, sizeof *k);
	return (-1);
}

static EVP_MAC_CTX *
mac_context(void)
{
	pid_t	 pid = getpid();

	if (mac_ctx != NULL && mac_pid == pid)
		return (mac_ctx);
	/* Inherited from the parent: this process's copies, safe to free. */
	EVP_MAC_CTX_free(mac_ctx);
	EVP_MAC_free(mac_alg);
	mac_ctx = NULL;
	mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac_alg == NULL)
		return (NULL);
	mac_ctx = EVP_MAC_CTX_new(mac_alg);
	/* The digest is set once: naming it at every init fetched it every time. */
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	if (mac_ctx == NULL || EVP_MAC_CTX_set_params(mac_ctx, params) != 1) {
		EVP_MAC_CTX_free(mac_ctx);
		mac_ctx = NULL;
		EVP_MAC_free(mac_alg);
		mac_alg = NULL;
		return (NULL);
	}
	mac_pid = pid;
	return (mac_ctx);
}

int
session_hmac(const uint8_t key[32], const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[32])
{
	EVP_MAC_CTX	*ctx;
	size_t		 outlen = 0;

	if ((ctx = mac_context()) == NULL)
		return (-1);
	if (EVP_MAC_init(ctx, key, 32, NULL) != 1 ||
	    EVP_MAC_update(ctx, a, alen) != 1 ||
	    (blen > 0 && EVP_MAC_update(ctx, b, blen) != 1) ||
	    EVP_MAC_final(ctx, out, &outlen, 32) != 1 || outlen != 32)
		return (-1);
	return (0);
}

/* HMAC-SHA-256 under key over sid || body. */
static int
envelope_mac(const uint8_t key[32], const uint8_t sid[SESSION_ID_LEN],
    const uint8_t *body, size_t len, uint8_t out[ENVELOPE_MAC])
{
	return (session_hmac(key, sid, SESSION_ID_LEN, body, len, out));
}

size_t
envelope_bound(size_t len)
{
	size_t	 payload, fixed = ENVELOPE_HEADER + ENVELOPE_MAC;

	/* The encoder falls back to raw, so len itself is always enough. */
	payload = len;
	if (len <= LZ4_MAX_INPUT_SIZE)
		payload = (size_t)LZ4_compressBound((int)len);
	if (payload < len)
		payload = len;
	if (payload > SIZE_MAX - fixed)
		return (SIZE_MAX);
	return (fixed + payload);
}

/*
 * data and out must not overlap. A value whose length does not fit the
 * 32-bit orig_len field is refused with ENV_OVERSIZE.
 */
ssize_t
envelope_encode(const struct session_keys *k, const uint8_t sid[SESSION_ID_LEN],
    const struct envelope_meta *meta, const void *data, size_t len,
    size_t compress_min, uint8_t *out, size_t cap)
{
	size_t	 room, plen = 0;
	uint8_t	 flags = 0;
	int	 n;

	if (len > UINT32_MAX || len > SSIZE_MAX - ENVELOPE_HEADER - ENVELOPE_MAC)
		return (ENV_OVERSIZE);
	if (k->n == 0 || cap < ENVELOPE_HEADER + ENVELOPE_MAC)
		return (ENV_NOSPACE);
	room = cap - ENVELOPE_HEADER - ENVELOPE_MAC;

	/*
	 * Compressed output is only kept when it is strictly shorter than the
	 * input, so capping the destination at len - 1 makes LZ4 give up (and
	 * return 0) exactly when compressing would not pay.
	 */
	if (len > 0 && len >= compress_min && len <= LZ4_MAX_INPUT_SIZE) {
		size_t	 dcap = len - 1 < room ? len - 1 : room;

		if (dcap > 0) {
			n = LZ4_compress_default(data,
			    (char *)out + ENVELOPE_HEADER, (int)len, (int)dcap);
			if (n > 0) {
				plen = (size_t)n;
				flags |= ENVELOPE_FLAG_LZ4;
			}
		}
	}
	if ((flags & ENVELOPE_FLAG_LZ4) == 0) {
		if (len > room)
			return (ENV_NOSPACE);
		if (len > 0)
			memcpy(out + ENVELOPE_HEADER, data, len);
		plen = len;
	}

	out[ENV_OFF_FORMAT] = ENVELOPE_FORMAT;
	out[ENV_OFF_FLAGS] = flags;
	out[ENV_OFF_KEYID] = 0;
	out[ENV_OFF_RESV] = 0;
	put32(out + ENV_OFF_ORIG, (uint32_t)len);
	put64(out + ENV_OFF_VERSION, meta != NULL ? meta->version : 0);
	put64(out + ENV_OFF_CREATED,
	    (uint64_t)(meta != NULL ? meta->created_ms : 0));
	put64(out + ENV_OFF_UPDATED,
	    (uint64_t)(meta != NULL ? meta->updated_ms : 0));
	put32(out + ENV_OFF_PLEN, (uint32_t)plen);

	/* A libcrypto failure is a resource failure, reported like one. */
	if (envelope_mac(k->envelope[0], sid, out, ENVELOPE_HEADER + plen,
	    out + ENVELOPE_HEADER + plen) != 0)
		return (ENV_NOSPACE);
	return ((ssize_t)(ENVELOPE_HEADER + plen + ENVELOPE_MAC));
}

/* Shape checks that need no key; they run before anything else. */
static int
envelope_shape(const uint8_t *in, size_t len, size_t *plen)
{
	if (in == NULL || len < ENVELOPE_HEADER + ENVELOPE_MAC)
		return (ENV_TAMPERED);
	if (in[ENV_OFF_FORMAT] != ENVELOPE_FORMAT)
		return (ENV_TAMPERED);
	*plen = get32(in + ENV_OFF_PLEN);
	if (*plen != len - ENVELOPE_HEADER - ENVELOPE_MAC)
		return (ENV_TAMPERED);
	return (ENV_OK);
}

/*
 * key_id records the index the value was signed under, but adding a key
 * to the front of secret_keys shifts every index. The stored index is
 * tried first and then every other key; meta->key_id reports the index,
 * in the current list, of the key that verified, so a caller can see a
 * value signed with an older key and rewrite it under key 0.
 *
 * meta is filled once the MAC verifies, even if the payload is refused
 * afterwards; out and *outlen only on ENV_OK. in and out must not overlap.
 */
int
envelope_decode(const struct session_keys *k, const uint8_t sid[SESSION_ID_LEN],
    const uint8_t *in, size_t len, struct envelope_meta *meta,
    uint8_t *out, size_t cap, size_t *outlen)
{
	uint8_t		 mac[ENVELOPE_MAC];
	const uint8_t	*payload, *given;
	size_t		 plen, orig, i, idx, body;
	uint8_t		 key_id, flags;
	int		 found = 0, n;

	if (envelope_shape(in, len, &plen) != ENV_OK)
		return (ENV_TAMPERED);
	key_id = in[ENV_OFF_KEYID];
	if (k->n == 0 || key_id >= k->n)
		return (ENV_TAMPERED);

	body = len - ENVELOPE_MAC;
	given = in + body;
	for (i = 0; i < k->n && !found; i++) {
		idx = i == 0 ? key_id : (i <= key_id ? i - 1 : i);
		if (envelope_mac(k->envelope[idx], sid, in, body, mac) != 0)
			return (ENV_TAMPERED);
		if (CRYPTO_memcmp(mac, given, ENVELOPE_MAC) == 0) {
			found = 1;
			key_id = (uint8_t)idx;
		}
	}
	OPENSSL_cleanse(mac, sizeof mac);
	if (!found)
		return (ENV_TAMPERED);

	/* Signed by us, but by a writer that knows flags we do not. */
	flags = in[ENV_OFF_FLAGS];
	if ((flags & ~ENVELOPE_FLAG_LZ4) != 0 || in[ENV_OFF_RESV] != 0)
		return (ENV_TAMPERED);

	if (meta != NULL) {
		meta->version = get64(in + ENV_OFF_VERSION);
		meta->created_ms = (int64_t)get64(in + ENV_OFF_CREATED);
		meta->updated_ms = (int64_t)get64(in + ENV_OFF_UPDATED);
		meta->key_id = key_id;
		meta->flags = flags;
	}

	orig = get32(in + ENV_OFF_ORIG);
	if (orig > cap)
		return (ENV_OVERSIZE);
	payload = in + ENVELOPE_HEADER;
	if (flags & ENVELOPE_FLAG_LZ4) {
		if (plen > INT_MAX || orig > INT_MAX)
			return (ENV_CORRUPT);
		n = LZ4_decompress_safe((const char *)payload, (char *)out,
		    (int)plen, (int)orig);
		if (n < 0 || (size_t)n != orig)
			return (ENV_CORRUPT);
	} else {
		if (plen != orig)
			return (ENV_CORRUPT);
		if (orig > 0)
			memcpy(out, payload, orig);
	}
	if (outlen != NULL)
		*outlen = orig;
	return (ENV_OK);
}

/*
 * Checks shape only, not the MAC (it has no keys): the version it returns
 * is fit for routing a compare-and-set, never for trusting the value. A
 * forged version can at worst make a write lose its compare-and-set.
 */
int
envelope_peek_version(const uint8_t *in, size_t len, uint64_t *version)
{
	size_t	 plen;

	if (envelope_shape(in, len, &plen) != ENV_OK)
		return (ENV_TAMPERED);
	*version = get64(in + ENV_OFF_VERSION);
	return (ENV_OK);
}
