// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/tracker.h"

#include "lib/bpfutil.h"
#include "lib/kallsyms.h"
#include "lib/kconfig.h"
#include "lib/log.h"
#include "lib/refs.h"
#include "lib/usym.h"
#include "lib/util.h"
#include "lib/vmtracker.h"
#include "pins.skel.h"

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gmem_tracker {
	struct gmem_pins *skel;
	struct gmem_ref_tracker *refs; /* NULL: no page_ref_* tracepoints */
	struct gmem_kallsyms ksyms; /* for the unpin ranges and the stacks */
	__u64 map_bytes;            /* folio_pins' kernel memory, read once */
	/* folio_pins mapped: the programs' table, read in place */
	const struct gmem_folio_pins *table;
	size_t nr_slots;
	/* idle entries with FOLL_GET references found by the last read, for
	 * gmem_tracker_gc() */
	struct idle_entry {
		__u64 key;
		__u64 last_pin_ns;
		__u32 gets;
	} *idle;
	size_t nr_idle, cap_idle;
	enum gmem_attach_mode family; /* the programs loaded: fentry or kprobe */
	bool ustack;                /* user stacks recorded (--ustack) */
	struct gmem_usyms *usyms;   /* their modules' symbols, kept across snapshots */
};

/*
 * The grab of every pin outside an outer GUP call (memfd_pin_folios(),
 * folio_add_pins()), and the outer calls every kernel has.  The others
 * (gup_call_funcs) are each loaded where the kernel has them: a kernel
 * without one takes no pin through it.
 */
static const char *const required_funcs[] = {
	"try_grab_folio",      /* fexit: grabs outside an outer call */
	"pin_user_pages_fast", /* fentry+fexit: io_uring, O_DIRECT, most pins */
	"pin_user_pages",      /* fentry+fexit: the slow path's */
};

/* The exported unpin functions, indexed by enum gmem_unpin_func.  A kernel
 * that lacks one (unpin_folio(s) and unpin_user_folio came in 6.11-6.12)
 * cannot call it either: its program is simply not loaded. */
static const char *const unpin_funcs[GMEM_UNPIN_NR] = {
	[GMEM_UNPIN_USER_PAGE] = "unpin_user_page",
	[GMEM_UNPIN_USER_PAGES] = "unpin_user_pages",
	[GMEM_UNPIN_USER_PAGES_DIRTY_LOCK] = "unpin_user_pages_dirty_lock",
	[GMEM_UNPIN_USER_PAGE_RANGE_DIRTY_LOCK] = "unpin_user_page_range_dirty_lock",
	[GMEM_UNPIN_FOLIO] = "unpin_folio",
	[GMEM_UNPIN_FOLIOS] = "unpin_folios",
	[GMEM_UNPIN_USER_FOLIO] = "unpin_user_folio",
};

/*
 * Pin paths that do not pass through try_grab_folio() (or may not, when
 * the compiler inlined it), each in some kernels only: a kernel without the
 * function cannot take such a pin either, so its programs are not loaded.
 */
static void configure_extra_pins(struct gmem_pins *skel, const struct gmem_kernel *k)
{
	bool add_pin = gmem_kernel_has_func(k, "folio_add_pin");
	bool add_pins = gmem_kernel_has_func(k, "folio_add_pins");

	bpf_program__set_autoload(skel->progs.folio_add_pin_exit, add_pin);
	bpf_program__set_autoload(skel->progs.folio_add_pins_entry, add_pins);
	bpf_program__set_autoload(skel->progs.folio_add_pins_exit, add_pins);
	bpf_program__set_autoload(skel->progs.try_grab_folio_in_add_pins, add_pins);
	if (!add_pin || !add_pins)
		gmem_debug("%s not in this kernel: not traced",
			   !add_pin && !add_pins ? "folio_add_pin(s)()" :
			   !add_pin ? "folio_add_pin()" : "folio_add_pins()");
}

/*
 * The outer GUP calls, whose page arrays give their pins, with addresses
 * (bpf/pins.bpf.c, gup_call_exit()): each has an entry and an exit program
 * (fentry/fexit, or their kprobe twins), loaded where the kernel has the
 * function (configure_present()).  A pin taken without one of them
 * (memfd_pin_folios()) shows an unknown address.
 */
