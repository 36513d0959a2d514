/* appvars: see appvars.h. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/config.h"
#include "worker/appvars.h"
#include "worker/conn.h"
#include "worker/request.h"
#include "worker/session.h"

void
varlist_init(struct varlist *v)
{
	buf_init(&v->data, 1 << 20);
	v->n = 0;
}

void
varlist_free(struct varlist *v)
{
	buf_free(&v->data);
	v->n = 0;
}

int
varlist_add(struct varlist *v, const char *name, const char *value, size_t vlen)
{
	if (v->n >= APPVARS_MAX)
		return -1;
	size_t at = v->data.len;
	if (buf_append(&v->data, name, strlen(name)) < 0 || buf_append(&v->data, "=", 1) < 0 ||
	    buf_append(&v->data, value, vlen) < 0 || buf_append(&v->data, "", 1) < 0)
		return -1;
	v->off[v->n++] = at;
	return 0;
}

static int
add(struct varlist *v, const char *name, const char *value)
{
	return varlist_add(v, name, value ? value : "", value ? strlen(value) : 0);
}

char **
varlist_env(struct varlist *v)
{
	for (size_t i = 0; i < v->n; i++)
		v->env[i] = v->data.data + v->off[i];
	v->env[v->n] = NULL;
	return v->env;
}

/* HTTP_* name for a header: upper case, '-' to '_'; -1 for names that could
 * collide with a CGI variable after mapping (underscores, odd bytes). */
static int
http_var_name(const struct header *h, char *out, size_t cap)
{
	if (h->nlen + 6 > cap)
		return -1;
	memcpy(out, "HTTP_", 5);
	for (size_t i = 0; i < h->nlen; i++) {
		unsigned char ch = (unsigned char)h->name[i];
		if (ch == '_')
			return -1;   /* X_Foo and X-Foo would both become HTTP_X_FOO */
		out[5 + i] = ch == '-' ? '_' : (char)toupper(ch);
	}
	out[5 + h->nlen] = '\0';
	return 0;
}

