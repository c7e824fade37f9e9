/*
 * tracer.c - LD_PRELOAD malloc tracer.  Records every heap operation of a
 * dynamically linked program, in every thread, as an allocsim text trace
 * version 1 (shared/reference/trace-format.md); README.md beside this file
 * says how to use it and how output files are named.
 *
 * It models nothing, it observes.  Each interposed function forwards to the
 * next definition of the symbol (dlsym(RTLD_NEXT)) and, when the call
 * succeeded, appends one event line.  The points that make it correct:
 *  1. It never allocates from the heap it watches: the address -> ID map is
 *     an open-addressing table in mmap memory, the output buffer is static
 *     and goes out with write(2), integers are formatted by hand.
 *  2. One mutex orders the events of all threads.  The ID, the thread ID
 *     and the line are made under it, so the file order is a real order: an
 *     allocation is recorded after the real call returned, a free before the
 *     real free runs (no other thread can get the address back before its
 *     free is written), and a realloc, which frees and allocates at once,
 *     holds the lock across the real call.
 *  3. A thread-local guard makes everything that runs inside a wrapper (the
 *     real allocator, dlsym, atexit, ...) invisible to the trace, and keeps
 *     one thread from taking the mutex twice.
 *  4. dlsym may allocate before the real functions are known: those calls get
 *     memory from a static bump buffer that never reaches the real free.
 *  5. fork: the child starts a new trace of its own (pthread_atfork); exec:
 *     the buffer is flushed first and the new image starts a new tracer.
 * Simplifications: events after a fatal signal or _exit since the last flush
 * are lost; posix_spawn and vfork children are not traced before exec (they
 * share the parent's memory); malloc_usable_size is not interposed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TLS_IE __attribute__((tls_model("initial-exec")))

/* ---- real functions ------------------------------------------------------ */

static struct {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	void (*free)(void *);
	void *(*memalign)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execvp)(const char *, char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
} real;

static atomic_int real_ready;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static _Thread_local int tls_in_dlsym TLS_IE;   /* inside real_resolve */
static _Thread_local int tls_guard TLS_IE;      /* inside the tracer */
static _Thread_local uint64_t tls_tid TLS_IE;   /* TID + 1; 0: none yet */

#define RESOLVE(f) (real.f = (__typeof__(real.f))dlsym(RTLD_NEXT, #f))

static void real_resolve(void)
{
	tls_in_dlsym = 1;
	RESOLVE(malloc);
	RESOLVE(calloc);
	RESOLVE(realloc);
	RESOLVE(reallocarray);
	RESOLVE(free);
	RESOLVE(memalign);
	RESOLVE(posix_memalign);
	RESOLVE(aligned_alloc);
	RESOLVE(valloc);
	RESOLVE(pvalloc);
	RESOLVE(execve);
	RESOLVE(execvp);
	RESOLVE(execvpe);
	RESOLVE(fexecve);
	tls_in_dlsym = 0;
	if (real.malloc && real.calloc && real.realloc && real.free)
		atomic_store_explicit(&real_ready, 1, memory_order_release);
}

/* 1 when the caller must allocate from the bootstrap buffer: the real
 * functions are being looked up by this thread, or could not be found. */
static int boot_needed(void)
{
	if (atomic_load_explicit(&real_ready, memory_order_acquire))
		return 0;
	if (tls_in_dlsym)
		return 1;
	pthread_once(&real_once, real_resolve);
	return !atomic_load_explicit(&real_ready, memory_order_acquire);
}

/* ---- bootstrap buffer ---------------------------------------------------- */

/* Memory for allocations made while dlsym runs.  It is never reused, so it
 * stays zeroed for calloc; each block is preceded by its size for realloc. */
#define BOOT_SIZE (64 * 1024)
static _Alignas(4096) char boot_buf[BOOT_SIZE];
static atomic_size_t boot_used;

static int is_boot(const void *p)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)boot_buf;
	return a >= b && a < b + BOOT_SIZE;
}

static size_t pow2_up(size_t a)
{
	size_t p = 1;
	while (p < a && p)
		p <<= 1;
	return p;
}

