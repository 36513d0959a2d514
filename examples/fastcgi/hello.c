/*
 * hello: a small FastCGI responder on libfcgi, run by drover as a spawned
 * app (it gets its listening socket as fd 0) or started by hand on a socket
 * of its own. It prints its request's variables and the body it read, and
 * takes a few query parameters that exercise drover's failure handling:
 *
 *   crash=1   abort() before answering (drover answers 502, restarts it)
 *   sleep=N   sleep N seconds first (request_timeout -> 504)
 *   out=N     append N bytes of output (large responses)
 *   echo=1    send the request body back after the report
 *   stderr=1  write a line to FastCGI stderr (drover's error log)
 */
#include <fcgi_stdio.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The value of name in a query string, as a number; -1 when absent. */
static long
query_num(const char *qs, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = qs;
	while (p && *p) {
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=')
			return strtol(p + nlen + 1, NULL, 10);
		p = strchr(p, '&');
		if (p)
			p++;
	}
	return -1;
}

static const char *
var(const char *name)
{
	const char *v = getenv(name);
	return v ? v : "";
}

int
main(void)
{
	static char chunk[65536];
	char *body = NULL;
	size_t cap = 0;

	while (FCGI_Accept() >= 0) {
		const char *qs = var("QUERY_STRING");
		size_t len = 0;
		uint32_t sum = 0;
		size_t n;
		long echo = query_num(qs, "echo");

		while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
			for (size_t i = 0; i < n; i++)
				sum += (unsigned char)chunk[i];
			if (echo == 1) {
				if (len + n > cap) {
					size_t ncap = cap ? cap : 65536;
					while (ncap < len + n)
						ncap *= 2;
					char *nb = realloc(body, ncap);
					if (nb == NULL)
						abort();
					body = nb;
					cap = ncap;
				}
				memcpy(body + len, chunk, n);
			}
			len += n;
		}
		if (query_num(qs, "crash") == 1)
			abort();
		long secs = query_num(qs, "sleep");
		if (secs > 0)
			sleep((unsigned)secs);
		if (query_num(qs, "stderr") == 1)
			fprintf(stderr, "hello: a line for the error log\n");

		printf("Content-Type: text/plain\r\n\r\n");
		printf("Hello from FastCGI\n");
		printf("pid=%d\n", (int)getpid());
		printf("REQUEST_METHOD=%s\n", var("REQUEST_METHOD"));
		printf("SCRIPT_NAME=%s\n", var("SCRIPT_NAME"));
		printf("PATH_INFO=%s\n", var("PATH_INFO"));
		printf("QUERY_STRING=%s\n", qs);
		printf("CONTENT_LENGTH=%s\n", var("CONTENT_LENGTH"));
		printf("HTTP_X_TEST=%s\n", var("HTTP_X_TEST"));
		printf("body_len=%lu\n", (unsigned long)len);
		printf("body_sum=%u\n", (unsigned)sum);
		long out = query_num(qs, "out");
		for (long i = 0; i < out; i++)
			putchar('a' + (int)(i % 26));
		if (echo == 1 && len > 0)
			fwrite(body, 1, len, stdout);
	}
	free(body);
	return 0;
}
