# scavenge.gp - RSS (top row) and released bytes (bottom row) over
# simulated time after ramp_drop.lua's drop, one line per strategy, one
# column per variant (random drop, newest first, random drop with an
# explicit release at 10 s).
# Variables (gnuplot -e): data (folder with scavenge-<variant>-<strategy>.csv),
# out (path without extension).  Drawn as out.png and out.pdf.
set datafile separator ","
set grid lc rgb "#dddddd"
set tics nomirror
set border 3
set xrange [0:150]
set xlabel "simulated time (s)"
strategies = "span glibc bump firstfit bestfit buddy"
array lc[6] = ["#d62728", "#1f77b4", "#7f7f7f", "#2ca02c", "#9467bd", "#e6550d"]
array dt[6] = [1, 1, 2, 1, 3, 1]
variants = "random newest release"
array vtitle[3] = ["drop 90 % at random", "drop the newest 90 %", "at random, free_os_memory() at 10 s"]
f(v, s) = sprintf("%s/scavenge-%s-%s.csv", data, v, s)
do for [pass = 1:2] {
	if (pass == 1) {
		set terminal pngcairo size 1400, 700 font ",10" noenhanced
		set output out . ".png"
	} else {
		set terminal pdfcairo size 9, 4.6 font ",8" noenhanced
		set output out . ".pdf"
	}
	set multiplot layout 2, 3 title "memory returned after ramp_drop.lua (32 MiB, 90 % dropped, 150 s idle), seed 1" font ",11"
	do for [row = 1:2] {
		do for [j = 1:3] {
			v = word(variants, j)
			set title (row == 1 ? vtitle[j] : "")
			set ylabel (row == 1 ? "RSS (MiB)" : "released (MiB)")
			if (row == 2 && j == 1) { set key top left font ",8" samplen 2 title "lines that overlap: glibc, bump,\nfirstfit and bestfit at 32 MiB" } else { unset key }
			if (row == 1) { set yrange [0:48] } else { set yrange [0:35] }
			plot for [i = 1:6] f(v, word(strategies, i)) using 1:(column(row + 1)) with lines lw 1.5 lc rgb lc[i] dt dt[i] title word(strategies, i)
		}
	}
	unset multiplot
	set output
}
