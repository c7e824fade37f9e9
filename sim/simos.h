/*
 * simos.h - the simulated operating system: a deterministic x86-64
 * Linux-like address space that allocator strategies get memory from.
 *
 * Contract, stated once: every address and length passed to a call here
 * must be a multiple of SIMOS_PAGE_SIZE (4 KiB), except simos_touch, which
 * takes any byte range and marks the pages it covers.  Addresses are
 * simulated 64-bit integers; nothing here ever dereferences them.
 *
 * Each page is unmapped, reserved (mapped PROT_NONE), mapped read/write but
 * not resident, or resident.  A page becomes resident when someone writes it
 * (simos_touch) and stops being resident on munmap, madvise(DONTNEED), a brk
 * shrink, or mprotect to PROT_NONE.  A read/write page that was given back
 * with madvise(DONTNEED) and not written since counts as "released".
 *   heap bytes     = read/write mapped bytes - released bytes
 *   rss bytes      = resident bytes
 * State is one bit per page per property, in 1 GiB regions allocated on first
 * use, so multi-GiB simulated heaps stay cheap.
 *
 * Layout (fixed, no randomisation): the program break starts at brk_base and
 * grows up; mmap without a usable hint places mappings top-down below
 * mmap_base, taking the highest gap that fits, as Linux's default layout does.
 *
 * The simulated OS counts every call and byte per call kind, and charges a
 * simulated cost in nanoseconds for calls and page faults, which the engine
 * adds to its clock.  An optional memory limit (cgroup memory.max) makes the
 * first write that would push RSS past it an OOM kill: the write returns
 * SIM_EOOM and simos_oom_killed() stays true.  A fault plan makes chosen
 * calls fail with SIM_ENOMEM, to test strategies' out-of-memory paths.
 */
#ifndef SIM_SIMOS_H
#define SIM_SIMOS_H

#include <stdint.h>

#include "err.h"

#define SIMOS_PAGE_SHIFT 12
#define SIMOS_PAGE_SIZE  ((uint64_t)1 << SIMOS_PAGE_SHIFT)

/* Default layout of a non-randomised x86-64 PIE process. */
#define SIMOS_BRK_BASE   UINT64_C(0x0000555555560000)
#define SIMOS_MMAP_BASE  UINT64_C(0x00007ffff7fc0000)
#define SIMOS_MMAP_MIN   UINT64_C(0x0000000000010000)

enum simos_prot { SIMOS_PROT_NONE = 0, SIMOS_PROT_RW = 1 };

/* mmap flags. */
#define SIMOS_MAP_FIXED 1u   /* place exactly at hint, replacing what is there */

/* Call kinds, counted separately. */
#define SIMOS_CALLS(X) X(mmap) X(munmap) X(mprotect) X(madvise) X(brk) X(mremap)
enum simos_call {
#define SIMOS_CALL_ENUM(n) SIMOS_CALL_##n,
	SIMOS_CALLS(SIMOS_CALL_ENUM)
#undef SIMOS_CALL_ENUM
	SIMOS_NCALLS
};

/* A fault plan: make chosen calls fail with SIM_ENOMEM.  Zero fields are off.
 * fail_nth_* counts calls of that kind from 1; fail_every_* fails every Nth. */
struct simos_faults {
	uint64_t fail_nth_mmap, fail_nth_brk, fail_nth_madvise, fail_nth_mremap;
	uint64_t fail_every_mmap, fail_every_brk;
	uint64_t max_mapped_bytes;   /* cap on all mapped bytes, like RLIMIT_AS */
};

/* Set one field of a fault plan by name: "mmap", "brk", "madvise",
 * "mremap" (fail the Nth call of that kind), "every_mmap", "every_brk"
 * (fail every Nth), "max_mapped" (cap in bytes); '-' may stand for '_'.
 * value must be >= 1.  SIM_OK, or SIM_EINVAL ("NAME must be at least 1",
 * "unknown fault 'NAME' (known: ...)"). */
int simos_fault_set(struct simos_faults *f, const char *name, uint64_t value,
		    struct sim_err *err);

struct simos_config {
	uint64_t brk_base;       /* 0 = SIMOS_BRK_BASE */
	uint64_t mmap_base;      /* 0 = SIMOS_MMAP_BASE: top of the mmap area */
	uint64_t mmap_min;       /* 0 = SIMOS_MMAP_MIN: lowest mmap address */
	uint64_t memory_max;     /* resident-byte limit (memory.max); 0 = none */
	uint64_t syscall_ns;     /* simulated cost of one call */
	uint64_t fault_ns;       /* simulated cost of one page made resident */
	struct simos_faults faults;
};

struct simos_counts {
	uint64_t calls[SIMOS_NCALLS];
	uint64_t bytes[SIMOS_NCALLS];
	uint64_t failed[SIMOS_NCALLS];   /* calls that returned an error */
	uint64_t page_faults;            /* pages made resident by writes */
};

struct simos;

/* Fill cfg with the defaults (fixed layout, no limit, 1 us per call,
 * 0.25 us per page fault, no faults). */
void simos_config_default(struct simos_config *cfg);

/* Create an empty address space.  Returns SIM_OK and *out, or SIM_ENOMEM
 * (host memory) / SIM_EINVAL (inconsistent layout) with err filled. */
int simos_create(const struct simos_config *cfg, struct simos **out,
		 struct sim_err *err);

/* Free the address space and all its bookkeeping.  NULL is fine. */
void simos_destroy(struct simos *os);

