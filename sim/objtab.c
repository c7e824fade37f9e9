/*
 * objtab.c - object table (see objtab.h): linear probing with a
 * multiplicative hash, backward-shift deletion so there are no tombstones,
 * doubling at 70 % load; it never shrinks (see objtab_remove).
 */
#include "objtab.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CAP 1024

static uint64_t slot_of(const struct objtab *t, uint64_t id)
{
	return objtab_home(t, id);
}

static int alloc_slots(struct objtab *t, uint64_t cap)
{
	t->slots = calloc(cap, sizeof *t->slots);
	if (!t->slots)
		return -1;
	t->mask = cap - 1;
	t->shift = 64 - (unsigned)__builtin_ctzll(cap);
	return 0;
}

int objtab_init(struct objtab *t)
{
	t->count = 0;
	return alloc_slots(t, MIN_CAP);
}

void objtab_free(struct objtab *t)
{
	free(t->slots);
	t->slots = NULL;
}

struct obj *objtab_find(const struct objtab *t, uint64_t id)
{
	for (uint64_t i = slot_of(t, id);; i = (i + 1) & t->mask) {
		struct obj *o = &t->slots[i];
		if (o->id == id)
			return o;
		if (o->id == 0)
			return NULL;
	}
}

/* Place o in a table known to have room and not to hold o->id. */
static struct obj *place(struct objtab *t, const struct obj *o)
{
	uint64_t i = slot_of(t, o->id);
	while (t->slots[i].id)
		i = (i + 1) & t->mask;
	t->slots[i] = *o;
	return &t->slots[i];
}

static int resize(struct objtab *t, uint64_t cap)
{
	struct obj *old = t->slots;
	uint64_t oldcap = t->mask + 1;
	if (alloc_slots(t, cap) != 0) {
		t->slots = old;
		return -1;
	}
	for (uint64_t i = 0; i < oldcap; i++)
		if (old[i].id)
			place(t, &old[i]);
	free(old);
	return 0;
}

struct obj *objtab_insert(struct objtab *t, uint64_t id)
{
	if ((t->count + 1) * 10 > (t->mask + 1) * 7 &&
	    resize(t, (t->mask + 1) * 2) != 0)
		return NULL;
	struct obj o = {.id = id};
	t->count++;
	return place(t, &o);
}

void objtab_remove(struct objtab *t, uint64_t id)
{
	uint64_t i = slot_of(t, id);
	while (t->slots[i].id != id)
		i = (i + 1) & t->mask;
	/* Backward shift: pull later members of the probe run into the hole. */
	for (uint64_t j = (i + 1) & t->mask; t->slots[j].id; j = (j + 1) & t->mask) {
		uint64_t home = slot_of(t, t->slots[j].id);
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].id = 0;
	t->count--;
	/* The table never shrinks: it stays sized to the peak live set, which
	 * bounds it anyway, and a workload whose live set swings (a program
	 * that builds and drops big structures) would otherwise pay for
	 * rehashing and fresh pages at every swing. */
}

uint64_t objtab_host_bytes(const struct objtab *t)
{
	return (t->mask + 1) * sizeof(struct obj);
}
