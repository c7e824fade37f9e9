/*
 * replay.c - replay an allocation trace with the real allocator of this
 * process (glibc's by default; jemalloc, tcmalloc or mimalloc through
 * LD_PRELOAD) and print what it did, in the column names of allocsim's
 * series.csv, so that a model can be checked against the real thing
 * (scripts/validate-glibc).
 *
 *   replay [--every N] [--no-touch] [--serial] [--addrs] TRACE
 *
 * The replayer must not disturb the heap it measures, so it never calls
 * malloc or stdio: the trace (text, or gzip through zlib with an mmap-backed
 * zalloc) is read and parsed into memory from mmap before the replay, the
 * object table too, and output is formatted by hand into static buffers
 * and written with write(2).  Before the first event it records a baseline:
 * sbrk(0) before anything could allocate (brk growth is measured from it),
 * mallinfo2 (all zero in a dynamically linked program replaying one thread;
 * printed as a comment line), and the resident size.
 *
 * Events: a -> malloc, c -> calloc(1, n), m -> memalign, r -> realloc
 * (OLD 0: realloc(NULL, n)), f -> free; t and g do nothing but count.
 * After each allocation the program's writes are imitated as allocsim's
 * engine does by default: one byte per page of the bytes asked for
 * (--no-touch: none).
 *
 * Checkpoints: after event k (counted from 0, every event line counts)
 * when (k+1) % N == 0, and after the last event.  Each prints
 *   event,arena,ordblks,smblks,hblks,hblkhd,fsmblks,uordblks,fordblks,
 *   keepcost,brk_growth,rss_bytes
 * where brk_growth = sbrk(0) - baseline and rss_bytes = resident bytes now
 * minus the baseline (the heap's share, approximately).  The last line is
 * "# ns_per_event X wall_ns_per_event Y events N": the replay's own CPU
 * time (user + system, all threads: allocator, page faults, the replay
 * loop) and wall-clock time per event, checkpoints excluded.
 *
 * Threads: a trace with more than one thread is replayed with one pthread
 * per trace thread, created before the baseline (their creation allocates
 * in the main arena: the baseline shows it), handed one event at a time in
 * trace order, so the interleaving is the trace's and nothing contends.
 * --serial replays every event on the main thread instead.
 *
 * --addrs prints, instead of checkpoints, one line per allocation as it
 * happens: "K OFFSET" (the block's address minus the initial break) or
 * "K -" (outside the break area), to find where a model first differs.
 *
 * Exit: 0 after the replay, 1 when an allocation failed, 2 on bad usage or
 * an unreadable or malformed trace (message on stderr with file:line).
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

/* ---- output without stdio ---------------------------------------------------- */

static char obuf[1 << 16];
static size_t olen;

