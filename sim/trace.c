/*
 * trace.c - reading, validating and writing allocation traces (trace.h).
 *
 * Three forms carry the same content: the text format of
 * reference/trace-format.md, the same text gzip-compressed, and a compact
 * binary form described below.  Every reader goes through zlib's gzread,
 * which reads plain files transparently, in 1 MiB blocks; the format is
 * told by the first bytes (gzip magic, then the binary magic in the
 * decompressed stream), never by the file name.  Text lines are parsed by
 * hand on a fast path that accepts only well-formed lines; anything else
 * goes to a slow path that splits the line into fields and says exactly
 * which field is wrong.  Both forms then pass through one validator
 * (struct track) that keeps the set of live IDs as a bitset indexed by ID,
 * so memory grows with the number of IDs, not of events.  Writers run
 * every event through the same validator, so whatever they write reads
 * back, and they write to "PATH.tmp.<pid>", renamed into place on close.
 *
 * Binary form, version 1 (all integers are LEB128 varints):
 *   "ATRB\x01" magic, a version byte (1), the metadata count, then per
 *   entry the key length, key bytes, value length, value bytes;
 *   then records, each a kind byte followed by its fields:
 *     low nibble  1 a, 2 c, 3 m, 4 r, 5 f, 6 g, 7 t; 0 is the end record
 *     0x10        same TID as the previous record (TID omitted; 0 at first)
 *     0x20 (r)    OLD is 0: realloc(NULL)           (no OLD field)
 *     0x40 (r)    in place: NEW == OLD
 *   a, c: [TID] SIZE      m: [TID] log2(ALIGN) SIZE     g: [TID]
 *   r: [TID] [OLD] SIZE   f: [TID] ID                   t: NS - previous NS
 *   end: the number of event records; nothing may follow it.
 *   A new ID is always the next unused one, so it is never stored; an ID
 *   that is referenced (OLD, freed ID) is stored as the zigzag-encoded
 *   difference from the last ID an event named.  Comments other than the
 *   "# key: value" metadata at the top have no binary form and are dropped,
 *   as they are by any conversion; a canonical text file (header, metadata,
 *   events, no other comments) survives text -> binary -> text byte for
 *   byte.  Binary errors name the record number (1 = first record; 0 = the
 *   file header) where text errors name the line.
 */
#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ---- formats, kinds and fields ------------------------------------------ */

#define BLOCK (1u << 20)        /* read block; writer buffer */
#define GZ_BUF (256u << 10)     /* zlib's own buffers */
#define WR_ROOM 128             /* bytes one event needs in the writer buffer */
#define BIN_MAXREC 64           /* a binary record is never longer */
#define SLACK 8                 /* readable bytes past the buffer's end */
#define META_KEY_MAX 255
#define META_VAL_MAX 65535
#define META_MAX 4096           /* metadata entries in a binary header */

static const char HEADER[] = "# allocsim-trace v1";
static const char BIN_MAGIC[5] = { 'A', 'T', 'R', 'B', 1 };
#define BIN_VERSION 1

enum { BK_END, BK_ALLOC, BK_CALLOC, BK_MEMALIGN, BK_REALLOC, BK_FREE, BK_GC,
       BK_CLOCK, BK_COUNT };
#define BF_TID 0x10
#define BF_RNULL 0x20
#define BF_INPLACE 0x40

struct kind_info {
	uint8_t kind;           /* enum sim_ev_kind */
	uint8_t nf;             /* text fields after the letter */
	uint8_t bin_flags;      /* flag bits allowed in the binary kind byte */
	const char *fields[4];
	const char *usage;
};

/* Indexed by binary kind code. */
static const struct kind_info kinds[BK_COUNT] = {
	[BK_END] = { EV_END, 0, 0, { 0 }, "" },
	[BK_ALLOC] = { EV_ALLOC, 3, BF_TID, { "TID", "ID", "SIZE" },
		       "TID ID SIZE" },
	[BK_CALLOC] = { EV_CALLOC, 3, BF_TID, { "TID", "ID", "SIZE" },
			"TID ID SIZE" },
	[BK_MEMALIGN] = { EV_MEMALIGN, 4, BF_TID,
			  { "TID", "ID", "ALIGN", "SIZE" },
			  "TID ID ALIGN SIZE" },
	[BK_REALLOC] = { EV_REALLOC, 4, BF_TID | BF_RNULL | BF_INPLACE,
			 { "TID", "OLD", "NEW", "SIZE" }, "TID OLD NEW SIZE" },
	[BK_FREE] = { EV_FREE, 2, BF_TID, { "TID", "ID" }, "TID ID" },
	[BK_GC] = { EV_GC, 1, BF_TID, { "TID" }, "TID" },
	[BK_CLOCK] = { EV_CLOCK, 1, 0, { "NS" }, "NS" },
};

static const uint8_t code_of[256] = {
	['a'] = BK_ALLOC, ['c'] = BK_CALLOC, ['m'] = BK_MEMALIGN,
	['r'] = BK_REALLOC, ['f'] = BK_FREE, ['g'] = BK_GC, ['t'] = BK_CLOCK,
};

/* Table entry for an event letter, or NULL. */
static const struct kind_info *kind_of(unsigned char letter)
{
	return code_of[letter] ? &kinds[code_of[letter]] : NULL;
}

/* Set every field of ev from the text-order values v (see event_fields). */
static void fill_event(struct sim_event *ev, uint8_t kind, const uint64_t *v)
{
	ev->kind = kind;
	ev->flags = 0;
	ev->tid = kind == EV_CLOCK ? 0 : (uint32_t)v[0];
	ev->id = kind == EV_CLOCK || kind == EV_GC ? 0 : v[1];
	ev->id2 = kind == EV_REALLOC ? v[2] : 0;
	ev->align = kind == EV_MEMALIGN ? v[2] : 0;
	ev->label = NULL;
	switch (kind) {
	case EV_CLOCK: ev->size = v[0]; break;
	case EV_ALLOC: case EV_CALLOC: ev->size = v[2]; break;
	case EV_MEMALIGN: case EV_REALLOC: ev->size = v[3]; break;
	default: ev->size = 0;
	}
}

/* The numeric fields of ev in text order; returns their count. */
static unsigned event_fields(const struct sim_event *ev, uint64_t *v)
{
	v[0] = ev->tid;
	v[1] = ev->id;
	switch (ev->kind) {
	case EV_CLOCK: v[0] = ev->size; return 1;
	case EV_GC: return 1;
	case EV_FREE: return 2;
	case EV_MEMALIGN: v[2] = ev->align; v[3] = ev->size; return 4;
	case EV_REALLOC: v[2] = ev->id2; v[3] = ev->size; return 4;
	default: v[2] = ev->size; return 3;
	}
}

