/*
 * auth: HTTP Basic authentication against an htpasswd file ([app]
 * auth_basic): bcrypt ($2y$, $2b$) and SHA-crypt ($5$, $6$) hashes checked
 * with libcrypt's crypt_r.
 *
 * Owns reading the file (again whenever it changes) and checking one
 * Authorization value. It must not answer the request: site.c sends the 401.
 */
#ifndef DROVER_AUTH_H
#define DROVER_AUTH_H

#include <stddef.h>

/*
 * Checks an Authorization header value (NULL when absent) against the
 * htpasswd file. Returns 0 with the user name in user, or -1 when the
 * credentials are missing, malformed or wrong.
 */
int auth_check(const char *file, const char *value, size_t vlen, char *user, size_t ucap);

#endif
