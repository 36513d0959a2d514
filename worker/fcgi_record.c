/*
 * fcgi_record: see fcgi_record.h. Pure encode/decode of FastCGI 1.0 records
 * on caller buffers; no I/O, no allocation, no logging. The decoder keeps
 * only the few bytes it cannot hand out as they arrive (a split header or
 * END_REQUEST body), so input may be cut anywhere.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "worker/fcgi_record.h"

enum {
	ST_HEADER = 0,	/* collecting a record header */
	ST_DATA,	/* handing out STDOUT/STDERR content */
	ST_END_BODY,	/* collecting the 8-byte END_REQUEST body */
	ST_SKIP,	/* discarding content and/or padding */
	ST_DONE,	/* END_REQUEST delivered */
	ST_ERROR,
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

size_t
fcgi_padding(size_t content_len)
{
	return (8 - (content_len & 7)) & 7;
}

size_t
fcgi_encode_header(uint8_t *out, uint8_t type, uint16_t request_id,
    uint16_t content_len, uint8_t padding)
{
	out[0] = FCGI_VERSION_1;
	out[1] = type;
	put16(out + 2, request_id);
	put16(out + 4, content_len);
	out[6] = padding;
	out[7] = 0;
	return FCGI_HEADER_LEN;
}

void
fcgi_decode_header(const uint8_t *in, struct fcgi_header *h)
{
	h->version = in[0];
	h->type = in[1];
	h->request_id = get16(in + 2);
	h->content_len = get16(in + 4);
	h->padding = in[6];
}

size_t
fcgi_encode_begin(uint8_t *out, size_t cap, uint16_t request_id,
    uint16_t role, int keep_conn)
{
	uint8_t	*b;

	if (cap < FCGI_BEGIN_LEN)
		return 0;
	fcgi_encode_header(out, FCGI_BEGIN_REQUEST, request_id, 8, 0);
	b = out + FCGI_HEADER_LEN;
	put16(b, role);
	b[2] = keep_conn ? FCGI_KEEP_CONN : 0;
	memset(b + 3, 0, 5);
	return FCGI_BEGIN_LEN;
}

void
fcgi_decode_begin_body(const uint8_t *body, uint16_t *role, int *keep_conn)
{
	*role = get16(body);
	*keep_conn = (body[2] & FCGI_KEEP_CONN) != 0;
}

size_t
fcgi_encode_abort(uint8_t *out, size_t cap, uint16_t request_id)
{
	if (cap < FCGI_HEADER_LEN)
		return 0;
	return fcgi_encode_header(out, FCGI_ABORT_REQUEST, request_id, 0, 0);
}

size_t
fcgi_encode_end(uint8_t *out, size_t cap, uint16_t request_id,
    uint32_t app_status, uint8_t protocol_status)
{
	uint8_t	*b;

	if (cap < FCGI_END_LEN)
		return 0;
	fcgi_encode_header(out, FCGI_END_REQUEST, request_id, 8, 0);
	b = out + FCGI_HEADER_LEN;
	put32(b, app_status);
	b[4] = protocol_status;
	memset(b + 5, 0, 3);
	return FCGI_END_LEN;
}

size_t
fcgi_stream_size(size_t len)
{
	size_t	full, rem, size, last;

	if (len == 0)
		return FCGI_HEADER_LEN;
	full = len / FCGI_STREAM_CHUNK;
	rem = len % FCGI_STREAM_CHUNK;
	last = rem == 0 ? 0 : FCGI_HEADER_LEN + rem + fcgi_padding(rem);
	if (full > (SIZE_MAX - last) / (FCGI_HEADER_LEN + FCGI_STREAM_CHUNK))
		return SIZE_MAX;
	size = full * (FCGI_HEADER_LEN + FCGI_STREAM_CHUNK) + last;
	return size;
}

size_t
fcgi_encode_stream(uint8_t *out, size_t cap, uint8_t type,
    uint16_t request_id, const void *data, size_t len)
{
	const uint8_t	*src = data;
	size_t		 need, off = 0, n, pad;

	need = fcgi_stream_size(len);
	if (need == SIZE_MAX || need > cap)
		return 0;
	if (len == 0)
		return fcgi_encode_header(out, type, request_id, 0, 0);
	while (len > 0) {
		n = len < FCGI_STREAM_CHUNK ? len : FCGI_STREAM_CHUNK;
		pad = fcgi_padding(n);
		off += fcgi_encode_header(out + off, type, request_id,
		    (uint16_t)n, (uint8_t)pad);
		memcpy(out + off, src, n);
		off += n;
		memset(out + off, 0, pad);
		off += pad;
		src += n;
		len -= n;
	}
	return off;
}

