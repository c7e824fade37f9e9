/*
 * gl_sizes.h - the size arithmetic of glibc 2.36's malloc on x86-64
 * (glibc-malloc.md sections 1, 2 and 4): constants, request rounding, the
 * tcache, fastbin, small-bin and large-bin indices.  Pure functions, private
 * to strategies/glibc and its unit test (tests/test_glibc.c).
 */
#ifndef GL_SIZES_H
#define GL_SIZES_H

#include <stdint.h>

#define GL_SIZE_SZ        8u
#define GL_HDR            16u          /* prev_size + size */
#define GL_ALIGN          16u          /* MALLOC_ALIGNMENT */
#define GL_MASK           15u
#define GL_MINSIZE        32u
#define GL_PAGE           4096u
#define GL_TCACHE_BINS    64u          /* TCACHE_MAX_BINS */
#define GL_TCACHE_STRUCT  640u         /* sizeof(tcache_perthread_struct) */
#define GL_MAX_TCACHE_SZ  1032u        /* largest user size with a tcache bin */
#define GL_NFASTBINS      10u
#define GL_MAX_FAST_SIZE  160u         /* upper limit of mxfast */
#define GL_NBINS          128u
#define GL_MIN_LARGE      1024u        /* chunk sizes below are "small" */
#define GL_CONSOLIDATE    65536u       /* FASTBIN_CONSOLIDATION_THRESHOLD */
#define GL_DEFAULT_PAD    131072u      /* DEFAULT_TOP_PAD (malloc-machine.h) */
#define GL_DEFAULT_MMAP   131072u      /* DEFAULT_MMAP_THRESHOLD_MIN */
#define GL_DEFAULT_TRIM   131072u
#define GL_MMAP_THR_MAX   UINT64_C(33554432)   /* 4 MiB * sizeof(long) */
#define GL_HEAP_MAX       UINT64_C(67108864)   /* 2 * the above */
#define GL_HEAP_MIN       32768u
#define GL_HEAP_INFO      48u          /* sizeof(heap_info) */
#define GL_MSTATE         2200u        /* sizeof(struct malloc_state) */
#define GL_ARENA_HDR      2256u        /* heap_info + malloc_state + pad */
#define GL_MAX_ITERS      10000u       /* unsorted chunks binned per pass */
#define GL_MMAP_AS_CORE   (UINT64_C(1) << 20)   /* mmap fallback minimum */
#define GL_PTRDIFF_MAX    UINT64_C(0x7fffffffffffffff)

static inline uint64_t gl_align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static inline uint64_t gl_align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

/* request2size: n + 8 rounded up to 16, at least 32. */
static inline uint64_t gl_request2size(uint64_t n)
{
	return n + GL_SIZE_SZ + GL_MASK < GL_MINSIZE
		       ? GL_MINSIZE
		       : (n + GL_SIZE_SZ + GL_MASK) & ~(uint64_t)GL_MASK;
}

/* checked_request2size: 0 for a request beyond PTRDIFF_MAX. */
static inline uint64_t gl_checked_request2size(uint64_t n)
{
	return n > GL_PTRDIFF_MAX ? 0 : gl_request2size(n);
}

/* csize2tidx: the tcache bin of a chunk size (may be >= the bin count). */
static inline uint64_t gl_tidx(uint64_t csize)
{
	return (csize - GL_MINSIZE + GL_ALIGN - 1) / GL_ALIGN;
}

/* fastbin_index of a chunk size (32 -> 0). */
static inline unsigned gl_fastbin_index(uint64_t csize)
{
	return (unsigned)(csize >> 4) - 2;
}

/* set_max_fast: the chunk-size limit of fastbins for a mxfast setting. */
static inline uint64_t gl_max_fast(uint64_t mxfast)
{
	return mxfast == 0 ? GL_MINSIZE / 2 : (mxfast + GL_SIZE_SZ) & ~(uint64_t)GL_MASK;
}

static inline int gl_in_smallbin_range(uint64_t csize)
{
	return csize < GL_MIN_LARGE;
}

static inline unsigned gl_smallbin_index(uint64_t csize)
{
	return (unsigned)(csize >> 4);
}

/* largebin_index_64. */
static inline unsigned gl_largebin_index(uint64_t sz)
{
	if ((sz >> 6) <= 48)
		return 48 + (unsigned)(sz >> 6);
	if ((sz >> 9) <= 20)
		return 91 + (unsigned)(sz >> 9);
	if ((sz >> 12) <= 10)
		return 110 + (unsigned)(sz >> 12);
	if ((sz >> 15) <= 4)
		return 119 + (unsigned)(sz >> 15);
	if ((sz >> 18) <= 2)
		return 124 + (unsigned)(sz >> 18);
	return 126;
}

/* bin_index: the regular bin a free chunk of this size is sorted into. */
static inline unsigned gl_bin_index(uint64_t csize)
{
	return gl_in_smallbin_range(csize) ? gl_smallbin_index(csize)
					   : gl_largebin_index(csize);
}

/* The size of the mapping sysmalloc makes for a chunk of nb bytes. */
static inline uint64_t gl_mmap_size(uint64_t nb)
{
	return gl_align_up(nb + GL_SIZE_SZ, GL_PAGE);
}

#endif