static const char *const gup_call_funcs[] = {
	"pin_user_pages", "get_user_pages", "pin_user_pages_fast", "get_user_pages_fast",
	"get_user_pages_fast_only", "pin_user_pages_remote", "get_user_pages_remote",
	"pin_user_pages_unlocked", "get_user_pages_unlocked",
};

static bool in_list(const char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] && !strcmp(list[i], name))
			return true;
	return false;
}

static void report_gup_calls(const struct gmem_kernel *k)
{
	for (size_t i = 0; i < sizeof(gup_call_funcs) / sizeof(gup_call_funcs[0]); i++)
		if (!gmem_kernel_has_func(k, gup_call_funcs[i]))
			gmem_debug("%s() not in this kernel: nothing to trace",
				   gup_call_funcs[i]);
}

/* --ustack: a user stack per new holder; without it the map is one entry. */
static void configure_ustack(struct gmem_pins *skel, bool ustack)
{
	skel->rodata->capture_ustack = ustack;
	bpf_map__set_max_entries(skel->maps.user_stacks, ustack ? GMEM_DEFAULT_MAX_USTACKS : 1);
}

static struct bpf_program *unpin_prog(struct gmem_pins *skel, int which)
{
	switch (which) {
	case GMEM_UNPIN_USER_PAGE: return skel->progs.unpin_user_page_entry;
	case GMEM_UNPIN_USER_PAGES: return skel->progs.unpin_user_pages_entry;
	case GMEM_UNPIN_USER_PAGES_DIRTY_LOCK: return skel->progs.unpin_user_pages_dirty_lock_entry;
	case GMEM_UNPIN_USER_PAGE_RANGE_DIRTY_LOCK:
		return skel->progs.unpin_user_page_range_dirty_lock_entry;
	case GMEM_UNPIN_FOLIO: return skel->progs.unpin_folio_entry;
	case GMEM_UNPIN_FOLIOS: return skel->progs.unpin_folios_entry;
	case GMEM_UNPIN_USER_FOLIO: return skel->progs.unpin_user_folio_entry;
	}
	return NULL;
}

static int check_kernel(const struct gmem_kernel *k)
{
	int missing = 0;

	for (size_t i = 0; i < sizeof(required_funcs) / sizeof(required_funcs[0]); i++) {
		if (gmem_kernel_has_func(k, required_funcs[i]))
			continue;
		gmem_err("cannot track pins: %s() is not in this kernel's BTF "
			 "(renamed or inlined in %s)", required_funcs[i], k->release);
		missing++;
	}
	if (!k->foll_pin || !k->foll_get) {
		gmem_err("cannot track pins: FOLL_PIN/FOLL_GET are not in this kernel's BTF");
		missing++;
	}
	return missing ? -ENOENT : 0;
}

/* Switch off the unpin programs this kernel has no function for, and give
 * the others their text ranges (for the nesting check) where ks is given. */
static int configure_unpins(struct gmem_pins *skel, const struct gmem_kernel *k,
			    const struct gmem_kallsyms *ks)
{
	int err = 0;

	for (int f = 0; f < GMEM_UNPIN_NR; f++) {
		__u64 start, end;

		if (!gmem_kernel_has_func(k, unpin_funcs[f])) {
			bpf_program__set_autoload(unpin_prog(skel, f), false);
			gmem_debug("%s() not in this kernel: not traced", unpin_funcs[f]);
			continue;
		}
		if (!ks)
			continue;
		err = gmem_kallsyms_range(ks, unpin_funcs[f], &start, &end);
		if (err) {
			gmem_err("cannot find %s in /proc/kallsyms: %s%s", unpin_funcs[f],
				 strerror(-err),
				 err == -EPERM ? " (addresses hidden: run as root, or lower "
						 "/proc/sys/kernel/kptr_restrict)" : "");
			break;
		}
		skel->rodata->unpin_text_start[f] = start;
		skel->rodata->unpin_text_end[f] = end;
	}
	return err;
}

