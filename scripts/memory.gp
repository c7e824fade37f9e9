# memory.gp - memory over time for one run: one panel per strategy, each
# with live, alloc, heap and RSS bytes (MiB) against simulated time.
# Variables (gnuplot -e): dir (results folder of the run), strategies
# (space-separated names), title, out (PNG path).
set terminal pngcairo size 1200, 300 * words(strategies) font ",10"
set output out
set datafile separator ","
set key top left
set grid
set xlabel "simulated time (s)"
set ylabel "MiB"
set multiplot layout words(strategies), 1 title title
MiB = 1048576.0
do for [i = 1:words(strategies)] {
	s = word(strategies, i)
	f = dir . "/" . s . "/series.csv"
	set title s
	plot f using ($2/1e9):($4/MiB) with lines lw 2 title "live", \
	     f using ($2/1e9):($6/MiB) with lines title "alloc", \
	     f using ($2/1e9):($7/MiB) with lines title "heap", \
	     f using ($2/1e9):($8/MiB) with lines title "rss"
}
unset multiplot
