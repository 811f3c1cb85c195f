// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gmemtop: who holds pins on guest memory, per VM, per process, per
 * guest_memfd file and per folio.  Batch mode (-b) prints snapshots and exits.
 */
#include "lib/cgroup.h"
#include "lib/kernel.h"
#include "lib/log.h"
#include "lib/model.h"
#include "lib/output.h"
#include "lib/probe.h"
#include "lib/scan.h"
#include "lib/tracker.h"
#include "lib/util.h"
#include "lib/vmtracker.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 64
#define EXIT_UNSUPPORTED 4

static const char usage_text[] =
	"Usage: gmemtop [options] [interval [count]]\n"
	"Show pins on KVM guest memory (guest_memfd) per process, file and folio.\n"
	"\n"
	"  -b, --batch          print snapshots and exit (default: refresh until ^C)\n"
	"  -o, --output FMT     table (default), json (one object per line) or csv\n"
	"  -j, --json           same as -o json\n"
	"  -p, --pid PID        only pins taken by, and files held by, process PID\n"
	"  -c, --cgroup CGROUP  only pins taken from cgroup CGROUP (v2): an id, or a\n"
	"                       directory, absolute or relative to /sys/fs/cgroup\n"
	"  -s, --sort KEY       order of the tables: pins (default), pid, comm, age,\n"
	"                       file, untracked, extra\n"
	"  -r, --rows N         at most N rows per table\n"
	"  -f, --folios         list pinned folios too (JSON always does)\n"
	"      --scan-only      no tracking: only the kernel's own counts\n"
	"      --no-scan        no kernel scan: only tracked pins\n"
	"      --max-folios N   capacity of the tracked-folio table, rounded up to a\n"
	"                       power of two (default %u)\n"
	"      --refs           attribute extra references to their holders with the\n"
	"                       page_ref_* tracepoints (CONFIG_DEBUG_PAGE_REF; every\n"
	"                       refcount change in the system pays for it)\n"
	"      --max-ref-folios N  capacity of the --refs map (default %u)\n"
	"      --ustack         record each pin holder's user stack (a user-stack\n"
	"                       walk per new holder), symbolised from its mappings\n"
	"      --scan-buffer B  bytes of ring buffer for the kernel scan (default %u)\n"
	"      --max-vms N, --max-memslots N, --max-gmem-files N, --max-backings N\n"
	"                       capacities of the VM model's maps (default %u, %u,\n"
	"                       %u, %u)\n"
	"      --no-vms         do not track VMs, memslots and shared backing\n"
	"      --probe          list what this kernel offers gmem-tools, and why not\n"
	"      --attach MODE    how to hook the kernel: auto (default: fentry/fexit,\n"
	"                       else kprobes), fentry or kprobe\n"
	"  -v, --verbose        more messages (twice: libbpf's too)\n"
	"  -h, --help           this text\n"
	"\n"
	"interval is in seconds (default 1); count is the number of snapshots\n"
	"(default 1 with -b, unlimited otherwise).  Exit: 0 ok, 1 error, 4 the\n"
	"kernel lacks a needed feature (--probe: a required one), 64 usage.\n";

struct options {
	bool batch, scan_only, no_scan, folios, probe, refs, no_vms, ustack;
	struct gmem_vmtracker_opts vm_maps;
	struct gmem_render_opts render;
	struct gmem_filter filter;
	enum gmem_sort sort;
	__u32 max_folios;
	__u32 max_ref_folios;
	__u32 scan_buffer;
	enum gmem_attach_mode attach;
	double interval;
	long count;
	int verbose;
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = sig; }

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "gmemtop: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'gmemtop --help'.\n");
	return EXIT_USAGE;
}

/* usage_error() for messages with two strings. */
static int usage_error2(const char *fmt, const char *a, const char *b)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, a, b);
	return usage_error("%s", msg);
}

static int parse_cgroup(const char *arg, __u64 *id)
{
	int err = gmem_parse_cgroup(arg, NULL, id);

	return err ? usage_error2("bad cgroup '%s': %s", arg, gmem_cgroup_strerror(err)) : 0;
}

