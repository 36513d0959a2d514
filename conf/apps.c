/* apps: see apps.h. */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/apps.h"
#include "conf/config.h"

/* A key of an [app NAME] section as read, or (key NULL) its header line. */
struct app_pending {
	char *name, *key, *value, *where;
};

static bool
known_app_key(const char *key)
{
	const char *section;
	if (strcmp(key, "mount") == 0 || strcmp(key, "sessions") == 0)
		return true;
	for (size_t i = 0; config_key_name(i, &section) != NULL; i++)
		if (strcmp(section, "app") == 0 && strcmp(config_key_name(i, NULL), key) == 0)
			return true;
	return false;
}

static bool
name_ok(const char *n)
{
	if (*n == '\0')
		return false;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
		    *n == '-' || *n == '_' || *n == '.'))
			return false;
	return true;
}

static int
keep(struct config *c, const char *name, const char *key, const char *value, const char *where,
    char *err, size_t errlen)
{
	struct app_pending *np = realloc(c->pending, (c->npending + 1) * sizeof *np);
	if (np == NULL)
		goto nomem;
	c->pending = np;
	struct app_pending *p = &np[c->npending++];
	memset(p, 0, sizeof *p);
	p->name = strdup(name);
	p->where = strdup(where);
	if (key) {
		p->key = strdup(key);
		p->value = strdup(value ? value : "");
	}
	if (!p->name || !p->where || (key && (!p->key || !p->value)))
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "%s: out of memory", where);
	return -1;
}

int
apps_header(struct config *c, const char *line, const char *where, char *err, size_t errlen)
{
	line += strspn(line, " \t");
	if (strncmp(line, "[app ", 5) != 0)
		return 0;
	const char *end = strchr(line, ']');
	if (end == NULL)
		return 0;     /* inih reports the syntax error */
	char name[128];
	snprintf(name, sizeof name, "%.*s", (int)(end - line - 5), line + 5);
	if (!name_ok(name)) {
		snprintf(err, errlen, "%s: [app %s]: an app name is letters, digits, '-', '_' and '.'",
		    where, name);
		return -1;
	}
	for (size_t i = 0; i < c->npending; i++) {
		if (c->pending[i].key == NULL && strcmp(c->pending[i].name, name) == 0) {
			snprintf(err, errlen, "%s: duplicate section [app %s] (first at %s)", where,
			    name, c->pending[i].where);
			return -1;
		}
	}
	return keep(c, name, NULL, NULL, where, err, errlen);
}

int
apps_handler(struct config *c, const char *section, const char *key, const char *value,
    const char *where, char *err, size_t errlen)
{
	if (section == NULL || strncmp(section, "app ", 4) != 0)
		return 1;
	const char *name = section + 4;
	if (!name_ok(name)) {
		snprintf(err, errlen, "%s: [%s]: an app name is letters, digits, '-', '_' and '.'",
		    where, section);
		return -1;
	}
	if (!known_app_key(key)) {
		snprintf(err, errlen, "%s: [app %s] unknown key '%s'", where, name, key);
		return -1;
	}
	return keep(c, name, key, value, where, err, errlen);
}

/* A mount is /, or /seg[/seg...] without a trailing slash, empty or dot segments. */
static bool
mount_ok(const char *m)
{
	if (m[0] != '/')
		return false;
	if (m[1] == '\0')
		return true;
	for (const char *s = m; *s; ) {
		s++;            /* the slash */
		size_t n = strcspn(s, "/");
		if (n == 0 || s[0] == '.')
			return false;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] <= ' ' || s[i] == '?' || s[i] == '#' || s[i] == '%' ||
			    (unsigned char)s[i] >= 0x7f)
				return false;
		s += n;
	}
	return true;
}

static struct config *
app_named(struct config *c, const char *name, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->napps; i++)
		if (strcmp(c->apps[i]->app_name, name) == 0)
			return c->apps[i];
	struct config **na = realloc(c->apps, (c->napps + 1) * sizeof *na);
	if (na == NULL)
		goto nomem;
	c->apps = na;
	struct config *a = malloc(sizeof *a);
	if (a == NULL)
		goto nomem;
	config_defaults(a);
	a->sessions = true;
	na[c->napps++] = a;
	if (config_copy_shared(a, c) != 0 || (a->app_name = strdup(name)) == NULL)
		goto nomem;
	return a;
nomem:
	snprintf(err, errlen, "drover: out of memory");
	return NULL;
}

/* Rewrites "[app] " in a message from config.c as "[app NAME] ". */
static void
name_message(char *err, size_t errlen, const char *name)
{
	char *at = strstr(err, "[app]");
	if (at == NULL)
		return;
	char rest[CONFIG_ERR_MAX];
	snprintf(rest, sizeof rest, "%s", at + 5);
	snprintf(at, errlen - (size_t)(at - err), "[app %s]%s", name, rest);
}

