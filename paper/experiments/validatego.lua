-- validatego.lua - the Go model (strategy tiny, GC mode, one P) beside the
-- real Go 1.19 runtime.  The comparison itself runs in validatego.post
-- (scripts/validate-go): the model's side of each validation workload
-- starts from real Go's heap at the start of its replay, which only a run
-- of real Go tells, so it cannot be a sweep of its own.  This sweep is the
-- model at the validation's parameters on the smallest recorded trace, a
-- check (validatego.post fails without it) that the strategy runs there.
-- Machine-dependent (validatego.measured).
sweep{
  name = "model",
  workloads = {"tests/data/xz.trace.gz"},
  strategies = {"tiny"},
  p = {["tiny.gomaxprocs"] = 1},
}