/* --max-vms and the like: a capacity of one of the VM model's maps. */
static int parse_map_size(int opt, const char *arg, struct gmem_vmtracker_opts *m)
{
	static const char *const names[] = { "--max-vms", "--max-memslots", "--max-gmem-files",
					     "--max-backings" };
	__u32 *fields[] = { &m->max_vms, &m->max_memslots, &m->max_files, &m->max_backings };
	int i = opt; /* 0: --max-vms ... 3: --max-backings */
	unsigned long long v;

	if (gmem_parse_u64(arg, 1, 1u << 20, &v))
		return usage_error2("bad %s '%s' (1 to 1048576)", names[i], arg);
	*fields[i] = (__u32)v;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_SCAN_ONLY = 256, OPT_NO_SCAN, OPT_MAX_FOLIOS, OPT_SCAN_BUFFER, OPT_PROBE,
	       OPT_MAX_REF_FOLIOS, OPT_REFS, OPT_MAX_VMS, OPT_MAX_MEMSLOTS, OPT_MAX_GMEM_FILES,
	       OPT_MAX_BACKINGS, OPT_NO_VMS, OPT_ATTACH, OPT_USTACK };
	static const struct option longopts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "pid", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "sort", required_argument, NULL, 's' },
		{ "rows", required_argument, NULL, 'r' },
		{ "folios", no_argument, NULL, 'f' },
		{ "scan-only", no_argument, NULL, OPT_SCAN_ONLY },
		{ "no-scan", no_argument, NULL, OPT_NO_SCAN },
		{ "max-folios", required_argument, NULL, OPT_MAX_FOLIOS },
		{ "max-ref-folios", required_argument, NULL, OPT_MAX_REF_FOLIOS },
		{ "scan-buffer", required_argument, NULL, OPT_SCAN_BUFFER },
		{ "probe", no_argument, NULL, OPT_PROBE },
		{ "refs", no_argument, NULL, OPT_REFS },
		{ "max-vms", required_argument, NULL, OPT_MAX_VMS },
		{ "max-memslots", required_argument, NULL, OPT_MAX_MEMSLOTS },
		{ "max-gmem-files", required_argument, NULL, OPT_MAX_GMEM_FILES },
		{ "max-backings", required_argument, NULL, OPT_MAX_BACKINGS },
		{ "no-vms", no_argument, NULL, OPT_NO_VMS },
		{ "attach", required_argument, NULL, OPT_ATTACH },
		{ "ustack", no_argument, NULL, OPT_USTACK },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	unsigned long long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->interval = 1.0;
	o->count = -1;
	while ((c = getopt_long(argc, argv, "bo:jp:c:s:r:fvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': o->batch = true; break;
		case 'j': o->render.fmt = GMEM_FMT_JSON; break;
		case 'f': o->folios = true; break;
		case 'v': o->verbose++; break;
		case OPT_SCAN_ONLY: o->scan_only = true; break;
		case OPT_NO_SCAN: o->no_scan = true; break;
		case OPT_PROBE: o->probe = true; break;
		case OPT_REFS: o->refs = true; break;
		case OPT_NO_VMS: o->no_vms = true; break;
		case OPT_USTACK: o->ustack = true; break;
		case OPT_MAX_VMS:
		case OPT_MAX_MEMSLOTS:
		case OPT_MAX_GMEM_FILES:
		case OPT_MAX_BACKINGS:
			if (parse_map_size(c - OPT_MAX_VMS, optarg, &o->vm_maps))
				return EXIT_USAGE;
			break;
		case OPT_ATTACH:
			if (gmem_attach_mode_parse(optarg, &o->attach))
				return usage_error("unknown --attach mode '%s' (auto, fentry, kprobe)",
						   optarg);
			break;
		case 'o':
			if (gmem_parse_format(optarg, &o->render.fmt))
				return usage_error("unknown output format '%s' (table, json, csv)",
						   optarg);
			break;
		case 'p':
			if (gmem_parse_u64(optarg, 1, UINT32_MAX, &v))
				return usage_error("bad PID '%s'", optarg);
			o->filter.pid = (__u32)v;
			break;
		case 'c':
			if (parse_cgroup(optarg, &o->filter.cgroup_id))
				return EXIT_USAGE;
			break;
		case 's':
			if (gmem_parse_sort(optarg, &o->sort))
				return usage_error2("unknown sort key '%s' (%s)", optarg,
						    gmem_sort_names());
			break;
		case 'r':
			if (gmem_parse_u64(optarg, 1, INT32_MAX, &v))
				return usage_error("bad row count '%s'", optarg);
			o->render.rows = (int)v;
			break;
		case OPT_MAX_FOLIOS:
			if (gmem_parse_u64(optarg, 1, 1u << 26, &v))
				return usage_error("bad --max-folios '%s' (1 to 67108864)", optarg);
			o->max_folios = (__u32)v;
			break;
		case OPT_MAX_REF_FOLIOS:
			if (gmem_parse_u64(optarg, 1, 1u << 26, &v))
				return usage_error("bad --max-ref-folios '%s' (1 to 67108864)", optarg);
			o->max_ref_folios = (__u32)v;
			break;
		case OPT_SCAN_BUFFER:
			/* a ring buffer: a power of two, at least a page */
			if (gmem_parse_u64(optarg, 4096, 1u << 30, &v) || (v & (v - 1)))
				return usage_error("bad --scan-buffer '%s' (bytes: a power of two, "
						   "4096 to 1073741824)", optarg);
			o->scan_buffer = (__u32)v;
			break;
		case 'h':
			printf(usage_text, GMEM_DEFAULT_MAX_FOLIOS, GMEM_DEFAULT_MAX_REF_FOLIOS,
			       GMEM_DEFAULT_SCAN_RINGBUF, GMEM_DEFAULT_MAX_VMS, GMEM_DEFAULT_MAX_MEMSLOTS,
			       GMEM_DEFAULT_MAX_GMEM_FILES, GMEM_DEFAULT_MAX_BACKINGS);
			exit(0);
		default: /* getopt said what was wrong */
			fprintf(stderr, "Try 'gmemtop --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (o->scan_only && o->no_scan)
		return usage_error("%s", "--scan-only and --no-scan leave nothing to show");
	if (o->scan_only && o->filter.cgroup_id)
		return usage_error("%s", "--cgroup needs tracking: the kernel scan does not "
				   "know who holds a pin (drop --scan-only)");
	if (o->scan_only && o->ustack)
		return usage_error("%s", "--ustack needs tracking: the kernel scan does not "
				   "know who pinned (drop --scan-only)");
	if (optind < argc && gmem_parse_seconds(argv[optind++], &o->interval))
		return usage_error("bad interval '%s' (seconds, > 0)", argv[optind - 1]);
	if (optind < argc) {
		if (gmem_parse_u64(argv[optind++], 1, INT32_MAX, &v))
			return usage_error("bad count '%s'", argv[optind - 1]);
		o->count = (long)v;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (o->count < 0)
		o->count = o->batch ? 1 : 0; /* 0: unlimited */
	o->render.folios = o->folios;
	return 0;
}

static int take_snapshot(struct gmem_tracker *t, struct gmem_scanner *sc,
			 struct gmem_vmtracker *vt, const struct options *o,
			 struct gmem_snapshot *s)
{
	struct timespec mono, real;
	int err;

	gmem_snapshot_init(s);
	s->filter = o->filter;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	s->time_ns = (__u64)mono.tv_sec * 1000000000ull + mono.tv_nsec;
	s->realtime_ns = (__u64)real.tv_sec * 1000000000ull + real.tv_nsec;
	if (vt && (err = gmem_vmtracker_read(vt, s)))
		return err;
	if (t && (err = gmem_tracker_read(t, s)))
		return err;
	if (t)
		gmem_tracker_map_size(t, &s->map_bytes, &s->map_entries);
	if (sc && (err = gmem_scanner_run(sc, s)))
		return err;
	err = gmem_snapshot_finish(s);
	if (!err && t)
		gmem_tracker_gc(t, s);
	if (!err && vt)
		gmem_vmtracker_gc(vt, s);
	if (!err)
		gmem_snapshot_sort(s, o->sort);
	return err;
}

/* Setup failed: every such message ends with where to look next. */
static int exit_code_for(int err)
{
	gmem_hint("run 'gmemtop --probe' for details");
	return err == -ENOENT || err == -EOPNOTSUPP || (err == -EPERM && geteuid() == 0)
		       ? EXIT_UNSUPPORTED
		       : 1;
}

static int start_vmtracker(struct gmem_vmtracker **vt, const struct gmem_kernel *k,
			   const struct gmem_vmtracker_opts *opts)
{
	bool quiet = gmem_log_set_quiet(true);
	int err = gmem_vmtracker_start(vt, k, opts);

	gmem_log_set_quiet(quiet);
	return err;
}

static int run_probe(const struct options *o)
{
	struct gmem_probe_report r;
	int err = gmem_probe_run(&r);

	if (!err)
		err = gmem_render_probe(stdout, &r, o->render.fmt);
	if (err)
		gmem_err("kernel probe failed: %s", strerror(-err));
	else if (!gmem_probe_ok(&r))
		err = EXIT_UNSUPPORTED;
	gmem_probe_free(&r);
	return err < 0 ? 1 : err;
}

int main(int argc, char **argv)
{
	struct gmem_tracker_opts topts = {};
	struct gmem_scanner_opts sopts = {};
	struct gmem_tracker *tracker = NULL;
	struct gmem_scanner *scanner = NULL;
	struct gmem_vmtracker *vmtracker = NULL;
	struct gmem_kernel kernel;
	struct options o;
	int err, vm_err = 0, ret = 1;

	ret = parse_options(argc, argv, &o);
	if (ret)
		return ret;
	gmem_log_init("gmemtop", o.verbose);
	gmem_log_set_json(o.render.fmt == GMEM_FMT_JSON);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (o.probe)
		return run_probe(&o);
	ret = 1;
	err = gmem_kernel_probe(&kernel);
	if (err)
		return exit_code_for(err);
	o.render.kernel = kernel.release;
	topts.filter_tgid = sopts.filter_tgid = o.filter.pid;
	topts.max_folios = o.max_folios;
	topts.max_ref_folios = o.max_ref_folios;
	topts.refs = o.refs;
	topts.attach = o.vm_maps.attach = o.attach;
	topts.ustack = o.ustack;
	sopts.ringbuf_bytes = o.scan_buffer;
	/* VMs, memslots and shared backing: shown when the kernel has the
	 * hooks, but pins on guest_memfd are tracked without them.  Started
	 * first (the pin programs share its maps), quietly: on a kernel that
	 * cannot track pins either, that is the error to report. */
	if (!o.scan_only && !o.no_vms)
		vm_err = start_vmtracker(&vmtracker, &kernel, &o.vm_maps);
	topts.vmtracker = sopts.vmtracker = vmtracker;
	if (!o.scan_only && (err = gmem_tracker_start(&tracker, &kernel, &topts))) {
		ret = exit_code_for(err);
		goto out;
	}
	if (tracker)
		o.render.attach = gmem_attach_mode_name(gmem_tracker_family(tracker));
	if (vm_err)
		gmem_warn("VMs and memslots are not tracked (%s); pins on guest_memfd are: "
			  "see 'gmemtop --probe'", strerror(-vm_err));
	if (!o.no_scan && (err = gmem_scanner_open(&scanner, &kernel, &sopts))) {
		ret = exit_code_for(err);
		goto out;
	}

	err = gmem_render_begin(stdout, &o.render);
	if (err) {
		gmem_err("failed to write to standard output: %s", strerror(-err));
		goto out;
	}
	for (long n = 0; !stop && (o.count == 0 || n < o.count); n++) {
		struct gmem_snapshot snap;

		if (n > 0 && gmem_sleep(o.interval, &stop))
			break;
		err = take_snapshot(tracker, scanner, vmtracker, &o, &snap);
		if (!err) {
			if (!o.batch && o.render.fmt == GMEM_FMT_TABLE && isatty(STDOUT_FILENO))
				fputs("\033[H\033[J", stdout);
			err = gmem_render_snapshot(stdout, &snap, &o.render);
		}
		gmem_snapshot_free(&snap);
		if (err) {
			gmem_err("failed to take a snapshot: %s", strerror(-err));
			goto out;
		}
	}
	ret = 0;
out:
	gmem_scanner_close(scanner);
	gmem_tracker_stop(tracker);
	gmem_vmtracker_stop(vmtracker);
	gmem_kernel_free(&kernel);
	return ret;
}
