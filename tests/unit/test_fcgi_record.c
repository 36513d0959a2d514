/*
 * test_fcgi_record: FastCGI record encoding, name-value pairs and the
 * streaming decoder, including arbitrary input splits, every padding size,
 * protocol violations and random input (meant to run under ASan too: each
 * piece handed to the decoder lives in a buffer of exactly its size).
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/fcgi_record.h"

#define RID	0x0102

/* Events flattened so that differently split inputs compare equal. */
struct transcript {
	char	log[300000];
	size_t	len;
	int	last;		/* last event type, to merge data pieces */
	int	final;		/* last fcgi_decode() result */
	int	errors;
};

static void
tr_add(struct transcript *t, const void *p, size_t n)
{
	ck_assert_uint_le(n, sizeof t->log - t->len);
	memcpy(t->log + t->len, p, n);
	t->len += n;
}

static void
tr_event(struct transcript *t, const struct fcgi_event *ev)
{
	char	tmp[128];
	int	n;

	switch (ev->type) {
	case FCGI_EV_STDOUT:
	case FCGI_EV_STDERR:
		ck_assert_uint_gt(ev->len, 0);
		if (t->last != (int)ev->type)
			tr_add(t, ev->type == FCGI_EV_STDOUT ? "<O>" : "<E>",
			    3);
		tr_add(t, ev->data, ev->len);
		break;
	case FCGI_EV_STDOUT_END:
		tr_add(t, "<OEND>", 6);
		break;
	case FCGI_EV_END_REQUEST:
		n = snprintf(tmp, sizeof tmp, "<END %u %u>",
		    (unsigned)ev->app_status, (unsigned)ev->protocol_status);
		tr_add(t, tmp, (size_t)n);
		break;
	case FCGI_EV_ERROR:
		ck_assert_ptr_nonnull(ev->reason);
		n = snprintf(tmp, sizeof tmp, "<ERR %s>", ev->reason);
		tr_add(t, tmp, (size_t)n);
		t->errors++;
		break;
	default:
		ck_abort_msg("unexpected event %d", (int)ev->type);
	}
	t->last = ev->type;
}

/*
 * Feeds one piece, copied into a buffer of exactly its size, until the
 * decoder needs more or fails. Returns 0 after an error.
 */
static int
feed_piece(struct fcgi_decoder *d, const uint8_t *src, size_t len,
    struct transcript *t)
{
	struct fcgi_event	 ev;
	uint8_t			*piece;
	size_t			 off = 0, used;
	int			 r, rounds = 0;

	piece = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(piece);
	if (len > 0)
		memcpy(piece, src, len);
	for (;;) {
		ck_assert_int_lt(rounds++, 1000000);
		used = (size_t)-1;
		r = fcgi_decode(d, piece + off, len - off, &used, &ev);
		ck_assert_int_eq(r, (int)ev.type);
		ck_assert_uint_le(used, len - off);
		t->final = r;
		if (r == FCGI_EV_NEED_MORE) {
			ck_assert_uint_eq(used, len - off);
			break;
		}
		if (r == FCGI_EV_STDOUT || r == FCGI_EV_STDERR) {
			ck_assert(ev.data >= piece + off);
			ck_assert(ev.data + ev.len <= piece + off + used);
		}
		tr_event(t, &ev);
		off += used;
		if (r == FCGI_EV_ERROR)
			break;
	}
	free(piece);
	return r != FCGI_EV_ERROR;
}

/* mode 0: whole; 1: byte by byte; 2: random splits. */
static void
feed(const uint8_t *buf, size_t len, int mode, unsigned seed,
    struct transcript *t, struct fcgi_decoder *d)
{
	size_t	off = 0, n;

	t->len = 0;
	t->errors = 0;
	t->final = FCGI_EV_NEED_MORE;
	t->last = -1;
	fcgi_decoder_init(d, RID);
	srand(seed);
	do {
		if (mode == 0)
			n = len;
		else if (mode == 1)
			n = len - off > 0 ? 1 : 0;
		else
			n = (size_t)rand() % (rand() % 4 == 0 ? 9 : 3000);
		if (n > len - off)
			n = len - off;
		if (!feed_piece(d, buf + off, n, t))
			return;
		off += n;
	} while (off < len);
}

