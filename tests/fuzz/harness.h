/*
 * harness: drives one real drover connection (worker/conn.c and everything
 * it calls) from a fuzz input, for the targets that need the whole request
 * path rather than one parser.
 *
 * It owns the fake worker around the connection: the event loop, a config
 * with small limits, the counters and a stub app. It must not reach into the
 * connection's private state: bytes go in through a socketpair and come
 * back out the same way, exactly as from a client.
 */
#ifndef DROVER_FUZZ_HARNESS_H
#define DROVER_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

struct config;

/*
 * What the stub app answers. With out == NULL it picks by request path:
 * /404 -> 404 from start(), /redir -> a local redirect, /slow -> answers on
 * a later loop turn, anything else -> a CGI-style head and an echo of the
 * body. With out set, every request gets out as its raw app output, fed in
 * pieces of chunk bytes (0: at once), then end of output; deferred spreads
 * those pieces over loop turns.
 */
struct harness_app {
	const uint8_t *out;
	size_t outlen;
	size_t chunk;
	int deferred;
};

/* Once per process. tune may adjust the config after the harness's limits. */
void harness_init(void (*tune)(struct config *));
struct config *harness_config(void);

#define HARNESS_EXPIRE 1        /* let every timeout fire before the client closes */
#define HARNESS_STRICT 2        /* the output must parse as well-framed responses */

/*
 * Runs one connection: in is written to the client end in pieces of chunk
 * bytes (0: all at once) with loop turns between them, then the client
 * half-closes and the loop runs until the connection goes or stops making
 * progress. With HARNESS_EXPIRE, the clock first jumps an hour once the server is
 * quiet, so every timeout (408, keep-alive, request) fires before the
 * client closes. Whatever remains is dropped as on a fast stop. Aborts when the
 * worker's accounting is off afterwards or a response does not start with
 * a status line; with HARNESS_STRICT, also when the bytes read back do
 * not parse as HTTP/1.x responses or anything follows one that closes the
 * connection (not for HEAD, whose answers only the request can frame).
 * Returns the number of response bytes read back.
 */
size_t harness_run(const uint8_t *in, size_t len, size_t chunk, const struct harness_app *app,
    int flags);

#endif
