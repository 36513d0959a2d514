/* cidr: see cidr.h. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cidr.h"
#include "common/util.h"

int
ip_parse(const char *p, size_t len, int *family, uint8_t *addr)
{
	char tmp[INET6_ADDRSTRLEN];
	if (len == 0 || len >= sizeof tmp)
		return -1;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static int
parse_one(struct cidr *c, const char *tok, size_t len)
{
	const char *slash = memchr(tok, '/', len);
	size_t alen = slash ? (size_t)(slash - tok) : len;
	if (ip_parse(tok, alen, &c->family, c->addr) < 0)
		return -1;
	unsigned max = c->family == AF_INET ? 32 : 128;
	c->bits = max;
	if (slash) {
		const char *b = slash + 1;
		long v = parse_decimal(b, (size_t)(tok + len - b), (long)max);
		if (v < 0 || (size_t)(tok + len - b) > 3)
			return -1;
		c->bits = (unsigned)v;
	}
	/* Host bits are cleared so 10.1.2.3/8 means 10.0.0.0/8, as nginx reads it. */
	for (unsigned i = 0; i < max / 8; i++) {
		unsigned keep = c->bits > i * 8 ? c->bits - i * 8 : 0;
		if (keep < 8)
			c->addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
	return 0;
}

int
cidr_set_parse(struct cidr_set *s, const char *list, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	const char *p = list ? list : "";
	while (*p) {
		size_t skip = strspn(p, " \t,");
		p += skip;
		size_t len = strcspn(p, " \t,");
		if (len == 0)
			break;
		if (len == 1 && p[0] == '*') {
			s->any = true;
		} else if (s->n >= CIDR_MAX) {
			snprintf(err, errlen, "more than %d ranges", CIDR_MAX);
			return -1;
		} else if (parse_one(&s->v[s->n], p, len) < 0) {
			snprintf(err, errlen, "'%.*s' is not an address, ADDR/BITS or *",
			    (int)(len > 64 ? 64 : len), p);
			return -1;
		} else {
			s->n++;
		}
		p += len;
	}
	return 0;
}

static bool
prefix_match(const uint8_t *net, const uint8_t *a, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(net, a, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net[whole] & mask) == (a[whole] & mask);
}

bool
cidr_set_contains(const struct cidr_set *s, int family, const void *addr)
{
	if (s->any)
		return true;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a = addr;
	const uint8_t *v4 = NULL;
	if (family == AF_INET)
		v4 = a;
	else if (family == AF_INET6 && memcmp(a, mapped, sizeof mapped) == 0)
		v4 = a + 12;
	for (size_t i = 0; i < s->n; i++) {
		const struct cidr *c = &s->v[i];
		if (c->family == AF_INET6 && family == AF_INET6 && prefix_match(c->addr, a, c->bits))
			return true;
		if (c->family == AF_INET && v4 && prefix_match(c->addr, v4, c->bits))
			return true;
	}
	return false;
}
