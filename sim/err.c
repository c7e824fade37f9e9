/*
 * err.c - the single place where errors are raised (see err.h).
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int sim_err_set(struct sim_err *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

void sim_err_clear(struct sim_err *err)
{
	err->code = SIM_OK;
	err->msg[0] = '\0';
}

const char *sim_rc_name(int code)
{
	static const char *const names[] = {
		"ok", "nomem", "invalid", "trace", "script",
		"io", "workload", "check", "oom", "interrupted",
	};
	if (code < 0 || code >= (int)(sizeof names / sizeof names[0]))
		return "unknown";
	return names[code];
}
