// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/bpfutil.h"

#include "lib/kernel.h"
#include "lib/log.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, seen by userspace from bpf() */
#endif

static bool section_has_prefix(const struct bpf_program *prog, const char *prefix);

/* Why a kprobe does not attach: a kernel without kprobes says ENOENT (no
 * kprobe PMU, no kprobe_events) or EOPNOTSUPP. */
static const char *gmem_kprobe_explain_errno(int err)
{
	switch (err < 0 ? -err : err) {
	case ENOENT:
	case EOPNOTSUPP:
	case ENOTSUPP:
		return "no kprobes in this kernel (CONFIG_KPROBES, CONFIG_KPROBE_EVENTS), or "
		       "the function cannot be probed";
	case EBUSY:
		return "the function is already probed by someone else";
	}
	return gmem_kernel_explain_errno(err);
}

int gmem_bpf_attach_all(struct bpf_object_skeleton *s)
{
	for (int i = 0; i < s->prog_cnt; i++) {
		struct bpf_program *prog = *s->progs[i].prog;
		struct bpf_link *link;
		int err;

		/* SEC("syscall"): run by userspace, never attached */
		if (!bpf_program__autoload(prog) || section_has_prefix(prog, "syscall"))
			continue;
		link = bpf_program__attach(prog);
		err = libbpf_get_error(link);
		if (err) {
			gmem_err("failed to attach %s: %s (%s)", bpf_program__section_name(prog),
				 strerror(-err), section_has_prefix(prog, "k")
				 ? gmem_kprobe_explain_errno(err) : gmem_kernel_explain_errno(err));
			return err;
		}
		/* owned by the skeleton from now on: destroyed with it */
		*s->progs[i].link = link;
		gmem_debug("attached %s", bpf_program__section_name(prog));
	}
	return 0;
}

/*
 * struct bpf_link_info as far as perf_event.kprobe.missed (Linux 6.7),
 * which the uapi headers of older libbpf packages lack.  The layout is
 * uapi: type, id, prog_id, then an 8-aligned union whose perf_event member
 * is {type, pad, kprobe {func_name, name_len, offset, addr, missed}}.
 */
struct link_info_kprobe {
	__u32 type;
	__u32 id;
	__u32 prog_id;
	__u32 pad;
	__u32 perf_event_type;
	__u32 pad2;
	__u64 func_name;
	__u32 name_len;
	__u32 offset;
	__u64 addr;
	__u64 missed;
};
_Static_assert(sizeof(struct link_info_kprobe) == 56, "bpf_link_info layout");

#define LINK_TYPE_PERF_EVENT 7 /* BPF_LINK_TYPE_PERF_EVENT */

/* Runs of program i the kernel skipped: its recursion guard, and for a
 * kprobe the kprobe's own misses (a kretprobe's maxactive among them). */
static __u64 prog_misses(const struct bpf_object_skeleton *s, int i)
{
	struct bpf_prog_info info = {};
	struct link_info_kprobe kinfo = {};
	__u32 len = sizeof(info), klen = sizeof(kinfo);
	int fd = bpf_program__fd(*s->progs[i].prog);
	struct bpf_link *link = s->progs[i].link ? *s->progs[i].link : NULL;
	__u64 n = 0;

	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
		n += info.recursion_misses;
	if (link && section_has_prefix(*s->progs[i].prog, "k") &&
	    !bpf_obj_get_info_by_fd(bpf_link__fd(link), &kinfo, &klen) &&
	    kinfo.type == LINK_TYPE_PERF_EVENT)
		n += kinfo.missed;
	return n;
}

static unsigned int one_kind(const struct bpf_program *prog)
{
	return 0;
}

__u64 gmem_bpf_recursion_misses(const struct bpf_object_skeleton *s)
{
	__u64 sum = 0;

	gmem_bpf_misses_by_kind(s, one_kind, &sum);
	return sum;
}

int gmem_bpf_run(const struct bpf_program *prog, void *ctx, __u32 ctx_size)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = ctx, .ctx_size_in = ctx_size);
	int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &run);

	if (err)
		gmem_err("failed to run %s: %s", bpf_program__name(prog), strerror(-err));
	return err;
}

