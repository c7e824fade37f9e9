/*
 * fuzz.h - what the fuzz targets share.  Each tests/fuzz/fuzz_<t>.c
 * defines LLVMFuzzerTestOneInput (and may define LLVMFuzzerInitialize);
 * built with clang -fsanitize=fuzzer it is a libFuzzer binary (make fuzz),
 * linked with replay.c it replays the committed corpus as a regression
 * test (make test builds build/tests/test_fuzz_<t>).
 */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The path of an in-memory file (memfd) holding exactly data[0, n);
 * one file per slot (0..3), reused from input to input.  NULL when the
 * host cannot make one. */
const char *fuzz_file(int slot, const void *data, size_t n);

/* Registered strategy number k, modulo how many there are. */
const struct strategy_ops *fuzz_strategy(size_t k);

/* An engine for ops with its default parameters, the strategy's own check
 * every check_every events, no series and the simulated OS capped at
 * FUZZ_MAX_MAPPED; NULL (err says why) when it cannot start. */
struct engine *fuzz_engine(const struct strategy_ops *ops,
			   uint64_t check_every, struct sim_err *err);

/* Bounds for one input: the simulated OS may map at most this much, the
 * Lua state may use at most this much, and scripts get this many events
 * and instructions.  They keep every input fast and host memory small. */
#define FUZZ_MAX_MAPPED   (UINT64_C(256) << 20)
#define FUZZ_LUA_MEMORY   (UINT64_C(16) << 20)
#define FUZZ_MAX_EVENTS   20000
#define FUZZ_MAX_INSTR    2000000
#define FUZZ_MAX_INPUT    (64 << 10)

#endif
