/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The guest-memory model: one snapshot of what the tracker recorded and what
 * the kernel's own counters say, joined per folio and summed per process
 * and per guest_memfd file.  It knows nothing of libbpf: unit tests feed it
 * decoded records directly.
 */
#ifndef GMEM_MODEL_H
#define GMEM_MODEL_H

#include <gmem/abi.h>
#include <stdbool.h>
#include <stddef.h>

/* A symbolised kernel stack of a first pin, shared by the folios it pinned. */
struct gmem_stack {
	__s32 id;     /* stack_id in the pin_stacks map */
	int nr;
	char **frames; /* "function+0xoff", innermost first */
	int api;      /* enum gmem_api */
	bool cache_or_mapping; /* a reference the page cache or a mapping owns */
};

/* A holder of extra references on a folio, seen by the page_ref_* tracepoints. */
struct gmem_ref_holder_entry {
	__u64 folio;
	struct gmem_ref_holder h;
	/* set by gmem_snapshot_finish(): its references the kernel's surplus
	 * on the folio confirms (0 for page-cache and mapping references) */
	__u32 shown_refs;
};

/* A pinner's user stack, symbolised when the snapshot was taken: per
 * process, since the same addresses mean different code in another one. */
struct gmem_ustack {
	__u32 tgid;
	__s32 id;      /* ustack_id in the user_stacks map */
	int nr;
	char **frames; /* "function+0xoff (module+0xoff)", innermost first */
};

/* One folio, as tracked and as the kernel counts it. */
struct gmem_folio {
	__u64 addr;  /* kernel address of struct folio */
	__u64 ino;
	__u32 dev;
	__u64 index;
	bool tracked;
	struct gmem_folio_pins t; /* valid if tracked */
	bool scanned;
	struct gmem_scan_folio k; /* valid if scanned */
	/* set by gmem_snapshot_finish(): references the kernel holds beyond
	 * the page cache's, the mappings' and the pins' (-1: not known), and
	 * how many of them are FOLL_GET references tracking saw taken */
	int extra_refs;
	__u32 gets_held;
	/* of extra_refs, those the page_ref_* tracepoints attribute to a holder */
	__u32 refs_attributed;
	/* set by gmem_snapshot_finish() (vmmodel.c): where the folio is guest
	 * memory; memslot < 0 when no known memslot covers it */
	int memslot;     /* index in the snapshot's memslots */
	int vm;          /* index in the snapshot's vms (-1: not known) */
	bool shared;     /* a memslot's shared backing, not guest_memfd */
	__u64 gfn;       /* valid when memslot >= 0 */
};

/* One guest_memfd file. */
struct gmem_file {
	__u64 ino;
	__u32 dev;
	__u64 size;
	__u32 owner_tgid; /* a process holding it open (0: none seen) */
	__u32 owner_fd;
	char owner_comm[GMEM_COMM_LEN];
	bool scanned;     /* the kernel's counts below are valid */
	bool truncated;   /* the walk hit its bound: kernel counts are low */
	/* tracked by our programs */
	__u32 tracked_folios;
	__u64 tracked_pins;
	/* the kernel's own counts */
	__u32 kernel_folios;
	__u32 kernel_pinned_folios;
	__u64 kernel_pins;
	__u32 kernel_extra_ref_folios;
	__u64 kernel_extra_refs; /* summed over the folios the scan reported */
	/* extra references that no tracked FOLL_GET explains (valid when
	 * scanned; the kernel holds them, we cannot say who) */
	__u64 unattributed_refs;
	/* pins the kernel counts that tracking did not see taken: taken before
	 * tracking began (valid when both sources are; never negative) */
	__u64 untracked_pins;
	__u64 first_pin_ns; /* oldest tracked pin on it (0: none) */
	/* the guest memory model (vmmodel.c) */
	__u64 kvm;          /* owning VM (struct kvm *; 0: not known) */
	int vm;             /* index in the snapshot's vms (-1: not known) */
	bool shared_backing; /* a memslot's userspace_addr backing, not a guest_memfd */
	bool lifecycle;     /* its creation was seen (gmem_flags, created_ns valid) */
	__u64 gmem_flags;   /* GUEST_MEMFD_FLAG_* */
	__u64 created_ns;
};

/* One VM: from the lifecycle programs, or found by the scan. */
struct gmem_vm_info {
	__u64 kvm;          /* struct kvm *: the key */
	char name[32];      /* "kvm-TGID", "kvm-TGID.N" for a process's N-th VM */
	struct gmem_vm v;
	bool tracked;       /* its creation was seen */
	bool scanned;       /* the scan found its file */
	__u32 nr_memslots, nr_files;
	__u32 gmem_folios, shared_folios;   /* pinned folios */
	__u64 gmem_pins, shared_pins;       /* tracked pins */
	__u64 untracked_pins;               /* on its guest_memfd files */
};

/* One memslot. */
struct gmem_memslot_info {
	__u64 addr;         /* struct kvm_memory_slot * */
	struct gmem_memslot m;
	int vm;             /* index in vms (-1: not known) */
	bool tracked;       /* in the lifecycle map (else: found by the scan) */
	__u32 gmem_folios, shared_folios;
	__u64 gmem_pins, shared_pins;
};

