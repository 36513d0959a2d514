/*
 * fuzz_ini: drover's config file and its --set layer (conf/config.c on
 * top of inih).
 *
 * Byte 0 picks the mode. Even: the rest is an ini file, loaded from a
 * memfd through its /proc path exactly as config_load_file opens any file,
 * then validated. Odd: the rest is NUL-separated section, key, value
 * triples given to config_set at the layer bits 1-2 pick. Either way the
 * config is freed (a leak fails the run), an error message must fit its
 * buffer, and a file error must name FILE:LINE as docs/design.md §9 promises.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz_ini: %s failed at line %d\n", #cond, __LINE__); \
	abort(); } } while (0)

static int memfd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memfd = memfd_create("fuzz.ini", MFD_CLOEXEC);
	if (memfd < 0)
		abort();
	snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
	return 0;
}

static void
check_err(const char *err, int rc)
{
	CHECK(memchr(err, '\0', CONFIG_ERR_MAX) != NULL);
	if (rc != 0)
		CHECK(err[0] != '\0');
}

static void
load(const uint8_t *data, size_t size)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	int rc;

	CHECK(ftruncate(memfd, 0) == 0);
	CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
	config_defaults(&c);
	memset(err, 0, sizeof err);
	rc = config_load_file(&c, path, err, sizeof err);
	check_err(err, rc);
	if (rc != 0) {
		/* "FILE:LINE: message", FILE being the input or, through
		 * `include`, a file it names (always an absolute path) */
		size_t plen = strlen(path);
		CHECK((strncmp(err, path, plen) == 0 && err[plen] == ':') ||
		    (err[0] == '/' && strchr(err, ':') != NULL));
	} else {
		memset(err, 0, sizeof err);
		check_err(err, config_validate(&c, err, sizeof err));
	}
	config_free(&c);
}

static void
set(const uint8_t *data, size_t size, int layer)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	const char *f[3];
	size_t off = 0;
	char *copy;

	/* A NUL-terminated copy: every field ends at a NUL. */
	CHECK((copy = malloc(size + 1)) != NULL);
	memcpy(copy, data, size);
	copy[size] = '\0';
	config_defaults(&c);
	for (int n = 0; n < 32 && off <= size; n++) {
		for (int i = 0; i < 3; i++) {
			f[i] = off <= size ? copy + off : "";
			off += strlen(f[i]) + 1;
		}
		memset(err, 0, sizeof err);
		check_err(err, config_set(&c, layer, f[0], f[1], f[2],
		    n & 1 ? "--set" : NULL, err, sizeof err));
	}
	memset(err, 0, sizeof err);
	check_err(err, config_validate(&c, err, sizeof err));
	config_free(&c);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0)
		load(data + 1, size - 1);
	else
		set(data + 1, size - 1, LAYER_FILE + ((data[0] >> 1) % 3));
	return 0;
}
