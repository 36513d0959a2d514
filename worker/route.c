/* route: see route.h. */
#include "config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/config.h"
#include "worker/route.h"

bool
route_has_suffix(const char *name, const char *suffixes)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	size_t blen = strlen(base);
	for (const char *s = suffixes; s && *s; ) {
		s += strspn(s, " \t");
		size_t n = strcspn(s, " \t");
		/* The suffix must leave a name before it: ".php" alone is a dot-file. */
		if (n > 0 && blen > n && memcmp(base + blen - n, s, n) == 0)
			return true;
		s += n;
	}
	return false;
}

/*
 * Copies path into out with runs of '/' folded to one, so "//data/x" meets
 * the same deny prefix as "/data/x". Refuses any segment starting with '.':
 * "." and ".." (never climb out, whatever encoding brought them) and
 * dot-files and dot-directories such as .htaccess and .git.
 */
static int
normalize(const char *path, char *out, size_t cap)
{
	if (path[0] != '/')
		return 404;
	size_t o = 0;
	for (const char *s = path; *s; ) {
		while (*s == '/')
			s++;
		size_t n = strcspn(s, "/");
		if (n > 0 && s[0] == '.')
			return 404;
		if (o + 1 + n >= cap)
			return 414;
		out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
		s += n;
	}
	/* A trailing slash stays: it tells a directory from a file. */
	out[o] = '\0';
	return 0;
}

static bool
denied(const char *norm, const char *deny)
{
	for (const char *s = deny; s && *s; ) {
		s += strspn(s, " \t");
		size_t n = strcspn(s, " \t");
		if (n > 0 && strncmp(norm, s, n) == 0)
			return true;
		/* "/data/" also denies the directory "/data" itself. */
		if (n > 1 && s[n - 1] == '/' && strlen(norm) == n - 1 && strncmp(norm, s, n - 1) == 0)
			return true;
		s += n;
	}
	return false;
}

static bool
under_root(const char *real_root, const char *real_file)
{
	size_t n = strlen(real_root);
	if (n == 1)
		return true;
	return strncmp(real_root, real_file, n) == 0 && (real_file[n] == '/' || real_file[n] == '\0');
}

/* A root's real path. A worker's roots rarely change (an app's root and
 * its static_root), so the last two are kept. */
static const char *
real_root_of(const char *root)
{
	static char for_root[2][PATH_MAX], real[2][PATH_MAX];
	static int last;
	for (int i = 0; i < 2; i++)
		if (strcmp(for_root[i], root) == 0)
			return real[i];
	int i = last = !last;
	if (strlen(root) >= sizeof for_root[i] || realpath(root, real[i]) == NULL) {
		for_root[i][0] = '\0';
		return NULL;
	}
	snprintf(for_root[i], sizeof for_root[i], "%s", root);
	return real[i];
}

const char *
route_index_names(const struct config *cfg)
{
	if (cfg->index)
		return cfg->index;
	switch (cfg->app_type) {
	case APP_FASTCGI: return "index.php index.html";
	case APP_CGI: return "index.cgi index.html";
	default: return "index.html";
	}
}

/* Decides what the regular file at cand (URL prefix script, rest info) is. */
static int
classify(const struct config *cfg, enum app_type type, const char *real_root, const char *cand,
    const char *script, size_t slen, const char *info, struct route *r)
{
	char real[PATH_MAX];
	if (realpath(cand, real) == NULL)
		return 404;
	if (!under_root(real_root, real))
		return 403;
	bool is_script;
	if (type == APP_CGI)
		is_script = access(real, X_OK) == 0;
	else if (type == APP_FASTCGI)
		is_script = route_has_suffix(cand, cfg->extensions);
	else
		is_script = false;
	/* Trailing path after a file that is not a script names nothing. */
	if (!is_script && info[0] != '\0')
		return 404;
	r->kind = is_script ? ROUTE_SCRIPT : ROUTE_STATIC;
	if (slen >= sizeof r->t.script_name || strlen(info) >= sizeof r->t.path_info)
		return 414;
	memcpy(r->t.script_name, script, slen);
	r->t.script_name[slen] = '\0';
	snprintf(r->t.path_info, sizeof r->t.path_info, "%s", info);
	snprintf(r->t.filename, sizeof r->t.filename, "%s", real);
	return 0;
}

