// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gmem-check: fails a CI job when guest memory is converted to private, or
 * punched out of its guest_memfd, while someone still holds a pin on it.
 * It attaches, then runs the command, waits for it and everything it
 * started, and judges every conversion against every pin's lifetime.
 */
#include "lib/check_report.h"
#include "lib/checker.h"
#include "lib/conversions.h"
#include "lib/kernel.h"
#include "lib/log.h"
#include "lib/model.h"
#include "lib/tracker.h"
#include "lib/util.h"
#include "lib/vmtracker.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 64
#define MAX_ALLOW 64

static const char usage_text[] =
	"Usage: gmem-check [options] -- CMD [ARGS...]\n"
	"       gmem-check [options] --pid PID --duration SECONDS\n"
	"Fail when KVM guest memory is converted to private, or punched out of its\n"
	"guest_memfd, while a pin on it is held (io_uring, O_DIRECT, VFIO, vhost, ...).\n"
	"\n"
	"  -- CMD [ARGS...]       attach, run CMD, wait for it and all it starts, judge\n"
	"  -p, --pid PID          watch the conversions and hole punches of running\n"
	"                         process PID instead (pins by any process count)\n"
	"  -d, --duration SECONDS  how long to watch it (with --pid; default: until it exits)\n"
	"      --json FILE        write the report as JSON (schema gmem-check/1)\n"
	"      --junit FILE       write the report as JUnit XML\n"
	"  -a, --allow WHAT       ignore pins by a known holder: an API (io_uring,\n"
	"                         o_direct, vfio, vhost, iommufd, gup_test, ...), a\n"
	"                         process name, or a shell pattern matched against the\n"
	"                         functions of the pin's kernel stack (repeatable)\n"
	"  -g, --grace MS         a pin released within MS milliseconds after the\n"
	"                         conversion is no violation (default 0)\n"
	"      --require-conversions  exit 4 (skipped) where KVM cannot convert guest\n"
	"                         memory at all (hole punches alone are checked otherwise)\n"
	"      --max-folios N     capacity of the tracked-folio table (default %u)\n"
	"      --buffer BYTES     ring buffer for conversions and pin ends (default %u)\n"
	"  -v, --verbose          more messages\n"
	"  -h, --help             this text\n"
	"\n"
	"Exit: 0 no violation; 1 violation(s); 2 inconclusive (an event lost, a map\n"
	"full, tracking started after guest memory existed, CMD failed) or an error;\n"
	"4 skipped (the kernel lacks what the check needs); 64 usage.\n";

struct options {
	char **argv;         /* CMD */
	int argc;
	__u32 pid;
	double duration;     /* 0: until PID exits */
	const char *json, *junit;
	const char *allow[MAX_ALLOW];
	size_t nr_allow;
	__u64 grace_ns;
	bool require_conversions;
	__u32 max_folios;
	__u32 buffer;
	int verbose;
};

static volatile sig_atomic_t stop;
static pid_t child;

static void on_signal(int sig)
{
	stop = sig;
	if (child > 0)
		kill(child, sig);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "gmem-check: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'gmem-check --help'.\n");
	return EXIT_USAGE;
}

