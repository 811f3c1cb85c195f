// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/vmtracker.h"

#include "lib/bpfutil.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lifecycle.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gmem_vmtracker {
	struct gmem_lifecycle *skel;
	enum gmem_attach_mode family; /* the programs loaded: fentry or kprobe */
	__u64 anon_missed;            /* __anon_vma_prepare runs skipped, so far */
	__u64 anon_lost;              /* of those, counted as lost */
};

/* Each program's kernel function, and what it is for (for --probe). */
static const struct lifecycle_hook {
	const char *func;
	const char *why;
} hooks[] = {
	{ "kvm_arch_init_vm", "VM creation (kvm_create_vm() is inlined)" },
	{ "kvm_arch_destroy_vm", "VM destruction and its memslots' end" },
	{ "kvm_gmem_create", "guest_memfd creation: size, flags, owner" },
	{ "kvm_gmem_release", "guest_memfd release" },
	{ "kvm_arch_commit_memory_region", "every memslot change, with or without guest_memfd" },
	{ "kvm_gmem_bind", "memslot to guest_memfd binding (up to 7.2)" },
	{ "kvm_gmem_prepare_memory_region", "memslot to guest_memfd binding (7.3)" },
	{ "kvm_gmem_commit_memory_region", "memslot to guest_memfd binding, committed (7.3)" },
	{ "kvm_gmem_unbind", "end of a guest_memfd binding" },
	{ "__anon_vma_prepare", "anonymous shared backing faulted in after its memslot" },
	{ "security_mmap_file", "guest memory mmap'ed by any process: its pins are tracked" },
	{ "sched_process_fork", "a fork of a process that maps guest memory" },
};

/* Without these the model cannot follow VMs and memslots at all. */
static bool is_essential(const char *func)
{
	return !strcmp(func, "kvm_arch_init_vm") || !strcmp(func, "kvm_arch_commit_memory_region");
}

static const char *prog_func(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog), *slash = strchr(sec, '/');

	return slash ? slash + 1 : sec;
}

static bool has_func(const struct gmem_kernel *k, const char *func)
{
	/* tp_btf/sched_process_fork: a tracepoint every kernel has */
	if (!strcmp(func, "sched_process_fork"))
		return true;
	return gmem_kernel_has_module_func(k, "kvm", func);
}

static void set_sizes(struct gmem_lifecycle *skel, const struct gmem_vmtracker_opts *o)
{
	if (o->max_vms)
		bpf_map__set_max_entries(skel->maps.vms, o->max_vms);
	if (o->max_files)
		bpf_map__set_max_entries(skel->maps.gmem_files, o->max_files);
	if (o->max_memslots)
		bpf_map__set_max_entries(skel->maps.memslots, o->max_memslots);
	if (o->max_backings)
		bpf_map__set_max_entries(skel->maps.backing_mappings, o->max_backings);
}

/* Open, configure, load, attach: the programs of 'family' whose function
 * this kernel has, or only program 'only'.  *stage names the step that
 * failed. */
static int start_programs(struct gmem_vmtracker **out, const struct gmem_kernel *k,
			  const struct gmem_vmtracker_opts *opts, const char *only,
			  enum gmem_attach_mode family, const char **stage)
{
	struct gmem_vmtracker *vt;
	struct bpf_program *prog;
	int essential = 0, err;

	*stage = "open";
	vt = calloc(1, sizeof(*vt));
	if (!vt)
		return -ENOMEM;
	vt->skel = gmem_lifecycle__open();
	if (!vt->skel) {
		err = -errno;
		gmem_err("failed to open lifecycle BPF object: %s", strerror(errno));
		goto fail;
	}
	set_sizes(vt->skel, opts);
	vt->family = family;
	bpf_object__for_each_program(prog, vt->skel->obj) {
		const char *func = prog_func(prog);
		bool load = only ? !strcmp(bpf_program__section_name(prog), only)
				 : gmem_bpf_in_family(prog, family) && has_func(k, func);

		bpf_program__set_autoload(prog, load);
		if (load && is_essential(func))
			essential++;
		if (!load && !only && gmem_bpf_in_family(prog, family))
			gmem_debug("%s() not in this kernel: not traced", func);
	}
	*stage = "find in BTF";
	/* one program each, or a kprobe/kretprobe pair for kvm_arch_init_vm */
	if (!only && essential < (family == GMEM_ATTACH_KPROBE ? 3 : 2)) {
		err = -ENOENT;
		gmem_err("cannot track VMs and memslots: kvm_arch_init_vm() or "
			 "kvm_arch_commit_memory_region() is not in this kernel's BTF "
			 "(CONFIG_KVM, and the kvm module loaded?)");
		goto fail;
	}
	err = gmem_bpf_load_attach(vt->skel->skeleton, only ? only : "lifecycle BPF object",
				   stage);
	if (err)
		goto fail;
	*out = vt;
	return 0;
fail:
	gmem_vmtracker_stop(vt);
	return err;
}

struct start_ctx {
	struct gmem_vmtracker **out;
	const struct gmem_kernel *k;
	const struct gmem_vmtracker_opts *opts;
};

