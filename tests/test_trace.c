/*
 * test_trace.c - the trace reader and writer (sim/trace.c).
 *
 * Every error the format page lists is provoked from a table and must be
 * reported with the exact "FILE:LINE: message"; good traces must parse
 * into the right events; text, gzip and binary must convert into one
 * another byte for byte; trace_check must produce hand-computed numbers;
 * damaged gzip and binary files must give clear errors, never a crash
 * (run this under ASan and UBSan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace.h"

#define HDR "# allocsim-trace v1\n"

/* ---- helpers -------------------------------------------------------- */

struct fix {
	char dir[64];
	char path[4][256];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s", harness_tmpdir());
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	harness_rmtree(f->dir);
	free(f);
	return 0;
}

/* Path of a file named name in the fixture directory (slot 0..3). */
static const char *fpath(struct fix *f, int slot, const char *name)
{
	char buf[256];      /* name may not alias the slot */
	snprintf(buf, sizeof buf, "%s/%s", f->dir, name);
	memcpy(f->path[slot], buf, sizeof buf);
	return f->path[slot];
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static char *slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	long len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	char *p = malloc((size_t)len + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	p[len] = '\0';
	*n = (size_t)len;
	return p;
}

static int exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* Number of entries in dir other than . and .. */
static int count_files(const char *dir)
{
	char cmd[512], out[64];
	snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	return atoi(out);
}

/* Read path to the end; the first error's code (SIM_OK if none). */
static int read_all(const char *path, struct sim_err *err, uint64_t *events)
{
	struct trace_reader *r;
	struct sim_event ev;
	int rc = trace_open(path, &r, err);
	*events = 0;
	if (rc != SIM_OK)
		return rc;
	while ((rc = trace_next(r, &ev, err)) == SIM_OK && ev.kind != EV_END)
		++*events;
	trace_close(r);
	return rc;
}

/* Reading path must fail with code and exactly "path:" want. */
static void expect_error(const char *path, int code, const char *want)
{
	struct sim_err err = { 0 };
	char full[1024];
	uint64_t n;
	int rc = read_all(path, &err, &n);
	snprintf(full, sizeof full, "%s:%s", path, want);
	if (rc != code || strcmp(err.msg, full) != 0)
		fail_msg("%s\n  want [%s] %s\n  got  [%s] %s", path,
			 sim_rc_name(code), full, sim_rc_name(rc), err.msg);
}

static struct sim_event mkev(uint8_t kind, uint32_t tid, uint64_t id,
			     uint64_t id2, uint64_t size, uint64_t align)
{
	struct sim_event ev = { .kind = kind, .tid = tid, .id = id,
				.id2 = id2, .size = size, .align = align };
	return ev;
}

static void assert_event(const struct sim_event *got,
			 const struct sim_event *want)
{
	assert_int_equal(got->kind, want->kind);
	assert_int_equal(got->tid, want->tid);
	assert_int_equal(got->id, want->id);
	assert_int_equal(got->id2, want->id2);
	assert_int_equal(got->size, want->size);
	assert_int_equal(got->align, want->align);
	assert_int_equal(got->flags, 0);
	assert_null(got->label);
}

/* ---- text errors ---------------------------------------------------- */

struct text_case {
	const char *text;
	int code;
	const char *msg;        /* after "FILE:" */
};

static const struct text_case text_errors[] = {
	/* unknown event letter */
	{ HDR "x 0 1\n", SIM_ETRACE, "2: unknown event letter 'x'" },
	{ HDR "aa 0 1 16\n", SIM_ETRACE, "2: unknown event letter 'aa'" },
	{ HDR "p 0 start\n", SIM_ETRACE, "2: unknown event letter 'p'" },
	{ HDR "\n", SIM_ETRACE, "2: empty line" },
	/* wrong field count */
	{ HDR "a 0 1\n", SIM_ETRACE, "2: wrong field count for 'a': "
	  "expected 3 fields (TID ID SIZE), got 2" },
	{ HDR "a 0 1 16 \n", SIM_ETRACE, "2: wrong field count for 'a': "
	  "expected 3 fields (TID ID SIZE), got 4" },
	{ HDR "a 0  1 16\n", SIM_ETRACE, "2: wrong field count for 'a': "
	  "expected 3 fields (TID ID SIZE), got 4" },
	{ HDR "m 0 1 16\n", SIM_ETRACE, "2: wrong field count for 'm': "
	  "expected 4 fields (TID ID ALIGN SIZE), got 3" },
	{ HDR "r 0 0 1\n", SIM_ETRACE, "2: wrong field count for 'r': "
	  "expected 4 fields (TID OLD NEW SIZE), got 3" },
	{ HDR "f 0 1 2\n", SIM_ETRACE, "2: wrong field count for 'f': "
	  "expected 2 fields (TID ID), got 3" },
	{ HDR "g\n", SIM_ETRACE, "2: wrong field count for 'g': "
	  "expected 1 field (TID), got 0" },
	{ HDR "t 1 2\n", SIM_ETRACE, "2: wrong field count for 't': "
	  "expected 1 field (NS), got 2" },
	/* non-numeric field, each name */
	{ HDR "a x 1 16\n", SIM_ETRACE, "2: field TID is not a number: 'x'" },
	{ HDR "c 0 1a 16\n", SIM_ETRACE, "2: field ID is not a number: '1a'" },
	{ HDR "a 0 1 -5\n", SIM_ETRACE, "2: field SIZE is not a number: '-5'" },
	{ HDR "a 0 1 +5\n", SIM_ETRACE, "2: field SIZE is not a number: '+5'" },
	{ HDR "m 0 1 x16 32\n", SIM_ETRACE,
	  "2: field ALIGN is not a number: 'x16'" },
	{ HDR "r 0 ? 1 8\n", SIM_ETRACE, "2: field OLD is not a number: '?'" },
	{ HDR "r 0 0 one 8\n", SIM_ETRACE,
	  "2: field NEW is not a number: 'one'" },
	{ HDR "t 12.5\n", SIM_ETRACE, "2: field NS is not a number: '12.5'" },
	{ HDR "g 0x1\n", SIM_ETRACE, "2: field TID is not a number: '0x1'" },
	{ HDR "a 0 1 16\r\n", SIM_ETRACE,
	  "2: field SIZE is not a number: '16?'" },
	/* numbers out of range */
	{ HDR "a 4294967296 1 16\n", SIM_ETRACE,
	  "2: field TID is out of range: '4294967296'" },
	{ HDR "a 0 1 18446744073709551616\n", SIM_ETRACE,
	  "2: field SIZE is out of range: '18446744073709551616'" },
	{ HDR "a 0 1 18446744073709551615\n", SIM_ETRACE,
	  "2: field SIZE: size 18446744073709551615 is beyond 2^48" },
	{ HDR "a 0 1 281474976710657\n", SIM_ETRACE,
	  "2: field SIZE: size 281474976710657 is beyond 2^48" },
	{ HDR "a 0 1 8\nr 0 1 1 281474976710657\n", SIM_ETRACE,
	  "3: field SIZE: size 281474976710657 is beyond 2^48" },
	/* frees and reallocs of IDs that are not live */
	{ HDR "a 0 1 16\nf 0 1\nf 0 1\n", SIM_ETRACE,
	  "4: field ID: double free or unknown ID 1" },
	{ HDR "f 0 7\n", SIM_ETRACE,
	  "2: field ID: double free or unknown ID 7" },
	{ HDR "a 0 1 16\nf 0 0\n", SIM_ETRACE,
	  "3: field ID: double free or unknown ID 0" },
	{ HDR "a 0 1 16\nf 0 1\nr 0 1 2 32\n", SIM_ETRACE,
	  "4: field OLD: double free or unknown ID 1" },
	{ HDR "a 0 1 16\nr 0 1 2 32\nf 0 1\n", SIM_ETRACE,
	  "4: field ID: double free or unknown ID 1" },
	{ HDR "r 0 9 9 32\n", SIM_ETRACE,
	  "2: field OLD: double free or unknown ID 9" },
	/* IDs that are not the next unused one */
	{ HDR "a 0 2 16\n", SIM_ETRACE,
	  "2: field ID: ID 2 is not the next unused ID 1" },
	{ HDR "a 0 0 16\n", SIM_ETRACE,
	  "2: field ID: ID 0 is not the next unused ID 1" },
	{ HDR "a 0 1 16\nf 0 1\nm 0 1 8 16\n", SIM_ETRACE,
	  "4: field ID: ID 1 is not the next unused ID 2" },
	{ HDR "a 0 1 16\nr 0 1 5 32\n", SIM_ETRACE,
	  "3: field NEW: ID 5 is not the next unused ID 2" },
	{ HDR "r 0 0 3 32\n", SIM_ETRACE,
	  "2: field NEW: ID 3 is not the next unused ID 1" },
	{ HDR "r 0 0 0 32\n", SIM_ETRACE,
	  "2: field NEW: ID 0 is not the next unused ID 1" },
	/* alignment */
	{ HDR "m 0 1 24 32\n", SIM_ETRACE,
	  "2: field ALIGN: alignment 24 is not a power of two" },
	{ HDR "m 0 1 0 32\n", SIM_ETRACE,
	  "2: field ALIGN: alignment 0 is not a power of two" },
	/* clock */
	{ HDR "t 100\nt 99\n", SIM_ETRACE,
	  "3: field NS: clock goes backwards (99 after 100)" },
	/* header */
	{ "a 0 1 16\n", SIM_ETRACE, "1: missing header line "
	  "'# allocsim-trace v1'" },
	{ "", SIM_ETRACE, "1: missing header line '# allocsim-trace v1'" },
	{ "\n" HDR, SIM_ETRACE, "1: missing header line "
	  "'# allocsim-trace v1'" },
	{ "# allocsim-trace v2\n", SIM_ETRACE,
	  "1: unsupported trace version '2'" },
	/* line numbers count comments, metadata, a missing last newline */
	{ HDR "# program: x\n# plain comment\na 0 1 16\n# mid\nf 0 2\n",
	  SIM_ETRACE, "6: field ID: double free or unknown ID 2" },
	{ HDR "a 0 1 16\nf 0 2", SIM_ETRACE,
	  "3: field ID: double free or unknown ID 2" },
};

static void test_text_errors(void **state)
{
	struct fix *f = *state;
	for (size_t i = 0; i < sizeof text_errors / sizeof *text_errors; i++) {
		char name[32];
		snprintf(name, sizeof name, "err%zu.trace", i);
		const char *p = fpath(f, 0, name);
		assert_int_equal(harness_write_file(p, text_errors[i].text), 0);
		expect_error(p, text_errors[i].code, text_errors[i].msg);
	}
}

/* After an error the reader refuses to go on instead of guessing. */
static void test_no_reading_past_error(void **state)
{
	struct fix *f = *state;
	const char *p = fpath(f, 0, "e.trace");
	struct trace_reader *r;
	struct sim_event ev;
	struct sim_err err;
	assert_int_equal(harness_write_file(p, HDR "f 0 1\na 0 1 8\n"), 0);
	assert_sim_ok(trace_open(p, &r, &err), &err);
	assert_int_equal(trace_next(r, &ev, &err), SIM_ETRACE);
	assert_int_equal(trace_next(r, &ev, &err), SIM_ETRACE);
	assert_int_equal(ev.kind, EV_END);
	trace_close(r);
}

static void test_open_errors(void **state)
{
	struct fix *f = *state;
	struct trace_reader *r = (void *)1;
	struct sim_err err;
	char want[512];
	const char *p = fpath(f, 0, "missing.trace");
	assert_int_equal(trace_open(p, &r, &err), SIM_EIO);
	assert_null(r);
	snprintf(want, sizeof want, "%s: No such file or directory", p);
	assert_string_equal(err.msg, want);
	/* a directory cannot be read as a trace */
	assert_int_not_equal(trace_open(f->dir, &r, &err), SIM_OK);
	assert_null(r);
}

/* A comment line longer than a read block is refused, not a crash. */
static void test_line_too_long(void **state)
{
	struct fix *f = *state;
	size_t n = (3u << 19) + 100;
	char *text = malloc(n + 64);
	assert_non_null(text);
	strcpy(text, HDR "#");
	memset(text + strlen(text), 'x', n);
	strcpy(text + strlen(HDR) + 1 + n, "\na 0 1 8\n");
	const char *p = fpath(f, 0, "long.trace");
	assert_int_equal(harness_write_file(p, text), 0);
	free(text);
	expect_error(p, SIM_ETRACE, "2: line longer than 1048576 bytes");
}

/* ---- good text ------------------------------------------------------ */

static const char good_text[] =
	HDR
	"# program: demo app\n"
	"# threads: 2\n"
	"# a plain comment\n"
	"# key:value without the space is a plain comment\n"
	"a 0 1 16\n"
	"c 1 2 0\n"
	"m 0 3 64 100\n"
	"r 1 2 4 200\n"
	"r 0 3 3 300\n"
	"# a comment between events\n"
	"r 0 0 5 10\n"
	"g 1\n"
	"t 5\n"
	"t 5\n"
	"f 1 4\n"
	"f 0 5\n"
	"m 4294967295 6 1099511627776 281474976710656\n"
	"t 18446744073709551615\n";

static void test_good_text(void **state)
{
	struct fix *f = *state;
	const char *p = fpath(f, 0, "good.trace");
	const struct sim_event want[] = {
		mkev(EV_ALLOC, 0, 1, 0, 16, 0),
		mkev(EV_CALLOC, 1, 2, 0, 0, 0),
		mkev(EV_MEMALIGN, 0, 3, 0, 100, 64),
		mkev(EV_REALLOC, 1, 2, 4, 200, 0),
		mkev(EV_REALLOC, 0, 3, 3, 300, 0),
		mkev(EV_REALLOC, 0, 0, 5, 10, 0),
		mkev(EV_GC, 1, 0, 0, 0, 0),
		mkev(EV_CLOCK, 0, 0, 0, 5, 0),
		mkev(EV_CLOCK, 0, 0, 0, 5, 0),
		mkev(EV_FREE, 1, 4, 0, 0, 0),
		mkev(EV_FREE, 0, 5, 0, 0, 0),
		mkev(EV_MEMALIGN, 4294967295u, 6, 0, 281474976710656ull,
		     1099511627776ull),
		mkev(EV_CLOCK, 0, 0, 0, UINT64_MAX, 0),
	};
	const uint64_t lines[] = { 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17,
				   18, 19 };
	struct trace_reader *r;
	struct sim_event ev;
	struct sim_err err;
	assert_int_equal(harness_write_file(p, good_text), 0);
	assert_sim_ok(trace_open(p, &r, &err), &err);
	assert_int_equal(trace_reader_format(r), TRACE_TEXT);
	assert_string_equal(trace_meta(r, "program"), "demo app");
	assert_string_equal(trace_meta(r, "threads"), "2");
	assert_null(trace_meta(r, "key"));
	assert_null(trace_meta(r, "a"));
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		assert_sim_ok(trace_next(r, &ev, &err), &err);
		assert_event(&ev, &want[i]);
		assert_int_equal(trace_line(r), lines[i]);
	}
	assert_sim_ok(trace_next(r, &ev, &err), &err);
	assert_int_equal(ev.kind, EV_END);
	assert_sim_ok(trace_next(r, &ev, &err), &err);
	assert_int_equal(ev.kind, EV_END);
	trace_close(r);
}

