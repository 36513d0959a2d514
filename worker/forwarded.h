/*
 * forwarded: who the client of one request is when it came through trusted
 * proxies: X-Forwarded-For / X-Forwarded-Proto, or RFC 7239 Forwarded.
 *
 * Owns the right-to-left walk over the proxy chain (the first address that
 * is not itself a trusted proxy is the client, as nginx's real_ip_recursive)
 * and the validation of every address read. It is pure: it must not log,
 * allocate or write into the connection; the answer belongs to one request.
 */
#ifndef DROVER_FORWARDED_H
#define DROVER_FORWARDED_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf/config.h"

struct cidr_set;
struct header;

/* At most this many hops are looked at, counting from the right. */
#define FORWARDED_MAX_HOPS 32

struct client_id {
	char addr[64];               /* as long as conn_peer.addr */
	int port;
	bool https;
};

/*
 * Fills out for a request from peer_addr:peer_port carrying hdr[0..nhdr).
 * A peer outside trusted gets itself. Returns 0, or -1 when a trusted peer
 * sent a value that is no address or a malformed Forwarded field: out is
 * then the peer itself and the caller should say so.
 */
int forwarded_resolve(const struct cidr_set *trusted, enum forwarded_header which,
    const char *peer_addr, int peer_port, const struct header *hdr, size_t nhdr,
    struct client_id *out);

#endif
