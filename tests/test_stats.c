/*
 * test_stats.c - the whole-run measures of metrics.md on hand-computed
 * snapshot sequences, including the cases where a measure is undefined,
 * and the series file: header from the X-macro lists, rows in event order,
 * the exact row of a live peak that falls between two samples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "harness.h"
#include "stats.h"

#define EPS 1e-9

/* ---- measures ------------------------------------------------------------- */

struct moment {
	uint64_t live, dead, alloc, heap, rss;
};

static unsigned observe(struct sim_stats *st, uint64_t event,
			struct moment m)
{
	st->cur.event = event;
	st->cur.t_ns = 100 * (event + 1);
	st->cur.live_bytes = m.live;
	st->cur.dead_bytes = m.dead;
	st->cur.alloc_bytes = m.alloc;
	st->cur.heap_bytes = m.heap;
	st->cur.rss_bytes = m.rss;
	st->events = event + 1;
	return stats_observe(st);
}

static void assert_measure(const struct sim_measures *m, int i, double want)
{
	if (!m->defined[i])
		fail_msg("%s is undefined, expected %g", stats_measure_name(i), want);
	if (m->v[i] < want - EPS || m->v[i] > want + EPS)
		fail_msg("%s = %.12g, expected %.12g", stats_measure_name(i),
			 m->v[i], want);
}

static void assert_undefined(const struct sim_measures *m, int i)
{
	if (m->defined[i])
		fail_msg("%s = %g, expected undefined", stats_measure_name(i),
			 m->v[i]);
}

/*
 *  event  live  dead  alloc   heap   rss   heap/live  rss/live
 *    0    1000     0   1200   2000  1000      2         1
 *    1    4000  1000   5500   8000  4000      2         1     live peak
 *    2    2000     0   2500  10000  6000      5         3     heap, rss peak
 *    3       0     0      0  10000  6000      -         -     (live 0)
 *    4    4000     0   4800  10000  6000      2.5       1.5   ties: no peak
 */
static void drive_five(struct sim_stats *st)
{
	stats_init(st);
	assert_int_equal(observe(st, 0, (struct moment){1000, 0, 1200, 2000, 1000}),
			 STATS_NEW_LIVE_PEAK | STATS_NEW_HEAP_PEAK);
	assert_int_equal(observe(st, 1, (struct moment){4000, 1000, 5500, 8000, 4000}),
			 STATS_NEW_LIVE_PEAK | STATS_NEW_HEAP_PEAK);
	assert_int_equal(observe(st, 2, (struct moment){2000, 0, 2500, 10000, 6000}),
			 STATS_NEW_HEAP_PEAK);
	assert_int_equal(observe(st, 3, (struct moment){0, 0, 0, 10000, 6000}), 0);
	assert_int_equal(observe(st, 4, (struct moment){4000, 0, 4800, 10000, 6000}),
			 0);
}

static void test_peaks_and_moments(void **state)
{
	(void)state;
	struct sim_stats st;
	drive_five(&st);
	assert_int_equal(st.peak.live_bytes, 4000);
	assert_int_equal(st.peak.dead_bytes, 1000);
	assert_int_equal(st.peak.alloc_bytes, 5500);
	assert_int_equal(st.peak.heap_bytes, 10000);
	assert_int_equal(st.peak.rss_bytes, 6000);
	/* the first moment a peak is reached is the one kept */
	assert_int_equal(st.at_live_peak.event, 1);
	assert_int_equal(st.at_live_peak.t_ns, 200);
	assert_int_equal(st.at_live_peak.heap_bytes, 8000);
	assert_int_equal(st.at_heap_peak.event, 2);
	assert_int_equal(st.at_heap_peak.live_bytes, 2000);
	assert_int_equal(st.at_rss_peak.event, 2);
	assert_int_equal(st.at_rss_peak.live_bytes, 2000);
	assert_int_equal(st.jw1_n, 4);
}

