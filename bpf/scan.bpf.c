// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's own view of guest memory, independent of any tracking: an
 * iterator over tasks' open files that, for every guest_memfd file, walks
 * its page cache (the mapping's xarray) and reads each folio's refcount,
 * mapcount and pin count.  Userspace reads the records from a ring buffer
 * after driving the iterator with read().
 *
 * The same walk finds VMs (kvm-vm files) and their memslots, so that VMs
 * created before tracking began are shown, and registers their memslots'
 * shared backing for the pin programs (bpf/memslot.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_tracing.h>
#include "memslot.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 filter_tgid = 0;
/* Bound on slots visited per file: 64 slots per xa_node. */
const volatile __u32 max_steps_per_file = 1u << 22;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GMEM_DEFAULT_SCAN_RINGBUF);
} scan_events SEC(".maps");

/* Files already walked in this scan (several fds and threads share one). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} seen_mappings SEC(".maps");

/* A scan record, or NULL (counted as dropped: the buffer is full). */
static __always_inline void *reserve_record(__u32 size, __u16 type)
{
	return ringbuf_record(&scan_events, size, type, GMEM_STAT_SCAN_DROPPED);
}

/* include/linux/xarray.h encodings. */
#define XA_DEPTH_MAX 8
static __always_inline bool xa_is_internal(unsigned long e) { return (e & 3) == 2; }
static __always_inline bool xa_is_node(unsigned long e) { return xa_is_internal(e) && e > 4096; }
static __always_inline bool xa_is_value(unsigned long e) { return e & 1; }

struct walk {
	unsigned long node[XA_DEPTH_MAX];
	__u32 slot[XA_DEPTH_MAX];
	int depth;
	__u32 chunk;     /* slots per node (XA_CHUNK_SIZE) */
	__u32 dev;
	__u64 ino;
	__u64 pins;
	__u32 nr_folios;
	__u32 nr_pinned;
	__u32 nr_extra_ref;
};

static __always_inline void visit_folio(struct walk *w, unsigned long entry)
{
	struct folio *folio = (struct folio *)entry;
	struct gmem_scan_folio *r;
	__s32 refcount, mapcount;
	__u32 pins, order = 0;

	refcount = BPF_CORE_READ(folio, _refcount.counter);
	mapcount = BPF_CORE_READ(folio, _mapcount.counter) + 1;
	order = folio_order(folio);
	/* large folios count pins in _pincount, order-0 ones in _refcount */
	if (order)
		pins = BPF_CORE_READ(folio, _pincount.counter);
	else
		pins = (__u32)refcount / GMEM_GUP_PIN_COUNTING_BIAS;
	w->nr_folios++;
	w->pins += pins;
	if (pins) {
		w->nr_pinned++;
		/* pinned before tracking began, perhaps: their unpins are
		 * counted as such only if an unpin looks here */
		folio_regions_mark(entry, order);
	}
	/* Page cache holds one reference per page, each mapping one more;
	 * for order-0 folios the pins are inside _refcount. */
	if (!order && refcount - pins * GMEM_GUP_PIN_COUNTING_BIAS > 1 + mapcount)
		w->nr_extra_ref++;
	else if (!pins)
		return;

	r = reserve_record(sizeof(*r), GMEM_EV_SCAN_FOLIO);
	if (!r)
		return;
	r->ino = w->ino;
	r->dev = w->dev;
	r->folio = entry;
	r->index = BPF_CORE_READ(folio, index);
	r->refcount = refcount;
	r->mapcount = mapcount;
	r->pins = pins;
	r->order = order;
	r->_pad = 0;
	bpf_ringbuf_submit(r, 0);
}

/*
 * One slot of a depth-first walk of the xarray.  Global (not inlined), so
 * that the verifier checks it once with *w unknown instead of once for
 * every depth and slot the bpf_loop callback could reach.
 */