static int has_tid(uint8_t kind)
{
	return kind != EV_CLOCK && kind != EV_END;
}

/* ---- live-ID tracking, shared by readers and writers -------------------- */

struct track {
	uint64_t *live;         /* bit i set: ID i is live */
	size_t words;
	uint64_t next_id;       /* the next unused ID (IDs start at 1) */
	uint64_t last_ns;
};

enum viol { V_OK, V_NOMEM, V_DEAD, V_NEXT, V_SIZE, V_ALIGN, V_CLOCK, V_KIND };

/* ID 0 is never live (and before the first birth there is no bitset). */
static int is_live(const struct track *t, uint64_t id)
{
	return id && id < t->next_id && (t->live[id >> 6] >> (id & 63) & 1);
}

/* Make the next unused ID live. */
static enum viol track_born(struct track *t)
{
	uint64_t id = t->next_id;
	if ((id >> 6) >= t->words) {
		size_t nw = t->words ? t->words * 2 : 1024;
		uint64_t *nl = realloc(t->live, nw * sizeof *nl);
		if (!nl)
			return V_NOMEM;
		memset(nl + t->words, 0, (nw - t->words) * sizeof *nl);
		t->live = nl;
		t->words = nw;
	}
	t->live[id >> 6] |= (uint64_t)1 << (id & 63);
	t->next_id++;
	return V_OK;
}

static void track_kill(struct track *t, uint64_t id)
{
	t->live[id >> 6] &= ~((uint64_t)1 << (id & 63));
}

static enum viol track_realloc(struct track *t, const struct sim_event *ev)
{
	if (ev->id != 0 && !is_live(t, ev->id))
		return V_DEAD;
	if (ev->id != 0 && ev->id2 == ev->id)
		return ev->size > SIM_MAX_SIZE ? V_SIZE : V_OK;
	if (ev->id2 != t->next_id)
		return V_NEXT;
	if (ev->size > SIM_MAX_SIZE)
		return V_SIZE;
	if (ev->id != 0)
		track_kill(t, ev->id);
	return track_born(t);
}

/* Check ev against the state and apply it.  V_OK, or what is wrong (the
 * state is then unchanged).  Checks run in field order. */
static enum viol track_apply(struct track *t, const struct sim_event *ev)
{
	switch (ev->kind) {
	case EV_ALLOC: case EV_CALLOC: case EV_MEMALIGN:
		if (ev->id != t->next_id)
			return V_NEXT;
		if (ev->kind == EV_MEMALIGN &&
		    (ev->align == 0 || (ev->align & (ev->align - 1))))
			return V_ALIGN;
		if (ev->size > SIM_MAX_SIZE)
			return V_SIZE;
		return track_born(t);
	case EV_REALLOC:
		return track_realloc(t, ev);
	case EV_FREE:
		if (!is_live(t, ev->id))
			return V_DEAD;
		track_kill(t, ev->id);
		return V_OK;
	case EV_GC:
		return V_OK;
	case EV_CLOCK:
		if (ev->size < t->last_ns)
			return V_CLOCK;
		t->last_ns = ev->size;
		return V_OK;
	}
	return V_KIND;
}

/* Describe a violation of ev (state as before ev) into buf. */
static void describe(char *buf, size_t n, enum viol v,
		     const struct sim_event *ev, const struct track *t)
{
	int r = ev->kind == EV_REALLOC;
	switch (v) {
	case V_DEAD:
		snprintf(buf, n, "field %s: double free or unknown ID %" PRIu64,
			 r ? "OLD" : "ID", ev->id);
		break;
	case V_NEXT:
		snprintf(buf, n, "field %s: ID %" PRIu64
			 " is not the next unused ID %" PRIu64,
			 r ? "NEW" : "ID", r ? ev->id2 : ev->id, t->next_id);
		break;
	case V_SIZE:
		snprintf(buf, n, "field SIZE: size %" PRIu64
			 " is beyond 2^48", ev->size);
		break;
	case V_ALIGN:
		snprintf(buf, n, "field ALIGN: alignment %" PRIu64
			 " is not a power of two", ev->align);
		break;
	case V_CLOCK:
		snprintf(buf, n, "field NS: clock goes backwards (%" PRIu64
			 " after %" PRIu64 ")", ev->size, t->last_ns);
		break;
	case V_KIND:
		snprintf(buf, n, "event kind %d has no trace form", ev->kind);
		break;
	default:
		snprintf(buf, n, "out of memory");
	}
}

/* ---- metadata ----------------------------------------------------------- */

struct meta {
	char *key, *val;
};

struct meta_list {
	struct meta *v;
	size_t n, cap;
};

/* A metadata key: 1..255 of [A-Za-z0-9_.-]. */
static int meta_key_ok(const char *k, size_t n)
{
	if (n == 0 || n > META_KEY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

/* A metadata value: up to 65535 bytes, no newline, CR or NUL. */
static int meta_val_ok(const char *v, size_t n)
{
	return n <= META_VAL_MAX && !memchr(v, '\n', n) &&
	       !memchr(v, '\r', n) && !memchr(v, '\0', n);
}

static char *memdup0(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Append a copy of key/value.  0, or -1 when out of memory. */
static int meta_add(struct meta_list *m, const char *k, size_t kl,
		    const char *v, size_t vl)
{
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 8;
		struct meta *nv = realloc(m->v, nc * sizeof *nv);
		if (!nv)
			return -1;
		m->v = nv;
		m->cap = nc;
	}
	struct meta *e = &m->v[m->n];
	e->key = memdup0(k, kl);
	e->val = memdup0(v, vl);
	if (!e->key || !e->val) {
		free(e->key);
		free(e->val);
		return -1;
	}
	m->n++;
	return 0;
}

static void meta_free(struct meta_list *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].val);
	}
	free(m->v);
}

/* ---- reader: block input ------------------------------------------------ */

struct trace_reader {
	gzFile gz;
	char *path;
	enum trace_format fmt;
	char *buf;              /* BLOCK bytes, then SLACK for a final newline
				 * and for uvar's 8-byte loads */
	char *pos, *end;        /* unread input */
	char *lim;              /* text: one past the last newline in buf */
	int eof;                /* gzread has reported the end */
	int done;               /* binary: the end record was read */
	int failed;             /* an error was reported: stop */
	uint64_t line;          /* lines (records) consumed */
	uint64_t ev_line;       /* line (record) of the last event */
	struct meta_list meta;
	struct track tk;
	uint32_t last_tid;      /* binary: TID of the previous record */
	uint64_t last_ref;      /* binary: the last ID an event named */
};

