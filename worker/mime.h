/*
 * mime: Content-Type of a static file from its extension, read from
 * /etc/mime.types and then [app] mime_types (whose entries win).
 *
 * Owns the table; it is read once per worker on first use and never
 * changes after. It must not do I/O on the request path after that.
 */
#ifndef DROVER_MIME_H
#define DROVER_MIME_H

/* Reads a mime.types file into the table (later entries replace earlier
 * ones). Returns 0, or -1 if it could not be read. */
int mime_load(const char *path);

/* The type of a file name, "application/octet-stream" when unknown. extra
 * is [app] mime_types or NULL; the tables are loaded on the first call. */
const char *mime_type(const char *name, const char *extra);

/* Forgets every entry (tests). */
void mime_reset(void);

#endif