enum { OPT_JSON = 256, OPT_JUNIT, OPT_REQUIRE_CONVERSIONS, OPT_MAX_FOLIOS, OPT_BUFFER };

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "allow", required_argument, NULL, 'a' },
		{ "grace", required_argument, NULL, 'g' },
		{ "require-conversions", no_argument, NULL, OPT_REQUIRE_CONVERSIONS },
		{ "max-folios", required_argument, NULL, OPT_MAX_FOLIOS },
		{ "buffer", required_argument, NULL, OPT_BUFFER },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	unsigned long long v;
	int opt;

	memset(o, 0, sizeof(*o));
	/* '+': options stop at CMD, whose own options are its own */
	while ((opt = getopt_long(argc, argv, "+p:d:a:g:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (gmem_parse_u64(optarg, 1, 0x7fffffff, &v))
				return usage_error("--pid needs a process id, not '%s'", optarg);
			o->pid = (__u32)v;
			break;
		case 'd':
			if (gmem_parse_seconds(optarg, &o->duration) || o->duration <= 0)
				return usage_error("--duration needs seconds > 0, not '%s'", optarg);
			break;
		case OPT_JSON: o->json = optarg; break;
		case OPT_JUNIT: o->junit = optarg; break;
		case 'a':
			if (!*optarg)
				return usage_error("--allow needs an API, a name or a pattern%s", "");
			if (o->nr_allow == MAX_ALLOW)
				return usage_error("at most 64 --allow, one more: '%s'", optarg);
			o->allow[o->nr_allow++] = optarg;
			break;
		case 'g':
			if (gmem_parse_u64(optarg, 0, 3600ull * 1000, &v))
				return usage_error("--grace needs milliseconds (0 to 3600000), not '%s'",
						   optarg);
			o->grace_ns = v * 1000000ull;
			break;
		case OPT_REQUIRE_CONVERSIONS: o->require_conversions = true; break;
		case OPT_MAX_FOLIOS:
			if (gmem_parse_u64(optarg, 16, 1u << 26, &v))
				return usage_error("--max-folios needs 16 to 67108864, not '%s'", optarg);
			o->max_folios = (__u32)v;
			break;
		case OPT_BUFFER:
			if (gmem_parse_u64(optarg, 4096, 1u << 30, &v) || (v & (v - 1)))
				return usage_error("--buffer needs a power of two from 4096 to 2^30 "
						   "bytes, not '%s'", optarg);
			o->buffer = (__u32)v;
			break;
		case 'v': o->verbose++; break;
		case 'h':
			printf(usage_text, GMEM_DEFAULT_MAX_FOLIOS, GMEM_DEFAULT_CHECK_RINGBUF);
			exit(0);
		default:
			fprintf(stderr, "Try 'gmem-check --help'.\n");
			return EXIT_USAGE;
		}
	}
	o->argv = argv + optind;
	o->argc = argc - optind;
	if (o->pid && o->argc)
		return usage_error("give either --pid or a command, not both (%s)", o->argv[0]);
	if (!o->pid && !o->argc)
		return usage_error("no command to run: gmem-check [options] -- CMD [ARGS...]%s", "");
	if (o->duration && !o->pid)
		return usage_error("--duration goes with --pid%s", "");
	return 0;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* What gmem-check runs on: the trackers, and what it has collected. */
struct check {
	struct gmem_kernel kernel;
	struct gmem_vmtracker *vt;
	struct gmem_tracker *t;
	struct gmem_conversions *cv;
	struct gmem_checker c;
	struct gmem_snapshot end;  /* at the end: pins still held, the stacks */
	bool oom;
};

static int on_record(void *ctx, const void *data, size_t len)
{
	struct check *ck = ctx;

	if (gmem_checker_add_record(&ck->c, data, len) == -ENOMEM)
		ck->oom = true;
	return 0;
}

/* A kernel that cannot do it: skipped, with the reason given. */
static bool unsupported(int err)
{
	return err == -ENOENT || err == -EOPNOTSUPP || err == -EPERM || err == -EINVAL;
}

static int start(struct check *ck, const struct options *o, struct gmem_check_run *r)
{
	struct gmem_vmtracker_opts vopts = {};
	struct gmem_conversions_opts copts = { .ringbuf_bytes = o->buffer };
	struct gmem_tracker_opts topts = { .max_folios = o->max_folios };
	int err;

	err = gmem_kernel_probe(&ck->kernel);
	if (err)
		return err;
	r->kernel = ck->kernel.release;
	r->conversions_missing = gmem_conversions_missing(&ck->kernel);
	r->punches_missing = gmem_punches_missing(&ck->kernel);
	if (r->conversions_missing && r->punches_missing) {
		gmem_err("nothing to check on this kernel: %s; and %s", r->conversions_missing,
			 r->punches_missing);
		return -ENOENT;
	}
	if (o->require_conversions && r->conversions_missing) {
		gmem_err("--require-conversions: %s", r->conversions_missing);
		return -ENOENT;
	}
	err = gmem_vmtracker_start(&ck->vt, &ck->kernel, &vopts);
	if (err) {
		gmem_err("conversions need the memslot model (see 'gmemtop --probe')");
		return err;
	}
	copts.vmtracker = ck->vt;
	err = gmem_conversions_start(&ck->cv, &ck->kernel, &copts);
	if (err)
		return err;
	r->conversions_watched = !r->conversions_missing;
	r->punches_watched = !r->punches_missing;
	topts.vmtracker = ck->vt;
	topts.check_events_fd = gmem_conversions_events_fd(ck->cv);
	return gmem_tracker_start(&ck->t, &ck->kernel, &topts);
}

static void stop_all(struct check *ck)
{
	gmem_tracker_stop(ck->t);
	gmem_conversions_stop(ck->cv);
	gmem_vmtracker_stop(ck->vt);
	gmem_checker_free(&ck->c);
	gmem_snapshot_free(&ck->end);
	gmem_kernel_free(&ck->kernel);
}

static int drain(struct check *ck, int timeout_ms)
{
	int err = gmem_conversions_poll(ck->cv, timeout_ms, on_record, ck);

	if (!err && ck->oom)
		err = -ENOMEM;
	if (err)
		gmem_err("failed to read check_events: %s", strerror(-err));
	return err;
}

static int exit_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs CMD (tracking is attached already) and waits for it and every
 * process it leaves behind (gmem-check is their subreaper). */
static int run_command(struct check *ck, const struct options *o, struct gmem_check_run *r)
{
	int status, err;
	pid_t w;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		gmem_warn("cannot wait for CMD's orphans: prctl(PR_SET_CHILD_SUBREAPER): %s",
			  strerror(errno));
	fflush(NULL);
	child = fork();
	if (child < 0) {
		err = -errno;
		gmem_err("fork: %s", strerror(errno));
		return err;
	}
	if (child == 0) {
		execvp(o->argv[0], o->argv);
		fprintf(stderr, "gmem-check: cannot run %s: %s\n", o->argv[0], strerror(errno));
		_exit(127);
	}
	for (;;) {
		err = drain(ck, 100);
		if (err)
			return err;
		while ((w = waitpid(-1, &status, WNOHANG)) > 0)
			if (w == child) {
				r->cmd_ran = true;
				r->cmd_exit = exit_status(status);
			}
		if (w < 0 && errno == ECHILD)
			return 0;
		if (w < 0 && errno != EINTR) {
			err = -errno;
			gmem_err("waitpid: %s", strerror(errno));
			return err;
		}
	}
}

/* --pid: until it exits, the duration ends, or a signal comes. */
static int watch_pid(struct check *ck, const struct options *o)
{
	__u64 until = o->duration ? now_ns() + (__u64)(o->duration * 1e9) : 0;
	int err;

	/* tracking is attached: say so, for whoever starts the VMM's work */
	fprintf(stderr, "gmem-check: watching pid %u\n", o->pid);

	while (!stop && (!until || now_ns() < until)) {
		if (kill((pid_t)o->pid, 0) && errno == ESRCH)
			break;
		err = drain(ck, 100);
		if (err)
			return err;
	}
	return 0;
}

/* The pins still held, and the stacks of every episode. */
static int read_end(struct check *ck)
{
	struct gmem_snapshot *s = &ck->end;
	int err;

	gmem_snapshot_init(s);
	err = gmem_vmtracker_read(ck->vt, s);
	if (!err)
		err = gmem_tracker_read(ck->t, s);
	for (size_t i = 0; !err && i < s->nr_folios; i++) {
		const struct gmem_folio *f = &s->folios[i];

		if (f->tracked && f->t.pins && f->t.pins != GMEM_PINS_DEAD)
			err = gmem_checker_add_held(&ck->c, f->addr, 0, &f->t);
	}
	for (size_t i = 0; !err && i < ck->c.nr_episodes; i++)
		err = gmem_tracker_read_stack(ck->t, s, ck->c.episodes[i].v.stack_id);
	if (err)
		gmem_err("failed to read the pins held at the end: %s", strerror(-err));
	return err;
}

/* Everything lost, by every object. */
static __u64 count_lost(struct check *ck, struct gmem_check_run *r)
{
	struct gmem_stats cst = {};
	__u64 lost = gmem_stats_lost(&ck->end.stats);

	if (!gmem_conversions_stats(ck->cv, &cst))
		lost += cst.v[GMEM_STAT_CHECK_DROPPED];
	else
		gmem_check_add_reason(r, "the conversion counters could not be read");
	return lost;
}

/*
 * Lost or unreadable events make every verdict unsafe, a violation seen
 * included (it may stand for others, or its holder may be wrong): exit 2.
 * A failed command or a late start leave what was seen true: violations
 * still fail, but no violation is not a pass.
 */
static enum gmem_check_result verdict(struct check *ck, const struct options *o,
				      struct gmem_check_run *r)
{
	bool lossy = false, inconclusive = false;

	r->lost = count_lost(ck, r);
	if (r->lost) {
		gmem_check_add_reason(r, "events were lost (see 'lost' in the JSON report; raise "
					 "--buffer or --max-folios): a pin or a conversion may be "
					 "missing");
		lossy = true;
	}
	if (ck->end.stats.v[GMEM_STAT_UNPIN_RUNS_MISSED]) {
		gmem_check_add_reason(r, "the kernel skipped unpin programs (recursion): some pins' "
					 "release times are not known");
		lossy = true;
	}
	if (ck->c.bad_records) {
		gmem_check_add_reason(r, "malformed records from the kernel were rejected");
		lossy = true;
	}
	if (ck->c.unknown_memslots) {
		gmem_check_add_reason(r, "a conversion touched a memslot made before tracking "
					 "began: its memory is not known");
		lossy = true;
	}
	if (o->pid) {
		gmem_check_add_reason(r, "tracking began after the process's guest memory "
					 "existed: pins taken before are not seen");
		inconclusive = true;
	}
	if (o->argc && (!r->cmd_ran || r->cmd_exit)) {
		gmem_check_add_reason(r, "the command failed: its run is not a pass");
		inconclusive = true;
	}
	if (!r->conversions_watched)
		gmem_check_add_reason(r, r->conversions_missing);
	if (lossy)
		return GMEM_CHECK_INCONCLUSIVE;
	if (ck->c.nr_violations)
		return GMEM_CHECK_VIOLATION;
	return inconclusive ? GMEM_CHECK_INCONCLUSIVE : GMEM_CHECK_PASS;
}

typedef int (*report_fn)(FILE *out, const struct gmem_check_run *r);

static int write_report(const char *path, report_fn fn, const struct gmem_check_run *r)
{
	FILE *f;
	int err;

	if (!path)
		return 0;
	f = fopen(path, "w");
	if (!f) {
		err = -errno;
		gmem_err("cannot write %s: %s", path, strerror(errno));
		return err;
	}
	err = fn(f, r);
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		gmem_err("failed to write %s: %s", path, strerror(-err));
	return err;
}

static int report(const struct options *o, struct gmem_check_run *r)
{
	int err;

	gmem_check_report_text(stderr, r);
	err = write_report(o->json, gmem_check_report_json, r);
	if (!err)
		err = write_report(o->junit, gmem_check_report_junit, r);
	return err;
}

/* A run that never judged (skipped, or setup failed): its reports all the same. */
static int report_setup_failure(const struct options *o, struct gmem_check_run *r, int err)
{
	struct gmem_checker empty;

	gmem_checker_init(&empty);
	r->c = &empty;
	r->result = unsupported(err) ? GMEM_CHECK_SKIPPED : GMEM_CHECK_INCONCLUSIVE;
	gmem_check_add_reason(r, gmem_log_last_error() ? gmem_log_last_error()
						       : "setting up tracking failed");
	report(o, r);
	return r->result;
}

int main(int argc, char **argv)
{
	struct check ck = {};
	struct gmem_check_run r = {};
	struct gmem_check_opts copts = {};
	struct options o;
	__u64 t0;
	int err;

	err = parse_options(argc, argv, &o);
	if (err)
		return err;
	gmem_log_init("gmem-check", o.verbose);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	copts.grace_ns = o.grace_ns;
	copts.allow = o.allow;
	copts.nr_allow = o.nr_allow;
	r.opts = &copts;
	r.argv = o.argc ? o.argv : NULL;
	r.argc = o.argc;
	r.pid = o.pid;
	gmem_checker_init(&ck.c);
	/* --pid: that VMM's conversions; pins by anyone count against them */
	ck.c.filter_tgid = o.pid;
	gmem_snapshot_init(&ck.end);

	err = start(&ck, &o, &r);
	if (err) {
		err = report_setup_failure(&o, &r, err);
		stop_all(&ck);
		return err;
	}
	r.start_ns = t0 = now_ns();
	err = o.argc ? run_command(&ck, &o, &r) : watch_pid(&ck, &o);
	if (!err)
		err = drain(&ck, 0);
	r.duration_ns = now_ns() - t0;
	if (!err)
		err = read_end(&ck);
	/* pins released between that drain and the table's read (io_uring
	 * frees a dead process's buffers in a worker): their records end the
	 * episodes the table showed held */
	if (!err)
		err = drain(&ck, 0);
	if (!err)
		err = gmem_checker_judge(&ck.c, &copts, &ck.end);
	r.c = &ck.c;
	r.stacks = &ck.end;
	if (err) {
		gmem_check_add_reason(&r, "gmem-check failed (see above): nothing is judged");
		r.result = GMEM_CHECK_INCONCLUSIVE;
	} else {
		r.result = verdict(&ck, &o, &r);
	}
	if (report(&o, &r) && r.result == GMEM_CHECK_PASS)
		r.result = GMEM_CHECK_INCONCLUSIVE;
	err = r.result;
	stop_all(&ck);
	return err;
}