static size_t
put_record(uint8_t *out, uint8_t type, uint16_t id, const void *data,
    size_t len, uint8_t pad)
{
	size_t	off;

	off = fcgi_encode_header(out, type, id, (uint16_t)len, pad);
	if (len > 0)
		memcpy(out + off, data, len);
	off += len;
	memset(out + off, 0xee, pad);
	return off + pad;
}

START_TEST(header_roundtrip)
{
	static const uint8_t	want[8] = {
	    1, 6, 0x12, 0x34, 0xab, 0xcd, 5, 0 };
	struct fcgi_header	h;
	uint8_t			buf[8];

	ck_assert_uint_eq(fcgi_encode_header(buf, FCGI_STDOUT, 0x1234, 0xabcd,
	    5), 8);
	ck_assert_mem_eq(buf, want, 8);
	fcgi_decode_header(buf, &h);
	ck_assert_uint_eq(h.version, 1);
	ck_assert_uint_eq(h.type, FCGI_STDOUT);
	ck_assert_uint_eq(h.request_id, 0x1234);
	ck_assert_uint_eq(h.content_len, 0xabcd);
	ck_assert_uint_eq(h.padding, 5);
	ck_assert_uint_eq(fcgi_padding(0), 0);
	ck_assert_uint_eq(fcgi_padding(1), 7);
	ck_assert_uint_eq(fcgi_padding(8), 0);
	ck_assert_uint_eq(fcgi_padding(65535), 1);
}
END_TEST

START_TEST(begin_abort_end_bytes)
{
	static const uint8_t	keep[16] = {
	    1, 1, 0, 1, 0, 8, 0, 0,  0, 1, 1, 0, 0, 0, 0, 0 };
	static const uint8_t	close_[16] = {
	    1, 1, 0x01, 0x02, 0, 8, 0, 0,  0, 1, 0, 0, 0, 0, 0, 0 };
	static const uint8_t	abort_[8] = { 1, 2, 0, 7, 0, 0, 0, 0 };
	static const uint8_t	end[16] = {
	    1, 3, 0, 9, 0, 8, 0, 0,  0xde, 0xad, 0xbe, 0xef, 2, 0, 0, 0 };
	uint8_t			buf[32];
	uint16_t		role;
	int			kc;

	memset(buf, 0xaa, sizeof buf);
	ck_assert_uint_eq(fcgi_encode_begin(buf, sizeof buf, 1, FCGI_RESPONDER,
	    1), 16);
	ck_assert_mem_eq(buf, keep, 16);
	ck_assert_uint_eq(buf[16], 0xaa);
	fcgi_decode_begin_body(buf + 8, &role, &kc);
	ck_assert_uint_eq(role, FCGI_RESPONDER);
	ck_assert_int_eq(kc, 1);

	ck_assert_uint_eq(fcgi_encode_begin(buf, 16, RID, FCGI_RESPONDER, 0),
	    16);
	ck_assert_mem_eq(buf, close_, 16);
	fcgi_decode_begin_body(buf + 8, &role, &kc);
	ck_assert_int_eq(kc, 0);

	memset(buf, 0xaa, sizeof buf);
	ck_assert_uint_eq(fcgi_encode_begin(buf, 15, 1, FCGI_RESPONDER, 1), 0);
	ck_assert_uint_eq(buf[0], 0xaa);

	ck_assert_uint_eq(fcgi_encode_abort(buf, 8, 7), 8);
	ck_assert_mem_eq(buf, abort_, 8);
	ck_assert_uint_eq(fcgi_encode_abort(buf, 7, 7), 0);

	ck_assert_uint_eq(fcgi_encode_end(buf, 16, 9, 0xdeadbeef,
	    FCGI_OVERLOADED), 16);
	ck_assert_mem_eq(buf, end, 16);
	ck_assert_uint_eq(fcgi_encode_end(buf, 15, 9, 0, 0), 0);
}
END_TEST

