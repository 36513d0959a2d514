/*
 * upgrade: see upgrade.h. The old side is a small state machine driven by
 * three libev watchers on the child (its ready pipe, its exit, a deadline);
 * the new side is a flag checked in the arbiter's tick.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache/lru.h"
#include "common/log.h"
#include "conf/secrets.h"
#include "common/util.h"
#include "supervisor/arbiter.h"
#include "supervisor/notify.h"
#include "supervisor/upgrade.h"

#define UPGRADE_ENV "DROVER_UPGRADE_FDS"
#define MAX_INHERITED 64

extern char **environ;

enum phase { UP_IDLE = 0, UP_STARTING, UP_ABANDONED, UP_HANDED_OVER };

static struct {
	char exe[PATH_MAX];
	char **argv;
	struct ev_loop *loop;
	int admin_fd, control_fd;
	struct upgrade_hooks hooks;

	/* New side: what DROVER_UPGRADE_FDS gave. */
	bool inherited, reported;
	int listeners[MAX_INHERITED];
	bool unlink[MAX_INHERITED];
	size_t nlisteners;
	int shm, admin, control, ready;

	/* Old side: the child being started. */
	enum phase phase;
	pid_t child;
	int pipe_rd;
	ev_io pipe_io;
	ev_timer deadline;
	ev_child child_w;
	struct arbiter *arb;
} up = { .shm = -1, .admin = -1, .control = -1, .ready = -1, .pipe_rd = -1,
	.admin_fd = -1, .control_fd = -1 };

