/*
 * shadow.h - the shadow heap checker (--check).  It keeps every live block
 * the strategy handed out in an address-ordered set and checks, for every
 * new block: aligned as asked, at least the requested size, inside memory
 * the strategy mapped read/write, overlapping no live block.
 */
#ifndef SIM_SHADOW_H
#define SIM_SHADOW_H

#include <stdint.h>

#include "err.h"
#include "simos.h"

struct shadow;

/* A new empty checker, or NULL when out of host memory. */
struct shadow *shadow_create(void);
void shadow_destroy(struct shadow *sh);

/* Check a block the strategy just returned and add it.  SIM_OK, or
 * SIM_ECHECK with err describing the violated rule. */
int shadow_add(struct shadow *sh, const struct simos *os, uint64_t addr,
	       uint64_t size, uint64_t usable, uint64_t align,
	       struct sim_err *err);

/* Remove the block at addr.  SIM_OK, or SIM_ECHECK when there is none. */
int shadow_remove(struct shadow *sh, uint64_t addr, struct sim_err *err);

/* Number of live blocks. */
uint64_t shadow_count(const struct shadow *sh);

#endif