/* A header alone, and a last line without its newline. */
static void test_edge_text(void **state)
{
	struct fix *f = *state;
	struct sim_err err;
	uint64_t n;
	const char *p = fpath(f, 0, "h.trace");
	assert_int_equal(harness_write_file(p, "# allocsim-trace v1"), 0);
	assert_sim_ok(read_all(p, &err, &n), &err);
	assert_int_equal(n, 0);
	assert_int_equal(harness_write_file(p, HDR "a 0 1 8\nf 0 1"), 0);
	assert_sim_ok(read_all(p, &err, &n), &err);
	assert_int_equal(n, 2);
}

/* ---- a large trace: lines across read-block boundaries --------------- */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The i-th event of a deterministic valid trace (alloc/free mix). */
static struct sim_event gen_event(uint64_t *seed, uint64_t *next,
				  uint64_t *pool, size_t *np)
{
	uint64_t x = rng_next(seed);
	uint32_t tid = (uint32_t)(x >> 60);
	uint64_t size = (rng_next(seed) % 100000) >> (x % 16);
	if (*np > 0 && (x % 3 == 0 || *np == 1000)) {
		size_t j = (size_t)(rng_next(seed) % *np);
		uint64_t id = pool[j];
		pool[j] = pool[--*np];
		return mkev(EV_FREE, tid, id, 0, 0, 0);
	}
	if (*np > 0 && x % 7 == 1) {
		size_t j = (size_t)(rng_next(seed) % *np);
		uint64_t old = pool[j];
		uint64_t nw = x % 2 ? old : (*next)++;
		pool[j] = nw;
		return mkev(EV_REALLOC, tid, old, nw, size, 0);
	}
	if (x % 11 == 2)    /* never goes backwards: next only grows */
		return mkev(EV_CLOCK, 0, 0, 0, *next << 20, 0);
	pool[(*np)++] = *next;
	if (x % 5 == 4)
		return mkev(EV_MEMALIGN, tid, (*next)++, 0, size,
			    (uint64_t)1 << (x % 13));
	return mkev(x % 2 ? EV_ALLOC : EV_CALLOC, tid, (*next)++, 0, size, 0);
}

