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

#include "conf/config.h"

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
 * 404 (no such file, denied, a directory without an index file, a dot segment, a file with trailing path that
 * is not a script), 403 (a symlink leading out of the root) or 414.
 */
int route_resolve(const struct config *cfg, const char *path, struct route *r);

/* The same under another root, with another type's idea of a script
 * (APP_STATIC: none); static_root lookups use it. */
int route_resolve_in(const struct config *cfg, const char *root, enum app_type type,
    const char *path, struct route *r);

/* [app] index, or the default of the app's type. */
const char *route_index_names(const struct config *cfg);

/* True when name's last segment ends with one of the space-separated suffixes. */
bool route_has_suffix(const char *name, const char *suffixes);

#endif
