-- validateglibc.lua - the glibc model beside the real glibc (2.36) on the
-- recorded traces: this sweep is the model's side at the default sampling
-- (one run per trace; validateglibc.post reads each run's event count and
-- final mallinfo2 from it); validateglibc.post then runs
-- scripts/validate-glibc, which replays every trace in the real glibc
-- (build/replay) and compares mallinfo2 and the brk growth after every
-- event, and times both sides.  Machine-dependent (validateglibc.measured).
sweep{
  name = "model",
  workloads = {
    "tests/data/cc1.trace.gz", "tests/data/git-pack-objects.trace.gz",
    "tests/data/make.trace.gz", "tests/data/python3.trace.gz",
    "tests/data/sed.trace.gz", "tests/data/sqlite3.trace.gz",
    "tests/data/xz.trace.gz",
  },
  strategies = {"glibc"},
}
