/*
 * test_badinput.c - the bad-input catalogue: malformed traces (text, gzip,
 * binary), bad command lines, unwritable outputs and Lua workloads that
 * fail in every way a script can, each run through the built binary with
 * the exact exit status and message (a substring of what it prints) it
 * must produce.  After every case: no temporary file (*.tmp*) is left
 * anywhere in the case's folder, and a run that failed on its input (exit
 * status 2) left no summary.json or series.csv behind.
 *
 * One row per case.  The runner makes a fresh folder, writes `content` to
 * the input file in.EXT (BIG: a valid 20,000-event trace), runs the `prep`
 * shell command there (to compress, convert, cut or poke the input), then
 * runs `allocsim ARGS` in that folder; "{in}" in args and prep stands for
 * the input's name, "{A}" for the binary.  Default args: "run {in} -o out".
 *
 * A decision recorded here (and in README's Traces section): a free (or
 * any event) by a thread ID that no earlier event used is legal.  The trace
 * format numbers threads in order of first use, but a thread whose first
 * heap call frees an object another thread allocated is an ordinary
 * cross-thread free, and TIDs are only labels to the engine and the
 * strategies (any 32-bit value works), so the reader accepts TIDs in any
 * order; the rows "free by a new thread" and "TID 2^32-1" check that every
 * strategy replays such traces cleanly.  TIDs past 2^32-1 are refused.
 *
 * The binary is $ALLOCSIM (tests/run-tests sets it), else build/allocsim;
 * an ALLOCSIM with a space is a command line with absolute paths
 * (tests/run-valgrind runs it as "valgrind ... /path/allocsim").
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define H "# allocsim-trace v1\n"
#define BIG ((const char *)1)

struct bad {
	const char *name;
	const char *ext;         /* input file extension */
	const char *content;     /* NULL: no input file; BIG: a valid trace */
	const char *prep;        /* shell command run in the folder, or NULL */
	const char *args;        /* NULL: "run {in} -o out" */
	int status;
	const char *msg;
};

/* Poke byte B at offset O of {in}: dd without truncation. */
#define POKE(o, b) "printf '" b "' | dd of={in} bs=1 seek=" o " conv=notrunc 2>/dev/null"


/* N bytes of seeded garbage (the same every run: /dev/urandom made the
 * expected message depend on luck, e.g. a carriage return in line 1). */
#define GARBAGE(n) "LC_ALL=C awk 'BEGIN { srand(7); for (i = 0; i < " #n \
	"; i++) printf \"%c\", int(rand() * 256) }'"