/* folio_pins' slots: the size asked for (the default if 0) rounded up to
 * a power of two, which the programs' slot index masks. */
static __u32 folio_table_slots(__u32 want)
{
	__u32 n = 1;

	if (!want)
		want = GMEM_DEFAULT_MAX_FOLIOS;
	while (n < want && n < (1u << 31))
		n <<= 1;
	return n;
}

static void configure_folio_table(struct gmem_pins *skel, __u32 max_folios)
{
	__u32 slots = folio_table_slots(max_folios);

	bpf_map__set_max_entries(skel->maps.folio_pins, slots);
	skel->rodata->folio_slot_mask = slots - 1;
	skel->rodata->folio_probe_slots =
		slots < GMEM_FOLIO_PROBE_SLOTS ? slots : GMEM_FOLIO_PROBE_SLOTS;
}

/* Map folio_pins (BPF_F_MMAPABLE) for reading: no syscall per entry. */
static int map_folio_table(struct gmem_tracker *t)
{
	size_t slots = bpf_map__max_entries(t->skel->maps.folio_pins);
	void *p = mmap(NULL, slots * sizeof(*t->table), PROT_READ, MAP_SHARED,
		       bpf_map__fd(t->skel->maps.folio_pins), 0);

	if (p == MAP_FAILED) {
		int err = -errno;

		gmem_err("cannot map the folio table (folio_pins): %s", strerror(errno));
		return err;
	}
	t->table = p;
	t->nr_slots = slots;
	return 0;
}

/* The folio map's kernel memory, from its fdinfo (memlock): fixed once the
 * preallocated map exists, so read once at start. */
static __u64 read_map_bytes(int map_fd)
{
	char path[64], line[128];
	unsigned long long bytes = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", map_fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &bytes) == 1)
			break;
	fclose(f);
	return bytes;
}

/*
 * THREAD_SIZE, for telling the task's stack from an interrupt stack
 * (bpf/pins.bpf.c, on_task_stack()): x86-64's 16 KiB, doubled by KASAN.
 */
static __u64 thread_size(const struct gmem_kernel *k)
{
	struct gmem_kconfig kc = {};
	int kasan;

	gmem_kconfig_load(&kc, k->release);
	kasan = gmem_kconfig_enabled(&kc, "CONFIG_KASAN");
	gmem_kconfig_free(&kc);
	return kasan ? 32768 : 16384;
}

/*
 * Without the lifecycle object nothing says which mms map guest memory
 * (bpf/backing.bpf.h, guest_mms): let every outer GUP call through.
 */
static void open_mm_filter(struct gmem_pins *skel)
{
	__u32 zero = 0, all = GMEM_GUEST_MMS_ANY | GMEM_GUEST_MMS_OVERFLOW;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.guest_mms_gate), &zero, &all, BPF_ANY))
		gmem_warn("cannot open the mm filter: %s; pins may go unseen", strerror(errno));
}

/* Keep only program 'only' (a section name) set to load. */
static void keep_only(struct gmem_pins *skel, const char *only)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj)
		if (strcmp(bpf_program__section_name(prog), only))
			bpf_program__set_autoload(prog, false);
}

/* Switch off every program whose function this kernel lacks (the kprobe
 * twins: configure_unpins() and configure_extra_pins() see to the rest). */
static void configure_present(struct gmem_pins *skel, const struct gmem_kernel *k)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		const char *slash = strchr(bpf_program__section_name(prog), '/');

		if (slash && !gmem_kernel_has_func(k, slash + 1))
			bpf_program__set_autoload(prog, false);
	}
}

/* Open, configure, load and attach the pins object: every program of
 * 'family' whose function this kernel has, or only program 'only'.
 * *stage says which step failed. */
static int start_programs(struct gmem_tracker **out, const struct gmem_kernel *k,
			  const struct gmem_tracker_opts *opts, const char *only,
			  enum gmem_attach_mode family, const char **stage)
{
	struct gmem_tracker *t;
	int err;