START_TEST(stream_small_and_empty)
{
	static const uint8_t	want[16] = {
	    1, 5, 0x01, 0x02, 0, 5, 3, 0,  'h', 'e', 'l', 'l', 'o', 0, 0, 0 };
	static const uint8_t	eos[8] = { 1, 4, 0x01, 0x02, 0, 0, 0, 0 };
	uint8_t			buf[32];

	memset(buf, 0xaa, sizeof buf);
	ck_assert_uint_eq(fcgi_stream_size(5), 16);
	ck_assert_uint_eq(fcgi_encode_stream(buf, sizeof buf, FCGI_STDIN, RID,
	    "hello", 5), 16);
	ck_assert_mem_eq(buf, want, 16);
	ck_assert_uint_eq(buf[16], 0xaa);

	memset(buf, 0xaa, sizeof buf);
	ck_assert_uint_eq(fcgi_encode_stream(buf, 15, FCGI_STDIN, RID,
	    "hello", 5), 0);
	ck_assert_uint_eq(buf[0], 0xaa);

	ck_assert_uint_eq(fcgi_stream_size(0), 8);
	ck_assert_uint_eq(fcgi_encode_stream(buf, 8, FCGI_PARAMS, RID, NULL,
	    0), 8);
	ck_assert_mem_eq(buf, eos, 8);
	ck_assert_uint_eq(fcgi_encode_stream(buf, 7, FCGI_PARAMS, RID, NULL,
	    0), 0);
	ck_assert_uint_eq(fcgi_stream_size(SIZE_MAX), SIZE_MAX);
}
END_TEST

/* Walks encoded stream records, checking each and reassembling content. */
static size_t
walk_stream(const uint8_t *buf, size_t len, uint8_t *out, int *records)
{
	struct fcgi_header	h;
	size_t			off = 0, got = 0;

	*records = 0;
	while (off < len) {
		ck_assert_uint_ge(len - off, 8);
		fcgi_decode_header(buf + off, &h);
		ck_assert_uint_eq(h.version, 1);
		ck_assert_uint_eq(h.type, FCGI_STDIN);
		ck_assert_uint_eq(h.request_id, RID);
		ck_assert_uint_gt(h.content_len, 0);
		ck_assert_uint_eq((h.content_len + h.padding) % 8, 0);
		ck_assert_uint_lt(h.padding, 8);
		off += 8;
		ck_assert_uint_le(h.content_len + h.padding, len - off);
		memcpy(out + got, buf + off, h.content_len);
		got += h.content_len;
		off += h.content_len;
		for (unsigned i = 0; i < h.padding; i++)
			ck_assert_uint_eq(buf[off + i], 0);
		off += h.padding;
		(*records)++;
	}
	return got;
}

START_TEST(stream_large_split)
{
	static const size_t	 sizes[] = { 65527, 65528, 65529, 65535, 65536,
	    131056, 200000 };
	static const int	 nrec[] = { 1, 1, 2, 2, 2, 2, 4 };
	uint8_t			*data, *enc, *back;
	size_t			 cap = 300000, n, len;
	int			 records;

	data = malloc(cap);
	enc = malloc(cap);
	back = malloc(cap);
	ck_assert(data && enc && back);
	for (size_t i = 0; i < cap; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		len = sizes[k];
		n = fcgi_encode_stream(enc, cap, FCGI_STDIN, RID, data, len);
		ck_assert_uint_eq(n, fcgi_stream_size(len));
		ck_assert_uint_eq(n % 8, 0);
		ck_assert_uint_eq(walk_stream(enc, n, back, &records), len);
		ck_assert_int_eq(records, nrec[k]);
		ck_assert_mem_eq(back, data, len);
		/* One byte short of the need fails without writing. */
		ck_assert_uint_eq(fcgi_encode_stream(enc, n - 1, FCGI_STDIN,
		    RID, data, len), 0);
	}
	free(data);
	free(enc);
	free(back);
}
END_TEST

