/*
 * main.c - the allocsim command line.  Subcommands: run, list, trace
 * (check, convert, record), sweep (sim/sweep.h) and plot (scripts/plot).
 * This is the only file that exits: it turns error codes into exit
 * statuses (0 ok, 1 a run failed or ran out of memory, 2 usage or input
 * error) and prints "allocsim: message".
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "err.h"
#include "run.h"
#include "stats.h"
#include "strategy.h"
#include "sweep.h"
#include "trace.h"

#define MAX_STRATS 32
#define MAX_PARAMS 64

static volatile sig_atomic_t stop_requested;

static void on_interrupt(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int fail(int code, const char *fmt, const char *msg)
{
	fprintf(stderr, "allocsim: ");
	fprintf(stderr, fmt, msg);
	fputc('\n', stderr);
	return code;
}

/* Exit status for an error code from library code. */
static int status_of(int rc)
{
	switch (rc) {
	case SIM_OK: return 0;
	case SIM_EOOM: case SIM_ECHECK: case SIM_EINTR: case SIM_ENOMEM:
		return 1;
	default:
		return 2;
	}
}

static int report(int rc, const struct sim_err *err)
{
	if (rc != SIM_OK)
		fail(status_of(rc), "%s", err->msg);
	return status_of(rc);
}

/* ---- usage ------------------------------------------------------------ */

static const char usage_text[] =
"usage: allocsim run SOURCE [options]    run a trace or a Lua workload (.lua)\n"
"                                        through strategies\n"
"       allocsim list                    strategies, parameters, defaults\n"
"       allocsim trace check FILE        validate a trace, print statistics\n"
"       allocsim trace convert IN OUT [--format text|gzip|binary]\n"
"       allocsim trace record -o FILE -- CMD [ARGS...]\n"
"       allocsim sweep FILE [-o DIR] [-j N] [--emit slurm] [--merge] [--list]\n"
"                                        run an experiment file's runs, merge\n"
"                                        them into DIR/summary.csv\n"
"       allocsim plot DIR                figures of a run folder (PNG and PDF)\n"
"run options:\n"
"  -s, --strategies A,B,...   strategies to compare (default: all)\n"
"  -o, --out DIR              results folder (default results/<run name>)\n"
"  -p, --param S.KEY=VALUE    set parameter KEY of strategy S\n"
"      --plugin FILE.so       load a strategy built outside the tree\n"
"      --reclaim MODE         immediate | gc (default: the strategy's)\n"
"      --sample N             a series row every N events (default 1000)\n"
"      --checkpoint-every N   a checkpoint every N events: thread caches\n"
"                             flushed (Go's ReadMemStats), a series row\n"
"      --checkpoint-gc        a checkpoint after every forced collection\n"
"      --seed N               seed for scripted sources (default 1)\n"
"  -w, --workload-param K=V   parameter K of a Lua workload (param('K', ...))\n"
"      --quantum N            Lua threads: events per turn (default 100)\n"
"      --schedule rr|random   Lua threads: round-robin or seeded random\n"
"      --max-events N         Lua: event budget (default none)\n"
"      --max-instructions N   Lua: instruction budget (default 2000000000)\n"
"      --check                shadow-check every block, strategy checks\n"
"      --check-every N        with --check: strategy check every N events\n"
"      --memory-max BYTES     resident-memory limit (cgroup memory.max)\n"
"      --fault KIND=N         make the simulated OS fail: mmap=N, brk=N,\n"
"                             madvise=N, mremap=N (the Nth call),\n"
"                             every-mmap=N, every-brk=N, max-mapped=BYTES\n"
"      --event-ns N           simulated cost of one event (default 20)\n"
"      --no-touch             the program does not write its blocks\n"
"      --no-output            print the table only, write no files\n"
"      --plot                 draw the figures when the runs are done\n"
"  -q, --quiet                no table\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

/* ---- list ------------------------------------------------------------------ */

