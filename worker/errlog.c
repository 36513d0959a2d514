/* errlog: see errlog.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "worker/errlog.h"

void
errlog_init(struct errlog *e, const char *event, const char *key, const char *source, int pid,
    size_t cap)
{
	memset(e, 0, sizeof *e);
	e->event = event;
	e->key = key;
	snprintf(e->source, sizeof e->source, "%s", source);
	if (pid > 0)
		snprintf(e->pidkv, sizeof e->pidkv, " pid=%d", pid);
	e->cap = cap;
}

static void
emit(struct errlog *e)
{
	if (e->len == 0)
		return;
	if (e->cap && e->logged + e->len > e->cap) {
		e->dropped += e->len;
	} else {
		char q[ERRLOG_LINE_MAX * 4 + 8];
		log_warn(e->event, "%s=%s%s stderr=%s", e->key, e->source, e->pidkv,
		    log_quote(q, sizeof q, e->line, e->len));
		e->logged += e->len;
	}
	e->len = 0;
}

void
errlog_feed(struct errlog *e, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			emit(e);
			continue;
		}
		if (e->len == sizeof e->line)
			emit(e);
		e->line[e->len++] = p[i];
	}
}

void
errlog_flush(struct errlog *e)
{
	emit(e);
	if (e->dropped) {
		log_warn(e->event, "%s=%s%s note=\"stderr over %zu bytes not logged\" dropped_bytes=%zu",
		    e->key, e->source, e->pidkv, e->cap, e->dropped);
		e->dropped = 0;
	}
}