__noinline int walk_slot(struct walk *w)
{
	unsigned long node, entry = 0;
	__u32 slot;
	int d;

	if (!w)
		return 1;
	d = w->depth;
	if (d < 0 || d >= XA_DEPTH_MAX)
		return 1;
	node = w->node[d];
	slot = w->slot[d];
	if (slot >= w->chunk) {
		w->depth = d - 1;
		return 0;
	}
	w->slot[d] = slot + 1;
	bpf_probe_read_kernel(&entry, sizeof(entry),
			      (void *)(node + bpf_core_field_offset(struct xa_node, slots) +
				       slot * sizeof(void *)));
	if (!entry || xa_is_value(entry))
		return 0;
	if (xa_is_internal(entry)) {
		/* sibling, retry and zero entries carry no folio */
		if (xa_is_node(entry) && d + 1 < XA_DEPTH_MAX) {
			w->depth = d + 1;
			w->node[d + 1 & (XA_DEPTH_MAX - 1)] = entry - 2;
			w->slot[d + 1 & (XA_DEPTH_MAX - 1)] = 0;
		}
		return 0;
	}
	visit_folio(w, entry);
	return 0;
}

static long walk_step(__u64 i, struct walk *w)
{
	/* bpf_loop wants exactly 0 (go on) or 1 (stop) */
	return walk_slot(w) ? 1 : 0;
}

static __always_inline void emit_file(struct task_struct *task, struct file *file, __u32 fd,
				      struct address_space *mapping, struct inode *inode)
{
	struct gmem_scan_file *r = reserve_record(sizeof(*r), GMEM_EV_SCAN_FILE);

	if (!r)
		return;
	r->ino = BPF_CORE_READ(inode, i_ino);
	r->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	r->size = BPF_CORE_READ(inode, i_size);
	r->mapping = (__u64)mapping;
	r->tgid = BPF_CORE_READ(task, tgid);
	r->fd = fd;
	r->_pad = 0;
	BPF_CORE_READ_STR_INTO(&r->comm, task, comm);
	bpf_ringbuf_submit(r, 0);
}

static __always_inline void emit_end(struct walk *w, bool truncated)
{
	struct gmem_scan_end *r = reserve_record(sizeof(*r), GMEM_EV_SCAN_END);

	if (truncated)
		stat_add(GMEM_STAT_SCAN_TRUNCATED, 1);
	if (!r)
		return;
	r->ino = w->ino;
	r->dev = w->dev;
	r->pins = w->pins;
	r->nr_folios = w->nr_folios;
	r->nr_pinned = w->nr_pinned;
	r->nr_extra_ref = w->nr_extra_ref;
	r->truncated = truncated;
	r->_pad = 0;
	bpf_ringbuf_submit(r, 0);
}

/* A guest_memfd file's VM: the first word of its private data (struct
 * gmem_file in 7.3, struct kvm_gmem before) is the struct kvm pointer. */
static __always_inline void emit_gmem_owner(struct file *file, struct inode *inode)
{
	struct gmem_scan_gmem_owner *r;
	__u64 kvm = 0;

	bpf_probe_read_kernel(&kvm, sizeof(kvm), BPF_CORE_READ(file, private_data));
	if (!kvm)
		return;
	r = reserve_record(sizeof(*r), GMEM_EV_SCAN_GMEM_OWNER);
	if (!r)
		return;
	r->ino = BPF_CORE_READ(inode, i_ino);
	r->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	r->kvm = kvm;
	r->_pad = 0;
	bpf_ringbuf_submit(r, 0);
}

static void visit_memslot(struct memslot_walk *w, struct kvm_memory_slot *slot)
{
	struct gmem_scan_memslot *r = reserve_record(sizeof(*r), GMEM_EV_SCAN_MEMSLOT);
	/* a pre-existing anonymous backing not yet faulted has no pins yet;
	 * its later registration is bpf/lifecycle.bpf.c's (not loaded here) */
	struct vma_backing b = {};

	if (!r)
		return;
	__builtin_memset(&r->slot, 0, sizeof(*r) - sizeof(r->hdr));
	r->slot = (__u64)slot;
	read_memslot(&r->m, w->kvm, slot, w->task, &b);
	r->m.state |= GMEM_OBJ_F_PREEXISTING;
	bpf_ringbuf_submit(r, 0);
}