#define BIG_EVENTS 300000

/* Write the generated trace as text by hand, with comment lines of
 * varying length, so lines straddle the 1 MiB read blocks.  With bad, a
 * last line frees an ID never born; *last_line is its number. */
static void write_big_text(const char *path, int bad, uint64_t *last_line)
{
	FILE *fp = fopen(path, "w");
	uint64_t seed = 42, next = 1, line = 1, pool[1000];
	size_t np = 0;
	assert_non_null(fp);
	fputs(HDR, fp);
	for (int i = 0; i < BIG_EVENTS; i++) {
		struct sim_event ev = gen_event(&seed, &next, pool, &np);
		if (i % 997 == 0) {
			fprintf(fp, "# %*s\n", i % 5000, "filler");
			line++;
		}
		fputc(ev.kind, fp);
		if (ev.kind != EV_CLOCK)
			fprintf(fp, " %u", ev.tid);
		if (ev.kind == EV_REALLOC)
			fprintf(fp, " %lu %lu", (unsigned long)ev.id,
				(unsigned long)ev.id2);
		else if (ev.kind != EV_CLOCK)
			fprintf(fp, " %lu", (unsigned long)ev.id);
		if (ev.kind == EV_MEMALIGN)
			fprintf(fp, " %lu", (unsigned long)ev.align);
		if (ev.kind != EV_FREE)
			fprintf(fp, " %lu", (unsigned long)ev.size);
		fputc('\n', fp);
		line++;
	}
	if (bad)
		fprintf(fp, "f 0 %lu\n", (unsigned long)next);
	*last_line = line + 1;
	assert_int_equal(fclose(fp), 0);
}

