/*
 * envelope: the one format every stored session value takes, in both tiers.
 *
 *   format(1) flags(1) key_id(1) reserved(1) orig_len(4) version(8)
 *   created_ms(8) updated_ms(8) payload_len(4) payload(...) mac(32)
 *
 * Integers big-endian. The MAC is HMAC-SHA-256 under key key_id over the
 * session id followed by every byte before the MAC. Decoding verifies the MAC
 * (constant time) before it looks at the payload, and decompresses LZ4 into
 * a buffer capped by max_value_bytes. It must not log or allocate.
 */
#ifndef DROVER_ENVELOPE_H
#define DROVER_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ENVELOPE_FORMAT 1
#define ENVELOPE_FLAG_LZ4 0x01
#define ENVELOPE_HEADER 36
#define ENVELOPE_MAC 32
#define SESSION_ID_LEN 16
#define SESSION_MAX_KEYS 8

/* HMAC keys derived from secret_keys: [0] signs, every one verifies. */
struct session_keys {
	uint8_t cookie[SESSION_MAX_KEYS][32];
	uint8_t envelope[SESSION_MAX_KEYS][32];
	size_t n;
};

/*
 * HMAC-SHA-256 under a 32-byte key over a || b (b may be empty), on one
 * context kept per process: the session path MACs on every request.
 */
int session_hmac(const uint8_t key[32], const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[32]);

/* Derives keys from a comma-separated list; an empty list uses fallback (32 bytes). */
int session_keys_init(struct session_keys *k, const char *secret_keys, const uint8_t fallback[32]);

struct envelope_meta {
	uint64_t version;
	int64_t created_ms, updated_ms;  /* CLOCK_REALTIME */
	uint8_t key_id;
	uint8_t flags;
};

enum envelope_result {
	ENV_OK = 0,
	ENV_TAMPERED = -1,   /* bad MAC, unknown key id, bad format, truncated */
	ENV_OVERSIZE = -2,   /* original length over the caller's cap */
	ENV_CORRUPT = -3,    /* MAC fine but the payload will not decompress to its length */
	ENV_NOSPACE = -4,    /* encode: output buffer too small */
};

/* Worst-case encoded size of a value of len bytes. */
size_t envelope_bound(size_t len);
/* Encodes with key 0; compresses when len >= compress_min. Returns bytes written or ENV_NOSPACE. */
ssize_t envelope_encode(const struct session_keys *k, const uint8_t sid[SESSION_ID_LEN],
    const struct envelope_meta *meta, const void *data, size_t len, size_t compress_min,
    uint8_t *out, size_t cap);
/* Decodes into out (cap bytes, also the bound on the original length). */
int envelope_decode(const struct session_keys *k, const uint8_t sid[SESSION_ID_LEN],
    const uint8_t *in, size_t len, struct envelope_meta *meta,
    uint8_t *out, size_t cap, size_t *outlen);
/* Reads only the version of an envelope whose MAC checks; for compare-and-set paths. */
int envelope_peek_version(const uint8_t *in, size_t len, uint64_t *version);

#endif
