// SPDX-License-Identifier: GPL-2.0
/*
 * gmem-check's view of what happens to guest memory: every conversion that
 * takes effect, per memslot; every hole punched in a guest_memfd or in a
 * memslot's shared backing, and every guest_memfd released, as records in
 * check_events (include/gmem/abi.h), which the pin programs
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
#include "backing.bpf.h"

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

/* Every request, before KVM looks at it (include/trace/events/kvm.h). */
SEC("tp_btf/kvm_vm_set_mem_attributes")
int BPF_PROG(set_mem_attributes_request, gfn_t start, gfn_t end, unsigned long attrs)
{
	struct gmem_conversion_request *r = check_reserve(sizeof(*r), GMEM_EV_CONVERSION_REQUEST);
	__u64 id = bpf_get_current_pid_tgid();

	if (!r)
		return 0;
	r->time_ns = bpf_ktime_get_ns();
	r->start_gfn = start;
	r->end_gfn = end;
	r->attributes = attrs;
	r->tgid = id >> 32;
	r->pid = (__u32)id;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

SEC("fentry/kvm_arch_post_set_memory_attributes")
int BPF_PROG(post_set_memory_attributes, struct kvm *kvm, struct kvm_gfn_range *range)
{
	conversion(kvm, range);
	return 0;
}

/* Pages [start, end) of 'file' had 'what' done to them. */
static __always_inline void file_range(struct file *file, __u64 start, __u64 end, __u16 what,
				       __u16 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gmem_file_range *r;
	struct inode *inode;

	if (end <= start)
		return;
	r = check_reserve(sizeof(*r), GMEM_EV_FILE_RANGE);
	if (!r)
		return;
	inode = BPF_CORE_READ(file, f_inode);
	r->time_ns = bpf_ktime_get_ns();
	r->mapping = (__u64)BPF_CORE_READ(file, f_mapping);
	r->ino = BPF_CORE_READ(inode, i_ino);
	r->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	r->start = start;
	r->end = end;
	r->what = what;
	r->flags = flags;
	r->tgid = id >> 32;
	r->pid = (__u32)id;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	bpf_ringbuf_submit(r, 0);
}

/* A hole punched: page-aligned (kvm_gmem_fallocate() refuses anything
 * else; shmem_fallocate() drops only the whole pages). */
static __always_inline void punch(struct file *file, int mode, __s64 offset, __s64 len,
				  __u16 flags)
{
	if (!(mode & FALLOC_FL_PUNCH_HOLE) || len <= 0 || offset < 0)
		return;
	file_range(file, ((__u64)offset + 4095) >> 12, ((__u64)offset + (__u64)len) >> 12,
		   GMEM_FILE_PUNCH, flags);
}

/* kvm_gmem_fallocate() is guest_memfd's f_op->fallocate: static, but
 * called through a pointer, so never inlined.  At exit: only a punch that
 * happened, and its pages are gone from the file by then. */
SEC("fexit/kvm_gmem_fallocate")
int BPF_PROG(kvm_gmem_fallocate_exit, struct file *file, int mode, loff_t offset, loff_t len,
	     long ret)
{
	if (ret == 0)
		punch(file, mode, offset, len, 0);
	return 0;
}

/* The guest_memfd's last reference: its pages leave with the inode, and a
 * pin keeps them alive, detached from any VM. */
SEC("fentry/kvm_gmem_release")
int BPF_PROG(kvm_gmem_release_entry, struct inode *inode, struct file *file)
{
	__u64 size = BPF_CORE_READ(inode, i_size);

	file_range(file, 0, (size + 4095) >> 12, GMEM_FILE_RELEASE, 0);
	return 0;
}

/* A VMM discards a memslot's shared backing after converting it to
 * private (QEMU's ram_block_discard_range() on a memfd): only the files
 * registered as some memslot's backing (bpf/backing.bpf.h). */
SEC("fexit/shmem_fallocate")
int BPF_PROG(shmem_fallocate_exit, struct file *file, int mode, loff_t offset, loff_t len,
	     long ret)
{
	if (ret == 0 && (mode & FALLOC_FL_PUNCH_HOLE) &&
	    mapping_is_shared_backing(BPF_CORE_READ(file, f_mapping)))
		punch(file, mode, offset, len, GMEM_FILE_F_SHARED_BACKING);
	return 0;
}