static void test_big_text(void **state)
{
	struct fix *f = *state;
	const char *p = fpath(f, 0, "big.trace");
	uint64_t seed = 42, next = 1, pool[1000], last;
	size_t np = 0;
	struct trace_reader *r;
	struct sim_event ev;
	struct sim_err err;
	char want[512];
	write_big_text(p, 1, &last);
	assert_sim_ok(trace_open(p, &r, &err), &err);
	for (int i = 0; i < BIG_EVENTS; i++) {
		struct sim_event w = gen_event(&seed, &next, pool, &np);
		assert_sim_ok(trace_next(r, &ev, &err), &err);
		assert_event(&ev, &w);
	}
	assert_int_equal(trace_next(r, &ev, &err), SIM_ETRACE);
	snprintf(want, sizeof want, "%s:%lu: field ID: double free or "
		 "unknown ID %lu", p, (unsigned long)last,
		 (unsigned long)next);
	assert_string_equal(err.msg, want);
	trace_close(r);
}

/* ---- conversions ---------------------------------------------------- */

/* Canonical text: header, metadata, events; every kind and extreme
 * values (IDs referenced far behind, huge sizes and clock steps). */
static const char canon[] =
	HDR
	"# program: /usr/bin/demo --flag\n"
	"# threads: 3\n"
	"# empty: \n"
	"a 0 1 16\n"
	"a 0 2 0\n"
	"c 1 3 4096\n"
	"m 2 4 4096 100\n"
	"m 2 5 9223372036854775808 281474976710656\n"
	"r 1 1 6 32\n"
	"r 1 6 6 64\n"
	"r 0 0 7 8\n"
	"t 0\n"
	"t 18446744073709551615\n"
	"f 4294967295 2\n"
	"g 4294967295\n"
	"f 0 7\n"
	"f 1 6\n"
	"a 2 8 1\n"
	"f 2 3\n"
	"f 2 8\n";