int
appvars_build(struct request *req, const struct script_target *t, struct varlist *v)
{
	const struct config *cfg = conn_config(req->conn);
	char tmp[64];
	int rc = 0;

	/* Configured values first, so request-derived names override none of them silently. */
	if (cfg->pass_env) {
		char names[1024];
		snprintf(names, sizeof names, "%s", cfg->pass_env);
		for (char *save, *n = strtok_r(names, " \t,", &save); n; n = strtok_r(NULL, " \t,", &save)) {
			const char *val = getenv(n);
			if (val)
				rc |= add(v, n, val);
		}
	}
	for (size_t i = 0; i < cfg->env.n; i++) {
		const char *eq = strchr(cfg->env.v[i], '=');
		if (eq == NULL)
			continue;
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)(eq - cfg->env.v[i]), cfg->env.v[i]);
		rc |= add(v, name, eq + 1);
	}

	rc |= add(v, "GATEWAY_INTERFACE", "CGI/1.1");
	rc |= add(v, "SERVER_SOFTWARE", "drover/" PACKAGE_VERSION);
	snprintf(tmp, sizeof tmp, "HTTP/%d.%d", req->http_major, req->http_minor);
	rc |= add(v, "SERVER_PROTOCOL", tmp);
	rc |= varlist_add(v, "REQUEST_METHOD", req->method, req->method_len);
	rc |= varlist_add(v, "REQUEST_URI", req->target, req->target_len);
	rc |= add(v, "QUERY_STRING", req->query);
	if (cfg->mount && strcmp(cfg->mount, "/") != 0) {
		/* A mounted app: SCRIPT_NAME is its mount plus the script's path. */
		char sn[sizeof t->script_name + 256];
		snprintf(sn, sizeof sn, "%s%s", cfg->mount, t->script_name);
		rc |= add(v, "SCRIPT_NAME", sn);
	} else {
		rc |= add(v, "SCRIPT_NAME", t->script_name);
	}
	rc |= add(v, "SCRIPT_FILENAME", t->filename);
	rc |= add(v, "PATH_INFO", t->path_info);
	if (t->path_info[0] && cfg->root) {
		char pt[8192];
		snprintf(pt, sizeof pt, "%s%s", cfg->root, t->path_info);
		rc |= add(v, "PATH_TRANSLATED", pt);
	}
	if (cfg->root)
		rc |= add(v, "DOCUMENT_ROOT", cfg->root);
	rc |= add(v, "REDIRECT_STATUS", "200");

	const struct conn_peer *peer = conn_peer(req->conn);
	rc |= add(v, "REMOTE_ADDR", req->client.addr);
	rc |= add(v, "REMOTE_HOST", req->client.addr);
	snprintf(tmp, sizeof tmp, "%d", req->client.port);
	rc |= add(v, "REMOTE_PORT", tmp);
	rc |= add(v, "SERVER_ADDR", peer->local_addr);
	snprintf(tmp, sizeof tmp, "%d", peer->local_port);
	rc |= add(v, "SERVER_PORT", tmp);
	const struct header *host = req_header(req, "Host");
	if (host) {
		/* SERVER_NAME is the Host header without its port. */
		size_t n = host->vlen;
		const char *colon = memrchr(host->value, ':', n);
		if (colon && host->value[0] != '[')
			n = (size_t)(colon - host->value);
		else if (host->value[0] == '[') {
			const char *rb = memchr(host->value, ']', n);
			if (rb)
				n = (size_t)(rb - host->value + 1);
		}
		rc |= varlist_add(v, "SERVER_NAME", host->value, n);
	} else {
		rc |= add(v, "SERVER_NAME", peer->local_addr);
	}
	if (req->client.https)
		rc |= add(v, "HTTPS", "on");
	const struct header *auth = req_header(req, "Authorization");
	if (req->remote_user[0]) {
		/* Checked by drover ([app] auth_basic). */
		rc |= add(v, "REMOTE_USER", req->remote_user);
		rc |= add(v, "AUTH_TYPE", "Basic");
	} else if (auth) {
		/* The scheme only; credentials stay with the server (RFC 3875 §4.1.1). */
		const char *sp = memchr(auth->value, ' ', auth->vlen);
		size_t n = sp ? (size_t)(sp - auth->value) : auth->vlen;
		rc |= varlist_add(v, "AUTH_TYPE", auth->value, n);
	}
	/* A chunked body has its length by now (conn.c sets it once the body is read). */
	if (req->content_length >= 0) {
		snprintf(tmp, sizeof tmp, "%lld", (long long)req->content_length);
		rc |= add(v, "CONTENT_LENGTH", tmp);
	}
	const struct header *ct = req_header(req, "Content-Type");
	if (ct)
		rc |= varlist_add(v, "CONTENT_TYPE", ct->value, ct->vlen);

	for (size_t i = 0; i < req->nhdr; i++) {
		const struct header *h = &req->hdr[i];
		char name[300];
		if (str_case_eq(h->name, h->nlen, "Content-Type") ||
		    str_case_eq(h->name, h->nlen, "Content-Length") ||
		    str_case_eq(h->name, h->nlen, "Proxy") ||   /* httpoxy: never HTTP_PROXY */
		    (str_case_eq(h->name, h->nlen, "Authorization") && !cfg->pass_authorization) ||
		    str_case_eq(h->name, h->nlen, "Transfer-Encoding"))
			continue;
		if (http_var_name(h, name, sizeof name) < 0)
			continue;
		/* Repeated fields become one variable (RFC 3875 §4.1.18): two
		 * entries of one name would let the app's libc pick either. */
		bool repeated = false;
		for (size_t j = 0; j < i && !repeated; j++)
			repeated = h->nlen == req->hdr[j].nlen &&
			    strncasecmp(h->name, req->hdr[j].name, h->nlen) == 0;
		if (repeated)
			continue;
		const char *sep = str_case_eq(h->name, h->nlen, "Cookie") ? "; " : ", ";
		struct buf joined;
		buf_init(&joined, req->head.len + 1);
		rc |= buf_append(&joined, h->value, h->vlen);
		for (size_t j = i + 1; j < req->nhdr; j++) {
			const struct header *o = &req->hdr[j];
			if (o->nlen == h->nlen && strncasecmp(o->name, h->name, h->nlen) == 0) {
				rc |= buf_append(&joined, sep, 2);
				rc |= buf_append(&joined, o->value, o->vlen);
			}
		}
		rc |= varlist_add(v, name, buf_head(&joined), buf_used(&joined));
		buf_free(&joined);
	}
	rc |= session_add_vars(req, v);
	return rc ? -1 : 0;
}
