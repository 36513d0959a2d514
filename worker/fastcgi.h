/*
 * fastcgi: the FastCGI adapter (responder role) and the per-worker pool of
 * app processes or connections to an external FastCGI server.
 */
#ifndef DROVER_FASTCGI_H
#define DROVER_FASTCGI_H

#include "worker/request.h"

struct config;
struct ev_loop;

extern const struct app_ops fastcgi_app;

/* Starts the app processes (type = fastcgi with command); a no-op otherwise. */
int app_pool_init(const struct config *cfg, struct ev_loop *loop);
/* Stops every app process this worker started. */
void app_pool_shutdown(void);

#endif
