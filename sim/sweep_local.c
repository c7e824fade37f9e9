/*
 * sweep_local.c - a sweep's unfinished runs on this machine, through GNU
 * parallel: OUT/pending.txt holds one shell line per run ("mkdir -p
 * FOLDER && COMMAND > FOLDER/log 2>&1"), parallel runs them N at a time
 * and logs each ending to OUT/joblog.txt, which this file polls to show
 * progress: runs done, running, failed, and the time left at the pace so
 * far.  A run failed when it ended without a summary.json; it is reported
 * with its command and the end of its log, and the others go on.
 *
 * Host time is used for the display only; nothing written depends on it.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sweep.h"

extern char **environ;

#define POLL_NS 200000000L

/* Is prog an executable somewhere on $PATH? */
static int on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char dir[4096], file[4200];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(dir, sizeof dir, "%.*s", (int)n, path);
		snprintf(file, sizeof file, "%s/%s", n ? dir : ".", prog);
		if (access(file, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

/* Single-quote s for the shell into f. */
static void put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		fputs(*s == '\'' ? "'\\''" : (char[]){*s, 0}, f);
	fputc('\'', f);
}

/* Write OUT/pending.txt for the runs pend[0..n-1]; remove their old logs. */
static int write_pending(const struct sweep *sw, const size_t *pend, size_t n,
			 const char *path, struct sim_err *err)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return SIM_ERR(err, SIM_EIO, "%s: cannot write: %s", path,
			       strerror(errno));
	for (size_t k = 0; k < n; k++) {
		const struct sweep_run *r = &sw->r[pend[k]];
		char log[8200];
		snprintf(log, sizeof log, "%s/log", r->out);
		remove(log);
		fputs("mkdir -p ", f);
		put_quoted(f, r->out);
		fprintf(f, " && %s > ", r->cmd);
		put_quoted(f, log);
		fputs(" 2>&1\n", f);
	}
	if (fclose(f) != 0)
		return SIM_ERR(err, SIM_EIO, "%s: cannot write: %s", path,
			       strerror(errno));
	return SIM_OK;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct progress {
	size_t total, earlier, pending, ended, failed;
	int jobs, tty;
	double start, last_print;
	size_t last_ended;
};

/* Count the runs that ended (lines of the joblog after its header) and
 * those that failed among them. */
static void poll_joblog(const struct sweep *sw, const size_t *pend,
			const char *joblog, struct progress *p)
{
	FILE *f = fopen(joblog, "r");
	if (!f)
		return;
	char line[16384];
	size_t ended = 0, failed = 0;
	int header = 1;
	while (fgets(line, sizeof line, f)) {
		if (header) {
			header = 0;
			continue;
		}
		size_t seq = strtoul(line, NULL, 10);
		if (seq < 1 || seq > p->pending || !strchr(line, '\n'))
			continue;
		ended++;
		failed += !sweep_run_done(sw, pend[seq - 1]);
	}
	fclose(f);
	p->ended = ended;
	p->failed = failed;
}

static void show(struct progress *p, int final)
{
	double t = now_s(), el = t - p->start;
	size_t left = p->pending - p->ended;
	size_t running = final ? 0 : left < (size_t)p->jobs ? left : (size_t)p->jobs;
	char eta[32] = "?";
	if (p->ended) {
		long s = (long)(el / (double)p->ended * (double)left + 0.5);
		snprintf(eta, sizeof eta, "%ld:%02ld", s / 60, s % 60);
	}
	size_t step = p->pending / 10 ? p->pending / 10 : 1;
	if (!final && p->tty && p->ended == p->last_ended && t - p->last_print < 1)
		return;
	if (!final && !p->tty && (p->ended == p->pending ||
	    (p->ended < p->last_ended + step && t - p->last_print < 30)))
		return;
	p->last_print = t;
	p->last_ended = p->ended;
	fprintf(stderr, "%ssweep: %zu/%zu done, %zu running, %zu failed, %s left%s",
		p->tty ? "\r" : "", p->earlier + p->ended - p->failed, p->total,
		running, p->failed, final ? "0:00" : eta,
		p->tty ? (final ? "\033[K\n" : "\033[K") : "\n");
}

/* Print the command of each failed run and the end of its log. */
static void report_failures(const struct sweep *sw, const size_t *pend,
			    size_t n)
{
	for (size_t k = 0; k < n; k++) {
		const struct sweep_run *r = &sw->r[pend[k]];
		if (sweep_run_done(sw, pend[k]))
			continue;
		char log[8200], line[1024], tail[10][1024];
		size_t nl = 0;
		snprintf(log, sizeof log, "%s/log", r->out);
		fprintf(stderr, "sweep: run failed: %s\n  log: %s\n", r->cmd, log);
		FILE *f = fopen(log, "r");
		while (f && fgets(line, sizeof line, f))
			snprintf(tail[nl++ % 10], sizeof tail[0], "%s", line);
		for (size_t i = nl > 10 ? nl - 10 : 0; i < nl; i++)
			fprintf(stderr, "    %s%s", tail[i % 10],
				strchr(tail[i % 10], '\n') ? "" : "\n");
		if (!f)
			fprintf(stderr, "    (no log: the run did not start)\n");
		else
			fclose(f);
	}
}

/* Start parallel on pending.txt; SIM_OK and *pid, or SIM_EIO. */
static int start_parallel(const char *pending, const char *joblog, int jobs,
			  pid_t *pid, struct sim_err *err)
{
	char j[32];
	snprintf(j, sizeof j, "%d", jobs);
	char *argv[] = {"parallel", "--will-cite", "-j", j, "--joblog",
			(char *)joblog, "-a", (char *)pending, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
	int e = posix_spawnp(pid, "parallel", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0)
		return SIM_ERR(err, SIM_EIO, "cannot start GNU parallel: %s",
			       strerror(e));
	return SIM_OK;
}

/* Wait for parallel, showing progress; on *stop, ask it (once) to start
 * no new runs.  Returns its wait status. */
static int wait_parallel(const struct sweep *sw, const size_t *pend,
			 const char *joblog, pid_t pid, struct progress *p,
			 volatile sig_atomic_t *stop)
{
	int st = 0, told = 0;
	struct timespec ts = {0, POLL_NS};
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (stop && *stop && !told) {
			kill(pid, SIGTERM);
			told = 1;
		}
		poll_joblog(sw, pend, joblog, p);
		show(p, 0);
		nanosleep(&ts, NULL);
	}
	poll_joblog(sw, pend, joblog, p);
	show(p, 1);
	return st;
}

int sweep_run_local(const struct sweep *sw, int jobs,
		    volatile sig_atomic_t *stop, size_t *failed,
		    struct sim_err *err)
{
	*failed = 0;
	size_t *pend = malloc((sw->nr + 1) * sizeof *pend), n = 0;
	if (!pend)
		return SIM_ERR(err, SIM_ENOMEM, "out of host memory");
	for (size_t i = 0; i < sw->nr; i++)
		if (!sweep_run_done(sw, i))
			pend[n++] = i;
	fprintf(stderr, "sweep: %zu runs, %zu finished earlier, %zu to run "
		"(-j %d)\n", sw->nr, sw->nr - n, n, jobs);
	int rc = SIM_OK;
	if (n && !on_path("parallel"))
		rc = SIM_ERR(err, SIM_EINVAL, "GNU parallel is not installed "
			     "(apt-get install -y parallel)");
	char pending[8192], joblog[8192];
	snprintf(pending, sizeof pending, "%s/pending.txt", sw->outdir);
	snprintf(joblog, sizeof joblog, "%s/joblog.txt", sw->outdir);
	if (n && rc == SIM_OK)
		rc = write_pending(sw, pend, n, pending, err);
	pid_t pid;
	remove(joblog);
	if (n && rc == SIM_OK)
		rc = start_parallel(pending, joblog, jobs, &pid, err);
	if (n && rc == SIM_OK) {
		struct progress p = {sw->nr, sw->nr - n, n, 0, 0, jobs,
				     isatty(2), now_s(), 0, 0};
		int st = wait_parallel(sw, pend, joblog, pid, &p, stop);
		if (!stop || !*stop)
			report_failures(sw, pend, n);
		for (size_t k = 0; k < n; k++)
			*failed += !sweep_run_done(sw, pend[k]);
		if (stop && *stop)
			rc = SIM_ERR(err, SIM_EINTR, "sweep interrupted: %zu of %zu "
				     "runs finished; run the same command again to "
				     "resume", sw->nr - n + p.ended - p.failed, sw->nr);
		else if (!WIFEXITED(st) || WEXITSTATUS(st) > 101)
			rc = SIM_ERR(err, SIM_EIO, "GNU parallel failed (status %d)",
				     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	free(pend);
	return rc;
}
