/*
 * trace_tools.c - what is built on the trace reader and writer: the
 * whole-trace statistics of `allocsim trace check` and format conversion.
 * Only the public API of trace.h is used here.
 */
#include "trace.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- check, convert ----------------------------------------------------- */

/* A small open-addressing map of nonzero 64-bit keys (0: empty slot). */
struct u64map {
	uint64_t *keys, *vals;
	size_t cap, n;          /* cap: 0 or a power of two */
};

static size_t map_slot(const struct u64map *m, uint64_t key)
{
	size_t j = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (m->cap - 1);
	while (m->keys[j] && m->keys[j] != key)
		j = (j + 1) & (m->cap - 1);
	return j;
}

static int map_grow(struct u64map *m)
{
	size_t nc = m->cap ? m->cap * 2 : 64;
	struct u64map g = { calloc(nc, 8), calloc(nc, 8), nc, m->n };
	if (!g.keys || !g.vals) {
		free(g.keys);
		free(g.vals);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i]) {
			size_t j = map_slot(&g, m->keys[i]);
			g.keys[j] = m->keys[i];
			g.vals[j] = m->vals[i];
		}
	}
	free(m->keys);
	free(m->vals);
	*m = g;
	return 0;
}

/* Set key to val.  1: the key is new, 0: updated, -1: out of memory. */
static int map_put(struct u64map *m, uint64_t key, uint64_t val)
{
	if (2 * (m->n + 1) > m->cap && map_grow(m))
		return -1;
	size_t j = map_slot(m, key);
	int fresh = !m->keys[j];
	m->keys[j] = key;
	m->vals[j] = val;
	m->n += (size_t)fresh;
	return fresh;
}

static uint64_t map_get(const struct u64map *m, uint64_t key)
{
	size_t j = m->cap ? map_slot(m, key) : 0;
	return m->cap && m->keys[j] ? m->vals[j] : 0;
}

/* Sizes are kept in 32 bits per ID (half the memory and page faults of
 * 64); BIG marks one kept in the map. */
#define BIG UINT32_MAX

struct checker {
	uint32_t *sizes;        /* size of each ID when born; 0: scratch */
	size_t cap;
	struct u64map big;      /* ID -> size for sizes >= BIG */
	struct u64map tids;     /* TID + 1 -> unused */
	uint64_t hist[TRACE_HIST_BUCKETS + 2];   /* last: scratch */
	uint32_t last_tid;
	int any_tid;
};

/* Count tid if it is new. */
static int ck_tid(struct checker *ck, uint32_t tid, struct trace_stats *st)
{
	if (ck->any_tid && tid == ck->last_tid)
		return SIM_OK;
	ck->any_tid = 1;
	ck->last_tid = tid;
	int fresh = map_put(&ck->tids, (uint64_t)tid + 1, 0);
	if (fresh < 0)
		return SIM_ENOMEM;
	st->threads += (uint64_t)fresh;
	return SIM_OK;
}

/* Room in ck->sizes for index id.  0 or -1. */
static int ck_grow(struct checker *ck, uint64_t id)
{
	size_t nc = ck->cap ? ck->cap : 4096;
	while (nc <= id)
		nc *= 2;
	uint32_t *ns = realloc(ck->sizes, nc * sizeof *ns);
	if (!ns)
		return -1;
	ck->sizes = ns;
	ck->cap = nc;
	return 0;
}

static const uint8_t ck_is_born[256] = {
	[EV_ALLOC] = 1, [EV_CALLOC] = 1, [EV_MEMALIGN] = 1, [EV_REALLOC] = 1,
};

/* Size of live object id, recorded at birth. */
static uint64_t ck_size(const struct checker *ck, uint64_t id)
{
	uint32_t s = ck->sizes[id];
	return s == BIG ? map_get(&ck->big, id) : s;
}

/* Account one validated event.  Written without branches on the kind
 * (which a real trace makes unpredictable): an event that frees nothing
 * reads scratch slot 0 and masks it, one that creates nothing writes
 * slot 0 and the scratch histogram bucket. */
