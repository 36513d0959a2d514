/*
 * counter_cgi: examples/cgi-bin/counter.cgi's visit counter as one compiled
 * process, for bench/run's session rows. The shell version forks a dozen
 * tools per request, which hides what drover's session tiers cost; this one
 * speaks the same protocol (DROVER_SESSION_DATA in, Drover-Session out) in a
 * single short-lived process. It must not keep state of its own.
 */

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(void)
{
	const char	*data = getenv("DROVER_SESSION_DATA");
	const char	*status = getenv("DROVER_SESSION_STATUS");
	unsigned char	 raw[96], snap[32], b64[64];
	unsigned long	 count = 0;
	size_t		 dlen;
	int		 n;

	if (data != NULL && (dlen = strlen(data)) > 0 && dlen <= 128 &&
	    dlen % 4 == 0) {
		n = EVP_DecodeBlock(raw, (const unsigned char *)data, (int)dlen);
		if (n > 0) {
			raw[n < (int)sizeof(raw) ? n : (int)sizeof(raw) - 1] = '\0';
			count = strtoul((char *)raw, NULL, 10);
		}
	}
	count++;
	n = snprintf((char *)snap, sizeof(snap), "%lu\n", count);
	if (n < 0 || (size_t)n >= sizeof(snap))
		return (1);
	EVP_EncodeBlock(b64, snap, n);
	printf("Content-Type: text/plain\r\nDrover-Session: %s\r\n\r\n"
	    "count=%lu status=%s\n", b64, count, status ? status : "none");
	return (fflush(stdout) == 0 ? 0 : 1);
}
