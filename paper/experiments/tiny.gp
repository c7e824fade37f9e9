# tiny.gp - HeapAlloc and RSS over simulated time, span vs tiny: left
# tiny_burst with 4-byte objects (16 threads), right the sed trace.
# Variables (gnuplot -e): data (folder with tiny-series-*.csv), out (path
# without extension).  Drawn as out.png and out.pdf.
set datafile separator ","
set grid lc rgb "#dddddd"
set key top center horizontal maxrows 2 font ",8" samplen 2
set tics nomirror
set border 3
set yrange [0:*]
set offsets 0, 0, graph 0.2, 0
set ylabel "MiB"
set style line 1 lc rgb "#1f77b4" lw 1.5
set style line 2 lc rgb "#d62728" lw 1.5
set style line 3 lc rgb "#1f77b4" lw 1.2 dt 2
set style line 4 lc rgb "#d62728" lw 1.2 dt 2
f(c, s) = sprintf("%s/tiny-series-%s-%s.csv", data, c, s)
do for [pass = 1:2] {
	if (pass == 1) {
		set terminal pngcairo size 1200, 420 font ",10" noenhanced
		set output out . ".png"
	} else {
		set terminal pdfcairo size 7.5, 2.7 font ",8" noenhanced
		set output out . ".pdf"
	}
	set multiplot layout 1, 2 title "tiny allocator: span vs tiny, HeapAlloc and RSS over time (seed 1)" font ",11"
	set title "tiny_burst.lua, 16 threads x 200,000 x alloc(4)/free"
	set xlabel "simulated time (ms)"
	plot f("burst4", "span") using ($1*1e3):2 with lines ls 1 title "span HeapAlloc", \
	     f("burst4", "tiny") using ($1*1e3):2 with lines ls 2 title "tiny HeapAlloc", \
	     f("burst4", "span") using ($1*1e3):3 with lines ls 3 title "span RSS", \
	     f("burst4", "tiny") using ($1*1e3):3 with lines ls 4 title "tiny RSS"
	set title "sed trace (tests/data/sed.trace.gz)"
	plot f("sed", "span") using ($1*1e3):2 with lines ls 1 title "span HeapAlloc", \
	     f("sed", "tiny") using ($1*1e3):2 with lines ls 2 title "tiny HeapAlloc", \
	     f("sed", "span") using ($1*1e3):3 with lines ls 3 title "span RSS", \
	     f("sed", "tiny") using ($1*1e3):3 with lines ls 4 title "tiny RSS"
	unset multiplot
	set output
}