size_t
fcgi_pair_size(size_t nlen, size_t vlen)
{
	uint64_t	size;

	if (nlen > FCGI_MAX_PAIR_LEN || vlen > FCGI_MAX_PAIR_LEN)
		return 0;
	size = (uint64_t)nlen + vlen;
	size += nlen < 128 ? 1 : 4;
	size += vlen < 128 ? 1 : 4;
	if (size > SIZE_MAX)
		return 0;
	return (size_t)size;
}

static size_t
put_pair_len(uint8_t *p, size_t len)
{
	if (len < 128) {
		p[0] = (uint8_t)len;
		return 1;
	}
	put32(p, (uint32_t)len | 0x80000000U);
	return 4;
}

size_t
fcgi_encode_pair(uint8_t *out, size_t cap, const void *name, size_t nlen,
    const void *value, size_t vlen)
{
	size_t	need, off;

	need = fcgi_pair_size(nlen, vlen);
	if (need == 0 || need > cap)
		return 0;
	off = put_pair_len(out, nlen);
	off += put_pair_len(out + off, vlen);
	if (nlen > 0)
		memcpy(out + off, name, nlen);
	off += nlen;
	if (vlen > 0)
		memcpy(out + off, value, vlen);
	off += vlen;
	return off;
}

/* Reads one pair length at *off; -1 if buf ends inside it. */
static int
get_pair_len(const uint8_t *buf, size_t len, size_t *off, size_t *out)
{
	if (*off >= len)
		return -1;
	if ((buf[*off] & 0x80) == 0) {
		*out = buf[*off];
		*off += 1;
		return 0;
	}
	if (len - *off < 4)
		return -1;
	*out = get32(buf + *off) & FCGI_MAX_PAIR_LEN;
	*off += 4;
	return 0;
}

int
fcgi_pair_next(const uint8_t *buf, size_t len, size_t *off,
    const uint8_t **name, size_t *nlen, const uint8_t **value, size_t *vlen)
{
	size_t	p = *off, nl, vl;

	if (p >= len)
		return 0;
	if (get_pair_len(buf, len, &p, &nl) != 0 ||
	    get_pair_len(buf, len, &p, &vl) != 0)
		return -1;
	if (nl > len - p || vl > len - p - nl)
		return -1;
	*name = buf + p;
	*nlen = nl;
	*value = buf + p + nl;
	*vlen = vl;
	*off = p + nl + vl;
	return 1;
}

void
fcgi_decoder_init(struct fcgi_decoder *d, uint16_t request_id)
{
	memset(d, 0, sizeof *d);
	d->request_id = request_id;
	d->state = ST_HEADER;
	d->pending = FCGI_EV_NEED_MORE;
}

int
fcgi_decoder_idle(const struct fcgi_decoder *d)
{
	return (d->state == ST_HEADER && d->hhave == 0) || d->state == ST_DONE;
}

int
fcgi_decoder_done(const struct fcgi_decoder *d)
{
	return d->state == ST_DONE;
}

static void
fail(struct fcgi_decoder *d, const char *reason)
{
	d->state = ST_ERROR;
	d->error = reason;
}

/* Skips the rest of the current record, then delivers pending (if any). */
static void
skip_record(struct fcgi_decoder *d, size_t content, int pending)
{
	d->padding_left = content + d->hdr.padding;
	d->pending = pending;
	d->state = ST_SKIP;
}

/*
 * Decides what to do with the record whose header was just read. The
 * application may only send STDOUT, STDERR and END_REQUEST for our request,
 * and management records, which a client has no use for.
 */
