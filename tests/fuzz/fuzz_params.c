/*
 * fuzz_params.c - libFuzzer target: everything that parses what a user
 * types - -p STRATEGY.KEY=VALUE (strat_param_set and the command line),
 * -w NAME=VALUE (read by a script's param()), --fault KIND=N and the rest
 * of `allocsim run`'s options - and strategies created with whatever
 * parameter values and fault plans get through.
 *
 * The input is lines; byte 0 picks the mode (modulo 3) and, for mode 0,
 * the strategy (byte 0 >> 2, modulo the registry):
 *   0  each line KEY=VALUE sets a parameter of the strategy (the accepted
 *      value must print and parse back to itself) or, when KEY names a
 *      fault, a field of the fault plan; then the strategy runs a fixed
 *      3,000-event sequence with the shadow checker on;
 *   1  the lines are the arguments of `allocsim run ... MISSING-SOURCE`,
 *      through sim/main.c itself (built with main renamed and exit
 *      caught), so every option parser runs and nothing is written;
 *   2  the lines are -w texts for a fixed script that reads four
 *      parameters of four types and allocates by one of them.
 * What must hold: no crash, no sanitizer report, and no SIM_ECHECK.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz.h"
#include "run.h"

#define MAX_LINES 128

int allocsim_main(int argc, char **argv);
void fuzz_exit(int status) __attribute__((noreturn));

static jmp_buf exit_jb;

/* sim/main.c's exit() (built with -Dexit=fuzz_exit): back to the target. */
void fuzz_exit(int status)
{
	longjmp(exit_jb, status + 1);
}

int LLVMFuzzerInitialize(int *argc, char **argv[])
{
	(void)argc;
	(void)argv;
	/* main.c reports errors on stdio's stderr (runs are -q); sanitizers
	 * write to fd 2 directly, so their reports still show */
	FILE *null = fopen("/dev/null", "w");
	if (null)
		stderr = null;
	return 0;
}

static void bug(const char *what, const char *msg)
{
	dprintf(2, "fuzz_params: %s: %s\n", what, msg);
	abort();
}

/* Split text into NUL-terminated lines (at '\n' or NUL) in buf. */
static int split(const uint8_t *data, size_t n, char *buf, char **line)
{
	int k = 0;
	memcpy(buf, data, n);
	buf[n] = '\0';
	line[k++] = buf;
	for (size_t i = 0; i < n && k < MAX_LINES; i++)
		if (buf[i] == '\n' || buf[i] == '\0') {
			buf[i] = '\0';
			line[k++] = buf + i + 1;
		}
	return k;
}

/* ---- mode 0: parameters and fault plans, then a run ----------------------- */

static void set_line(const struct strategy_ops *ops, union param_value *pv,
		     struct simos_faults *f, char *line)
{
	struct sim_err err;
	char *eq = strchr(line, '=');
	uint64_t v;
	if (!eq)
		return;
	*eq = '\0';
	if (strat_parse_size(eq + 1, &v) == SIM_OK &&
	    simos_fault_set(f, line, v, &err) == SIM_OK)
		return;
	if (strat_param_set(ops, pv, line, eq + 1, &err) != SIM_OK)
		return;
	for (size_t i = 0; i < strat_param_count(ops); i++) {
		char text[64];
		union param_value again[64];
		memcpy(again, pv, sizeof again);
		strat_param_format(&ops->params[i], pv[i], text, sizeof text);
		if (strat_param_set(ops, again, ops->params[i].name, text, &err)
		    != SIM_OK || memcmp(&again[i], &pv[i], sizeof pv[i]) != 0)
			bug("a value does not print and parse back", text);
	}
}

/* A fixed mix of 3,000 events: allocations of 0..70,000 bytes, aligned
 * ones, reallocs, frees, collections and clock marks. */
static void fixed_run(struct engine *e, const char *name)
{
	uint64_t live[256] = {0}, next = 1, x = 88172645463325252u;
	struct sim_err err;
	int rc = SIM_OK;
	for (int i = 0; i < 3000 && rc == SIM_OK; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned slot = (unsigned)(x >> 8) & 255, k = (unsigned)x & 15;
		struct sim_event ev = {.kind = EV_ALLOC, .tid = (uint32_t)(x >> 40) % 9,
				       .size = (x >> 20) % (k < 12 ? 600 : 70000)};
		if (live[slot] && k < 9)
			ev = (struct sim_event){.kind = EV_FREE, .tid = ev.tid,
						.id = live[slot]};
		else if (live[slot] && k < 11)
			ev = (struct sim_event){.kind = EV_REALLOC, .tid = ev.tid,
						.id = live[slot], .id2 = next,
						.size = ev.size};
		else if (k == 11)
			ev = (struct sim_event){.kind = EV_GC, .tid = ev.tid};
		else if (k == 12)
			ev = (struct sim_event){.kind = EV_CLOCK,
						.size = (uint64_t)i * 1000000};
		else if (live[slot])
			continue;
		else if (k == 13)
			ev.kind = EV_MEMALIGN, ev.align = 16u << (x >> 50) % 10;
		if (ev.kind == EV_ALLOC || ev.kind == EV_MEMALIGN)
			ev.id = next;
		rc = engine_step(e, &ev, &err);
		if (ev.kind == EV_FREE)
			live[slot] = 0;
		else if (ev.kind == EV_ALLOC || ev.kind == EV_MEMALIGN ||
			 ev.kind == EV_REALLOC)
			live[slot] = next++;
	}
	if (rc == SIM_ECHECK || (rc == SIM_OK &&
				 engine_finish(e, &err) == SIM_ECHECK))
		bug(name, err.msg);
}

