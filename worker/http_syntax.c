/* http_syntax: see http_syntax.h. */
#include "config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "common/util.h"
#include "worker/http_syntax.h"

/*
 * The strict pass over a complete head. Returns 0, or the status to answer.
 */
int
http_head_check(const char *p, size_t len)
{
	size_t line = 0;
	for (size_t i = 0; i < len; ) {
		const char *eol = memchr(p + i, '\n', len - i);
		if (eol == NULL)
			return 400;
		size_t end = (size_t)(eol - p);
		if (end == i || p[end - 1] != '\r')
			return 400;                  /* bare LF */
		size_t n = end - 1 - i;          /* line length without CRLF */
		if (n == 0)
			break;                       /* the blank line */
		const char *s = p + i;
		if (line == 0 && http_request_line_check(s, n) != 0)
			return 400;
		if (line > 0) {
			if (s[0] == ' ' || s[0] == '\t')
				return 400;              /* obsolete line folding */
			size_t k = 0;
			while (k < n && http_tchar((unsigned char)s[k]))
				k++;
			if (k == 0 || k == n || s[k] != ':')
				return 400;              /* empty name, no colon, or space before it */
		}
		for (size_t k = 0; k < n; k++) {
			unsigned char ch = (unsigned char)s[k];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return 400;              /* NUL, CR and other controls */
		}
		line++;
		i = end + 1;
	}
	return 0;
}


static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
unreserved(int c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool
sub_delim(int c)
{
	return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

/* The scheme of an absolute-form target: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":". */
static bool
absolute_form(const char *t, size_t n)
{
	if (n == 0 || !is_alpha((unsigned char)t[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == ':')
			return i + 1 < n;
		if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
			return false;
	}
	return false;
}

int
http_request_line_check(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && http_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ' ')
		return 400;
	size_t mlen = i;
	size_t t0 = ++i;
	while (i < n && (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f && s[i] != '#')
		i++;
	if (i == t0 || i == n || s[i] != ' ')
		return 400;                  /* no target, a second space, a control, 0x80+ or '#' */
	const char *t = s + t0;
	size_t tlen = i - t0;
	i++;
	if (n - i != 8 || memcmp(s + i, "HTTP/", 5) != 0 || !is_digit((unsigned char)s[i + 5]) ||
	    s[i + 6] != '.' || !is_digit((unsigned char)s[i + 7]))
		return 400;
	if (tlen == 1 && t[0] == '*')
		return mlen == 7 && memcmp(s, "OPTIONS", 7) == 0 ? 0 : 400;
	if (t[0] == '/')
		return 0;
	if (mlen == 7 && memcmp(s, "CONNECT", 7) == 0)
		return http_host_check(t, tlen) == 0 && memchr(t, ':', tlen) != NULL ? 0 : 400;
	return absolute_form(t, tlen) ? 0 : 400;
}

/* IP-literal inside the brackets: an IPv6 address or IPvFuture (RFC 3986 §3.2.2). */
static bool
ip_literal(const char *p, size_t n)
{
	if (n > 0 && (p[0] == 'v' || p[0] == 'V')) {
		size_t i = 1;
		while (i < n && hex_digit((unsigned char)p[i]) >= 0)
			i++;
		if (i == 1 || i + 1 >= n || p[i] != '.')
			return false;
		for (i++; i < n; i++)
			if (!unreserved((unsigned char)p[i]) && !sub_delim((unsigned char)p[i]) && p[i] != ':')
				return false;
		return true;
	}
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a;
	if (n == 0 || n >= sizeof tmp)
		return false;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

int
http_host_check(const char *v, size_t n)
{
	size_t i = 0;
	if (n == 0)
		return 0;
	if (v[0] == '[') {
		const char *rb = memchr(v, ']', n);
		if (rb == NULL || !ip_literal(v + 1, (size_t)(rb - v - 1)))
			return 400;
		i = (size_t)(rb - v) + 1;
	} else {
		/* reg-name, which IPv4 addresses are spelled in too. */
		while (i < n && v[i] != ':') {
			unsigned char c = (unsigned char)v[i];
			if (c == '%') {
				if (i + 2 >= n || hex_digit((unsigned char)v[i + 1]) < 0 ||
				    hex_digit((unsigned char)v[i + 2]) < 0)
					return 400;
				i += 3;
				continue;
			}
			if (!unreserved(c) && !sub_delim(c))
				return 400;
			i++;
		}
		if (i == 0)
			return 400;              /* ":80" names no host */
	}
	if (i == n)
		return 0;
	if (v[i] != ':')
		return 400;
	i++;
	if (n - i > 5)
		return 400;
	for (; i < n; i++)
		if (!is_digit((unsigned char)v[i]))
			return 400;
	return 0;
}

int
http_te_check(const char *v, size_t n)
{
	size_t i = 0, chunked = 0;
	bool other = false;
	while (i <= n) {
		const char *comma = memchr(v + i, ',', n - i);
		size_t end = comma ? (size_t)(comma - v) : n;
		size_t a = i, b = end;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (a == b)
			return 400;              /* an empty element */
		for (size_t k = a; k < b; k++)
			if (!http_tchar((unsigned char)v[k]))
				return 400;          /* parameters, quotes or spaces: not a coding name */
		if (str_case_eq(v + a, b - a, "chunked"))
			chunked++;
		else
			other = true;
		i = end + 1;
	}
	if (chunked > 1)
		return 400;
	/* Only chunked is implemented (RFC 9112 §6.1: 501 for the rest). */
	return other ? 501 : 0;
}