static int
apply(struct config *c, const struct app_pending *p, char *err, size_t errlen)
{
	struct config *a = app_named(c, p->name, err, errlen);
	if (a == NULL)
		return -1;
	if (p->key == NULL)
		return 0;     /* the header: the app exists even with no key */
	if (strcmp(p->key, "mount") == 0) {
		if (!mount_ok(p->value)) {
			snprintf(err, errlen, "%s: [app %s] mount: expected /, or /prefix without "
			    "a trailing slash, empty or dot segments, got '%s'", p->where, p->name,
			    p->value);
			return -1;
		}
		for (size_t i = 0; i < c->napps; i++) {
			const struct config *o = c->apps[i];
			if (o != a && o->mount && strcmp(o->mount, p->value) == 0) {
				snprintf(err, errlen, "%s: [app %s] mount: %s is also the mount of [app %s]",
				    p->where, p->name, p->value, o->app_name);
				return -1;
			}
		}
		free(a->mount);
		if ((a->mount = strdup(p->value)) == NULL)
			return -1;
		return 0;
	}
	if (strcmp(p->key, "sessions") == 0) {
		if (parse_bool(p->value, &a->sessions) != 0) {
			snprintf(err, errlen, "%s: [app %s] sessions: expected true|false, got '%s'",
			    p->where, p->name, p->value);
			return -1;
		}
		return 0;
	}
	if (config_set(a, LAYER_FILE, "app", p->key, p->value, p->where, err, errlen) != 0) {
		name_message(err, errlen, p->name);
		return -1;
	}
	return 0;
}

static void
free_pending(struct config *c)
{
	for (size_t i = 0; i < c->npending; i++) {
		free(c->pending[i].name);
		free(c->pending[i].key);
		free(c->pending[i].value);
		free(c->pending[i].where);
	}
	free(c->pending);
	c->pending = NULL;
	c->npending = 0;
}

int
apps_finish(struct config *c, char *err, size_t errlen)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < c->npending; i++)
		rc = apply(c, &c->pending[i], err, errlen);
	free_pending(c);
	if (rc != 0)
		return -1;

	size_t nfastcgi = c->app_configured && c->app_type == APP_FASTCGI;
	for (size_t i = 0; i < c->napps; i++) {
		struct config *a = c->apps[i];
		const char *m = a->mount ? a->mount : "/";
		if (strcmp(m, "/") == 0 && c->app_configured) {
			snprintf(err, errlen, "%s: [app %s] mount: / is the unnamed [app]'s",
			    c->file ? c->file : "drover", a->app_name);
			return -1;
		}
		if (config_validate(a, err, errlen) != 0) {
			name_message(err, errlen, a->app_name);
			return -1;
		}
		nfastcgi += a->app_type == APP_FASTCGI;
	}
	if (nfastcgi > 1) {
		snprintf(err, errlen, "%s: %zu FastCGI apps: one drover runs one FastCGI app; "
		    "mount the others as cgi or static, or run them in a drover of their own",
		    c->file ? c->file : "drover", nfastcgi);
		return -1;
	}
	return 0;
}

void
apps_free(struct config *c)
{
	for (size_t i = 0; i < c->napps; i++) {
		free(c->apps[i]->app_name);
		free(c->apps[i]->mount);
		config_free(c->apps[i]);
		free(c->apps[i]);
	}
	free(c->apps);
	c->apps = NULL;
	c->napps = 0;
	free_pending(c);
}

const struct config *
apps_route(const struct config *c, const char *path, size_t *mount_len)
{
	const struct config *best = c->napps == 0 || c->app_configured ? c : NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < c->napps; i++) {
		const struct config *a = c->apps[i];
		const char *m = a->mount ? a->mount : "/";
		size_t n = strcmp(m, "/") == 0 ? 0 : strlen(m);
		/* Whole segments: /git is /git and /git/..., never /gitx. */
		if (n > 0 && (strncmp(path, m, n) != 0 || (path[n] != '/' && path[n] != '\0')))
			continue;
		if (best == NULL || n > best_len) {
			best = a;
			best_len = n;
		}
	}
	*mount_len = best_len;
	return best;
}

const struct config *
apps_fastcgi(const struct config *c)
{
	if (c->app_configured && c->app_type == APP_FASTCGI)
		return c;
	for (size_t i = 0; i < c->napps; i++)
		if (c->apps[i]->app_type == APP_FASTCGI)
			return c->apps[i];
	return c;
}