static void out_flush(int fd)
{
	size_t off = 0;
	while (off < olen) {
		ssize_t w = write(fd, obuf + off, olen - off);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	olen = 0;
}

static void out_str(const char *s)
{
	size_t n = strlen(s);
	if (olen + n > sizeof obuf)
		out_flush(1);
	memcpy(obuf + olen, s, n);
	olen += n;
}

static void out_u64(uint64_t v)
{
	char t[24];
	int i = 24;
	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (olen + 24 > sizeof obuf)
		out_flush(1);
	memcpy(obuf + olen, t + i, (size_t)(24 - i));
	olen += (size_t)(24 - i);
}

/* a / b with two decimals. */
static void out_ratio(uint64_t a, uint64_t b)
{
	out_u64(a / b);
	out_str(".");
	uint64_t frac = (a % b) * 100 / b;
	if (frac < 10)
		out_str("0");
	out_u64(frac);
}

static void out_i64(int64_t v)
{
	if (v < 0) {
		out_str("-");
		out_u64((uint64_t)0 - (uint64_t)v);
	} else {
		out_u64((uint64_t)v);
	}
}

/* Print "replay: <a><b>[:<line>]: <c>" on stderr. */
static void die_msg(const char *a, const char *b, uint64_t line, const char *c)
{
	out_flush(1);
	out_str("replay: ");
	out_str(a);
	out_str(b);
	if (line) {
		out_str(":");
		out_u64(line);
	}
	out_str(": ");
	out_str(c);
	out_str("\n");
	out_flush(2);
}

/* ---- memory from mmap ----------------------------------------------------- */

static void *map_anon(size_t n)
{
	void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* zlib's allocator: a size header in front of each mapping. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	size_t n = (size_t)items * size + 16;
	char *p = map_anon(n);
	if (!p)
		return Z_NULL;
	memcpy(p, &n, sizeof n);
	return p + 16;
}

static void z_free(voidpf opaque, voidpf address)
{
	(void)opaque;
	size_t n;
	char *p = (char *)address - 16;
	memcpy(&n, p, sizeof n);
	munmap(p, n);
}

/* ---- loading ------------------------------------------------------------------- */

struct text {
	char *data;
	size_t len, cap;
};

/* Inflate a gzip image into t.  0 on success. */
static int gunzip(const unsigned char *src, size_t n, struct text *t)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	z.zalloc = z_alloc;
	z.zfree = z_free;
	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return -1;
	t->cap = n * 4 + (1 << 20);
	t->data = map_anon(t->cap);
	if (!t->data)
		return -1;
	z.next_in = (Bytef *)src;
	z.avail_in = (uInt)n;   /* traces are far below 4 GiB compressed */
	int rc;
	do {
		if (t->len == t->cap) {
			void *q = mremap(t->data, t->cap, 2 * t->cap, MREMAP_MAYMOVE);
			if (q == MAP_FAILED)
				return -1;
			t->data = q;
			t->cap *= 2;
		}
		z.next_out = (Bytef *)t->data + t->len;
		z.avail_out = (uInt)(t->cap - t->len > (1u << 30) ? (1u << 30)
								  : t->cap - t->len);
		uInt before = z.avail_out;
		rc = inflate(&z, Z_NO_FLUSH);
		t->len += before - z.avail_out;
		if (rc == Z_STREAM_END && z.avail_in > 0) {
			/* concatenated members */
			if (inflateReset(&z) != Z_OK)
				return -1;
			rc = Z_OK;
		}
	} while (rc == Z_OK || rc == Z_BUF_ERROR);
	inflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

/* Map the file and, when it is gzip, inflate it.  0 on success. */
static int load(const char *path, struct text *t)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		return -1;
	size_t n = (size_t)st.st_size;
	unsigned char *src = n ? mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (n && src == MAP_FAILED)
		return -1;
	if (n >= 2 && src[0] == 0x1f && src[1] == 0x8b) {
		int rc = gunzip(src, n, t);
		munmap(src, n);
		return rc;
	}
	t->data = (char *)src;
	t->len = t->cap = n;
	return 0;
}

/* ---- parsing ------------------------------------------------------------------ */

struct ev {
	uint8_t kind;
	uint32_t tid;
	uint64_t id, id2, size, align;
};

struct trace {
	struct ev *ev;
	uint64_t n, max_id;
	uint32_t max_tid;
};

static int field(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	while (s < end && *s == ' ')
		s++;
	if (s == end || *s < '0' || *s > '9')
		return -1;
	uint64_t x = 0;
	while (s < end && *s >= '0' && *s <= '9') {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s++ - '0');
	}
	*p = s;
	*v = x;
	return 0;
}

/* Number of fields after the letter, per event kind; -1: unknown. */
static int nfields(char k)
{
	switch (k) {
	case 'a': case 'c': return 3;
	case 'm': case 'r': return 4;
	case 'f': return 2;
	case 'g': case 't': return 1;
	}
	return -1;
}

static int parse_line(const char *s, const char *end, struct ev *e)
{
	uint64_t v[4] = {0, 0, 0, 0};
	int nf = nfields(*s);
	if (nf < 0)
		return -1;
	const char *p = s + 1;
	for (int i = 0; i < nf; i++)
		if (field(&p, end, &v[i]) != 0)
			return -1;
	while (p < end && (*p == ' ' || *p == '\r'))
		p++;
	if (p != end)
		return -1;
	memset(e, 0, sizeof *e);
	e->kind = (uint8_t)*s;
	if (*s == 't') {
		e->size = v[0];
		return 0;
	}
	if (v[0] > UINT32_MAX)
		return -1;
	e->tid = (uint32_t)v[0];
	switch (*s) {
	case 'a': case 'c': e->id = v[1]; e->size = v[2]; break;
	case 'm': e->id = v[1]; e->align = v[2]; e->size = v[3]; break;
	case 'r': e->id = v[1]; e->id2 = v[2]; e->size = v[3]; break;
	case 'f': e->id = v[1]; break;
	}
	return 0;
}

static int parse(const char *path, const struct text *t, struct trace *tr)
{
	const char *s = t->data, *end = t->data + t->len;
	uint64_t lines = 1;
	for (const char *q = s; q < end; q++)
		lines += *q == '\n';
	tr->ev = map_anon(lines * sizeof *tr->ev);
	if (!tr->ev) {
		die_msg(path, "", 0, "out of memory for the events");
		return -1;
	}
	uint64_t line = 0;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		line++;
		if (le > s && *s != '#') {
			struct ev *e = &tr->ev[tr->n];
			if (parse_line(s, le, e) != 0) {
				die_msg(path, "", line, "malformed event line");
				return -1;
			}
			uint64_t top = e->id > e->id2 ? e->id : e->id2;
			if (top > tr->max_id)
				tr->max_id = top;
			if (e->kind != 't' && e->tid > tr->max_tid)
				tr->max_tid = e->tid;
			tr->n++;
		}
		s = nl ? nl + 1 : end;
	}
	if (tr->max_tid >= 4096) {
		die_msg(path, "", 0, "more than 4096 threads");
		return -1;
	}
	return 0;
}

