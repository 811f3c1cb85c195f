/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memslots as the kernel holds them: one memslot's record (with its shared
 * backing, registered for the pin programs), and a walk of all of a VM's
 * memslots.  Shared by bpf/lifecycle.bpf.c and bpf/scan.bpf.c.
 */
#ifndef GMEM_MEMSLOT_BPF_H
#define GMEM_MEMSLOT_BPF_H

#include "backing.bpf.h"

/*
 * A memslot's guest_memfd binding (CONFIG_KVM_GUEST_MEMFD, Linux 6.8+), as a
 * local flavour: CO-RE matches it to the running kernel's struct
 * kvm_memory_slot by name, and the objects build from the BTF of a kernel
 * built without guest_memfd too (vmlinux.h.gen takes the build host's).
 */
struct kvm_memory_slot___gmem {
	struct {
		struct file *file;
		unsigned long pgoff; /* pgoff_t */
	} gmem;
} __attribute__((preserve_access_index));

/* What bpf_find_vma() reports of the mapping at an address. */
struct vma_backing {
	__u64 addr;
	__u64 mapping;
	__u64 ino;
	__u64 pgoff;
	__u64 mm;       /* anonymous memory: the VMA, to register it later */
	__u64 vm_start;
	__u32 dev;
	__u32 anon;
};

/*
 * Anonymous memory (QEMU's and Firecracker's default guest RAM) has no
 * address_space: its folios' ->mapping is the VMA's anon_vma with
 * FOLIO_MAPPING_ANON set, and their ->index the address's linear page
 * index (vm_pgoff + offset, as for a file).  That tagged pointer is the
 * backing's identity: registered like a file's mapping and shown as the
 * inode number of device 0:0 (anon_backing_id()).  The anon_vma exists only
 * from the VMA's first fault (anon_vma_prepare); until then the mapping is
 * 0 and bpf/lifecycle.bpf.c registers it when it appears.
 */
static __always_inline void read_anon_backing(struct vm_area_struct *vma, struct vma_backing *b)
{
	/* read as numbers: the verifier allows no bitwise operation on a
	 * pointer it tracks */
	__u64 av = (__u64)BPF_CORE_READ(vma, anon_vma);

	b->anon = 1;
	b->mm = (__u64)BPF_CORE_READ(vma, vm_mm);
	b->vm_start = vma->vm_start;
	if (av) {
		b->mapping = av | GMEM_MAPPING_ANON;
		b->ino = anon_backing_id(b->mapping);
	}
}

static long read_vma_backing(struct task_struct *task, struct vm_area_struct *vma,
			     struct vma_backing *b)
{
	struct file *file = vma->vm_file;
	struct inode *inode;

	b->pgoff = vma->vm_pgoff + ((b->addr - vma->vm_start) >> 12);
	if (!file) {
		read_anon_backing(vma, b);
		return 0;
	}
	b->mapping = (__u64)BPF_CORE_READ(file, f_mapping);
	inode = BPF_CORE_READ(file, f_inode);
	b->ino = BPF_CORE_READ(inode, i_ino);
	b->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	return 0;
}

/* The memslot's record, read from the kernel's struct.  'task' is the VMM
 * (current during a memslot ioctl; the iterated task in the scan).  'b'
 * gets what backs userspace_addr. */
static __always_inline void read_memslot(struct gmem_memslot *m, struct kvm *kvm,
					 struct kvm_memory_slot *slot, struct task_struct *task,
					 struct vma_backing *b)
{
	struct kvm_memory_slot___gmem *gslot = (void *)slot;
	struct file *gfile = NULL;