	*stage = "open";
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->skel = gmem_pins__open();
	if (!t->skel) {
		err = -errno;
		gmem_err("failed to open pins BPF object: %s", strerror(errno));
		goto fail;
	}
	t->skel->rodata->foll_pin = k->foll_pin;
	t->skel->rodata->foll_get = k->foll_get;
	t->skel->rodata->foll_longterm = k->foll_longterm;
	t->skel->rodata->filter_tgid = opts->filter_tgid;
	configure_folio_table(t->skel, opts->max_folios);
	/* a trial of one program only loads and attaches it: no ranges, no
	 * THREAD_SIZE, and no reading of kallsyms (a second under TCG) or of
	 * the kernel config per trial */
	if (!only) {
		t->skel->rodata->thread_size = thread_size(k);
		*stage = "read /proc/kallsyms";
		err = gmem_kallsyms_load(&t->ksyms);
		if (err) {
			gmem_err("cannot read /proc/kallsyms: %s", strerror(-err));
			goto fail;
		}
	}
	err = configure_unpins(t->skel, k, only ? NULL : &t->ksyms);
	if (err)
		goto fail;
	configure_extra_pins(t->skel, k);
	configure_present(t->skel, k);
	report_gup_calls(k);
	/* last: switches off the other family's programs, whatever the
	 * configure_* above chose */
	gmem_bpf_keep_family(t->skel->obj, family);
	t->family = family;
	configure_ustack(t->skel, opts->ustack);
	t->ustack = opts->ustack;
	if (only)
		keep_only(t->skel, only);
	/* the shared backing of memslots (bpf/backing.bpf.h) */
	err = gmem_vmtracker_share_maps(opts->vmtracker, t->skel->obj);
	if (err)
		goto fail;
	if (opts->check_events_fd > 0) {
		t->skel->rodata->log_releases = true;
		err = bpf_map__reuse_fd(t->skel->maps.check_events, opts->check_events_fd);
		if (err) {
			gmem_err("failed to share check_events with the pins BPF object: %s",
				 strerror(-err));
			goto fail;
		}
	}

	err = gmem_bpf_load_attach(t->skel->skeleton, only ? only : "pins BPF object", stage);
	if (err)
		goto fail;
	if (!opts->vmtracker)
		open_mm_filter(t->skel);
	t->map_bytes = read_map_bytes(bpf_map__fd(t->skel->maps.folio_pins));
	err = map_folio_table(t);
	if (err)
		goto fail;
	*out = t;
	return 0;
fail:
	gmem_tracker_stop(t);
	return err;
}

/*
 * Extra references are attributed on request (opts->refs) where the kernel
 * has the page_ref_* tracepoints; otherwise each folio's surplus is shown
 * unattributed, as it is when they fail to load (a warning says why).  Not
 * by default: attaching enables tracepoints on every refcount change in
 * the system (make bench: pinning ordinary memory 18x slower under TCG).
 */
static void start_refs(struct gmem_tracker *t, const struct gmem_kernel *k,
		       const struct gmem_tracker_opts *opts)
{
	if (!opts->refs)
		return;
	if (!gmem_refs_supported(k)) {
		gmem_warn("--refs: no page_ref_* tracepoints (CONFIG_DEBUG_PAGE_REF is not set): "
			  "extra references are shown unattributed");
		return;
	}
	if (gmem_refs_start(&t->refs, opts->filter_tgid, opts->max_ref_folios,
			    bpf_map__fd(t->skel->maps.pin_stacks)))
		gmem_warn("extra references are shown unattributed");
}

struct start_ctx {
	struct gmem_tracker **out;
	const struct gmem_kernel *k;
	const struct gmem_tracker_opts *opts;
};

static int start_family(void *ctx, enum gmem_attach_mode family)
{
	struct start_ctx *c = ctx;
	const char *stage;

	return start_programs(c->out, c->k, c->opts, NULL, family, &stage);
}

int gmem_tracker_start(struct gmem_tracker **out, const struct gmem_kernel *k,
		       const struct gmem_tracker_opts *opts)
{
	struct start_ctx c = { out, k, opts };
	enum gmem_attach_mode family;
	int err;

	*out = NULL;
	err = check_kernel(k);
	if (err)
		return err;
	err = gmem_bpf_start_family(opts->attach, "track pins", start_family, &c, &family);
	if (!err)
		start_refs(*out, k, opts);
	return err;
}

