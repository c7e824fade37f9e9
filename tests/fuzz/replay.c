/*
 * replay.c - run a fuzz target over files without libFuzzer: every file
 * named on the command line, or every file of tests/fuzz/corpus/NAME/
 * (NAME is FUZZ_NAME, set by the Makefile), is passed once to
 * LLVMFuzzerTestOneInput.  Built with gcc (and with ASan+UBSan under
 * SAN=1) as build/tests/test_fuzz_NAME, so the committed corpus, with
 * every input that ever crashed a target, is replayed by make test.
 * A crash is the failure; exit status 0 means every input ran.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "build with -DFUZZ_NAME=\"target\""
#endif

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "test_fuzz_%s: %s: cannot open\n", FUZZ_NAME, path);
		return 1;
	}
	static unsigned char buf[FUZZ_MAX_INPUT + 1];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order. */
static int run_dir(const char *dir, int *count)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "test_fuzz_%s: %s: no corpus\n", FUZZ_NAME, dir);
		return 1;
	}
	char *names[4096];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 4096)
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof *names, cmp);
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		bad |= run_file(path);
		free(names[i]);
	}
	*count += (int)n;
	return bad;
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	int bad = 0, count = 0;
	if (argc < 2)
		bad = run_dir("tests/fuzz/corpus/" FUZZ_NAME, &count);
	for (int i = 1; i < argc; i++, count++)
		bad |= run_file(argv[i]);
	printf("test_fuzz_%s: %d inputs replayed%s\n", FUZZ_NAME, count,
	       bad ? ", some could not be read" : ", no crash");
	return bad || count == 0;
}