static void *boot_alloc(size_t size, size_t align)
{
	uintptr_t base = (uintptr_t)boot_buf;
	size_t off = atomic_load(&boot_used), start, end;

	align = align < 16 ? 16 : pow2_up(align);
	do {
		start = ((base + off + sizeof(size_t) + align - 1) & ~(align - 1))
			- base;
		if (align == 0 || start > BOOT_SIZE || size > BOOT_SIZE - start) {
			errno = ENOMEM;
			return NULL;
		}
		end = start + size;
	} while (!atomic_compare_exchange_weak(&boot_used, &off, end));
	memcpy(boot_buf + start - sizeof(size_t), &size, sizeof size);
	return boot_buf + start;
}

static size_t boot_size(const void *p)
{
	size_t n;
	memcpy(&n, (const char *)p - sizeof n, sizeof n);
	return n;
}

/* ---- tracer state -------------------------------------------------------- */

enum { TR_UNDECIDED, TR_OFF, TR_ON };
static atomic_int tr_state;             /* TR_*; changes under tr_lock */
static atomic_int tr_ctor_done;         /* the constructor has run */
static pthread_mutex_t tr_lock = PTHREAD_MUTEX_INITIALIZER;

/* Everything below is read and written under tr_lock. */
static struct {
	int fd;                 /* -1 until the file is open */
	pid_t pid;              /* the process this trace belongs to */
	dev_t dev;              /* identity of the open file, to notice a */
	ino_t ino;              /*   program that closed and reused our fd */
	int final;              /* after the exit flush: write every line */
	uint64_t next_id;       /* next object ID */
	uint64_t nthreads;      /* thread IDs handed out */
	uint64_t nevents;       /* event lines since the header */
	size_t page;            /* page size, for valloc and pvalloc */
	char path[PATH_MAX];    /* ALLOCSIM_TRACE_OUT */
} tr = { .fd = -1 };

/* ---- address -> ID table ------------------------------------------------- */

/* Open addressing with linear probing and backward-shift deletion (no
 * tombstones), at most half full; grown by rehashing into a new mapping. */
struct slot {
	uintptr_t key;          /* object address; 0: empty */
	uint64_t id;
};

#define TAB_MIN_BITS 16
static struct slot *tab;
static unsigned tab_bits;
static size_t tab_mask, tab_count;

static size_t tab_home(uintptr_t key)
{
	return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull)
			>> (64 - tab_bits));
}

static size_t tab_find(uintptr_t key)
{
	size_t i = tab_home(key);
	while (tab[i].key && tab[i].key != key)
		i = (i + 1) & tab_mask;
	return i;
}