static int
parse_fd(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 0 || v > INT_MAX)
		return -1;
	if (fcntl((int)v, F_GETFD) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

/* "listeners=3,4;unlink=4;shm=5;..." into up; every fd gets CLOEXEC back. */
static int
parse_env(const char *val, char *err, size_t errlen)
{
	char copy[1024], *save = NULL;
	if (strlen(val) >= sizeof copy) {
		snprintf(err, errlen, "%s too long", UPGRADE_ENV);
		return -1;
	}
	strcpy(copy, val);
	int unlinks[MAX_INHERITED];
	size_t nunlinks = 0;
	for (char *kv = strtok_r(copy, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');
		if (eq == NULL)
			goto bad;
		*eq = '\0';
		const char *key = kv, *v = eq + 1;
		if (strcmp(key, "listeners") == 0 || strcmp(key, "unlink") == 0) {
			char *s2 = NULL;
			for (char *f = strtok_r(eq + 1, ",", &s2); f; f = strtok_r(NULL, ",", &s2)) {
				int fd;
				if (parse_fd(f, &fd) < 0)
					goto bad;
				if (key[0] == 'l') {
					if (up.nlisteners == MAX_INHERITED)
						goto bad;
					up.listeners[up.nlisteners++] = fd;
				} else {
					if (nunlinks == MAX_INHERITED)
						goto bad;
					unlinks[nunlinks++] = fd;
				}
			}
			continue;
		}
		int *slot = strcmp(key, "shm") == 0 ? &up.shm : strcmp(key, "admin") == 0 ? &up.admin :
		    strcmp(key, "control") == 0 ? &up.control : strcmp(key, "ready") == 0 ? &up.ready : NULL;
		if (slot == NULL || parse_fd(v, slot) < 0)
			goto bad;
	}
	if (up.nlisteners == 0 || up.shm < 0 || up.ready < 0)
		goto bad;
	for (size_t i = 0; i < up.nlisteners; i++)
		for (size_t j = 0; j < nunlinks; j++)
			if (unlinks[j] == up.listeners[i])
				up.unlink[i] = true;
	int all[MAX_INHERITED + 4];
	size_t n = 0;
	for (size_t i = 0; i < up.nlisteners; i++)
		all[n++] = up.listeners[i];
	all[n++] = up.shm;
	all[n++] = up.ready;
	if (up.admin >= 0)
		all[n++] = up.admin;
	if (up.control >= 0)
		all[n++] = up.control;
	for (size_t i = 0; i < n; i++)
		if (fcntl(all[i], F_SETFD, FD_CLOEXEC) < 0)
			goto bad;
	return 0;
bad:
	snprintf(err, errlen, "malformed %s=\"%s\"", UPGRADE_ENV, val);
	return -1;
}

int
upgrade_init(char **argv, char *err, size_t errlen)
{
	up.argv = argv;
	ssize_t n = readlink("/proc/self/exe", up.exe, sizeof up.exe - 1);
	if (n < 0) {
		/* Without /proc, fall back to argv[0] made absolute. */
		if (argv[0][0] == '/') {
			snprintf(up.exe, sizeof up.exe, "%s", argv[0]);
		} else {
			char cwd[PATH_MAX];
			if (getcwd(cwd, sizeof cwd) == NULL ||
			    snprintf(up.exe, sizeof up.exe, "%s/%s", cwd, argv[0]) >= (int)sizeof up.exe)
				up.exe[0] = '\0';
		}
	} else {
		up.exe[n] = '\0';
	}
	const char *val = getenv(UPGRADE_ENV);
	if (val == NULL)
		return 0;
	if (parse_env(val, err, errlen) < 0)
		return -1;
	/* A later upgrade sets its own; apps must not see it. */
	unsetenv(UPGRADE_ENV);
	up.inherited = true;
	return 0;
}

bool
upgrade_inherited(void)
{
	return up.inherited;
}

int
upgrade_take_fd(const char *name)
{
	int *slot = strcmp(name, "admin") == 0 ? &up.admin : strcmp(name, "control") == 0 ?
	    &up.control : NULL;
	if (slot == NULL)
		return -1;
	int fd = *slot;
	*slot = -1;
	return fd;
}

int
upgrade_ready_fd(void)
{
	return up.inherited ? up.ready : -1;
}

void
upgrade_close_unused(void)
{
	if (up.admin >= 0)
		close(up.admin);
	if (up.control >= 0)
		close(up.control);
	up.admin = up.control = -1;
}

/* "host:port", "[v6]:port" or "unix:/path" of a bound socket. */
static int
describe(int fd, char *out, size_t cap, char **unix_path)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char host[INET6_ADDRSTRLEN];
	*unix_path = NULL;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	switch (ss.ss_family) {
	case AF_INET: {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		snprintf(out, cap, "%s:%u", host, ntohs(s4->sin_port));
		return 0;
	}
	case AF_INET6: {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		snprintf(out, cap, "[%s]:%u", host, ntohs(s6->sin6_port));
		return 0;
	}
	case AF_UNIX: {
		struct sockaddr_un *su = (struct sockaddr_un *)&ss;
		size_t plen = len > offsetof(struct sockaddr_un, sun_path) ?
		    len - offsetof(struct sockaddr_un, sun_path) : 0;
		if (plen == 0 || su->sun_path[0] == '\0') {
			snprintf(out, cap, "unix:(unnamed)");
			return 0;
		}
		snprintf(out, cap, "unix:%.*s", (int)strnlen(su->sun_path, plen), su->sun_path);
		*unix_path = strdup(out + 5);
		return *unix_path ? 0 : -1;
	}
	default:
		errno = EAFNOSUPPORT;
		return -1;
	}
}

int
listeners_adopt(struct listener_set *ls, const int *fds, size_t n, const bool *own_unix,
    char *err, size_t errlen)
{
	ls->v = calloc(n ? n : 1, sizeof *ls->v);
	ls->n = 0;
	if (ls->v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char addr[sizeof(struct sockaddr_un) + 8];
		char *path;
		if (describe(fds[i], addr, sizeof addr, &path) < 0) {
			snprintf(err, errlen, "inherited listener fd %d: %s", fds[i], strerror(errno));
			listeners_close(ls, 0);
			return -1;
		}
		struct listener *l = &ls->v[ls->n++];
		l->fd = fds[i];
		l->addr = strdup(addr);
		if (own_unix && own_unix[i]) {
			l->unix_path = path;
		} else {
			free(path);
			l->unix_path = NULL;
		}
		log_info("startup", "listener=%s fd=%d note=inherited", addr, fds[i]);
	}
	return 0;
}

int
upgrade_adopt_listeners(struct listener_set *ls, char *err, size_t errlen)
{
	return listeners_adopt(ls, up.listeners, up.nlisteners, up.unlink, err, errlen);
}

int
upgrade_adopt_shm(struct shm_region *r, char *err, size_t errlen)
{
	struct stat st;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t head = (sizeof(struct scoreboard) + pg - 1) / pg * pg;
	memset(r, 0, sizeof *r);
	r->fd = -1;
	if (fstat(up.shm, &st) < 0 || (size_t)st.st_size <= head) {
		snprintf(err, errlen, "inherited shared region fd %d: %s", up.shm,
		    errno ? strerror(errno) : "too small");
		return -1;
	}
	void *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, up.shm, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "inherited shared region: mmap: %s", strerror(errno));
		return -1;
	}
	const struct scoreboard *old = base;
	struct scoreboard *sb = mmap(NULL, head, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (old->magic != SHM_MAGIC || sb == MAP_FAILED ||
	    lru_attach((char *)base + head) == NULL) {
		snprintf(err, errlen, "inherited shared region is not drover's");
		if (sb != MAP_FAILED)
			munmap(sb, head);
		munmap(base, (size_t)st.st_size);
		return -1;
	}
	sb->magic = SHM_MAGIC;
	sb->host_id = old->host_id;
	memcpy(sb->session_secret, old->session_secret, sizeof sb->session_secret);
	/* Counters start from zero, as after a restart: the old supervisor's
	 * keep moving while it drains, and the memfd's scoreboard part is the
	 * first supervisor's, stale after a second upgrade. Prometheus reads
	 * the drop as a counter reset. */
	r->base = base;
	r->size = (size_t)st.st_size;
	r->fd = up.shm;
	r->sb = sb;
	r->cache = (char *)base + head;
	r->cache_size = r->size - head;
	up.shm = -1;
	return 0;
}

