/* auth: see auth.h. */
#include "config.h"

#include <crypt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "worker/auth.h"

#define USERS_MAX 4096
#define LINE_MAX_LEN 512

struct user {
	char *name, *hash;
	/* SHA-256 of the last Authorization value accepted for this user: a
	 * client sends the same one on every request, and bcrypt costs tens of
	 * milliseconds of the worker's loop each time. */
	unsigned char ok[32];
	bool has_ok;
};

/* The file last read, kept while its identity and mtime stay the same. */
static struct {
	char path[4096];
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
	struct user *v;
	size_t n;
} users;

static void
forget(void)
{
	for (size_t i = 0; i < users.n; i++) {
		free(users.v[i].name);
		free(users.v[i].hash);
	}
	free(users.v);
	users.v = NULL;
	users.n = 0;
	users.path[0] = '\0';
}

static int
load(const char *file)
{
	struct stat st;
	if (stat(file, &st) < 0) {
		forget();
		return -1;
	}
	if (strcmp(users.path, file) == 0 && st.st_dev == users.dev && st.st_ino == users.ino &&
	    st.st_size == users.size && st.st_mtim.tv_sec == users.mtime.tv_sec &&
	    st.st_mtim.tv_nsec == users.mtime.tv_nsec)
		return 0;
	forget();
	FILE *f = fopen(file, "re");
	if (f == NULL) {
		log_error("auth", "file=%s error=\"cannot open\"", file);
		return -1;
	}
	char line[LINE_MAX_LEN];
	while (fgets(line, sizeof line, f) && users.n < USERS_MAX) {
		line[strcspn(line, "\r\n")] = '\0';
		char *colon = strchr(line, ':');
		if (line[0] == '#' || colon == NULL || colon == line)
			continue;
		*colon = '\0';
		char *hash = colon + 1;
		hash[strcspn(hash, ":")] = '\0';   /* htdigest-like extra fields */
		struct user *nv = realloc(users.v, (users.n + 1) * sizeof *nv);
		if (nv == NULL)
			break;
		users.v = nv;
		memset(&nv[users.n], 0, sizeof nv[users.n]);
		nv[users.n].name = strdup(line);
		nv[users.n].hash = strdup(hash);
		if (nv[users.n].name == NULL || nv[users.n].hash == NULL) {
			free(nv[users.n].name);
			free(nv[users.n].hash);
			break;
		}
		users.n++;
	}
	fclose(f);
	snprintf(users.path, sizeof users.path, "%s", file);
	users.dev = st.st_dev;
	users.ino = st.st_ino;
	users.size = st.st_size;
	users.mtime = st.st_mtim;
	return 0;
}

/* Only the schemes libcrypt checks well: no DES, MD5 or plain text. */
static bool
strong_hash(const char *h)
{
	return strncmp(h, "$2y$", 4) == 0 || strncmp(h, "$2b$", 4) == 0 ||
	    strncmp(h, "$5$", 3) == 0 || strncmp(h, "$6$", 3) == 0 || strncmp(h, "$y$", 3) == 0;
}

int
auth_check(const char *file, const char *value, size_t vlen, char *user, size_t ucap)
{
	if (value == NULL || vlen < 7 || strncasecmp(value, "Basic ", 6) != 0)
		return -1;
	const char *b64 = value + 6;
	size_t blen = vlen - 6;
	while (blen > 0 && *b64 == ' ') {
		b64++;
		blen--;
	}
	if (blen == 0 || blen % 4 != 0 || blen > 1024)
		return -1;
	unsigned char dec[800];
	int n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)blen);
	if (n < 0)
		return -1;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (b64[blen - 1] == '=')
		n--;
	if (b64[blen - 2] == '=')
		n--;
	dec[n] = '\0';
	if (memchr(dec, '\0', (size_t)n) != NULL)
		return -1;
	char *colon = strchr((char *)dec, ':');
	if (colon == NULL || colon == (char *)dec)
		return -1;
	*colon = '\0';
	const char *name = (const char *)dec, *pass = colon + 1;
	if (load(file) < 0)
		return -1;
	for (size_t i = 0; i < users.n; i++) {
		if (strcmp(users.v[i].name, name) != 0)
			continue;
		if (!strong_hash(users.v[i].hash))
			return -1;
		unsigned char digest[32];
		unsigned int dlen = 0;
		bool known = EVP_Digest(value, vlen, digest, &dlen, EVP_sha256(), NULL) == 1 &&
		    dlen == sizeof digest;
		if (known && users.v[i].has_ok && CRYPTO_memcmp(digest, users.v[i].ok, sizeof digest) == 0 &&
		    strlen(users.v[i].name) < ucap) {
			OPENSSL_cleanse(dec, sizeof dec);
			snprintf(user, ucap, "%s", users.v[i].name);
			return 0;
		}
		struct crypt_data cd;
		memset(&cd, 0, sizeof cd);
		const char *got = crypt_r(pass, users.v[i].hash, &cd);
		size_t hl = strlen(users.v[i].hash);
		bool ok = got != NULL && got[0] != '*' && strlen(got) == hl &&
		    CRYPTO_memcmp(got, users.v[i].hash, hl) == 0;
		OPENSSL_cleanse(dec, sizeof dec);
		OPENSSL_cleanse(&cd, sizeof cd);
		if (!ok || strlen(users.v[i].name) >= ucap)
			return -1;
		if (known) {
			memcpy(users.v[i].ok, digest, sizeof digest);
			users.v[i].has_ok = true;
		}
		snprintf(user, ucap, "%s", users.v[i].name);
		return 0;
	}
	OPENSSL_cleanse(dec, sizeof dec);
	return -1;
}