static void test_measures(void **state)
{
	(void)state;
	struct sim_stats st;
	struct sim_measures m;
	drive_five(&st);
	st.allocs = 4;
	st.cache_hits = 3;
	st.cache_misses = 1;
	stats_measures(&st, &m);
	/* mean heap/live over the 4 moments with live > 0: 11.5 / 4 */
	assert_measure(&m, SIM_M_frag_jw1, (2.875 - 1) * 100);
	assert_measure(&m, SIM_M_frag_jw2, (8000.0 / 4000 - 1) * 100);
	assert_measure(&m, SIM_M_frag_jw3, (10000.0 / 2000 - 1) * 100);
	assert_measure(&m, SIM_M_frag_jw4, (10000.0 / 4000 - 1) * 100);
	/* rss/live: 6.5 / 4 */
	assert_measure(&m, SIM_M_rss_frag_jw1, (1.625 - 1) * 100);
	assert_measure(&m, SIM_M_rss_frag_jw2, 0.0);
	assert_measure(&m, SIM_M_rss_frag_jw3, (6000.0 / 2000 - 1) * 100);
	assert_measure(&m, SIM_M_rss_frag_jw4, (6000.0 / 4000 - 1) * 100);
	/* at the live peak: (5500 - 4000 - 1000) / (4000 + 1000) */
	assert_measure(&m, SIM_M_frag_internal, 0.1);
	/* at the heap peak: (10000 - 2500) / 10000 */
	assert_measure(&m, SIM_M_frag_external, 0.75);
	assert_measure(&m, SIM_M_peak_rss_over_ideal, 1.5);
	assert_measure(&m, SIM_M_cache_hit_rate, 0.75);
}

/* Nothing happened: every measure is undefined. */
static void test_measures_empty(void **state)
{
	(void)state;
	struct sim_stats st;
	struct sim_measures m;
	stats_init(&st);
	memset(&m, 0xff, sizeof m);
	stats_measures(&st, &m);
	for (int i = 0; i < SIM_NMEASURES; i++)
		assert_undefined(&m, i);
}

/* A heap but never a live byte: only frag_external is defined. */
static void test_measures_live_zero(void **state)
{
	(void)state;
	struct sim_stats st;
	struct sim_measures m;
	stats_init(&st);
	observe(&st, 0, (struct moment){0, 0, 0, 8192, 4096});
	observe(&st, 1, (struct moment){0, 0, 0, 4096, 4096});
	stats_measures(&st, &m);
	for (int i = 0; i < SIM_NMEASURES; i++)
		if (i != SIM_M_frag_external)
			assert_undefined(&m, i);
	assert_measure(&m, SIM_M_frag_external, 1.0);
	assert_int_equal(st.jw1_n, 0);
}

/* The heap peaks before the first live byte: jw3 (over the live bytes at
 * that moment) is undefined while jw4 is not; no allocation has hit the
 * cache: the hit rate is 0, not undefined. */
static void test_measures_heap_before_live(void **state)
{
	(void)state;
	struct sim_stats st;
	struct sim_measures m;
	stats_init(&st);
	observe(&st, 0, (struct moment){0, 0, 0, 8192, 0});
	observe(&st, 1, (struct moment){100, 0, 128, 8192, 4096});
	st.allocs = 1;
	stats_measures(&st, &m);
	assert_undefined(&m, SIM_M_frag_jw3);
	assert_measure(&m, SIM_M_frag_jw4, (8192.0 / 100 - 1) * 100);
	assert_measure(&m, SIM_M_frag_jw2, (8192.0 / 100 - 1) * 100);
	assert_measure(&m, SIM_M_frag_jw1, (8192.0 / 100 - 1) * 100);
	assert_measure(&m, SIM_M_rss_frag_jw3, (4096.0 / 100 - 1) * 100);
	assert_measure(&m, SIM_M_frag_internal, 0.28);
	/* heap peak at event 0: nothing allocated, all of it free */
	assert_measure(&m, SIM_M_frag_external, 1.0);
	assert_measure(&m, SIM_M_peak_rss_over_ideal, 40.96);
	/* no thread cache: neither hits nor misses */
	assert_undefined(&m, SIM_M_cache_hit_rate);
}