static void list_one(const struct strategy_ops *ops)
{
	printf("%-10s %s\n", ops->name, ops->summary);
	printf("           reclaim: %s\n",
	       ops->reclaim_default == SIM_RECLAIM_GC ? "gc" : "immediate");
	for (size_t i = 0; i < strat_param_count(ops); i++) {
		const struct strategy_param *p = &ops->params[i];
		printf("           -p %s.%s=%s  %s\n", ops->name, p->name, p->def,
		       p->help);
	}
}

static int cmd_list(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return usage();
	for (int i = 0; strategy_registry[i]; i++)
		list_one(strategy_registry[i]);
	return 0;
}

/* ---- run: options ----------------------------------------------------------- */

struct run_opts {
	const char *source, *out, *strategies;
	const char *params[MAX_PARAMS];
	int nparams, quiet, no_output, plot;
	const char *wparams[MAX_PARAMS];
	struct workload_opts wl;
	struct engine_config cfg;
	uint64_t seed;
	const struct strategy_ops *ops[MAX_STRATS];
	union param_value values[MAX_STRATS][MAX_PARAMS];
	int nops;
};

static int parse_u64(const char *opt, const char *text, uint64_t *out,
		     struct sim_err *err)
{
	if (strat_parse_size(text, out) != SIM_OK)
		return SIM_ERR(err, SIM_EINVAL, "%s: '%s' is not a non-negative "
			       "number", opt, text);
	return SIM_OK;
}

static int parse_reclaim(const char *text, int *out, struct sim_err *err)
{
	if (strcmp(text, "immediate") == 0)
		*out = SIM_RECLAIM_IMMEDIATE;
	else if (strcmp(text, "gc") == 0)
		*out = SIM_RECLAIM_GC;
	else
		return SIM_ERR(err, SIM_EINVAL, "--reclaim: '%s' is not immediate "
			       "or gc", text);
	return SIM_OK;
}

enum { OPT_PLUGIN = 256, OPT_RECLAIM, OPT_SAMPLE, OPT_SEED, OPT_CHECK,
       OPT_CHECK_EVERY, OPT_MEMMAX, OPT_EVENT_NS, OPT_NO_TOUCH, OPT_NO_OUT,
       OPT_QUANTUM, OPT_SCHEDULE, OPT_MAX_EVENTS, OPT_MAX_INSTR, OPT_FAULT,
       OPT_PLOT };

enum { OPT_CKPT_EVERY = 512, OPT_CKPT_GC };

static const struct option run_longopts[] = {
	{"strategies", required_argument, NULL, 's'},
	{"out", required_argument, NULL, 'o'},
	{"param", required_argument, NULL, 'p'},
	{"quiet", no_argument, NULL, 'q'},
	{"plugin", required_argument, NULL, OPT_PLUGIN},
	{"reclaim", required_argument, NULL, OPT_RECLAIM},
	{"sample", required_argument, NULL, OPT_SAMPLE},
	{"seed", required_argument, NULL, OPT_SEED},
	{"check", no_argument, NULL, OPT_CHECK},
	{"check-every", required_argument, NULL, OPT_CHECK_EVERY},
	{"memory-max", required_argument, NULL, OPT_MEMMAX},
	{"fault", required_argument, NULL, OPT_FAULT},
	{"event-ns", required_argument, NULL, OPT_EVENT_NS},
	{"no-touch", no_argument, NULL, OPT_NO_TOUCH},
	{"no-output", no_argument, NULL, OPT_NO_OUT},
	{"checkpoint-every", required_argument, NULL, OPT_CKPT_EVERY},
	{"checkpoint-gc", no_argument, NULL, OPT_CKPT_GC},
	{"plot", no_argument, NULL, OPT_PLOT},
	{"workload-param", required_argument, NULL, 'w'},
	{"quantum", required_argument, NULL, OPT_QUANTUM},
	{"schedule", required_argument, NULL, OPT_SCHEDULE},
	{"max-events", required_argument, NULL, OPT_MAX_EVENTS},
	{"max-instructions", required_argument, NULL, OPT_MAX_INSTR},
	{NULL, 0, NULL, 0}
};

