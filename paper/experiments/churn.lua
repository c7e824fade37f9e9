-- churn.lua - steady churn (workloads/steady.lua: a birth-death process,
-- lognormal sizes with a median of 245 B, about 5,000 live objects) from
-- 1 to 16 threads through span and tiny (Go with GOMAXPROCS = 4: thread t
-- runs on P t mod 4) and glibc (an arena per thread, up to 8 x 2 cores),
-- five seeds each: how the footprint and the thread-cache hit rate move
-- with the thread count, with the spread over seeds.  75 runs of about
-- 0.1 s.  churn.post draws figures/churn-rss and figures/churn-hit with
-- scripts/sweep-bars (mean and 95 % confidence interval over the seeds)
-- and writes tables/churn-numbers.tex.
sweep{
  name = "churn",
  workloads = {"workloads/steady.lua"},
  strategies = {"span", "tiny", "glibc"},
  p = {gomaxprocs = 4},                     -- span and tiny have it, glibc not
  w = {threads = {1, 2, 4, 8, 16}, events = 100000, live = 5000},
  seeds = 5,
}