enum gmem_attach_mode gmem_tracker_family(const struct gmem_tracker *t)
{
	return t->family;
}

static bool is_required(const char *func)
{
	return in_list(required_funcs, sizeof(required_funcs) / sizeof(required_funcs[0]), func);
}

/* Section names of the programs of the pins object, each once (two
 * programs may share an attach point), NULL-terminated. */
static char **program_names(void)
{
	struct gmem_pins *skel = gmem_pins__open();
	struct bpf_program *prog;
	char **names = NULL;
	size_t n = 0;

	if (!skel)
		return NULL;
	names = calloc(skel->skeleton->prog_cnt + 1, sizeof(*names));
	bpf_object__for_each_program(prog, skel->obj) {
		/* SEC("syscall") (recover_missed_unpins): nothing to attach,
		 * loaded with the rest */
		if (!strchr(bpf_program__section_name(prog), '/'))
			continue;
		if (names && in_list((const char *const *)names, n, bpf_program__section_name(prog)))
			continue;
		if (!names || !(names[n++] = strdup(bpf_program__section_name(prog)))) {
			gmem_free_strv(names);
			names = NULL;
			break;
		}
	}
	gmem_pins__destroy(skel);
	return names;
}

/* Is the program's function in BTF?  (err -ENOENT if not, else 0) */
static void trial_found(const struct gmem_kernel *k, struct gmem_tracker_trial *tr)
{
	const char *slash = strchr(tr->prog, '/');

	tr->func = slash ? slash + 1 : tr->prog;
	tr->in_btf = gmem_kernel_has_func(k, tr->func);
	tr->required = (tr->in_btf || is_required(tr->func)) && tr->in_family;
	tr->stage = "find in BTF";
	tr->err = tr->in_btf ? 0 : -ENOENT;
}

/* One program alone: is its function here, does it load and attach? */
static void trial(const struct gmem_kernel *k, struct gmem_tracker_trial *tr)
{
	struct gmem_tracker_opts opts = { .max_folios = 64 };
	struct gmem_tracker *t = NULL;
	bool quiet;

	trial_found(k, tr);
	if (!tr->in_btf)
		return;
	quiet = gmem_log_set_quiet(true);
	tr->err = start_programs(&t, k, &opts, tr->prog, GMEM_ATTACH_AUTO, &tr->stage);
	gmem_log_set_quiet(quiet);
	gmem_tracker_stop(t);
}

/* All programs of 'family' at once, as gmemtop loads them: 0 when all work. */
static int trial_all(const struct gmem_kernel *k, enum gmem_attach_mode family)
{
	struct gmem_tracker_opts opts = { .max_folios = 64 };
	struct gmem_tracker *t = NULL;
	bool quiet = gmem_log_set_quiet(true);
	const char *stage;
	int err = start_programs(&t, k, &opts, NULL, family, &stage);

	gmem_log_set_quiet(quiet);
	gmem_tracker_stop(t);
	return err;
}

/* Is section 'sec' one of the kprobe twins? */
static bool is_kprobe_section(const char *sec)
{
	return !strncmp(sec, "kprobe/", 7) || !strncmp(sec, "kretprobe/", 10);
}

int gmem_tracker_probe_mode(const struct gmem_kernel *k, gmem_tracker_trial_fn fn, void *ctx,
			    enum gmem_attach_mode *works)
{
	char **names = program_names();
	int err = names ? 0 : -ENOMEM;
	/* one load per family when everything works; one per program to
	 * tell which fails */
	bool fentry_ok = names && !trial_all(k, GMEM_ATTACH_FENTRY);
	bool kprobe_ok = names && !trial_all(k, GMEM_ATTACH_KPROBE);
	/* the family gmemtop would use; fentry's failures when neither works */
	bool use_kprobe = !fentry_ok && kprobe_ok;

