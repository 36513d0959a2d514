/* cgi: the CGI adapter; see cgi.c. */
#ifndef DROVER_CGI_H
#define DROVER_CGI_H

#include "worker/request.h"

extern const struct app_ops cgi_app;

#endif
