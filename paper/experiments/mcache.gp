# mcache.gp - mcache hit rate against GOMAXPROCS, one line per thread count
# of steady.lua, span (left) and tiny (right); error bars: 95 % confidence
# interval of the mean over three seeds.
# Variables (gnuplot -e): data (folder with mcache-span.dat and
# mcache-tiny.dat: one index block per thread count 1, 2, 4, 8, 16), out
# (path without extension).  Drawn as out.png and out.pdf.
set grid lc rgb "#dddddd"
set tics nomirror
set border 3
set logscale x 2
set xrange [0.8:20]
set xtics (1, 2, 4, 8, 16)
set xlabel "GOMAXPROCS (Ps)"
set ylabel "mcache hit rate (%)"
set key bottom left title "threads" font ",8" samplen 2
array lc[5] = ["#1f77b4", "#2ca02c", "#9467bd", "#e6550d", "#d62728"]
array pt[5] = [7, 5, 9, 11, 13]
do for [pass = 1:2] {
	if (pass == 1) {
		set terminal pngcairo size 1200, 450 font ",10" noenhanced
		set output out . ".png"
	} else {
		set terminal pdfcairo size 7.5, 2.8 font ",8" noenhanced
		set output out . ".pdf"
	}
	set multiplot layout 1, 2 title "mcache hit rate vs GOMAXPROCS, steady.lua (500,000 events, 20,000 live), mean of seeds 1-3" font ",11"
	do for [s in "span tiny"] {
		set title s
		f = sprintf("%s/mcache-%s.dat", data, s)
		plot for [i = 0:4] f index i using ($1*(1 + 0.03*(i-2))):2:3 with yerrorlines lc rgb lc[i+1] pt pt[i+1] ps 0.8 title sprintf("%d", 2**i)
	}
	unset multiplot
	set output
}
