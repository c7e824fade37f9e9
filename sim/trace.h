/*
 * trace.h - reading and writing allocation traces.
 *
 * Formats: the text format of reference/trace-format.md, plain or gzip,
 * and a compact binary form that converts losslessly both ways.  Readers
 * detect the format from the first bytes, stream the file (memory beyond
 * the live-ID set is constant) and validate every line: an error names the
 * file, the line (for binary: the record number) and the field, as
 * "FILE:LINE: message".
 */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "event.h"

enum trace_format { TRACE_TEXT = 0, TRACE_GZIP = 1, TRACE_BINARY = 2 };

struct trace_reader;

/* Open path for reading (format detected).  SIM_OK and *out, or SIM_EIO
 * (cannot open: "FILE: reason") / SIM_ETRACE (bad header). */
int trace_open(const char *path, struct trace_reader **out,
	       struct sim_err *err);

/* Read the next event into ev; at the end ev->kind is EV_END.  SIM_OK, or
 * SIM_ETRACE / SIM_EIO with "FILE:LINE: message". */
int trace_next(struct trace_reader *r, struct sim_event *ev,
	       struct sim_err *err);

/* Line (text) or record (binary) number of the last event read. */
uint64_t trace_line(const struct trace_reader *r);
enum trace_format trace_reader_format(const struct trace_reader *r);
/* Value of a "# key: value" header comment, or NULL. */
const char *trace_meta(const struct trace_reader *r, const char *key);
/* The header's "# key: value" lines in file order: count, key, value. */
size_t trace_meta_count(const struct trace_reader *r);
const char *trace_meta_key(const struct trace_reader *r, size_t i);
const char *trace_meta_value(const struct trace_reader *r, size_t i);
void trace_close(struct trace_reader *r);

struct trace_writer;

/* Create path (written to a temporary name, renamed on trace_writer_close)
 * in the given format.  SIM_OK and *out, or SIM_EIO. */
int trace_writer_open(const char *path, enum trace_format fmt,
		      struct trace_writer **out, struct sim_err *err);
/* Add a "# key: value" header line; only before the first event. */
int trace_write_meta(struct trace_writer *w, const char *key,
		     const char *value, struct sim_err *err);
int trace_write(struct trace_writer *w, const struct sim_event *ev,
		struct sim_err *err);
/* Flush, close and rename into place.  On error the temporary is removed. */
int trace_writer_close(struct trace_writer *w, struct sim_err *err);
/* Discard a writer: close and remove the temporary. */
void trace_writer_abort(struct trace_writer *w);

/* Statistics of a whole trace, as `allocsim trace check` prints them. */
#define TRACE_HIST_BUCKETS 49   /* sizes by power of two: [2^k, 2^(k+1)) */
struct trace_stats {
	uint64_t events, by_kind[256];
	uint64_t threads;              /* distinct TIDs */
	uint64_t live_objects, peak_live_objects;
	uint64_t live_bytes, peak_live_bytes, total_bytes;
	uint64_t size_hist[TRACE_HIST_BUCKETS + 1];  /* last: size 0 */
	uint64_t last_ns;
};

/* Read the whole trace, validating it, and fill st.  SIM_OK or the first
 * error. */
int trace_check(const char *path, struct trace_stats *st, struct sim_err *err);

/* Copy a trace into another format.  SIM_OK or the first error; on error
 * no output file is left behind. */
int trace_convert(const char *in, const char *out, enum trace_format fmt,
		  struct sim_err *err);

/* Format from a file name: .bin/.atb -> binary, .gz -> gzip, else text. */
enum trace_format trace_format_for_path(const char *path);

#endif
