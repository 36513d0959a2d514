/* cgi: the CGI adapter; see cgi.c. */
#ifndef DROVER_CGI_H
#define DROVER_CGI_H

#include "worker/request.h"

extern const struct app_ops cgi_app;

/* Kills the process group of every script still running (the worker is exiting). */
void cgi_kill_all(void);

#endif
