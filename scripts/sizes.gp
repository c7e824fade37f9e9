# sizes.gp - internal fragmentation against request size: for each
# request size, (usable - requested) / requested of one allocation of that
# size, one line per strategy (from a sizeclass_sweep run sampled at every
# event).  Drawn twice: out.png and out.pdf.
# Variables (gnuplot -e, set by scripts/plot): files (space-separated
# "strategy:datafile" words; a data file has rows "size percent"), title,
# out (path without extension), ymax (the largest value: the y axis stops
# at 100 % so that the size classes show, and says how far the smallest
# sizes go beyond it).
set logscale x 2
set xtics ("1 B" 1, "4 B" 4, "16 B" 16, "64 B" 64, "256 B" 256, "1 KiB" 1024, \
           "4 KiB" 4096, "16 KiB" 16384, "64 KiB" 65536, "256 KiB" 262144, "1 MiB" 1048576)
set xlabel "request size"
set ylabel "internal fragmentation (% of the request)"
if (ymax > 100) {
	set yrange [0:100]
	set xlabel sprintf("request size (the axis stops at 100 %%: the smallest sizes reach %.0f %%)", ymax)
} else {
	set yrange [0:*]
}
set grid lc rgb "#dddddd"
set key top right opaque box lc rgb "#cccccc" samplen 2
set tics nomirror
set border 3
set linetype 1 lc rgb "#1f77b4" lw 1.2
set linetype 2 lc rgb "#d62728" lw 1.2
set linetype 3 lc rgb "#2ca02c" lw 1.2
set linetype 4 lc rgb "#9467bd" lw 1.2
set linetype 5 lc rgb "#ff7f0e" lw 1.2
set linetype 6 lc rgb "#8c564b" lw 1.2
set linetype 7 lc rgb "#000000" lw 1.2
name(w) = w[1:strstrt(w, ":") - 1]
file(w) = w[strstrt(w, ":") + 1:]
do for [pass = 1:2] {
	if (pass == 1) {
		set terminal pngcairo size 1100, 600 font ",10" noenhanced
		set output out . ".png"
	} else {
		set terminal pdfcairo size 7, 3.8 font ",8" noenhanced
		set output out . ".pdf"
	}
	set title title noenhanced
	# Earlier lines wider, so a line another one covers (tiny over span
	# above 16 B) still shows at its edges.
	plot for [i = 1:words(files)] file(word(files, i)) using 1:2 with steps lt i \
		lw (words(files) - i) * 0.8 + 1 title name(word(files, i))
	set output
}
