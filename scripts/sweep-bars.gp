# sweep-bars.gp - a metric of a sweep as clustered bars with error bars:
# for each x category (e.g. a thread count), one bar per series (e.g. a
# strategy) at the mean over seeds, with a whisker of +- the 95 %
# confidence half-width (the _mean and _ci95 columns of the sweep's
# summary.csv).  Drawn twice: out.png and out.pdf.
# Variables (gnuplot -e):
#   data    a whitespace-separated table, one row per x category: the
#           category's label, then "mean ci95" for each series in order
#           ("?" where undefined; ci95 0 or "?" when there is one seed)
#   names   the series names, space-separated (legend; no spaces inside)
#   title, xlabel, ylabel, out (path without extension)
#   logy    optional: 1 for a log y axis
#   xrot    optional: 1 to turn the x labels (long configuration names)
#   ymin    optional: the bottom of the y axis (default 0; log: automatic)
if (!exists("logy")) logy = 0
if (!exists("xrot")) xrot = 0
set datafile missing "?"
set style data histograms
set style histogram errorbars gap 1 lw 1.2
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9
set errorbars 0.6
set grid y lc rgb "#dddddd"
set key top left opaque box lc rgb "#cccccc" samplen 1.5
set tics nomirror
set border 3
set xtics scale 0
if (xrot) { set xtics rotate by -25 left font ",8" }
set xlabel xlabel
set ylabel ylabel
if (logy) {
	set logscale y
	set yrange [*:*]
} else {
	if (exists("ymin")) { set yrange [ymin:*] } else { set yrange [0:*] }
}
set linetype 1 lc rgb "#1f77b4"
set linetype 2 lc rgb "#ff7f0e"
set linetype 3 lc rgb "#2ca02c"
set linetype 4 lc rgb "#d62728"
set linetype 5 lc rgb "#9467bd"
set linetype 6 lc rgb "#8c564b"
set linetype 7 lc rgb "#7f7f7f"
n = words(names)
# An undefined ci95 (one seed) draws no whisker.
ci(k) = valid(k) ? column(k) : 0
do for [pass = 1:2] {
	if (pass == 1) {
		set terminal pngcairo size 1000, 560 font ",10" noenhanced
		set output out . ".png"
	} else {
		set terminal pdfcairo size 6.5, 3.6 font ",8" noenhanced
		set output out . ".pdf"
	}
	set title title noenhanced
	plot for [i = 1:n] data using (column(2 * i)):(ci(2 * i + 1)):xtic(1) lt i title word(names, i)
	set output
}
