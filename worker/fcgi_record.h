/*
 * fcgi_record: the FastCGI 1.0 record layer, as seen from the web-server
 * side of a responder connection.
 *
 * Owns the wire format only: record headers, BEGIN_REQUEST / ABORT_REQUEST /
 * END_REQUEST bodies, stream records (PARAMS, STDIN, ...) and name-value
 * pairs, plus a streaming decoder for what an application sends back. It
 * must not do I/O, allocate or log: everything works on caller buffers, and
 * decoded data points into the caller's input (zero-copy).
 */
#ifndef DROVER_FCGI_RECORD_H
#define DROVER_FCGI_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define FCGI_VERSION_1		1
#define FCGI_HEADER_LEN		8
#define FCGI_MAX_CONTENT	65535
/* Largest content per stream record: a multiple of 8, so no padding. */
#define FCGI_STREAM_CHUNK	65528
#define FCGI_MAX_PAIR_LEN	0x7fffffffU
#define FCGI_NULL_REQUEST_ID	0
#define FCGI_BEGIN_LEN		(FCGI_HEADER_LEN + 8)
#define FCGI_END_LEN		(FCGI_HEADER_LEN + 8)

enum fcgi_type {
	FCGI_BEGIN_REQUEST = 1,
	FCGI_ABORT_REQUEST = 2,
	FCGI_END_REQUEST = 3,
	FCGI_PARAMS = 4,
	FCGI_STDIN = 5,
	FCGI_STDOUT = 6,
	FCGI_STDERR = 7,
	FCGI_DATA = 8,
	FCGI_GET_VALUES = 9,
	FCGI_GET_VALUES_RESULT = 10,
	FCGI_UNKNOWN_TYPE = 11,
};

enum fcgi_role {
	FCGI_RESPONDER = 1,
	FCGI_AUTHORIZER = 2,
	FCGI_FILTER = 3,
};

/* BEGIN_REQUEST flags. */
#define FCGI_KEEP_CONN		1

enum fcgi_protocol_status {
	FCGI_REQUEST_COMPLETE = 0,
	FCGI_CANT_MPX_CONN = 1,
	FCGI_OVERLOADED = 2,
	FCGI_UNKNOWN_ROLE = 3,
};

struct fcgi_header {
	uint8_t		version;
	uint8_t		type;
	uint16_t	request_id;
	uint16_t	content_len;
	uint8_t		padding;
};

/* Padding that brings content_len to a multiple of 8. */
size_t	fcgi_padding(size_t content_len);

/* Writes exactly FCGI_HEADER_LEN bytes; returns FCGI_HEADER_LEN. */
size_t	fcgi_encode_header(uint8_t *out, uint8_t type, uint16_t request_id,
	    uint16_t content_len, uint8_t padding);
/* Reads exactly FCGI_HEADER_LEN bytes; no validation. */
void	fcgi_decode_header(const uint8_t *in, struct fcgi_header *h);

/*
 * Encoders below return the number of bytes written, or 0 (writing nothing)
 * if the result does not fit in cap.
 */
size_t	fcgi_encode_begin(uint8_t *out, size_t cap, uint16_t request_id,
	    uint16_t role, int keep_conn);
size_t	fcgi_encode_abort(uint8_t *out, size_t cap, uint16_t request_id);
/* END_REQUEST, for test applications that play the other side. */
size_t	fcgi_encode_end(uint8_t *out, size_t cap, uint16_t request_id,
	    uint32_t app_status, uint8_t protocol_status);
/* Parses a BEGIN_REQUEST body (8 bytes); keep_conn is 0 or 1. */
void	fcgi_decode_begin_body(const uint8_t *body, uint16_t *role,
	    int *keep_conn);

/*
 * Stream records (PARAMS, STDIN, STDOUT, ...): len bytes as records of at
 * most FCGI_STREAM_CHUNK content each, padded to a multiple of 8. len 0
 * writes the empty record that ends the stream; a non-empty call never adds
 * it. fcgi_stream_size() is what fcgi_encode_stream() needs (SIZE_MAX if
 * that overflows).
 */
size_t	fcgi_stream_size(size_t len);
size_t	fcgi_encode_stream(uint8_t *out, size_t cap, uint8_t type,
	    uint16_t request_id, const void *data, size_t len);

/*
 * Name-value pairs (PARAMS content). Lengths below 128 take one byte, others
 * four. fcgi_pair_size() is 0 if a length exceeds FCGI_MAX_PAIR_LEN.
 */
size_t	fcgi_pair_size(size_t nlen, size_t vlen);
size_t	fcgi_encode_pair(uint8_t *out, size_t cap, const void *name,
	    size_t nlen, const void *value, size_t vlen);
/*
 * Decodes the pair at *off in buf and advances *off past it. Returns 1 for
 * a pair, 0 when *off == len (no more pairs), -1 if the pair is truncated.
 * name and value point into buf and are not NUL-terminated.
 */
int	fcgi_pair_next(const uint8_t *buf, size_t len, size_t *off,
	    const uint8_t **name, size_t *nlen, const uint8_t **value,
	    size_t *vlen);

enum fcgi_event_type {
	FCGI_EV_NEED_MORE = 0,	/* all input consumed, no event */
	FCGI_EV_STDOUT,		/* data, len: part of a STDOUT record */
	FCGI_EV_STDERR,		/* data, len: part of a STDERR record */
	FCGI_EV_STDOUT_END,	/* empty STDOUT record: stdout is over */
	FCGI_EV_END_REQUEST,	/* app_status, protocol_status */
	FCGI_EV_ERROR,		/* reason; the decoder stays in error */
};

struct fcgi_event {
	enum fcgi_event_type	type;
	const uint8_t		*data;
	size_t			len;
	uint32_t		app_status;
	uint8_t			protocol_status;
	const char		*reason;
};

/*
 * Decoder for the records an application sends on one request. Fields are
 * private except hdr, the last header read, which callers may log on error.
 */
struct fcgi_decoder {
	uint16_t		request_id;
	int			state;
	struct fcgi_header	hdr;
	uint8_t			hbuf[FCGI_HEADER_LEN];
	size_t			hhave;
	uint8_t			body[8];
	size_t			bhave;
	size_t			content_left;
	size_t			padding_left;
	int			pending;
	int			stdout_closed;
	const char		*error;
};

/* Starts (or restarts, for a kept connection) decoding for request_id. */
void	fcgi_decoder_init(struct fcgi_decoder *d, uint16_t request_id);

/*
 * Consumes bytes from in until it has one event or runs out of input, and
 * returns the event type (also in ev->type). *consumed is how much of in was
 * used; on FCGI_EV_NEED_MORE it is always len. Data events point into in,
 * and one record's content may arrive as several events. STDOUT_END and
 * END_REQUEST are delivered once their whole record, padding included, is
 * consumed. Records after END_REQUEST are an error. Management records and
 * empty STDERR records produce no event. Never reads beyond in[len - 1].
 */
int	fcgi_decode(struct fcgi_decoder *d, const uint8_t *in, size_t len,
	    size_t *consumed, struct fcgi_event *ev);

/* True at a record boundary: input ending elsewhere is truncated. */
int	fcgi_decoder_idle(const struct fcgi_decoder *d);
/* True once END_REQUEST has been delivered. */
int	fcgi_decoder_done(const struct fcgi_decoder *d);

#endif
