/*
 * hello_fcgi: the FastCGI responder every server talks to in the FastCGI
 * rows of bench/run. Built on libfcgi, it accepts on the listening socket it
 * inherits as fd 0 (as drover, spawn-fcgi and lighttpd hand it over) and
 * answers each request with a fixed body. It must stay trivial: the rows
 * measure the server's FastCGI path, not the app.
 */

#include <fcgiapp.h>

int
main(void)
{
	FCGX_Stream	*in, *out, *err;
	FCGX_ParamArray	 envp;

	while (FCGX_Accept(&in, &out, &err, &envp) >= 0)
		FCGX_FPrintF(out, "Content-Type: text/plain\r\n\r\n"
		    "Hello from a FastCGI app\n");
	return (0);
}
