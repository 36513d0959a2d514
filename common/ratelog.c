/* ratelog: see ratelog.h. */
#include "config.h"

#include "common/ratelog.h"

#define RATELOG_INTERVAL_MS 1000

bool
ratelog_hit(struct ratelog *r, int64_t now_ms, uint64_t *count)
{
	r->pending++;
	if (r->last_ms != 0 && now_ms - r->last_ms < RATELOG_INTERVAL_MS)
		return false;
	*count = r->pending;
	r->pending = 0;
	r->last_ms = now_ms;
	return true;
}
