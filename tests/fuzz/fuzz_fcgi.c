/*
 * fuzz_fcgi: the FastCGI record layer (worker/fcgi_record.c) against what
 * an app may send back.
 *
 * The input is an app's byte stream for request id 1. It is decoded whole
 * and again cut into pieces (byte 0 picks the size): a streaming decoder
 * must give the same stdout, stderr, end status and verdict however its
 * input is cut, and every data event must point inside the piece given.
 * The same bytes are read as PARAMS name-value pairs, each pair re-encoded
 * and decoded again; and they are framed as a STDOUT stream by the encoder
 * and decoded back, which must give exactly the input.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/fcgi_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz_fcgi: %s failed at line %d\n", #cond, __LINE__); \
	abort(); } } while (0)

static const size_t pieces[8] = { 1, 2, 3, 5, 8, 9, 16, 100 };

struct summary {
	uint8_t *out, *err;
	size_t nout, nerr;
	int ends, stdout_ends, error, idle;
	uint32_t app_status;
	uint8_t protocol_status;
};

static void
summary_init(struct summary *s, size_t cap)
{
	memset(s, 0, sizeof *s);
	s->out = malloc(cap + 1);
	s->err = malloc(cap + 1);
	CHECK(s->out != NULL && s->err != NULL);
}

static void
summary_free(struct summary *s)
{
	free(s->out);
	free(s->err);
}

/* Feeds in[0..len) in pieces of piece bytes (0: whole). */
static void
decode(const uint8_t *in, size_t len, size_t piece, struct summary *s)
{
	struct fcgi_decoder d;
	struct fcgi_event ev;
	size_t at = 0;

	fcgi_decoder_init(&d, 1);
	while (at < len && !s->error) {
		size_t plen = len - at, off = 0, turns = 0;
		if (piece > 0 && plen > piece)
			plen = piece;
		const uint8_t *p = in + at;

		while (off < plen && !s->error) {
			size_t consumed = 0;
			int t = fcgi_decode(&d, p + off, plen - off, &consumed, &ev);

			CHECK(++turns <= 4 * plen + 8);
			CHECK(t == (int)ev.type);
			CHECK(consumed <= plen - off);
			switch (ev.type) {
			case FCGI_EV_NEED_MORE:
				CHECK(consumed == plen - off);
				break;
			case FCGI_EV_STDOUT:
			case FCGI_EV_STDERR:
				CHECK(ev.len > 0);
				CHECK(ev.data >= p + off && ev.data + ev.len <= p + off + consumed);
				if (ev.type == FCGI_EV_STDOUT) {
					CHECK(s->stdout_ends == 0);
					memcpy(s->out + s->nout, ev.data, ev.len);
					s->nout += ev.len;
				} else {
					memcpy(s->err + s->nerr, ev.data, ev.len);
					s->nerr += ev.len;
				}
				break;
			case FCGI_EV_STDOUT_END:
				s->stdout_ends++;
				break;
			case FCGI_EV_END_REQUEST:
				CHECK(s->ends == 0);
				CHECK(fcgi_decoder_done(&d));
				s->ends++;
				s->app_status = ev.app_status;
				s->protocol_status = ev.protocol_status;
				break;
			case FCGI_EV_ERROR:
				CHECK(ev.reason != NULL);
				s->error = 1;
				break;
			}
			off += consumed;
		}
		at += plen;
	}
	s->idle = fcgi_decoder_idle(&d);
}

static void
pairs(const uint8_t *in, size_t len)
{
	size_t off = 0, n = 0;
	const uint8_t *name, *value;
	size_t nlen, vlen;
	int r;

	while ((r = fcgi_pair_next(in, len, &off, &name, &nlen, &value, &vlen)) == 1) {
		uint8_t *enc;
		size_t esz, eoff = 0, w;
		const uint8_t *n2, *v2;
		size_t nl2, vl2;

		CHECK(++n <= len);
		CHECK(off <= len);
		CHECK(name >= in && name + nlen <= in + off);
		CHECK(value >= in && value + vlen <= in + off);
		esz = fcgi_pair_size(nlen, vlen);
		CHECK(esz > 0 && esz <= off);
		enc = malloc(esz);
		CHECK(enc != NULL);
		w = fcgi_encode_pair(enc, esz, name, nlen, value, vlen);
		CHECK(w == esz);
		CHECK(fcgi_encode_pair(enc, esz - 1, name, nlen, value, vlen) == 0);
		CHECK(fcgi_pair_next(enc, esz, &eoff, &n2, &nl2, &v2, &vl2) == 1);
		CHECK(eoff == esz && nl2 == nlen && vl2 == vlen);
		CHECK(nlen == 0 || memcmp(n2, name, nlen) == 0);
		CHECK(vlen == 0 || memcmp(v2, value, vlen) == 0);
		free(enc);
	}
	CHECK(r == 0 || r == -1);
	CHECK(r != 0 || off == len);
}

static void
roundtrip(const uint8_t *in, size_t len)
{
	size_t cap, w, tot = 0;
	uint8_t *buf;
	struct summary s;

	cap = fcgi_stream_size(len) + fcgi_stream_size(0) + FCGI_END_LEN;
	buf = malloc(cap);
	CHECK(buf != NULL);
	if (len > 0) {
		w = fcgi_encode_stream(buf, cap, FCGI_STDOUT, 1, in, len);
		CHECK(w == fcgi_stream_size(len));
		CHECK(w % 8 == 0);
		tot += w;
	}
	w = fcgi_encode_stream(buf + tot, cap - tot, FCGI_STDOUT, 1, NULL, 0);
	CHECK(w == FCGI_HEADER_LEN);
	tot += w;
	w = fcgi_encode_end(buf + tot, cap - tot, 1, 7, FCGI_REQUEST_COMPLETE);
	CHECK(w == FCGI_END_LEN);
	tot += w;

	summary_init(&s, tot);
	decode(buf, tot, 0, &s);
	CHECK(!s.error && s.ends == 1 && s.stdout_ends == 1 && s.idle);
	CHECK(s.app_status == 7 && s.protocol_status == FCGI_REQUEST_COMPLETE);
	CHECK(s.nout == len && s.nerr == 0);
	CHECK(len == 0 || memcmp(s.out, in, len) == 0);
	summary_free(&s);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct summary whole, cut;

	if (size < 1)
		return 0;
	size_t piece = pieces[data[0] & 7];
	data++;
	size--;

	summary_init(&whole, size);
	summary_init(&cut, size);
	decode(data, size, 0, &whole);
	decode(data, size, piece, &cut);
	CHECK(whole.error == cut.error);
	CHECK(whole.ends == cut.ends && whole.stdout_ends == cut.stdout_ends);
	CHECK(whole.app_status == cut.app_status);
	CHECK(whole.protocol_status == cut.protocol_status);
	CHECK(whole.idle == cut.idle);
	CHECK(whole.nout == cut.nout && whole.nerr == cut.nerr);
	CHECK(memcmp(whole.out, cut.out, whole.nout) == 0);
	CHECK(memcmp(whole.err, cut.err, whole.nerr) == 0);
	summary_free(&whole);
	summary_free(&cut);

	pairs(data, size);
	roundtrip(data, size);
	return 0;
}
