/*
 * route: what a request path names under an app's root, and whether that
 * may run as a script.
 *
 * Owns the rules that keep requests inside a root and keep data from running
 * as code: dot segments and dot-files are refused, [app] deny prefixes answer
 * 404, the longest existing file prefix of the path is the file (the rest is
 * PATH_INFO), and only that file's own name decides whether it is a script
 * (FastCGI: [app] extensions; CGI: the execute bit). It reads the file
 * system (stat, realpath) and must not open, spawn or answer anything.
 */
#ifndef DROVER_ROUTE_H
#define DROVER_ROUTE_H

#include <stdbool.h>

#include "worker/appvars.h"

struct config;

enum route_kind {
	ROUTE_SCRIPT = 1,   /* t names a script to run */
	ROUTE_STATIC,       /* t.filename is a regular file that is not a script */
	ROUTE_SLASH,        /* a directory named without its trailing slash */
};

struct route {
	enum route_kind kind;
	struct script_target t;
};

/*
 * Maps a decoded request path onto cfg->root. Returns 0 with r filled, or
 * 404 (no such file, denied, a dot segment, a file with trailing path that
 * is not a script), 403 (a symlink leading out of the root) or 414.
 */
int route_resolve(const struct config *cfg, const char *path, struct route *r);

/* True when name's last segment ends with one of the space-separated suffixes. */
bool route_has_suffix(const char *name, const char *suffixes);

#endif
