/*
 * fuzz_util.c - in-memory files for the fuzz targets (fuzz.h).  The
 * readers under test take paths, so each input is written to a memfd and
 * read back through /proc/self/fd/N: no disk I/O, nothing left behind.
 */
#include "fuzz.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLOTS 4

static int fds[SLOTS] = {-1, -1, -1, -1};
static char paths[SLOTS][64];

const char *fuzz_file(int slot, const void *data, size_t n)
{
	if (slot < 0 || slot >= SLOTS)
		return NULL;
	if (fds[slot] < 0) {
		fds[slot] = memfd_create("allocsim-fuzz", 0);
		if (fds[slot] < 0)
			return NULL;
		snprintf(paths[slot], sizeof paths[slot], "/proc/self/fd/%d",
			 fds[slot]);
	}
	if (ftruncate(fds[slot], 0) != 0 ||
	    (n && pwrite(fds[slot], data, n, 0) != (ssize_t)n))
		return NULL;
	return paths[slot];
}