static void
begin_record(struct fcgi_decoder *d)
{
	struct fcgi_header	*h = &d->hdr;

	if (h->version != FCGI_VERSION_1) {
		fail(d, "unsupported FastCGI version");
		return;
	}
	switch (h->type) {
	case FCGI_BEGIN_REQUEST:
		fail(d, "BEGIN_REQUEST record from application");
		return;
	case FCGI_ABORT_REQUEST:
		fail(d, "ABORT_REQUEST record from application");
		return;
	case FCGI_PARAMS:
		fail(d, "PARAMS record from application");
		return;
	case FCGI_STDIN:
		fail(d, "STDIN record from application");
		return;
	case FCGI_DATA:
		fail(d, "DATA record from application");
		return;
	case FCGI_GET_VALUES:
	case FCGI_GET_VALUES_RESULT:
	case FCGI_UNKNOWN_TYPE:
		skip_record(d, h->content_len, FCGI_EV_NEED_MORE);
		return;
	case FCGI_STDOUT:
	case FCGI_STDERR:
	case FCGI_END_REQUEST:
		break;
	default:
		/* Unknown management types are harmless; others are not. */
		if (h->request_id == FCGI_NULL_REQUEST_ID)
			skip_record(d, h->content_len, FCGI_EV_NEED_MORE);
		else
			fail(d, "unknown record type");
		return;
	}
	if (h->request_id != d->request_id) {
		fail(d, "record for another request id");
		return;
	}
	switch (h->type) {
	case FCGI_STDOUT:
		if (d->stdout_closed) {
			fail(d, "STDOUT record after end of stdout");
			return;
		}
		if (h->content_len == 0) {
			d->stdout_closed = 1;
			skip_record(d, 0, FCGI_EV_STDOUT_END);
			return;
		}
		d->content_left = h->content_len;
		d->pending = FCGI_EV_STDOUT;
		d->state = ST_DATA;
		return;
	case FCGI_STDERR:
		if (h->content_len == 0) {
			skip_record(d, 0, FCGI_EV_NEED_MORE);
			return;
		}
		d->content_left = h->content_len;
		d->pending = FCGI_EV_STDERR;
		d->state = ST_DATA;
		return;
	case FCGI_END_REQUEST:
		if (h->content_len != 8) {
			fail(d, "END_REQUEST body is not 8 bytes");
			return;
		}
		d->bhave = 0;
		d->state = ST_END_BODY;
		return;
	}
}

int
fcgi_decode(struct fcgi_decoder *d, const uint8_t *in, size_t len,
    size_t *consumed, struct fcgi_event *ev)
{
	size_t	off = 0, n;

	memset(ev, 0, sizeof *ev);
	for (;;) {
		switch (d->state) {
		case ST_HEADER:
			if (off == len)
				goto need_more;
			n = FCGI_HEADER_LEN - d->hhave;
			if (n > len - off)
				n = len - off;
			memcpy(d->hbuf + d->hhave, in + off, n);
			d->hhave += n;
			off += n;
			if (d->hhave < FCGI_HEADER_LEN)
				goto need_more;
			d->hhave = 0;
			fcgi_decode_header(d->hbuf, &d->hdr);
			begin_record(d);
			break;
		case ST_DATA:
			if (off == len)
				goto need_more;
			n = d->content_left;
			if (n > len - off)
				n = len - off;
			ev->type = d->pending;
			ev->data = in + off;
			ev->len = n;
			off += n;
			d->content_left -= n;
			if (d->content_left == 0)
				skip_record(d, 0, FCGI_EV_NEED_MORE);
			*consumed = off;
			return ev->type;
		case ST_END_BODY:
			if (off == len)
				goto need_more;
			n = sizeof d->body - d->bhave;
			if (n > len - off)
				n = len - off;
			memcpy(d->body + d->bhave, in + off, n);
			d->bhave += n;
			off += n;
			if (d->bhave < sizeof d->body)
				goto need_more;
			skip_record(d, 0, FCGI_EV_END_REQUEST);
			break;
		case ST_SKIP:
			n = d->padding_left;
			if (n > len - off)
				n = len - off;
			off += n;
			d->padding_left -= n;
			if (d->padding_left > 0)
				goto need_more;
			ev->type = d->pending;
			d->pending = FCGI_EV_NEED_MORE;
			if (ev->type == FCGI_EV_NEED_MORE) {
				d->state = ST_HEADER;
				break;
			}
			if (ev->type == FCGI_EV_END_REQUEST) {
				ev->app_status = get32(d->body);
				ev->protocol_status = d->body[4];
				d->state = ST_DONE;
			} else
				d->state = ST_HEADER;
			*consumed = off;
			return ev->type;
		case ST_DONE:
			if (off == len)
				goto need_more;
			fail(d, "record after END_REQUEST");
			break;
		default:
			ev->type = FCGI_EV_ERROR;
			ev->reason = d->error;
			*consumed = off;
			return ev->type;
		}
	}

need_more:
	ev->type = FCGI_EV_NEED_MORE;
	*consumed = len;
	return ev->type;
}