/* A directory path with its slash: the first index file that exists. */
static int
find_index(const struct config *cfg, enum app_type type, const char *real_root, char *cand,
    size_t clen, const char *norm, struct route *r)
{
	char script[4096];
	const char *names = route_index_names(cfg);
	for (const char *s = names; *s; ) {
		s += strspn(s, " \t");
		size_t n = strcspn(s, " \t");
		if (n == 0)
			break;
		if (clen + n >= PATH_MAX || strlen(norm) + n >= sizeof script)
			return 414;
		memcpy(cand + clen, s, n);
		cand[clen + n] = '\0';
		struct stat sb;
		if (stat(cand, &sb) == 0 && S_ISREG(sb.st_mode)) {
			int slen = snprintf(script, sizeof script, "%s%.*s", norm, (int)n, s);
			return classify(cfg, type, real_root, cand, script, (size_t)slen, "", r);
		}
		s += n;
	}
	return 404;
}

int
route_resolve_in(const struct config *cfg, const char *root, enum app_type type,
    const char *path, struct route *r)
{
	memset(r, 0, sizeof *r);
	if (root == NULL)
		return 404;
	char norm[4096];
	int st = normalize(path, norm, sizeof norm);
	if (st)
		return st;
	if (denied(norm, cfg->deny))
		return 404;
	const char *real_root = real_root_of(root);
	if (real_root == NULL)
		return 404;

	/* The longest existing file prefix is the file: walk one segment at a
	 * time; the first regular file ends the walk (nothing lies below it). */
	char cand[PATH_MAX];
	size_t rlen = strlen(root);
	if (rlen >= sizeof cand)
		return 414;
	memcpy(cand, root, rlen);
	size_t nlen = strlen(norm);
	size_t pos = 0;
	while (pos < nlen) {
		size_t next = pos + 1;
		while (next < nlen && norm[next] != '/')
			next++;
		if (next == pos + 1)
			break;      /* the trailing slash of a directory path */
		if (rlen + next >= sizeof cand)
			return 414;
		memcpy(cand + rlen, norm, next);
		cand[rlen + next] = '\0';
		struct stat sb;
		if (stat(cand, &sb) < 0)
			return 404;
		if (S_ISREG(sb.st_mode))
			return classify(cfg, type, real_root, cand, norm, next, norm + next, r);
		if (!S_ISDIR(sb.st_mode))
			return 404;
		pos = next;
	}
	/* A directory: never listed. */
	if (norm[nlen - 1] != '/') {
		r->kind = ROUTE_SLASH;
		snprintf(r->t.script_name, sizeof r->t.script_name, "%s", norm);
		return 0;
	}
	if (rlen + nlen >= sizeof cand)
		return 414;
	memcpy(cand + rlen, norm, nlen + 1);
	return find_index(cfg, type, real_root, cand, rlen + nlen, norm, r);
}

int
route_resolve(const struct config *cfg, const char *path, struct route *r)
{
	return route_resolve_in(cfg, cfg->root, cfg->app_type, path, r);
}

int
script_resolve(const struct config *cfg, const char *path, struct script_target *t, int require_exec)
{
	memset(t, 0, sizeof *t);
	if (cfg->script) {
		if (snprintf(t->path_info, sizeof t->path_info, "%s", path) >= (int)sizeof t->path_info)
			return 414;
		snprintf(t->filename, sizeof t->filename, "%s", cfg->script);
		return 0;
	}
	struct route r;
	int st = route_resolve(cfg, path, &r);
	if (st)
		return st;
	if (r.kind != ROUTE_SCRIPT)
		return require_exec && r.kind == ROUTE_STATIC ? 403 : 404;
	*t = r.t;
	return 0;
}
