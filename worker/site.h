/*
 * site: the first stop of every request once its body is in: a static file
 * (from [app] static_root, or a file under root that is not a script), the
 * slash redirect of a directory, a refusal from route.c, or on to the app.
 *
 * It must not run or talk to an app: what it does not answer goes on to
 * the session layer and the app adapter unchanged.
 */
#ifndef DROVER_SITE_H
#define DROVER_SITE_H

#include <stdbool.h>

struct request;

/* True when the request was answered (or is being answered) here. */
bool site_dispatch(struct request *req);

#endif