static void test_measure_names(void **state)
{
	(void)state;
	static const char *const want[] = {
		"frag_jw1", "frag_jw2", "frag_jw3", "frag_jw4",
		"rss_frag_jw1", "rss_frag_jw2", "rss_frag_jw3", "rss_frag_jw4",
		"frag_internal", "frag_external", "peak_rss_over_ideal",
		"cache_hit_rate",
	};
	assert_int_equal(SIM_NMEASURES, sizeof want / sizeof want[0]);
	for (int i = 0; i < SIM_NMEASURES; i++)
		assert_string_equal(stats_measure_name(i), want[i]);
	assert_string_equal(stats_measure_name(-1), "?");
	assert_string_equal(stats_measure_name(SIM_NMEASURES), "?");
}

/* ---- series.csv -------------------------------------------------------- */

#define MAX_ROWS 64
#define MAX_COLS 64

struct csv {
	char text[16384];
	char *hdr[MAX_COLS];
	int ncols, nrows;
	char *cell[MAX_ROWS][MAX_COLS];
};

/* Split text (in place) into a header and rows of cells. */
static void csv_parse(struct csv *c)
{
	char *save = NULL;
	int r = -1;
	for (char *line = strtok_r(c->text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), r++) {
		assert_true(r < MAX_ROWS);
		char **dst = r < 0 ? c->hdr : c->cell[r];
		int n = 0;
		for (char *p = line;; n++) {
			assert_true(n < MAX_COLS);
			dst[n] = p;
			char *comma = strchr(p, ',');
			if (!comma)
				break;
			*comma = '\0';
			p = comma + 1;
		}
		if (r < 0)
			c->ncols = n + 1;
		else
			assert_int_equal(n + 1, c->ncols);
	}
	c->nrows = r;
}

static void csv_read(struct csv *c, const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(c->text, 1, sizeof c->text - 1, f);
	fclose(f);
	assert_true(n < sizeof c->text - 1);
	c->text[n] = '\0';
	assert_true(n > 0 && c->text[n - 1] == '\n');
	csv_parse(c);
}

static int csv_col(const struct csv *c, const char *name)
{
	for (int i = 0; i < c->ncols; i++)
		if (strcmp(c->hdr[i], name) == 0)
			return i;
	fail_msg("no column %s", name);
	return -1;
}

static uint64_t csv_u64(const struct csv *c, int row, const char *name)
{
	return strtoull(c->cell[row][csv_col(c, name)], NULL, 10);
}

/* The header: fixed columns, the gauges, gc_cycles, the simulated OS call
 * counts, page_faults, the strategy's counters and the pool totals, in
 * that order. */
static void check_header(const struct csv *c, const struct strategy_ops *ops)
{
	char want[4096] = "event,t_ns,phase", got[4096] = "";
#define HDR_GAUGE(n) strcat(want, "," #n);
	SIM_GAUGES(HDR_GAUGE)
#undef HDR_GAUGE
	strcat(want, ",gc_cycles");
	for (int i = 0; i < SIMOS_NCALLS; i++) {
		strcat(want, ",");
		strcat(want, simos_call_name(i));
		strcat(want, "_calls");
	}
	strcat(want, ",page_faults");
	for (int i = 0; ops->counter_names[i]; i++) {
		if (strcmp(ops->counter_names[i], "meta_bytes") == 0)
			continue;   /* the gauge of that name carries it */
		strcat(want, ",");
		strcat(want, ops->counter_names[i]);
	}
	strcat(want, ",pool_gets,pool_hits,pool_victim_hits,pool_news");
	for (int i = 0; i < c->ncols; i++) {
		strcat(got, i ? "," : "");
		strcat(got, c->hdr[i]);
	}
	assert_string_equal(got, want);
}