/* ---- old side ---- */

void
upgrade_setup(struct ev_loop *loop, int admin_fd, int control_fd, const struct upgrade_hooks *h)
{
	up.loop = loop;
	up.admin_fd = admin_fd;
	up.control_fd = control_fd;
	up.hooks = *h;
}

bool
upgrade_handed_over(void)
{
	return up.phase == UP_HANDED_OVER;
}

static void
child_gone(void)
{
	ev_io_stop(up.loop, &up.pipe_io);
	ev_timer_stop(up.loop, &up.deadline);
	ev_child_stop(up.loop, &up.child_w);
	if (up.pipe_rd >= 0)
		close(up.pipe_rd);
	up.pipe_rd = -1;
	up.child = 0;
	up.phase = UP_IDLE;
}

static void
on_abandon_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	if (up.child > 0) {
		log_warn("upgrade", "pid=%d note=\"new supervisor still running, killing it\"", (int)up.child);
		kill(up.child, SIGKILL);
	}
}

/* The new binary did not take over: stop it, keep serving. */
static void
upgrade_failed(const char *why)
{
	log_error("upgrade", "result=failed pid=%d reason=\"%s\" note=\"the running supervisor keeps serving\"",
	    (int)up.child, why);
	ev_io_stop(up.loop, &up.pipe_io);
	if (up.pipe_rd >= 0)
		close(up.pipe_rd);
	up.pipe_rd = -1;
	up.phase = UP_ABANDONED;
	/* A graceful stop lets whatever its workers hold finish; the deadline
	 * covers a child too wedged to stop. */
	kill(up.child, SIGTERM);
	ev_timer_stop(up.loop, &up.deadline);
	ev_timer_init(&up.deadline, on_abandon_deadline,
	    (double)up.arb->cfg->graceful_timeout_ms / 1000.0 + 1.0, 0);
	ev_timer_start(up.loop, &up.deadline);
}

