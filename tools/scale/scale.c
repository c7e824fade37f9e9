/*
 * scale.c - `make bench-scale`: does a trace as large as a real server's
 * replay through every strategy in bounded host memory?
 *
 *   scale [-e EVENTS] [-l LIVE] [-t SECONDS] [-o TRACE] ALLOCSIM [STRATEGY...]
 *
 * 1. Generate (once; reused while the file exists) a binary trace of
 *    EVENTS events (default 200 million) whose live set holds LIVE objects
 *    (default 10 million) for most of its length: LIVE allocations, then
 *    churn - a free of a uniformly chosen live object and a new allocation,
 *    sometimes a realloc - then frees of everything left.  It is written
 *    event by event through the trace writer (never held in memory; only
 *    the LIVE IDs are) to TRACE, default /tmp/allocsim-scale-E-L.atb.
 *    Sizes: 70 % 8..128 bytes, 25 % to 1 KiB, 4.9 % to 16 KiB, 0.1 % to
 *    256 KiB; eight threads; calloc 5 %, memalign 1 %, realloc 2 % of churn.
 * 2. Replay it with `ALLOCSIM run TRACE -s S --no-output -q` for each
 *    strategy (default: every one `ALLOCSIM list` names), one child process
 *    each, and read the child's peak RSS from wait4's rusage.  A baseline
 *    run of a 2-event trace gives the fixed amount; (peak - baseline) / LIVE
 *    is the simulator's host memory per live object (target < 64 bytes).
 *    A strategy still running after SECONDS (default 3600) is stopped and
 *    reported as such, with its RSS so far.
 * Figures depend on the machine only through time; memory figures are the
 * same everywhere (same binary, same trace).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"

#define MAX_STRATS 32

struct opts {
	uint64_t events, live, timeout;
	const char *bin, *trace;
	char trace_buf[256];
	const char *strat[MAX_STRATS];
	int nstrat;
};

/* ---- the trace ------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
	rng_state = x;
	return x * UINT64_C(2685821657736338717);
}

static uint64_t below(uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rnd() * n) >> 64);
}

static uint64_t draw_size(void)
{
	uint64_t u = below(1000);
	if (u < 700)
		return 8 + below(121);
	if (u < 950)
		return 129 + below(896);
	if (u < 999)
		return 1025 + below(15 * 1024);
	return 16 * 1024 + below(240 * 1024);
}

struct gen {
	struct trace_writer *w;
	uint64_t *ids;          /* the live IDs, unordered */
	uint64_t nlive, next_id, written;
	struct sim_err err;
};

static int put(struct gen *g, struct sim_event ev)
{
	ev.tid = (uint32_t)below(8);
	g->written++;
	return trace_write(g->w, &ev, &g->err);
}

static int birth(struct gen *g, uint64_t slot)
{
	struct sim_event ev = {.kind = EV_ALLOC, .id = g->next_id,
			       .size = draw_size()};
	uint64_t u = below(100);
	if (u < 5)
		ev.kind = EV_CALLOC;
	else if (u < 6)
		ev.kind = EV_MEMALIGN, ev.align = UINT64_C(16) << below(9);
	g->ids[slot] = g->next_id++;
	return put(g, ev);
}

/* One churn step: a realloc (2 %) or a free and a birth in its place. */
static int churn(struct gen *g)
{
	uint64_t slot = below(g->nlive), id = g->ids[slot];
	if (below(100) < 2) {
		struct sim_event ev = {.kind = EV_REALLOC, .id = id,
				       .id2 = g->next_id, .size = draw_size()};
		g->ids[slot] = g->next_id++;
		return put(g, ev);
	}
	int rc = put(g, (struct sim_event){.kind = EV_FREE, .id = id});
	return rc != SIM_OK ? rc : birth(g, slot);
}

static int generate(const struct opts *o)
{
	struct gen g = {.next_id = 1};
	g.ids = malloc(o->live * sizeof *g.ids);
	if (!g.ids)
		return fprintf(stderr, "scale: out of memory\n"), -1;
	int rc = trace_writer_open(o->trace, TRACE_BINARY, &g.w, &g.err);
	if (rc == SIM_OK)
		rc = trace_write_meta(g.w, "program", "allocsim bench-scale", &g.err);
	for (; rc == SIM_OK && g.nlive < o->live; g.nlive++)
		rc = birth(&g, g.nlive);
	while (rc == SIM_OK && g.written + g.nlive + 1 < o->events)
		rc = churn(&g);
	while (rc == SIM_OK && g.nlive)
		rc = put(&g, (struct sim_event){.kind = EV_FREE,
						.id = g.ids[--g.nlive]});
	if (rc == SIM_OK)
		rc = trace_writer_close(g.w, &g.err);
	else
		trace_writer_abort(g.w);
	free(g.ids);
	if (rc != SIM_OK)
		fprintf(stderr, "scale: %s\n", g.err.msg);
	return rc == SIM_OK ? 0 : -1;
}

/* ---- replays in child processes -------------------------------------------- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct result {
	int status;              /* exit status, or -1 when stopped */
	long maxrss_kib;
	double seconds;
};

