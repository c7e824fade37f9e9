#!/usr/bin/env python3
"""check-trace.py - validate allocsim text traces (v1), plain or .gz.

Usage: check-trace.py [-q] TRACE...

Checks what shared/reference/trace-format.md asks of a reader, plus what the
tracer promises: the first line is "# allocsim-trace v1" and "# key: value"
metadata follows it; every event has its letter's field count and numeric
fields; new object IDs are dense (each is the next unused one, from 1);
thread IDs appear in order 0, 1, 2, ...; every free and realloc names a live
ID; sizes stay below 2^48.  Prints one summary line per file (events,
threads, events by kind, peak live objects) and exits 1 on the first error
of any file, naming FILE:LINE.
"""
import gzip
import sys

FIELDS = {"a": 4, "c": 4, "m": 5, "r": 5, "f": 3, "g": 2, "t": 2}
MAX_SIZE = 1 << 48


class TraceError(Exception):
    pass


def open_trace(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, "rt", encoding="utf-8", errors="replace")


def check(path):
    live = set()
    next_id = 1
    threads = 0
    kinds = {}
    events = peak = 0
    meta = {}
    no = 0
    with open_trace(path) as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\n")

            def fail(msg):
                raise TraceError(f"{path}:{no}: {msg}: {line[:80]!r}")

            if no == 1:
                if line != "# allocsim-trace v1":
                    fail("first line is not the v1 header")
                continue
            if line.startswith("#"):
                if events == 0 and ": " in line:
                    k, v = line[2:].split(": ", 1)
                    meta[k] = v
                continue
            parts = line.split(" ")
            kind = parts[0]
            if kind not in FIELDS:
                fail("unknown event letter")
            if len(parts) != FIELDS[kind]:
                fail(f"{len(parts)} fields, want {FIELDS[kind]}")
            if not all(p.isdigit() for p in parts[1:]):
                fail("non-numeric field")
            v = [int(p) for p in parts[1:]]
            events += 1
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind == "t":
                continue
            tid = v[0]
            if tid > threads:
                fail(f"thread {tid} before thread {threads}")
            threads = max(threads, tid + 1)

            def new(i):
                nonlocal next_id
                if i != next_id:
                    fail(f"ID {i} is not the next unused one ({next_id})")
                next_id += 1
                live.add(i)

            if kind in "ac":
                new(v[1])
                size = v[2]
            elif kind == "m":
                new(v[1])
                if v[2] == 0 or v[2] & (v[2] - 1):
                    fail("alignment is not a power of two")
                size = v[3]
            elif kind == "r":
                old, nid, size = v[1], v[2], v[3]
                if old and old not in live:
                    fail(f"realloc of ID {old}, which is not live")
                if old and nid == old:
                    pass
                else:
                    live.discard(old)
                    new(nid)
            elif kind == "f":
                if v[1] not in live:
                    fail(f"free of ID {v[1]}, which is not live")
                live.remove(v[1])
                size = 0
            else:
                size = 0
            if size >= MAX_SIZE:
                fail("size beyond 2^48")
            peak = max(peak, len(live))
    if no == 0:
        raise TraceError(f"{path}: empty file")
    return events, threads, kinds, peak, meta


def main(argv):
    quiet = "-q" in argv
    paths = [a for a in argv if a != "-q"]
    if not paths:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    rc = 0
    for p in paths:
        try:
            events, threads, kinds, peak, meta = check(p)
        except (TraceError, OSError) as e:
            print(f"check-trace: {e}", file=sys.stderr)
            rc = 1
            continue
        if not quiet:
            ks = " ".join(f"{k}={kinds[k]}" for k in sorted(kinds))
            print(f"{p}: ok, {events} events, {threads} threads, {ks}, "
                  f"peak live {peak}, program: {meta.get('program', '?')[:60]}")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