/* The options of Lua workloads (-w, --quantum, ...); -1: not one. */
static int workload_option(struct run_opts *o, int c, const char *arg,
			   struct sim_err *err)
{
	switch (c) {
	case 'w':
		if (o->wl.nparams == MAX_PARAMS)
			return SIM_ERR(err, SIM_EINVAL, "too many -w options");
		o->wparams[o->wl.nparams++] = arg;
		return SIM_OK;
	case OPT_QUANTUM:
		if (parse_u64("--quantum", arg, &o->wl.quantum, err) != SIM_OK ||
		    o->wl.quantum == 0)
			return SIM_ERR(err, SIM_EINVAL, "--quantum: '%s' is not a "
				       "number >= 1", arg);
		return SIM_OK;
	case OPT_SCHEDULE:
		if (strcmp(arg, "rr") != 0 && strcmp(arg, "random") != 0)
			return SIM_ERR(err, SIM_EINVAL, "--schedule: '%s' is not rr "
				       "or random", arg);
		o->wl.schedule = strcmp(arg, "random") == 0 ? WL_SCHED_RANDOM
							    : WL_SCHED_RR;
		return SIM_OK;
	case OPT_MAX_EVENTS:
		return parse_u64("--max-events", arg, &o->wl.max_events, err);
	case OPT_MAX_INSTR:
		return parse_u64("--max-instructions", arg,
				 &o->wl.max_instructions, err);
	}
	return -1;
}

/* One --fault KIND=N into the simulated OS's fault plan. */
static int parse_fault(struct simos_faults *f, const char *arg,
		       struct sim_err *err)
{
	char kind[32];
	const char *eq = strchr(arg, '=');
	uint64_t v;
	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof kind)
		return SIM_ERR(err, SIM_EINVAL, "--fault %s: expected KIND=N", arg);
	memcpy(kind, arg, (size_t)(eq - arg));
	kind[eq - arg] = '\0';
	if (strat_parse_size(eq + 1, &v) != SIM_OK)
		return SIM_ERR(err, SIM_EINVAL, "--fault %s: '%s' is not a "
			       "non-negative number", arg, eq + 1);
	int rc = simos_fault_set(f, kind, v, err);
	if (rc != SIM_OK) {
		char msg[sizeof err->msg];
		snprintf(msg, sizeof msg, "%s", err->msg);
		SIM_ERR(err, rc, "--fault %s: %s", arg, msg);
	}
	return rc;
}

static int run_option(struct run_opts *o, int c, const char *arg,
		      struct sim_err *err)
{
	int wrc = workload_option(o, c, arg, err);
	if (wrc != -1)
		return wrc;
	const struct strategy_ops *plugin;
	switch (c) {
	case 's': o->strategies = arg; return SIM_OK;
	case 'o': o->out = arg; return SIM_OK;
	case 'q': o->quiet = 1; return SIM_OK;
	case 'p':
		if (o->nparams == MAX_PARAMS)
			return SIM_ERR(err, SIM_EINVAL, "too many -p options");
		o->params[o->nparams++] = arg;
		return SIM_OK;
	case OPT_PLUGIN: return strategy_load_plugin(arg, &plugin, err);
	case OPT_RECLAIM: return parse_reclaim(arg, &o->cfg.reclaim, err);
	case OPT_SAMPLE: return parse_u64("--sample", arg, &o->cfg.sample_every, err);
	case OPT_SEED: return parse_u64("--seed", arg, &o->seed, err);
	case OPT_CHECK: o->cfg.check = 1; return SIM_OK;
	case OPT_CHECK_EVERY:
		o->cfg.check = 1;
		return parse_u64("--check-every", arg, &o->cfg.check_every, err);
	case OPT_MEMMAX:
		return parse_u64("--memory-max", arg, &o->cfg.os.memory_max, err);
	case OPT_FAULT: return parse_fault(&o->cfg.os.faults, arg, err);
	case OPT_EVENT_NS: return parse_u64("--event-ns", arg, &o->cfg.event_ns, err);
	case OPT_NO_TOUCH: o->cfg.touch = 0; return SIM_OK;
	case OPT_NO_OUT: o->no_output = 1; return SIM_OK;
	case OPT_CKPT_EVERY:
		return parse_u64("--checkpoint-every", arg,
				 &o->cfg.checkpoint_every, err);
	case OPT_CKPT_GC: o->cfg.checkpoint_gc = 1; return SIM_OK;
	case OPT_PLOT: o->plot = 1; return SIM_OK;
	}
	return SIM_ERR(err, SIM_EINVAL, "unknown option (see allocsim help)");
}