/* ---- the replay ----------------------------------------------------------------- */

static void **obj;            /* ID -> pointer */
static int touch = 1;
static int addrs;             /* --addrs: print each returned address */
static uintptr_t brk0;
static volatile int failed;   /* an allocation returned NULL */

static void write_pages(char *p, uint64_t n)
{
	if (!touch || !p || !n)
		return;
	for (uint64_t off = 0; off < n; off += 4096 - ((uintptr_t)(p + off) & 4095))
		((volatile char *)p)[off] = 1;
	((volatile char *)p)[n - 1] = 1;
}

static void run_event(const struct ev *e)
{
	void *p;
	switch (e->kind) {
	case 'a':
		p = malloc(e->size);
		break;
	case 'c':
		p = calloc(1, e->size);
		break;
	case 'm':
		p = memalign(e->align, e->size);
		break;
	case 'r':
		p = realloc(e->id ? obj[e->id] : NULL, e->size);
		if (p && e->id)
			obj[e->id] = NULL;
		if (p) {
			obj[e->id2] = p;
			write_pages(p, e->size);
		} else if (e->size) {
			failed = 1;
		}
		return;
	case 'f':
		free(obj[e->id]);
		obj[e->id] = NULL;
		return;
	default:
		return;
	}
	if (!p) {
		failed = 1;
		return;
	}
	obj[e->id] = p;
	write_pages(p, e->size);
}

/* --addrs: "K OFFSET" with OFFSET the block's address minus the initial
 * break, or "K -" for a block outside the break area (mmapped). */
static void print_addr(uint64_t k, const struct ev *e)
{
	uint64_t id = e->kind == 'r' ? e->id2 : e->id;
	if (e->kind == 'f' || e->kind == 't' || e->kind == 'g' || !obj[id])
		return;
	uintptr_t p = (uintptr_t)obj[id];
	out_u64(k);
	if (p >= brk0 && p < (uintptr_t)sbrk(0)) {
		out_str(" ");
		out_u64(p - brk0);
		out_str("\n");
	} else {
		out_str(" -\n");
	}
}

/* One worker per trace thread but 0, handed events one at a time. */
struct worker {
	pthread_t th;
	sem_t go;
	const struct ev *e;
};

static struct worker *workers;
static sem_t done;
static volatile int stopping;

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		while (sem_wait(&w->go) != 0)
			;
		if (stopping)
			return NULL;
		run_event(w->e);
		sem_post(&done);
	}
}

static int start_workers(uint32_t n)
{
	workers = map_anon((size_t)(n + 1) * sizeof *workers);
	if (!workers || sem_init(&done, 0, 0) != 0)
		return -1;
	for (uint32_t t = 1; t <= n; t++) {
		if (sem_init(&workers[t].go, 0, 0) != 0 ||
		    pthread_create(&workers[t].th, NULL, worker_main, &workers[t]) != 0)
			return -1;
	}
	return 0;
}

static void stop_workers(uint32_t n)
{
	stopping = 1;
	for (uint32_t t = 1; t <= n; t++)
		sem_post(&workers[t].go);
	for (uint32_t t = 1; t <= n; t++)
		pthread_join(workers[t].th, NULL);
}

/* ---- checkpoints ------------------------------------------------------------------ */

struct row {
	uint64_t event;
	struct mallinfo2 mi;
	int64_t brk, rss;
};
static int64_t rss0;

