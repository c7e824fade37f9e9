/*
 * bench.c - `make bench`: how fast the simulator itself runs on this
 * machine, and how much host memory it needs.  It generates one synthetic
 * workload in memory and measures, single-threaded, the best of three
 * repetitions timed with CLOCK_MONOTONIC (for (a) and (b), three rounds
 * of one repetition of each strategy, so a slow spell of a shared
 * machine costs a strategy at most one repetition, not all three):
 *   (a) the engine with the bump strategy fed straight from memory, events/s
 *       (bump does almost nothing, so this is the engine's own cost);
 *   (b) every other registered strategy on the same events, events/s;
 *       a strategy that collects by default (span, tiny) also with frees
 *       reaching it at once (--reclaim=immediate), and GC mode's time an
 *       event over that (the Go issue's target: within 2x);
 *   (c) reading the events back from a text trace (trace_next), MB/s and
 *       events/s;
 *   (d) reading the binary form (made by trace_convert), events/s and its
 *       speed-up over text, and a gzip copy for information;
 *   (e) a whole run_one of the binary trace through bump, events/s;
 *   (f) the simulator's host memory per live object for each strategy
 *       (engine_host_bytes_peak / peak live objects), and the process's
 *       peak RSS.
 * It prints one table of figures against targets, with the machine.  It is
 * a report, not a test: a missed target still exits 0; an error (a strategy
 * that fails on the workload, a trace that does not read back whole) exits
 * 2.  Beside each timed figure, cpu% is the process's CPU time over the wall
 * time of that measurement: on a shared machine, well under 100 % means
 * other processes held the CPU and the wall-clock figure is theirs too.
 *
 * The workload is a birth-death process drawn from one mt19937 stream with
 * a fixed seed, so every machine measures the same events.  An event is a
 * realloc with probability 0.04; otherwise it is a birth with a probability
 * that falls from 1 to 0 as the live count rises through a band of +-10 %
 * around LIVE_TARGET, and a death (of a uniformly chosen live object)
 * otherwise.  Births are malloc, calloc or memalign; sizes are mostly
 * lognormal around 40 bytes (capped at 4 KiB), sometimes up to 16 KiB,
 * rarely up to 64 KiB.  A realloc that shrinks stays in place (same ID),
 * one that grows moves (next ID), as the trace format allows.  Events come
 * from N_THREADS threads, so frees often cross threads.  The event array
 * (48 bytes an event, about 460 MiB) is most of the process's RSS.
 *
 * A strategy too slow to finish a repetition in REP_CAP_S is stopped there
 * and its rate is reported from the events it did, marked "partial", so
 * `make bench` stays within a few minutes whatever the registry holds.
 */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <zlib.h>

#include "engine.h"
#include "err.h"
#include "event.h"
#include "run.h"
#include "strategy.h"
#include "trace.h"

#define N_EVENTS       10000000u
#define LIVE_TARGET    100000u
#define N_THREADS      4u
#define SEED           20240229ul
#define REPS           3
#define SAMPLE_EVERY   100000
#define REP_CAP_S      12.0   /* a repetition stops here: "partial" */
#define STRAT_BUDGET_S 6.0    /* no new repetition past this much time */
#define MAX_STRATS     32
#define MAX_ROWS       96

#define TARGET_BUMP_EPS   40e6
#define TARGET_STRAT_EPS  10e6
#define TARGET_GO_EPS     20e6   /* span and tiny: the Go model's issue */
#define TARGET_TEXT_MBPS  100.0
#define TARGET_BIN_RATIO  3.0

/* ---- the report table ------------------------------------------------ */

struct row {
	char what[56], value[40], target[24], cpu[8];
	const char *status;
};

static struct row table[MAX_ROWS];
static int nrows;
static int any_error;

static void row_add(const char *what, const char *target, const char *status,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void row_add(const char *what, const char *target, const char *status,
		    const char *fmt, ...)
{
	if (nrows >= MAX_ROWS)
		return;
	struct row *r = &table[nrows++];
	snprintf(r->what, sizeof r->what, "%s", what);
	snprintf(r->target, sizeof r->target, "%s", target);
	r->status = status;
	r->cpu[0] = '\0';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->value, sizeof r->value, fmt, ap);
	va_end(ap);
}

