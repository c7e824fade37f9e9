/*
 * tracer-selftest.c - the program test-tracer.sh runs under libastrace.so.
 *
 * It calls each of the ten interposed functions, the calls the trace must
 * leave out (free(NULL), failed allocations, malloc_usable_size), hands
 * objects between two threads in a fixed order (semaphores), and forks a
 * child that allocates, frees and execs /bin/true.  Every step is
 * deterministic, so test-tracer.sh can compare the traces line by line.
 * It uses no stdio (stdio buffers are heap memory and would show up in the
 * trace) and exits 1, with a message, if the allocator behaves other than
 * the expected trace assumes (for example a realloc that should move did
 * not).  Build it with -O0 -fno-builtin so no call is optimised away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *msg)
{
	write(2, "tracer-selftest: ", 17);
	write(2, msg, strlen(msg));
	write(2, "\n", 1);
	_exit(1);
}

/* Sizes no allocator can give, hidden from the compiler's checks. */
static volatile size_t huge = SIZE_MAX, half = SIZE_MAX / 2;
static void *volatile keep;

static void expect(int ok, const char *msg)
{
	if (!ok)
		die(msg);
}

/* ---- the ten functions, in the main thread ---------------------------- */

static void single_thread(void)
{
	void *p1, *p2, *p3, *q, *p4, *p5, *p6, *p7, *p8, *p9, *p10, *x;

	p1 = malloc(100);                         /* a 0 1 100 */
	p2 = calloc(10, 20);                      /* c 0 2 200 */
	expect(p1 && p2, "malloc/calloc failed");
	p3 = realloc(p1, 5000);                   /* r 0 1 3 5000 (moved) */
	expect(p3 && p3 != p1, "realloc(p, 5000) did not move");
	q = realloc(p3, 4000);                    /* r 0 3 3 4000 (in place) */
	expect(q == p3, "shrinking realloc moved");
	p3 = reallocarray(q, 10, 300);            /* r 0 3 3 3000 */
	expect(q == p3, "shrinking reallocarray moved");
	p4 = memalign(64, 300);                   /* m 0 4 64 300 */
	expect(posix_memalign(&p5, 128, 400) == 0, "posix_memalign failed");
	                                          /* m 0 5 128 400 */
	p6 = aligned_alloc(256, 512);             /* m 0 6 256 512 */
	p7 = valloc(1000);                        /* m 0 7 4096 1000 */
	p8 = pvalloc(5000);                       /* m 0 8 4096 8192 */
	expect(p4 && p6 && p7 && p8, "aligned allocation failed");
	expect(((uintptr_t)p4 & 63) == 0 && ((uintptr_t)p5 & 127) == 0 &&
	       ((uintptr_t)p6 & 255) == 0 && ((uintptr_t)p7 & 4095) == 0 &&
	       ((uintptr_t)p8 & 4095) == 0, "misaligned block");
	expect(malloc_usable_size(p2) >= 200, "malloc_usable_size");

	/* Not recorded: free(NULL) and every failure. */
	free(NULL);
	errno = 0;
	expect(malloc(huge) == NULL && errno == ENOMEM, "malloc(SIZE_MAX)");
	expect(calloc(half, 4) == NULL, "calloc overflow");
	keep = p2;  /* p2 lives on after the failures below */
	expect(reallocarray(keep, half, 4) == NULL, "reallocarray overflow");
	expect(realloc(keep, huge - 4096) == NULL, "huge realloc");
	p2 = keep;
	expect(posix_memalign(&x, 3, 8) == EINVAL, "posix_memalign(3)");

	p9 = realloc(NULL, 33);                   /* r 0 0 9 33 */
	expect(p9 != NULL, "realloc(NULL, 33)");
	expect(realloc(p9, 0) == NULL, "realloc(p, 0)");    /* f 0 9 */
	p10 = malloc(0);                          /* a 0 10 0 */

	free(p2);                                 /* f 0 2 */
	free(p3);                                 /* f 0 3 */
	free(p4);                                 /* f 0 4 */
	free(p5);                                 /* f 0 5 */
	free(p6);                                 /* f 0 6 */
	free(p7);                                 /* f 0 7 */
	free(p8);                                 /* f 0 8 */
	free(p10);                                /* f 0 10 */
}

/* ---- two threads, taking turns ----------------------------------------- */

static sem_t go1, go2;
static void *handed;

static void *thread1(void *arg)
{
	void *p;

	(void)arg;
	sem_wait(&go1);
	handed = malloc(1111);                    /* a 1 N 1111 */
	sem_post(&go2);
	sem_wait(&go1);
	free(handed);                             /* f 1 N+1 (made by thread 2) */
	p = calloc(3, 100);                       /* c 1 N+2 300 */
	p = realloc(p, 100);                      /* r 1 N+2 N+2 100 */
	free(p);                                  /* f 1 N+2 */
	sem_post(&go2);
	return NULL;
}

static void *thread2(void *arg)
{
	(void)arg;
	sem_wait(&go2);
	free(handed);                             /* f 2 N */
	handed = malloc(2222);                    /* a 2 N+1 2222 */
	sem_post(&go1);
	sem_wait(&go2);
	return NULL;
}

static void two_threads(void)
{
	pthread_t t1, t2;

	sem_init(&go1, 0, 0);
	sem_init(&go2, 0, 0);
	expect(pthread_create(&t1, NULL, thread1, NULL) == 0, "pthread_create");
	expect(pthread_create(&t2, NULL, thread2, NULL) == 0, "pthread_create");
	sem_post(&go1);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
}

/* ---- fork and exec ----------------------------------------------------- */

static void fork_exec(void)
{
	int status;
	pid_t pid = fork();

	expect(pid >= 0, "fork failed");
	if (pid == 0) {
		void *c = malloc(77);             /* child: a 0 1 77 */
		free(c);                          /* child: f 0 1 */
		execl("/bin/true", "/bin/true", (char *)NULL);
		die("execl /bin/true failed");
	}
	expect(waitpid(pid, &status, 0) == pid, "waitpid");
	expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
}

int main(void)
{
	single_thread();
	two_threads();
	fork_exec();
	malloc(55);       /* a 0 M 55, never freed: the trace just ends */
	return 0;
}
