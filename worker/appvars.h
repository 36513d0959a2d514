/*
 * appvars: the CGI meta-variables of a request (RFC 3875 §4.1 plus the usual
 * extensions and drover's session variables), built once and given to
 * either adapter: CGI turns them into an environment, FastCGI into PARAMS.
 *
 * It must not spawn or connect to anything; route.c maps a URL path onto a
 * script (script_resolve below lives there).
 */
#ifndef DROVER_APPVARS_H
#define DROVER_APPVARS_H

#include <stddef.h>

#include "common/util.h"

struct request;
struct config;

#define APPVARS_MAX 256

/* Entries are "NAME=VALUE" strings in one buffer; env is NULL-terminated once built. */
struct varlist {
	struct buf data;
	size_t off[APPVARS_MAX];
	size_t n;
	char *env[APPVARS_MAX + 1];
};

void varlist_init(struct varlist *v);
void varlist_free(struct varlist *v);
int varlist_add(struct varlist *v, const char *name, const char *value, size_t vlen);
/* Points env[] at the entries; valid until the next add. */
char **varlist_env(struct varlist *v);

struct script_target {
	char script_name[1024];      /* URL prefix naming the script */
	char path_info[4096];
	char filename[4096];         /* absolute path of the script */
};

/*
 * Maps req->path to a script under [app] root (route.c) or to [app] script.
 * Returns 0, or 404 (no such script, or a file that is no script for
 * FastCGI), 403 (outside root, not executable for CGI) or 414.
 */
int script_resolve(const struct config *cfg, const char *path, struct script_target *t,
    int require_exec);

/* Fills every variable for the request. */
int appvars_build(struct request *req, const struct script_target *t, struct varlist *v);

#endif
