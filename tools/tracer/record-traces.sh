#!/usr/bin/env bash
# record-traces.sh - record the real-program traces kept in tests/data.
#
# Usage: tools/tracer/record-traces.sh build/libastrace.so OUTDIR
#
# Every input is generated here from a fixed seed (Python's random), every
# program runs under `env -i` (a fixed, minimal environment: C locale, no
# user variables) and, where setarch allows it, without address-space
# randomisation.  Each trace is checked with check-trace.py, compressed with
# gzip -9 -n (no name, no time stamp) to OUTDIR/<program>.trace.gz, and a
# summary line is printed.  Needs: python3 (Debian's /usr/bin/python3.11 for
# the traced run), gcc, sqlite3, sed, make, xz, git.  Single-threaded traces
# come out the same on every run on the same system, apart from the pid
# lines of the header (and cc1's are exact too); the two multi-threaded
# ones vary in their interleaving, as real threads do.
set -eu

lib=${1:?usage: record-traces.sh path/to/libastrace.so OUTDIR}
out=${2:?usage: record-traces.sh path/to/libastrace.so OUTDIR}
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
mkdir -p "$out"
out=$(cd "$out" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3.11

norand=()
setarch "$(uname -m)" -R true 2>/dev/null && norand=(setarch "$(uname -m)" -R)

# traced NAME [VAR=VALUE...] CMD...: run CMD traced, in a clean environment
# plus the VARs, writing the traces to $tmp/traces/NAME (NAME itself is the
# first process's, NAME.PID those of the processes it starts).
traced() {
	local name=$1
	shift
	mkdir -p "$tmp/traces"
	"${norand[@]}" env -i PATH=/usr/bin:/bin LD_PRELOAD="$lib" \
		ALLOCSIM_TRACE_OUT="$tmp/traces/$name" "$@"
}

# keep NAME FILE: check FILE and store it as OUTDIR/NAME.trace.gz.
keep() {
	"$here/check-trace.py" -q "$2"
	gzip -9 -n -c "$2" >"$out/$1.trace.gz"
	printf '%-20s %s, %s bytes gzipped\n' "$1" \
		"$("$here/check-trace.py" "$2" | sed 's/^[^:]*: ok, //; s/, a=.*//')" \
		"$(wc -c <"$out/$1.trace.gz")"
}

# first-process trace whose "# program:" line matches a pattern
trace_of() {
	grep -l "^# program: $1" "$tmp"/traces/* | head -1
}

# ---- interpreter: python3 building dicts and strings --------------------
cat >"$tmp/dicts.py" <<'EOF'
import random
random.seed(1)
d = {}
for i in range(5000):
    k = "key%06d" % random.randrange(1000000)
    d[k] = [random.random() for _ in range(random.randrange(6))]
text = " ".join("%s=%d" % (k, len(v)) for k, v in sorted(d.items()))
words = text.split()
freq = {}
for w in words:
    freq[w[3:5]] = freq.get(w[3:5], 0) + 1
print(len(d), len(text), len(freq))
EOF
(cd "$tmp" && traced python3 PYTHONHASHSEED=0 PYTHONMALLOC=malloc \
	PYTHONDONTWRITEBYTECODE=1 $py -S dicts.py >/dev/null)
keep python3 "$tmp/traces/python3"

# ---- compiler: gcc's cc1 on a generated C file ----------------------------
mkdir "$tmp/cc"
$py - "$tmp/cc/prog.c" <<'EOF'
import random, sys
random.seed(7)
out = ["#include <stdio.h>", "#include <string.h>", "",
       "struct rec { int a; double b; char name[16]; };", ""]
def op():
    return random.choice(["x += %d;" % random.randrange(100),
                          "x ^= x >> %d;" % random.randrange(1, 9),
                          "x *= %d;" % random.randrange(2, 50),
                          "if (x & %d) x -= %d;" % (random.randrange(1, 64),
                                                     random.randrange(100))])
for i in range(25):
    ops = " ".join(op() for _ in range(random.randrange(3, 12)))
    out.append("static unsigned f%d(unsigned x, struct rec *r)\n{\n"
               "\tfor (int i = 0; i < %d; i++) {\n\t\t%s\n"
               "\t\tr->a += (int)x;\n\t}\n\tr->b = r->a * 0.5;\n"
               "\treturn x + (unsigned)strlen(r->name);\n}\n"
               % (i, random.randrange(2, 20), ops))
out.append("int main(void)\n{\n\tstruct rec r = { 0, 0.0, \"seed\" };\n"
           "\tunsigned x = 1;")
out += ["\tx = f%d(x, &r);" % i for i in range(25)]
out.append('\tprintf("%u %d\\n", x, r.a);\n\treturn 0;\n}')
open(sys.argv[1], "w").write("\n".join(out) + "\n")
EOF
(cd "$tmp/cc" && traced gcc gcc -O2 -pipe -c prog.c -o prog.o)
keep cc1 "$(trace_of '/usr/lib/gcc/.*/cc1 ')"

# ---- database: sqlite3 CLI, a table, 3000 inserts, an index, queries ----
mkdir "$tmp/db"
$py - "$tmp/db/load.sql" <<'EOF'
import random, sys
random.seed(11)
words = ["alpha", "beta", "gamma", "delta", "kappa", "lambda", "sigma",
         "omega", "tau", "phi"]
out = ["CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
       "qty INTEGER, price REAL, tag TEXT);", "BEGIN;"]
for i in range(3000):
    name = "-".join(random.choice(words) for _ in range(random.randrange(1, 4)))
    out.append("INSERT INTO item(name, qty, price, tag) "
               "VALUES('%s%d', %d, %.2f, '%s');"
               % (name, random.randrange(1000), random.randrange(500),
                  random.uniform(1, 100), random.choice(words)))
out += ["COMMIT;",
        "CREATE INDEX item_tag ON item(tag, qty);",
        "SELECT tag, count(*), sum(qty), round(avg(price), 2) FROM item "
        "GROUP BY tag ORDER BY tag;",
        "SELECT name, qty FROM item WHERE tag = 'sigma' AND qty > 400 "
        "ORDER BY qty DESC LIMIT 5;",
        "SELECT count(*) FROM item a JOIN item b ON a.tag = b.tag "
        "AND a.qty = b.qty WHERE a.id < b.id;",
        "UPDATE item SET qty = qty + 1 WHERE tag IN ('alpha', 'omega');",
        "DELETE FROM item WHERE price < 10;",
        "SELECT count(*), sum(qty) FROM item;"]
open(sys.argv[1], "w").write("\n".join(out) + "\n")
EOF
(cd "$tmp/db" && traced sqlite3 sqlite3 test.db <load.sql >/dev/null)
keep sqlite3 "$tmp/traces/sqlite3"

# ---- text tool: sed with extended regexps over generated words ---------
mkdir "$tmp/txt"
$py - "$tmp/txt/words.txt" <<'EOF'
import random, sys
random.seed(3)
syll = ["ka", "to", "ri", "mo", "sen", "da", "lu", "pe", "xi", "vo", "qua", "ne"]
vocab = ["".join(random.choice(syll) for _ in range(random.randrange(1, 5)))
         for _ in range(4000)]
lines = [" ".join(random.choice(vocab) for _ in range(random.randrange(3, 12)))
         for _ in range(10000)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
EOF
(cd "$tmp/txt" && traced sed sed -E \
	's/(ka|to)([a-z]+) ([a-z]+)/\3 \2\1/g; /^(mo|xi)/d' words.txt >/dev/null)
keep sed "$tmp/traces/sed"

# ---- build tool: make on a generated Makefile with 200 sources ----------
mkdir -p "$tmp/mk/src" "$tmp/mk/inc"
for i in $(seq 1 200); do
	echo "int f$i(void) { return $i; }" >"$tmp/mk/src/f$i.c"
done
echo '#define X 1' >"$tmp/mk/inc/common.h"
cat >"$tmp/mk/Makefile" <<'EOF'
SRCS := $(wildcard src/*.c)
OBJS := $(patsubst src/%.c,obj/%.o,$(SRCS))
NUMS := $(patsubst src/f%.c,%,$(SRCS))
TAGS := $(foreach n,$(NUMS),$(if $(filter %5,$(n)),five-$(n),other-$(n)))
SORTED := $(sort $(TAGS) $(addsuffix .x,$(NUMS)))
.PHONY: all
all: lib.a tags.txt
lib.a: $(OBJS)
	@cat $^ > $@
obj/%.o: src/%.c inc/common.h | obj
	@cp $< $@
obj:
	@mkdir -p $@
tags.txt: $(OBJS)
	@echo $(words $(SORTED)) $(lastword $(SORTED)) > $@
EOF
(cd "$tmp/mk" && traced make make -j1 >/dev/null)
keep make "$tmp/traces/make"

# ---- multi-threaded: xz -T2, and git's delta search with 2 threads ------
mkdir "$tmp/xz"
for i in $(seq 1 10); do cat "$tmp/txt/words.txt"; done >"$tmp/xz/big.txt"
(cd "$tmp/xz" && traced xz xz -T2 -1 -c big.txt >/dev/null)
keep xz "$tmp/traces/xz"

mkdir "$tmp/git"
(
	cd "$tmp/git"
	export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@example.org \
		GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@example.org \
		GIT_AUTHOR_DATE=2020-01-01T00:00:00Z \
		GIT_COMMITTER_DATE=2020-01-01T00:00:00Z \
		GIT_CONFIG_NOSYSTEM=1 HOME="$tmp/git"
	git init -q repo
	cd repo
	$py - <<'EOF'
import random, subprocess
random.seed(5)
lines = ["line %d %s" % (i, "x" * random.randrange(40)) for i in range(400)]
for c in range(60):
    for f in range(4):
        for _ in range(10):
            lines[random.randrange(len(lines))] = \
                "edit %d %d %s" % (c, f, "y" * random.randrange(40))
        open("file%d.txt" % f, "w").write(
            "\n".join(lines[f * 100:(f + 1) * 100] + lines[:20]) + "\n")
    subprocess.run(["git", "add", "-A"], check=True)
    subprocess.run(["git", "commit", "-q", "-m", "c%d" % c], check=True)
EOF
	git rev-list --objects --all >"$tmp/git/objects"
)
(cd "$tmp/git/repo" && traced git-pack-objects git pack-objects --threads=2 \
	--window=30 --depth=20 --no-reuse-delta -q "$tmp/git/pack" \
	<"$tmp/git/objects" >/dev/null)
keep git-pack-objects "$tmp/traces/git-pack-objects"