static void assert_same_file(const char *a, const char *b)
{
	size_t na, nb;
	char *pa = slurp(a, &na), *pb = slurp(b, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(pa, pb, na);
	free(pa);
	free(pb);
}

static void assert_format(const char *path, enum trace_format fmt)
{
	struct trace_reader *r;
	struct sim_err err;
	assert_sim_ok(trace_open(path, &r, &err), &err);
	assert_int_equal(trace_reader_format(r), fmt);
	trace_close(r);
}

/* text -> gzip -> binary -> text is byte-identical, and each step is
 * readable as what it claims to be. */
static void test_round_trip(void **state)
{
	struct fix *f = *state;
	struct sim_err err;
	const char *txt = fpath(f, 0, "canon.trace");
	const char *gz = fpath(f, 1, "canon.trace.gz");
	const char *bin = fpath(f, 2, "canon.atb");
	const char *back = fpath(f, 3, "back.trace");
	assert_int_equal(harness_write_file(txt, canon), 0);
	assert_sim_ok(trace_convert(txt, gz, TRACE_GZIP, &err), &err);
	assert_format(gz, TRACE_GZIP);
	assert_sim_ok(trace_convert(gz, bin, TRACE_BINARY, &err), &err);
	assert_format(bin, TRACE_BINARY);
	assert_sim_ok(trace_convert(bin, back, TRACE_TEXT, &err), &err);
	assert_format(back, TRACE_TEXT);
	assert_same_file(txt, back);
	/* and binary -> gzip -> text, and text -> binary -> binary */
	assert_sim_ok(trace_convert(bin, gz, TRACE_GZIP, &err), &err);
	assert_sim_ok(trace_convert(gz, back, TRACE_TEXT, &err), &err);
	assert_same_file(txt, back);
	assert_sim_ok(trace_convert(bin, back, TRACE_BINARY, &err), &err);
	assert_same_file(bin, back);
	assert_int_equal(count_files(f->dir), 4);   /* no temporaries left */
}

/* The binary form is compact: the canonical trace above stores new IDs
 * implicitly, so it is much smaller than its text. */
static void test_binary_is_compact(void **state)
{
	struct fix *f = *state;
	struct sim_err err;
	size_t nt, nb;
	const char *txt = fpath(f, 0, "canon.trace");
	const char *bin = fpath(f, 1, "canon.atb");
	assert_int_equal(harness_write_file(txt, canon), 0);
	assert_sim_ok(trace_convert(txt, bin, TRACE_BINARY, &err), &err);
	free(slurp(txt, &nt));
	free(slurp(bin, &nb));
	assert_true(nb * 2 < nt);
}

/* Comments after the metadata are dropped by a conversion; metadata
 * survives; the big generated trace survives every format. */
static void test_round_trip_big(void **state)
{
	struct fix *f = *state;
	struct sim_err err;
	struct trace_stats s1, s2, s3;
	uint64_t last;
	const char *txt = fpath(f, 0, "big.trace");
	const char *bin = fpath(f, 1, "big.atb");
	const char *gz = fpath(f, 2, "big.trace.gz");
	const char *back = fpath(f, 3, "back.trace");
	write_big_text(txt, 0, &last);
	assert_sim_ok(trace_convert(txt, bin, TRACE_BINARY, &err), &err);
	assert_sim_ok(trace_convert(bin, gz, TRACE_GZIP, &err), &err);
	assert_sim_ok(trace_convert(gz, back, TRACE_TEXT, &err), &err);
	assert_sim_ok(trace_check(txt, &s1, &err), &err);
	assert_sim_ok(trace_check(bin, &s2, &err), &err);
	assert_sim_ok(trace_check(back, &s3, &err), &err);
	assert_int_equal(s1.events, BIG_EVENTS);
	assert_memory_equal(&s1, &s2, sizeof s1);
	assert_memory_equal(&s1, &s3, sizeof s1);
	/* back has no comments: converting it again is a fixed point */
	assert_sim_ok(trace_convert(back, bin, TRACE_BINARY, &err), &err);
	assert_sim_ok(trace_convert(bin, gz, TRACE_TEXT, &err), &err);
	assert_same_file(back, gz);
}

static void test_comments_dropped(void **state)
{
	struct fix *f = *state;
	struct sim_err err;
	size_t n;
	const char *in = fpath(f, 0, "c.trace");
	const char *out = fpath(f, 1, "c.atb");
	const char *back = fpath(f, 2, "back.trace");
	assert_int_equal(harness_write_file(in, HDR "# program: x\n# hello\n"
					    "# user: me\na 0 1 8\n# bye\n"
					    "f 0 1\n"), 0);
	assert_sim_ok(trace_convert(in, out, TRACE_BINARY, &err), &err);
	assert_sim_ok(trace_convert(out, back, TRACE_TEXT, &err), &err);
	char *t = slurp(back, &n);
	assert_string_equal(t, HDR "# program: x\n# user: me\na 0 1 8\n"
			    "f 0 1\n");
	free(t);
}

/* Formats are recognised by content, not by name. */
static void test_detect_by_content(void **state)
{
	struct fix *f = *state;
	struct sim_err err;
	const char *txt = fpath(f, 0, "x.trace");
	const char *gz = fpath(f, 1, "really-gzip.trace");
	const char *bin = fpath(f, 2, "really-binary.txt");
	const char *fake = fpath(f, 3, "plain.gz");
	assert_int_equal(harness_write_file(txt, canon), 0);
	assert_sim_ok(trace_convert(txt, gz, TRACE_GZIP, &err), &err);
	assert_sim_ok(trace_convert(txt, bin, TRACE_BINARY, &err), &err);
	assert_sim_ok(trace_convert(txt, fake, TRACE_TEXT, &err), &err);
	assert_format(gz, TRACE_GZIP);
	assert_format(bin, TRACE_BINARY);
	assert_format(fake, TRACE_TEXT);
}

static void test_format_for_path(void **state)
{
	(void)state;
	assert_int_equal(trace_format_for_path("a.atb"), TRACE_BINARY);
	assert_int_equal(trace_format_for_path("dir/a.bin"), TRACE_BINARY);
	assert_int_equal(trace_format_for_path("a.trace.gz"), TRACE_GZIP);
	assert_int_equal(trace_format_for_path("a.gz"), TRACE_GZIP);
	assert_int_equal(trace_format_for_path("a.trace"), TRACE_TEXT);
	assert_int_equal(trace_format_for_path("atb"), TRACE_TEXT);
	assert_int_equal(trace_format_for_path("a.gz.txt"), TRACE_TEXT);
	assert_int_equal(trace_format_for_path(""), TRACE_TEXT);
}

/* A failed conversion leaves no output and no temporary behind. */
static void test_convert_error_leaves_nothing(void **state)
{
	struct fix *f = *state;
	struct sim_err err;
	const char *in = fpath(f, 0, "bad.trace");
	const char *out = fpath(f, 1, "out.atb");
	char want[512];
	assert_int_equal(harness_write_file(in, HDR "a 0 1 8\nf 0 2\n"), 0);
	assert_int_equal(trace_convert(in, out, TRACE_BINARY, &err),
			 SIM_ETRACE);
	snprintf(want, sizeof want, "%s:3: field ID: double free or unknown "
		 "ID 2", in);
	assert_string_equal(err.msg, want);
	assert_false(exists(out));
	assert_int_equal(count_files(f->dir), 1);
}

/* ---- writer --------------------------------------------------------- */

static void test_writer_temp_and_rename(void **state)
{
	struct fix *f = *state;
	struct trace_writer *w;
	struct sim_err err;
	char tmp[300];
	const char *p = fpath(f, 0, "w.trace");
	struct sim_event ev = mkev(EV_ALLOC, 0, 1, 0, 8, 0);
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
	assert_sim_ok(trace_writer_open(p, TRACE_TEXT, &w, &err), &err);
	assert_sim_ok(trace_write_meta(w, "program", "t", &err), &err);
	assert_sim_ok(trace_write(w, &ev, &err), &err);
	assert_true(exists(tmp));
	assert_false(exists(p));
	assert_sim_ok(trace_writer_close(w, &err), &err);
	assert_false(exists(tmp));
	size_t n;
	char *t = slurp(p, &n);
	assert_string_equal(t, HDR "# program: t\na 0 1 8\n");
	free(t);
	/* abort removes the temporary and leaves the old file alone */
	assert_sim_ok(trace_writer_open(p, TRACE_GZIP, &w, &err), &err);
	assert_sim_ok(trace_write(w, &ev, &err), &err);
	assert_true(exists(tmp));
	trace_writer_abort(w);
	assert_false(exists(tmp));
	t = slurp(p, &n);
	assert_string_equal(t, HDR "# program: t\na 0 1 8\n");
	free(t);
}

/* An empty writer still produces a valid (empty) trace in each form. */
static void test_writer_empty(void **state)
{
	struct fix *f = *state;
	const enum trace_format fmts[] = { TRACE_TEXT, TRACE_GZIP,
					   TRACE_BINARY };
	struct trace_writer *w;
	struct sim_err err;
	uint64_t n;
	for (size_t i = 0; i < 3; i++) {
		const char *p = fpath(f, 0, "empty");
		assert_sim_ok(trace_writer_open(p, fmts[i], &w, &err), &err);
		assert_sim_ok(trace_writer_close(w, &err), &err);
		assert_sim_ok(read_all(p, &err, &n), &err);
		assert_int_equal(n, 0);
		assert_format(p, fmts[i]);
	}
}

struct wcase {
	struct sim_event ev;
	const char *msg;        /* after "PATH: " */
};

/* The writer validates like the reader, so what it writes reads back. */
static void test_writer_rejects(void **state)
{
	struct fix *f = *state;
	const struct wcase cases[] = {
		{ mkev(EV_ALLOC, 0, 5, 0, 8, 0),
		  "event 2: field ID: ID 5 is not the next unused ID 2" },
		{ mkev(EV_FREE, 0, 9, 0, 0, 0),
		  "event 2: field ID: double free or unknown ID 9" },
		{ mkev(EV_MEMALIGN, 0, 2, 0, 8, 3),
		  "event 2: field ALIGN: alignment 3 is not a power of two" },
		{ mkev(EV_CALLOC, 0, 2, 0, SIM_MAX_SIZE + 1, 0),
		  "event 2: field SIZE: size 281474976710657 is beyond 2^48" },
		{ mkev(EV_CLOCK, 0, 0, 0, 1, 0),
		  "event 2: field NS: clock goes backwards (1 after 10)" },
		{ mkev(EV_PHASE, 0, 0, 0, 0, 0),
		  "event 2: event kind 112 has no trace form" },
		{ mkev(EV_END, 0, 0, 0, 0, 0),
		  "event 2: event kind 0 has no trace form" },
	};
	const char *p = fpath(f, 0, "w.atb");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct trace_writer *w;
		struct sim_err err;
		struct sim_event first = mkev(EV_ALLOC, 0, 1, 0, 8, 0);
		struct sim_event clock = mkev(EV_CLOCK, 0, 0, 0, 10, 0);
		char want[512];
		assert_sim_ok(trace_writer_open(p, TRACE_BINARY, &w, &err),
			      &err);
		assert_sim_ok(trace_write(w, cases[i].ev.kind == EV_CLOCK
					  ? &clock : &first, &err), &err);
		assert_int_equal(trace_write(w, &cases[i].ev, &err),
				 SIM_EINVAL);
		snprintf(want, sizeof want, "%s: %s", p, cases[i].msg);
		assert_string_equal(err.msg, want);
		trace_writer_abort(w);
	}
	assert_int_equal(count_files(f->dir), 0);
}

