/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Pin tracking: loads and attaches bpf/pins.bpf.c, reads its maps. */
#ifndef GMEM_TRACKER_H
#define GMEM_TRACKER_H

#include "lib/bpfutil.h"
#include "lib/kernel.h"
#include "lib/model.h"

struct gmem_vmtracker;

struct gmem_tracker_opts {
	__u32 max_folios;  /* folio_pins capacity (0: default) */
	__u32 filter_tgid; /* only pins by this process (0: all) */
	__u32 max_ref_folios; /* folio_refs capacity (0: default) */
	/* attribute extra references with the page_ref_* tracepoints: every
	 * refcount change in the system then runs a BPF program (costly) */
	bool refs;
	/* record each new holder's user stack (a user-stack walk per new holder) */
	bool ustack;
	/* shares its shared-backing maps (NULL: none, memslots' backing is not tracked) */
	const struct gmem_vmtracker *vmtracker;
	/* > 0: record the end of every folio's pins in this ring buffer
	 * (gmem-check's check_events: bpf/convert.bpf.c) */
	int check_events_fd;
	/* fentry/fexit, kprobes, or the first that works (0: auto) */
	enum gmem_attach_mode attach;
};

struct gmem_tracker;

/* Loads and attaches every program; on failure says which and why. */
int gmem_tracker_start(struct gmem_tracker **out, const struct gmem_kernel *k,
		       const struct gmem_tracker_opts *opts);
/* Adds every tracked folio and the counters to 's'. */
int gmem_tracker_read(struct gmem_tracker *t, struct gmem_snapshot *s);
/* Forget entries the last read found idle, unless the finished snapshot
 * 's' shows FOLL_GET references of theirs still held.  Call after
 * gmem_snapshot_finish(). */
void gmem_tracker_gc(struct gmem_tracker *t, const struct gmem_snapshot *s);
/* The result of loading and attaching one program of the pins object alone. */
struct gmem_tracker_trial {
	const char *prog;  /* its section: "fexit/try_grab_folio" */
	const char *func;  /* its kernel function: "try_grab_folio" */
	bool in_btf;       /* the function is in this kernel's BTF */
	bool required;     /* gmem_tracker_start() needs it on this kernel */
	const char *stage; /* the step that failed ("load", "attach", ...) */
	int err;           /* 0: loaded and attached; -ENOENT: not in BTF */
	bool in_family;    /* of the family gmemtop would load here */
};
typedef int (*gmem_tracker_trial_fn)(void *ctx, const struct gmem_tracker_trial *t);
/* Tries every program alone (quietly: failures are expected) and passes
 * each result to fn; stops at fn's first non-zero return. */
int gmem_tracker_probe(const struct gmem_kernel *k, gmem_tracker_trial_fn fn, void *ctx);
/* gmem_tracker_probe(), and *works: the family whose programs all load
 * and attach together (fentry first; GMEM_ATTACH_AUTO: neither). */
int gmem_tracker_probe_mode(const struct gmem_kernel *k, gmem_tracker_trial_fn fn, void *ctx,
			    enum gmem_attach_mode *works);
/* The family of programs tracking pins: fentry or kprobe. */
enum gmem_attach_mode gmem_tracker_family(const struct gmem_tracker *t);
void gmem_tracker_stop(struct gmem_tracker *t);
/* Symbolise kernel stack 'id' of the pin_stacks map into 's' (once per
 * id; a stack gone from the map is left out). */
int gmem_tracker_read_stack(struct gmem_tracker *t, struct gmem_snapshot *s, __s32 id);
/* Kernel memory of the folio map (its memlock accounting) and capacity. */
int gmem_tracker_map_size(struct gmem_tracker *t, __u64 *bytes, __u32 *max_entries);

#endif