	*works = fentry_ok ? GMEM_ATTACH_FENTRY : kprobe_ok ? GMEM_ATTACH_KPROBE
							    : GMEM_ATTACH_AUTO;
	for (size_t i = 0; names && names[i] && !err; i++) {
		struct gmem_tracker_trial tr = { .prog = names[i] };
		bool kprobe = is_kprobe_section(names[i]);

		tr.in_family = kprobe == use_kprobe;
		if (kprobe ? kprobe_ok : fentry_ok)
			trial_found(k, &tr);
		else
			trial(k, &tr);
		err = fn(ctx, &tr);
	}
	gmem_free_strv(names);
	return err;
}

int gmem_tracker_probe(const struct gmem_kernel *k, gmem_tracker_trial_fn fn, void *ctx)
{
	enum gmem_attach_mode works;

	return gmem_tracker_probe_mode(k, fn, ctx, &works);
}

/* Symbolise stack 'id' from pin_stacks into the snapshot (once per id). */
int gmem_tracker_read_stack(struct gmem_tracker *t, struct gmem_snapshot *s, __s32 id)
{
	__u64 ips[GMEM_MAX_STACK_DEPTH] = {}, offs[GMEM_MAX_STACK_DEPTH];
	const char *names[GMEM_MAX_STACK_DEPTH];
	__u32 key = (__u32)id;
	int nr = 0;

	if (id < 0 || gmem_snapshot_find_stack(s, id))
		return 0;
	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.pin_stacks), &key, ips))
		return 0; /* gone (reused id): the folio shows no stack */
	for (int i = 0; i < GMEM_MAX_STACK_DEPTH && ips[i]; i++) {
		names[nr] = gmem_kallsyms_lookup(&t->ksyms, ips[i], &offs[nr]);
		/* the innermost frames are our own program and its trampoline */
		if (!names[nr] && !nr)
			continue;
		if (!names[nr])
			offs[nr] = ips[i];
		nr++;
	}
	return gmem_snapshot_add_stack(s, id, names, offs, nr);
}

/* The mappings of the processes a snapshot's user stacks belong to, each
 * read once per snapshot. */
struct proc_maps {
	__u32 tgid;
	struct gmem_umaps maps;
};

static void free_proc_maps(struct proc_maps *pm, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		gmem_umaps_free(&pm[i].maps);
	free(pm);
}

/* The mappings of 'tgid' (empty when it is gone: frames show addresses). */
static const struct gmem_umaps *maps_of(struct proc_maps **pm, size_t *nr, size_t *cap,
					__u32 tgid)
{
	struct proc_maps *p;

	for (size_t i = 0; i < *nr; i++)
		if ((*pm)[i].tgid == tgid)
			return &(*pm)[i].maps;
	p = gmem_array_grow((void **)pm, nr, cap, sizeof(*p));
	if (!p)
		return NULL;
	p->tgid = tgid;
	if (gmem_umaps_load(&p->maps, tgid) == -ENOMEM)
		return NULL;
	return &p->maps;
}

/* Symbolise user stack 'id' of process 'tgid' into the snapshot, with the
 * process's mappings now (once per process and stack). */
static int read_ustack(struct gmem_tracker *t, struct gmem_snapshot *s,
		       const struct gmem_umaps *maps, __u32 tgid, __s32 id)
{
	__u64 ips[GMEM_MAX_STACK_DEPTH] = {};
	char bufs[GMEM_MAX_STACK_DEPTH][320];
	const char *frames[GMEM_MAX_STACK_DEPTH];
	__u32 key = (__u32)id;
	int nr = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.user_stacks), &key, ips))
		return 0; /* gone: the folio shows no user stack */
	for (int i = 0; i < GMEM_MAX_STACK_DEPTH && ips[i]; i++) {
		gmem_usyms_frame(t->usyms, maps, ips[i], bufs[nr], sizeof(bufs[nr]));
		frames[nr] = bufs[nr];
		nr++;
	}
	return gmem_snapshot_add_ustack(s, tgid, id, frames, nr);
}