static void test_writer_meta_rules(void **state)
{
	struct fix *f = *state;
	struct trace_writer *w;
	struct sim_err err;
	struct sim_event ev = mkev(EV_GC, 0, 0, 0, 0, 0);
	const char *p = fpath(f, 0, "m.trace");
	assert_sim_ok(trace_writer_open(p, TRACE_TEXT, &w, &err), &err);
	assert_int_equal(trace_write_meta(w, "two words", "x", &err),
			 SIM_EINVAL);
	assert_int_equal(trace_write_meta(w, "", "x", &err), SIM_EINVAL);
	assert_int_equal(trace_write_meta(w, "k", "a\nb", &err), SIM_EINVAL);
	assert_sim_ok(trace_write_meta(w, "k.v-1_x", "any: text", &err),
		      &err);
	assert_sim_ok(trace_write(w, &ev, &err), &err);
	assert_int_equal(trace_write_meta(w, "late", "x", &err), SIM_EINVAL);
	assert_sim_ok(trace_writer_close(w, &err), &err);
	struct trace_reader *r;
	assert_sim_ok(trace_open(p, &r, &err), &err);
	assert_string_equal(trace_meta(r, "k.v-1_x"), "any: text");
	trace_close(r);
	/* a writer into a missing directory fails cleanly */
	assert_int_equal(trace_writer_open(fpath(f, 1, "no/such/dir.trace"),
					   TRACE_TEXT, &w, &err), SIM_EIO);
	assert_null(w);
}

/* ---- trace_check ---------------------------------------------------- */

static const char stats_text[] =
	HDR
	"# program: stats\n"
	"a 0 1 100\n"                   /* live {1:100}              */
	"c 1 2 0\n"                     /* + 2:0                     */
	"m 2 3 64 4096\n"               /* + 3:4096     3 objs 4196  */
	"t 50\n"
	"r 1 1 1 200\n"                 /* 1: 100->200  3 objs 4296  */
	"r 0 2 4 1000\n"                /* 2 -> 4:1000  3 objs 5296  */
	"f 2 3\n"                       /* 2 objs 1200               */
	"r 0 0 5 1\n"                   /* + 5:1        3 objs 1201  */
	"g 0\n"
	"t 70\n"
	"f 0 1\n"                       /* 2 objs 1001               */
	"a 3 6 281474976710656\n"       /* 3 objs 1001 + 2^48 (peak) */
	"f 3 6\n"                       /* 2 objs 1001               */
	"a 0 7 5000000000\n"            /* 3 objs 5000001001         */
	"r 0 7 7 10\n"                  /* 3 objs 1011               */
	"f 0 7\n";                      /* 2 objs 1001               */

static void test_check_stats(void **state)
{
	struct fix *f = *state;
	struct trace_stats st;
	struct sim_err err;
	const char *p = fpath(f, 0, "stats.trace");
	const char *bin = fpath(f, 1, "stats.atb");
	assert_int_equal(harness_write_file(p, stats_text), 0);
	assert_sim_ok(trace_check(p, &st, &err), &err);
	assert_int_equal(st.events, 16);
	assert_int_equal(st.by_kind['a'], 3);
	assert_int_equal(st.by_kind['c'], 1);
	assert_int_equal(st.by_kind['m'], 1);
	assert_int_equal(st.by_kind['r'], 4);
	assert_int_equal(st.by_kind['f'], 4);
	assert_int_equal(st.by_kind['g'], 1);
	assert_int_equal(st.by_kind['t'], 2);
	assert_int_equal(st.threads, 4);
	assert_int_equal(st.live_objects, 2);
	assert_int_equal(st.peak_live_objects, 3);
	assert_int_equal(st.live_bytes, 1001);
	assert_int_equal(st.peak_live_bytes, 281474976711657ull);
	assert_int_equal(st.total_bytes, 281479976716063ull);
	assert_int_equal(st.last_ns, 70);
	uint64_t hist[TRACE_HIST_BUCKETS + 1] = { 0 };
	hist[0] = 1;            /* 1 */
	hist[3] = 1;            /* 10 */
	hist[6] = 1;            /* 100 */
	hist[7] = 1;            /* 200 */
	hist[9] = 1;            /* 1000 */
	hist[12] = 1;           /* 4096 */
	hist[32] = 1;           /* 5000000000 */
	hist[48] = 1;           /* 2^48 */
	hist[TRACE_HIST_BUCKETS] = 1;   /* 0 */
	assert_memory_equal(st.size_hist, hist, sizeof hist);
	/* the same numbers from the binary form */
	struct trace_stats sb;
	assert_sim_ok(trace_convert(p, bin, TRACE_BINARY, &err), &err);
	assert_sim_ok(trace_check(bin, &sb, &err), &err);
	assert_memory_equal(&st, &sb, sizeof st);
}