/* Report a zlib or I/O error of r, if there is one. */
static int rd_gzerror(struct trace_reader *r, struct sim_err *err)
{
	int errnum = Z_OK;
	const char *msg = gzerror(r->gz, &errnum);
	if (errnum == Z_OK)
		return SIM_OK;
	if (errnum == Z_ERRNO)
		return SIM_ERR(err, SIM_EIO, "%s:%" PRIu64 ": %s", r->path,
			       r->line + 1, strerror(errno));
	size_t n = strlen(r->path);   /* zlib says "PATH: what" */
	if (strncmp(msg, r->path, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
		msg += n + 2;
	return SIM_ERR(err, SIM_ETRACE, "%s:%" PRIu64
		       ": corrupt or truncated gzip data (%s)", r->path,
		       r->line + 1, msg);
}

/* Move the unread tail to the front of the buffer and read more after it
 * (the buffer must not be full).  SIM_OK, setting r->eof at the end. */
static int rd_refill(struct trace_reader *r, struct sim_err *err)
{
	size_t tail = (size_t)(r->end - r->pos);
	memmove(r->buf, r->pos, tail);
	r->pos = r->lim = r->buf;
	r->end = r->buf + tail;
	int n = gzread(r->gz, r->end, (unsigned)(BLOCK - tail));
	if (n <= 0) {
		int rc = rd_gzerror(r, err);
		if (rc != SIM_OK)
			return rc;
		if (n < 0)
			return SIM_ERR(err, SIM_EIO, "%s: read failed",
				       r->path);
		r->eof = 1;
		return SIM_OK;
	}
	r->end += n;
	return SIM_OK;
}

/* Read until n bytes are buffered or the input ends.  SIM_OK or error. */
static int rd_need(struct trace_reader *r, size_t n, struct sim_err *err)
{
	while ((size_t)(r->end - r->pos) < n && !r->eof) {
		int rc = rd_refill(r, err);
		if (rc != SIM_OK)
			return rc;
	}
	return SIM_OK;
}

/* Fail with "FILE:LINE: message" at the current line (record). */
static int rd_fail(struct trace_reader *r, struct sim_err *err,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int rd_fail(struct trace_reader *r, struct sim_err *err,
		   const char *fmt, ...)
{
	char what[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return SIM_ERR(err, SIM_ETRACE, "%s:%" PRIu64 ": %s", r->path, r->line,
		       what);
}

/* Validate and apply ev, the event just read. */
static int rd_validate(struct trace_reader *r, const struct sim_event *ev,
		       struct sim_err *err)
{
	enum viol v = track_apply(&r->tk, ev);
	if (v == V_OK) {
		r->ev_line = r->line;
		return SIM_OK;
	}
	char what[200];
	describe(what, sizeof what, v, ev, &r->tk);
	if (v == V_NOMEM)
		return SIM_ERR(err, SIM_ENOMEM, "%s:%" PRIu64 ": %s", r->path,
			       r->line, what);
	return rd_fail(r, err, "%s", what);
}

/* ---- reader: text ------------------------------------------------------- */

/* Called when no whole line is buffered: read until one is, setting
 * r->lim.  A last line without a newline gets one.  At the end of input
 * r->pos == r->lim. */
static int text_fill(struct trace_reader *r, struct sim_err *err)
{
	for (;;) {
		char *nl = memrchr(r->pos, '\n', (size_t)(r->end - r->pos));
		if (nl) {
			r->lim = nl + 1;
			return SIM_OK;
		}
		if (r->eof)
			break;
		if (r->pos == r->buf && r->end == r->buf + BLOCK)
			return SIM_ERR(err, SIM_ETRACE, "%s:%" PRIu64
				       ": line longer than %u bytes", r->path,
				       r->line + 1, BLOCK);
		int rc = rd_refill(r, err);
		if (rc != SIM_OK)
			return rc;
	}
	r->lim = r->pos;
	if (r->pos < r->end) {
		*r->end++ = '\n';   /* the buffer has room for this byte */
		r->lim = r->end;
	}
	return SIM_OK;
}

/* Take the next line (without its newline) into *s, *n; *s is NULL at the
 * end of input. */
static int text_getline(struct trace_reader *r, const char **s, size_t *n,
			struct sim_err *err)
{
	*s = NULL;
	if (r->pos >= r->lim) {
		int rc = text_fill(r, err);
		if (rc != SIM_OK || r->pos >= r->lim)
			return rc;
	}
	char *nl = memchr(r->pos, '\n', (size_t)(r->lim - r->pos));
	*s = r->pos;
	*n = (size_t)(nl - r->pos);
	r->pos = nl + 1;
	r->line++;
	return SIM_OK;
}

/* Store "# key: value" as metadata; other comments are ignored. */
static int text_meta_line(struct trace_reader *r, const char *s, size_t n,
			  struct sim_err *err)
{
	if (n < 2 || s[1] != ' ')
		return SIM_OK;
	const char *k = s + 2, *e = s + n;
	const char *c = memchr(k, ':', (size_t)(e - k));
	if (!c || c + 1 >= e || c[1] != ' ' || !meta_key_ok(k, (size_t)(c - k)))
		return SIM_OK;
	if (!meta_val_ok(c + 2, (size_t)(e - c - 2)))
		return SIM_OK;
	if (meta_add(&r->meta, k, (size_t)(c - k), c + 2, (size_t)(e - c - 2)))
		return SIM_ERR(err, SIM_ENOMEM, "%s: out of memory", r->path);
	return SIM_OK;
}

/* Read the comment lines before the first event as metadata. */
static int text_meta(struct trace_reader *r, struct sim_err *err)
{
	for (;;) {
		if (r->pos >= r->lim) {
			int rc = text_fill(r, err);
			if (rc != SIM_OK)
				return rc;
		}
		if (r->pos >= r->lim || *r->pos != '#')
			return SIM_OK;
		const char *s;
		size_t n;
		int rc = text_getline(r, &s, &n, err);
		if (rc == SIM_OK)
			rc = text_meta_line(r, s, n, err);
		if (rc != SIM_OK)
			return rc;
	}
}

/* Check the first line and read the metadata after it. */
static int text_header(struct trace_reader *r, struct sim_err *err)
{
	const char *s;
	size_t n;
	int rc = text_getline(r, &s, &n, err);
	if (rc != SIM_OK)
		return rc;
	if (s && n == sizeof HEADER - 1 && memcmp(s, HEADER, n) == 0)
		return text_meta(r, err);
	r->line = 1;
	if (s && n && s[n - 1] == '\r')
		return rd_fail(r, err, "line ends in CR (DOS line endings; the "
			       "format wants LF only)");
	if (s && n > 18 && n < 40 && memcmp(s, HEADER, 18) == 0)
		return rd_fail(r, err, "unsupported trace version '%.*s'",
			       (int)(n - 18), s + 18);
	return rd_fail(r, err, "missing header line '%s'", HEADER);
}

/* Parse a decimal number of 1..19 digits at p; the end, or NULL. */
static inline const char *num(const char *p, uint64_t *out)
{
	unsigned d = (unsigned)(unsigned char)*p - '0';
	if (d > 9)
		return NULL;
	const char *s = p;
	uint64_t v = 0;
	do {
		v = v * 10 + d;
		d = (unsigned)(unsigned char)*++p - '0';
	} while (d <= 9);
	*out = v;
	return p - s <= 19 ? p : NULL;
}

/* The fast path: parse a well-formed event line at p into ev and return
 * its newline; NULL sends the line to text_slow. */
static inline const char *text_fast(const char *p, struct sim_event *ev)
{
	const struct kind_info *k = kind_of((unsigned char)*p);
	uint64_t v[4];
	if (!k)
		return NULL;
	p++;
	for (unsigned i = 0; i < k->nf; i++) {
		if (*p != ' ' || !(p = num(p + 1, &v[i])))
			return NULL;
	}
	if (*p != '\n' || (k->kind != EV_CLOCK && v[0] > UINT32_MAX))
		return NULL;
	fill_event(ev, k->kind, v);
	return p;
}

/* Copy s for a message: at most 24 bytes, non-printables as '?'. */
static const char *quote(char *dst, const char *s, size_t n)
{
	size_t m = n > 24 ? 24 : n, i;
	for (i = 0; i < m; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	strcpy(dst + i, n > m ? "..." : "");
	return dst;
}

/* Parse one field; names it in the error. */
static int text_field(struct trace_reader *r, const char *name,
		      const char *s, size_t n, uint64_t max, uint64_t *v,
		      struct sim_err *err)
{
	char q[32];
	size_t i;
	*v = 0;
	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (*v > (max - d) / 10)
			return rd_fail(r, err, "field %s is out of range: '%s'",
				       name, quote(q, s, n));
		*v = *v * 10 + d;
	}
	if (n == 0 || i < n)
		return rd_fail(r, err, "field %s is not a number: '%s'", name,
			       quote(q, s, n));
	return SIM_OK;
}

/* The slow path: parse the line [s, e) field by field, naming what is
 * wrong.  Fields are separated by single spaces. */
static int text_slow(struct trace_reader *r, const char *s, const char *e,
		     struct sim_event *ev, struct sim_err *err)
{
	const char *f[6];
	size_t fl[6], nf = 0;
	char q[32];
	if (s == e)
		return rd_fail(r, err, "empty line");
	for (const char *p = s, *sp; p <= e; p = sp + 1, nf++) {
		sp = memchr(p, ' ', (size_t)(e - p));
		sp = sp ? sp : e;
		if (nf < 6) {
			f[nf] = p;
			fl[nf] = (size_t)(sp - p);
		}
	}
	const struct kind_info *k = fl[0] == 1 ? kind_of((unsigned char)*s) : 0;
	if (!k)
		return rd_fail(r, err, "unknown event letter '%s'",
			       quote(q, f[0], fl[0]));
	if (nf - 1 != k->nf)
		return rd_fail(r, err, "wrong field count for '%c': expected %u"
			       " field%s (%s), got %zu", *s, k->nf,
			       k->nf == 1 ? "" : "s", k->usage, nf - 1);
	uint64_t v[4];
	for (unsigned i = 0; i < k->nf; i++) {
		uint64_t max = i == 0 && has_tid(k->kind) ? UINT32_MAX
							  : UINT64_MAX;
		int rc = text_field(r, k->fields[i], f[i + 1], fl[i + 1], max,
				    &v[i], err);
		if (rc != SIM_OK)
			return rc;
	}
	fill_event(ev, k->kind, v);
	return SIM_OK;
}

/* Next event from a text trace. */
static int text_next(struct trace_reader *r, struct sim_event *ev,
		     struct sim_err *err)
{
	for (;;) {
		if (r->pos >= r->lim) {
			int rc = text_fill(r, err);
			if (rc != SIM_OK)
				return rc;
			if (r->pos >= r->lim) {
				ev->kind = EV_END;
				return SIM_OK;
			}
		}
		r->line++;
		const char *p = *r->pos == '#' ? NULL : text_fast(r->pos, ev);
		if (!p) {
			p = memchr(r->pos, '\n', (size_t)(r->lim - r->pos));
			if (*r->pos == '#') {
				r->pos = (char *)p + 1;
				continue;
			}
			int rc = text_slow(r, r->pos, p, ev, err);
			if (rc != SIM_OK)
				return rc;
		}
		r->pos = (char *)p + 1;
		return rd_validate(r, ev, err);
	}
}

/* ---- reader: binary ----------------------------------------------------- */

struct bcur {
	const uint8_t *p, *e;
};

/* Decode a varint; names the field on error. */
static inline int bget(struct trace_reader *r, struct bcur *c,
		       const char *field, uint64_t *v, struct sim_err *err)
{
	if (c->p < c->e && *c->p < 0x80) {
		*v = *c->p++;
		return SIM_OK;
	}
	uint64_t x = 0;
	*v = 0;
	for (unsigned shift = 0; c->p < c->e; shift += 7) {
		uint8_t b = *c->p++;
		if (shift == 63 && b > 1)
			return rd_fail(r, err, "field %s: varint overflows "
				       "64 bits", field);
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return SIM_OK;
		}
	}
	return rd_fail(r, err, "field %s: truncated record", field);
}

static uint64_t unzigzag(uint64_t z)
{
	return (z >> 1) ^ (0 - (z & 1));
}

static uint64_t zigzag(uint64_t d)
{
	return (d << 1) ^ (0 - (d >> 63));
}

/* Read one length-prefixed metadata string into *s (in the buffer). */
static int bin_string(struct trace_reader *r, const char *what, size_t max,
		      const char **s, size_t *n, struct sim_err *err)
{
	uint64_t len;
	int rc = rd_need(r, 10, err);
	struct bcur c = { (const uint8_t *)r->pos, (const uint8_t *)r->end };
	if (rc != SIM_OK || (rc = bget(r, &c, what, &len, err)) != SIM_OK)
		return rc;
	if (len > max)
		return rd_fail(r, err, "metadata %s of %" PRIu64
			       " bytes is too long", what, len);
	r->pos = (char *)c.p;
	if ((rc = rd_need(r, len, err)) != SIM_OK)
		return rc;
	if ((size_t)(r->end - r->pos) < len)
		return rd_fail(r, err, "truncated metadata %s", what);
	*s = r->pos;
	*n = len;
	r->pos += len;
	return SIM_OK;
}

/* One metadata entry of the binary header. */
static int bin_meta_entry(struct trace_reader *r, struct sim_err *err)
{
	const char *k, *v;
	size_t kl, vl;
	int rc = bin_string(r, "key", META_KEY_MAX, &k, &kl, err);
	if (rc != SIM_OK)
		return rc;
	char *key = memdup0(k, kl);  /* the value may move the buffer */
	if (!key)
		return SIM_ERR(err, SIM_ENOMEM, "%s: out of memory", r->path);
	rc = bin_string(r, "value", META_VAL_MAX, &v, &vl, err);
	if (rc == SIM_OK && (!meta_key_ok(key, kl) || !meta_val_ok(v, vl)))
		rc = rd_fail(r, err, "bad metadata entry '%s'", key);
	if (rc == SIM_OK && meta_add(&r->meta, key, kl, v, vl))
		rc = SIM_ERR(err, SIM_ENOMEM, "%s: out of memory", r->path);
	free(key);
	return rc;
}

/* The binary header after the magic: version and metadata. */
static int bin_header(struct trace_reader *r, struct sim_err *err)
{
	uint64_t count;
	r->pos += sizeof BIN_MAGIC;
	int rc = rd_need(r, 11, err);
	if (rc != SIM_OK)
		return rc;
	if (r->pos == r->end)
		return rd_fail(r, err, "truncated binary header");
	if ((uint8_t)*r->pos != BIN_VERSION)
		return rd_fail(r, err, "unsupported binary trace version %d",
			       (uint8_t)*r->pos);
	r->pos++;
	struct bcur c = { (const uint8_t *)r->pos, (const uint8_t *)r->end };
	if ((rc = bget(r, &c, "metadata count", &count, err)) != SIM_OK)
		return rc;
	if (count > META_MAX)
		return rd_fail(r, err, "%" PRIu64 " metadata entries is too "
			       "many", count);
	r->pos = (char *)c.p;
	for (uint64_t i = 0; i < count && rc == SIM_OK; i++)
		rc = bin_meta_entry(r, err);
	return rc;
}

/* The kind byte's table entry if it is valid, else NULL. */
static const struct kind_info *bin_kind(unsigned kb)
{
	unsigned code = kb & 0x0f, fl = kb & 0xf0;
	if (code >= BK_COUNT || (fl & ~(unsigned)kinds[code].bin_flags))
		return NULL;
	if ((fl & (BF_RNULL | BF_INPLACE)) == (BF_RNULL | BF_INPLACE))
		return NULL;
	return &kinds[code];
}

/* The ID fields of a binary record (after the TID). */
static int bin_ids(struct trace_reader *r, struct bcur *c, unsigned kb,
		   struct sim_event *ev, struct sim_err *err)
{
	uint64_t v = 0;
	int rc = SIM_OK;
	const char *f = ev->kind == EV_REALLOC ? "OLD" : "ID";
	if (ev->kind == EV_FREE || (ev->kind == EV_REALLOC && !(kb & BF_RNULL)))
		rc = bget(r, c, f, &v, err);
	if (rc != SIM_OK)
		return rc;
	if (ev->kind == EV_FREE) {
		ev->id = r->last_ref + unzigzag(v);
	} else if (ev->kind == EV_REALLOC) {
		ev->id = kb & BF_RNULL ? 0 : r->last_ref + unzigzag(v);
		ev->id2 = kb & BF_INPLACE ? ev->id : r->tk.next_id;
	} else if (ev->kind != EV_GC && ev->kind != EV_CLOCK) {
		ev->id = r->tk.next_id;
	}
	if (ev->kind != EV_GC && ev->kind != EV_CLOCK)  /* as the writer */
		r->last_ref = ev->kind == EV_REALLOC ? ev->id2 : ev->id;
	return SIM_OK;
}

/* The fields after the IDs: ALIGN, SIZE, NS. */
static int bin_tail(struct trace_reader *r, struct bcur *c,
		    struct sim_event *ev, struct sim_err *err)
{
	uint64_t v;
	int rc;
	if (ev->kind == EV_MEMALIGN) {
		if ((rc = bget(r, c, "ALIGN", &v, err)) != SIM_OK)
			return rc;
		if (v > 63)
			return rd_fail(r, err, "field ALIGN: alignment 2^%"
				       PRIu64 " is too large", v);
		ev->align = (uint64_t)1 << v;
	}
	if (ev->kind == EV_CLOCK) {
		if ((rc = bget(r, c, "NS", &v, err)) != SIM_OK)
			return rc;
		if (v > UINT64_MAX - r->tk.last_ns)
			return rd_fail(r, err, "field NS: clock overflows");
		ev->size = r->tk.last_ns + v;
	}
	if (ev->kind == EV_GC || ev->kind == EV_FREE || ev->kind == EV_CLOCK)
		return SIM_OK;
	return bget(r, c, "SIZE", &ev->size, err);
}

/* Decode one record into ev (EV_END for the end record). */
static int bin_decode(struct trace_reader *r, struct bcur *c,
		      struct sim_event *ev, struct sim_err *err)
{
	unsigned kb = *c->p++;
	const struct kind_info *k = bin_kind(kb);
	if (!k)
		return rd_fail(r, err, "bad record kind byte 0x%02x", kb);
	memset(ev, 0, sizeof *ev);
	ev->kind = k->kind;
	if (k->kind == EV_END)
		return SIM_OK;
	if (has_tid(k->kind)) {
		uint64_t tid = r->last_tid;
		int rc = kb & BF_TID ? SIM_OK : bget(r, c, "TID", &tid, err);
		if (rc != SIM_OK)
			return rc;
		if (tid > UINT32_MAX)
			return rd_fail(r, err, "field TID is out of range: %"
				       PRIu64, tid);
		ev->tid = r->last_tid = (uint32_t)tid;
	}
	int rc = bin_ids(r, c, kb, ev, err);
	return rc != SIM_OK ? rc : bin_tail(r, c, ev, err);
}

/* The end record: its count must match and nothing may follow. */
static int bin_finish(struct trace_reader *r, struct bcur *c,
		      struct sim_err *err)
{
	uint64_t count;
	int rc = bget(r, c, "count", &count, err);
	if (rc != SIM_OK)
		return rc;
	if (count != r->line - 1)
		return rd_fail(r, err, "end record counts %" PRIu64
			       " records, found %" PRIu64, count, r->line - 1);
	r->pos = (char *)c->p;
	if ((rc = rd_need(r, 1, err)) != SIM_OK)
		return rc;
	if (r->pos != r->end)
		return rd_fail(r, err, "data after the end record");
	r->done = 1;
	return SIM_OK;
}

/* A varint of at most 8 bytes (56 bits) at p; its end, or NULL (longer
 * ones, and the end of the buffer, are left to the slow path).  It loads
 * 8 bytes at once, finds the length from the stop bits and gathers the
 * 7-bit groups without a branch per byte: record lengths vary at random,
 * so a byte loop would mispredict.  The buffer has 8 bytes of slack past
 * its end, so the load stays inside it. */
static inline const uint8_t *uvar(const uint8_t *p, const uint8_t *e,
				  uint64_t *v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w;
	memcpy(&w, p, 8);
	uint64_t stop = ~w & 0x8080808080808080ull;
	if (!stop)
		return NULL;
	unsigned bits = (unsigned)__builtin_ctzll(stop) + 1;
	if (p + bits / 8 > e)
		return NULL;
	w &= ~0ull >> (64 - bits);
	*v = (w & 0x7f) | (w >> 1 & 0x3f80) | (w >> 2 & 0x1fc000) |
	     (w >> 3 & 0xfe00000) | (w >> 4 & 0x7f0000000) |
	     (w >> 5 & 0x3f800000000) | (w >> 6 & 0x1fc0000000000) |
	     (w >> 7 & 0xfe000000000000);
	return p + bits / 8;
#else
	uint64_t x = 0;
	for (unsigned shift = 0; shift < 56 && p < e; shift += 7) {
		uint8_t b = *p++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80) {
			*v = x;
			return p;
		}
	}
	return NULL;
#endif
}

static inline void set_event(struct sim_event *ev, uint8_t kind,
			     uint64_t tid, uint64_t id, uint64_t id2,
			     uint64_t size)
{
	ev->kind = kind;
	ev->flags = 0;
	ev->tid = (uint32_t)tid;
	ev->id = id;
	ev->id2 = id2;
	ev->size = size;
	ev->align = 0;
	ev->label = NULL;
}

/* Fast path: make the next ID live (room was checked). */
static inline void fast_born(struct trace_reader *r)
{
	struct track *t = &r->tk;
	t->live[t->next_id >> 6] |= (uint64_t)1 << (t->next_id & 63);
	r->last_ref = t->next_id++;
}

static inline int fast_room(const struct track *t)
{
	return (t->next_id >> 6) < t->words;
}

/* Fast path of a, c and m records. */
static inline const uint8_t *fast_alloc(struct trace_reader *r,
					const uint8_t *p, const uint8_t *e,
					struct sim_event *ev, uint8_t kind,
					uint64_t tid)
{
	uint64_t size, x = 0;
	if (kind == EV_MEMALIGN && (!(p = uvar(p, e, &x)) || x > 63))
		return NULL;
	if (!(p = uvar(p, e, &size)) || size > SIM_MAX_SIZE ||
	    !fast_room(&r->tk))
		return NULL;
	set_event(ev, kind, tid, r->tk.next_id, 0, size);
	ev->align = kind == EV_MEMALIGN ? (uint64_t)1 << x : 0;
	fast_born(r);
	return p;
}

/* Fast path of r records, kb: the kind byte. */
static inline const uint8_t *fast_realloc(struct trace_reader *r,
					  const uint8_t *p, const uint8_t *e,
					  struct sim_event *ev, unsigned kb,
					  uint64_t tid)
{
	uint64_t x, size, id = 0;
	if (!(kb & BF_RNULL) && (!(p = uvar(p, e, &x)) ||
	    !is_live(&r->tk, id = r->last_ref + unzigzag(x))))
		return NULL;
	if (!(p = uvar(p, e, &size)) || size > SIM_MAX_SIZE)
		return NULL;
	if (kb & BF_INPLACE) {
		set_event(ev, EV_REALLOC, tid, id, id, size);
		r->last_ref = id;
		return p;
	}
	if (!fast_room(&r->tk))
		return NULL;
	set_event(ev, EV_REALLOC, tid, id, r->tk.next_id, size);
	if (id != 0)
		track_kill(&r->tk, id);
	fast_born(r);
	return p;
}

/* Fast path of f records. */
static inline const uint8_t *fast_free(struct trace_reader *r,
				       const uint8_t *p, const uint8_t *e,
				       struct sim_event *ev, uint64_t tid)
{
	uint64_t x, id;
	if (!(p = uvar(p, e, &x)) ||
	    !is_live(&r->tk, id = r->last_ref + unzigzag(x)))
		return NULL;
	set_event(ev, EV_FREE, tid, id, 0, 0);
	track_kill(&r->tk, id);
	r->last_ref = id;
	return p;
}

/* Fast path of t records. */
static inline const uint8_t *fast_clock(struct trace_reader *r,
					const uint8_t *p, const uint8_t *e,
					struct sim_event *ev)
{
	uint64_t x;
	if (!(p = uvar(p, e, &x)) || x > UINT64_MAX - r->tk.last_ns)
		return NULL;
	set_event(ev, EV_CLOCK, 0, 0, 0, r->tk.last_ns += x);
	return p;
}

/* The binary fast path: decode, check and apply an ordinary record at p
 * with one dispatch on the kind byte, returning the record's end.  NULL
 * changes nothing and sends the record to the slow path (bin_decode and
 * track_apply), which names the error. */
static inline const uint8_t *bin_fast(struct trace_reader *r,
				      const uint8_t *p, const uint8_t *e,
				      struct sim_event *ev)
{
	unsigned kb = *p++;
	uint64_t tid = r->last_tid;
	if (kb == BK_CLOCK)
		return fast_clock(r, p, e, ev);
	if (!(kb & BF_TID) && (!(p = uvar(p, e, &tid)) || tid > UINT32_MAX))
		return NULL;
	switch (kb & ~(unsigned)BF_TID) {
	case BK_ALLOC: p = fast_alloc(r, p, e, ev, EV_ALLOC, tid); break;
	case BK_CALLOC: p = fast_alloc(r, p, e, ev, EV_CALLOC, tid); break;
	case BK_MEMALIGN: p = fast_alloc(r, p, e, ev, EV_MEMALIGN, tid); break;
	case BK_REALLOC: case BK_REALLOC | BF_RNULL:
	case BK_REALLOC | BF_INPLACE:
		p = fast_realloc(r, p, e, ev, kb, tid);
		break;
	case BK_FREE: p = fast_free(r, p, e, ev, tid); break;
	case BK_GC: set_event(ev, EV_GC, tid, 0, 0, 0); break;
	default: return NULL;
	}
	if (p)
		r->last_tid = (uint32_t)tid;
	return p;
}

/* Next event from a binary trace. */
static int bin_next(struct trace_reader *r, struct sim_event *ev,
		    struct sim_err *err)
{
	ev->kind = EV_END;
	if (r->done)
		return SIM_OK;
	int rc = SIM_OK;
	if (r->end - r->pos < BIN_MAXREC && !r->eof &&
	    (rc = rd_need(r, BIN_MAXREC, err)) != SIM_OK)
		return rc;
	r->line++;
	const uint8_t *p = (const uint8_t *)r->pos;
	const uint8_t *e = (const uint8_t *)r->end;
	if (p < e && (p = bin_fast(r, p, e, ev)) != NULL) {
		r->pos = (char *)p;
		r->ev_line = r->line;
		return SIM_OK;
	}
	if (r->pos == r->end)
		return rd_fail(r, err, "truncated binary trace: no end record");
	struct bcur c = { (const uint8_t *)r->pos, (const uint8_t *)r->end };
	if ((rc = bin_decode(r, &c, ev, err)) != SIM_OK)
		return rc;
	if (ev->kind == EV_END)
		return bin_finish(r, &c, err);
	r->pos = (char *)c.p;
	return rd_validate(r, ev, err);
}

/* ---- reader: public ----------------------------------------------------- */

/* Detect the format from the first bytes and read the header. */
static int rd_start(struct trace_reader *r, struct sim_err *err)
{
	int rc = rd_need(r, sizeof BIN_MAGIC, err);
	if (rc != SIM_OK)
		return rc;
	if ((size_t)(r->end - r->pos) >= sizeof BIN_MAGIC &&
	    memcmp(r->pos, BIN_MAGIC, sizeof BIN_MAGIC) == 0) {
		r->fmt = TRACE_BINARY;
		return bin_header(r, err);
	}
	r->fmt = gzdirect(r->gz) ? TRACE_TEXT : TRACE_GZIP;
	return text_header(r, err);
}

int trace_open(const char *path, struct trace_reader **out,
	       struct sim_err *err)
{
	*out = NULL;
	struct trace_reader *r = calloc(1, sizeof *r);
	if (!r || !(r->path = strdup(path)) ||
	    !(r->buf = calloc(1, BLOCK + SLACK))) {
		trace_close(r);
		return SIM_ERR(err, SIM_ENOMEM, "%s: out of memory", path);
	}
	r->pos = r->end = r->lim = r->buf;
	r->tk.next_id = 1;
	errno = 0;
	if (!(r->gz = gzopen(path, "rb"))) {
		int e = errno;
		trace_close(r);
		return SIM_ERR(err, SIM_EIO, "%s: %s", path,
			       e ? strerror(e) : "cannot open");
	}
	gzbuffer(r->gz, GZ_BUF);
	int rc = rd_start(r, err);
	if (rc != SIM_OK) {
		trace_close(r);
		return rc;
	}
	*out = r;
	return SIM_OK;
}

int trace_next(struct trace_reader *r, struct sim_event *ev,
	       struct sim_err *err)
{
	if (r->failed) {
		ev->kind = EV_END;
		return SIM_ERR(err, r->failed, "%s: reading past an error",
			       r->path);
	}
	int rc = r->fmt == TRACE_BINARY ? bin_next(r, ev, err)
					: text_next(r, ev, err);
	r->failed = rc;
	return rc;
}

uint64_t trace_line(const struct trace_reader *r)
{
	return r->ev_line;
}

enum trace_format trace_reader_format(const struct trace_reader *r)
{
	return r->fmt;
}

const char *trace_meta(const struct trace_reader *r, const char *key)
{
	for (size_t i = 0; i < r->meta.n; i++)
		if (strcmp(r->meta.v[i].key, key) == 0)
			return r->meta.v[i].val;
	return NULL;
}

void trace_close(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->gz)
		gzclose(r->gz);
	meta_free(&r->meta);
	free(r->tk.live);
	free(r->buf);
	free(r->path);
	free(r);
}

/* ---- writer ------------------------------------------------------------- */

struct trace_writer {
	gzFile gz;              /* plain files too, in zlib's "T" mode */
	char *path, *tmp;
	enum trace_format fmt;
	char *buf;              /* BLOCK bytes of pending output */
	size_t used;
	int started;            /* header written */
	uint64_t events;
	struct meta_list meta;  /* until the header is written */
	struct track tk;
	uint32_t last_tid;      /* binary encoder state, as in the reader */
	uint64_t last_ref;
};

static int wr_flush(struct trace_writer *w, struct sim_err *err)
{
	if (w->used && gzwrite(w->gz, w->buf, (unsigned)w->used) !=
	    (int)w->used) {
		int errnum;
		const char *msg = gzerror(w->gz, &errnum);
		return SIM_ERR(err, SIM_EIO, "%s: write failed: %s", w->path,
			       errnum == Z_ERRNO ? strerror(errno) : msg);
	}
	w->used = 0;
	return SIM_OK;
}

/* Append n bytes to the output. */
static int wr_put(struct trace_writer *w, const void *s, size_t n,
		  struct sim_err *err)
{
	while (n > 0) {
		if (w->used == BLOCK) {
			int rc = wr_flush(w, err);
			if (rc != SIM_OK)
				return rc;
		}
		size_t m = BLOCK - w->used < n ? BLOCK - w->used : n;
		memcpy(w->buf + w->used, s, m);
		w->used += m;
		s = (const char *)s + m;
		n -= m;
	}
	return SIM_OK;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Append a varint and then n bytes (a binary metadata string). */
static int wr_string(struct trace_writer *w, const char *s,
		     struct sim_err *err)
{
	uint8_t len[10];
	size_t n = strlen(s);
	int rc = wr_put(w, len, (size_t)(put_varint(len, n) - len), err);
	return rc != SIM_OK ? rc : wr_put(w, s, n, err);
}

/* Write the header and metadata: the binary form. */
static int wr_bin_header(struct trace_writer *w, struct sim_err *err)
{
	uint8_t h[16], *p = h;
	memcpy(p, BIN_MAGIC, sizeof BIN_MAGIC);
	p += sizeof BIN_MAGIC;
	*p++ = BIN_VERSION;
	p = put_varint(p, w->meta.n);
	int rc = wr_put(w, h, (size_t)(p - h), err);
	for (size_t i = 0; i < w->meta.n && rc == SIM_OK; i++) {
		rc = wr_string(w, w->meta.v[i].key, err);
		if (rc == SIM_OK)
			rc = wr_string(w, w->meta.v[i].val, err);
	}
	return rc;
}

/* Write the header and metadata, once, before the first event. */
static int wr_start(struct trace_writer *w, struct sim_err *err)
{
	int rc = SIM_OK;
	if (w->started)
		return SIM_OK;
	w->started = 1;
	if (w->fmt == TRACE_BINARY)
		return wr_bin_header(w, err);
	rc = wr_put(w, HEADER, sizeof HEADER - 1, err);
	rc = rc ? rc : wr_put(w, "\n", 1, err);
	for (size_t i = 0; i < w->meta.n && rc == SIM_OK; i++) {
		const struct meta *m = &w->meta.v[i];
		rc = wr_put(w, "# ", 2, err);
		rc = rc ? rc : wr_put(w, m->key, strlen(m->key), err);
		rc = rc ? rc : wr_put(w, ": ", 2, err);
		rc = rc ? rc : wr_put(w, m->val, strlen(m->val), err);
		rc = rc ? rc : wr_put(w, "\n", 1, err);
	}
	return rc;
}

int trace_writer_open(const char *path, enum trace_format fmt,
		      struct trace_writer **out, struct sim_err *err)
{
	*out = NULL;
	if (fmt != TRACE_TEXT && fmt != TRACE_GZIP && fmt != TRACE_BINARY)
		return SIM_ERR(err, SIM_EINVAL, "%s: unknown trace format %d",
			       path, (int)fmt);
	struct trace_writer *w = calloc(1, sizeof *w);
	size_t n = strlen(path) + 32;
	if (!w || !(w->path = strdup(path)) || !(w->tmp = malloc(n)) ||
	    !(w->buf = malloc(BLOCK))) {
		trace_writer_abort(w);
		return SIM_ERR(err, SIM_ENOMEM, "%s: out of memory", path);
	}
	snprintf(w->tmp, n, "%s.tmp.%ld", path, (long)getpid());
	w->fmt = fmt;
	w->tk.next_id = 1;
	errno = 0;
	if (!(w->gz = gzopen(w->tmp, fmt == TRACE_GZIP ? "wb6" : "wbT"))) {
		int e = errno;
		trace_writer_abort(w);
		return SIM_ERR(err, SIM_EIO, "%s: %s", path,
			       e ? strerror(e) : "cannot create");
	}
	gzbuffer(w->gz, GZ_BUF);
	*out = w;
	return SIM_OK;
}

int trace_write_meta(struct trace_writer *w, const char *key,
		     const char *value, struct sim_err *err)
{
	if (w->started)
		return SIM_ERR(err, SIM_EINVAL, "%s: metadata '%s' after the "
			       "first event", w->path, key);
	if (!meta_key_ok(key, strlen(key)) ||
	    !meta_val_ok(value, strlen(value)))
		return SIM_ERR(err, SIM_EINVAL, "%s: bad metadata key or value"
			       " for '%s'", w->path, key);
	if (meta_add(&w->meta, key, strlen(key), value, strlen(value)))
		return SIM_ERR(err, SIM_ENOMEM, "%s: out of memory", w->path);
	return SIM_OK;
}

static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static void wr_text_event(struct trace_writer *w, const struct sim_event *ev)
{
	uint64_t v[4];
	unsigned n = event_fields(ev, v);
	char *p = w->buf + w->used;
	*p++ = (char)ev->kind;
	for (unsigned i = 0; i < n; i++) {
		*p++ = ' ';
		p = put_u64(p, v[i]);
	}
	*p++ = '\n';
	w->used = (size_t)(p - w->buf);
}

/* Encode ev (already validated; prev_ns: the clock before it). */
static void wr_bin_event(struct trace_writer *w, const struct sim_event *ev,
			 uint64_t prev_ns)
{
	uint8_t *p = (uint8_t *)w->buf + w->used, *kb = p++;
	*kb = code_of[ev->kind];
	if (has_tid(ev->kind) && ev->tid == w->last_tid)
		*kb |= BF_TID;
	else if (has_tid(ev->kind))
		p = put_varint(p, w->last_tid = ev->tid);
	if (ev->kind == EV_REALLOC) {
		*kb |= ev->id == 0 ? BF_RNULL
		     : ev->id2 == ev->id ? BF_INPLACE : 0;
		if (ev->id != 0)
			p = put_varint(p, zigzag(ev->id - w->last_ref));
	}
	if (ev->kind == EV_FREE)
		p = put_varint(p, zigzag(ev->id - w->last_ref));
	if (ev->kind == EV_MEMALIGN)
		p = put_varint(p, (uint64_t)__builtin_ctzll(ev->align));
	if (ev->kind == EV_CLOCK)
		p = put_varint(p, ev->size - prev_ns);
	else if (ev->kind != EV_GC && ev->kind != EV_FREE)
		p = put_varint(p, ev->size);
	if (ev->kind != EV_GC && ev->kind != EV_CLOCK)
		w->last_ref = ev->kind == EV_REALLOC ? ev->id2 : ev->id;
	w->used = (size_t)(p - (uint8_t *)w->buf);
}

int trace_write(struct trace_writer *w, const struct sim_event *ev,
		struct sim_err *err)
{
	int rc = wr_start(w, err);
	if (rc != SIM_OK)
		return rc;
	uint64_t prev_ns = w->tk.last_ns;
	enum viol v = track_apply(&w->tk, ev);
	if (v != V_OK) {
		char what[200];
		describe(what, sizeof what, v, ev, &w->tk);
		return SIM_ERR(err, v == V_NOMEM ? SIM_ENOMEM : SIM_EINVAL,
			       "%s: event %" PRIu64 ": %s", w->path,
			       w->events + 1, what);
	}
	if (w->used > BLOCK - WR_ROOM && (rc = wr_flush(w, err)) != SIM_OK)
		return rc;
	if (w->fmt == TRACE_BINARY)
		wr_bin_event(w, ev, prev_ns);
	else
		wr_text_event(w, ev);
	w->events++;
	return SIM_OK;
}

static void wr_free(struct trace_writer *w)
{
	meta_free(&w->meta);
	free(w->tk.live);
	free(w->buf);
	free(w->tmp);
	free(w->path);
	free(w);
}

/* Header if no event came, the binary end record, and the last block. */
static int wr_finish(struct trace_writer *w, struct sim_err *err)
{
	int rc = wr_start(w, err);
	if (rc == SIM_OK && w->fmt == TRACE_BINARY) {
		uint8_t e[11], *p = e;
		*p++ = BK_END;
		p = put_varint(p, w->events);
		rc = wr_put(w, e, (size_t)(p - e), err);
	}
	return rc != SIM_OK ? rc : wr_flush(w, err);
}

int trace_writer_close(struct trace_writer *w, struct sim_err *err)
{
	int rc = wr_finish(w, err);
	int zrc = gzclose(w->gz);
	w->gz = NULL;
	if (rc == SIM_OK && zrc != Z_OK)
		rc = SIM_ERR(err, SIM_EIO, "%s: close failed (zlib %d)",
			     w->path, zrc);
	if (rc == SIM_OK && rename(w->tmp, w->path) != 0)
		rc = SIM_ERR(err, SIM_EIO, "%s: %s", w->path, strerror(errno));
	if (rc != SIM_OK)
		unlink(w->tmp);
	wr_free(w);
	return rc;
}

void trace_writer_abort(struct trace_writer *w)
{
	if (!w)
		return;
	if (w->gz) {
		gzclose(w->gz);
		unlink(w->tmp);
	}
	wr_free(w);
}

size_t trace_meta_count(const struct trace_reader *r)
{
	return r->meta.n;
}

const char *trace_meta_key(const struct trace_reader *r, size_t i)
{
	return i < r->meta.n ? r->meta.v[i].key : NULL;
}

const char *trace_meta_value(const struct trace_reader *r, size_t i)
{
	return i < r->meta.n ? r->meta.v[i].val : NULL;
}
