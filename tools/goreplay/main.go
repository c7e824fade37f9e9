// Command goreplay replays an allocsim trace (text format v1, plain or
// gzip; ../../shared/reference/trace-format.md) in the real Go runtime and
// prints runtime.MemStats at checkpoints, so scripts/validate-go can put the
// Go model (strategies span and tiny) beside the real thing.
//
// Every object is a []byte of the traced size (make([]byte, n): pointer-free,
// so requests under 16 bytes take the tiny path, as the model assumes for
// traces).  A realloc allocates a new object and drops the old one (Go has
// no realloc); alignment requests are not honoured.  A 'g' event is
// runtime.GC() followed by a checkpoint; the end of the trace is a
// checkpoint without a GC.  With EVERY, there is also a checkpoint "c"
// after every event whose index i has (i + OFFSET + 1) % EVERY == 0 (but
// not after a 'g'): runtime.ReadMemStats between collections, which
// flushes every mcache and drops the tiny block, as `allocsim run
// --checkpoint-every EVERY` does in the model, whose events are OFFSET
// ahead (validate-go's prologue).
//
// To keep the replayer's own data out of the measured heap, the events are
// parsed first and copied to memory mapped outside the Go heap; the only
// heap object the replay keeps is the table of live objects (one pointer per
// slot, slots reused, so it is sized by the peak live count).  Before the
// replay the program collects, and prints a "base" line: MemStats then.  Its
// HeapAlloc is what the model's run starts with (validate-go allocates it as
// a prologue object), so both pacers see the same live heap.
//
// Usage: goreplay TRACE [EVERY [OFFSET]].  Output, one line each: "base
// K=V ...", then "ckpt LABEL EVENT K=V ..." for each checkpoint (LABEL g,
// c or end), where EVENT is the 0-based index of the trace event, and last
// "# cpu_ns_per_event X wall_ns_per_event Y events N": the replay loop's
// CPU time (user + system of every thread: allocation, the collector, page
// faults) and wall time per event (paper/experiments/speed.post compares it
// with the simulator's; checkpoints inside the loop are included, so time a
// trace without 'g' events and without EVERY).
// Standard library only.
package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

type event struct {
	kind  byte
	_     [3]byte
	slot  uint32
	slot2 uint32
	_     uint32
	size  uint64
	index uint64 // the event's index in the trace
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "goreplay: "+format+"\n", a...)
	os.Exit(2)
}

func open(path string) io.Reader {
	f, err := os.Open(path)
	if err != nil {
		fail("%v", err)
	}
	br := bufio.NewReaderSize(f, 1<<16)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			fail("%s: %v", path, err)
		}
		return bufio.NewReaderSize(z, 1<<16)
	}
	return br
}

type parser struct {
	path   string
	line   int
	slots  []uint32 // ID -> slot
	free   []uint32 // free slots, reused last-in first-out
	nslots uint32
	evs    []event
	index  uint64
}

func (p *parser) num(s string) uint64 {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		fail("%s:%d: '%s' is not a number", p.path, p.line, s)
	}
	return v
}

func (p *parser) newSlot(id uint64) uint32 {
	for uint64(len(p.slots)) <= id {
		p.slots = append(p.slots, 0)
	}
	var s uint32
	if n := len(p.free); n > 0 {
		s = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		s = p.nslots
		p.nslots++
	}
	p.slots[id] = s
	return s
}

func (p *parser) oldSlot(id uint64) uint32 {
	if id >= uint64(len(p.slots)) {
		fail("%s:%d: unknown ID %d", p.path, p.line, id)
	}
	return p.slots[id]
}

func (p *parser) event(f []string) {
	var e event
	e.kind = f[0][0]
	e.index = p.index
	want := map[byte]int{'a': 4, 'c': 4, 'm': 5, 'r': 5, 'f': 3, 'g': 2, 't': 2}[e.kind]
	if want == 0 || len(f) != want {
		fail("%s:%d: bad event line", p.path, p.line)
	}
	switch e.kind {
	case 'a', 'c':
		e.size = p.num(f[3])
		e.slot = p.newSlot(p.num(f[2]))
	case 'm':
		e.size = p.num(f[4])
		e.slot = p.newSlot(p.num(f[2]))
	case 'f':
		id := p.num(f[2])
		e.slot = p.oldSlot(id)
		p.free = append(p.free, e.slot)
	case 'r':
		old, nw := p.num(f[2]), p.num(f[3])
		e.size = p.num(f[4])
		if old == 0 {
			e.kind = 'a'
			e.slot = p.newSlot(nw)
			break
		}
		e.slot = p.oldSlot(old)
		p.free = append(p.free, e.slot)
		e.slot2 = p.newSlot(nw)
	}
	p.index++
	p.evs = append(p.evs, e) // 't' too: checkpoints count every event
}

