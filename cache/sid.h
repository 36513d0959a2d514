/*
 * sid: session ids and the signed cookie that carries them.
 *
 * A cookie value is <32 hex digits of id>.<43 base64url chars of
 * HMAC-SHA-256(id)>. Parsing checks shape and MAC (any configured key) and
 * nothing else: a value that fails never reaches a cache lookup.
 * It must not log or allocate.
 */
#ifndef DROVER_SID_H
#define DROVER_SID_H

#include <stddef.h>
#include <stdint.h>

#include "cache/envelope.h"

#define SID_HEX_LEN 32
#define COOKIE_VALUE_LEN (SID_HEX_LEN + 1 + 43)

/* 128 bits from getrandom(2). Returns 0 or -1. */
int sid_new(uint8_t sid[SESSION_ID_LEN]);
void sid_hex(const uint8_t sid[SESSION_ID_LEN], char out[SID_HEX_LEN + 1]);
/* Writes the cookie value (NUL-terminated) signed with key 0. out needs COOKIE_VALUE_LEN + 1. */
void cookie_sign(const struct session_keys *k, const uint8_t sid[SESSION_ID_LEN], char *out);
/*
 * 0 and the id when value is well formed (the id in lower-case hex: any
 * other spelling is refused) and its MAC verifies under any key; -1
 * otherwise.
 */
int cookie_verify(const struct session_keys *k, const char *value, size_t len, uint8_t sid[SESSION_ID_LEN]);
/* The same, and *key is the index of the key that verified (0: the current one). */
int cookie_verify_key(const struct session_keys *k, const char *value, size_t len,
    uint8_t sid[SESSION_ID_LEN], size_t *key);
/*
 * Finds cookie `name` in a Cookie header value. Returns a pointer into header
 * and its length in *len, or NULL.
 */
const char *cookie_find(const char *header, size_t hlen, const char *name, size_t *len);

#endif
