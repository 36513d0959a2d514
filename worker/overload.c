/* overload: see overload.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/ratelog.h"
#include "common/util.h"
#include "worker/conn.h"
#include "worker/overload.h"

static struct ratelog limits[REJECT__N];

void
overload_count(enum reject_reason why)
{
	uint64_t n;
	atomic_fetch_add_explicit(&conn_env.counters->rejected[why], 1, memory_order_relaxed);
	if (ratelog_hit(&limits[why], mono_ms(), &n))
		log_warn("overload", "reason=%s refused=%llu note=\"answered 503 with Retry-After; "
		    "refused since the last line\"", reject_names[why], (unsigned long long)n);
}

void
overload_refuse_fd(int fd)
{
#define BODY "503 Service Unavailable: too many connections\n"
	static const char resp[] =
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Server: drover\r\n"
	    "Retry-After: " RETRY_AFTER_TEXT "\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 46\r\n"
	    "Connection: close\r\n"
	    "\r\n" BODY;
	_Static_assert(sizeof BODY - 1 == 46, "Content-Length of BODY");
#undef BODY
	overload_count(REJECT_CONNECTIONS);
	(void)send(fd, resp, sizeof resp - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)shutdown(fd, SHUT_WR);
	/* A request already received would turn the close into a reset that
	 * can destroy the answer before the client reads it. */
	char scratch[4096];
	for (int i = 0; i < 16; i++)
		if (recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) <= 0)
			break;
	close(fd);
}