static void test_check_error(void **state)
{
	struct fix *f = *state;
	struct trace_stats st;
	struct sim_err err;
	char want[512];
	const char *p = fpath(f, 0, "bad.trace");
	assert_int_equal(harness_write_file(p, HDR "a 0 1 8\nt 9\nt 8\n"), 0);
	assert_int_equal(trace_check(p, &st, &err), SIM_ETRACE);
	snprintf(want, sizeof want, "%s:4: field NS: clock goes backwards "
		 "(8 after 9)", p);
	assert_string_equal(err.msg, want);
	assert_int_equal(trace_check(fpath(f, 1, "none"), &st, &err),
			 SIM_EIO);
}

/* ---- damaged gzip --------------------------------------------------- */

/* Write n generated events to path in format fmt. */
static void write_generated(const char *path, enum trace_format fmt, int n)
{
	struct trace_writer *w;
	struct sim_err err;
	uint64_t seed = 7, next = 1, pool[1000];
	size_t np = 0;
	assert_sim_ok(trace_writer_open(path, fmt, &w, &err), &err);
	assert_sim_ok(trace_write_meta(w, "program", "gen", &err), &err);
	for (int i = 0; i < n; i++) {
		struct sim_event ev = gen_event(&seed, &next, pool, &np);
		assert_sim_ok(trace_write(w, &ev, &err), &err);
	}
	assert_sim_ok(trace_writer_close(w, &err), &err);
}

static void test_truncated_gzip(void **state)
{
	struct fix *f = *state;
	struct sim_err err;
	struct trace_stats st;
	size_t n;
	const char *gz = fpath(f, 0, "t.trace.gz");
	const char *cut = fpath(f, 1, "cut.trace.gz");
	write_generated(gz, TRACE_GZIP, 50000);
	char *data = slurp(gz, &n);
	const size_t lens[] = { n / 2, n - 9, n - 1, 20, 11 };
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		write_bytes(cut, data, lens[i]);
		assert_int_equal(trace_check(cut, &st, &err), SIM_ETRACE);
		assert_memory_equal(err.msg, cut, strlen(cut));
		assert_non_null(strstr(err.msg, ": corrupt or truncated gzip "
				       "data (unexpected end of file)"));
	}
	/* damage in the middle: a clean error, whichever it is */
	memset(data + n / 2, 0x55, 64);
	write_bytes(cut, data, n);
	assert_int_equal(trace_check(cut, &st, &err), SIM_ETRACE);
	assert_memory_equal(err.msg, cut, strlen(cut));
	free(data);
}

/* ---- damaged binary ------------------------------------------------- */

struct bin_case {
	const char *bytes;
	size_t len;
	const char *msg;        /* after "FILE:" */
};

#define B(s) s, sizeof(s) - 1
#define BH "ATRB\x01\x01\x00"   /* magic, version 1, no metadata */