static void mode_params(const struct strategy_ops *ops, char **line, int n)
{
	union param_value pv[64];
	struct engine_config cfg;
	struct sim_err err;
	struct engine *e;
	engine_config_default(&cfg);
	if (strat_params_default(ops, pv, &err) != SIM_OK)
		bug("defaults refused", err.msg);
	for (int i = 0; i < n; i++)
		set_line(ops, pv, &cfg.os.faults, line[i]);
	cfg.check = 1;
	cfg.check_every = 100;
	cfg.sample_every = 0;
	if (!cfg.os.faults.max_mapped_bytes ||
	    cfg.os.faults.max_mapped_bytes > FUZZ_MAX_MAPPED)
		cfg.os.faults.max_mapped_bytes = FUZZ_MAX_MAPPED;
	if (engine_create(&cfg, ops, pv, &e, &err) != SIM_OK)
		return;   /* e.g. a combination the strategy refuses */
	fixed_run(e, ops->name);
	engine_destroy(e);
}

/* ---- mode 1: the command line ------------------------------------------------ */

static void mode_cli(char **line, int n)
{
	char *argv[MAX_LINES + 8];
	int argc = 0;
	argv[argc++] = "allocsim";
	argv[argc++] = "run";
	argv[argc++] = "--no-output";
	argv[argc++] = "-q";
	for (int i = 0; i < n; i++)
		if (strncmp(line[i], "--pl", 4) != 0)   /* no dlopen of files */
			argv[argc++] = line[i];
	argv[argc++] = n % 2 ? "/nonexistent/fuzz.lua" : "/nonexistent/fuzz.trace";
	argv[argc] = NULL;
	if (setjmp(exit_jb) == 0)
		allocsim_main(argc, argv);
}

/* ---- mode 2: -w and param() ------------------------------------------------------ */

static const char script[] =
	"local a = param('a', 1)\n"
	"local b = param('b', 'x')\n"
	"local c = param('c', true)\n"
	"local d = param('d', 2.5)\n"
	"local n = (math.tointeger(a) or 0) % 50\n"
	"for i = 1, n do free(alloc(i * 16 + #tostring(b))) end\n"
	"if c and d > 0 and d < 1e6 then free(alloc(math.floor(d))) end\n";

static void mode_workload(char **line, int n)
{
	const char *path = fuzz_file(1, script, sizeof script - 1);
	struct workload_opts wl;
	memset(&wl, 0, sizeof wl);
	wl.params = (const char *const *)line;
	wl.nparams = (size_t)n;
	wl.max_events = FUZZ_MAX_EVENTS;
	wl.max_instructions = FUZZ_MAX_INSTR;
	wl.lua_memory_max = FUZZ_LUA_MEMORY;
	struct source src;
	struct sim_err err;
	if (!path || lsim_source_open(path, 1, &wl, &src, &err) != SIM_OK)
		return;
	union param_value pv[64];
	struct engine_config cfg;
	struct engine *e;
	engine_config_default(&cfg);
	cfg.sample_every = 0;
	if (strat_params_default(strategy_registry[0], pv, &err) == SIM_OK &&
	    engine_create(&cfg, strategy_registry[0], pv, &e, &err) == SIM_OK) {
		volatile sig_atomic_t stop = 0;
		if (src.drive(src.ctx, e, &stop, &err) == SIM_ECHECK)
			bug("workload", err.msg);
		engine_destroy(e);
	}
	src.close(src.ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[FUZZ_MAX_INPUT + 1];
	char *line[MAX_LINES];
	if (size < 1 || size > 4096)
		return 0;
	int n = split(data + 1, size - 1, buf, line);
	switch (data[0] % 3) {
	case 0: mode_params(fuzz_strategy(data[0] >> 2), line, n); break;
	case 1: mode_cli(line, n); break;
	default: mode_workload(line, n); break;
	}
	return 0;
}
