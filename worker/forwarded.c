/* forwarded: see forwarded.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cidr.h"
#include "common/util.h"
#include "worker/forwarded.h"
#include "worker/request.h"

struct hop {
	const char *node, *proto;
	size_t nlen, plen;
};

/* The last FORWARDED_MAX_HOPS hops, oldest overwritten first. */
struct hops {
	struct hop v[FORWARDED_MAX_HOPS];
	size_t count;
};

static struct hop *
hop_push(struct hops *h)
{
	struct hop *p = &h->v[h->count++ % FORWARDED_MAX_HOPS];
	memset(p, 0, sizeof *p);
	return p;
}

static bool
ows(char c)
{
	return c == ' ' || c == '\t';
}

static void
trim(const char **p, size_t *n)
{
	while (*n > 0 && ows(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && ows((*p)[*n - 1]))
		(*n)--;
}

/* X-Forwarded-For: a comma list of bare addresses, each proxy appending one. */
static void
xff_hops(const char *v, size_t n, struct hops *h)
{
	size_t i = 0;
	while (i <= n) {
		const char *comma = memchr(v + i, ',', n - i);
		size_t end = comma ? (size_t)(comma - v) : n;
		const char *e = v + i;
		size_t len = end - i;
		trim(&e, &len);
		if (len > 0) {
			struct hop *p = hop_push(h);
			p->node = e;
			p->nlen = len;
		}
		i = end + 1;
	}
}

/*
 * Forwarded (RFC 7239 §4): elements separated by commas, each a list of
 * token=value pairs separated by semicolons; a value is a token or a quoted
 * string. Only for= and proto= are kept. Returns -1 on a malformed field.
 */
static int
rfc7239_hops(const char *v, size_t n, struct hops *h)
{
	size_t i = 0;
	struct hop *cur = NULL;
	while (i < n) {
		while (i < n && ows(v[i]))
			i++;
		if (i == n)
			break;
		if (v[i] == ',') {
			cur = NULL;
			i++;
			continue;
		}
		if (v[i] == ';') {
			if (cur == NULL)
				return -1;
			i++;
			continue;
		}
		size_t k = i;
		while (k < n && http_tchar((unsigned char)v[k]))
			k++;
		if (k == i || k == n || v[k] != '=')
			return -1;
		const char *name = v + i;
		size_t name_len = k - i;
		k++;
		const char *val;
		size_t vlen;
		if (k < n && v[k] == '"') {
			size_t e = k + 1;
			while (e < n && v[e] != '"') {
				if (v[e] == '\\')
					e++;
				e++;
			}
			if (e >= n)
				return -1;
			val = v + k + 1;
			vlen = e - k - 1;
			k = e + 1;
		} else {
			size_t e = k;
			while (e < n && http_tchar((unsigned char)v[e]))
				e++;
			val = v + k;
			vlen = e - k;
			k = e;
		}
		if (cur == NULL)
			cur = hop_push(h);
		if (str_case_eq(name, name_len, "for")) {
			cur->node = val;
			cur->nlen = vlen;
		} else if (str_case_eq(name, name_len, "proto")) {
			cur->proto = val;
			cur->plen = vlen;
		}
		while (k < n && ows(v[k]))
			k++;
		if (k < n && v[k] != ',' && v[k] != ';')
			return -1;
		i = k;
	}
	return 0;
}

/*
 * A node is an address, optionally with a port: 192.0.2.1, 192.0.2.1:80,
 * [2001:db8::1]:80 (Forwarded), or a bare IPv6 address (X-Forwarded-For).
 * "unknown" and obfuscated names are not addresses.
 */
static int
node_parse(const char *p, size_t n, bool with_port, int *family, uint8_t *addr, int *port)
{
	const char *a = p;
	size_t alen = n;
	const char *ps = NULL;
	*port = -1;
	if (with_port && n > 0 && p[0] == '[') {
		const char *rb = memchr(p, ']', n);
		if (rb == NULL)
			return -1;
		a = p + 1;
		alen = (size_t)(rb - a);
		if ((size_t)(rb - p) + 1 < n) {
			if (rb[1] != ':')
				return -1;
			ps = rb + 2;
		}
		if (ip_parse(a, alen, family, addr) < 0 || *family != AF_INET6)
			return -1;
	} else {
		const char *colon = with_port ? memchr(p, ':', n) : NULL;
		if (colon) {
			alen = (size_t)(colon - p);
			ps = colon + 1;
		}
		if (ip_parse(a, alen, family, addr) < 0)
			return -1;
		if (with_port && *family != AF_INET)
			return -1;   /* Forwarded brackets every IPv6 address */
	}
	if (ps) {
		long v = parse_decimal(ps, (size_t)(p + n - ps), 65535);
		if (v < 0)
			return -1;
		*port = (int)v;
	}
	return 0;
}

/* The last comma-separated entry of the last header named name. */
static bool
last_entry_is(const struct header *hdr, size_t nhdr, const char *name, const char *want)
{
	for (size_t i = nhdr; i-- > 0; ) {
		if (!str_case_eq(hdr[i].name, hdr[i].nlen, name))
			continue;
		const char *v = hdr[i].value;
		size_t n = hdr[i].vlen;
		const char *comma = memrchr(v, ',', n);
		if (comma) {
			n -= (size_t)(comma + 1 - v);
			v = comma + 1;
		}
		trim(&v, &n);
		return str_case_eq(v, n, want);
	}
	return false;
}

int
forwarded_resolve(const struct cidr_set *trusted, enum forwarded_header which,
    const char *peer_addr, int peer_port, const struct header *hdr, size_t nhdr,
    struct client_id *out)
{
	snprintf(out->addr, sizeof out->addr, "%s", peer_addr);
	out->port = peer_port;
	out->https = false;
	int family;
	uint8_t a[16];
	if (trusted == NULL || ip_parse(peer_addr, strlen(peer_addr), &family, a) < 0 ||
	    !cidr_set_contains(trusted, family, a))
		return 0;

	struct hops h;
	h.count = 0;
	const char *name = which == FORWARDED_RFC7239 ? "Forwarded" : "X-Forwarded-For";
	for (size_t i = 0; i < nhdr; i++) {
		if (!str_case_eq(hdr[i].name, hdr[i].nlen, name))
			continue;
		if (which == FORWARDED_X)
			xff_hops(hdr[i].value, hdr[i].vlen, &h);
		else if (rfc7239_hops(hdr[i].value, hdr[i].vlen, &h) < 0)
			return -1;
	}
	if (which == FORWARDED_X)
		out->https = last_entry_is(hdr, nhdr, "X-Forwarded-Proto", "https");
	size_t oldest = h.count > FORWARDED_MAX_HOPS ? h.count - FORWARDED_MAX_HOPS : 0;
	const struct hop *client = NULL;
	int client_family = 0, client_port = -1;
	uint8_t client_addr[16];
	for (size_t i = h.count; i-- > oldest; ) {
		const struct hop *p = &h.v[i % FORWARDED_MAX_HOPS];
		int port;
		if (p->node == NULL ||
		    node_parse(p->node, p->nlen, which == FORWARDED_RFC7239, &family, a, &port) < 0) {
			out->https = false;
			return -1;
		}
		client = p;
		client_family = family;
		client_port = port;
		memcpy(client_addr, a, sizeof a);
		if (!cidr_set_contains(trusted, family, a))
			break;
	}
	if (client == NULL)
		return 0;
	/* Written back in canonical form: the app never sees the header's spelling. */
	inet_ntop(client_family, client_addr, out->addr, sizeof out->addr);
	if (client_port >= 0)
		out->port = client_port;
	if (which == FORWARDED_RFC7239)
		out->https = client->proto && str_case_eq(client->proto, client->plen, "https");
	return 0;
}