static const struct bin_case bin_errors[] = {
	{ B("ATRB\x01"), "0: truncated binary header" },
	{ B("ATRB\x01\x02\x00\x00\x00"),
	  "0: unsupported binary trace version 2" },
	{ B("ATRB\x01\x01\xff\xff\xff\x7f"),
	  "0: 268435455 metadata entries is too many" },
	{ B("ATRB\x01\x01\x01\x05" "ab"), "0: truncated metadata key" },
	{ B("ATRB\x01\x01\x01\x80"), "0: field key: truncated record" },
	{ B("ATRB\x01\x01\x01\x01" "a" "\xf0\xa2\x04"),
	  "0: metadata value of 70000 bytes is too long" },
	{ B("ATRB\x01\x01\x01\x03" "a b" "\x01" "x"),
	  "0: bad metadata entry 'a b'" },
	{ B("ATRB\x01\x01\x01\x01" "k" "\x03" "a\nb"),
	  "0: bad metadata entry 'k'" },
	{ B(BH), "1: truncated binary trace: no end record" },
	{ B(BH "\x01\x00\x08"), "2: truncated binary trace: no end record" },
	{ B(BH "\x0f"), "1: bad record kind byte 0x0f" },
	{ B(BH "\x08\x00"), "1: bad record kind byte 0x08" },
	{ B(BH "\x21\x00\x08"), "1: bad record kind byte 0x21" },
	{ B(BH "\x17\x05"), "1: bad record kind byte 0x17" },
	{ B(BH "\x64\x00\x08"), "1: bad record kind byte 0x64" },
	{ B(BH "\x80"), "1: bad record kind byte 0x80" },
	{ B(BH "\x01\x00\x80"), "1: field SIZE: truncated record" },
	{ B(BH "\x01\x80"), "1: field TID: truncated record" },
	{ B(BH "\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00"),
	  "1: field SIZE: varint overflows 64 bits" },
	{ B(BH "\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
	  "1: field SIZE: varint overflows 64 bits" },
	{ B(BH "\x01\x00\x81\x80\x80\x80\x80\x80\x40\x00"),
	  "1: field SIZE: size 281474976710657 is beyond 2^48" },
	{ B(BH "\x01\x80\x80\x80\x80\x10\x08\x00"),
	  "1: field TID is out of range: 4294967296" },
	{ B(BH "\x05\x00\x02\x00"),
	  "1: field ID: double free or unknown ID 1" },
	{ B(BH "\x01\x00\x10\x15\x00\x15\x00\x00\x03"),
	  "3: field ID: double free or unknown ID 1" },
	{ B(BH "\x04\x00\x02\x08\x00"),
	  "1: field OLD: double free or unknown ID 1" },
	{ B(BH "\x44\x00\x01\x08\x00"),
	  "1: field OLD: double free or unknown ID 18446744073709551615" },
	{ B(BH "\x03\x00\x40\x08\x00"),
	  "1: field ALIGN: alignment 2^64 is too large" },
	{ B(BH "\x07\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x07\x01\x00"),
	  "2: field NS: clock overflows" },
	{ B(BH "\x00\x05"), "1: end record counts 5 records, found 0" },
	{ B(BH "\x01\x00\x08\x00\x00"),
	  "2: end record counts 0 records, found 1" },
	{ B(BH "\x00\x00\x01"), "1: data after the end record" },
	{ B(BH "\x00"), "1: field count: truncated record" },
};

static void test_binary_errors(void **state)
{
	struct fix *f = *state;
	for (size_t i = 0; i < sizeof bin_errors / sizeof *bin_errors; i++) {
		char name[32];
		snprintf(name, sizeof name, "bad%zu.atb", i);
		const char *p = fpath(f, 0, name);
		write_bytes(p, bin_errors[i].bytes, bin_errors[i].len);
		expect_error(p, SIM_ETRACE, bin_errors[i].msg);
	}
}

/* Hand-made records decode to the events they encode. */
static void test_binary_records(void **state)
{
	struct fix *f = *state;
	static const char bytes[] =
		"ATRB\x01\x01\x01\x01" "k" "\x01" "v"
		"\x01\x03\x80\x01"      /* a 3 1 128 */
		"\x13\x04\x00"          /* m 3 2 16 0 (same TID) */
		"\x34\x05"              /* r 3 0 3 5 */
		"\x54\x03\x06"          /* r 3 1 1 6 (delta -2) */
		"\x05\x02\x02"          /* f 2 2 (delta +1) */
		"\x06\x09"              /* g 9 */
		"\x07\x80\x08"          /* t 1024 */
		"\x07\x00"              /* t 1024 */
		"\x00\x08";
	const struct sim_event want[] = {
		mkev(EV_ALLOC, 3, 1, 0, 128, 0),
		mkev(EV_MEMALIGN, 3, 2, 0, 0, 16),
		mkev(EV_REALLOC, 3, 0, 3, 5, 0),
		mkev(EV_REALLOC, 3, 1, 1, 6, 0),
		mkev(EV_FREE, 2, 2, 0, 0, 0),
		mkev(EV_GC, 9, 0, 0, 0, 0),
		mkev(EV_CLOCK, 0, 0, 0, 1024, 0),
		mkev(EV_CLOCK, 0, 0, 0, 1024, 0),
	};
	const char *p = fpath(f, 0, "rec.atb");
	struct trace_reader *r;
	struct sim_event ev;
	struct sim_err err;
	write_bytes(p, bytes, sizeof bytes - 1);
	assert_sim_ok(trace_open(p, &r, &err), &err);
	assert_string_equal(trace_meta(r, "k"), "v");
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		assert_sim_ok(trace_next(r, &ev, &err), &err);
		assert_event(&ev, &want[i]);
		assert_int_equal(trace_line(r), i + 1);
	}
	assert_sim_ok(trace_next(r, &ev, &err), &err);
	assert_int_equal(ev.kind, EV_END);
	trace_close(r);
}

/* Overwrite path's bytes in place (same length: no truncation, which is
 * slow on file systems mounted with discard). */
static void overwrite(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "r+b");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* Every truncation of a valid binary trace, and many random byte
 * changes, give SIM_ETRACE or a valid trace: never a crash. */
static void test_binary_garbage(void **state)
{
	struct fix *f = *state;
	struct trace_stats st;
	struct sim_err err;
	size_t n;
	const char *good = fpath(f, 0, "g.atb");
	const char *bad = fpath(f, 1, "b.atb");
	write_generated(good, TRACE_BINARY, 150);
	char *data = slurp(good, &n);
	assert_sim_ok(trace_check(good, &st, &err), &err);
	write_bytes(bad, data, n);
	for (size_t len = n; len-- > 0;) {
		assert_int_equal(truncate(bad, (off_t)len), 0);
		assert_int_equal(trace_check(bad, &st, &err), SIM_ETRACE);
		assert_memory_equal(err.msg, bad, strlen(bad));
	}
	uint64_t seed = 99;
	int ok = 0;
	char *mut = malloc(n);
	assert_non_null(mut);
	write_bytes(bad, data, n);
	for (int i = 0; i < 1000; i++) {
		memcpy(mut, data, n);
		for (int k = 0; k < 1 + i % 3; k++)
			mut[rng_next(&seed) % n] = (char)rng_next(&seed);
		overwrite(bad, mut, n);
		int rc = trace_check(bad, &st, &err);
		assert_true(rc == SIM_OK || rc == SIM_ETRACE);
		ok += rc == SIM_OK;
	}
	assert_true(ok < 1000);
	free(mut);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_text_errors),
		T(test_no_reading_past_error),
		T(test_open_errors),
		T(test_line_too_long),
		T(test_good_text),
		T(test_edge_text),
		T(test_big_text),
		T(test_round_trip),
		T(test_binary_is_compact),
		T(test_round_trip_big),
		T(test_comments_dropped),
		T(test_detect_by_content),
		T(test_format_for_path),
		T(test_convert_error_leaves_nothing),
		T(test_writer_temp_and_rename),
		T(test_writer_empty),
		T(test_writer_rejects),
		T(test_writer_meta_rules),
		T(test_check_stats),
		T(test_check_error),
		T(test_truncated_gzip),
		T(test_binary_errors),
		T(test_binary_records),
		T(test_binary_garbage),
#undef T
	};
	if (getenv("TRACE_TEST_FILTER"))    /* e.g. "test_binary_*" */
		cmocka_set_test_filter(getenv("TRACE_TEST_FILTER"));
	return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