	m->kvm = (__u64)kvm;
	m->base_gfn = BPF_CORE_READ(slot, base_gfn);
	m->npages = BPF_CORE_READ(slot, npages);
	m->userspace_addr = BPF_CORE_READ(slot, userspace_addr);
	m->flags = BPF_CORE_READ(slot, flags);
	m->id = (__u16)BPF_CORE_READ(slot, id);
	if (bpf_core_field_exists(slot->as_id))
		m->as_id = BPF_CORE_READ(slot, as_id);
	if (bpf_core_field_exists(gslot->gmem))
		gfile = BPF_CORE_READ(gslot, gmem.file);
	if (gfile) {
		struct inode *inode = BPF_CORE_READ(gfile, f_inode);

		m->gmem_mapping = (__u64)BPF_CORE_READ(gfile, f_mapping);
		m->gmem_ino = BPF_CORE_READ(inode, i_ino);
		m->gmem_dev = BPF_CORE_READ(inode, i_sb, s_dev);
		m->gmem_pgoff = BPF_CORE_READ(gslot, gmem.pgoff);
	}
	m->tgid = BPF_CORE_READ(task, tgid);
	if (!m->userspace_addr || !task)
		return;
	b->addr = m->userspace_addr;
	bpf_find_vma(task, b->addr, read_vma_backing, b, 0);
	m->backing_mapping = b->mapping;
	m->backing_ino = b->ino;
	m->backing_dev = b->dev;
	m->backing_pgoff = b->pgoff;
	if (b->anon)
		m->state |= GMEM_OBJ_F_BACKING_ANON;
	backing_register(b->mapping, (__u64)kvm);
}

/*
 * A walk of one VM's memslots: every address space's active kvm_memslots,
 * its id_hash buckets, each bucket's chain.  The object including this
 * header defines visit_memslot().
 */
#define MEMSLOT_HASH_BUCKETS 128
#define MEMSLOT_CHAIN_MAX 64
#define KVM_AS_MAX 2

struct memslot_walk {
	struct kvm *kvm;
	struct task_struct *task;
	__u32 nr;
};

static void visit_memslot(struct memslot_walk *w, struct kvm_memory_slot *slot);

/*
 * One flat loop over an address space's memslots: each step either takes
 * the next bucket's first node or follows the chain one link.  Flat, so the
 * verifier checks visit_memslot() once: a chain loop nested in the bucket
 * loop had it checked once per possible link (260,000 instructions in
 * scan_task_file, 8 s of every gmemtop start under TCG).
 */
struct bucket_walk {
	struct memslot_walk *w;
	struct kvm_memslots *slots;
	struct hlist_node *node; /* the chain link to visit next, or NULL */
	__u64 link_off;          /* from a memslot to its id_node[node_idx] */
	__u32 bucket;            /* the next bucket to start a chain from */
	__u32 chain;             /* links visited in the current chain */
};

static long walk_bucket_step(__u64 i, struct bucket_walk *bw)
{
	struct hlist_node *node = bw->node;

	if (!node || bw->chain >= MEMSLOT_CHAIN_MAX) {
		/* locals, not bw->...: inside BPF_CORE_READ the walk's own
		 * struct would get a CO-RE relocation too */
		struct kvm_memslots *slots = bw->slots;
		__u32 b = bw->bucket;

		if (b >= MEMSLOT_HASH_BUCKETS)
			return 1;
		bw->node = BPF_CORE_READ(slots, id_hash[b & (MEMSLOT_HASH_BUCKETS - 1)].first);
		bw->bucket = b + 1;
		bw->chain = 0;
		return 0;
	}
	visit_memslot(bw->w, (struct kvm_memory_slot *)((__u64)node - bw->link_off));
	bw->w->nr++;
	bw->chain++;
	bw->node = BPF_CORE_READ(node, next);
	return 0;
}

static __always_inline void walk_memslots(struct memslot_walk *w)
{
	struct kvm *k = w->kvm;
	int nr_as = bpf_core_field_size(k->memslots) / sizeof(void *);

	for (int as = 0; as < KVM_AS_MAX && as < nr_as; as++) {
		struct bucket_walk bw = { .w = w };
		struct kvm_memslots *slots = NULL;
		struct kvm *kvm = w->kvm;

		bpf_probe_read_kernel(&slots, sizeof(slots), &kvm->memslots[as]);
		if (!slots)
			continue;
		bw.slots = slots;
		bw.link_off = bpf_core_field_offset(struct kvm_memory_slot, id_node) +
			      (BPF_CORE_READ(slots, node_idx) & 1) * bpf_core_type_size(struct hlist_node);
		/* every bucket start plus every link of every chain */
		bpf_loop(MEMSLOT_HASH_BUCKETS * (MEMSLOT_CHAIN_MAX + 1) + 1, walk_bucket_step, &bw, 0);
	}
}

#endif /* GMEM_MEMSLOT_BPF_H */
