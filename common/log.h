/*
 * log: logfmt lines for the error log and the access log.
 *
 * Owns the two log fds, the level filter and the per-process fields
 * (worker id) every line carries. It must not allocate per line or block on
 * anything but the write itself; a line longer than LOG_LINE_MAX is cut.
 */
#ifndef DROVER_LOG_H
#define DROVER_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

#define LOG_LINE_MAX 4096

int log_level_parse(const char *name);
void log_set_level(int level);
int log_enabled(int level);
/* Opens (or reopens) both logs; "-" is stderr, "off" disables the access log. */
int log_open(const char *error_path, const char *access_path);
void log_set_worker(int worker_id);

/* fmt is the rest of the logfmt line after ts, level and event: "k=v k=v". */
void log_event(int level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_access(const char *line, size_t len);
int log_access_enabled(void);

/* Quotes a value for logfmt when it needs it. Returns buf. */
const char *log_quote(char *buf, size_t cap, const char *value, size_t len);

#define log_debug(ev, ...) do { if (log_enabled(LOG_DEBUG)) log_event(LOG_DEBUG, ev, __VA_ARGS__); } while (0)
#define log_info(ev, ...)  log_event(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)  log_event(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_ERROR, ev, __VA_ARGS__)

#endif
