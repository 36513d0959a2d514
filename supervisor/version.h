/*
 * version: what `drover -V` prints: the version, how this binary was
 * configured and compiled, and the version of every library it runs with
 * (the one loaded at run time where the library can tell, else the one it
 * was compiled against), as nginx -V does, for bug reports.
 *
 * It must not read the config or touch anything but the stream it writes.
 */
#ifndef DROVER_VERSION_H
#define DROVER_VERSION_H

#include <stdio.h>

void version_print(FILE *f);

#endif