static int add_strategy(struct run_opts *o, const char *name,
			struct sim_err *err)
{
	const struct strategy_ops *ops = strategy_find(name);
	if (!ops)
		return SIM_ERR(err, SIM_EINVAL, "unknown strategy '%s' (see "
			       "allocsim list)", name);
	for (int i = 0; i < o->nops; i++)
		if (o->ops[i] == ops)
			return SIM_ERR(err, SIM_EINVAL, "strategy '%s' is named "
				       "twice in -s", name);
	if (o->nops == MAX_STRATS)
		return SIM_ERR(err, SIM_EINVAL, "too many strategies");
	o->ops[o->nops] = ops;
	return strat_params_default(ops, o->values[o->nops++], err);
}

static int pick_strategies(struct run_opts *o, struct sim_err *err)
{
	if (!o->strategies) {
		int rc = SIM_OK;
		for (int i = 0; strategy_registry[i] && rc == SIM_OK; i++)
			rc = add_strategy(o, strategy_registry[i]->name, err);
		return rc;
	}
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", o->strategies);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		int rc = add_strategy(o, tok, err);
		if (rc != SIM_OK)
			return rc;
	}
	return o->nops ? SIM_OK : SIM_ERR(err, SIM_EINVAL, "-s names no strategy");
}

/* Apply one -p S.KEY=VALUE. */
static int apply_param(struct run_opts *o, const char *text,
		       struct sim_err *err)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", text);
	char *dot = strchr(buf, '.'), *eq = strchr(buf, '=');
	if (!dot || !eq || eq < dot)
		return SIM_ERR(err, SIM_EINVAL, "-p %s: expected STRATEGY.KEY=VALUE",
			       text);
	*dot = *eq = '\0';
	for (int i = 0; i < o->nops; i++)
		if (strcmp(o->ops[i]->name, buf) == 0)
			return strat_param_set(o->ops[i], o->values[i], dot + 1,
					       eq + 1, err);
	if (strategy_find(buf))
		return SIM_ERR(err, SIM_EINVAL, "-p %s: strategy %s is not among "
			       "those run (-s)", text, buf);
	return SIM_ERR(err, SIM_EINVAL, "-p %s: unknown strategy '%s'", text, buf);
}

static int parse_run(struct run_opts *o, int argc, char **argv,
		     struct sim_err *err)
{
	engine_config_default(&o->cfg);
	o->seed = 1;
	o->wl.max_instructions = UINT64_C(2000000000);
	o->wl.params = o->wparams;
	int c, rc = SIM_OK;
	optind = 1;
	opterr = 0;
	while (rc == SIM_OK &&
	       (c = getopt_long(argc, argv, "s:o:p:qw:", run_longopts, NULL)) != -1) {
		if (c == '?')
			return SIM_ERR(err, SIM_EINVAL, "run: unknown option or "
				       "missing value: %s", argv[optind - 1]);
		rc = run_option(o, c, optarg, err);
	}
	if (rc == SIM_OK && optind != argc - 1)
		return SIM_ERR(err, SIM_EINVAL, "run: give exactly one SOURCE "
			       "(a trace file or a .lua workload)");
	o->source = argv[argc - 1];
	size_t len = strlen(o->source);
	if (rc == SIM_OK && o->wl.nparams &&
	    (len < 4 || strcmp(o->source + len - 4, ".lua") != 0))
		return SIM_ERR(err, SIM_EINVAL, "-w: %s is not a Lua workload "
			       "(.lua); -w sets workload parameters", o->source);
	if (rc == SIM_OK)
		rc = pick_strategies(o, err);
	for (int i = 0; rc == SIM_OK && i < o->nparams; i++)
		rc = apply_param(o, o->params[i], err);
	return rc;
}