static const struct bad cases[] = {
	/* ---- text traces ---- */
	{"empty file", ".trace", "", NULL, NULL, 2,
	 "in.trace:1: missing header line '# allocsim-trace v1'"},
	{"no header", ".trace", "a 0 1 10\n", NULL, NULL, 2,
	 "in.trace:1: missing header line '# allocsim-trace v1'"},
	{"future version", ".trace", "# allocsim-trace v2\na 0 1 10\n", NULL,
	 NULL, 2, "in.trace:1: unsupported trace version '2'"},
	{"DOS line endings", ".trace", "# allocsim-trace v1\r\na 0 1 10\r\n",
	 NULL, NULL, 2, "in.trace:1: line ends in CR (DOS line endings"},
	{"unknown event letter", ".trace", H "x 0 1 10\n", NULL, NULL, 2,
	 "in.trace:2: unknown event letter 'x'"},
	{"too few fields", ".trace", H "a 0 1\n", NULL, NULL, 2,
	 "in.trace:2: wrong field count for 'a': expected 3 fields (TID ID "
	 "SIZE), got 2"},
	{"too many fields", ".trace", H "a 0 1 10 5\n", NULL, NULL, 2,
	 "in.trace:2: wrong field count for 'a': expected 3 fields (TID ID "
	 "SIZE), got 4"},
	{"double space", ".trace", H "f  0 1\n", NULL, NULL, 2,
	 "in.trace:2: wrong field count for 'f'"},
	{"leading space", ".trace", H " a 0 1 10\n", NULL, NULL, 2,
	 "in.trace:2: unknown event letter ''"},
	{"empty line", ".trace", H "\na 0 1 10\n", NULL, NULL, 2,
	 "in.trace:2: empty line"},
	{"non-numeric size", ".trace", H "a 0 1 ten\n", NULL, NULL, 2,
	 "in.trace:2: field SIZE is not a number: 'ten'"},
	{"negative size", ".trace", H "a 0 1 -5\n", NULL, NULL, 2,
	 "in.trace:2: field SIZE is not a number: '-5'"},
	{"hex size", ".trace", H "a 0 1 0x10\n", NULL, NULL, 2,
	 "in.trace:2: field SIZE is not a number: '0x10'"},
	{"size overflows 64 bits", ".trace", H "a 0 1 99999999999999999999999\n",
	 NULL, NULL, 2, "in.trace:2: field SIZE is out of range: "
	 "'99999999999999999999999'"},
	{"huge size", ".trace", H "a 0 1 10\na 0 2 281474976710657\n", NULL,
	 NULL, 2, "in.trace:3: field SIZE: size 281474976710657 is beyond 2^48"},
	{"64 TiB block (past the 1 TiB address-space limit)", ".trace",
	 H "a 0 1 70000000000000\n", NULL, "run {in} -s bump,span -o out", 1,
	 "in.trace:2: event 0: strategy span could not allocate 70000000000000 "
	 "bytes (out of memory)"},
	{"100 TB block in first fit", ".lua", "local c = alloc(100222222222222)\n",
	 NULL, "run {in} -s firstfit,bestfit -o out", 1,
	 "in.lua:1: event 0: strategy bestfit could not allocate 100222222222222 "
	 "bytes (out of memory)"},
	{"huge realloc", ".trace", H "a 0 1 10\nr 0 1 1 281474976710657\n", NULL,
	 NULL, 2, "in.trace:3: field SIZE: size 281474976710657 is beyond 2^48"},
	{"NUL byte", ".trace", H "a 0 1 1\0010\n", "tr '\\001' '\\000' < {in} > x "
	 "&& mv x {in}", NULL, 2, "in.trace:2: field SIZE is not a number"},
	{"first ID not 1", ".trace", H "a 0 2 10\n", NULL, NULL, 2,
	 "in.trace:2: field ID: ID 2 is not the next unused ID 1"},
	{"ID 0", ".trace", H "a 0 0 10\n", NULL, NULL, 2,
	 "in.trace:2: field ID: ID 0 is not the next unused ID 1"},
	{"IDs out of order", ".trace", H "a 0 1 10\na 0 3 10\na 0 2 10\n", NULL,
	 NULL, 2, "in.trace:3: field ID: ID 3 is not the next unused ID 2"},
	{"ID reused", ".trace", H "a 0 1 10\nf 0 1\na 0 1 10\n", NULL, NULL, 2,
	 "in.trace:4: field ID: ID 1 is not the next unused ID 2"},
	{"double free", ".trace", H "a 0 1 10\nf 0 1\nf 0 1\n", NULL, NULL, 2,
	 "in.trace:4: field ID: double free or unknown ID 1"},
	{"free of ID 0 before any allocation", ".trace", H "f 0 0\n", NULL, NULL,
	 2, "in.trace:2: field ID: double free or unknown ID 0"},
	{"free of unknown ID", ".trace", H "a 0 1 10\nf 0 7\n", NULL, NULL, 2,
	 "in.trace:3: field ID: double free or unknown ID 7"},
	{"realloc of a freed ID", ".trace", H "a 0 1 10\nf 0 1\nr 0 1 2 20\n",
	 NULL, NULL, 2, "in.trace:4: field OLD: double free or unknown ID 1"},
	{"realloc to a skipped ID", ".trace", H "a 0 1 10\nr 0 1 5 20\n", NULL,
	 NULL, 2, "in.trace:3: field NEW: ID 5 is not the next unused ID 2"},
	{"alignment not a power of two", ".trace", H "m 0 1 24 10\n", NULL, NULL,
	 2, "in.trace:2: field ALIGN: alignment 24 is not a power of two"},
	{"alignment 0", ".trace", H "m 0 1 0 10\n", NULL, NULL, 2,
	 "in.trace:2: field ALIGN: alignment 0 is not a power of two"},
	{"alignment 2^63", ".trace", H "m 0 1 9223372036854775808 10\n", NULL,
	 NULL, 2, "in.trace:2: event 0: alignment 9223372036854775808 is not a "
	 "power of two up to 2^48"},
	{"clock goes backwards", ".trace", H "t 100\na 0 1 10\nt 50\n", NULL, NULL,
	 2, "in.trace:4: field NS: clock goes backwards (50 after 100)"},
	{"TID beyond 32 bits", ".trace", H "a 4294967296 1 10\n", NULL, NULL, 2,
	 "in.trace:2: field TID is out of range: '4294967296'"},
	{"g without TID", ".trace", H "g\n", NULL, NULL, 2,
	 "in.trace:2: wrong field count for 'g': expected 1 field (TID), got 0"},
	{"free by a new thread (legal)", ".trace",
	 H "a 0 1 10\na 0 2 5000\nf 7 1\nf 3 2\n", NULL, NULL, 0, "results in out/"},
	{"TID 2^32-1 (legal)", ".trace",
	 H "a 4294967295 1 10\nm 3000000000 2 4096 70000\ng 4000000000\n"
	 "r 99 2 3 100\nf 4294967295 3\nf 12345 1\n", NULL,
	 "run {in} -o out --check", 0, "results in out/"},
	{"error after many events", ".trace", BIG,
	 "echo 'f 0 1' >> {in}", "run {in} -o out --sample 1", 2,
	 "in.trace:20002: field ID: double free or unknown ID 1"},
	{"binary garbage", ".trace", NULL, GARBAGE(4096) " > {in}", NULL,
	 2, "in.trace:1: missing header line"},
	{"missing file", ".trace", NULL, "rm -f {in}", NULL, 2,
	 "in.trace: No such file or directory"},
	{"a folder as the trace", ".trace", NULL, "mkdir {in}", NULL, 2,
	 "in.trace:1: Is a directory"},
	/* ---- gzip ---- */
	{"truncated gzip", ".trace.gz", BIG,
	 "gzip -c {in} > x && head -c 20000 x > {in}", NULL, 2,
	 "corrupt or truncated gzip data (unexpected end of file)"},
	{"gzip cut inside its header", ".trace.gz", BIG,
	 "gzip -c {in} > x && head -c 10 x > {in}", NULL, 2,
	 "in.trace.gz:1: corrupt or truncated gzip data"},
	{"gzip magic only", ".trace.gz", NULL, "printf '\\037\\213' > {in}", NULL,
	 2, "in.trace.gz:1: corrupt or truncated gzip data"},
	{"gzip with a bad checksum", ".trace.gz", BIG,
	 "gzip -c {in} > x && mv x {in} && s=$(stat -c %s {in}) && "
	 "printf '\\377\\377\\377\\377' | dd of={in} bs=1 seek=$((s - 8)) "
	 "conv=notrunc 2>/dev/null", NULL, 2,
	 "corrupt or truncated gzip data (incorrect data check)"},
	{"gzip of garbage", ".trace.gz", NULL,
	 GARBAGE(3000) " | gzip -c > {in}", NULL, 2,
	 "in.trace.gz:1: missing header line"},
	{"gzip of a bad trace", ".trace.gz", H "a 0 1 10\nf 0 2\n",
	 "gzip -c {in} > x && mv x {in}", NULL, 2,
	 "in.trace.gz:3: field ID: double free or unknown ID 2"},
	/* ---- binary ---- */
	{"binary truncated", ".atb", BIG,
	 "{A} trace convert {in} x.atb && head -c 5000 x.atb > {in}", NULL, 2,
	 "truncated binary trace: no end record"},
	{"binary cut inside a record", ".atb", BIG,
	 "{A} trace convert {in} x.atb && head -c 5002 x.atb > {in}", NULL, 2,
	 "in.atb:1277: field SIZE: truncated record"},
	{"binary header only", ".atb", NULL, "printf 'ATRB\\001' > {in}", NULL, 2,
	 "in.atb:0: truncated binary header"},
	{"binary version 9", ".atb", BIG,
	 "{A} trace convert {in} x.atb && mv x.atb {in} && " POKE("5", "\\011"),
	 NULL, 2, "in.atb:0: unsupported binary trace version 9"},
	{"binary data after the end", ".atb", H "a 0 1 10\nf 0 1\n",
	 "{A} trace convert {in} x.atb && mv x.atb {in} && printf xyz >> {in}",
	 NULL, 2, "in.atb:3: data after the end record"},
	{"binary record count wrong", ".atb", H "a 0 1 10\nf 0 1\n",
	 "{A} trace convert {in} x.atb && mv x.atb {in} && s=$(stat -c %s {in}) "
	 "&& printf '\\011' | dd of={in} bs=1 seek=$((s - 1)) conv=notrunc "
	 "2>/dev/null", NULL, 2, "in.atb:3: end record counts 9 records, found 2"},
	{"binary bad kind byte", ".atb", NULL,
	 "printf 'ATRB\\001\\001\\000\\017' > {in}", NULL, 2,
	 "in.atb:1: bad record kind byte 0x0f"},
	{"binary varint overflow", ".atb", NULL,
	 "printf 'ATRB\\001\\001\\000\\001\\000\\200\\200\\200\\200\\200\\200"
	 "\\200\\200\\200\\200\\200\\001' > {in}", NULL, 2,
	 "in.atb:1: field SIZE: varint overflows 64 bits"},
	{"binary double free", ".atb", H "a 0 1 10\nf 0 1\n",
	 "{A} trace convert {in} x.atb && head -c -2 x.atb > {in} && "
	 "printf '\\005\\000\\005\\000\\000\\003' >> {in}", NULL, 2,
	 "in.atb:3: field ID: double free or unknown ID 1"},
	/* ---- the command line ---- */
	{"unknown strategy", ".trace", H, NULL, "run {in} -s bump,nosuch", 2,
	 "allocsim: unknown strategy 'nosuch' (see allocsim list)"},
	{"strategy named twice", ".trace", H, NULL, "run {in} -s bump,bump", 2,
	 "strategy 'bump' is named twice in -s"},
	{"unknown parameter", ".trace", H, NULL, "run {in} -s bump -p bump.nope=1",
	 2, "strategy bump has no parameter 'nope' (see allocsim list)"},
	{"parameter of the wrong type", ".trace", H, NULL,
	 "run {in} -s span -p span.gomaxprocs=abc", 2,
	 "parameter span.gomaxprocs: 'abc' is not an integer"},
	{"boolean parameter not a boolean", ".trace", H, NULL,
	 "run {in} -s span -p span.lazy_sweep=maybe", 2,
	 "parameter span.lazy_sweep: 'maybe' is not a boolean"},
	{"parameter out of range", ".trace", H, NULL,
	 "run {in} -s span -p span.gomaxprocs=0", 2,
	 "parameter span.gomaxprocs: 0 is outside [1, 1024]"},
	{"parameter without a strategy", ".trace", H, NULL,
	 "run {in} -p gomaxprocs=2", 2, "-p gomaxprocs=2: expected STRATEGY.KEY=VALUE"},
	{"parameter of a strategy not run", ".trace", H, NULL,
	 "run {in} -s bump -p span.gogc=50", 2,
	 "-p span.gogc=50: strategy span is not among those run (-s)"},
	{"unknown option", ".trace", H, NULL, "run {in} --frobnicate", 2,
	 "run: unknown option or missing value: --frobnicate"},
	{"option without its value", ".trace", H, NULL, "run {in} --sample", 2,
	 "run: unknown option or missing value: --sample"},
	{"non-numeric option", ".trace", H, NULL, "run {in} --memory-max 12Q", 2,
	 "--memory-max: '12Q' is not a non-negative number"},
	{"bad reclaim mode", ".trace", H, NULL, "run {in} --reclaim sometimes", 2,
	 "--reclaim: 'sometimes' is not immediate or gc"},
	{"two sources", ".trace", H, NULL, "run {in} {in}", 2,
	 "run: give exactly one SOURCE"},
	{"-w on a trace", ".trace", H, NULL, "run {in} -w n=1", 2,
	 "-w: in.trace is not a Lua workload (.lua)"},
	{"plugin that is not a shared object", ".trace", H, NULL,
	 "run {in} --plugin ./in.trace", 2, "./in.trace: cannot load: ./in.trace: "},
	{"unknown command", NULL, NULL, NULL, "frobnicate", 2,
	 "unknown command 'frobnicate' (try allocsim help)"},
	{"output folder under a file", ".trace", H "a 0 1 10\n", "touch afile",
	 "run {in} -o afile/out", 2, "afile/out: cannot create folder: Not a directory"},
	{"output folder is a file", ".trace", H "a 0 1 10\n", "touch out",
	 "run {in} -s bump -o out", 2, "out/bump: cannot create folder: Not a directory"},
	{"unwritable output folder", ".trace", H "a 0 1 10\n", NULL,
	 "run {in} -o /proc/self/out", 2,
	 "/proc/self/out: cannot create folder: No such file or directory"},
	{"convert to an unwritable place", ".trace", H "a 0 1 10\n", "touch afile",
	 "trace convert {in} afile/x.atb", 2, "afile/x.atb"},
	{"check of a bad trace", ".trace", H "a 0 1 10\nf 0 1\nf 0 1\n", NULL,
	 "trace check {in}", 2, "in.trace:4: field ID: double free or unknown ID 1"},
	/* ---- Lua workloads ---- */
	{"Lua missing script", ".lua", NULL, NULL, "run nosuch.lua -o out", 2,
	 "nosuch.lua: cannot open: No such file or directory"},
	{"Lua syntax error", ".lua", "local x = = 1\n", NULL, NULL, 2,
	 "in.lua:1: unexpected symbol near '='"},
	{"Lua unclosed block", ".lua", "for i = 1, 3 do\n", NULL, NULL, 2,
	 "in.lua:2: 'end' expected (to close 'for' at line 1) near <eof>"},
	{"Lua bytecode", ".lua", "\033Lua", NULL, NULL, 2,
	 "attempt to load a binary chunk (mode is 't')"},
	{"Lua runtime error", ".lua", "local t = nil\nlocal y = t.x\n", NULL, NULL,
	 2, "in.lua:2: attempt to index a nil value (local 't')"},
	{"Lua error()", ".lua", "free(alloc(10))\nerror('boom')\n", NULL, NULL, 2,
	 "in.lua:2: boom"},
	{"Lua error with a table", ".lua", "error({code = 1})\n", NULL, NULL, 2,
	 "in.lua:1: (error object is a table value)"},
	{"Lua error in a thread", ".lua",
	 "spawn(function()\n  alloc(8)\n  error('in thread')\nend)\nwait()\n",
	 NULL, NULL, 2, "in.lua:3: in thread"},
	{"Lua bad argument type", ".lua", "alloc('x')\n", NULL, NULL, 2,
	 "in.lua:1: bad argument #1 to 'alloc' (number expected, got string)"},
	{"Lua negative size", ".lua", "alloc(-1)\n", NULL, NULL, 2,
	 "in.lua:1: alloc: negative size -1"},
	{"Lua huge size", ".lua", "alloc(1 << 49)\n", NULL, NULL, 2,
	 "in.lua:1: alloc: size 5.6294995342131e+14 is absurd (more than 2^48 bytes)"},
	{"Lua bad alloc option", ".lua", "alloc(10, {align = 3})\n", NULL, NULL, 2,
	 "in.lua:1: alloc: align must be a power of two up to 1 GiB"},
	{"Lua free of a freed handle", ".lua",
	 "local h = alloc(10)\nfree(h)\nfree(h)\n", NULL, NULL, 2,
	 "in.lua:3: free: object 1 is not live"},
	{"Lua realloc of a freed handle", ".lua",
	 "local h = alloc(10)\nfree(h)\nrealloc(h, 20)\n", NULL, NULL, 2,
	 "in.lua:3: realloc: object 1 is not live"},
	{"Lua free of an unknown handle", ".lua", "free(12345)\n", NULL, NULL, 2,
	 "in.lua:1: free: 12345 is not a handle of this run"},
	{"Lua infinite loop", ".lua", "local i = 0\nwhile true do i = i + 1 end\n",
	 NULL, "run {in} -o out --max-instructions 1000000", 2,
	 "instruction budget exceeded (1000000 Lua instructions; raise it with "
	 "--max-instructions)"},
	{"Lua endless allocation", ".lua", "while true do free(alloc(1)) end\n",
	 NULL, "run {in} -o out --max-events 1000", 2,
	 "in.lua:1: event budget exhausted (1000 events; raise it with --max-events)"},
	{"Lua memory exhaustion", ".lua",
	 "local t, s = {}, 'x'\nwhile true do s = s .. s; t[#t + 1] = s end\n",
	 NULL, NULL, 2, "in.lua: the Lua state reached its memory cap of "
	 "268435456 bytes"},
	{"Lua stack overflow", ".lua", "local function f() return f() + 1 end\nf()\n",
	 NULL, NULL, 2, "in.lua:1: stack overflow"},
	{"Lua deadlock", ".lua",
	 "local ch = channel()\nspawn(function() ch:recv() end)\nwait()\n", NULL,
	 NULL, 2, "in.lua:3: deadlock: main script waits for its threads, and no "
	 "thread can run"},
	{"Lua sandbox: no os", ".lua", "os.exit(3)\n", NULL, NULL, 2,
	 "in.lua:1: attempt to index a nil value (global 'os')"},
	{"Lua sandbox: no load", ".lua", "load('x = 1')()\n", NULL, NULL, 2,
	 "in.lua:1: attempt to call a nil value (global 'load')"},
	{"Lua parameter not a number", ".lua", "local n = param('n', 3)\n", NULL,
	 "run {in} -o out -w n=abc", 2, "in.lua:1: -w n=abc: not a number"},
	{"Lua parameter never read", ".lua", "free(alloc(1))\n", NULL,
	 "run {in} -o out -w n=4", 2, "-w n=4: in.lua never reads this parameter"},
	{"Lua bad fault plan", ".lua", "faults{mmap = 0}\n", NULL, NULL, 2,
	 "in.lua:1: faults: mmap must be at least 1"},
	{"Lua replay of a missing trace", ".lua", "replay('nosuch.trace')\n", NULL,
	 NULL, 2, "in.lua:1: replay: "},
	{"Lua replay of a bad trace", ".lua", "replay('bad.trace')\n",
	 "printf '# allocsim-trace v1\\na 0 1 10\\nf 0 1\\nf 0 1\\n' > bad.trace",
	 NULL, 2, "bad.trace:4: field ID: double free or unknown ID 1"},
	{"Lua __gc that allocates after the run (legal, ignored)", ".lua",
	 "local keep = setmetatable({}, {__gc = function() alloc(1) end})\n"
	 "free(alloc(10))\n", NULL, NULL, 0, "results in out/"},
	{"Lua error late in a long run", ".lua",
	 "for i = 1, 20000 do free(alloc(i % 500)) end\nerror('late')\n", NULL,
	 "run {in} -o out --sample 1", 2, "in.lua:2: late"},
};