static int ck_event(struct checker *ck, struct trace_stats *st,
		    const struct sim_event *ev)
{
	unsigned k = ev->kind;
	uint64_t born = ck_is_born[k], size = born ? ev->size : 0;
	uint64_t freed = k == EV_FREE || (k == EV_REALLOC && ev->id != 0);
	uint64_t nid = k == EV_REALLOC ? ev->id2 : born ? ev->id : 0;
	if (nid >= ck->cap && ck_grow(ck, nid))
		return SIM_ENOMEM;
	uint64_t old = ck_size(ck, freed ? ev->id : 0) & (0 - freed);
	ck->sizes[nid] = size < BIG ? (uint32_t)size : BIG;
	if (size >= BIG && map_put(&ck->big, nid, size) < 0)
		return SIM_ENOMEM;
	unsigned log2 = 63 - (unsigned)__builtin_clzll(size | 1);
	ck->hist[!born ? TRACE_HIST_BUCKETS + 1
		 : size ? log2 : TRACE_HIST_BUCKETS]++;
	st->events++;
	st->by_kind[k]++;
	st->live_objects += born - freed;
	st->live_bytes += size - old;
	st->total_bytes += size;
	st->last_ns = k == EV_CLOCK ? ev->size : st->last_ns;
	if (st->live_objects > st->peak_live_objects)
		st->peak_live_objects = st->live_objects;
	if (st->live_bytes > st->peak_live_bytes)
		st->peak_live_bytes = st->live_bytes;
	return (ev->kind != EV_CLOCK && ev->kind != EV_END) ? ck_tid(ck, ev->tid, st) : SIM_OK;
}

#define CK_BATCH 32

/* Read up to CK_BATCH events, prefetching the sizes that frees and
 * reallocs will look up: on large traces that load is a cache miss, and
 * taking the misses together overlaps them.  *n: events read. */
static int ck_read(struct trace_reader *r, const struct checker *ck,
		   struct sim_event *evs, unsigned *n, struct sim_err *err)
{
	int rc = SIM_OK;
	for (*n = 0; *n < CK_BATCH; ++*n) {
		struct sim_event *ev = &evs[*n];
		if ((rc = trace_next(r, ev, err)) != SIM_OK ||
		    ev->kind == EV_END)
			break;
		if ((ev->kind == EV_FREE || ev->kind == EV_REALLOC) &&
		    ev->id < ck->cap)
			__builtin_prefetch(&ck->sizes[ev->id]);
	}
	return rc;
}

int trace_check(const char *path, struct trace_stats *st, struct sim_err *err)
{
	struct trace_reader *r;
	struct checker ck = { 0 };
	struct sim_event evs[CK_BATCH];
	unsigned n = CK_BATCH;
	memset(st, 0, sizeof *st);
	int rc = trace_open(path, &r, err);
	if (rc == SIM_OK && ck_grow(&ck, 0))
		rc = SIM_ERR(err, SIM_ENOMEM, "%s: out of memory", path);
	else if (rc == SIM_OK)
		ck.sizes[0] = 0;        /* the scratch slot is read first */
	while (rc == SIM_OK && n == CK_BATCH) {
		int rrc = ck_read(r, &ck, evs, &n, err);
		for (unsigned i = 0; i < n && rc == SIM_OK; i++)
			if ((rc = ck_event(&ck, st, &evs[i])) != SIM_OK)
				SIM_ERR(err, rc, "%s: out of memory", path);
		rc = rc != SIM_OK ? rc : rrc;
	}
	if (r == NULL)
		return rc;
	memcpy(st->size_hist, ck.hist, sizeof st->size_hist);
	free(ck.sizes);
	free(ck.big.keys);
	free(ck.big.vals);
	free(ck.tids.keys);
	free(ck.tids.vals);
	trace_close(r);
	return rc;
}

/* Copy metadata and events from r to w. */
static int copy_trace(struct trace_reader *r, struct trace_writer *w,
		      struct sim_err *err)
{
	int rc = SIM_OK;
	struct sim_event ev;
	for (size_t i = 0; i < trace_meta_count(r) && rc == SIM_OK; i++)
		rc = trace_write_meta(w, trace_meta_key(r, i),
				      trace_meta_value(r, i), err);
	while (rc == SIM_OK && (rc = trace_next(r, &ev, err)) == SIM_OK &&
	       ev.kind != EV_END)
		rc = trace_write(w, &ev, err);
	return rc;
}

int trace_convert(const char *in, const char *out, enum trace_format fmt,
		  struct sim_err *err)
{
	struct trace_reader *r;
	struct trace_writer *w;
	int rc = trace_open(in, &r, err);
	if (rc != SIM_OK)
		return rc;
	rc = trace_writer_open(out, fmt, &w, err);
	if (rc == SIM_OK) {
		rc = copy_trace(r, w, err);
		if (rc == SIM_OK)
			rc = trace_writer_close(w, err);
		else
			trace_writer_abort(w);
	}
	trace_close(r);
	return rc;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

enum trace_format trace_format_for_path(const char *path)
{
	if (ends_with(path, ".atb") || ends_with(path, ".bin"))
		return TRACE_BINARY;
	if (ends_with(path, ".gz"))
		return TRACE_GZIP;
	return TRACE_TEXT;
}