START_TEST(pair_forms)
{
	static const struct {
		size_t	nlen, vlen, hdr;
		uint8_t	lenbytes[8];
	} forms[] = {
		{ 5, 3, 2, { 5, 3 } },
		{ 127, 127, 2, { 127, 127 } },
		{ 4, 200, 5, { 4, 0x80, 0, 0, 200 } },
		{ 300, 2, 5, { 0x80, 0, 0x01, 0x2c, 2 } },
		{ 128, 70000, 8, { 0x80, 0, 0, 0x80, 0x80, 0x01, 0x11, 0x70 } },
		{ 1, 0, 2, { 1, 0 } },
	};
	uint8_t		*name, *value, *buf;
	const uint8_t	*pn, *pv;
	size_t		 cap = 80000, total = 0, off = 0, nl, vl, n;

	name = malloc(cap);
	value = malloc(cap);
	buf = malloc(cap * 2);
	ck_assert(name && value && buf);
	for (size_t i = 0; i < cap; i++) {
		name[i] = (uint8_t)('A' + i % 26);
		value[i] = (uint8_t)i;
	}
	for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
		n = fcgi_pair_size(forms[k].nlen, forms[k].vlen);
		ck_assert_uint_eq(n, forms[k].hdr + forms[k].nlen +
		    forms[k].vlen);
		ck_assert_uint_eq(fcgi_encode_pair(buf + total, n - 1, name,
		    forms[k].nlen, value, forms[k].vlen), 0);
		ck_assert_uint_eq(fcgi_encode_pair(buf + total, n, name,
		    forms[k].nlen, value, forms[k].vlen), n);
		ck_assert_mem_eq(buf + total, forms[k].lenbytes,
		    forms[k].hdr);
		total += n;
	}
	for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
		ck_assert_int_eq(fcgi_pair_next(buf, total, &off, &pn, &nl,
		    &pv, &vl), 1);
		ck_assert_uint_eq(nl, forms[k].nlen);
		ck_assert_uint_eq(vl, forms[k].vlen);
		ck_assert_mem_eq(pn, name, nl);
		if (vl > 0)
			ck_assert_mem_eq(pv, value, vl);
	}
	ck_assert_uint_eq(off, total);
	ck_assert_int_eq(fcgi_pair_next(buf, total, &off, &pn, &nl, &pv, &vl),
	    0);

	/* Lengths the 31-bit field cannot carry are refused. */
	ck_assert_uint_eq(fcgi_pair_size(0x80000000U, 1), 0);
	ck_assert_uint_eq(fcgi_pair_size(1, 0x80000000U), 0);
	ck_assert_uint_gt(fcgi_pair_size(0x7fffffffU, 0x7fffffffU), 0);
	ck_assert_uint_eq(fcgi_encode_pair(buf, cap, name, 0x80000000U, value,
	    1), 0);
	free(name);
	free(value);
	free(buf);
}
END_TEST

START_TEST(pair_truncation)
{
	uint8_t		 buf[600], *copy;
	const uint8_t	*pn, *pv;
	size_t		 len = 0, bounds[4], nb = 0, off, nl, vl;
	char		 big[300];
	int		 r;

	memset(big, 'v', sizeof big);
	bounds[nb++] = 0;
	len += fcgi_encode_pair(buf + len, sizeof buf - len, "SCRIPT_NAME", 11,
	    "/x.php", 6);
	bounds[nb++] = len;
	len += fcgi_encode_pair(buf + len, sizeof buf - len, "LONG", 4, big,
	    sizeof big);
	bounds[nb++] = len;
	len += fcgi_encode_pair(buf + len, sizeof buf - len, big, 130, "", 0);
	bounds[nb++] = len;
	for (size_t cut = 0; cut <= len; cut++) {
		int	at_bound = 0;

		for (size_t b = 0; b < nb; b++)
			if (bounds[b] == cut)
				at_bound = 1;
		copy = malloc(cut > 0 ? cut : 1);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, buf, cut);
		off = 0;
		while ((r = fcgi_pair_next(copy, cut, &off, &pn, &nl, &pv,
		    &vl)) == 1) {
			ck_assert(pv + vl <= copy + cut);
		}
		ck_assert_int_eq(r, at_bound ? 0 : -1);
		free(copy);
	}
	/* A 4-byte length pointing past the end. */
	{
		static const uint8_t	bad[] = { 0x80, 0, 0, 9, 1, 'a', 'b' };

		off = 0;
		ck_assert_int_eq(fcgi_pair_next(bad, sizeof bad, &off, &pn,
		    &nl, &pv, &vl), -1);
		ck_assert_uint_eq(off, 0);
	}
}
END_TEST

/* A response with every kind of record the decoder must handle. */
static size_t
build_response(uint8_t *buf, size_t cap, char *big, size_t biglen)
{
	uint8_t	pairs[64];
	size_t	off = 0, pl;

	for (size_t i = 0; i < biglen; i++)
		big[i] = (char)('a' + i % 26);
	off += fcgi_encode_stream(buf + off, cap - off, FCGI_STDERR, RID,
	    "warn1", 5);
	off += fcgi_encode_stream(buf + off, cap - off, FCGI_STDOUT, RID,
	    "Status: 200\r\n\r\n", 15);
	off += fcgi_encode_stream(buf + off, cap - off, FCGI_STDOUT, RID,
	    big, biglen);
	off += fcgi_encode_stream(buf + off, cap - off, FCGI_STDERR, RID,
	    "warn2", 5);
	pl = fcgi_encode_pair(pairs, sizeof pairs, "FCGI_MPXS_CONNS", 15,
	    "0", 1);
	off += put_record(buf + off, FCGI_GET_VALUES_RESULT, 0, pairs, pl, 3);
	off += fcgi_encode_stream(buf + off, cap - off, FCGI_STDERR, RID,
	    NULL, 0);
	off += fcgi_encode_stream(buf + off, cap - off, FCGI_STDOUT, RID,
	    "tail", 4);
	off += fcgi_encode_stream(buf + off, cap - off, FCGI_STDOUT, RID,
	    NULL, 0);
	off += fcgi_encode_end(buf + off, cap - off, RID, 7, 0);
	return off;
}

