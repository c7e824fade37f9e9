/*
 * registry.c - the explicit table of in-tree strategies, found by name.
 * The first entry is the default.  tests/test_registry.c checks that every
 * folder under strategies/ (but common/) is listed here and vice versa.
 */
#include <stddef.h>

#include "strategy.h"

extern const struct strategy_ops strategy_bump;
extern const struct strategy_ops strategy_firstfit;
extern const struct strategy_ops strategy_bestfit;
extern const struct strategy_ops strategy_buddy;
extern const struct strategy_ops strategy_span;
extern const struct strategy_ops strategy_tiny;
extern const struct strategy_ops strategy_glibc;

const struct strategy_ops *const strategy_registry[] = {
	&strategy_bump,
	&strategy_firstfit,
	&strategy_bestfit,
	&strategy_buddy,
	&strategy_span,
	&strategy_tiny,
	&strategy_glibc,
	NULL
};
