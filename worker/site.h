/*
 * site: the first stop of every request once its body is in: its app (the
 * longest [app NAME] mount, conf/apps.c; the path under it), then a static file
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

enum site_next {
	SITE_ANSWERED,        /* answered (or being answered) here */
	SITE_APP,             /* on to the session layer, then req->app */
	SITE_APP_NO_SESSION,  /* on to req->app; this app has sessions = false */
};

/* Routes req: sets req->cfg and req->app and takes the mount off req->path. */
enum site_next site_dispatch(struct request *req);

/* The app answered with X-Sendfile or X-Accel-Redirect: path is sent as a
 * static file if it lies under one of [app] x_sendfile, else 404. */
void site_sendfile(struct request *req, const char *path);

#endif
