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

/*
 * follow_symlinks for one path component: cand was stat'ed (its target, if
 * it is a link) into target. yes costs nothing; owner and no look at the
 * component itself.
 */
static int
link_check(const struct config *cfg, const char *cand, const struct stat *target)
{
	if (cfg->follow_symlinks == FOLLOW_YES)
		return 0;
	struct stat l;
	if (lstat(cand, &l) < 0)
		return 404;
	if (!S_ISLNK(l.st_mode))
		return 0;
	/* owner: Apache's SymLinksIfOwnerMatch, the link's owner must own the target. */
	if (cfg->follow_symlinks == FOLLOW_NO || l.st_uid != target->st_uid)
		return 403;
	return 0;
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
classify(const struct config *cfg, enum app_type type, const char *cand,
    const char *script, size_t slen, const char *info, struct route *r)
{
	bool is_script;
	if (type == APP_CGI)
		is_script = access(cand, X_OK) == 0;
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
	/* The path as named under root, as nginx's $document_root$fastcgi_script_name;
	 * an app's working directory is not drover's, so a relative root is made absolute. */
	if (cand[0] != '/') {
		char real[PATH_MAX];
		if (realpath(cand, real) == NULL)
			return 404;
		snprintf(r->t.filename, sizeof r->t.filename, "%s", real);
	} else if (snprintf(r->t.filename, sizeof r->t.filename, "%s", cand) >= (int)sizeof r->t.filename) {
		return 414;
	}
	return 0;
}

/* A directory path with its slash: the first index file that exists. */
static int
find_index(const struct config *cfg, enum app_type type, char *cand,
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
			int st = link_check(cfg, cand, &sb);
			if (st)
				return st;
			int slen = snprintf(script, sizeof script, "%s%.*s", norm, (int)n, s);
			return classify(cfg, type, cand, script, (size_t)slen, "", r);
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
		st = link_check(cfg, cand, &sb);
		if (st)
			return st;
		if (S_ISREG(sb.st_mode))
			return classify(cfg, type, cand, norm, next, norm + next, r);
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
	return find_index(cfg, type, cand, rlen + nlen, norm, r);
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