static int64_t rss_now(void)
{
	char b[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = '\0';
	const char *p = b;
	while (*p && *p != ' ')
		p++;
	uint64_t pages = 0;
	while (*p == ' ')
		p++;
	while (*p >= '0' && *p <= '9')
		pages = pages * 10 + (uint64_t)(*p++ - '0');
	return (int64_t)(pages * (uint64_t)sysconf(_SC_PAGESIZE));
}

static void take_row(struct row *r, uint64_t event)
{
	r->event = event;
	r->mi = mallinfo2();
	r->brk = (int64_t)((uintptr_t)sbrk(0) - brk0);
	r->rss = rss_now() - rss0;
}

static void put_row(const struct row *r)
{
	const struct mallinfo2 *m = &r->mi;
	uint64_t v[] = {r->event, m->arena, m->ordblks, m->smblks, m->hblks,
			m->hblkhd, m->fsmblks, m->uordblks, m->fordblks,
			m->keepcost};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		if (i)
			out_str(",");
		out_u64(v[i]);
	}
	out_str(",");
	out_i64(r->brk);
	out_str(",");
	out_i64(r->rss);
	out_str("\n");
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- main -------------------------------------------------------------------------- */

static int usage(void)
{
	out_str("usage: replay [--every N] [--no-touch] [--serial] [--addrs] "
		"TRACE\n");
	out_flush(2);
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t every = 1000;
	int serial = 0;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--every") == 0 && i + 1 < argc) {
			const char *p = argv[++i];
			if (field(&p, p + strlen(p), &every) != 0 || *p)
				return usage();
		} else if (strcmp(a, "--no-touch") == 0) {
			touch = 0;
		} else if (strcmp(a, "--addrs") == 0) {
			addrs = 1;
		} else if (strcmp(a, "--serial") == 0) {
			serial = 1;
		} else if (a[0] == '-' || path) {
			return usage();
		} else {
			path = a;
		}
	}
	if (!path)
		return usage();
	struct text txt = {NULL, 0, 0};
	struct trace tr = {NULL, 0, 0, 0};
	if (load(path, &txt) != 0) {
		die_msg(path, "", 0, "cannot read the trace (missing, or bad gzip)");
		return 2;
	}
	if (parse(path, &txt, &tr) != 0)
		return 2;
	if (txt.data)
		munmap(txt.data, txt.cap);
	obj = map_anon((size_t)(tr.max_id + 1) * sizeof *obj);
	uint64_t nrows = (every ? tr.n / every : 0) + 2;
	struct row *rows = map_anon((size_t)nrows * sizeof *rows);
	if (!obj || !rows) {
		die_msg(path, "", 0, "out of memory for the object table");
		return 2;
	}
	memset(obj, 0, (size_t)(tr.max_id + 1) * sizeof *obj);
	memset(rows, 0, (size_t)nrows * sizeof *rows);
	int threaded = tr.max_tid > 0 && !serial;
	/* the baseline: the break before anything could allocate, mallinfo2
	 * after the threads are made (they allocate) */
	brk0 = (uintptr_t)sbrk(0);
	if (threaded && start_workers(tr.max_tid) != 0) {
		die_msg(path, "", 0, "cannot start the replay threads");
		return 2;
	}
	struct mallinfo2 base = mallinfo2();
	rss0 = rss_now();
	uint64_t nr = 0, t_check = 0, c_check = 0;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	uint64_t c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (uint64_t k = 0; k < tr.n && !failed; k++) {
		const struct ev *e = &tr.ev[k];
		if (threaded && e->tid != 0 && e->kind != 't') {
			workers[e->tid].e = e;
			sem_post(&workers[e->tid].go);
			while (sem_wait(&done) != 0)
				;
		} else {
			run_event(e);
		}
		if (addrs)
			print_addr(k, e);
		if ((every && (k + 1) % every == 0) || k + 1 == tr.n) {
			uint64_t w = clock_ns(CLOCK_MONOTONIC);
			uint64_t c = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
			take_row(&rows[nr++], k);
			c_check += clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c;
			t_check += clock_ns(CLOCK_MONOTONIC) - w;
		}
	}
	uint64_t t_all = clock_ns(CLOCK_MONOTONIC) - t0;
	uint64_t c_all = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (addrs) {
		out_flush(1);
		return failed ? 1 : 0;
	}
	if (threaded)
		stop_workers(tr.max_tid);
	out_str("# replay of ");
	out_str(path);
	out_str(threaded ? ", one thread per trace thread\n" : "\n");
	out_str("# baseline arena=");
	out_u64(base.arena);
	out_str(" uordblks=");
	out_u64(base.uordblks);
	out_str(" fordblks=");
	out_u64(base.fordblks);
	out_str(" hblkhd=");
	out_u64(base.hblkhd);
	out_str(" workers=");
	out_u64(threaded ? tr.max_tid : 0);
	out_str("\nevent,arena,ordblks,smblks,hblks,hblkhd,fsmblks,uordblks,"
		"fordblks,keepcost,brk_growth,rss_bytes\n");
	for (uint64_t i = 0; i < nr; i++)
		put_row(&rows[i]);
	uint64_t n = tr.n ? tr.n : 1;
	out_str("# ns_per_event ");
	out_ratio(c_all - c_check, n);
	out_str(" wall_ns_per_event ");
	out_ratio(t_all - t_check, n);
	out_str(" events ");
	out_u64(tr.n);
	out_str("\n");
	out_flush(1);
	if (failed) {
		die_msg(path, "", 0, "an allocation failed during the replay");
		return 1;
	}
	return 0;
}