/* The user stacks of the snapshot's tracked folios. */
static int read_ustacks(struct gmem_tracker *t, struct gmem_snapshot *s)
{
	struct proc_maps *pm = NULL;
	size_t nr = 0, cap = 0;
	int err = 0;

	s->ustack = true;
	if (!t->usyms && !(t->usyms = gmem_usyms_new()))
		return -ENOMEM;
	for (size_t i = 0; !err && i < s->nr_folios; i++) {
		const struct gmem_folio_pins *v = &s->folios[i].t;
		const struct gmem_umaps *maps;

		if (!s->folios[i].tracked || v->ustack_id < 0 ||
		    gmem_snapshot_find_ustack(s, v->tgid, v->ustack_id))
			continue;
		maps = maps_of(&pm, &nr, &cap, v->tgid);
		err = maps ? read_ustack(t, s, maps, v->tgid, v->ustack_id) : -ENOMEM;
	}
	free_proc_maps(pm, nr);
	return err;
}

/*
 * An entry whose pins have been 0 this long has its FOLL_GET count cleared
 * if the kernel no longer shows them (gmem_tracker_gc()).  Idle entries
 * themselves stay until a new folio takes their slot (bpf/pins.bpf.c).
 */
#define IDLE_ENTRY_NS (2ull * 1000000000)
/* A folio whose pins were all released is listed this long after. */
#define RELEASED_SHOWN_NS (10ull * 1000000000)

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int remember_idle(struct gmem_tracker *t, __u64 key, const struct gmem_folio_pins *v)
{
	if (t->nr_idle == t->cap_idle) {
		size_t cap = t->cap_idle ? t->cap_idle * 2 : 256;
		struct idle_entry *n = realloc(t->idle, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->idle = n;
		t->cap_idle = cap;
	}
	t->idle[t->nr_idle++] = (struct idle_entry){ key, v->last_pin_ns, v->gets };
	return 0;
}

/* Does the snapshot show FOLL_GET references of this folio still held? */
static bool gets_still_held(const struct gmem_snapshot *s, __u64 folio)
{
	if (!s->scanned)
		return false; /* cannot tell: forget it like any idle entry */
	for (size_t i = 0; i < s->nr_folios; i++)
		if (s->folios[i].addr == folio)
			return s->folios[i].gets_held > 0;
	return false;
}

/* An outer GUP call noted this long ago whose exit never ran (a run the
 * kernel skipped, a thread gone): forgotten, so that the map of calls in
 * flight does not fill.  A call still running after that long shows its
 * pins' addresses as unknown. */
#define STALE_GUP_CALL_NS (60ull * 1000000000)

static void forget_stale_gup_calls(struct gmem_tracker *t)
{
	int fd = bpf_map__fd(t->skel->maps.gup_calls);
	__u64 now = monotonic_ns(), key, next, *prev = NULL;
	__u64 stale[64];
	struct gmem_gup_call c;
	size_t n = 0;

	/* collected first: a hash map's walk restarts when its key is deleted */
	while (n < sizeof(stale) / sizeof(stale[0]) && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &c) && now > c.start_ns + STALE_GUP_CALL_NS)
			stale[n++] = key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &stale[i]);
}

/* FOLL_GET references of an idle entry released unseen: 0, in place
 * (bpf/pins.bpf.c forget_gets), if the entry did not change since. */
static void forget_gets(struct gmem_tracker *t, const struct idle_entry *e)
{
	struct gmem_forget_gets args = { .folio = e->key, .last_pin_ns = e->last_pin_ns,
					 .gets = e->gets };

	/* a failure is reported; the entry keeps its count until the next try */
	gmem_bpf_run(t->skel->progs.forget_gets, &args, sizeof(args));
}

void gmem_tracker_gc(struct gmem_tracker *t, const struct gmem_snapshot *s)
{
	forget_stale_gup_calls(t);
	for (size_t i = 0; i < t->nr_idle; i++)
		if (!gets_still_held(s, t->idle[i].key))
			forget_gets(t, &t->idle[i]);
	t->nr_idle = 0;
	if (t->refs)
		gmem_refs_gc(t->refs, s);
}

/* The page_ref holders, their stacks from the shared stack map. */
static int read_ref_holders(struct gmem_tracker *t, struct gmem_snapshot *s)
{
	size_t first = s->nr_ref_holders;
	int err = gmem_refs_read(t->refs, s);

	for (size_t i = first; !err && i < s->nr_ref_holders; i++)
		err = gmem_tracker_read_stack(t, s, s->ref_holders[i].h.stack_id);
	return err;
}