struct series_fx {
	const char *dir;
	char path[256];
	struct engine *e;
	struct sim_err err;
};

static int series_setup(void **state)
{
	static struct series_fx fx;
	memset(&fx, 0, sizeof fx);
	fx.dir = harness_tmpdir();
	snprintf(fx.path, sizeof fx.path, "%s/series.csv", fx.dir);
	*state = &fx;
	return 0;
}

static int series_teardown(void **state)
{
	struct series_fx *fx = *state;
	engine_destroy(fx->e);
	harness_rmtree(fx->dir);
	return 0;
}

/* Events and the live bytes after each (hand-computed). */
static const struct sim_event ev10[] = {
	{.kind = EV_ALLOC, .id = 1, .size = 1000},     /* 0: 1000 */
	{.kind = EV_ALLOC, .id = 2, .size = 2000},     /* 1: 3000 */
	{.kind = EV_FREE, .id = 1},                    /* 2: 2000 */
	{.kind = EV_FREE, .id = 2},                    /* 3: 0     sample */
	{.kind = EV_ALLOC, .id = 3, .size = 5000},     /* 4: 5000 */
	{.kind = EV_ALLOC, .id = 4, .size = 7000},     /* 5: 12000 the peak */
	{.kind = EV_FREE, .id = 3},                    /* 6: 7000 */
	{.kind = EV_FREE, .id = 4},                    /* 7: 0     sample */
	{.kind = EV_ALLOC, .id = 5, .size = 100},      /* 8: 100 */
	{.kind = EV_FREE, .id = 5},                    /* 9: 0     the end */
};
static const uint64_t live10[] = {1000, 3000, 2000, 0, 5000, 12000, 7000, 0,
				  100, 0};
static const uint64_t objs10[] = {1, 2, 1, 0, 1, 2, 1, 0, 1, 0};

/* Run evs through strategy name with a series row every sample_every
 * events (0: peaks and the end only) and read series.csv into c. */
static void run_events(struct series_fx *fx, const char *name,
		       uint64_t sample_every, const struct sim_event *evs,
		       size_t n, struct csv *c)
{
	const struct strategy_ops *ops = strategy_find(name);
	assert_non_null(ops);
	union param_value pv[16];
	assert_sim_ok(strat_params_default(ops, pv, &fx->err), &fx->err);
	struct engine_config cfg;
	engine_config_default(&cfg);
	cfg.sample_every = sample_every;
	cfg.series_path = fx->path;
	assert_sim_ok(engine_create(&cfg, ops, pv, &fx->e, &fx->err), &fx->err);
	for (size_t i = 0; i < n; i++)
		assert_sim_ok(engine_step(fx->e, &evs[i], &fx->err), &fx->err);
	assert_sim_ok(engine_finish(fx->e, &fx->err), &fx->err);
	engine_destroy(fx->e);
	fx->e = NULL;
	csv_read(c, fx->path);
}

static void run_ten(struct series_fx *fx, uint64_t sample_every,
		    struct csv *c)
{
	run_events(fx, "bump", sample_every, ev10, sizeof ev10 / sizeof ev10[0], c);
	check_header(c, strategy_find("bump"));
}

static int find_row(const struct csv *c, uint64_t event)
{
	for (int r = 0; r < c->nrows; r++)
		if (csv_u64(c, r, "event") == event)
			return r;
	return -1;
}

/* Rows in strictly increasing event order, each with the live bytes and
 * objects the hand model has after that event, times never decreasing. */
static void check_rows(const struct csv *c)
{
	for (int r = 0; r < c->nrows; r++) {
		uint64_t ev = csv_u64(c, r, "event");
		assert_true(ev < 10);
		assert_int_equal(csv_u64(c, r, "live_bytes"), live10[ev]);
		assert_int_equal(csv_u64(c, r, "live_objects"), objs10[ev]);
		if (r > 0) {
			assert_true(ev > csv_u64(c, r - 1, "event"));
			assert_true(csv_u64(c, r, "t_ns") >= csv_u64(c, r - 1, "t_ns"));
		}
	}
}

