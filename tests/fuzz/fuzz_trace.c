/*
 * fuzz_trace.c - libFuzzer target: the trace readers (text, gzip, binary)
 * and, behind them, the engine and every strategy.
 *
 * Byte 0 of an input picks what to do with the rest:
 *   bit 0     gzip-compress the rest first, so text mutations also reach
 *             the reader through zlib (the rest may itself be gzip or the
 *             binary form: the reader tells formats by their first bytes);
 *   bits 1-4  a strategy (index modulo the registry);
 *   bit 5     replay the events through the engine with the shadow
 *             checker on and the strategy's check every 64 events;
 *   bit 6     round trip: a trace that reads to its end is converted to
 *             binary and to text, and both must read back event for event.
 * What must hold: no crash, no sanitizer report, every reader error starts
 * with "FILE:", and a valid trace never makes a strategy fail a check
 * (SIM_ECHECK aborts, so libFuzzer keeps the input).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "engine.h"
#include "fuzz.h"
#include "trace.h"

#define MAX_EVENTS 50000

static char dir[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof dir, "/tmp/allocsim-fuzz-%d", (int)getpid());
	return 0;
}

static void bug(const char *what, const char *msg)
{
	fprintf(stderr, "fuzz_trace: %s: %s\n", what, msg);
	abort();
}

/* data as a gzip stream in a malloc'd buffer (*n its size), or NULL. */
static unsigned char *gzip(const uint8_t *data, size_t size, size_t *n)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	size_t cap = deflateBound(&z, size) + 32;
	unsigned char *out = malloc(cap);
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)size;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	int rc = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
	*n = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

static int same_event(const struct sim_event *a, const struct sim_event *b)
{
	return a->kind == b->kind && a->tid == b->tid && a->id == b->id &&
	       a->id2 == b->id2 && a->size == b->size && a->align == b->align;
}

/* Read path to the end into ev (at most MAX_EVENTS); the count, or -1 on
 * a reader error (whose message must name the file). */
static long read_all(const char *path, struct sim_event *ev)
{
	struct trace_reader *r;
	struct sim_err err;
	long n = 0;
	int rc = trace_open(path, &r, &err);
	if (rc != SIM_OK) {
		if (strncmp(err.msg, path, strlen(path)) != 0)
			bug("open error without the file name", err.msg);
		return -1;
	}
	while ((rc = trace_next(r, &ev[n], &err)) == SIM_OK &&
	       ev[n].kind != EV_END && n < MAX_EVENTS)
		n++;
	trace_close(r);
	if (rc != SIM_OK && strncmp(err.msg, path, strlen(path)) != 0)
		bug("read error without the file name", err.msg);
	return rc == SIM_OK ? n : -1;
}

/* Convert path to fmt and read it back: the same n events. */
static void round_trip(const char *path, const struct sim_event *ev, long n,
		       enum trace_format fmt)
{
	static struct sim_event back[MAX_EVENTS + 1];
	char out[128];
	struct sim_err err;
	snprintf(out, sizeof out, "%s/rt.%s", dir, fmt == TRACE_BINARY ? "atb"
							: "trace");
	if (trace_convert(path, out, fmt, &err) != SIM_OK)
		bug("a trace that reads cannot be converted", err.msg);
	long m = read_all(out, back);
	if (m != n)
		bug("round trip changed the event count", out);
	for (long i = 0; i < n; i++)
		if (!same_event(&ev[i], &back[i]))
			bug("round trip changed an event", out);
	unlink(out);
}

static void replay(const struct sim_event *ev, long n, int strategy)
{
	const struct strategy_ops *ops = fuzz_strategy((size_t)strategy);
	struct sim_err err;
	struct engine *e = fuzz_engine(ops, 64, &err);
	if (!e)
		bug("cannot start a run", err.msg);
	int rc = SIM_OK;
	for (long i = 0; i < n && rc == SIM_OK; i++)
		rc = engine_step(e, &ev[i], &err);
	if (rc == SIM_ECHECK)
		bug(ops->name, err.msg);
	if ((rc = engine_finish(e, &err)) == SIM_ECHECK)
		bug(ops->name, err.msg);
	engine_destroy(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sim_event ev[MAX_EVENTS + 1];
	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	unsigned mode = data[0];
	size_t n = size - 1;
	unsigned char *z = NULL;
	const void *body = data + 1;
	if ((mode & 1) && (z = gzip(data + 1, size - 1, &n)))
		body = z;
	const char *path = fuzz_file(0, body, n);
	free(z);
	if (!path)
		return 0;
	long count = read_all(path, ev);
	if (count >= 0 && (mode & 0x40)) {
		if (mkdir(dir, 0700) != 0 && access(dir, W_OK) != 0)
			return 0;
		round_trip(path, ev, count, TRACE_BINARY);
		round_trip(path, ev, count, TRACE_TEXT);
		rmdir(dir);
	}
	if (count > 0 && (mode & 0x20))
		replay(ev, count, (int)(mode >> 1 & 15));
	return 0;
}