/* What a run the kernel skipped costs, by program (bpf/pins.bpf.c). */
enum missed_run {
	MISSED_LOST,    /* pins or FOLL_GET references (an outer GUP call's) */
	MISSED_UNPIN,   /* an unpin: recovered from the kernel's count */
	MISSED_NR,
};

/* What a skipped run of prog lost, by the function it is attached to. */
static unsigned int missed_run_kind(const struct bpf_program *prog)
{
	const char *slash = strchr(bpf_program__section_name(prog), '/');
	const char *func = slash ? slash + 1 : "";

	return in_list(unpin_funcs, GMEM_UNPIN_NR, func) ? MISSED_UNPIN : MISSED_LOST;
}

static void add_missed_runs(struct gmem_tracker *t, struct gmem_stats *st)
{
	__u64 missed[MISSED_NR] = {};

	gmem_bpf_misses_by_kind(t->skel->skeleton, missed_run_kind, missed);
	st->v[GMEM_STAT_RECURSION_MISSED] += missed[MISSED_LOST];
	st->v[GMEM_STAT_UNPIN_RUNS_MISSED] = missed[MISSED_UNPIN];
}

/* Bring folios whose unpins the kernel skipped down to the kernel's count
 * (bpf/pins.bpf.c, recover_unpins()), so that the read below is exact. */
static int recover_missed_unpins(struct gmem_tracker *t)
{
	return gmem_bpf_run(t->skel->progs.recover_missed_unpins, NULL, 0);
}

int gmem_tracker_read(struct gmem_tracker *t, struct gmem_snapshot *s)
{
	__u64 now = monotonic_ns();
	struct gmem_folio_pins v;
	int err;

	t->nr_idle = 0;
	err = recover_missed_unpins(t);
	if (err)
		return err;
	for (size_t i = 0; i < t->nr_slots; i++) {
		__u64 key;

		if (!t->table[i].folio)
			continue;
		/* the programs change entries as we copy: the counts are one
		 * word each, and a slot being taken over says so */
		memcpy(&v, &t->table[i], sizeof(v));
		key = v.folio;
		if (!key || v.pins == GMEM_PINS_DEAD)
			continue;
		if (v.pins == 0) {
			if (v.gets && now > v.last_pin_ns + IDLE_ENTRY_NS &&
			    (err = remember_idle(t, key, &v)))
				return err;
			/* all released: shown as such for a while (transient
			 * pins), with its last holder's stack */
			if (!v.gets && v.last_pin_ns && now <= v.last_pin_ns + RELEASED_SHOWN_NS &&
			    !(err = gmem_snapshot_add_released(s, key, &v)))
				err = gmem_tracker_read_stack(t, s, v.stack_id);
			if (err)
				return err;
			if (!v.gets)
				continue;
		}
		err = gmem_snapshot_add_tracked(s, key, &v);
		if (!err)
			err = gmem_tracker_read_stack(t, s, v.stack_id);
		if (err)
			return err;
	}
	s->tracking = true;
	if (t->ustack && (err = read_ustacks(t, s)))
		return err;
	err = gmem_bpf_sum_stats(bpf_map__fd(t->skel->maps.stats), &s->stats);
	if (err)
		return err;
	add_missed_runs(t, &s->stats);
	return t->refs ? read_ref_holders(t, s) : 0;
}

void gmem_tracker_stop(struct gmem_tracker *t)
{
	if (!t)
		return;
	gmem_refs_stop(t->refs);
	if (t->table)
		munmap((void *)t->table, t->nr_slots * sizeof(*t->table));
	gmem_pins__destroy(t->skel);
	gmem_kallsyms_free(&t->ksyms);
	gmem_usyms_free(t->usyms);
	free(t->idle);
	free(t);
}

int gmem_tracker_map_size(struct gmem_tracker *t, __u64 *bytes, __u32 *max_entries)
{
	*max_entries = bpf_map__max_entries(t->skel->maps.folio_pins);
	*bytes = t->map_bytes;
	return t->map_bytes ? 0 : -ENOENT;
}
