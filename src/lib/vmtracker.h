/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The guest memory model's lifecycle tracking: loads bpf/lifecycle.bpf.c
 * (VMs, guest_memfd files, memslots from creation to release), reads its
 * maps, and lends its shared-backing maps to the pins and scan objects.
 */
#ifndef GMEM_VMTRACKER_H
#define GMEM_VMTRACKER_H

#include "lib/bpfutil.h"
#include "lib/kernel.h"
#include "lib/model.h"

struct bpf_object;

struct gmem_vmtracker_opts {
	__u32 max_vms, max_files, max_memslots, max_backings; /* 0: defaults */
	/* fentry/fexit, kprobes, or the first that works (0: auto) */
	enum gmem_attach_mode attach;
};

struct gmem_vmtracker;

/* Loads and attaches every program whose function this kernel has;
 * -ENOENT (with a message) when it has none of the VM and memslot hooks. */
int gmem_vmtracker_start(struct gmem_vmtracker **out, const struct gmem_kernel *k,
			 const struct gmem_vmtracker_opts *opts);
/* Adds every VM, guest_memfd file and memslot, and the counters, to 's'. */
int gmem_vmtracker_read(struct gmem_vmtracker *vt, struct gmem_snapshot *s);
/* Forget shared backings that no memslot and no tracked folio of the
 * finished snapshot 's' uses. */
void gmem_vmtracker_gc(struct gmem_vmtracker *vt, const struct gmem_snapshot *s);
/* Make 'obj' (not yet loaded) use our backing_mappings and backing_gate
 * maps; vt NULL: nothing to do. */
int gmem_vmtracker_share_maps(const struct gmem_vmtracker *vt, struct bpf_object *obj);
void gmem_vmtracker_stop(struct gmem_vmtracker *vt);
/* The memslots map's fd (bpf/lifecycle.bpf.c), for objects that read it. */
int gmem_vmtracker_memslots_fd(const struct gmem_vmtracker *vt);
/* The family of programs following VMs: fentry or kprobe. */
enum gmem_attach_mode gmem_vmtracker_family(const struct gmem_vmtracker *vt);

/* One program tried alone, for --probe. */
struct gmem_vmtracker_trial {
	const char *prog;  /* "fexit/kvm_arch_init_vm" */
	const char *func;
	const char *why;   /* what it is for */
	bool in_btf;
	const char *stage;
	int err;
};
typedef int (*gmem_vmtracker_trial_fn)(void *ctx, const struct gmem_vmtracker_trial *t);
int gmem_vmtracker_probe(const struct gmem_kernel *k, gmem_vmtracker_trial_fn fn, void *ctx);

#endif