/* Is this a VM's file?  KVM_CREATE_VM names its anon inode file "kvm-vm". */
static __always_inline bool is_kvm_vm_file(struct file *file)
{
	char name[8] = {};

	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(file, f_path.dentry, d_name.name));
	return name[0] == 'k' && name[1] == 'v' && name[2] == 'm' && name[3] == '-' &&
	       name[4] == 'v' && name[5] == 'm' && name[6] == 0;
}

static __always_inline void emit_vm(struct task_struct *task, struct file *file, __u32 fd)
{
	struct memslot_walk w = { .task = task };
	struct gmem_scan_vm *r;
	struct kvm *kvm;
	__u64 key;
	__u8 one = 1;

	if (!is_kvm_vm_file(file))
		return;
	kvm = BPF_CORE_READ(file, private_data);
	key = (__u64)kvm;
	if (!kvm || bpf_map_update_elem(&seen_mappings, &key, &one, BPF_NOEXIST))
		return;
	w.kvm = kvm;
	walk_memslots(&w);
	r = reserve_record(sizeof(*r), GMEM_EV_SCAN_VM);
	if (!r)
		return;
	__builtin_memset(&r->kvm, 0, sizeof(*r) - sizeof(r->hdr));
	r->kvm = key;
	r->vm.mm = (__u64)BPF_CORE_READ(kvm, mm);
	guest_mm_add(r->vm.mm);
	r->vm.tgid = BPF_CORE_READ(task, tgid);
	r->vm.pid = BPF_CORE_READ(task, pid);
	BPF_CORE_READ_STR_INTO(&r->vm.comm, task, comm);
	r->vm.flags = GMEM_OBJ_F_PREEXISTING;
	r->fd = fd;
	r->nr_memslots = w.nr;
	bpf_ringbuf_submit(r, 0);
}

SEC("iter/task_file")
int scan_task_file(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct address_space *mapping;
	struct inode *inode;
	struct walk w = {};
	unsigned long head;
	__u64 key;
	__u8 one = 1;

	if (!task || !file)
		return 0;
	if (filter_tgid && task->tgid != filter_tgid)
		return 0;
	/* read as a plain value: the filter tests its low bits */
	mapping = BPF_CORE_READ(file, f_mapping);
	/* guest_memfd, or a memslot's shared backing (a memfd the VMM holds) */
	if (!mapping || !mapping_is_guest(mapping)) {
		/* CO-RE: without KVM's types (module not loaded) this is dead
		 * code the verifier never sees */
		if (bpf_core_type_exists(struct kvm_memory_slot))
			emit_vm(task, file, ctx->fd);
		return 0;
	}
	/* a process holding guest memory open maps it, most likely (one
	 * that only maps it, fd closed, is not seen here) */
	guest_mm_add((__u64)BPF_CORE_READ(task, mm));
	key = (__u64)mapping;
	if (bpf_map_update_elem(&seen_mappings, &key, &one, BPF_NOEXIST))
		return 0; /* walked already, or the dedup table is full */

	inode = BPF_CORE_READ(mapping, host);
	emit_file(task, file, ctx->fd, mapping, inode);
	emit_gmem_owner(file, inode);
	w.ino = BPF_CORE_READ(inode, i_ino);
	w.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	w.chunk = bpf_core_field_size(struct xa_node, slots) / sizeof(void *);
	head = (unsigned long)BPF_CORE_READ(mapping, i_pages.xa_head);
	if (xa_is_node(head)) {
		w.node[0] = head - 2;
		w.depth = 0;
		bpf_loop(max_steps_per_file, walk_step, &w, 0);
		emit_end(&w, w.depth >= 0);
		return 0;
	}
	if (head && !xa_is_internal(head) && !xa_is_value(head))
		visit_folio(&w, head); /* a single folio at index 0 */
	emit_end(&w, false);
	return 0;
}