static int tab_grow(void)
{
	unsigned bits = tab ? tab_bits + 1 : TAB_MIN_BITS;
	size_t old_cap = tab ? tab_mask + 1 : 0;
	struct slot *old = tab;
	void *m = mmap(NULL, sizeof(struct slot) << bits, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return -1;
	tab = m;
	tab_bits = bits;
	tab_mask = ((size_t)1 << bits) - 1;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			tab[tab_find(old[i].key)] = old[i];
	if (old)
		munmap(old, old_cap * sizeof *old);
	return 0;
}

static void tab_reset(void)
{
	if (tab)
		munmap(tab, (tab_mask + 1) * sizeof *tab);
	tab = NULL;
	tab_count = 0;
}

/* Map key to id.  0, with *stale the ID key had (an object freed where the
 * tracer could not see it) or 0; -1 when no memory is left for the table. */
static int tab_put(uintptr_t key, uint64_t id, uint64_t *stale)
{
	size_t i;

	*stale = 0;
	if ((!tab || 2 * (tab_count + 1) > tab_mask + 1) && tab_grow())
		return -1;
	i = tab_find(key);
	if (tab[i].key)
		*stale = tab[i].id;
	else
		tab_count++;
	tab[i].key = key;
	tab[i].id = id;
	return 0;
}

/* Remove key.  Its ID, or 0 if the tracer never saw it. */
static uint64_t tab_take(uintptr_t key)
{
	size_t i, j, k;
	uint64_t id;

	if (!tab)
		return 0;
	i = tab_find(key);
	if (!tab[i].key)
		return 0;
	id = tab[i].id;
	for (j = i;;) {
		j = (j + 1) & tab_mask;
		if (!tab[j].key)
			break;
		k = tab_home(tab[j].key);
		/* An entry whose home lies cyclically in (i, j] stays put. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		tab[i] = tab[j];
		i = j;
	}
	tab[i].key = 0;
	tab_count--;
	return id;
}

/* ---- output -------------------------------------------------------------- */

#define OUT_SIZE (1u << 20)
#define OUT_LINE 128            /* longer than any event line */
#define CMDLINE_MAX 512
static char out_buf[OUT_SIZE];
static size_t out_len;

static void out_mem(const char *s, size_t n)
{
	memcpy(out_buf + out_len, s, n);
	out_len += n;
}

static void out_str(const char *s)
{
	out_mem(s, strlen(s));
}

static char *put_u64(char *s, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*s++ = tmp[--n];
	return s;
}

static void out_u64(uint64_t v)
{
	out_len = (size_t)(put_u64(out_buf + out_len, v) - out_buf);
}

/* The command line from /proc, arguments joined by spaces, control
 * characters shown as '?', cut at CMDLINE_MAX bytes. */
static void out_cmdline(void)
{
	char cmd[CMDLINE_MAX];
	ssize_t n = -1;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, cmd, sizeof cmd);
		close(fd);
	}
	if (n <= 0) {
		out_str("?");
		return;
	}
	while (n > 0 && cmd[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
		else if ((unsigned char)cmd[i] < 32 || cmd[i] == 127)
			cmd[i] = '?';
	out_mem(cmd, (size_t)n);
	if (n == (ssize_t)sizeof cmd)
		out_str(" ...");
}

/* Start a new trace in the buffer: the header of this process. */
static void out_header(void)
{
	out_len = 0;
	tr.nevents = 0;
	out_str("# allocsim-trace v1\n# program: ");
	out_cmdline();
	out_str("\n# pid: ");
	out_u64((uint64_t)tr.pid);
	out_str("\n# ppid: ");
	out_u64((uint64_t)getppid());
	out_str("\n");
}

/* Make the name of candidate k: path, path.PID, path.PID.1, path.PID.2 ...
 * 0, or -1 if it would not fit. */
static int out_name(char *name, size_t cap, int k)
{
	size_t n = strlen(tr.path);
	char *s;

	if (n + 48 > cap)
		return -1;
	memcpy(name, tr.path, n);
	s = name + n;
	if (k > 0) {
		*s++ = '.';
		s = put_u64(s, (uint64_t)tr.pid);
	}
	if (k > 1) {
		*s++ = '.';
		s = put_u64(s, (uint64_t)k - 1);
	}
	*s = '\0';
	return 0;
}

/* Create this process's trace file: the first name that does not exist
 * yet, never overwriting one.  0, or -1 (no file, tracing must stop). */
static int out_open(void)
{
	char name[PATH_MAX + 64];
	struct stat st;
	int fd = -1, hi;

	for (int k = 0; k < 100 && fd < 0; k++) {
		if (out_name(name, sizeof name, k))
			return -1;
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			return -1;
	}
	if (fd < 0)
		return -1;
	/* Keep clear of the low descriptors a program reuses at once. */
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 500);
	if (hi >= 0) {
		close(fd);
		fd = hi;
	}
	if (fstat(fd, &st)) {
		close(fd);
		return -1;
	}
	tr.fd = fd;
	tr.dev = st.st_dev;
	tr.ino = st.st_ino;
	return 0;
}

/* Write the buffer out (under tr_lock).  A fork child opens its file here,
 * once it has an event to write.  0, or -1 when tracing must stop. */
static int out_flush(void)
{
	struct stat st;
	size_t done = 0;

	if (out_len == 0 || getpid() != tr.pid)
		return 0;       /* nothing to do, or a vfork child: not ours */
	if (tr.fd < 0) {
		if (tr.nevents == 0)
			return 0;
		if (out_open())
			return -1;
	}
	if (fstat(tr.fd, &st) || st.st_dev != tr.dev || st.st_ino != tr.ino) {
		tr.fd = -1;     /* the program closed it: the number is not ours */
		return -1;
	}
	while (done < out_len) {
		ssize_t n = write(tr.fd, out_buf + done, out_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	out_len = 0;
	return 0;
}

/* Stop tracing for good in this process (under tr_lock). */
static void tr_stop(void)
{
	atomic_store(&tr_state, TR_OFF);
	out_len = 0;
}

/* Stop after a last comment naming the reason (under tr_lock). */
static void tr_fail(const char *why)
{
	if (OUT_SIZE - out_len < OUT_LINE)
		(void)out_flush();
	if (OUT_SIZE - out_len >= OUT_LINE) {
		out_str("# tracer stopped: ");
		out_str(why);
		out_str("\n");
		out_flush();
	}
	tr_stop();
}

/* Append the line "KIND TID F1 F2 ..." (under tr_lock). */
static void emit(char kind, int nf, const uint64_t *f)
{
	char *s;

	if (atomic_load(&tr_state) != TR_ON)
		return;
	if (OUT_SIZE - out_len < OUT_LINE &&
	    (out_flush() || OUT_SIZE - out_len < OUT_LINE)) {
		tr_stop();
		return;
	}
	if (!tls_tid)
		tls_tid = ++tr.nthreads;
	s = out_buf + out_len;
	*s++ = kind;
	*s++ = ' ';
	s = put_u64(s, tls_tid - 1);
	for (int i = 0; i < nf; i++) {
		*s++ = ' ';
		s = put_u64(s, f[i]);
	}
	*s++ = '\n';
	out_len = (size_t)(s - out_buf);
	tr.nevents++;
	if (tr.final && out_flush())
		tr_stop();
}

#define EMIT(kind, ...) \
	emit(kind, (int)(sizeof((uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t)), \
	     (uint64_t[]){__VA_ARGS__})

/* ---- starting, fork, exit ------------------------------------------------ */

/* Begin the trace of a freshly started image (under tr_lock): it claims
 * its file at once, so it owns the plain path before it can start a child.
 * 0, or -1. */
static int tr_begin(const char *path)
{
	size_t n = strlen(path), dir = 0;

	/* A relative path is taken from the directory the image started in,
	 * so that fork children that chdir still write beside it. */
	if (path[0] != '/') {
		if (!getcwd(tr.path, sizeof tr.path))
			return -1;
		dir = strlen(tr.path);
		if (dir > 1)
			tr.path[dir++] = '/';
	}
	if (n == 0 || dir + n >= sizeof tr.path)
		return -1;
	memcpy(tr.path + dir, path, n + 1);
	tr.pid = getpid();
	tr.page = (size_t)sysconf(_SC_PAGESIZE);
	tr.next_id = 1;
	out_header();
	if (out_open() || out_flush())
		return -1;
	return 0;
}

/* Decide whether this image traces.  Before the constructor ran the
 * environment may not be set up yet, so "no variable" is not final then.
 * The state, TR_*. */
static int tr_try_start(void)
{
	int saved = errno, guard = tls_guard, s;
	const char *path;

	tls_guard = 1;
	pthread_mutex_lock(&tr_lock);
	if (atomic_load(&tr_state) == TR_UNDECIDED) {
		path = getenv("ALLOCSIM_TRACE_OUT");
		if (path && *path)
			atomic_store(&tr_state, tr_begin(path) ? TR_OFF : TR_ON);
		else if (path || atomic_load(&tr_ctor_done))
			atomic_store(&tr_state, TR_OFF);
	}
	s = atomic_load(&tr_state);
	pthread_mutex_unlock(&tr_lock);
	tls_guard = guard;
	errno = saved;
	return s;
}

/* 1 when the current call is to be recorded. */
static int tr_recording(void)
{
	int s;

	if (tls_guard)
		return 0;
	s = atomic_load_explicit(&tr_state, memory_order_acquire);
	if (s == TR_UNDECIDED)
		s = tr_try_start();
	return s == TR_ON;
}

/* Flush now, from outside any wrapper (exit, exec).  If final, every later
 * line is written at once. */
static void tr_flush_now(int final)
{
	int saved = errno, guard = tls_guard;

	/* Inside the tracer already (exec from a signal handler): the lock
	 * may be ours, so leave the flush to a later call. */
	if (guard || atomic_load(&tr_state) != TR_ON)
		return;
	tls_guard = 1;
	pthread_mutex_lock(&tr_lock);
	if (atomic_load(&tr_state) == TR_ON) {
		if (out_flush())
			tr_stop();
		if (final)
			tr.final = 1;
	}
	pthread_mutex_unlock(&tr_lock);
	tls_guard = guard;
	errno = saved;
}

static void tr_at_exit(void)
{
	tr_flush_now(1);
}

/* fork: no event may be half done while the address space is copied. */
static void tr_fork_prepare(void)
{
	tls_guard = 1;
	pthread_mutex_lock(&tr_lock);
}

static void tr_fork_parent(void)
{
	pthread_mutex_unlock(&tr_lock);
	tls_guard = 0;
}

/* The child starts a trace of its own; the parent's buffered lines stay
 * with the parent.  tr.final is kept: the exit handlers that set it have
 * already run and will not run again in the child. */
static void tr_fork_child(void)
{
	if (atomic_load(&tr_state) == TR_ON) {
		if (tr.fd >= 0)
			close(tr.fd);
		tr.fd = -1;
		tr.pid = getpid();
		tr.next_id = 1;
		tr.nthreads = 0;
		tls_tid = 0;
		tab_reset();
		out_header();
	}
	pthread_mutex_unlock(&tr_lock);
	tls_guard = 0;
}

__attribute__((constructor)) static void tr_ctor(void)
{
	int guard = tls_guard;

	(void)boot_needed();
	atomic_store(&tr_ctor_done, 1);
	if (tr_try_start() != TR_ON)
		return;
	tls_guard = 1;          /* both may allocate */
	pthread_atfork(tr_fork_prepare, tr_fork_parent, tr_fork_child);
	atexit(tr_at_exit);
	tls_guard = guard;
}

__attribute__((destructor)) static void tr_dtor(void)
{
	tr_flush_now(1);
}

/* ---- recording ----------------------------------------------------------- */

/* Give address p the next ID (under tr_lock).  The ID, or 0 if tracing
 * stopped.  A stale entry for p is closed with an 'f' line first. */
static uint64_t id_assign(uintptr_t p)
{
	uint64_t stale, id = tr.next_id;

	if (atomic_load(&tr_state) != TR_ON)
		return 0;
	if (tab_put(p, id, &stale)) {
		tr_fail("no memory for the address table");
		return 0;
	}
	tr.next_id++;
	if (stale)
		EMIT('f', stale);
	return id;
}

/* Record the new object p: kind 'a' or 'c' (SIZE), 'm' (ALIGN SIZE), or
 * 'r' (realloc of an unknown or NULL pointer: 0 NEW SIZE). */
static void rec_new(char kind, void *p, uint64_t align, uint64_t size)
{
	uint64_t id;

	pthread_mutex_lock(&tr_lock);
	id = id_assign((uintptr_t)p);
	if (id && kind == 'm')
		EMIT('m', id, align, size);
	else if (id && kind == 'r')
		EMIT('r', 0, id, size);
	else if (id)
		emit(kind, 2, (uint64_t[]){id, size});
	pthread_mutex_unlock(&tr_lock);
}

static void rec_free(void *p)
{
	uint64_t id;

	pthread_mutex_lock(&tr_lock);
	id = tab_take((uintptr_t)p);
	if (id)
		EMIT('f', id);
	pthread_mutex_unlock(&tr_lock);
}

/* Record realloc(p, size) = q, p != NULL (under tr_lock).  q == NULL with
 * size 0 means p was freed; with size > 0 the call failed and p lives on. */
static void rec_realloc(void *p, void *q, uint64_t size)
{
	uint64_t old, id;

	if (!q && size > 0)
		return;
	old = tab_take((uintptr_t)p);
	if (!q) {
		if (old)
			EMIT('f', old);
		return;
	}
	if (old && q == p) {
		uint64_t stale;
		if (tab_put((uintptr_t)q, old, &stale)) {
			tr_fail("no memory for the address table");
			return;
		}
		EMIT('r', old, old, size);
		return;
	}
	id = id_assign((uintptr_t)q);
	if (id)
		EMIT('r', old, id, size);
}

/* Finish a recorded allocation wrapper: record p if it is not NULL, drop
 * the guard, keep the real call's errno.  p. */
static void *done_new(void *p, char kind, uint64_t align, uint64_t size)
{
	if (p) {
		int saved = errno;
		rec_new(kind, p, align, size);
		errno = saved;
	}
	tls_guard = 0;
	return p;
}

/* The alignment recorded: a power of two, as glibc rounds it. */
static uint64_t align_rec(size_t align)
{
	return align ? (uint64_t)pow2_up(align) : 1;
}

static size_t page_size(void)
{
	return tr.page ? tr.page : (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- the interposed functions ------------------------------------------- */

void *malloc(size_t size)
{
	if (boot_needed())
		return boot_alloc(size, 16);
	if (!tr_recording())
		return real.malloc(size);
	tls_guard = 1;
	return done_new(real.malloc(size), 'a', 0, size);
}

void *calloc(size_t nmemb, size_t size)
{
	if (boot_needed()) {
		if (size && nmemb > SIZE_MAX / size) {
			errno = ENOMEM;
			return NULL;
		}
		return boot_alloc(nmemb * size, 16);
	}
	if (!tr_recording())
		return real.calloc(nmemb, size);
	tls_guard = 1;
	/* On success nmemb * size did not overflow. */
	return done_new(real.calloc(nmemb, size), 'c', 0, nmemb * size);
}

void free(void *p)
{
	if (!p || is_boot(p) || boot_needed())
		return;
	if (!tr_recording()) {
		real.free(p);
		return;
	}
	tls_guard = 1;
	int saved = errno;
	rec_free(p);
	errno = saved;
	real.free(p);
	tls_guard = 0;
}

/* realloc of a bootstrap block: move it to the real heap. */
static void *boot_move(void *p, size_t size)
{
	size_t old = boot_size(p);
	void *q;

	if (size == 0)
		return NULL;    /* realloc(p, 0) frees; bootstrap memory stays */
	if (!tr_recording()) {
		q = real.malloc(size);
	} else {
		tls_guard = 1;
		q = done_new(real.malloc(size), 'r', 0, size);
	}
	if (q)
		memcpy(q, p, old < size ? old : size);
	return q;
}

/* realloc and reallocarray after the overflow check: size = nmemb * n. */
static void *do_realloc(void *p, size_t nmemb, size_t n, int array)
{
	size_t size = nmemb * n;
	void *q;

	if (boot_needed()) {
		q = boot_alloc(size, 16);
		if (q && p && is_boot(p))
			memcpy(q, p, boot_size(p) < size ? boot_size(p) : size);
		return q;
	}
	if (p && is_boot(p))
		return boot_move(p, size);
	if (array && !real.reallocarray)
		array = 0;
	if (!tr_recording())
		return array ? real.reallocarray(p, nmemb, n) : real.realloc(p, size);
	tls_guard = 1;
	if (!p) {
		q = array ? real.reallocarray(p, nmemb, n) : real.realloc(p, size);
		return done_new(q, 'r', 0, size);
	}
	pthread_mutex_lock(&tr_lock);
	q = array ? real.reallocarray(p, nmemb, n) : real.realloc(p, size);
	int saved = errno;
	if (atomic_load(&tr_state) == TR_ON)
		rec_realloc(p, q, size);
	pthread_mutex_unlock(&tr_lock);
	errno = saved;
	tls_guard = 0;
	return q;
}

void *realloc(void *p, size_t size)
{
	return do_realloc(p, 1, size, 0);
}

void *reallocarray(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(p, nmemb, size, 1);
}

void *memalign(size_t align, size_t size)
{
	if (boot_needed())
		return boot_alloc(size, align);
	if (!real.memalign) {
		errno = ENOMEM;
		return NULL;
	}
	if (!tr_recording())
		return real.memalign(align, size);
	tls_guard = 1;
	return done_new(real.memalign(align, size), 'm', align_rec(align), size);
}

void *aligned_alloc(size_t align, size_t size)
{
	if (boot_needed())
		return boot_alloc(size, align);
	if (!real.aligned_alloc) {
		errno = ENOMEM;
		return NULL;
	}
	if (!tr_recording())
		return real.aligned_alloc(align, size);
	tls_guard = 1;
	return done_new(real.aligned_alloc(align, size), 'm',
			align_rec(align), size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	int rc;

	if (boot_needed()) {
		if (align < sizeof(void *) || (align & (align - 1)))
			return EINVAL;
		*out = boot_alloc(size, align);
		return *out ? 0 : ENOMEM;
	}
	if (!real.posix_memalign)
		return ENOMEM;
	if (!tr_recording())
		return real.posix_memalign(out, align, size);
	tls_guard = 1;
	rc = real.posix_memalign(out, align, size);
	done_new(rc == 0 ? *out : NULL, 'm', align_rec(align), size);
	return rc;
}

void *valloc(size_t size)
{
	if (boot_needed())
		return boot_alloc(size, page_size());
	if (!real.valloc) {
		errno = ENOMEM;
		return NULL;
	}
	if (!tr_recording())
		return real.valloc(size);
	tls_guard = 1;
	return done_new(real.valloc(size), 'm', page_size(), size);
}

void *pvalloc(size_t size)
{
	size_t pg = page_size();
	size_t rounded = (size + pg - 1) & ~(pg - 1);

	if (boot_needed())
		return size > rounded ? NULL : boot_alloc(rounded, pg);
	if (!real.pvalloc) {
		errno = ENOMEM;
		return NULL;
	}
	if (!tr_recording())
		return real.pvalloc(size);
	tls_guard = 1;
	return done_new(real.pvalloc(size), 'm', pg, rounded);
}

/* ---- exec: flush first, the new image traces itself ------------------- */

int execve(const char *path, char *const argv[], char *const envp[])
{
	(void)boot_needed();
	tr_flush_now(0);
	if (!real.execve) {
		errno = ENOSYS;
		return -1;
	}
	return real.execve(path, argv, envp);
}

int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
	(void)boot_needed();
	tr_flush_now(0);
	if (!real.execvpe) {
		errno = ENOSYS;
		return -1;
	}
	return real.execvpe(file, argv, envp);
}

int execvp(const char *file, char *const argv[])
{
	(void)boot_needed();
	tr_flush_now(0);
	if (!real.execvp) {
		errno = ENOSYS;
		return -1;
	}
	return real.execvp(file, argv);
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
	(void)boot_needed();
	tr_flush_now(0);
	if (!real.fexecve) {
		errno = ENOSYS;
		return -1;
	}
	return real.fexecve(fd, argv, envp);
}

/* The list forms: count the arguments, then build argv on the stack.
 * argv gets n + 1 slots: the arguments up to the NULL, and the NULL. */
#define ARGV_FROM_VA(argv, arg, ap, ...) \
	size_t n_ = 0; \
	va_start(ap, arg); \
	for (const char *a_ = arg; a_; a_ = va_arg(ap, const char *)) \
		n_++; \
	va_end(ap); \
	char *argv[n_ + 1]; \
	va_start(ap, arg); \
	argv[0] = (char *)arg; \
	for (size_t i_ = 1; i_ <= n_; i_++) \
		argv[i_] = va_arg(ap, char *); \
	__VA_ARGS__; \
	va_end(ap)

int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	ARGV_FROM_VA(argv, arg, ap);
	return execve(path, argv, environ);
}

int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	ARGV_FROM_VA(argv, arg, ap);
	return execvp(file, argv);
}

int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	char *const *envp;
	ARGV_FROM_VA(argv, arg, ap, envp = va_arg(ap, char *const *));
	return execve(path, argv, envp);
}