static void test_series_peak_row(void **state)
{
	struct series_fx *fx = *state;
	static struct csv c;
	run_ten(fx, 4, &c);
	check_rows(&c);
	/* the regular samples after 4 and 8 events, the end */
	assert_true(find_row(&c, 3) >= 0);
	assert_true(find_row(&c, 7) >= 0);
	assert_int_equal(csv_u64(&c, c.nrows - 1, "event"), 9);
	/* the live peak, between two samples */
	int r = find_row(&c, 5);
	assert_true(r >= 0);
	assert_int_equal(csv_u64(&c, r, "live_bytes"), 12000);
	/* the heap peak: bump maps its first 1 MiB chunk at event 0 */
	r = find_row(&c, 0);
	assert_true(r >= 0);
	assert_int_equal(csv_u64(&c, r, "heap_bytes"), 1 << 20);
	assert_int_equal(csv_u64(&c, r, "mmap_calls"), 1);
}

/* Without regular samples: the peaks and the end only. */
static void test_series_peaks_only(void **state)
{
	struct series_fx *fx = *state;
	static struct csv c;
	run_ten(fx, 0, &c);
	check_rows(&c);
	assert_true(find_row(&c, 5) >= 0);
	assert_true(find_row(&c, 0) >= 0);
	assert_true(find_row(&c, 9) >= 0);
	assert_int_equal(find_row(&c, 3), -1);
	assert_int_equal(find_row(&c, 7), -1);
}

/* A sample every event: every event exactly once. */
static void test_series_every_event(void **state)
{
	struct series_fx *fx = *state;
	static struct csv c;
	run_ten(fx, 1, &c);
	check_rows(&c);
	assert_int_equal(c.nrows, 10);
	for (int r = 0; r < 10; r++)
		assert_int_equal(csv_u64(&c, r, "event"), (uint64_t)r);
}

/* A phase label shows in the rows after it, commas made harmless. */
static void test_series_phase(void **state)
{
	struct series_fx *fx = *state;
	static const struct sim_event evs[] = {
		{.kind = EV_ALLOC, .id = 1, .size = 10},
		{.kind = EV_PHASE, .label = "warm,up"},
		{.kind = EV_FREE, .id = 1},
	};
	static struct csv c;
	run_events(fx, "bump", 1, evs, 3, &c);
	assert_int_equal(c.nrows, 3);
	int ph = csv_col(&c, "phase");
	assert_string_equal(c.cell[0][ph], "");
	assert_string_equal(c.cell[1][ph], "warm up");
	assert_string_equal(c.cell[2][ph], "warm up");
}

/* A held peak row keeps the phase it was reached in, though the label
 * changes before the row is written. */
static void test_series_peak_phase(void **state)
{
	struct series_fx *fx = *state;
	static const struct sim_event evs[] = {
		{.kind = EV_PHASE, .label = "grow"},
		{.kind = EV_ALLOC, .id = 1, .size = 10},
		{.kind = EV_PHASE, .label = "shrink"},
		{.kind = EV_FREE, .id = 1},
	};
	static struct csv c;
	run_events(fx, "bump", 0, evs, 4, &c);
	int ph = csv_col(&c, "phase");
	int r = find_row(&c, 1);
	assert_true(r >= 0);
	assert_int_equal(csv_u64(&c, r, "live_bytes"), 10);
	assert_string_equal(c.cell[r][ph], "grow");
	assert_string_equal(c.cell[c.nrows - 1][ph], "shrink");
}

/* Every column name once, also for a strategy whose counters include the
 * meta_bytes gauge's source (buddy). */
static void test_series_names_unique(void **state)
{
	struct series_fx *fx = *state;
	static struct csv c;
	run_events(fx, "buddy", 1, ev10, sizeof ev10 / sizeof ev10[0], &c);
	check_header(&c, strategy_find("buddy"));
	for (int i = 0; i < c.ncols; i++)
		for (int j = i + 1; j < c.ncols; j++)
			assert_string_not_equal(c.hdr[i], c.hdr[j]);
	assert_true(csv_col(&c, "meta_bytes") >= 0);
}