/* ---- run: the comparison table ----------------------------------------------- */

static const char *human(uint64_t b, char *buf, size_t n)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

static const char *measure(const struct sim_measures *m, int i, double scale,
			   char *buf, size_t n)
{
	if (!m->defined[i])
		return "-";
	snprintf(buf, n, "%.1f", m->v[i] * scale);
	return buf;
}

static void table_header(void)
{
	printf("%-10s %-6s %10s %10s %10s %8s %8s %7s %7s %6s %8s %10s\n",
	       "strategy", "status", "peak live", "peak heap", "peak rss",
	       "jw4 %", "rss4 %", "int %", "ext %", "hit %", "syscalls",
	       "sim time");
}

static uint64_t total_calls(const struct simos_counts *c)
{
	uint64_t n = 0;
	for (int i = 0; i < SIMOS_NCALLS; i++)
		n += c->calls[i];
	return n;
}

static void table_row(const char *name, const struct run_result *r)
{
	char a[32], b[32], c[32], d[32], e[32], f[32], g[32], h[32];
	const struct sim_measures *m = &r->m;
	printf("%-10s %-6s %10s %10s %10s %8s %8s %7s %7s %6s %8" PRIu64
	       " %9.3fs\n", name,
	       r->status == SIM_OK ? "ok" : sim_rc_name(r->status),
	       human(r->st.peak.live_bytes, a, sizeof a),
	       human(r->st.peak.heap_bytes, b, sizeof b),
	       human(r->st.peak.rss_bytes, c, sizeof c),
	       measure(m, SIM_M_frag_jw4, 1, d, sizeof d),
	       measure(m, SIM_M_rss_frag_jw4, 1, e, sizeof e),
	       measure(m, SIM_M_frag_internal, 100, f, sizeof f),
	       measure(m, SIM_M_frag_external, 100, g, sizeof g),
	       measure(m, SIM_M_cache_hit_rate, 100, h, sizeof h),
	       total_calls(&r->os), (double)r->st.cur.t_ns * 1e-9);
}

/* ---- plot --------------------------------------------------------------------- */

/* The plot script: $ALLOCSIM_SCRIPTS/plot, else ../scripts/plot beside
 * this program (build/allocsim), else scripts/plot. */
