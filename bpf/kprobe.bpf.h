/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kprobe fallback of the fentry/fexit programs (kernels without BPF
 * trampolines).  A kretprobe sees only the return value, so the entry
 * kprobe stashes the arguments the exit body needs, keyed by task and
 * function; the kretprobe takes them back out.  The stash is bounded and
 * preallocated (an entry kprobe may run with interrupts off, in the GUP
 * fast path); a call that finds it full is counted as lost.
 */
#ifndef GMEM_KPROBE_BPF_H
#define GMEM_KPROBE_BPF_H

#include <bpf/bpf_tracing.h>
#include "gmem.bpf.h"

/* Calls in flight at once, all tasks: one per task and hooked function. */
#define KPROBE_STASH_MAX 8192
#define KPROBE_STASH_ARGS 4

/* Which function a stash entry belongs to (one task may be inside several
 * hooked functions: folio_add_pins() calls try_grab_folio()). */
enum kprobe_stash_func {
	STASH_TRY_GRAB_FOLIO,
	STASH_FOLIO_ADD_PIN,
	STASH_FOLIO_ADD_PINS,
	STASH_KVM_ARCH_INIT_VM,
	STASH_KVM_GMEM_CREATE,
	STASH_KVM_GMEM_BIND,
	STASH_KVM_GMEM_PREPARE,
	STASH_KVM_GMEM_COMMIT,
	STASH_ANON_VMA_PREPARE,
	STASH_GUP_CALL, /* an outer GUP call: mm, start, pages, flags */
};

struct kprobe_stash_key {
	__u64 pid_tgid;
	__u32 func; /* enum kprobe_stash_func */
	__u32 pad;
};

struct kprobe_args {
	__u64 arg[KPROBE_STASH_ARGS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KPROBE_STASH_MAX);
	__type(key, struct kprobe_stash_key);
	__type(value, struct kprobe_args);
} kprobe_stash SEC(".maps");

/* At entry: keep the first KPROBE_STASH_ARGS arguments for the return.
 * A full stash loses this call's event: counted in 'lost'. */
static __always_inline void stash_args(struct pt_regs *regs, __u32 func, enum gmem_stat lost)
{
	struct kprobe_stash_key key = { .pid_tgid = bpf_get_current_pid_tgid(), .func = func };
	struct kprobe_args a = {};

	a.arg[0] = PT_REGS_PARM1(regs);
	a.arg[1] = PT_REGS_PARM2(regs);
	a.arg[2] = PT_REGS_PARM3(regs);
	a.arg[3] = PT_REGS_PARM4(regs);
	if (bpf_map_update_elem(&kprobe_stash, &key, &a, BPF_ANY))
		stat_add(lost, 1);
}

/* At return: the arguments stashed at entry (false: none, the entry was
 * filtered out or lost and counted). */
static __always_inline bool unstash_args(__u32 func, struct kprobe_args *out)
{
	struct kprobe_stash_key key = { .pid_tgid = bpf_get_current_pid_tgid(), .func = func };
	struct kprobe_args *a = bpf_map_lookup_elem(&kprobe_stash, &key);

	if (!a)
		return false;
	*out = *a;
	bpf_map_delete_elem(&kprobe_stash, &key);
	return true;
}

#endif /* GMEM_KPROBE_BPF_H */
