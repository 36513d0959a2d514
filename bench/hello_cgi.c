/*
 * hello_cgi: the compiled CGI script every server runs in the CGI rows of
 * bench/run. It writes one header block and a short body and exits, so a
 * request costs what the server's spawn path costs and almost nothing else.
 * It must not read stdin or the environment: each peer gets identical work.
 */

#include <string.h>
#include <unistd.h>

int
main(void)
{
	static const char	resp[] =
	    "Content-Type: text/plain\r\n\r\nHello from a compiled CGI script\n";
	size_t			off = 0, len = sizeof(resp) - 1;
	ssize_t			n;

	while (off < len) {
		n = write(STDOUT_FILENO, resp + off, len - off);
		if (n <= 0)
			return (1);
		off += (size_t)n;
	}
	return (0);
}