/* No file appears until the run is finished; destroying an unfinished run
 * leaves none. */
static void test_series_tmp(void **state)
{
	struct series_fx *fx = *state;
	const struct strategy_ops *bump = strategy_find("bump");
	union param_value pv[8];
	assert_sim_ok(strat_params_default(bump, pv, &fx->err), &fx->err);
	struct engine_config cfg;
	engine_config_default(&cfg);
	cfg.series_path = fx->path;
	assert_sim_ok(engine_create(&cfg, bump, pv, &fx->e, &fx->err), &fx->err);
	assert_sim_ok(engine_step(fx->e, &ev10[0], &fx->err), &fx->err);
	FILE *f = fopen(fx->path, "r");
	assert_null(f);
	engine_destroy(fx->e);
	fx->e = NULL;
	char out[256];
	char cmd[512];
	snprintf(cmd, sizeof cmd, "ls -A '%s'", fx->dir);
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	assert_string_equal(out, "");
}

/* ---- summary.json ------------------------------------------------------- */

static void read_all(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t got = fread(buf, 1, n - 1, f);
	fclose(f);
	assert_true(got < n - 1);
	buf[got] = '\0';
}

static void expect_text(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("summary.json lacks '%s':\n%s", want, text);
}

static void test_summary_json(void **state)
{
	struct series_fx *fx = *state;
	struct sim_stats st;
	struct sim_measures m;
	drive_five(&st);
	st.allocs = 4;
	st.cache_hits = 3;
	stats_measures(&st, &m);
	m.defined[SIM_M_cache_hit_rate] = 0;     /* as if undefined */
	struct simos_counts os;
	memset(&os, 0, sizeof os);
	os.calls[SIMOS_CALL_mmap] = 2;
	os.bytes[SIMOS_CALL_mmap] = 8192;
	os.page_faults = 5;
	const char *pn[] = {"chunk", "flag"}, *pv[] = {"1048576", "true"};
	const char *cn[] = {"cache_hits", "cache_misses", "lock_acquires", NULL};
	uint64_t cv[] = {3, 1, 7};
	struct summary sum = {
		.run = "r1", .source = "dir/r1.trace", .strategy = "bump",
		.reclaim = "immediate", .status = "ok",
		.message = "say \"hi\"\n\tnow\\", .seed = 9, .end_event = 5,
		.nparams = 2, .param_names = pn, .param_values = pv, .st = &st,
		.m = &m, .os = &os, .os_peak_rss = 6000, .ncounters = 3,
		.counter_names = cn, .counters = cv, .host_bytes_peak = 1234,
	};
	char path[256];
	snprintf(path, sizeof path, "%s/summary.json", fx->dir);
	assert_sim_ok(summary_write(path, &sum, &fx->err), &fx->err);
	static char text[16384];
	read_all(path, text, sizeof text);
	assert_true(text[0] == '{');
	assert_true(strlen(text) > 2 && strcmp(text + strlen(text) - 2, "}\n") == 0);
	expect_text(text, "\"run\": \"r1\"");
	expect_text(text, "\"source\": \"dir/r1.trace\"");
	expect_text(text, "\"strategy\": \"bump\"");
	expect_text(text, "\"status\": \"ok\"");
	expect_text(text, "\"seed\": 9");
	expect_text(text, "\"end_event\": 5");
	/* quotes and backslashes escaped, control characters as \u00XX */
	expect_text(text, "\"message\": \"say \\\"hi\\\"\\u000a\\u0009now\\\\\"");
	expect_text(text, "\"params\": {\"chunk\": \"1048576\", \"flag\": \"true\"}");
	expect_text(text, "\"frag_jw1\": 187.500000");
	expect_text(text, "\"frag_jw3\": 400.000000");
	expect_text(text, "\"frag_external\": 0.750000");
	expect_text(text, "\"cache_hit_rate\": null");
	expect_text(text, "\"at_live_peak\": {\"event\": 1, ");
	expect_text(text, "\"at_heap_peak\": {\"event\": 2, ");
	expect_text(text, "\"live_bytes\": 4000");
	expect_text(text, "\"mmap\": {\"calls\": 2, \"bytes\": 8192, \"failed\": 0}");
	expect_text(text, "\"page_faults\": 5");
	expect_text(text, "\"counters\": {\"cache_hits\": 3, \"cache_misses\": 1, "
		    "\"lock_acquires\": 7}");
	expect_text(text, "\"simulator_host_bytes_peak\": 1234");
	/* every gauge, by its X-macro name */
#define SUM_GAUGE(n) expect_text(text, "\"" #n "\": ");
	SIM_GAUGES(SUM_GAUGE)
#undef SUM_GAUGE
	/* written whole: nothing else in the folder */
	char cmd[512], out[256];
	snprintf(cmd, sizeof cmd, "ls -A '%s'", fx->dir);
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	assert_string_equal(out, "summary.json\n");
}

