-- example.lua - an example experiment file for `allocsim sweep`: span
-- (at one and at four Ps) and glibc under steady churn from 1, 4 and 16
-- threads, five seeds each; then every strategy on two recorded traces.
-- 59 runs of well under a second each:
--
--   allocsim sweep scripts/sweeps/example.lua -j 4
--
-- Results: results/sweep-example/summary.csv, one row per configuration
-- with the mean, standard deviation and 95 % confidence interval of each
-- metric over the seeds.
sweep{
  name = "churn",
  workloads = {"workloads/steady.lua"},
  strategies = {"span", "glibc"},
  p = {gomaxprocs = {1, 4}},          -- span has it, glibc not
  w = {threads = {1, 4, 16}, events = 50000, live = 2000},
  seeds = 5,
}

sweep{
  name = "traces",                    -- a trace runs once: no seeds
  workloads = {"tests/data/sed.trace.gz", "tests/data/make.trace.gz"},
  -- no strategies field: every strategy
}
