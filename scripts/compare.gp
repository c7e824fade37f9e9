# compare.gp - the strategies of one run side by side, from their
# summary.json: Johnstone & Wilson's four fragmentation measures on heap
# and on RSS, peak RSS over ideal (peak live), cache hit rate, internal and
# external fragmentation, and system calls by kind.  Drawn twice: out.png
# and out.pdf.
# Variables (gnuplot -e, set by scripts/plot): data (a table, one row per
# strategy: strategy jw1..4 rjw1..4 rss_ideal hit internal external mmap
# munmap madvise brk mremap mprotect; "?" where undefined), n (rows),
# title, out (path without extension), logjw, logrss, logideal, logsys
# (1: that panel's values span more than 100x, drawn on a log scale) and
# floorjw, floorrss, floorideal (the bottom of each log scale: a power of
# ten below its smallest positive value).
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9
set grid y lc rgb "#dddddd"
set key top right opaque box lc rgb "#cccccc" samplen 1.5 font ",8"
set tics nomirror
set border 3
set xtics rotate by -30 scale 0 font ",9"
set linetype 1 lc rgb "#1f77b4"
set linetype 2 lc rgb "#ff7f0e"
set linetype 3 lc rgb "#2ca02c"
set linetype 4 lc rgb "#d62728"
set linetype 5 lc rgb "#9467bd"
set linetype 6 lc rgb "#8c564b"
# A value of column k for a panel: on a log scale, zero or undefined sits
# at the floor (a bar of no height); on a linear one, undefined is 0.  (A
# histogram column with no valid point at all is an error in gnuplot.)
val(k, lg) = lg ? (column(k) > 0 ? column(k) : floor) \
                : (column(k) == column(k) ? column(k) : 0)

# Axis settings for one panel: lg = 1 for a log scale.
scale(lg) = lg ? "set logscale y; set format y '10^{%T}'; set yrange [floor:*]" \
               : "unset logscale y; set format y '%g'; set yrange [0:*]"

do for [pass = 1:2] {
	if (pass == 1) {
		set terminal pngcairo size 1300, 1100 font ",10" enhanced
		set output out . ".png"
	} else {
		set terminal pdfcairo size 9, 7.6 font ",8" enhanced
		set output out . ".pdf"
	}
	set multiplot layout 3, 2 title title font ",12" noenhanced

	floor = floorjw
	eval scale(logjw)
	set title "Johnstone & Wilson fragmentation, heap over live" noenhanced
	set ylabel "%"
	plot data using (val(2, logjw)):xtic(1) title "#1 mean", \
	     "" using (val(3, logjw)) title "#2 at live peak", \
	     "" using (val(4, logjw)) title "#3 heap peak / live then", \
	     "" using (val(5, logjw)) title "#4 peak / peak"

	floor = floorrss
	eval scale(logrss)
	set title "the same measures with RSS in place of heap"
	plot data using (val(6, logrss)):xtic(1) title "#1", \
	     "" using (val(7, logrss)) title "#2", \
	     "" using (val(8, logrss)) title "#3 (realized)", \
	     "" using (val(9, logrss)) title "#4"

	floor = floorideal
	eval scale(logideal)
	set title "peak RSS over ideal (peak live)"
	set ylabel "ratio (x)"
	unset key
	plot data using (val(10, logideal)):xtic(1) lt 4 notitle

	eval scale(0)
	set title "thread-cache hit rate (0: no thread cache)"
	set ylabel "% of allocations"
	set yrange [0:105]
	plot data using (val(11, 0) * 100):xtic(1) lt 3 notitle
	set key

	eval scale(0)
	set title "internal and external fragmentation"
	set ylabel "%"
	plot data using (val(12, 0) * 100):xtic(1) title "internal, at live peak", \
	     "" using (val(13, 0) * 100) title "external, at heap peak"

	floor = 0.5
	eval scale(logsys)
	set title "system calls"
	set ylabel "calls"
	plot data using (val(14, logsys)):xtic(1) title "mmap", \
	     "" using (val(15, logsys)) title "munmap", \
	     "" using (val(16, logsys)) title "madvise", \
	     "" using (val(17, logsys)) title "brk", \
	     "" using (val(18, logsys)) title "mremap", \
	     "" using (val(19, logsys)) title "mprotect"
	unset multiplot
	set output
}
