/* chunked: see chunked.h. */
#include "config.h"

#include <string.h>

#include "common/util.h"
#include "worker/chunked.h"

enum {
	K_SIZE_FIRST = 0, K_SIZE, K_SIZE_BWS, K_EXT_NAME0, K_EXT_NAME, K_EXT_AFTER_NAME,
	K_EXT_VAL0, K_EXT_VAL, K_EXT_QUOTED, K_EXT_QUOTED_ESC, K_EXT_AFTER_VAL, K_SIZE_LF, K_DATA, K_DATA_CR, K_DATA_LF,
	K_TRAILER_START, K_TRAILER, K_TRAILER_LF, K_FINAL_LF, K_DONE, K_BAD,
};

/* 15 hex digits: anything longer is an overflow attempt, not a body. */
#define MAX_SIZE_DIGITS 15

void
chunk_check_init(struct chunk_check *k)
{
	memset(k, 0, sizeof *k);
	k->state = K_SIZE_FIRST;
}

int
chunk_check_done(const struct chunk_check *k)
{
	return k->state == K_DONE;
}

int
chunk_check_feed(struct chunk_check *k, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		switch (k->state) {
		case K_SIZE_FIRST:
		case K_SIZE:
			if (hex_digit((unsigned char)ch) >= 0) {
				if (++k->digits > MAX_SIZE_DIGITS)
					goto bad;
				k->left = k->left * 16 + (uint64_t)hex_digit((unsigned char)ch);
				k->state = K_SIZE;
			} else if (k->state == K_SIZE && ch == ';') {
				k->state = K_EXT_NAME0;
			} else if (k->state == K_SIZE && (ch == ' ' || ch == '\t')) {
				k->state = K_SIZE_BWS;
			} else if (k->state == K_SIZE && ch == '\r') {
				k->state = K_SIZE_LF;
			} else {
				goto bad;
			}
			break;
		case K_SIZE_BWS:
			/* Whitespace after the size only ever leads to an extension. */
			if (ch == ';')
				k->state = K_EXT_NAME0;
			else if (ch != ' ' && ch != '\t')
				goto bad;
			break;
		/* chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) */
		case K_EXT_NAME0:
			if (http_tchar(ch))
				k->state = K_EXT_NAME;
			else if (ch != ' ' && ch != '\t')
				goto bad;
			break;
		case K_EXT_NAME:
		case K_EXT_AFTER_NAME:
			if (k->state == K_EXT_NAME && http_tchar(ch))
				break;
			if (ch == ' ' || ch == '\t')
				k->state = K_EXT_AFTER_NAME;
			else if (ch == '=')
				k->state = K_EXT_VAL0;
			else if (ch == ';')
				k->state = K_EXT_NAME0;
			else if (ch == '\r')
				k->state = K_SIZE_LF;
			else
				goto bad;
			break;
		case K_EXT_VAL0:
			if (ch == '"')
				k->state = K_EXT_QUOTED;
			else if (http_tchar(ch))
				k->state = K_EXT_VAL;
			else if (ch != ' ' && ch != '\t')
				goto bad;
			break;
		case K_EXT_VAL:
		case K_EXT_AFTER_VAL:
			if (k->state == K_EXT_VAL && http_tchar(ch))
				break;
			if (ch == ' ' || ch == '\t')
				k->state = K_EXT_AFTER_VAL;
			else if (ch == ';')
				k->state = K_EXT_NAME0;
			else if (ch == '\r')
				k->state = K_SIZE_LF;
			else
				goto bad;
			break;
		case K_EXT_QUOTED:
			if (ch == '"')
				k->state = K_EXT_AFTER_VAL;
			else if (ch == '\\')
				k->state = K_EXT_QUOTED_ESC;
			else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				goto bad;
			break;
		case K_EXT_QUOTED_ESC:
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				goto bad;
			k->state = K_EXT_QUOTED;
			break;
		case K_SIZE_LF:
			if (ch != '\n')
				goto bad;
			k->digits = 0;
			k->state = k->left == 0 ? K_TRAILER_START : K_DATA;
			break;
		case K_DATA: {
			/* Skip the chunk's data in one step. */
			size_t take = n - i;
			if (take > k->left)
				take = (size_t)k->left;
			k->left -= take;
			i += take - 1;
			if (k->left == 0)
				k->state = K_DATA_CR;
			break;
		}
		case K_DATA_CR:
			if (ch != '\r')
				goto bad;
			k->state = K_DATA_LF;
			break;
		case K_DATA_LF:
			if (ch != '\n')
				goto bad;
			k->state = K_SIZE_FIRST;
			break;
		case K_TRAILER_START:
			if (ch == '\r')
				k->state = K_FINAL_LF;
			else if (http_tchar(ch))
				k->state = K_TRAILER;
			else
				goto bad;
			break;
		case K_TRAILER:
			if (ch == '\r')
				k->state = K_TRAILER_LF;
			else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				goto bad;
			break;
		case K_TRAILER_LF:
			if (ch != '\n')
				goto bad;
			k->state = K_TRAILER_START;
			break;
		case K_FINAL_LF:
			if (ch != '\n')
				goto bad;
			k->state = K_DONE;
			break;
		default:
			goto bad;   /* bytes after the end belong to the next request, never here */
		}
	}
	return 0;
bad:
	k->state = K_BAD;
	return -1;
}