static int start_family(void *ctx, enum gmem_attach_mode family)
{
	struct start_ctx *c = ctx;
	const char *stage;

	return start_programs(c->out, c->k, c->opts, NULL, family, &stage);
}

int gmem_vmtracker_start(struct gmem_vmtracker **out, const struct gmem_kernel *k,
			 const struct gmem_vmtracker_opts *opts)
{
	struct start_ctx c = { out, k, opts };
	enum gmem_attach_mode family;

	*out = NULL;
	return gmem_bpf_start_family(opts->attach, "track VMs and memslots", start_family, &c,
				     &family);
}

int gmem_vmtracker_memslots_fd(const struct gmem_vmtracker *vt)
{
	return bpf_map__fd(vt->skel->maps.memslots);
}

enum gmem_attach_mode gmem_vmtracker_family(const struct gmem_vmtracker *vt)
{
	return vt->family;
}

/* Calls add(s, key, value) for every entry of a hash map keyed by __u64. */
static int read_map(int fd, void *value, struct gmem_snapshot *s,
		    int (*add)(struct gmem_snapshot *, __u64, const void *))
{
	__u64 key, next;
	__u64 *prev = NULL;
	int err;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, value))
			continue; /* deleted meanwhile */
		err = add(s, key, value);
		if (err)
			return err;
	}
	return 0;
}

static int add_vm(struct gmem_snapshot *s, __u64 key, const void *v)
{
	return gmem_snapshot_add_vm(s, key, v);
}

static int add_memslot(struct gmem_snapshot *s, __u64 key, const void *v)
{
	return gmem_snapshot_add_memslot(s, key, v);
}

static int add_gmem_file(struct gmem_snapshot *s, __u64 key, const void *v)
{
	return gmem_snapshot_add_gmem_file(s, key, v);
}

enum { MISSED_MODEL, MISSED_ANON_VMA, MISSED_NR };

static unsigned int missed_run_kind(const struct bpf_program *prog)
{
	return strstr(bpf_program__name(prog), "anon_vma_prepare") ? MISSED_ANON_VMA
								  : MISSED_MODEL;
}

/* Is a memslot still waiting for its VMA's first anonymous fault? */
static bool anon_waiting(const struct gmem_vmtracker *vt)
{
	__u64 key[8]; /* struct anon_vma_key (bpf/lifecycle.bpf.c): 16 bytes */

	return !bpf_map_get_next_key(bpf_map__fd(vt->skel->maps.anon_pending), NULL, key);
}

/*
 * Lifecycle runs the kernel skipped (recursion guard) lose a VM, file or
 * memslot event: counted as lost.  But __anon_vma_prepare runs on every
 * anonymous VMA's first fault in the system, and a skipped run loses
 * something only if a memslot waited for that VMA, whose wait then stays
 * in anon_pending: skips since the last read count as lost only while a
 * wait is left.
 */
static void add_missed_runs(struct gmem_vmtracker *vt, struct gmem_stats *st)
{
	__u64 missed[MISSED_NR] = {};

	gmem_bpf_misses_by_kind(vt->skel->skeleton, missed_run_kind, missed);
	if (missed[MISSED_ANON_VMA] > vt->anon_missed && anon_waiting(vt))
		vt->anon_lost += missed[MISSED_ANON_VMA] - vt->anon_missed;
	vt->anon_missed = missed[MISSED_ANON_VMA];
	st->v[GMEM_STAT_RECURSION_MISSED] += missed[MISSED_MODEL] + vt->anon_lost;
}

int gmem_vmtracker_read(struct gmem_vmtracker *vt, struct gmem_snapshot *s)
{
	struct gmem_stats st = {};
	union {
		struct gmem_vm vm;
		struct gmem_memslot m;
		struct gmem_gmem_file f;
	} v;
	int err;

	s->lifecycle = true;
	err = read_map(bpf_map__fd(vt->skel->maps.vms), &v, s, add_vm);
	if (!err)
		err = read_map(bpf_map__fd(vt->skel->maps.memslots), &v, s, add_memslot);
	if (!err)
		err = read_map(bpf_map__fd(vt->skel->maps.gmem_files), &v, s, add_gmem_file);
	if (!err)
		err = gmem_bpf_sum_stats(bpf_map__fd(vt->skel->maps.stats), &st);
	if (err)
		return err;
	s->stats.v[GMEM_STAT_MODEL_MAP_FULL] += st.v[GMEM_STAT_MODEL_MAP_FULL];
	add_missed_runs(vt, &s->stats);
	return 0;
}

/* Does the snapshot still need shared backing 'mapping'? */
static bool backing_in_use(const struct gmem_snapshot *s, __u64 mapping)
{
	for (size_t i = 0; i < s->nr_memslots; i++)
		if (s->memslots[i].m.backing_mapping == mapping)
			return true;
	for (size_t i = 0; i < s->nr_folios; i++)
		if (s->folios[i].tracked && s->folios[i].t.mapping == mapping &&
		    (gmem_folio_tracked_pins(&s->folios[i]) || s->folios[i].t.gets))
			return true;
	return false;
}