/* A measured rate against a floor; unit_scale turns rate into the unit. */
static void row_rate(const char *what, double rate, double target,
		     const char *unit, double unit_scale, const char *note)
{
	char tgt[24];
	snprintf(tgt, sizeof tgt, ">= %g %s", target / unit_scale, unit);
	row_add(what, tgt, rate >= target ? "ok" : "MISSED", "%.2f %s%s",
		rate / unit_scale, unit, note);
}

/* The CPU share of the last row's measurement: process CPU time over wall
 * time.  Well below 100 % means other processes took the CPU, and the
 * wall-clock figure understates the simulator. */
static void row_cpu(double share)
{
	if (nrows > 0)
		snprintf(table[nrows - 1].cpu, sizeof table[0].cpu, "%.0f%%",
			 share * 100);
}

static void row_error(const char *what, const struct sim_err *err)
{
	fprintf(stderr, "bench: %s: %s\n", what, err->msg);
	row_add(what, "", "ERROR", "error (message above)");
	any_error = 1;
}

static void print_table(void)
{
	const char *fmt = "%-52s %-32s %-14s %-7s %s\n";
	printf(fmt, "what", "value", "target", "status", "cpu%");
	printf("%.*s\n", 112, "--------------------------------------------------"
	       "----------------------------------------------------------");
	for (int i = 0; i < nrows; i++)
		printf(fmt, table[i].what, table[i].value, table[i].target,
		       table[i].status, table[i].cpu);
}

/* ---- the machine -------------------------------------------------------- */

static void cpu_model(char *buf, size_t n)
{
	snprintf(buf, n, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) != 0 || !colon)
			continue;
		colon += strspn(colon + 1, " \t") + 1;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, n, "%s", colon);
		break;
	}
	fclose(f);
}

