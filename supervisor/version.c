/* version: see version.h. */
#include "config.h"

#include <ev.h>
#include <hiredis/hiredis.h>
#include <http_parser.h>
#include <lz4.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "supervisor/version.h"

void
version_print(FILE *f)
{
	unsigned long hp = http_parser_version();

	fprintf(f, "drover %s\n", PACKAGE_VERSION);
#ifdef __VERSION__
	fprintf(f, "built with: cc %s\n", __VERSION__);
#endif
	fprintf(f, "configure arguments: %s\n", DROVER_CONFIGURE_ARGS);
	fprintf(f, "default config: %s/drover/drover.ini\n", SYSCONFDIR);
#ifdef HAVE_SYSTEMD
	fputs("systemd: sd_notify and socket activation\n", f);
#else
	fputs("systemd: not built in\n", f);
#endif
	fprintf(f, "libev %d.%d (built against %d.%d)\n", ev_version_major(),
	    ev_version_minor(), EV_VERSION_MAJOR, EV_VERSION_MINOR);
	fprintf(f, "hiredis %d.%d.%d (built against)\n", HIREDIS_MAJOR, HIREDIS_MINOR,
	    HIREDIS_PATCH);
	fprintf(f, "http-parser %lu.%lu.%lu\n", (hp >> 16) & 255, (hp >> 8) & 255, hp & 255);
	fprintf(f, "lz4 %s\n", LZ4_versionString());
	fprintf(f, "%s (built against %s)\n", OpenSSL_version(OPENSSL_VERSION),
	    OPENSSL_VERSION_TEXT);
	fputs("inih (no version information)\n", f);
}