static const char *plot_script(void)
{
	static char buf[PATH_MAX + 64];
	const char *env = getenv("ALLOCSIM_SCRIPTS");
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (env && *env) {
		snprintf(buf, sizeof buf, "%s/plot", env);
		return buf;
	}
	if (len > 0) {
		self[len] = '\0';
		char *slash = strrchr(self, '/');
		*(slash ? slash : self) = '\0';
		snprintf(buf, sizeof buf, "%s/../scripts/plot", self);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return "scripts/plot";
}

/* Run the plot script on dir and wait: its exit status (2 if it cannot
 * start). */
static int plot_dir(const char *dir)
{
	const char *script = plot_script();
	char *argv[] = {(char *)script, (char *)dir, NULL};
	extern char **environ;
	pid_t pid;
	int st, e = posix_spawn(&pid, script, NULL, NULL, argv, environ);
	if (e != 0)
		return fail(2, "cannot run the plot script %s", script);
	if (waitpid(pid, &st, 0) < 0)
		return fail(2, "%s: cannot wait for the plot script", dir);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}

static int cmd_plot(int argc, char **argv)
{
	if (argc != 2)
		return usage();
	return plot_dir(argv[1]);
}

/* ---- run -------------------------------------------------------------------- */

static int run_strategy(struct run_opts *o, int i, const char *run_name,
			const char *base, struct run_result *res,
			struct sim_err *err)
{
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/%s", base, o->ops[i]->name);
	struct run_spec spec = {
		o->source, run_name, o->no_output ? NULL : dir, o->ops[i],
		o->values[i], o->cfg, o->seed, &stop_requested, o->wl,
	};
	return run_one(&spec, res, err);
}

static int cmd_run(int argc, char **argv)
{
	static struct run_opts o;
	struct sim_err err;
	memset(&o, 0, sizeof o);
	int rc = parse_run(&o, argc, argv, &err);
	if (rc != SIM_OK)
		return report(rc, &err);
	char name[256], base[4096];
	run_name_for(o.source, name, sizeof name);
	snprintf(base, sizeof base, "%s", o.out ? o.out : "results/");
	if (!o.out)
		snprintf(base, sizeof base, "results/%s", name);
	int status = 0;
	for (int i = 0; i < o.nops; i++) {
		struct run_result res;
		rc = run_strategy(&o, i, name, base, &res, &err);
		if (rc == SIM_EINTR) {
			fprintf(stderr, "allocsim: interrupted during strategy %s (no "
				"results written for it); %d finished run(s) kept in %s\n",
				o.ops[i]->name, i, base);
			return 1;
		}
		if (rc != SIM_OK)
			return report(rc, &err);
		if (!o.quiet && i == 0)
			table_header();
		if (!o.quiet)
			table_row(o.ops[i]->name, &res);
		if (res.status != SIM_OK) {
			fprintf(stderr, "allocsim: %s: %s\n", o.ops[i]->name, res.message);
			status = 1;
		}
	}
	if (!o.quiet && !o.no_output)
		printf("results in %s/\n", base);
	fflush(stdout);
	if (o.plot && !o.no_output) {
		int pst = plot_dir(base);
		status = status ? status : pst;
	}
	return status;
}

/* ---- trace --------------------------------------------------------------------- */

static void print_hist(const struct trace_stats *st)
{
	printf("size histogram (requested bytes):\n");
	if (st->size_hist[TRACE_HIST_BUCKETS])
		printf("  %12s  %" PRIu64 "\n", "0", st->size_hist[TRACE_HIST_BUCKETS]);
	for (int k = 0; k < TRACE_HIST_BUCKETS; k++) {
		if (!st->size_hist[k])
			continue;
		char lo[32], hi[32];
		snprintf(lo, sizeof lo, "%" PRIu64, (uint64_t)1 << k);
		snprintf(hi, sizeof hi, "%" PRIu64, ((uint64_t)1 << (k + 1)) - 1);
		printf("  %12s..%-14s %" PRIu64 "\n", lo, hi, st->size_hist[k]);
	}
}

static int trace_cmd_check(int argc, char **argv)
{
	if (argc != 2)
		return usage();
	static struct trace_stats st;
	struct sim_err err;
	int rc = trace_check(argv[1], &st, &err);
	if (rc != SIM_OK)
		return report(rc, &err);
	static const char kinds[] = "acmrfgt";
	printf("%s: valid\nevents: %" PRIu64 "\n", argv[1], st.events);
	for (const char *k = kinds; *k; k++)
		printf("  %c: %" PRIu64 "\n", *k, st.by_kind[(unsigned char)*k]);
	char a[32], b[32];
	printf("threads: %" PRIu64 "\nobjects live at end: %" PRIu64
	       "\npeak live objects: %" PRIu64 "\npeak live bytes: %" PRIu64
	       " (%s)\ntotal bytes allocated: %" PRIu64 " (%s)\n", st.threads,
	       st.live_objects, st.peak_live_objects, st.peak_live_bytes,
	       human(st.peak_live_bytes, a, sizeof a), st.total_bytes,
	       human(st.total_bytes, b, sizeof b));
	print_hist(&st);
	return 0;
}

static int parse_format(const char *t, enum trace_format *f)
{
	if (strcmp(t, "text") == 0)
		*f = TRACE_TEXT;
	else if (strcmp(t, "gzip") == 0)
		*f = TRACE_GZIP;
	else if (strcmp(t, "binary") == 0)
		*f = TRACE_BINARY;
	else
		return -1;
	return 0;
}

static int trace_cmd_convert(int argc, char **argv)
{
	struct sim_err err;
	if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--format") == 0))
		return usage();
	enum trace_format fmt = trace_format_for_path(argv[2]);
	if (argc == 5 && parse_format(argv[4], &fmt) != 0)
		return fail(2, "--format: '%s' is not text, gzip or binary", argv[4]);
	return report(trace_convert(argv[1], argv[2], fmt, &err), &err);
}

/* Where libastrace.so is: $ALLOCSIM_TRACER, or beside this program. */
static int tracer_path(char *buf, size_t n)
{
	const char *env = getenv("ALLOCSIM_TRACER");
	if (env) {
		snprintf(buf, n, "%s", env);
		return access(buf, R_OK);
	}
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len < 0)
		return -1;
	self[len] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, n, "%s/libastrace.so", self);
	return access(buf, R_OK);
}