/* Map len bytes with prot.  Without SIMOS_MAP_FIXED, hint is used when the
 * whole range there is free, otherwise the highest free gap below mmap_base.
 * With SIMOS_MAP_FIXED, exactly [hint, hint+len) is mapped, replacing any
 * mapping there.  Returns SIM_OK and *addr, or SIM_ENOMEM (no room, fault
 * plan, mapped-bytes cap) / SIM_EINVAL (unaligned, zero length). */
int simos_mmap(struct simos *os, uint64_t hint, uint64_t len, int prot,
	       unsigned flags, uint64_t *addr);

/* Unmap [addr, addr+len); unmapped holes inside are allowed (as in Linux).
 * Returns SIM_OK or SIM_EINVAL (unaligned, zero length). */
int simos_munmap(struct simos *os, uint64_t addr, uint64_t len);

/* Change the protection of mapped pages.  PROT_NONE drops residency.
 * Returns SIM_OK, SIM_EINVAL (unaligned) or SIM_ENOMEM (part not mapped). */
int simos_mprotect(struct simos *os, uint64_t addr, uint64_t len, int prot);

/* madvise(MADV_DONTNEED): resident pages in the range stop being resident,
 * read/write pages count as released until written again.  Returns SIM_OK,
 * SIM_EINVAL (unaligned) or SIM_ENOMEM (part not mapped, fault plan). */
int simos_madvise_dontneed(struct simos *os, uint64_t addr, uint64_t len);

/* mremap: resize the read/write mapping [old, old+oldlen) to newlen, in
 * place when the pages after it are free (or when shrinking), otherwise,
 * when may_move, by moving it (residency moves with it, as page tables do).
 * Returns SIM_OK and *newaddr, SIM_ENOMEM (cannot grow, fault plan) or
 * SIM_EINVAL (unaligned or not one read/write mapping). */
int simos_mremap(struct simos *os, uint64_t old, uint64_t oldlen,
		 uint64_t newlen, int may_move, uint64_t *newaddr);

/* sbrk(incr): move the program break by incr bytes (page multiple, may be
 * negative) and return the old break in *old_brk.  Growth fails with
 * SIM_ENOMEM when it would run into a mapping or the fault plan says so.
 * Shrinking releases the pages above the new break.  incr == 0 only reads
 * the break and is not a system call. */
int simos_sbrk(struct simos *os, int64_t incr, uint64_t *old_brk);

/* The current program break. */
uint64_t simos_brk_current(const struct simos *os);
uint64_t simos_brk_base(const struct simos *os);

/* A write to [addr, addr+len) (any byte range): every page it covers becomes
 * resident.  Returns SIM_OK, SIM_EOOM when the memory limit is breached (the
 * process is OOM-killed; the pages are still marked), or SIM_ECHECK when a
 * page is not mapped read/write (a segfault in a real process).  err may
 * be NULL (sim_err_set allows it) for a caller that wants only the code. */
int simos_touch(struct simos *os, uint64_t addr, uint64_t len,
		struct sim_err *err);

/* The hot range: the pages of the last write that found them resident or
 * made them so, as bytes [lo, hi), and the meter version (below) then.
 * Every page bit change moves the version, so while it stands still a
 * write inside the range changes nothing - span's write of a block it has
 * just zeroed, the next small object on a page - and need not call
 * simos_touch.  The pointer stays valid for the address space's life, so a
 * caller can test a write inline (simos_hot_write); simos_touch itself does
 * not (the engine tests before calling, and strategies' writes seldom
 * land in the range). */
struct simos_hot {
	uint64_t lo, hi, version;
};
const struct simos_hot *simos_hot(const struct simos *os);

/* A write of [addr, addr+len) that changes nothing by the hot range h, the
 * address space's meter version being version (no overflow: len <= hi -
 * addr). */
static inline int simos_hot_write(const struct simos_hot *h, uint64_t version,
				  uint64_t addr, uint64_t len)
{
	return addr - h->lo < h->hi - h->lo && len <= h->hi - addr &&
	       h->version == version;
}

/* 1 when every page of [addr, addr+len) is mapped read/write. */
int simos_is_rw(const struct simos *os, uint64_t addr, uint64_t len);

/* Gauges, in bytes. */
uint64_t simos_rss_bytes(const struct simos *os);
uint64_t simos_rw_bytes(const struct simos *os);        /* mapped read/write */
uint64_t simos_reserved_bytes(const struct simos *os);  /* mapped PROT_NONE */
uint64_t simos_released_bytes(const struct simos *os);
uint64_t simos_heap_bytes(const struct simos *os);      /* rw - released */
uint64_t simos_peak_rss_bytes(const struct simos *os);

/* What the engine reads after every event, in one call. */
struct simos_meter {
	uint64_t heap_bytes, rss_bytes, released_bytes;
	uint64_t cost_ns;
	int oom_killed;
};
void simos_read_meter(const struct simos *os, struct simos_meter *m);
/* A number that changes whenever what simos_read_meter reads may have
 * changed (page bits, cost, the OOM flag): a reader that kept the last
 * one it saw skips the call while the number stands.  The pointer stays
 * valid for the address space's life. */
const uint64_t *simos_meter_version(const struct simos *os);

/* Counters, the accumulated simulated cost and the OOM flag. */
const struct simos_counts *simos_counts(const struct simos *os);
uint64_t simos_cost_ns(const struct simos *os);
int simos_oom_killed(const struct simos *os);

/* Replace the fault plan of a running address space.  Nth-call and
 * every-Nth counts start again from this call (the next mmap is number 1);
 * the mapped-bytes cap applies to mappings made from now on. */
void simos_set_faults(struct simos *os, const struct simos_faults *f);

/* Number of distinct mappings (VMAs), and the name of a call kind. */
uint64_t simos_mapping_count(const struct simos *os);
const char *simos_call_name(int call);

#endif