/* One pinning process. */
struct gmem_process {
	__u32 tgid;
	char comm[GMEM_COMM_LEN];
	__u32 folios;
	__u64 pins;
	__u64 gets;  /* FOLL_GET references it took that the kernel still holds */
	__u64 first_pin_ns;
	bool longterm;
	__u32 api_mask;  /* 1 << enum gmem_api, for every API it pinned through */
};

/* What a snapshot is narrowed to (0: everything). */
struct gmem_filter {
	__u32 pid;       /* pins taken by, files held by this process: applied by
			  * the BPF programs, recorded here to be shown */
	__u64 cgroup_id; /* folios first pinned from this cgroup (v2 id): applied
			  * by gmem_snapshot_finish() */
};

enum gmem_sort {
	GMEM_SORT_PINS,      /* most pins first (the default) */
	GMEM_SORT_PID,       /* pinning or owning process, lowest first */
	GMEM_SORT_COMM,      /* its name, in byte order */
	GMEM_SORT_AGE,       /* oldest first pin first */
	GMEM_SORT_FILE,      /* by file (dev, inode) and index */
	GMEM_SORT_UNTRACKED, /* most pins of unknown holder first */
	GMEM_SORT_EXTRA,     /* files: most folios with extra references first */
	GMEM_SORT_NR,
};

struct gmem_snapshot {
	__u64 time_ns;      /* CLOCK_MONOTONIC when taken */
	__u64 realtime_ns;  /* CLOCK_REALTIME when taken */
	bool tracking;      /* pin tracking was attached */
	bool scanned;       /* the kernel scan ran */
	__u64 map_bytes;    /* kernel memory of the tracked-folio map (0: unknown) */
	__u32 map_entries;  /* its capacity */
	struct gmem_stats stats;
	__u32 bad_records;  /* malformed scan records rejected */
	struct gmem_filter filter; /* set before gmem_snapshot_finish() */
	enum gmem_sort sort;       /* set by gmem_snapshot_sort() */

	struct gmem_folio *folios;
	size_t nr_folios, cap_folios;
	struct gmem_file *files;
	size_t nr_files, cap_files;
	struct gmem_process *procs;
	size_t nr_procs, cap_procs;
	struct gmem_stack *stacks;
	size_t nr_stacks, cap_stacks;
	bool page_ref;      /* extra references attributed by page_ref_* tracepoints */
	struct gmem_ref_holder_entry *ref_holders;
	size_t nr_ref_holders, cap_ref_holders;
	/* the guest memory model (vmmodel.c) */
	bool lifecycle;     /* VMs, files and memslots were tracked */
	struct gmem_vm_info *vms;
	size_t nr_vms, cap_vms;
	struct gmem_memslot_info *memslots;
	size_t nr_memslots, cap_memslots;
	struct gmem_gmem_file_rec {
		__u64 mapping;
		struct gmem_gmem_file f;
	} *gmem_files;
	size_t nr_gmem_files, cap_gmem_files;
	struct gmem_gmem_owner {
		__u32 dev;
		__u64 ino, kvm;
	} *owners;
	size_t nr_owners, cap_owners;
	/* tracked folios whose pins were all released since the tracker last
	 * forgot idle entries (released.c): transient pins, such as KVM's own
	 * maps of guest pages, that no snapshot catches held */
	struct gmem_released_pin {
		__u64 folio;
		struct gmem_folio_pins v;
	} *released;
	size_t nr_released, cap_released;
	/* pinners' user stacks (gmemtop --ustack; ustack.c) */
	bool ustack;        /* user stacks were recorded */
	struct gmem_ustack *ustacks;
	size_t nr_ustacks, cap_ustacks;
};

void gmem_snapshot_init(struct gmem_snapshot *s);
void gmem_snapshot_free(struct gmem_snapshot *s);

/* Add one tracked folio (a folio_pins map entry). */
int gmem_snapshot_add_tracked(struct gmem_snapshot *s, __u64 folio,
			      const struct gmem_folio_pins *v);
/* Add the stack with id 'id': function names (innermost first) and offsets;
 * the API is told from the names.  Names are copied. */
int gmem_snapshot_add_stack(struct gmem_snapshot *s, __s32 id, const char *const *names,
			    const __u64 *offsets, int nr);
const struct gmem_stack *gmem_snapshot_find_stack(const struct gmem_snapshot *s, __s32 id);
/* The API that pinned a tracked folio (GMEM_API_OTHER if no stack). */
int gmem_folio_api(const struct gmem_snapshot *s, const struct gmem_folio *f);

/* Add user stack 'id' of process 'tgid', its frames already symbolised
 * (copied); find it; the folio's, or NULL (ustack.c). */
int gmem_snapshot_add_ustack(struct gmem_snapshot *s, __u32 tgid, __s32 id,
			     const char *const *frames, int nr);
