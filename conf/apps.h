/*
 * apps: named [app NAME] sections, each an app mounted at a URL prefix
 * (`mount`, default /), with every [app] key of its own and a `sessions`
 * switch.
 *
 * Owns reading those sections (their keys are kept as read, with their
 * FILE:LINE, and applied once every layer of the main config is in),
 * checking them (duplicate sections or mounts, bad mounts, unknown keys:
 * FILE:LINE errors) and choosing the app of a request path: the longest
 * mount that matches on whole path segments. Like config.c it must not
 * open sockets, fork or log.
 */
#ifndef DROVER_APPS_H
#define DROVER_APPS_H

#include <stddef.h>

struct config;

/*
 * The ini reader's look at every raw line: a second [app NAME] header of
 * one name is an error (inih would merge the two). Returns 0 or -1.
 */
int apps_header(struct config *c, const char *line, const char *where, char *err, size_t errlen);

/*
 * The ini handler's first stop for every key: returns 1 when the key is not
 * in an [app NAME] section (the caller sets it as usual), 0 when it was
 * kept, -1 with err set.
 */
int apps_handler(struct config *c, const char *section, const char *key, const char *value,
    const char *where, char *err, size_t errlen);

/* Builds c->apps from the kept keys once c is otherwise complete. */
int apps_finish(struct config *c, char *err, size_t errlen);

void apps_free(struct config *c);

/*
 * The app for a decoded request path: the longest matching mount, else the
 * unnamed [app] if there is one, else NULL. *mount_len is the length of the
 * mount prefix to take off the path (0 for /).
 */
const struct config *apps_route(const struct config *c, const char *path, size_t *mount_len);

/* The app whose FastCGI pool the workers run, or NULL. */
const struct config *apps_fastcgi(const struct config *c);

#endif
