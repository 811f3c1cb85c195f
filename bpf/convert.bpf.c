// SPDX-License-Identifier: GPL-2.0
/*
 * gmem-check's view of what happens to guest memory: every conversion that
 * takes effect, per memslot, and every hole punched in a guest_memfd file,
 * as records in check_events (include/gmem/abi.h), which the pin programs
 * share for the ends of pins (bpf/pins.bpf.c, log_releases).
 *
 * KVM_SET_MEMORY_ATTRIBUTES (Linux 6.8+, "KVM: Introduce per-page memory
 * attributes") returns early when the range already has the attributes,
 * and calls kvm_arch_post_set_memory_attributes() once per memslot the
 * change covers, after the attributes were stored: each call is one
 * conversion of that memslot's range.
 */
#include "vmlinux.h"
#include <bpf/bpf_tracing.h>
#include "gmem.bpf.h"

char LICENSE[] SEC("license") = "GPL";

GMEM_MEMSLOTS_MAP(memslots);

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GMEM_DEFAULT_CHECK_RINGBUF);
} check_events SEC(".maps");

#define FALLOC_FL_PUNCH_HOLE 0x02

static __always_inline void *check_reserve(__u32 size, __u16 type)
{
	return ringbuf_record(&check_events, size, type, GMEM_STAT_CHECK_DROPPED);
}

static __always_inline void conversion(struct kvm *kvm, struct kvm_gfn_range *range)
{
	struct gmem_conversion *c = check_reserve(sizeof(*c), GMEM_EV_CONVERSION);
	__u64 id = bpf_get_current_pid_tgid(), slot;
	struct gmem_memslot *m;

	if (!c)
		return;
	slot = (__u64)BPF_CORE_READ(range, slot);
	c->time_ns = bpf_ktime_get_ns();
	c->kvm = (__u64)kvm;
	c->slot = slot;
	c->start_gfn = BPF_CORE_READ(range, start);
	c->end_gfn = BPF_CORE_READ(range, end);
	c->attributes = BPF_CORE_READ(range, arg.attributes);
	c->tgid = id >> 32;
	c->pid = (__u32)id;
	bpf_get_current_comm(c->comm, sizeof(c->comm));
	m = bpf_map_lookup_elem(&memslots, &slot);
	if (m)
		__builtin_memcpy(&c->m, m, sizeof(c->m));
	else
		__builtin_memset(&c->m, 0, sizeof(c->m));
	bpf_ringbuf_submit(c, 0);
}

SEC("fentry/kvm_arch_post_set_memory_attributes")
int BPF_PROG(post_set_memory_attributes, struct kvm *kvm, struct kvm_gfn_range *range)
{
	conversion(kvm, range);
	return 0;
}

static __always_inline void punch(struct file *file, int mode, __s64 offset, __s64 len)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gmem_punch *p;
	struct inode *inode;

	if (!(mode & FALLOC_FL_PUNCH_HOLE) || len <= 0 || offset < 0)
		return;
	p = check_reserve(sizeof(*p), GMEM_EV_PUNCH);
	if (!p)
		return;
	inode = BPF_CORE_READ(file, f_inode);
	p->time_ns = bpf_ktime_get_ns();
	p->mapping = (__u64)BPF_CORE_READ(file, f_mapping);
	p->ino = BPF_CORE_READ(inode, i_ino);
	p->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	/* page-aligned: kvm_gmem_fallocate() refuses anything else */
	p->start = (__u64)offset >> 12;
	p->end = ((__u64)offset + (__u64)len) >> 12;
	p->tgid = id >> 32;
	p->pid = (__u32)id;
	p->_pad = 0;
	bpf_get_current_comm(p->comm, sizeof(p->comm));
	bpf_ringbuf_submit(p, 0);
}

/* kvm_gmem_fallocate() is guest_memfd's f_op->fallocate: static, but
 * called through a pointer, so never inlined.  At exit: only a punch that
 * happened (it refuses unaligned ranges), and its pages are gone from the
 * file by then. */
SEC("fexit/kvm_gmem_fallocate")
int BPF_PROG(kvm_gmem_fallocate_exit, struct file *file, int mode, loff_t offset, loff_t len,
	     long ret)
{
	if (ret == 0)
		punch(file, mode, offset, len);
	return 0;
}