const struct gmem_ustack *gmem_snapshot_find_ustack(const struct gmem_snapshot *s, __u32 tgid,
						     __s32 id);
const struct gmem_ustack *gmem_folio_ustack(const struct gmem_snapshot *s,
					    const struct gmem_folio *f);
void gmem_snapshot_free_ustacks(struct gmem_snapshot *s);
/* Where the folio's holder pinned it (false: not known, *mm and *addr 0). */
bool gmem_folio_pin_address(const struct gmem_folio *f, __u64 *mm, __u64 *addr);

/* Add one holder of extra references on 'folio' (a folio_refs slot). */
int gmem_snapshot_add_ref_holder(struct gmem_snapshot *s, __u64 folio,
				 const struct gmem_ref_holder *h);
/* The lifecycle maps' entries (vmmodel.c). */
int gmem_snapshot_add_vm(struct gmem_snapshot *s, __u64 kvm, const struct gmem_vm *v);
int gmem_snapshot_add_memslot(struct gmem_snapshot *s, __u64 slot, const struct gmem_memslot *m);
int gmem_snapshot_add_gmem_file(struct gmem_snapshot *s, __u64 mapping,
				const struct gmem_gmem_file *f);
/* The scan's model records (GMEM_EV_SCAN_VM, _MEMSLOT, _GMEM_OWNER); 1 if
 * 'data' is none of them or malformed (the caller counts it as bad). */
int gmem_snapshot_add_model_record(struct gmem_snapshot *s, const void *data, size_t len);
/* Join VMs, memslots, files and folios (called by gmem_snapshot_finish()). */
int gmem_snapshot_join_vms(struct gmem_snapshot *s);
void gmem_snapshot_free_vms(struct gmem_snapshot *s);
const struct gmem_vm_info *gmem_snapshot_find_vm(const struct gmem_snapshot *s, __u64 kvm);

/* Add a tracked folio whose pins were all released (released.c). */
int gmem_snapshot_add_released(struct gmem_snapshot *s, __u64 folio,
			       const struct gmem_folio_pins *v);

/* Decode and add one scan record; -EINVAL for a malformed one. */
int gmem_snapshot_add_scan_record(struct gmem_snapshot *s, const void *data, size_t len);
/* Join folios, build the per-file and per-process views, sort. */
int gmem_snapshot_finish(struct gmem_snapshot *s);

/* For the library's own model code: grow an array of 'size'-byte elements
 * by one zeroed element (NULL: no memory); the file (dev, ino), added if
 * absent. */
void *gmem_array_grow(void **arr, size_t *nr, size_t *cap, size_t size);
struct gmem_file *gmem_snapshot_file_of(struct gmem_snapshot *s, __u32 dev, __u64 ino);

const struct gmem_file *gmem_snapshot_find_file(const struct gmem_snapshot *s, __u32 dev,
						 __u64 ino);

/* Pins of a folio as tracked (0 if untracked) and as counted by the kernel. */
static inline __u32 gmem_folio_tracked_pins(const struct gmem_folio *f)
{
	return f->tracked && f->t.pins != GMEM_PINS_DEAD ? f->t.pins : 0;
}

/* Pins on a folio that the kernel counts but tracking did not see taken. */
static inline __u32 gmem_folio_untracked_pins(const struct gmem_folio *f)
{
	__u32 t = gmem_folio_tracked_pins(f);

	return f->scanned && f->k.pins > t ? f->k.pins - t : 0;
}

/*
 * Sort orders (gmemtop -s), in sort.c.  Every order ends in a tie-break on
 * a unique key (pid; dev, inode and index), so that equal rows come out the
 * same way every time.
 */
/* "pins", "pid", ...; -EINVAL for anything else. */
int gmem_parse_sort(const char *s, enum gmem_sort *out);
const char *gmem_sort_name(enum gmem_sort key);
/* The valid names, comma-separated, for messages. */
const char *gmem_sort_names(void);
/* Pins on a file or folio as best known: tracked plus untracked, or the
 * kernel's count where nothing was tracked. */
__u64 gmem_file_pins(const struct gmem_snapshot *s, const struct gmem_file *f);
__u32 gmem_folio_pins(const struct gmem_folio *f);
/* Order the process, file and folio tables by 'key' (after
 * gmem_snapshot_finish()); a key that means nothing for a table (file for
 * processes, extra for processes and folios) orders it by pins. */
void gmem_snapshot_sort(struct gmem_snapshot *s, enum gmem_sort key);

/* Extra references on a folio that neither a tracked FOLL_GET nor a
 * page_ref holder explains (valid when extra_refs >= 0). */
static inline __u32 gmem_folio_unattributed_refs(const struct gmem_folio *f)
{
	__u32 explained = f->gets_held > f->refs_attributed ? f->gets_held : f->refs_attributed;

	return f->extra_refs > 0 ? (__u32)f->extra_refs - explained : 0;
}

/* Events lost anywhere: a snapshot with any is not exact. */
__u64 gmem_stats_lost(const struct gmem_stats *st);
const char *gmem_stat_name(enum gmem_stat which);

#endif