void gmem_bpf_misses_by_kind(const struct bpf_object_skeleton *s, gmem_bpf_prog_kind_fn kind,
			     __u64 *sums)
{
	for (int i = 0; i < s->prog_cnt; i++)
		sums[kind(*s->progs[i].prog)] += prog_misses(s, i);
}

int gmem_bpf_load_attach(struct bpf_object_skeleton *s, const char *what, const char **stage)
{
	int err;

	if (stage)
		*stage = "load";
	err = bpf_object__load_skeleton(s);
	if (err) {
		gmem_err("failed to load %s: %s (%s)", what, strerror(-err),
			 gmem_kernel_explain_errno(err));
		return err;
	}
	if (stage)
		*stage = "attach";
	return gmem_bpf_attach_all(s);
}

int gmem_bpf_sum_stats(int map_fd, struct gmem_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct gmem_stats *percpu;
	__u32 zero = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &zero, percpu)) {
		int err = -errno;

		free(percpu);
		return err;
	}
	for (int c = 0; c < ncpu; c++)
		for (int i = 0; i < GMEM_STAT_NR; i++)
			out->v[i] += percpu[c].v[i];
	free(percpu);
	return 0;
}

static const char *const attach_mode_names[] = {
	[GMEM_ATTACH_AUTO] = "auto",
	[GMEM_ATTACH_FENTRY] = "fentry",
	[GMEM_ATTACH_KPROBE] = "kprobe",
};

int gmem_attach_mode_parse(const char *s, enum gmem_attach_mode *out)
{
	for (size_t i = 0; i < sizeof(attach_mode_names) / sizeof(attach_mode_names[0]); i++)
		if (!strcmp(s, attach_mode_names[i])) {
			*out = (enum gmem_attach_mode)i;
			return 0;
		}
	return -EINVAL;
}

const char *gmem_attach_mode_name(enum gmem_attach_mode mode)
{
	return mode <= GMEM_ATTACH_KPROBE ? attach_mode_names[mode] : "?";
}

static bool section_has_prefix(const struct bpf_program *prog, const char *prefix)
{
	return !strncmp(bpf_program__section_name(prog), prefix, strlen(prefix));
}

bool gmem_bpf_in_family(const struct bpf_program *prog, enum gmem_attach_mode mode)
{
	bool fentry = section_has_prefix(prog, "fentry/") || section_has_prefix(prog, "fexit/");
	bool kprobe = section_has_prefix(prog, "kprobe/") || section_has_prefix(prog, "kretprobe/");

	if (mode == GMEM_ATTACH_FENTRY)
		return !kprobe;
	if (mode == GMEM_ATTACH_KPROBE)
		return !fentry;
	return true;
}

void gmem_bpf_keep_family(struct bpf_object *obj, enum gmem_attach_mode mode)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
		if (!gmem_bpf_in_family(prog, mode))
			bpf_program__set_autoload(prog, false);
}

int gmem_bpf_start_family(enum gmem_attach_mode mode, const char *what,
			  gmem_bpf_start_fn start, void *ctx, enum gmem_attach_mode *chosen)
{
	char fentry_why[1024], kprobe_why[1024];
	bool quiet;
	int err, kerr;

	*chosen = mode;
	if (mode != GMEM_ATTACH_AUTO)
		return start(ctx, mode);
	quiet = gmem_log_set_quiet(true);
	*chosen = GMEM_ATTACH_FENTRY;
	err = start(ctx, GMEM_ATTACH_FENTRY);
	snprintf(fentry_why, sizeof(fentry_why), "%s", gmem_log_last_error());
	if (err) {
		gmem_debug("%s: fentry/fexit failed (%s), trying kprobes", what, fentry_why);
		*chosen = GMEM_ATTACH_KPROBE;
		kerr = start(ctx, GMEM_ATTACH_KPROBE);
		if (!kerr)
			err = 0;
	}
	snprintf(kprobe_why, sizeof(kprobe_why), "%s", gmem_log_last_error());
	gmem_log_set_quiet(quiet);
	if (err)
		gmem_err("cannot %s: neither BPF trampolines nor kprobes work here: "
			 "fentry/fexit: %s; kprobe: %s", what, fentry_why, kprobe_why);
	return err;
}
