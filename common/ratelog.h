/*
 * ratelog: at most one log line a second for an event that can repeat
 * thousands of times a second (refused requests, accept failures), each
 * line carrying how many happened since the last one.
 *
 * Owns the counting and the decision only; the caller writes the line.
 */
#ifndef DROVER_RATELOG_H
#define DROVER_RATELOG_H

#include <stdbool.h>
#include <stdint.h>

struct ratelog {
	int64_t last_ms;         /* monotonic time of the last line, 0: none yet */
	uint64_t pending;        /* events since that line */
};

/*
 * Counts one event at now_ms (monotonic). True when a line is due: *count
 * then holds the events it stands for (this one included) and the count
 * starts again.
 */
bool ratelog_hit(struct ratelog *r, int64_t now_ms, uint64_t *count);

#endif