/* ---- the runner ------------------------------------------------------------- */

static char bin[PATH_MAX];
static char root[256];

static int setup(void **state)
{
	(void)state;
	const char *b = harness_allocsim();
	if (strchr(b, ' '))   /* a command line, e.g. under valgrind */
		snprintf(bin, sizeof bin, "%s", b);
	else if (!realpath(b, bin))
		return -1;
	snprintf(root, sizeof root, "%s", harness_tmpdir());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	harness_rmtree(root);
	return 0;
}

/* Copy t into out, replacing {in} with in and {A} with the binary. */
static void expand(const char *t, const char *in, char *out, size_t n)
{
	size_t k = 0;
	while (*t && k + 1 < n) {
		const char *sub = NULL;
		if (strncmp(t, "{in}", 4) == 0)
			sub = in, t += 4;
		else if (strncmp(t, "{A}", 3) == 0)
			sub = bin, t += 3;
		if (sub)
			k += (size_t)snprintf(out + k, n - k, "%s", sub);
		else
			out[k++] = *t++;
		if (k >= n)
			k = n - 1;
	}
	out[k] = '\0';
}

/* A valid trace: 10,000 objects allocated, then freed (20,001 lines). */
static void write_big(const char *path)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(H, f);
	for (int i = 1; i <= 10000; i++)
		fprintf(f, "a %d %d %d\n", i % 4, i, 16 + i % 3000);
	for (int i = 1; i <= 10000; i++)
		fprintf(f, "f %d %d\n", i % 3, i);
	assert_int_equal(fclose(f), 0);
}

