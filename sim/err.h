/*
 * err.h - error codes and messages shared by every part of allocsim.
 *
 * Library code never exits: it returns one of the SIM_E* codes and fills a
 * caller-owned struct sim_err.  Only sim/main.c turns a code into an exit
 * status.  Input errors read "file:line: message" so editors can jump there.
 */
#ifndef SIM_ERR_H
#define SIM_ERR_H

enum sim_rc {
	SIM_OK = 0,
	SIM_ENOMEM,    /* the simulated OS (or the host) refused memory */
	SIM_EINVAL,    /* bad argument, parameter or usage */
	SIM_ETRACE,    /* malformed trace file */
	SIM_ESCRIPT,   /* Lua workload error */
	SIM_EIO,       /* host file I/O failed */
	SIM_EWORKLOAD, /* the workload did something illegal (double free, ...) */
	SIM_ECHECK,    /* the shadow heap checker or a strategy invariant failed */
	SIM_EOOM,      /* the run was ended by the simulated memory limit */
	SIM_EINTR      /* interrupted by a signal */
};

struct sim_err {
	int code;
	char msg[512];
};

/* Record code and a printf-style message in err (which may be NULL) and
 * return code.  Every error is raised here: one place for a breakpoint. */
int sim_err_set(struct sim_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define SIM_ERR(err, code, ...) sim_err_set((err), (code), __VA_ARGS__)

/* Clear err to SIM_OK with an empty message. */
void sim_err_clear(struct sim_err *err);

/* A short name for a code, e.g. "oom" for SIM_EOOM. */
const char *sim_rc_name(int code);

#endif