/* Run argv with the tracer writing a text trace to out; child's status. */
static int traced_child(char **argv, const char *lib, const char *out)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setenv("LD_PRELOAD", lib, 1);
		setenv("ALLOCSIM_TRACE_OUT", out, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "allocsim: %s: cannot run: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int trace_cmd_record(int argc, char **argv)
{
	if (argc < 5 || strcmp(argv[1], "-o") != 0 || strcmp(argv[3], "--") != 0)
		return usage();
	const char *out = argv[2];
	char lib[PATH_MAX + 32], raw[PATH_MAX + 16];
	if (tracer_path(lib, sizeof lib) != 0)
		return fail(2, "cannot find the tracer library %s (build it with "
			    "make, or set ALLOCSIM_TRACER)", lib);
	enum trace_format fmt = trace_format_for_path(out);
	snprintf(raw, sizeof raw, "%s%s", out, fmt == TRACE_TEXT ? "" : ".raw");
	int st = traced_child(argv + 4, lib, raw);
	if (st < 0)
		return fail(1, "%s: could not start or wait for the program", argv[4]);
	if (st != 0)
		fprintf(stderr, "allocsim: note: %s exited with status %d\n",
			argv[4], st);
	if (fmt == TRACE_TEXT)
		return 0;
	struct sim_err err;
	int rc = trace_convert(raw, out, fmt, &err);
	remove(raw);
	return report(rc, &err);
}

static int cmd_trace(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "check") == 0)
		return trace_cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "convert") == 0)
		return trace_cmd_convert(argc - 1, argv + 1);
	if (strcmp(argv[1], "record") == 0)
		return trace_cmd_record(argc - 1, argv + 1);
	return usage();
}

/* ---- sweep ------------------------------------------------------------------------ */

struct sweep_opts {
	const char *file, *out, *emit;
	int jobs, merge_only, list_only, max_tasks;
};

static int parse_sweep(struct sweep_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"out", required_argument, NULL, 'o'},
		{"jobs", required_argument, NULL, 'j'},
		{"emit", required_argument, NULL, 'e'},
		{"merge", no_argument, NULL, 'm'},
		{"list", no_argument, NULL, 'l'},
		{"max-tasks", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0}
	};
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	o->jobs = n > 0 ? (int)n : 1;
	o->max_tasks = 1000;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:j:", longopts, NULL)) != -1) {
		char *end = NULL;
		long v = optarg ? strtol(optarg, &end, 10) : 0;
		if (c == 'o')
			o->out = optarg;
		else if ((c == 'j' || c == 't') && (*end || v < 1 || v > 100000))
			return fail(2, "sweep: -j/--max-tasks: '%s' is not a number "
				    ">= 1", optarg);
		else if (c == 'j' || c == 't')
			*(c == 'j' ? &o->jobs : &o->max_tasks) = (int)v;
		else if (c == 'e' && strcmp(optarg, "slurm") == 0)
			o->emit = optarg;
		else if (c == 'm' || c == 'l')
			*(c == 'm' ? &o->merge_only : &o->list_only) = 1;
		else
			return fail(2, "sweep: unknown option or bad value: %s "
				    "(--emit takes slurm)", argv[optind - 1]);
	}
	if (optind != argc - 1)
		return fail(2, "%s", "sweep: give exactly one experiment FILE");
	o->file = argv[optind];
	return 0;
}

