#!/usr/bin/env bash
# test-tracer.sh - end-to-end test of the LD_PRELOAD tracer.
#
# Usage: tools/tracer/test-tracer.sh build/libastrace.so
#
# Builds tracer-selftest.c (beside this script) with cc into a temporary
# directory, runs it under the given library and compares the three traces
# it leaves (the program, its fork child, the child's exec of /bin/true)
# with the expected lines below.  An expected line containing '*' is a
# glob: only the size of pthread_create's DTV calloc, which depends on the
# C library, is left open.  The expected lines assume glibc (they were made
# with 2.36 on x86-64): the selftest itself stops with a message if the
# allocator does something they do not foresee.  Also checks that the tracer
# does nothing without ALLOCSIM_TRACE_OUT and that it never overwrites a
# trace.  Exit status 0 when everything matches, 1 otherwise.
set -u

lib=${1:?usage: test-tracer.sh path/to/libastrace.so}
[ -f "$lib" ] || { echo "test-tracer: no such library: $lib" >&2; exit 1; }
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

${CC:-cc} -std=c11 -O0 -fno-builtin -Wall -Wextra -o "$tmp/selftest" \
	"$here/tracer-selftest.c" -lpthread || exit 1

# match EXPECTED GOT NAME: line-by-line comparison, '*' lines as globs.
match() {
	local want got n=0 ok=1
	exec 3<"$1" 4<"$2"
	while :; do
		IFS= read -r want <&3; local e1=$?
		IFS= read -r got <&4; local e2=$?
		[ $e1 -ne 0 ] && [ $e2 -ne 0 ] && break
		n=$((n + 1))
		if [ $e1 -ne 0 ] || [ $e2 -ne 0 ]; then ok=0; break; fi
		if [[ $want == *'*'* ]]; then
			# shellcheck disable=SC2053
			[[ $got == $want ]] || { ok=0; break; }
		elif [ "$got" != "$want" ]; then
			ok=0; break
		fi
	done
	exec 3<&- 4<&-
	if [ $ok -eq 1 ]; then
		echo "ok   $3"
	else
		echo "FAIL $3: line $n differs; expected (<) vs got (>):"
		diff "$1" "$2" | sed 's/^/    /'
		fail=1
	fi
}

# ---- the traced run ------------------------------------------------------
mkdir "$tmp/out"
LD_PRELOAD="$lib" ALLOCSIM_TRACE_OUT="$tmp/out/s.trace" "$tmp/selftest" &
pid=$!
wait $pid || { echo "FAIL selftest exited with status $?"; fail=1; }

cat >"$tmp/want-main" <<EOF
# allocsim-trace v1
# program: $tmp/selftest
# pid: $pid
# ppid: $$
a 0 1 100
c 0 2 200
r 0 1 3 5000
r 0 3 3 4000
r 0 3 3 3000
m 0 4 64 300
m 0 5 128 400
m 0 6 256 512
m 0 7 4096 1000
m 0 8 4096 8192
r 0 0 9 33
f 0 9
a 0 10 0
f 0 2
f 0 3
f 0 4
f 0 5
f 0 6
f 0 7
f 0 8
f 0 10
c 0 11 *
c 0 12 *
a 1 13 1111
f 2 13
a 2 14 2222
f 1 14
c 1 15 300
r 1 15 15 100
f 1 15
a 0 16 55
EOF
match "$tmp/want-main" "$tmp/out/s.trace" "main trace (10 functions, 2 threads)"

# The child: the only other PID, with one file before and one after exec.
others=$(cd "$tmp/out" && ls | grep -v '^s\.trace$' | tr '\n' ' ')
child=$(cd "$tmp/out" && ls | sed -n 's/^s\.trace\.\([0-9]*\)$/\1/p')
if [ -z "$child" ] || [ "$others" != "s.trace.$child s.trace.$child.1 " ]; then
	echo "FAIL fork/exec files: want s.trace.PID and s.trace.PID.1, got: $others"
	fail=1
else
	cat >"$tmp/want-child" <<EOF
# allocsim-trace v1
# program: $tmp/selftest
# pid: $child
# ppid: $pid
a 0 1 77
f 0 1
EOF
	match "$tmp/want-child" "$tmp/out/s.trace.$child" "fork child trace"
	cat >"$tmp/want-exec" <<EOF
# allocsim-trace v1
# program: /bin/true
# pid: $child
# ppid: $pid
EOF
	match "$tmp/want-exec" "$tmp/out/s.trace.$child.1" "exec'd /bin/true trace"
fi

# ---- an existing trace is never overwritten -------------------------------
cp "$tmp/out/s.trace" "$tmp/first"
LD_PRELOAD="$lib" ALLOCSIM_TRACE_OUT="$tmp/out/s.trace" "$tmp/selftest" &
pid2=$!
wait $pid2 || fail=1
if cmp -s "$tmp/first" "$tmp/out/s.trace" &&
   [ "$(sed -n 3p "$tmp/out/s.trace.$pid2" 2>/dev/null)" = "# pid: $pid2" ] &&
   [ "$(sed -n 5p "$tmp/out/s.trace.$pid2" 2>/dev/null)" = "a 0 1 100" ]; then
	echo "ok   second run writes s.trace.PID"
else
	echo "FAIL second run: s.trace changed or s.trace.$pid2 missing"
	fail=1
fi

# ---- no variable, no trace -----------------------------------------------
mkdir "$tmp/quiet"
if (cd "$tmp/quiet" && LD_PRELOAD="$lib" "$tmp/selftest") &&
   [ -z "$(ls -A "$tmp/quiet")" ]; then
	echo "ok   without ALLOCSIM_TRACE_OUT nothing is written"
else
	echo "FAIL without ALLOCSIM_TRACE_OUT"
	fail=1
fi

[ $fail -eq 0 ] && echo "test-tracer: all passed" || echo "test-tracer: FAILED"
exit $fail