void gmem_vmtracker_gc(struct gmem_vmtracker *vt, const struct gmem_snapshot *s)
{
	int fd = bpf_map__fd(vt->skel->maps.backing_mappings);
	__u64 key, next, *prev = NULL;
	struct gmem_backing b;

	/* a -p or -c snapshot does not see every memslot and pin */
	if (s->filter.pid || s->filter.cgroup_id)
		return;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		/* registered after the snapshot was read: not in it yet */
		if (bpf_map_lookup_elem(fd, &key, &b) || b.registered_ns >= s->time_ns)
			continue;
		if (!backing_in_use(s, key) && !bpf_map_delete_elem(fd, &key))
			prev = NULL; /* start over: the deleted key was our cursor */
	}
}

int gmem_vmtracker_share_maps(const struct gmem_vmtracker *vt, struct bpf_object *obj)
{
	struct bpf_map *backing = bpf_object__find_map_by_name(obj, "backing_mappings");
	struct bpf_map *gate = bpf_object__find_map_by_name(obj, "backing_gate");
	struct bpf_map *regions = bpf_object__find_map_by_name(obj, "guest_page_regions");
	struct bpf_map *mms = bpf_object__find_map_by_name(obj, "guest_mms");
	struct bpf_map *mms_gate = bpf_object__find_map_by_name(obj, "guest_mms_gate");
	int err;

	if (!vt)
		return 0;
	if (!backing || !gate || !regions || !mms || !mms_gate)
		return -ENOENT;
	err = bpf_map__reuse_fd(backing, bpf_map__fd(vt->skel->maps.backing_mappings));
	if (!err)
		err = bpf_map__reuse_fd(gate, bpf_map__fd(vt->skel->maps.backing_gate));
	if (!err)
		err = bpf_map__reuse_fd(regions, bpf_map__fd(vt->skel->maps.guest_page_regions));
	if (!err)
		err = bpf_map__reuse_fd(mms, bpf_map__fd(vt->skel->maps.guest_mms));
	if (!err)
		err = bpf_map__reuse_fd(mms_gate, bpf_map__fd(vt->skel->maps.guest_mms_gate));
	if (err)
		gmem_err("failed to share the shared-backing maps with %s: %s",
			 bpf_object__name(obj), strerror(-err));
	return err;
}

void gmem_vmtracker_stop(struct gmem_vmtracker *vt)
{
	if (!vt)
		return;
	gmem_lifecycle__destroy(vt->skel);
	free(vt);
}

static const struct lifecycle_hook *hook_of(const char *func)
{
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (!strcmp(hooks[i].func, func))
			return &hooks[i];
	return NULL;
}

/* A quiet load and attach of 'only' (a section name), or of every program
 * of 'family' when 'only' is NULL, undone at once: 0 when it works. */
static int trial_start(const struct gmem_kernel *k, const char *only,
		       enum gmem_attach_mode family, const char **stage)
{
	struct gmem_vmtracker_opts opts = { .max_vms = 4, .max_files = 4,
					    .max_memslots = 4, .max_backings = 4 };
	struct gmem_vmtracker *vt = NULL;
	bool quiet = gmem_log_set_quiet(true);
	int err = start_programs(&vt, k, &opts, only, family, stage);

	gmem_log_set_quiet(quiet);
	gmem_vmtracker_stop(vt);
	return err;
}

/* One load per family when everything works; one per program to tell
 * which fails (each load is a fraction of a second under TCG). */
int gmem_vmtracker_probe(const struct gmem_kernel *k, gmem_vmtracker_trial_fn fn, void *ctx)
{
	struct gmem_lifecycle *skel = gmem_lifecycle__open();
	struct bpf_program *prog;
	bool fentry_ok, kprobe_ok;
	const char *stage;
	int err = 0;

	if (!skel)
		return -errno;
	fentry_ok = !trial_start(k, NULL, GMEM_ATTACH_FENTRY, &stage);
	kprobe_ok = !trial_start(k, NULL, GMEM_ATTACH_KPROBE, &stage);
	bpf_object__for_each_program(prog, skel->obj) {
		const struct lifecycle_hook *h = hook_of(prog_func(prog));
		struct gmem_vmtracker_trial t = {
			.prog = bpf_program__section_name(prog),
			.func = prog_func(prog),
			.why = h ? h->why : "",
			.stage = "find in BTF",
			.err = -ENOENT,
		};
		bool family_ok = gmem_bpf_in_family(prog, GMEM_ATTACH_KPROBE) ? kprobe_ok
									   : fentry_ok;

		t.in_btf = has_func(k, t.func);
		if (t.in_btf && family_ok)
			t.err = 0; /* loaded and attached with its family */
		else if (t.in_btf)
			t.err = trial_start(k, t.prog, GMEM_ATTACH_AUTO, &t.stage);
		err = fn(ctx, &t);
		if (err)
			break;
	}
	gmem_lifecycle__destroy(skel);
	return err;
}