static void
on_child_exit(struct ev_loop *loop, ev_child *w, int revents)
{
	char why[64];
	if (WIFSIGNALED(w->rstatus))
		snprintf(why, sizeof why, "exited on signal %d", WTERMSIG(w->rstatus));
	else
		snprintf(why, sizeof why, "exited with status %d", WEXITSTATUS(w->rstatus));
	if (up.phase == UP_STARTING)
		log_error("upgrade", "result=failed pid=%d reason=\"%s before it was ready\" note=\"the running supervisor keeps serving\"",
		    (int)up.child, why);
	else
		log_info("upgrade", "state=gone pid=%d reason=\"%s\"", (int)up.child, why);
	if (up.phase != UP_HANDED_OVER)
		child_gone();
	else
		ev_child_stop(loop, w);
}

static void
on_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	upgrade_failed("not ready within timeout");
}

static void
on_pipe(struct ev_loop *loop, ev_io *w, int revents)
{
	char c;
	ssize_t n = read(w->fd, &c, 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != 1) {
		upgrade_failed("closed its ready pipe without reporting ready");
		return;
	}
	ev_io_stop(loop, w);
	ev_timer_stop(loop, &up.deadline);
	close(up.pipe_rd);
	up.pipe_rd = -1;
	up.phase = UP_HANDED_OVER;
	log_info("upgrade", "result=handed_over new_pid=%d note=\"draining the old workers\"", (int)up.child);
	notify_handover(up.child);
	if (up.hooks.handover)
		up.hooks.handover(up.arb);
	arbiter_stop(up.arb, false);
}

static size_t
add_fd(char *out, size_t cap, size_t off, const char *sep, int fd)
{
	int n = snprintf(out + off, cap > off ? cap - off : 0, "%s%d", sep, fd);
	return n > 0 ? off + (size_t)n : off;
}