static void write_input(const struct bad *b, const char *path)
{
	if (b->content == BIG)
		write_big(path);
	else if (b->content) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(b->content, f);
		assert_int_equal(fclose(f), 0);
	}
}

static void run_case(const struct bad *b, size_t i)
{
	char dir[512], in[64], cmd[16384], t[4096], out[16384];
	snprintf(dir, sizeof dir, "%s/case%zu", root, i);
	snprintf(in, sizeof in, "in%s", b->ext ? b->ext : ".trace");
	snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	char path[600];
	snprintf(path, sizeof path, "%s/%s", dir, in);
	write_input(b, path);
	if (b->prep) {
		expand(b->prep, in, t, sizeof t);
		snprintf(cmd, sizeof cmd, "cd '%s' && { %s; }", dir, t);
		if (harness_run(cmd, out, sizeof out) != 0)
			fail_msg("case '%s': preparing the input failed: %s\n%s",
				 b->name, t, out);
	}
	expand(b->args ? b->args : "run {in} -o out", in, t, sizeof t);
	snprintf(cmd, sizeof cmd, "cd '%s' && %s %s", dir, bin, t);
	int st = harness_run(cmd, out, sizeof out);
	if (st != b->status || !strstr(out, b->msg))
		fail_msg("case '%s': allocsim %s\nexit status %d (want %d); the "
			 "output should contain\n  %s\nit was:\n%s", b->name, t, st,
			 b->status, b->msg, out);
	/* nothing half-written: no temporaries; no results for bad input */
	snprintf(cmd, sizeof cmd, "cd '%s' && find . -name '*.tmp*' %s", dir,
		 b->status == 2 ? "-o -name summary.json -o -name series.csv" : "");
	assert_int_equal(harness_run(cmd, out, sizeof out), 0);
	if (out[0])
		fail_msg("case '%s': files left behind:\n%s", b->name, out);
}

static void test_case(void **state)
{
	const struct bad *b = *state;
	run_case(b, (size_t)(b - cases));
}

/* One cmocka test per row, named after it. */
int main(void)
{
	size_t n = sizeof cases / sizeof *cases;
	struct CMUnitTest *tests = calloc(n, sizeof *tests);
	if (!tests)
		return 1;
	for (size_t i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = test_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	printf("# %zu malformed inputs\n", n);
	int failed = _cmocka_run_group_tests("badinput", tests, n, setup,
					     teardown);
	free(tests);
	return failed || n < 40 ? 1 : 0;
}