func parse(path string) ([]event, uint32) {
	p := &parser{path: path}
	sc := bufio.NewScanner(open(path))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		p.line++
		t := sc.Text()
		if t == "" || t[0] == '#' {
			continue
		}
		p.event(strings.Fields(t))
	}
	if err := sc.Err(); err != nil {
		fail("%s: %v", path, err)
	}
	return p.evs, p.nslots
}

// offHeap copies evs to anonymous memory the Go heap does not manage.
func offHeap(evs []event) []event {
	if len(evs) == 0 {
		return nil
	}
	n := len(evs) * int(unsafe.Sizeof(event{}))
	mem, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		fail("mmap: %v", err)
	}
	out := unsafe.Slice((*event)(unsafe.Pointer(&mem[0])), len(evs))
	copy(out, evs)
	return out
}

// The output buffer is allocated before the base line, and checkpoints
// append into it, so printing allocates nothing on the measured heap.
var outbuf = make([]byte, 0, 4096)

func field(name string, v uint64) {
	outbuf = append(outbuf, ' ')
	outbuf = append(outbuf, name...)
	outbuf = append(outbuf, '=')
	outbuf = strconv.AppendUint(outbuf, v, 10)
}

func print(kind string, label string, index uint64, ms *runtime.MemStats) {
	outbuf = append(outbuf[:0], kind...)
	if label != "" {
		outbuf = append(outbuf, ' ')
		outbuf = append(outbuf, label...)
		outbuf = append(outbuf, ' ')
		outbuf = strconv.AppendUint(outbuf, index, 10)
	}
	field("HeapAlloc", ms.HeapAlloc)
	field("HeapSys", ms.HeapSys)
	field("HeapIdle", ms.HeapIdle)
	field("HeapInuse", ms.HeapInuse)
	field("HeapReleased", ms.HeapReleased)
	field("HeapObjects", ms.HeapObjects)
	field("Mallocs", ms.Mallocs)
	field("Frees", ms.Frees)
	field("NumGC", uint64(ms.NumGC))
	field("NextGC", ms.NextGC)
	field("TotalAlloc", ms.TotalAlloc)
	field("Sys", ms.Sys)
	outbuf = append(outbuf, '\n')
	os.Stdout.Write(outbuf)
}

var table []unsafe.Pointer

// Globals, so reading the clocks allocates nothing on the measured heap.
var rusage syscall.Rusage

func cpuNs() int64 {
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &rusage); err != nil {
		fail("getrusage: %v", err)
	}
	return rusage.Utime.Nano() + rusage.Stime.Nano()
}

func alloc(size uint64) unsafe.Pointer {
	if size == 0 {
		return nil
	}
	b := make([]byte, size)
	return unsafe.Pointer(&b[0])
}

func argNum(i int) uint64 {
	if len(os.Args) <= i {
		return 0
	}
	v, err := strconv.ParseUint(os.Args[i], 10, 64)
	if err != nil {
		fail("'%s' is not a number", os.Args[i])
	}
	return v
}

func main() {
	if len(os.Args) < 2 || len(os.Args) > 4 {
		fmt.Fprintln(os.Stderr, "usage: goreplay TRACE [EVERY [OFFSET]]")
		os.Exit(2)
	}
	every, offset := argNum(2), argNum(3)
	parsed, nslots := parse(os.Args[1])
	evs := offHeap(parsed)
	parsed = nil
	table = make([]unsafe.Pointer, nslots+1)
	debug.FreeOSMemory() // collects, sweeps, releases the parser's memory
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	print("base", "", 0, &ms)
	cpu0, wall0 := cpuNs(), time.Now()
	for i := range evs {
		e := &evs[i]
		switch e.kind {
		case 'a', 'c', 'm':
			table[e.slot] = alloc(e.size)
		case 'f':
			table[e.slot] = nil
		case 'r':
			p := alloc(e.size)
			table[e.slot] = nil
			table[e.slot2] = p
		case 'g':
			runtime.GC()
			runtime.ReadMemStats(&ms)
			print("ckpt", "g", e.index, &ms)
			continue
		}
		if every > 0 && (e.index+offset+1)%every == 0 {
			runtime.ReadMemStats(&ms)
			print("ckpt", "c", e.index, &ms)
		}
	}
	cpu, wall := cpuNs()-cpu0, time.Since(wall0).Nanoseconds()
	runtime.ReadMemStats(&ms)
	n := uint64(0)
	if len(evs) > 0 {
		n = evs[len(evs)-1].index
	}
	print("ckpt", "end", n, &ms)
	runtime.KeepAlive(table)
	nev := int64(len(evs))
	if nev == 0 {
		nev = 1
	}
	fmt.Printf("# cpu_ns_per_event %.1f wall_ns_per_event %.1f events %d\n",
		float64(cpu)/float64(nev), float64(wall)/float64(nev), len(evs))
}