/* Run ALLOCSIM run TRACE -s S --no-output -q with a time limit. */
static struct result replay(const struct opts *o, const char *trace,
			    const char *strategy)
{
	struct result r = {0, 0, 0};
	double t0 = now();
	pid_t pid = fork();
	if (pid == 0) {
		execl(o->bin, o->bin, "run", trace, "-s", strategy, "--no-output",
		      "-q", (char *)NULL);
		_exit(127);
	}
	int st = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	for (;;) {
		pid_t w = wait4(pid, &st, WNOHANG, &ru);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (now() - t0 > (double)o->timeout)
			kill(pid, SIGKILL), r.status = -2;
		usleep(20000);
	}
	r.seconds = now() - t0;
	r.maxrss_kib = ru.ru_maxrss;
	if (r.status != -2)
		r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r;
}

/* Every strategy `ALLOCSIM list` prints (lines that start with a name). */
static int list_strategies(struct opts *o)
{
	char cmd[1024], line[512];
	snprintf(cmd, sizeof cmd, "'%s' list", o->bin);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	static char names[MAX_STRATS][64];
	while (fgets(line, sizeof line, p) && o->nstrat < MAX_STRATS)
		if (line[0] != ' ' && sscanf(line, "%63s", names[o->nstrat]) == 1) {
			o->strat[o->nstrat] = names[o->nstrat];
			o->nstrat++;
		}
	return pclose(p) == 0 && o->nstrat ? 0 : -1;
}

static int parse(struct opts *o, int argc, char **argv)
{
	o->events = 200000000;
	o->live = 10000000;
	o->timeout = 3600;
	int c;
	while ((c = getopt(argc, argv, "e:l:t:o:")) != -1) {
		if (c == 'e')
			o->events = strtoull(optarg, NULL, 10);
		else if (c == 'l')
			o->live = strtoull(optarg, NULL, 10);
		else if (c == 't')
			o->timeout = strtoull(optarg, NULL, 10);
		else if (c == 'o')
			o->trace = optarg;
		else
			return -1;
	}
	if (optind >= argc || o->live < 1 || o->events < 2 * o->live + 2)
		return -1;
	o->bin = argv[optind++];
	for (; optind < argc && o->nstrat < MAX_STRATS; optind++)
		o->strat[o->nstrat++] = argv[optind];
	if (!o->trace) {
		snprintf(o->trace_buf, sizeof o->trace_buf,
			 "/tmp/allocsim-scale-%" PRIu64 "-%" PRIu64 ".atb",
			 o->events, o->live);
		o->trace = o->trace_buf;
	}
	return o->nstrat ? 0 : list_strategies(o);
}

static const char *describe(const struct result *r, char *buf, size_t n)
{
	if (r->status == -2)
		snprintf(buf, n, "stopped after %.0f s", r->seconds);
	else if (r->status == 0)
		snprintf(buf, n, "ok");
	else
		snprintf(buf, n, "exit %d", r->status);
	return buf;
}

int main(int argc, char **argv)
{
	static struct opts o;
	if (parse(&o, argc, argv) != 0) {
		fprintf(stderr, "usage: scale [-e EVENTS] [-l LIVE] [-t SECONDS] "
			"[-o TRACE] ALLOCSIM [STRATEGY...]\n");
		return 2;
	}
	struct stat sb;
	if (stat(o.trace, &sb) != 0) {
		printf("generating %s: %" PRIu64 " events, %" PRIu64
		       " live objects\n", o.trace, o.events, o.live);
		fflush(stdout);
		double t0 = now();
		if (generate(&o) != 0)
			return 2;
		stat(o.trace, &sb);
		printf("  %.1f s, %.2f GB, %.2f bytes an event\n", now() - t0,
		       (double)sb.st_size / 1e9, (double)sb.st_size / (double)o.events);
	} else {
		printf("reusing %s (%.2f GB)\n", o.trace, (double)sb.st_size / 1e9);
	}
	static const char tiny[] = "/tmp/allocsim-scale-baseline.trace";
	FILE *f = fopen(tiny, "w");
	if (!f || fputs("# allocsim-trace v1\na 0 1 16\nf 0 1\n", f) < 0 ||
	    fclose(f) != 0)
		return 2;
	printf("%-10s %-18s %10s %12s %12s %12s %14s\n", "strategy", "status",
	       "seconds", "Mevents/s", "peak RSS", "baseline", "B/live object");
	int bad = 0;
	for (int i = 0; i < o.nstrat; i++) {
		struct result base = replay(&o, tiny, o.strat[i]);
		struct result r = replay(&o, o.trace, o.strat[i]);
		char st[64];
		double per = ((double)r.maxrss_kib - (double)base.maxrss_kib) *
			     1024.0 / (double)o.live;
		printf("%-10s %-18s %10.1f %12.2f %9.1f MiB %8.1f MiB %14.1f%s\n",
		       o.strat[i], describe(&r, st, sizeof st), r.seconds,
		       r.status == 0 ? (double)o.events / r.seconds / 1e6 : 0.0,
		       r.maxrss_kib / 1024.0, base.maxrss_kib / 1024.0, per,
		       r.status == 0 && per >= 64 ? "  (over 64)" : "");
		fflush(stdout);
		bad |= r.status != 0;
	}
	remove(tiny);
	printf("host memory per live object = (peak RSS - baseline) / %" PRIu64
	       "; target < 64 bytes\n", o.live);
	return bad;
}