void
upgrade_start(struct arbiter *a)
{
	up.arb = a;
	if (up.phase != UP_IDLE || a->stopping || (up.inherited && !up.reported)) {
		log_warn("upgrade", "result=ignored reason=\"%s\"",
		    a->stopping ? "shutting down" : "an upgrade is already under way");
		return;
	}
	if (up.exe[0] == '\0') {
		log_error("upgrade", "result=failed reason=\"own binary path unknown\"");
		return;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_error("upgrade", "result=failed reason=\"pipe: %s\"", strerror(errno));
		return;
	}

	/* The descriptors to hand over, and the variable that names them. */
	int pass[MAX_INHERITED + 5];
	size_t npass = 0;
	char val[1024], unl[512] = "";
	size_t off = 0, uoff = 0;
	off = (size_t)snprintf(val, sizeof val, "listeners=");
	for (size_t i = 0; i < a->listeners->n && npass < MAX_INHERITED; i++) {
		int fd = a->listeners->v[i].fd;
		off = add_fd(val, sizeof val, off, i ? "," : "", fd);
		if (a->listeners->v[i].unix_path)
			uoff = add_fd(unl, sizeof unl, uoff, uoff ? "," : "", fd);
		pass[npass++] = fd;
	}
	if (uoff)
		off += (size_t)snprintf(val + off, sizeof val > off ? sizeof val - off : 0, ";unlink=%s", unl);
	off = add_fd(val, sizeof val, off, ";shm=", a->shm->fd);
	pass[npass++] = a->shm->fd;
	if (up.admin_fd >= 0) {
		off = add_fd(val, sizeof val, off, ";admin=", up.admin_fd);
		pass[npass++] = up.admin_fd;
	}
	if (up.control_fd >= 0) {
		off = add_fd(val, sizeof val, off, ";control=", up.control_fd);
		pass[npass++] = up.control_fd;
	}
	off = add_fd(val, sizeof val, off, ";ready=", p[1]);
	pass[npass++] = p[1];
	/* The secrets go in a sealed memfd, never in the environment. */
	int sfd = secrets_export();
	if (sfd < 0) {
		log_error("upgrade", "result=failed reason=\"secrets: %s\"", strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	pass[npass++] = sfd;
	char sfdvar[64];
	snprintf(sfdvar, sizeof sfdvar, "%s=%d", SECRETS_FD_ENV, sfd);
	if (off >= sizeof val) {
		log_error("upgrade", "result=failed reason=\"too many descriptors\"");
		close(p[0]);
		close(p[1]);
		return;
	}

	/* The environment is built before fork: the child only execs. */
	size_t nenv = 0;
	while (environ[nenv])
		nenv++;
	char **envp = calloc(nenv + 3, sizeof *envp);
	char *var = malloc(strlen(UPGRADE_ENV) + 1 + off + 1);
	if (envp == NULL || var == NULL) {
		log_error("upgrade", "result=failed reason=\"out of memory\"");
		free(envp);
		free(var);
		close(p[0]);
		close(p[1]);
		close(sfd);
		return;
	}
	sprintf(var, "%s=%s", UPGRADE_ENV, val);
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], UPGRADE_ENV "=", sizeof UPGRADE_ENV) != 0)
			envp[k++] = environ[i];
	envp[k++] = var;
	envp[k++] = sfdvar;
	envp[k] = NULL;

	pid_t pid = fork();
	if (pid < 0) {
		log_error("upgrade", "result=failed reason=\"fork: %s\"", strerror(errno));
		free(envp);
		free(var);
		close(p[0]);
		close(p[1]);
		close(sfd);
		return;
	}
	if (pid == 0) {
		sigset_t all, none;
		sigfillset(&all);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &all, NULL);
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				signal(s, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (size_t i = 0; i < npass; i++)
			if (fcntl(pass[i], F_SETFD, 0) < 0)
				_exit(126);
		/* The new side blocks on nothing: the pipe end it writes may
		 * stay non-blocking. */
		execve(up.exe, up.argv, envp);
		_exit(127);
	}
	free(envp);
	free(var);
	close(p[1]);
	close(sfd);
	up.child = pid;
	up.pipe_rd = p[0];
	up.phase = UP_STARTING;
	log_info("upgrade", "state=starting pid=%d binary=%s", (int)pid, up.exe);
	ev_io_init(&up.pipe_io, on_pipe, p[0], EV_READ);
	ev_io_start(up.loop, &up.pipe_io);
	ev_child_init(&up.child_w, on_child_exit, pid, 0);
	ev_child_start(up.loop, &up.child_w);
	int64_t bound = a->cfg->timeout_ms > 0 ? a->cfg->timeout_ms : 30000;
	ev_timer_init(&up.deadline, on_deadline, (double)bound / 1000.0, 0);
	ev_timer_start(up.loop, &up.deadline);
}

void
upgrade_tick(struct arbiter *a)
{
	up.arb = a;
	/* Old side: stopping while a new binary starts must not leave it behind. */
	if (a->stopping && up.phase == UP_STARTING)
		upgrade_failed("the running supervisor is shutting down");
	if (!up.inherited || up.reported || a->stopping)
		return;
	if (arbiter_count(a, WS_READY) < a->target)
		return;
	up.reported = true;
	ssize_t n;
	do
		n = write(up.ready, "R", 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		log_warn("upgrade", "note=\"the old supervisor is gone: %s\"", n < 0 ? strerror(errno) : "short write");
	/* The write end stays open: workers forked later close it by number,
	 * which must not hit a descriptor that reused it. */
	log_info("upgrade", "result=ready pid=%d old_pid=%d", (int)getpid(), (int)getppid());
	if (up.hooks.ready)
		up.hooks.ready(a);
}
