/*
 * counter_cgi: examples/cgi-bin/counter.cgi's visit counter as one compiled
 * process, for bench/run's session rows. The shell version forks a dozen
 * tools per request, which hides what drover's session tiers cost; this one
 * speaks the same protocol (DROVER_SESSION_DATA in, Drover-Session out) in a
 * single short-lived process. It must not keep state of its own.
 */

#ifdef COUNTER_FASTCGI
#include <fcgi_stdio.h>
#endif
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest snapshot this counter reads or writes, padding included. */
#define SNAP_MAX 8192

static int serve(void);

int
main(void)
{
#ifdef COUNTER_FASTCGI
	/* Built with -DCOUNTER_FASTCGI -lfcgi: the same counter as a FastCGI app,
	 * so the app's own cost is small next to drover's session work. */
	while (FCGI_Accept() >= 0)
		if (serve() != 0)
			return (1);
	return (0);
#else
	return (serve());
#endif
}

static int
serve(void)
{
	const char	*data = getenv("DROVER_SESSION_DATA");
	const char	*status = getenv("DROVER_SESSION_STATUS");
	const char	*padenv = getenv("COUNTER_PAD");
	static unsigned char raw[SNAP_MAX + 4], snap[SNAP_MAX], b64[SNAP_MAX / 3 * 4 + 8];
	unsigned long	 count = 0;
	size_t		 dlen, pad = padenv ? strtoul(padenv, NULL, 10) : 0;
	int		 n;

	/* COUNTER_PAD=N makes every snapshot N bytes larger (session-size rows). */
	if (pad > SNAP_MAX - 32)
		pad = SNAP_MAX - 32;
	if (data != NULL && (dlen = strlen(data)) > 0 && dlen <= SNAP_MAX / 3 * 4 &&
	    dlen % 4 == 0) {
		n = EVP_DecodeBlock(raw, (const unsigned char *)data, (int)dlen);
		if (n > 0) {
			raw[n] = '\0';
			count = strtoul((char *)raw, NULL, 10);
		}
	}
	count++;
	n = snprintf((char *)snap, 32, "%lu\n", count);
	if (n < 0 || n >= 32)
		return (1);
	memset(snap + n, 'x', pad);
	EVP_EncodeBlock(b64, snap, n + (int)pad);
	printf("Content-Type: text/plain\r\nDrover-Session: %s\r\n\r\n"
	    "count=%lu status=%s\n", b64, count, status ? status : "none");
	return (fflush(stdout) == 0 ? 0 : 1);
}