/* A result file that cannot be created is SIM_EIO naming it; the engine
 * is not created and nothing is left behind. */
static void test_unwritable(void **state)
{
	struct series_fx *fx = *state;
	const struct strategy_ops *bump = strategy_find("bump");
	union param_value pv[8];
	assert_sim_ok(strat_params_default(bump, pv, &fx->err), &fx->err);
	struct engine_config cfg;
	engine_config_default(&cfg);
	char path[256];
	snprintf(path, sizeof path, "%s/no/such/dir/series.csv", fx->dir);
	cfg.series_path = path;
	assert_int_equal(engine_create(&cfg, bump, pv, &fx->e, &fx->err), SIM_EIO);
	assert_non_null(strstr(fx->err.msg, "no/such/dir"));
	fx->e = NULL;
	struct sim_stats st;
	struct sim_measures m;
	struct simos_counts os;
	stats_init(&st);
	stats_measures(&st, &m);
	memset(&os, 0, sizeof os);
	const char *cn[] = {NULL};
	struct summary sum = {.run = "r", .source = "s", .strategy = "bump",
			      .reclaim = "immediate", .status = "ok", .message = "",
			      .st = &st, .m = &m, .os = &os, .counter_names = cn};
	snprintf(path, sizeof path, "%s/no/summary.json", fx->dir);
	assert_int_equal(summary_write(path, &sum, &fx->err), SIM_EIO);
	char cmd[512], out[256];
	snprintf(cmd, sizeof cmd, "ls -A '%s'", fx->dir);
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peaks_and_moments),
		cmocka_unit_test(test_measures),
		cmocka_unit_test(test_measures_empty),
		cmocka_unit_test(test_measures_live_zero),
		cmocka_unit_test(test_measures_heap_before_live),
		cmocka_unit_test(test_measure_names),
		cmocka_unit_test_setup_teardown(test_series_peak_row, series_setup,
						series_teardown),
		cmocka_unit_test_setup_teardown(test_series_peaks_only, series_setup,
						series_teardown),
		cmocka_unit_test_setup_teardown(test_series_every_event, series_setup,
						series_teardown),
		cmocka_unit_test_setup_teardown(test_series_phase, series_setup,
						series_teardown),
		cmocka_unit_test_setup_teardown(test_series_peak_phase, series_setup,
						series_teardown),
		cmocka_unit_test_setup_teardown(test_series_names_unique, series_setup,
						series_teardown),
		cmocka_unit_test_setup_teardown(test_series_tmp, series_setup,
						series_teardown),
		cmocka_unit_test_setup_teardown(test_summary_json, series_setup,
						series_teardown),
		cmocka_unit_test_setup_teardown(test_unwritable, series_setup,
						series_teardown),
	};
	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
