-- speed.lua - the simulator's own speed per strategy against the real
-- allocators.  This sweep runs every strategy once on the recorded python3
-- trace (speed.post fails unless all finish); speed.post then times, in
-- CPU time, best of three, each strategy on that trace and on a seeded
-- 2-million-event synthetic one, beside the same traces replayed natively
-- by the real glibc (build/replay) and the real Go runtime
-- (tools/goreplay).  Machine-dependent (speed.measured).
sweep{
  name = "strategies",
  workloads = {"tests/data/python3.trace.gz"},
}
