# memlimit.gp - GOMEMLIMIT under a memory.max: GC cycles (left, log scale)
# and peak RSS (right) against GOMEMLIMIT as a share of memory.max, one
# point per seed; runs OOM-killed by memory.max drawn as red crosses; "none"
# is the run without GOMEMLIMIT.
# Variables (gnuplot -e): data (folder with memlimit-ok.dat and
# memlimit-oom.dat: x, GC cycles, peak RSS MiB), out (path without
# extension), maxmib (memory.max in MiB), ugc and urss (median GC cycles
# and peak RSS in MiB of the run with neither memory.max nor GOMEMLIMIT).
set grid lc rgb "#dddddd"
set tics nomirror
set border 3
set xrange [72:108]
set xtics ("75" 75, "80" 80, "85" 85, "90" 90, "95" 95, "100" 100, "none" 105)
set xlabel "GOMEMLIMIT (% of memory.max)"
set key top right font ",8" samplen 2
set samples 1000
ok = data . "/memlimit-ok.dat"
oom = data . "/memlimit-oom.dat"
hasoom = system(sprintf("test -s '%s' && echo 1 || echo 0", oom)) + 0
do for [pass = 1:2] {
	if (pass == 1) {
		set terminal pngcairo size 1200, 450 font ",10" noenhanced
		set output out . ".png"
	} else {
		set terminal pdfcairo size 7.5, 2.8 font ",8" noenhanced
		set output out . ".pdf"
	}
	set multiplot layout 1, 2 title sprintf("GOMEMLIMIT under memory.max = %d MiB: steady.lua (50,000 live, 1,000,000 events), tiny, seeds 1-3", maxmib) font ",11"
	set title "GC cycles"
	set logscale y
	set ylabel "GC cycles"
	set yrange [1:*]
	plot ok using 1:2 with points pt 7 ps 0.9 lc rgb "#1f77b4" title "finished", \
	     oom using 1:(hasoom ? $2 : NaN) with points pt 2 ps 1.5 lw 2 lc rgb "#d62728" title "OOM-killed", \
	     ugc with lines dt 2 lc rgb "#2ca02c" title "no memory.max, GOGC only"
	unset logscale y
	set title "peak RSS"
	set ylabel "MiB"
	set yrange [0:urss * 1.1]
	set key bottom right
	plot ok using 1:3 with points pt 7 ps 0.9 lc rgb "#1f77b4" title "finished", \
	     oom using 1:(hasoom ? $3 : NaN) with points pt 2 ps 1.5 lw 2 lc rgb "#d62728" title "OOM-killed", \
	     maxmib with lines dt 2 lc rgb "#d62728" title "memory.max", \
	     (x <= 100 ? x / 100 * maxmib : NaN) with lines dt 3 lc rgb "#555555" title "GOMEMLIMIT", \
	     urss with lines dt 2 lc rgb "#2ca02c" title "no memory.max, GOGC only"
	unset multiplot
	set output
}
