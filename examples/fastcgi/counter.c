/*
 * counter: a FastCGI app that keeps a live object per user and lets drover
 * keep the user's state.
 *
 * This is the pattern to copy. The app holds its objects in memory (here a
 * small table of counters keyed by DROVER_SESSION_ID). drover tells it on
 * every request whether its copy can be trusted:
 *
 *   DROVER_SESSION_STATUS=hit      drover's host-local copy answered; if the
 *                                  app's own object has the same
 *                                  DROVER_SESSION_VERSION it is current
 *   DROVER_SESSION_STATUS=rebuild  the state came from Redis (another worker
 *                                  or host wrote it): rebuild the object from
 *                                  DROVER_SESSION_DATA
 *   DROVER_SESSION_STATUS=miss     no state anywhere: start fresh
 *
 * After changing the object the app hands drover a snapshot in a
 * Drover-Session header (base64); drover stores it as the next version.
 * Build: cc -o counter counter.c -lfcgi -lcrypto
 */
#include <fcgi_stdio.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TABLE 1024

struct visitor {
	char id[33];
	unsigned long long version;   /* the drover version this object reflects */
	unsigned long count;
};

static struct visitor table[TABLE];
static unsigned long rebuilds;

static void
encode(const char *in, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)strlen(in));
}

static unsigned long
decode_count(const char *in)
{
	unsigned char out[96];
	size_t n = strlen(in);
	if (n == 0 || n % 4 != 0 || n / 4 * 3 >= sizeof out)
		return 0;
	int got = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	if (got < 0)
		return 0;
	out[got] = '\0';
	return strtoul((const char *)out, NULL, 10);
}

static struct visitor *
find(const char *id)
{
	unsigned h = 0;
	for (const char *p = id; *p; p++)
		h = h * 31 + (unsigned char)*p;
	struct visitor *v = &table[h % TABLE];
	if (strcmp(v->id, id) != 0) {
		/* Evicting a stranger is fine: drover still has their state. */
		memset(v, 0, sizeof *v);
		snprintf(v->id, sizeof v->id, "%s", id);
	}
	return v;
}

int
main(void)
{
	while (FCGI_Accept() >= 0) {
		const char *id = getenv("DROVER_SESSION_ID");
		const char *status = getenv("DROVER_SESSION_STATUS");
		const char *ver = getenv("DROVER_SESSION_VERSION");
		const char *data = getenv("DROVER_SESSION_DATA");
		if (id == NULL || status == NULL) {
			printf("Status: 500\r\nContent-Type: text/plain\r\n\r\nsessions are off\n");
			continue;
		}
		unsigned long long version = ver ? strtoull(ver, NULL, 10) : 0;
		struct visitor *v = find(id);
		const char *how = "live";
		if (strcmp(status, "miss") == 0) {
			v->count = 0;
			how = "fresh";
		} else if (strcmp(status, "rebuild") == 0 || v->version != version) {
			/* Someone else moved the state on: trust the snapshot. */
			v->count = data ? decode_count(data) : 0;
			rebuilds++;
			how = "rebuilt";
		}
		v->count++;
		char snap[32], enc[64];
		snprintf(snap, sizeof snap, "%lu", v->count);
		encode(snap, enc);
		v->version = version + 1;
		printf("Content-Type: text/plain\r\nDrover-Session: %s\r\n\r\n", enc);
		printf("count=%lu status=%s version=%llu object=%s rebuilds=%lu\n", v->count, status,
		    version, how, rebuilds);
	}
	return 0;
}
