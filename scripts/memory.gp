# memory.gp - memory over simulated time for one run: one panel per
# strategy with live, alloc, heap, RSS and released bytes; phases shaded
# and named; a tick at the bottom for each GC cycle.  Drawn twice: out.png
# (pngcairo) and out.pdf (pdfcairo).
# Variables (gnuplot -e, set by scripts/plot): dir (folder of panel<i>.gp,
# the units, columns and phase shading of panel i, and gc<i>.dat, the times
# of GC cycles), series (space-separated strategy folders), n (panels),
# title, out (path without extension).  A panel file also sets step: plot
# every step-th row of a long series, and psz: the size of the points
# (0 but for a short series).
cols = (n >= 4) ? 2 : 1
rows = (n + cols - 1) / cols
set datafile separator ","
set grid lc rgb "#dddddd"
set key outside right top samplen 2 spacing 0.9 font ",8"
set offsets 0, 0, graph 0.08, 0
set y2range [0:1]
unset y2tics
set yrange [0:*]
set format y "%g"
set tics nomirror
set border 3

set style line 1 lc rgb "#000000" lw 2.0
set style line 2 lc rgb "#1f77b4" lw 1.4
set style line 3 lc rgb "#2ca02c" lw 1.4
set style line 4 lc rgb "#d62728" lw 1.4 dt 1
set style line 5 lc rgb "#9467bd" lw 1.4 dt 2
set style line 6 lc rgb "#e6550d" lw 1.5

do for [pass = 1:2] {
	if (pass == 1) {
		set terminal pngcairo size (cols == 2 ? 1400 : 1000), 300 * rows + 60 font ",10" noenhanced
		set output out . ".png"
	} else {
		set terminal pdfcairo size (cols == 2 ? 10 : 7), 2.2 * rows + 0.4 font ",8" noenhanced
		set output out . ".pdf"
	}
	set multiplot layout rows, cols title title font ",12"
	do for [i = 1:n] {
		unset object
		unset label
		load sprintf("%s/panel%d.gp", dir, i)
		f = word(series, i) . "/series.csv"
		g = sprintf("%s/gc%d.dat", dir, i)
		hasgc = system(sprintf("test -s '%s' && echo 1 || echo 0", g)) + 0
		set title panel
		set xlabel sprintf("simulated time (%s)", tu)
		set ylabel bu
		if (hasgc) {
			plot f every step using (column(c_t)*ts):(column(c_live)/bs) with linespoints ls 1 pt 7 ps psz title "live", \
			     f every step using (column(c_t)*ts):(column(c_alloc)/bs) with linespoints ls 2 pt 7 ps psz title "alloc", \
			     f every step using (column(c_t)*ts):(column(c_heap)/bs) with linespoints ls 3 pt 7 ps psz title "heap", \
			     f every step using (column(c_t)*ts):(column(c_rss)/bs) with linespoints ls 4 pt 7 ps psz title "RSS", \
			     f every step using (column(c_t)*ts):(column(c_rel)/bs) with linespoints ls 5 pt 7 ps psz title "released", \
			     g using ($1*ts):(0.05) axes x1y2 with impulses ls 6 title "GC cycle"
		} else {
			plot f every step using (column(c_t)*ts):(column(c_live)/bs) with linespoints ls 1 pt 7 ps psz title "live", \
			     f every step using (column(c_t)*ts):(column(c_alloc)/bs) with linespoints ls 2 pt 7 ps psz title "alloc", \
			     f every step using (column(c_t)*ts):(column(c_heap)/bs) with linespoints ls 3 pt 7 ps psz title "heap", \
			     f every step using (column(c_t)*ts):(column(c_rss)/bs) with linespoints ls 4 pt 7 ps psz title "RSS", \
			     f every step using (column(c_t)*ts):(column(c_rel)/bs) with linespoints ls 5 pt 7 ps psz title "released"
		}
	}
	unset multiplot
	set output
}