START_TEST(decode_splits_agree)
{
	static struct transcript	want, got;
	static char			big[70000];
	static uint8_t			buf[80000];
	struct fcgi_decoder		d;
	size_t				len, off = 0;
	static uint8_t			expect[sizeof want.log];
	static const char		head[] = "<E>warn1<O>Status: 200\r\n\r\n";
	static const char		tail[] = "<E>warn2<O>tail<OEND><END 7 0>";

	len = build_response(buf, sizeof buf, big, sizeof big);
	memcpy(expect + off, head, sizeof head - 1);
	off += sizeof head - 1;
	memcpy(expect + off, big, sizeof big);
	off += sizeof big;
	memcpy(expect + off, tail, sizeof tail - 1);
	off += sizeof tail - 1;

	feed(buf, len, 0, 1, &want, &d);
	ck_assert_uint_eq(want.len, off);
	ck_assert_mem_eq(want.log, expect, off);
	ck_assert_int_eq(want.final, FCGI_EV_NEED_MORE);
	ck_assert(fcgi_decoder_idle(&d));
	ck_assert(fcgi_decoder_done(&d));

	feed(buf, len, 1, 1, &got, &d);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert_mem_eq(got.log, want.log, want.len);
	ck_assert(fcgi_decoder_done(&d));
	for (unsigned seed = 1; seed <= 200; seed++) {
		feed(buf, len, 2, seed, &got, &d);
		ck_assert_uint_eq(got.len, want.len);
		ck_assert_mem_eq(got.log, want.log, want.len);
		ck_assert(fcgi_decoder_done(&d));
		ck_assert(fcgi_decoder_idle(&d));
	}
}
END_TEST

START_TEST(decode_every_padding)
{
	static struct transcript	t;
	static const char		want[] = "<O>abc<E>e<OEND><END 1 0>";
	struct fcgi_decoder		d;
	uint8_t				buf[4 * (8 + 8 + 255)], body[8];
	size_t				len;

	memset(body, 0, sizeof body);
	body[3] = 1;
	for (int pad = 0; pad <= 255; pad++) {
		len = put_record(buf, FCGI_STDOUT, RID, "abc", 3, (uint8_t)pad);
		len += put_record(buf + len, FCGI_STDERR, RID, "e", 1,
		    (uint8_t)pad);
		len += put_record(buf + len, FCGI_STDOUT, RID, NULL, 0,
		    (uint8_t)pad);
		len += put_record(buf + len, FCGI_END_REQUEST, RID, body, 8,
		    (uint8_t)pad);
		for (int mode = 0; mode < 3; mode++) {
			feed(buf, len, mode, (unsigned)pad, &t, &d);
			ck_assert_uint_eq(t.len, sizeof want - 1);
			ck_assert_mem_eq(t.log, want, t.len);
			ck_assert(fcgi_decoder_done(&d));
		}
	}
}
END_TEST

/* Decodes buf whole and expects an error whose reason contains needle. */
static void
expect_error(const uint8_t *buf, size_t len, const char *needle)
{
	struct fcgi_decoder	d;
	struct fcgi_event	ev;
	size_t			used;
	static struct transcript t;

	for (int mode = 0; mode < 3; mode++) {
		feed(buf, len, mode, 5, &t, &d);
		ck_assert_int_eq(t.errors, 1);
		ck_assert_int_eq(t.final, FCGI_EV_ERROR);
		t.log[t.len] = '\0';
		ck_assert_msg(strstr(t.log, needle) != NULL, "%s lacks %s",
		    t.log, needle);
		/* Errors are sticky. */
		ck_assert_int_eq(fcgi_decode(&d, buf, len, &used, &ev),
		    FCGI_EV_ERROR);
		ck_assert_ptr_nonnull(ev.reason);
		ck_assert_uint_eq(used, 0);
		ck_assert(!fcgi_decoder_done(&d));
	}
}

