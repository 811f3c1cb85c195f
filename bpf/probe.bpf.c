// SPDX-License-Identifier: GPL-2.0
/*
 * Empty programs for 'gmemtop --probe': one per kind of attachment the
 * tools use and that no other object exercises alone (a BPF LSM hook, a
 * kprobe, a kprobe_multi, a generic fentry and tp_btf).  The loader sets
 * the targets at run time and loads them one at a time; they never touch
 * memory, so attaching them for an instant changes nothing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* target set with bpf_program__set_attach_target() */
SEC("fentry")
int BPF_PROG(probe_fentry)
{
	return 0;
}

/* target set with bpf_program__set_attach_target() */
SEC("tp_btf")
int BPF_PROG(probe_tp_btf)
{
	return 0;
}

/* target given when attaching */
SEC("kprobe")
int BPF_KPROBE(probe_kprobe)
{
	return 0;
}

/* targets given when attaching */
SEC("kprobe.multi")
int BPF_KPROBE(probe_kprobe_multi)
{
	return 0;
}

/* gmem-guard's hooks: pass the previous verdict through unchanged */
SEC("lsm/file_mprotect")
int BPF_PROG(probe_lsm, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot,
	     int ret)
{
	return ret;
}
