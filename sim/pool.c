/*
 * pool.c - Go's sync.Pool over workload object IDs (see pool.h).
 *
 * A deque is a ring buffer that doubles when full: head is where the owner
 * pushes and pops, tail where other Ps steal (the first item put is the
 * first stolen).
 */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

struct deque {
	uint64_t *buf;
	uint64_t cap, first, n;      /* items buf[(first + i) % cap], i < n;
	                                i = 0 is the tail, n - 1 the head */
};

struct plocal {
	uint64_t private_id;         /* 0: empty */
	struct deque shared;
};

struct pool {
	unsigned nprocs;
	struct plocal *local, *victim;
	int victim_empty;
	struct pool_stats st;
};

static int dq_push_head(struct deque *d, uint64_t id)
{
	if (d->n == d->cap) {
		uint64_t cap = d->cap ? d->cap * 2 : 8;
		uint64_t *b = malloc(cap * sizeof *b);
		if (!b)
			return -1;
		for (uint64_t i = 0; i < d->n; i++)
			b[i] = d->buf[(d->first + i) % d->cap];
		free(d->buf);
		d->buf = b;
		d->cap = cap;
		d->first = 0;
	}
	d->buf[(d->first + d->n) % d->cap] = id;
	d->n++;
	return 0;
}

static uint64_t dq_pop_head(struct deque *d)
{
	if (!d->n)
		return 0;
	d->n--;
	return d->buf[(d->first + d->n) % d->cap];
}

static uint64_t dq_pop_tail(struct deque *d)
{
	if (!d->n)
		return 0;
	uint64_t id = d->buf[d->first];
	d->first = (d->first + 1) % d->cap;
	d->n--;
	return id;
}

static struct plocal *locals_new(unsigned n)
{
	return calloc(n, sizeof(struct plocal));
}

static void locals_free(struct plocal *l, unsigned n)
{
	if (!l)
		return;
	for (unsigned i = 0; i < n; i++)
		free(l[i].shared.buf);
	free(l);
}

struct pool *pool_create(unsigned nprocs)
{
	struct pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->nprocs = nprocs ? nprocs : 1;
	p->local = locals_new(p->nprocs);
	p->victim = locals_new(p->nprocs);
	p->victim_empty = 1;
	if (!p->local || !p->victim) {
		pool_destroy(p);
		return NULL;
	}
	return p;
}

void pool_destroy(struct pool *p)
{
	if (!p)
		return;
	locals_free(p->local, p->nprocs);
	locals_free(p->victim, p->nprocs);
	free(p);
}

/* The victim part of Get (12.3 step 4). */
static uint64_t get_victim(struct pool *p, unsigned pid)
{
	if (p->victim_empty)
		return 0;
	uint64_t id = p->victim[pid].private_id;
	p->victim[pid].private_id = 0;
	for (unsigned i = 0; !id && i < p->nprocs; i++)
		id = dq_pop_tail(&p->victim[(pid + i) % p->nprocs].shared);
	if (!id)
		p->victim_empty = 1;
	return id;
}

uint64_t pool_get(struct pool *p, unsigned pid)
{
	struct plocal *l = &p->local[pid % p->nprocs];
	pid %= p->nprocs;
	p->st.gets++;
	uint64_t id = l->private_id;
	l->private_id = 0;
	if (!id)
		id = dq_pop_head(&l->shared);
	for (unsigned i = 1; !id && i < p->nprocs; i++)
		id = dq_pop_tail(&p->local[(pid + i) % p->nprocs].shared);
	if (id) {
		p->st.hits++;
		return id;
	}
	if ((id = get_victim(p, pid))) {
		p->st.hits++;
		p->st.victim_hits++;
		return id;
	}
	p->st.news++;
	return 0;
}

int pool_put(struct pool *p, unsigned pid, uint64_t id)
{
	struct plocal *l = &p->local[pid % p->nprocs];
	p->st.puts++;
	if (!l->private_id) {
		l->private_id = id;
		return 0;
	}
	return dq_push_head(&l->shared, id);
}

void pool_cleanup(struct pool *p, void (*drop)(void *ud, uint64_t id),
		  void *ud)
{
	for (unsigned i = 0; i < p->nprocs; i++) {
		struct plocal *v = &p->victim[i];
		if (v->private_id) {
			drop(ud, v->private_id);
			p->st.dropped++;
		}
		for (uint64_t id; (id = dq_pop_tail(&v->shared));) {
			drop(ud, id);
			p->st.dropped++;
		}
		v->private_id = 0;
	}
	struct plocal *t = p->victim;
	p->victim = p->local;
	p->local = t;             /* emptied above: the new primary */
	p->victim_empty = 0;
}

const struct pool_stats *pool_stats(const struct pool *p)
{
	return &p->st;
}
