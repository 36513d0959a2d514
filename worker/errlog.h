/*
 * errlog: an app's stderr turned into error-log lines, one per line it
 * wrote, for CGI scripts and FastCGI apps alike.
 *
 * Owns line splitting, the bound on one line and the bound on how much of
 * one request's stderr reaches the log (an app that floods stderr must not
 * flood the disk). It must not read from the app: callers feed it bytes.
 */
#ifndef DROVER_ERRLOG_H
#define DROVER_ERRLOG_H

#include <stdbool.h>
#include <stddef.h>

#define ERRLOG_LINE_MAX 2048
/* Bytes of one request's stderr that are logged; the rest is counted. */
#define ERRLOG_REQUEST_MAX (64 * 1024)

struct errlog {
	const char *event;           /* "cgi" or "fastcgi" */
	const char *key;             /* "script" or "app" */
	char source[256];            /* the script or app, as given: already quoted for logfmt */
	char pidkv[24];              /* " pid=N", or empty when unknown */
	size_t cap;                  /* 0: no cap */
	size_t logged, dropped;
	size_t len;
	char line[ERRLOG_LINE_MAX];
};

/* pid 0: not known (a FastCGI request's app process). */
void errlog_init(struct errlog *e, const char *event, const char *key, const char *source,
    int pid, size_t cap);
void errlog_feed(struct errlog *e, const char *p, size_t n);
/* Logs a pending partial line, and how much was dropped if anything was. */
void errlog_flush(struct errlog *e);

#endif
