/*
 * control: the supervisor's control socket ([admin] control_socket), the
 * server side of droverctl.
 *
 * A unix stream socket, mode 0600, owned by the supervisor's own uid (root
 * when started as root, never the workers' or apps' user); a peer whose
 * SO_PEERCRED uid is neither root nor that uid is refused. One command per
 * connection, one line:
 *
 *   status | status table | reload | scale N | stop | stop fast |
 *   reopen-logs | metrics
 *
 * The answer is "ok" or "error: message" on the first line, then the body
 * (status: the /status JSON, status table: the text droverctl prints,
 * metrics: the Prometheus text), then the connection closes. Each action is
 * the one its signal triggers. Connections are bounded in number, size and
 * time like the admin endpoint's. It must not block or wait on a worker.
 */
#ifndef DROVER_CONTROL_H
#define DROVER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "supervisor/oneshot.h"

struct arbiter;

struct control {
	int fd;               /* -1 when no control_socket is configured */
	char *path;
	struct oneshot os;
	struct arbiter *arb;
};

int control_start(struct control *c, struct arbiter *arb, struct ev_loop *loop, char *err,
    size_t errlen);
/* remove_file: false after a binary upgrade, when the file is the new supervisor's. */
void control_stop(struct control *c, bool remove_file);

#endif
