/*
 * status_page: the HTML page GET / answers on [admin] bind, compiled in
 * from supervisor/status.html (see supervisor/local.mk). The page draws
 * itself from /status in the browser: the supervisor only serves the bytes.
 */
#ifndef DROVER_STATUS_PAGE_H
#define DROVER_STATUS_PAGE_H

extern const char status_html[];

#endif
