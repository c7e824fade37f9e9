/*
 * event.h - one allocation event, the unit every source (trace file, Lua
 * workload, generator) hands to the engine.  Field use per kind follows the
 * trace format (../shared/reference/trace-format.md).
 */
#ifndef SIM_EVENT_H
#define SIM_EVENT_H

#include <stdint.h>

enum sim_ev_kind {
	EV_END = 0,          /* the source is exhausted */
	EV_ALLOC = 'a',      /* id, size */
	EV_CALLOC = 'c',     /* id, size (= nmemb * size), zeroed */
	EV_MEMALIGN = 'm',   /* id, align, size */
	EV_REALLOC = 'r',    /* id = OLD (0: realloc(NULL)), id2 = NEW, size */
	EV_FREE = 'f',       /* id */
	EV_GC = 'g',         /* explicit collection request */
	EV_CLOCK = 't',      /* size = nanoseconds since the start */
	EV_PHASE = 'p'       /* label names the phase from here on */
};

struct sim_event {
	uint8_t kind;        /* enum sim_ev_kind */
	uint8_t flags;       /* STRAT_NOSCAN etc. from Lua sources; 0 in traces */
	uint32_t tid;
	uint64_t id;
	uint64_t id2;
	uint64_t size;
	uint64_t align;
	const char *label;   /* EV_PHASE only; owned by the source */
};

/* Largest size a trace may carry (2^48). */
#define SIM_MAX_SIZE ((uint64_t)1 << 48)

#endif
