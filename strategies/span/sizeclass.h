/*
 * sizeclass.h - Go 1.19's size classes and the request -> class mapping
 * (go-allocator.md section 4), private to strategies/span and tiny.
 *
 * The two tables are the facts of the reference (class_to_size and
 * class_to_allocnpages of Go 1.19, 67 small classes plus class 0 for large
 * objects); tests/test_span.c checks every row against
 * tests/data/go-sizeclasses.csv.  The lookup tables are built from them at
 * init: "the smallest class whose size is >= the request", which is what
 * Go's size_to_class8 / size_to_class128 hold (checked for every size).
 */
#ifndef SPAN_SIZECLASS_H
#define SPAN_SIZECLASS_H

#include <stdint.h>

#define SC_NCLASSES     68          /* class 0 = large */
#define SC_NSPANCLASSES 136         /* class << 1 | noscan */
#define SC_PAGE_SHIFT   13
#define SC_PAGE         ((uint64_t)1 << SC_PAGE_SHIFT)   /* runtime page */
#define SC_MAX_SMALL    32768u
#define SC_TINY_SIZE    16u
#define SC_TINY_CLASS   2u
#define SC_SMALL_DIV    8u
#define SC_SMALL_MAX    1024u
#define SC_LARGE_DIV    128u

/* Object bytes per class (class_to_size). */
static const uint16_t sc_size[SC_NCLASSES] = {
	0, 8, 16, 24, 32, 48, 64, 80, 96, 112,
	128, 144, 160, 176, 192, 208, 224, 240, 256, 288,
	320, 352, 384, 416, 448, 480, 512, 576, 640, 704,
	768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304,
	2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784,
	6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384,
	18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768,
};

/* Runtime pages per span of each class (class_to_allocnpages). */
static const uint8_t sc_npages[SC_NCLASSES] = {
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 2, 1, 2, 1, 2, 1, 3, 2, 3, 1, 3, 2, 3, 4, 5, 6,
	1, 7, 6, 5, 4, 3, 5, 7, 2, 9, 7, 5, 8, 3, 10, 7, 4,
};

/* The lookup tables (Go's size_to_class8 and size_to_class128) and each
 * class's divMul (Go's class_to_divmagic: an object's index in its span is
 * its offset times divMul, shifted right 32, with no division; 0 for class
 * 0, whose spans hold one object). */
struct sc_tables {
	uint8_t by8[SC_SMALL_MAX / SC_SMALL_DIV + 1];
	uint8_t by128[(SC_MAX_SMALL - SC_SMALL_MAX) / SC_LARGE_DIV + 1];
	uint32_t divmul[SC_NCLASSES];
};

/* The smallest class whose size is >= size (1 <= size <= 32768). */
static inline unsigned sc_class_search(uint64_t size)
{
	unsigned lo = 1, hi = SC_NCLASSES - 1;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (sc_size[mid] >= size)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static inline void sc_tables_init(struct sc_tables *t)
{
	for (unsigned i = 0; i < sizeof t->by8; i++)
		t->by8[i] = (uint8_t)sc_class_search(i ? i * SC_SMALL_DIV : 1);
	for (unsigned i = 0; i < sizeof t->by128; i++)
		t->by128[i] = (uint8_t)sc_class_search(SC_SMALL_MAX +
						       i * SC_LARGE_DIV);
	t->divmul[0] = 0;
	for (unsigned c = 1; c < SC_NCLASSES; c++)
		t->divmul[c] = UINT32_MAX / sc_size[c] + 1;
}

/* The index of the object at byte offset off of a span of class c
 * (off < the span's bytes; tests/test_span.c checks every offset). */
static inline uint64_t sc_index(const struct sc_tables *t, unsigned c,
				uint64_t off)
{
	return off * t->divmul[c] >> 32;
}

/* Class of a small request (1 <= size <= 32768), as Go maps it (4.1). */
static inline unsigned sc_class_of(const struct sc_tables *t, uint64_t size)
{
	if (size <= SC_SMALL_MAX - 8)
		return t->by8[(size + SC_SMALL_DIV - 1) / SC_SMALL_DIV];
	return t->by128[(size - SC_SMALL_MAX + SC_LARGE_DIV - 1) / SC_LARGE_DIV];
}

/* Objects per span of class c (c >= 1). */
static inline unsigned sc_nelems(unsigned c)
{
	return (unsigned)(sc_npages[c] * SC_PAGE / sc_size[c]);
}

#endif