/* The merge step, shared by every way of running: 0, or 1 when runs
 * are missing. */
static int sweep_finish(const struct sweep *sw)
{
	struct sim_err err;
	size_t missing;
	int rc = sweep_merge(sw, &missing, &err);
	if (rc != SIM_OK)
		return report(rc, &err);
	printf("merged %zu of %zu runs into %s/summary.csv\n", sw->nr - missing,
	       sw->nr, sw->outdir);
	if (missing)
		fprintf(stderr, "allocsim: sweep: %zu run(s) have no results yet\n",
			missing);
	return missing ? 1 : 0;
}

static int sweep_go(const struct sweep_opts *o, struct sweep *sw)
{
	struct sim_err err;
	size_t failed = 0;
	int rc;
	if (o->merge_only)
		return sweep_finish(sw);
	if (o->emit) {
		rc = sweep_emit_slurm(sw, o->max_tasks, &err);
		if (rc == SIM_OK)
			printf("%zu runs: %s/jobs.txt\nsubmit: sbatch %s/sweep.sbatch\n"
			       "then merge: allocsim sweep %s -o %s --merge\n", sw->nr,
			       sw->outdir, sw->outdir, o->file, sw->outdir);
		return report(rc, &err);
	}
	rc = sweep_write_jobs(sw, &err);
	if (rc == SIM_OK && o->list_only) {
		for (size_t i = 0; i < sw->nr; i++)
			printf("%s\t%s\n", sw->r[i].out, sw->r[i].cmd);
		return 0;
	}
	if (rc == SIM_OK)
		rc = sweep_run_local(sw, o->jobs, &stop_requested, &failed, &err);
	if (rc != SIM_OK)
		return report(rc, &err);
	int st = sweep_finish(sw);
	if (failed)
		fprintf(stderr, "allocsim: sweep: %zu run(s) failed (see above)\n",
			failed);
	return st;
}

static int cmd_sweep(int argc, char **argv)
{
	struct sweep_opts o = {0};
	int st = parse_sweep(&o, argc, argv);
	if (st != 0)
		return st;
	char out[4096], self[PATH_MAX], name[256];
	run_name_for(o.file, name, sizeof name);
	snprintf(out, sizeof out, "%s", o.out ? o.out : "results/sweep-");
	if (!o.out)
		snprintf(out, sizeof out, "results/sweep-%s", name);
	if (!realpath("/proc/self/exe", self))
		return fail(2, "%s", "cannot find the allocsim program itself");
	static struct sweep sw;
	struct sim_err err;
	int rc = sweep_load(&sw, o.file, out, self, &err);
	if (rc != SIM_OK)
		return report(rc, &err);
	st = sweep_go(&o, &sw);
	sweep_free(&sw);
	return st;
}

/* ---- main ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (argc < 2)
		exit(usage());
	const char *cmd = argv[1];
	int st;
	if (strcmp(cmd, "run") == 0)
		st = cmd_run(argc - 1, argv + 1);
	else if (strcmp(cmd, "list") == 0)
		st = cmd_list(argc - 1, argv + 1);
	else if (strcmp(cmd, "trace") == 0)
		st = cmd_trace(argc - 1, argv + 1);
	else if (strcmp(cmd, "sweep") == 0)
		st = cmd_sweep(argc - 1, argv + 1);
	else if (strcmp(cmd, "plot") == 0)
		st = cmd_plot(argc - 1, argv + 1);
	else if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) {
		fputs(usage_text, stdout);
		st = 0;
	} else
		st = fail(2, "unknown command '%s' (try allocsim help)", cmd);
	fflush(stdout);
	exit(st);
}
