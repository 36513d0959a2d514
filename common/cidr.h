/*
 * cidr: a set of address ranges ("10.0.0.0/8 ::1 *"), parsed once and
 * matched against binary addresses.
 *
 * Owns the parsing and matching only; it must not log or resolve names:
 * callers decide what a match means (today: which peers may forward a
 * client's address).
 */
#ifndef DROVER_CIDR_H
#define DROVER_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CIDR_MAX 64

struct cidr {
	int family;             /* AF_INET or AF_INET6 */
	unsigned bits;          /* prefix length */
	uint8_t addr[16];       /* network bytes, host bits cleared */
};

struct cidr_set {
	bool any;               /* "*": every address */
	size_t n;
	struct cidr v[CIDR_MAX];
};

/*
 * Parses a list separated by spaces or commas: addresses, ADDR/BITS ranges,
 * and "*". An empty or NULL list is the empty set. Returns 0, or -1 with a
 * message naming the bad entry in err.
 */
int cidr_set_parse(struct cidr_set *s, const char *list, char *err, size_t errlen);
/* addr is 4 bytes for AF_INET, 16 for AF_INET6; IPv4-mapped IPv6 addresses
 * match IPv4 ranges. */
bool cidr_set_contains(const struct cidr_set *s, int family, const void *addr);
/*
 * Parses one textual IPv4 or IPv6 address of len bytes (no brackets, no
 * port) into family and addr (16 bytes of room). Returns 0 or -1.
 */
int ip_parse(const char *p, size_t len, int *family, uint8_t *addr);

#endif
