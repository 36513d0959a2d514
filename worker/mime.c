/* mime: see mime.h. */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "worker/mime.h"

#define MIME_SLOTS 4096          /* /etc/mime.types has ~2000 extensions */
#define EXT_MAX 32

struct entry {
	char ext[EXT_MAX];          /* lower case, no dot; "" when free */
	char *type;
};

static struct entry table[MIME_SLOTS];
static size_t used;
static bool loaded;

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct entry *
slot_of(const char *ext)
{
	for (uint32_t i = hash(ext) % MIME_SLOTS, n = 0; n < MIME_SLOTS; n++, i = (i + 1) % MIME_SLOTS)
		if (table[i].ext[0] == '\0' || strcmp(table[i].ext, ext) == 0)
			return &table[i];
	return NULL;
}

static void
put(const char *ext, const char *type)
{
	struct entry *e = slot_of(ext);
	/* Keep the table at most three quarters full so lookups stay short. */
	if (e == NULL || (e->ext[0] == '\0' && used >= MIME_SLOTS * 3 / 4))
		return;
	char *t = strdup(type);
	if (t == NULL)
		return;
	if (e->ext[0] == '\0') {
		snprintf(e->ext, sizeof e->ext, "%s", ext);
		used++;
	}
	free(e->type);
	e->type = t;
}

int
mime_load(const char *path)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	char line[1024];
	while (fgets(line, sizeof line, f)) {
		char *save, *type = strtok_r(line, " \t\r\n", &save);
		if (type == NULL || type[0] == '#' || strchr(type, '/') == NULL)
			continue;
		for (char *ext = strtok_r(NULL, " \t\r\n", &save); ext; ext = strtok_r(NULL, " \t\r\n", &save)) {
			if (ext[0] == '#')
				break;
			if (strlen(ext) >= EXT_MAX)
				continue;
			for (char *p = ext; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			put(ext, type);
		}
	}
	fclose(f);
	return 0;
}

void
mime_reset(void)
{
	for (size_t i = 0; i < MIME_SLOTS; i++) {
		free(table[i].type);
		table[i].type = NULL;
		table[i].ext[0] = '\0';
	}
	used = 0;
	loaded = false;
}

const char *
mime_type(const char *name, const char *extra)
{
	if (!loaded) {
		loaded = true;
		if (mime_load("/etc/mime.types") < 0)
			log_warn("static", "mime_types=/etc/mime.types note=\"cannot read; files are application/octet-stream\"");
		if (extra && mime_load(extra) < 0)
			log_warn("static", "mime_types=%s note=\"cannot read\"", extra);
	}
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	const char *dot = strrchr(base, '.');
	if (dot == NULL || dot[1] == '\0' || strlen(dot + 1) >= EXT_MAX)
		return "application/octet-stream";
	char ext[EXT_MAX];
	size_t i = 0;
	for (const char *p = dot + 1; *p; p++)
		ext[i++] = (char)tolower((unsigned char)*p);
	ext[i] = '\0';
	struct entry *e = slot_of(ext);
	return e && e->type ? e->type : "application/octet-stream";
}
