/*
 * overload: what a worker does when it has no room for more work: each
 * refusal is a 503 with Retry-After, counted in
 * drover_requests_rejected_total{reason}, and logged at most once a second
 * per reason with the number refused since the last line, so an overload
 * cannot also flood the log.
 *
 * It must not decide when there is no room; the callers (the accept loop,
 * the FastCGI queue) do.
 */
#ifndef DROVER_OVERLOAD_H
#define DROVER_OVERLOAD_H

#include "supervisor/shm.h"

/* Seconds a refused client is asked to wait (Retry-After), as text. */
#define RETRY_AFTER_TEXT "1"

/* Counts one refusal and logs it when a line is due. */
void overload_count(enum reject_reason why);
/*
 * Answers a connection accepted over max_connections with a 503 and closes
 * it, without making it a connection: best effort, never blocking.
 */
void overload_refuse_fd(int fd);

#endif