/* The 1-minute load average, or -1. */
static double load_average(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static void print_machine(void)
{
	char model[256];
	cpu_model(model, sizeof model);
	printf("allocsim bench: cpu \"%s\", nproc %ld, load average %.2f at "
	       "start\n", model, sysconf(_SC_NPROCESSORS_ONLN), load_average());
	printf("%u events, single-threaded, best of %d, CLOCK_MONOTONIC; "
	       "MB = 10^6 bytes; cpu%% = process CPU time / wall time\n\n",
	       N_EVENTS, REPS);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A start of measurement: wall and process CPU clocks. */
struct lap {
	double wall, cpu;
};

static struct lap lap_start(void)
{
	return (struct lap){now_s(), cpu_s()};
}

/* Wall seconds since l; *share gets CPU seconds / wall seconds. */
static double lap_end(struct lap l, double *share)
{
	double wall = now_s() - l.wall;
	*share = wall > 0 ? (cpu_s() - l.cpu) / wall : 0;
	return wall;
}

static double max_rss_mib(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_maxrss / 1024.0;   /* ru_maxrss is in KiB */
}

/* ---- the workload generator ------------------------------------------ */

struct gen {
	gsl_rng *rng;
	struct sim_event *ev;
	size_t n;
	uint64_t next_id;        /* the next unused object ID */
	uint32_t *live;          /* IDs of the live objects, in no order */
	uint32_t *pos;           /* pos[id]: index of id in live[] */
	uint32_t *size;          /* size[id]: its requested size */
	size_t nlive;
};

static uint64_t draw_size(gsl_rng *rng)
{
	double u = gsl_rng_uniform(rng);
	if (u < 0.96) {
		double s = gsl_ran_lognormal(rng, log(40.0), 1.0);
		return s < 1 ? 1 : s > 4096 ? 4096 : (uint64_t)s;
	}
	if (u < 0.995)
		return 4097 + gsl_rng_uniform_int(rng, 16384 - 4096);
	return 16385 + gsl_rng_uniform_int(rng, 65536 - 16384);
}

static uint64_t draw_align(gsl_rng *rng)
{
	static const uint64_t aligns[] = {16, 32, 64, 64, 64, 128, 256, 4096};
	return aligns[gsl_rng_uniform_int(rng, 8)];
}

/* Shrink to 1..old (40 %) or grow by up to 150 %, at most 256 KiB. */
static uint64_t draw_resize(gsl_rng *rng, uint64_t old)
{
	if (gsl_rng_uniform(rng) < 0.4)
		return 1 + gsl_rng_uniform_int(rng, old);
	uint64_t s = old + 1 + (uint64_t)((double)old * 1.5 *
					   gsl_rng_uniform(rng));
	return s > 262144 ? 262144 : s;
}

static struct sim_event *emit(struct gen *g, int kind)
{
	struct sim_event *e = &g->ev[g->n++];
	*e = (struct sim_event){.kind = (uint8_t)kind};
	e->tid = (uint32_t)gsl_rng_uniform_int(g->rng, N_THREADS);
	return e;
}

static void born(struct gen *g, uint64_t id, uint64_t size)
{
	g->live[g->nlive] = (uint32_t)id;
	g->pos[id] = (uint32_t)g->nlive++;
	g->size[id] = (uint32_t)size;
}

static void kill_at(struct gen *g, size_t i)
{
	uint32_t last = g->live[--g->nlive];
	g->live[i] = last;
	g->pos[last] = (uint32_t)i;
}

static void gen_birth(struct gen *g)
{
	double u = gsl_rng_uniform(g->rng);
	struct sim_event *e = emit(g, u < 0.92 ? EV_ALLOC
				   : u < 0.97 ? EV_CALLOC : EV_MEMALIGN);
	e->id = g->next_id++;
	e->size = draw_size(g->rng);
	if (e->kind == EV_MEMALIGN)
		e->align = draw_align(g->rng);
	born(g, e->id, e->size);
}

static void gen_free(struct gen *g)
{
	size_t i = gsl_rng_uniform_int(g->rng, g->nlive);
	struct sim_event *e = emit(g, EV_FREE);
	e->id = g->live[i];
	kill_at(g, i);
}

static void gen_realloc(struct gen *g)
{
	struct sim_event *e = emit(g, EV_REALLOC);
	if (g->nlive == 0 || gsl_rng_uniform(g->rng) < 0.05) {
		e->id2 = g->next_id++;       /* realloc(NULL, size) */
		e->size = draw_size(g->rng);
		born(g, e->id2, e->size);
		return;
	}
	size_t i = gsl_rng_uniform_int(g->rng, g->nlive);
	e->id = g->live[i];
	uint64_t old = g->size[e->id];
	e->size = draw_resize(g->rng, old);
	if (e->size <= old) {
		e->id2 = e->id;              /* shrunk in place */
		g->size[e->id] = (uint32_t)e->size;
		return;
	}
	e->id2 = g->next_id++;               /* grown: moved */
	kill_at(g, i);
	born(g, e->id2, e->size);
}

static void gen_step(struct gen *g)
{
	if (gsl_rng_uniform(g->rng) < 0.04) {
		gen_realloc(g);
		return;
	}
	double band = 0.2 * LIVE_TARGET;
	double p = 0.5 + ((double)LIVE_TARGET - (double)g->nlive) / band;
	if (g->nlive == 0 || gsl_rng_uniform(g->rng) < p)
		gen_birth(g);
	else
		gen_free(g);
}

static void gen_free_index(struct gen *g)
{
	free(g->live);
	free(g->pos);
	free(g->size);
	if (g->rng)
		gsl_rng_free(g->rng);
}

/* Fill *out with n events.  SIM_OK, or SIM_ENOMEM. */
static int gen_events(size_t n, struct sim_event **out, struct sim_err *err)
{
	struct gen g = {.next_id = 1};
	g.ev = malloc(n * sizeof *g.ev);
	g.live = malloc((n + 2) * sizeof *g.live);   /* one ID per event at most */
	g.pos = malloc((n + 2) * sizeof *g.pos);
	g.size = malloc((n + 2) * sizeof *g.size);
	g.rng = gsl_rng_alloc(gsl_rng_mt19937);
	if (!g.ev || !g.live || !g.pos || !g.size || !g.rng) {
		free(g.ev);
		gen_free_index(&g);
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory for %zu events",
			       n);
	}
	gsl_rng_set(g.rng, SEED);
	while (g.n < n)
		gen_step(&g);
	gen_free_index(&g);
	*out = g.ev;
	return SIM_OK;
}

/* ---- (a), (b): the engine from memory -------------------------------- */

static void bench_config(struct engine_config *cfg)
{
	engine_config_default(cfg);   /* the strategy's reclaim mode, touch on */
	cfg->sample_every = SAMPLE_EVERY;
	cfg->check = 0;
	cfg->series_path = NULL;
}

/* The defaults of ops's parameters, or NULL with err. */
static union param_value *default_params(const struct strategy_ops *ops,
					 struct sim_err *err)
{
	union param_value *p = calloc(strat_param_count(ops) + 1, sizeof *p);
	if (!p) {
		SIM_ERR(err, SIM_ENOMEM, "out of host memory");
		return NULL;
	}
	if (strat_params_default(ops, p, err) != SIM_OK) {
		free(p);
		return NULL;
	}
	return p;
}

#define PREFETCH_AHEAD 16

struct pass {
	double secs, share;      /* wall time, CPU share */
	uint64_t events;         /* events applied */
	int partial;             /* stopped at REP_CAP_S */
	uint64_t host_peak, peak_live;
};

static int feed(struct engine *e, const struct sim_event *ev, size_t n,
		double t0, struct pass *p, struct sim_err *err)
{
	/* As run.c's replay does: prefetch each event's object a little ahead. */
	for (size_t i = 0; i < n; i++) {
		if (i + PREFETCH_AHEAD < n)
			engine_prefetch(e, &ev[i + PREFETCH_AHEAD]);
		int rc = engine_step(e, &ev[i], err);
		if (rc != SIM_OK)
			return rc;
		if ((i & 0xffff) == 0xffff && now_s() - t0 > REP_CAP_S) {
			p->events = i + 1;
			p->partial = 1;
			return SIM_OK;
		}
	}
	p->events = n;
	return SIM_OK;
}

/* One repetition: create, feed every event, finish.  Creation is not
 * timed; finishing is. */
static int engine_pass(const struct strategy_ops *ops,
		       const union param_value *params, int reclaim,
		       const struct sim_event *ev, size_t n, struct pass *p,
		       struct sim_err *err)
{
	struct engine_config cfg;
	bench_config(&cfg);
	cfg.reclaim = reclaim;
	memset(p, 0, sizeof *p);
	struct engine *e;
	int rc = engine_create(&cfg, ops, params, &e, err);
	if (rc != SIM_OK)
		return rc;
	struct lap t0 = lap_start();
	rc = feed(e, ev, n, t0.wall, p, err);
	if (rc == SIM_OK && !p->partial)
		rc = engine_finish(e, err);
	p->secs = lap_end(t0, &p->share);
	p->host_peak = engine_host_bytes_peak(e);
	p->peak_live = engine_stats(e)->peak.live_objects;
	engine_destroy(e);
	return rc;
}

struct strat_result {
	const char *name;
	int ok, partial, reps;
	double rate, share;      /* events/s and CPU share, best repetition */
	int fallback;            /* ran immediate: this build has no GC mode */
	double host_per_obj;     /* host bytes per peak live object */
	uint64_t peak_live;      /* peak live objects the engine saw */
};

/* The strategy's own reclaim mode, or immediate when it wants GC and the
 * engine refuses it (a build without the GC pacer): the figure is still
 * the speed of its allocation paths. */
static int pick_reclaim(const struct strategy_ops *ops,
			const union param_value *params, int *fallback)
{
	struct engine_config cfg;
	bench_config(&cfg);
	struct engine *e;
	struct sim_err err;
	*fallback = 0;
	if (ops->reclaim_default != SIM_RECLAIM_GC)
		return SIM_RECLAIM_DEFAULT;
	int rc = engine_create(&cfg, ops, params, &e, &err);
	if (rc == SIM_OK)
		engine_destroy(e);
	if (rc != SIM_EINVAL)
		return SIM_RECLAIM_DEFAULT;   /* other errors show in the run */
	*fallback = 1;
	return SIM_RECLAIM_IMMEDIATE;
}

/* One strategy in one reclaim mode: its repetitions so far.  The
 * repetitions go round the strategies (bench_engines), so that a slow
 * spell of this machine - its speed moves by up to 2x from one minute to
 * the next - costs a strategy at most one of its three. */
struct job {
	const struct strategy_ops *ops;
	union param_value *params;
	int reclaim;             /* as engine_config's */
	int done, failed;
	double used;             /* seconds in repetitions so far */
	struct sim_err err;      /* when failed */
	struct strat_result r;
};

/* j for ops in reclaim mode (SIM_RECLAIM_DEFAULT: the strategy's own);
 * failed at once when its parameters cannot be made. */
static void job_init(struct job *j, const struct strategy_ops *ops,
		     int reclaim)
{
	*j = (struct job){.ops = ops, .r = {.name = ops->name}};
	sim_err_clear(&j->err);
	if (!(j->params = default_params(ops, &j->err))) {
		j->failed = j->done = 1;
		return;
	}
	j->reclaim = reclaim == SIM_RECLAIM_DEFAULT
			     ? pick_reclaim(ops, j->params, &j->r.fallback)
			     : reclaim;
}

/* One more repetition of j, keeping the best rate; j is done after its
 * last (REPS, or its time budget spent, or stopped partial) or an
 * error. */
static void job_step(struct job *j, const struct sim_event *ev, size_t n)
{
	struct pass p;
	if (engine_pass(j->ops, j->params, j->reclaim, ev, n, &p,
			&j->err) != SIM_OK) {
		j->failed = j->done = 1;
		j->r.ok = 0;
		return;
	}
	struct strat_result *r = &j->r;
	j->used += p.secs;
	double rate = (double)p.events / p.secs;
	if (rate > r->rate) {
		r->rate = rate;
		r->share = p.share;
		r->partial = p.partial;
	}
	r->host_per_obj = p.peak_live ? (double)p.host_peak /
					(double)p.peak_live : 0;
	r->peak_live = p.peak_live;
	r->reps++;
	r->ok = 1;
	j->done = p.partial || r->reps == REPS || j->used >= STRAT_BUDGET_S;
}

static void job_free(struct job *j)
{
	free(j->params);
	j->params = NULL;
}

static double strategy_target(const char *name, int first)
{
	if (first)
		return TARGET_BUMP_EPS;
	if (strcmp(name, "span") == 0 || strcmp(name, "tiny") == 0)
		return TARGET_GO_EPS;
	return TARGET_STRAT_EPS;
}

static void row_strategy(const struct strat_result *r, int first)
{
	char what[56], note[40] = "";
	snprintf(what, sizeof what, "(%c) engine + %s, from memory",
		 first ? 'a' : 'b', r->name);
	if (r->partial)
		snprintf(note, sizeof note, " (partial, %.0f s cap)", REP_CAP_S);
	else if (r->fallback)
		snprintf(note, sizeof note, " (immediate)");
	else if (r->reps < REPS)
		snprintf(note, sizeof note, " (%d rep%s)", r->reps,
			 r->reps == 1 ? "" : "s");
	row_rate(what, r->rate, strategy_target(r->name, first), "M ev/s", 1e6,
		 note);
	row_cpu(r->share);
}

/* GC mode against immediate mode for a strategy that collects by default:
 * the same events with each free reaching the strategy at once (job imm),
 * and the ratio of the two times an event (target: at most 2). */
static void rows_gc_cost(const struct strat_result *gc, const struct job *imm)
{
	char what[56];
	snprintf(what, sizeof what, "(b) engine + %s, --reclaim=immediate",
		 imm->ops->name);
	if (imm->failed) {
		row_error(what, &imm->err);
		return;
	}
	row_add(what, "-", "info", "%.2f M ev/s", imm->r.rate / 1e6);
	row_cpu(imm->r.share);
	double ratio = imm->r.rate / gc->rate;
	snprintf(what, sizeof what, "(b)   %s: GC mode's time / immediate's",
		 imm->ops->name);
	row_add(what, "<= 2x", ratio <= 2.0 ? "ok" : "MISSED", "%.2fx", ratio);
}

/* Whether a strategy's GC mode is also run with immediate reclaim. */
static int wants_gc_cost(const struct job *gc)
{
	return gc->ops->reclaim_default == SIM_RECLAIM_GC && !gc->failed &&
	       !gc->r.fallback;
}

/* Every registered strategy, the default (bump) first, in its own
 * reclaim mode, and span and tiny (any strategy that collects by default)
 * with immediate reclaim too: REPS rounds of one repetition of each job,
 * the best kept.  Fills res and adds the rows; returns how many results
 * were filled. */
static int bench_engines(const struct sim_event *ev, size_t n,
			 struct strat_result *res)
{
	static struct job gc[MAX_STRATS], imm[MAX_STRATS];
	int k = 0;
	for (; k < MAX_STRATS && strategy_registry[k]; k++) {
		job_init(&gc[k], strategy_registry[k], SIM_RECLAIM_DEFAULT);
		if (wants_gc_cost(&gc[k]))
			job_init(&imm[k], strategy_registry[k],
				 SIM_RECLAIM_IMMEDIATE);
		else
			imm[k] = (struct job){.done = 1};
	}
	for (int round = 1; round <= REPS; round++)
		for (int i = 0; i < k; i++) {
			/* a partial GC run has no immediate twin to compare */
			imm[i].done |= gc[i].r.partial || gc[i].failed;
			struct job *js[2] = {&gc[i], &imm[i]};
			for (int m = 0; m < 2; m++) {
				if (js[m]->done)
					continue;
				fprintf(stderr, "bench: round %d: engine + %s%s ...\n",
					round, js[m]->ops->name,
					m ? ", immediate" : "");
				job_step(js[m], ev, n);
			}
		}
	for (int i = 0; i < k; i++) {
		res[i] = gc[i].r;
		char what[56];
		snprintf(what, sizeof what, "(%c) engine + %s, from memory",
			 i == 0 ? 'a' : 'b', gc[i].ops->name);
		if (gc[i].failed)
			row_error(what, &gc[i].err);
		else
			row_strategy(&res[i], i == 0);
		if (imm[i].ops && !gc[i].failed && !gc[i].r.partial)
			rows_gc_cost(&gc[i].r, &imm[i]);
		job_free(&gc[i]);
		job_free(&imm[i]);
	}
	return k;
}

/* ---- temporary files ------------------------------------------------ */

static struct {
	char dir[64], text[128], bin[128], gz[128];
	char text_part[160], bin_part[160];   /* writers' "PATH.tmp.<pid>" */
} tmp;

/* Async-signal-safe: remove what an interrupted bench leaves behind. */
static void on_signal(int sig)
{
	unlink(tmp.text);
	unlink(tmp.bin);
	unlink(tmp.gz);
	unlink(tmp.text_part);
	unlink(tmp.bin_part);
	rmdir(tmp.dir);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int tmp_make(struct sim_err *err)
{
	snprintf(tmp.dir, sizeof tmp.dir, "/tmp/allocsim-bench-XXXXXX");
	if (!mkdtemp(tmp.dir)) {
		tmp.dir[0] = '\0';
		return SIM_ERR(err, SIM_EIO, "/tmp: cannot create a folder");
	}
	snprintf(tmp.text, sizeof tmp.text, "%s/bench.trace", tmp.dir);
	snprintf(tmp.bin, sizeof tmp.bin, "%s/bench.bin", tmp.dir);
	snprintf(tmp.gz, sizeof tmp.gz, "%s/bench.trace.gz", tmp.dir);
	snprintf(tmp.text_part, sizeof tmp.text_part, "%s.tmp.%ld", tmp.text,
		 (long)getpid());
	snprintf(tmp.bin_part, sizeof tmp.bin_part, "%s.tmp.%ld", tmp.bin,
		 (long)getpid());
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	return SIM_OK;
}

/* Remove the folder and everything in it (writers' temporaries too). */
static void tmp_remove(void)
{
	if (!tmp.dir[0])
		return;
	DIR *d = opendir(tmp.dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char path[512];
		snprintf(path, sizeof path, "%s/%s", tmp.dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(tmp.dir);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

static double file_mb(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0;
}

/* ---- (c), (d): trace files ------------------------------------------ */

static int write_text(const char *path, const struct sim_event *ev, size_t n,
		      struct sim_err *err)
{
	struct trace_writer *w;
	int rc = trace_writer_open(path, TRACE_TEXT, &w, err);
	if (rc != SIM_OK)
		return rc;
	rc = trace_write_meta(w, "program", "allocsim-bench", err);
	if (rc == SIM_OK)
		rc = trace_write_meta(w, "threads", "4", err);
	for (size_t i = 0; rc == SIM_OK && i < n; i++)
		rc = trace_write(w, &ev[i], err);
	if (rc != SIM_OK) {
		trace_writer_abort(w);
		return rc;
	}
	return trace_writer_close(w, err);
}

/* The fastest of several repetitions. */
struct best {
	double secs, share;      /* its wall time and CPU share */
	int reps;
};

static void best_take(struct best *b, double secs, double share)
{
	if (b->reps++ == 0 || secs < b->secs) {
		b->secs = secs;
		b->share = share;
	}
}

/* Read path to the end with trace_next, checking it holds n events. */
static int parse_pass(const char *path, size_t n, struct best *b,
		      struct sim_err *err)
{
	struct lap t0 = lap_start();
	struct trace_reader *r;
	int rc = trace_open(path, &r, err);
	if (rc != SIM_OK)
		return rc;
	struct sim_event ev;
	uint64_t count = 0;
	while ((rc = trace_next(r, &ev, err)) == SIM_OK && ev.kind != EV_END)
		count++;
	trace_close(r);
	double share, secs = lap_end(t0, &share);
	best_take(b, secs, share);
	if (rc == SIM_OK && count != n)
		rc = SIM_ERR(err, SIM_ETRACE, "%s: read %" PRIu64 " events, wrote "
			     "%zu", path, count, n);
	return rc;
}

static int parse_best(const char *path, size_t n, struct best *b,
		      struct sim_err *err)
{
	*b = (struct best){0};
	int rc = SIM_OK;
	for (int rep = 0; rc == SIM_OK && rep < REPS; rep++)
		rc = parse_pass(path, n, b, err);
	return rc;
}

/* (c): text writing (information) and parsing.  *eps: text events/s. */
static int bench_text(const struct sim_event *ev, size_t n, double *eps,
		      struct sim_err *err)
{
	fprintf(stderr, "bench: text trace ...\n");
	struct lap t0 = lap_start();
	int rc = write_text(tmp.text, ev, n, err);
	if (rc != SIM_OK)
		return rc;
	double share, secs = lap_end(t0, &share), mb = file_mb(tmp.text);
	row_add("(c) text trace write (trace_writer)", "-", "info",
		"%.1f MB/s, %.0f MB", mb / secs, mb);
	row_cpu(share);
	struct best b;
	rc = parse_best(tmp.text, n, &b, err);
	if (rc != SIM_OK)
		return rc;
	*eps = (double)n / b.secs;
	row_rate("(c) text trace parse (trace_next)", mb * 1e6 / b.secs,
		 TARGET_TEXT_MBPS * 1e6, "MB/s", 1e6, "");
	row_cpu(b.share);
	row_add("(c) text trace parse, events", "-", "info", "%.2f M ev/s",
		*eps / 1e6);
	row_cpu(b.share);
	return SIM_OK;
}

/* Compress the text trace into path with gzip level 1.  trace_convert
 * would use the writer's level 6, which takes four times as long here for
 * a file that is only read for information; readers accept any level.
 * SIM_OK or SIM_EIO. */
static int gzip_fast(const char *path, struct sim_err *err)
{
	FILE *in = fopen(tmp.text, "rb");
	gzFile out = in ? gzopen(path, "wb1") : NULL;
	static char buf[1 << 20];
	size_t got = 0;
	int ok = in && out;
	while (ok && (got = fread(buf, 1, sizeof buf, in)) > 0)
		ok = gzwrite(out, buf, (unsigned)got) == (int)got;
	ok = ok && !ferror(in);
	if (out && gzclose(out) != Z_OK)
		ok = 0;
	if (in)
		fclose(in);
	if (!ok)
		return SIM_ERR(err, SIM_EIO, "%s: cannot write gzip copy", path);
	return SIM_OK;
}

/* Convert the text trace to path in fmt and parse it: a row "what". */
static int bench_form(const char *what, const char *path,
		      enum trace_format fmt, size_t n, double *eps,
		      struct sim_err *err)
{
	struct lap t0 = lap_start();
	int rc = fmt == TRACE_GZIP ? gzip_fast(path, err)
				   : trace_convert(tmp.text, path, fmt, err);
	if (rc != SIM_OK)
		return rc;
	double share, conv = lap_end(t0, &share);
	fprintf(stderr, "bench: %s: converted in %.1f s\n", path, conv);
	struct best b;
	rc = parse_best(path, n, &b, err);
	if (rc != SIM_OK)
		return rc;
	*eps = (double)n / b.secs;
	row_add(what, "-", "info", "%.2f M ev/s, %.0f MB", *eps / 1e6,
		file_mb(path));
	row_cpu(b.share);
	return SIM_OK;
}

/* (d): binary and gzip forms. */
static int bench_forms(size_t n, double text_eps, struct sim_err *err)
{
	fprintf(stderr, "bench: binary and gzip traces ...\n");
	double bin_eps, gz_eps;
	int rc = bench_form("(d) binary trace parse", tmp.bin, TRACE_BINARY, n,
			    &bin_eps, err);
	if (rc != SIM_OK)
		return rc;
	char r[16];
	snprintf(r, sizeof r, ">= %.0fx", TARGET_BIN_RATIO);
	double ratio = bin_eps / text_eps;
	row_add("(d) binary / text parse rate", r,
		ratio >= TARGET_BIN_RATIO ? "ok" : "MISSED", "%.2fx", ratio);
	return bench_form("(d) gzip (level 1) trace parse", tmp.gz, TRACE_GZIP,
			  n, &gz_eps, err);
}

/* ---- (e): run_one end to end ---------------------------------------- */

static int run_pass(const struct run_spec *spec, size_t n, struct best *b,
		    struct sim_err *err)
{
	struct run_result res;
	struct lap t0 = lap_start();
	int rc = run_one(spec, &res, err);
	double share, secs = lap_end(t0, &share);
	best_take(b, secs, share);
	if (rc == SIM_OK && res.status != SIM_OK)
		rc = SIM_ERR(err, res.status, "%s", res.message);
	if (rc == SIM_OK && res.end_event != n)
		rc = SIM_ERR(err, SIM_ETRACE, "run_one replayed %" PRIu64
			     " events of %zu", res.end_event, n);
	return rc;
}

static int bench_run_one(size_t n, struct sim_err *err)
{
	fprintf(stderr, "bench: run_one ...\n");
	const struct strategy_ops *ops = strategy_find("bump");
	if (!ops)
		return SIM_ERR(err, SIM_EINVAL, "no strategy named bump");
	union param_value *params = default_params(ops, err);
	if (!params)
		return err->code;
	struct run_spec spec = {.source = tmp.bin, .run_name = "bench",
				.ops = ops, .params = params, .seed = SEED};
	bench_config(&spec.cfg);
	struct best b = {0};
	int rc = SIM_OK;
	for (int rep = 0; rc == SIM_OK && rep < REPS; rep++)
		rc = run_pass(&spec, n, &b, err);
	free(params);
	if (rc == SIM_OK) {
		row_add("(e) run_one, binary trace -> bump", "-", "info",
			"%.2f M ev/s", (double)n / b.secs / 1e6);
		row_cpu(b.share);
	}
	return rc;
}

/* (c), (d), (e) in a temporary folder, removed afterwards. */
static void bench_traces(const struct sim_event *ev, size_t n)
{
	struct sim_err err;
	sim_err_clear(&err);
	double text_eps = 0;
	const char *what = "(c) text trace";
	int rc = tmp_make(&err);
	if (rc == SIM_OK)
		rc = bench_text(ev, n, &text_eps, &err);
	if (rc == SIM_OK) {
		what = "(d) binary and gzip traces";
		rc = bench_forms(n, text_eps, &err);
	}
	if (rc == SIM_OK) {
		what = "(e) run_one";
		rc = bench_run_one(n, &err);
	}
	if (rc != SIM_OK)
		row_error(what, &err);
	tmp_remove();
}

/* ---- (f): host memory -------------------------------------------------- */

static void rows_memory(const struct strat_result *res, int k, size_t n,
			double gen_rss)
{
	if (k > 0 && res[0].ok)
		row_add("(f) peak live objects (engine)", "-", "info",
			"%" PRIu64, res[0].peak_live);
	for (int i = 0; i < k; i++) {
		if (!res[i].ok)
			continue;
		char what[56];
		snprintf(what, sizeof what, "(f) host bytes / peak live object, %s",
			 res[i].name);
		row_add(what, "-", "info", "%.1f B", res[i].host_per_obj);
	}
	row_add("(f) process max RSS (getrusage)", "-", "info", "%.1f MiB",
		max_rss_mib());
	row_add("(f)   max RSS after generating the events", "-", "info",
		"%.1f MiB", gen_rss);
	row_add("(f)   of which the in-memory event array", "-", "info",
		"%.1f MiB", (double)(n * sizeof(struct sim_event)) / 1048576.0);
}

/* ---- main -------------------------------------------------------------- */

int main(void)
{
	print_machine();
	fflush(stdout);
	struct sim_err err;
	sim_err_clear(&err);
	struct sim_event *ev = NULL;
	size_t n = N_EVENTS;
	fprintf(stderr, "bench: generating %zu events ...\n", n);
	struct lap t0 = lap_start();
	if (gen_events(n, &ev, &err) != SIM_OK) {
		fprintf(stderr, "bench: %s\n", err.msg);
		return 2;
	}
	double share, secs = lap_end(t0, &share);
	row_add("workload: events generated (seed fixed)", "-", "info",
		"%zu in %.1f s", n, secs);
	row_cpu(share);
	double gen_rss = max_rss_mib();
	struct strat_result res[MAX_STRATS];
	int k = bench_engines(ev, n, res);
	bench_traces(ev, n);
	rows_memory(res, k, n, gen_rss);
	free(ev);
	print_table();
	return any_error ? 2 : 0;
}