START_TEST(decode_errors)
{
	uint8_t	buf[256], body[8] = { 0 };
	size_t	len;

	len = put_record(buf, FCGI_STDOUT, RID, "x", 1, 7);
	buf[0] = 2;
	expect_error(buf, len, "version");
	buf[0] = 0;
	expect_error(buf, len, "version");

	len = put_record(buf, FCGI_STDOUT, RID, "ok", 2, 6);
	len += put_record(buf + len, FCGI_STDOUT, RID + 1, "x", 1, 7);
	expect_error(buf, len, "request id");
	len = put_record(buf, FCGI_END_REQUEST, 0, body, 8, 0);
	expect_error(buf, len, "request id");

	len = put_record(buf, FCGI_END_REQUEST, RID, body, 7, 1);
	expect_error(buf, len, "8 bytes");
	len = put_record(buf, FCGI_END_REQUEST, RID, "123456789", 9, 7);
	expect_error(buf, len, "8 bytes");

	len = put_record(buf, FCGI_BEGIN_REQUEST, RID, body, 8, 0);
	expect_error(buf, len, "BEGIN_REQUEST");
	len = put_record(buf, FCGI_PARAMS, RID, NULL, 0, 0);
	expect_error(buf, len, "PARAMS");
	len = put_record(buf, FCGI_STDIN, RID, "a", 1, 7);
	expect_error(buf, len, "STDIN");
	len = put_record(buf, FCGI_ABORT_REQUEST, RID, NULL, 0, 0);
	expect_error(buf, len, "ABORT_REQUEST");
	len = put_record(buf, FCGI_DATA, RID, NULL, 0, 0);
	expect_error(buf, len, "DATA");

	len = put_record(buf, 12, RID, "a", 1, 0);
	expect_error(buf, len, "unknown record type");

	len = put_record(buf, FCGI_STDOUT, RID, NULL, 0, 0);
	len += put_record(buf + len, FCGI_STDOUT, RID, "late", 4, 4);
	expect_error(buf, len, "after end of stdout");

	len = fcgi_encode_end(buf, sizeof buf, RID, 0, 0);
	len += put_record(buf + len, FCGI_STDOUT, RID, "x", 1, 7);
	expect_error(buf, len, "after END_REQUEST");

	/* An HTTP server answering where an application was expected. */
	memcpy(buf, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
	expect_error(buf, 28, "version");
}
END_TEST

START_TEST(decode_truncated)
{
	static struct transcript	t;
	static char			big[70000];
	static uint8_t			buf[80000];
	struct fcgi_decoder		d;
	struct fcgi_header		h;
	size_t				len, off, ends[32];
	int				nends = 0;

	len = build_response(buf, sizeof buf, big, 20);
	/* Record boundaries, from the headers. */
	for (off = 0; off < len; ) {
		fcgi_decode_header(buf + off, &h);
		off += 8 + h.content_len + h.padding;
		ends[nends++] = off;
	}
	ck_assert_uint_eq(off, len);
	for (size_t cut = 1; cut < len; cut++) {
		int	boundary = 0;

		for (int i = 0; i < nends; i++)
			if (ends[i] == cut)
				boundary = 1;
		for (int mode = 0; mode < 3; mode++) {
			feed(buf, cut, mode, (unsigned)cut, &t, &d);
			ck_assert_int_eq(t.errors, 0);
			ck_assert_int_eq(t.final, FCGI_EV_NEED_MORE);
			ck_assert_int_eq(fcgi_decoder_idle(&d), boundary);
			ck_assert(!fcgi_decoder_done(&d));
		}
	}
	/* Empty input is simply "need more". */
	{
		struct fcgi_event	ev;
		size_t			used = 99;

		fcgi_decoder_init(&d, RID);
		ck_assert_int_eq(fcgi_decode(&d, buf, 0, &used, &ev),
		    FCGI_EV_NEED_MORE);
		ck_assert_uint_eq(used, 0);
		ck_assert(fcgi_decoder_idle(&d));
	}
}
END_TEST

START_TEST(decode_management_skipped)
{
	static struct transcript	t;
	struct fcgi_decoder		d;
	uint8_t				buf[512];
	size_t				len;

	len = put_record(buf, FCGI_GET_VALUES_RESULT, 0, "\x01\x01XY", 4, 4);
	len += put_record(buf + len, FCGI_UNKNOWN_TYPE, 0, "\x0c\0\0\0\0\0\0\0",
	    8, 0);
	len += put_record(buf + len, FCGI_GET_VALUES, 0, NULL, 0, 0);
	len += put_record(buf + len, 200, 0, "future", 6, 2);
	len += put_record(buf + len, FCGI_STDOUT, RID, "hi", 2, 6);
	len += put_record(buf + len, FCGI_STDOUT, RID, NULL, 0, 0);
	len += fcgi_encode_end(buf + len, sizeof buf - len, RID, 0,
	    FCGI_OVERLOADED);
	for (int mode = 0; mode < 3; mode++) {
		feed(buf, len, mode, 3, &t, &d);
		ck_assert_uint_eq(t.len, 20);
		ck_assert_mem_eq(t.log, "<O>hi<OEND><END 0 2>", 20);
	}
}
END_TEST

START_TEST(decode_reuse_kept_connection)
{
	static struct transcript	t;
	struct fcgi_decoder		d;
	struct fcgi_event		ev;
	uint8_t				buf[128];
	size_t				len, used;
	int				r;

	len = fcgi_encode_stream(buf, sizeof buf, FCGI_STDOUT, RID, "a", 1);
	len += fcgi_encode_end(buf + len, sizeof buf - len, RID, 0, 0);
	feed(buf, len, 0, 1, &t, &d);
	ck_assert(fcgi_decoder_done(&d));

	/* END_REQUEST is delivered only once its padding is consumed. */
	len = put_record(buf, FCGI_END_REQUEST, 9, "\0\0\0\0\0\0\0\0", 8, 5);
	fcgi_decoder_init(&d, 9);
	r = fcgi_decode(&d, buf, len - 1, &used, &ev);
	ck_assert_int_eq(r, FCGI_EV_NEED_MORE);
	ck_assert(!fcgi_decoder_done(&d));
	ck_assert(!fcgi_decoder_idle(&d));
	r = fcgi_decode(&d, buf + len - 1, 1, &used, &ev);
	ck_assert_int_eq(r, FCGI_EV_END_REQUEST);
	ck_assert_uint_eq(used, 1);
	ck_assert(fcgi_decoder_done(&d));
}
END_TEST

START_TEST(decode_fuzz)
{
	static struct transcript	t;
	struct fcgi_decoder		d;
	uint8_t				buf[600];
	size_t				len;

	srand(12345);
	for (int iter = 0; iter < 10000; iter++) {
		len = (size_t)rand() % sizeof buf;
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rand();
		/* Make most inputs look like records so deep states are hit. */
		for (size_t off = 0; iter % 4 != 0 && off + 8 <= len; ) {
			size_t	clen = (size_t)rand() % 40;

			buf[off] = 1;
			buf[off + 1] = (uint8_t)(rand() % 13);
			buf[off + 2] = RID >> 8;
			buf[off + 3] = rand() % 8 == 0 ? 0 : RID & 0xff;
			buf[off + 4] = 0;
			buf[off + 5] = (uint8_t)(rand() % 10 == 0 ? 8 : clen);
			buf[off + 6] = (uint8_t)(rand() % 9);
			off += 8 + buf[off + 5] + buf[off + 6];
		}
		feed(buf, len, iter % 3, (unsigned)iter, &t, &d);
		ck_assert_int_le(t.errors, 1);
		if (t.errors == 0)
			ck_assert_int_eq(t.final, FCGI_EV_NEED_MORE);
	}
}
END_TEST

static Suite *
fcgi_record_suite(void)
{
	Suite	*s = suite_create("fcgi_record");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, header_roundtrip);
	tcase_add_test(tc, begin_abort_end_bytes);
	tcase_add_test(tc, stream_small_and_empty);
	tcase_add_test(tc, stream_large_split);
	tcase_add_test(tc, pair_forms);
	tcase_add_test(tc, pair_truncation);
	tcase_add_test(tc, decode_splits_agree);
	tcase_add_test(tc, decode_every_padding);
	tcase_add_test(tc, decode_errors);
	tcase_add_test(tc, decode_truncated);
	tcase_add_test(tc, decode_management_skipped);
	tcase_add_test(tc, decode_reuse_kept_connection);
	tcase_add_test(tc, decode_fuzz);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(fcgi_record_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
