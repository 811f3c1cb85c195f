// SPDX-License-Identifier: GPL-2.0
/*
 * Lifecycle of VMs, guest_memfd files and memslots, from creation to
 * release, in three bounded hash maps that userspace reads at any time.
 *
 * Kernels differ (checked in BTF, 6.12 to 7.3): kvm_create_vm() is inlined
 * everywhere, so a VM is seen at kvm_arch_init_vm(); memslot changes all
 * reach kvm_arch_commit_memory_region(); the guest_memfd binding moved
 * from kvm_gmem_bind() (up to 7.2) to kvm_gmem_prepare_memory_region() and
 * kvm_gmem_commit_memory_region() (7.3).  The loader switches off the
 * programs whose function this kernel lacks.
 */
#include "vmlinux.h"
#include <bpf/bpf_tracing.h>
#include "memslot.bpf.h"
#include "kprobe.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GMEM_DEFAULT_MAX_VMS);
	__type(key, __u64);
	__type(value, struct gmem_vm);
} vms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GMEM_DEFAULT_MAX_GMEM_FILES);
	__type(key, __u64);
	__type(value, struct gmem_gmem_file);
} gmem_files SEC(".maps");

GMEM_MEMSLOTS_MAP(memslots);

static __always_inline void put(void *map, __u64 key, void *value)
{
	if (bpf_map_update_elem(map, &key, value, BPF_ANY) == -7 /* E2BIG */)
		stat_add(GMEM_STAT_MODEL_MAP_FULL, 1);
}

static __always_inline void vm_created(struct kvm *kvm, __u32 type)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gmem_vm v = {};

	v.created_ns = bpf_ktime_get_ns();
	v.mm = (__u64)BPF_CORE_READ(kvm, mm);
	guest_mm_add(v.mm);
	v.tgid = id >> 32;
	v.pid = (__u32)id;
	v.type = type;
	bpf_get_current_comm(v.comm, sizeof(v.comm));
	put(&vms, (__u64)kvm, &v);
}

/* kvm_create_vm() -> kvm_arch_init_vm(kvm, type): the VM exists once it
 * returns 0 (a later failure of kvm_create_vm() destroys it again). */
SEC("fexit/kvm_arch_init_vm")
int BPF_PROG(kvm_arch_init_vm_exit, struct kvm *kvm, unsigned long type, int ret)
{
	if (!ret)
		vm_created(kvm, (__u32)type);
	return 0;
}

/* Memslots are freed with the VM without passing the commit hook. */
static void visit_memslot(struct memslot_walk *w, struct kvm_memory_slot *slot)
{
	__u64 key = (__u64)slot;

	bpf_map_delete_elem(&memslots, &key);
}

/* Both kvm_destroy_vm() and kvm_create_vm()'s error path end here. */
static __always_inline void vm_destroyed(struct kvm *kvm)
{
	struct memslot_walk w = { .kvm = kvm };
	__u64 key = (__u64)kvm;

	walk_memslots(&w);
	bpf_map_delete_elem(&vms, &key);
}

SEC("fentry/kvm_arch_destroy_vm")
int BPF_PROG(kvm_arch_destroy_vm_entry, struct kvm *kvm)
{
	vm_destroyed(kvm);
	return 0;
}

static __always_inline __u64 current_mm(void)
{
	return (__u64)BPF_CORE_READ(bpf_get_current_task_btf(), mm);
}

/*
 * Any mmap of guest memory (a guest_memfd, a registered shared backing),
 * by any process: its mm joins guest_mms before the mapping exists, so
 * the pins it then takes are seen (a failed mmap only adds an mm).
 */
static __always_inline void file_mmapped(struct file *file)
{
	/* NULL: an anonymous mapping */
	struct address_space *mapping = file ? BPF_CORE_READ(file, f_mapping) : NULL;

	if (mapping && mapping_is_guest(mapping))
		guest_mm_add(current_mm());
}

SEC("fentry/security_mmap_file")
int BPF_PROG(security_mmap_file_entry, struct file *file)
{
	file_mmapped(file);
	return 0;
}

/* A child of a process that maps guest memory maps it too. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 pmm = (__u64)BPF_CORE_READ(parent, mm), cmm = (__u64)BPF_CORE_READ(child, mm);

	if (cmm && cmm != pmm && mm_maps_guest(pmm))
		guest_mm_add(cmm);
	return 0;
}

/* The fd that kvm_gmem_create() returned, in the current task. */
static __always_inline struct file *current_fd_file(int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;

	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

/* KVM_CREATE_GUEST_MEMFD's argument (uAPI, Linux 6.8+), local: a kernel
 * built without guest_memfd has no BTF for it. */
struct kvm_create_guest_memfd___gmem {
	__u64 size;
	__u64 flags;
} __attribute__((preserve_access_index));

static __always_inline void gmem_file_created(struct kvm *kvm,
					      struct kvm_create_guest_memfd___gmem *args, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gmem_gmem_file f = {};
	struct file *file;
	struct inode *inode;

	if (ret < 0)
		return;
	file = current_fd_file(ret);
	if (!file)
		return;
	inode = BPF_CORE_READ(file, f_inode);
	f.kvm = (__u64)kvm;
	f.ino = BPF_CORE_READ(inode, i_ino);
	f.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	f.size = BPF_CORE_READ(args, size);
	f.flags = BPF_CORE_READ(args, flags);
	f.created_ns = bpf_ktime_get_ns();
	f.tgid = id >> 32;
	f.fd = ret;
	bpf_get_current_comm(f.comm, sizeof(f.comm));
	put(&gmem_files, (__u64)BPF_CORE_READ(file, f_mapping), &f);
	guest_mm_add(current_mm());
}

SEC("fexit/kvm_gmem_create")
int BPF_PROG(kvm_gmem_create_exit, struct kvm *kvm, struct kvm_create_guest_memfd___gmem *args, int ret)
{
	gmem_file_created(kvm, args, ret);
	return 0;
}

/* The last reference to the file (fds closed, mappings gone). */
static __always_inline void gmem_file_released(struct file *file)
{
	__u64 key = (__u64)BPF_CORE_READ(file, f_mapping);

	bpf_map_delete_elem(&gmem_files, &key);
}

SEC("fentry/kvm_gmem_release")
int BPF_PROG(kvm_gmem_release_entry, struct inode *inode, struct file *file)
{
	gmem_file_released(file);
	return 0;
}

/*
 * Memslots on anonymous memory not yet faulted in: no anon_vma, so nothing
 * to register.  Keyed by the VMA (mm, vm_start), they wait for its first
 * fault (fexit/__anon_vma_prepare below); QEMU puts several memslots on
 * one RAM block, so a VMA holds a few.
 */
#define ANON_SLOTS_PER_VMA 4

struct anon_vma_key {
	__u64 mm;
	__u64 vm_start;
};

struct anon_pending {
	__u64 kvm;
	__u64 slots[ANON_SLOTS_PER_VMA]; /* keys of the memslots map (0: free) */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GMEM_DEFAULT_MAX_MEMSLOTS);
	__type(key, struct anon_vma_key);
	__type(value, struct anon_pending);
} anon_pending SEC(".maps");

static __always_inline void anon_wait(const struct vma_backing *b, __u64 kvm, __u64 slot)
{
	struct anon_vma_key key = { .mm = b->mm, .vm_start = b->vm_start };
	struct anon_pending init = { .kvm = kvm, .slots = { slot } }, *p;

	p = bpf_map_lookup_elem(&anon_pending, &key);
	if (!p) {
		if (bpf_map_update_elem(&anon_pending, &key, &init, BPF_NOEXIST) == -7 /* E2BIG */)
			stat_add(GMEM_STAT_MODEL_MAP_FULL, 1);
		return;
	}
	for (int i = 0; i < ANON_SLOTS_PER_VMA; i++) {
		if (p->slots[i] == slot)
			return;
		if (!p->slots[i] && __sync_val_compare_and_swap(&p->slots[i], 0, slot) == 0)
			return;
	}
	stat_add(GMEM_STAT_MODEL_MAP_FULL, 1);
}

static __always_inline void memslot_seen(struct kvm *kvm, struct kvm_memory_slot *slot)
{
	struct gmem_memslot m = {};
	struct vma_backing b = {};

	read_memslot(&m, kvm, slot, bpf_get_current_task_btf(), &b);
	m.updated_ns = bpf_ktime_get_ns();
	put(&memslots, (__u64)slot, &m);
	if (b.anon && !b.mapping)
		anon_wait(&b, (__u64)kvm, (__u64)slot);
}

/*
 * mm/rmap.c: a VMA's first anonymous fault gives it its anon_vma.  If a
 * memslot waits for this VMA, its backing is registered now, before the
 * faulting GUP (if that is what faulted) grabs the folio.  Once per VMA in
 * the system: one hash lookup.
 */
static __always_inline void anon_vma_prepared(struct vm_area_struct *vma)
{
	struct anon_vma_key key;
	struct anon_pending *p;
	__u64 mapping;

	key.mm = (__u64)BPF_CORE_READ(vma, vm_mm);
	key.vm_start = BPF_CORE_READ(vma, vm_start);
	p = bpf_map_lookup_elem(&anon_pending, &key);
	if (!p)
		return;
	mapping = (__u64)BPF_CORE_READ(vma, anon_vma) | GMEM_MAPPING_ANON;
	backing_register(mapping, p->kvm);
	for (int i = 0; i < ANON_SLOTS_PER_VMA; i++) {
		__u64 slot = p->slots[i];
		struct gmem_memslot *m = slot ? bpf_map_lookup_elem(&memslots, &slot) : NULL;

		if (m && !m->backing_mapping) {
			m->backing_mapping = mapping;
			m->backing_ino = anon_backing_id(mapping);
			m->updated_ns = bpf_ktime_get_ns();
		}
	}
	bpf_map_delete_elem(&anon_pending, &key);
}

SEC("fexit/__anon_vma_prepare")
int BPF_PROG(anon_vma_prepare_exit, struct vm_area_struct *vma, int ret)
{
	if (!ret)
		anon_vma_prepared(vma);
	return 0;
}

/*
 * Every memslot change (create, delete, move, flags) of every VM, with or
 * without guest_memfd.  'new' replaces 'old' (a move or flags change makes
 * a new struct); a delete has no 'new'.
 */
static __always_inline void memslot_committed(struct kvm *kvm, struct kvm_memory_slot *old,
					      const struct kvm_memory_slot *new,
					      enum kvm_mr_change change)
{
	__u64 key = (__u64)old;

	if (old && old != new)
		bpf_map_delete_elem(&memslots, &key);
	if (new && change != bpf_core_enum_value(enum kvm_mr_change, KVM_MR_DELETE))
		memslot_seen(kvm, (struct kvm_memory_slot *)new);
}

SEC("fentry/kvm_arch_commit_memory_region")
int BPF_PROG(kvm_arch_commit_memory_region_entry, struct kvm *kvm, struct kvm_memory_slot *old,
	     const struct kvm_memory_slot *new, enum kvm_mr_change change)
{
	memslot_committed(kvm, old, new, change);
	return 0;
}

/* The guest_memfd binding of a memslot (before it is committed; the commit
 * reads it again).  Up to 7.2: */
SEC("fexit/kvm_gmem_bind")
int BPF_PROG(kvm_gmem_bind_exit, struct kvm *kvm, struct kvm_memory_slot *slot, unsigned int fd,
	     loff_t offset, int ret)
{
	if (!ret)
		memslot_seen(kvm, slot);
	return 0;
}

/* 7.3: */
SEC("fexit/kvm_gmem_prepare_memory_region")
int BPF_PROG(kvm_gmem_prepare_memory_region_exit, struct kvm *kvm, struct kvm_memory_slot *slot,
	     unsigned int fd, loff_t offset, int ret)
{
	if (!ret)
		memslot_seen(kvm, slot);
	return 0;
}

SEC("fexit/kvm_gmem_commit_memory_region")
int BPF_PROG(kvm_gmem_commit_memory_region_exit, struct kvm *kvm, struct kvm_memory_slot *slot,
	     int ret)
{
	if (!ret)
		memslot_seen(kvm, slot);
	return 0;
}

/* The binding ends (the memslot may live on without it). */
static __always_inline void memslot_unbound(struct kvm_memory_slot *slot)
{
	__u64 key = (__u64)slot;
	struct gmem_memslot *m = bpf_map_lookup_elem(&memslots, &key);

	if (m) {
		m->gmem_mapping = 0;
		m->gmem_ino = 0;
		m->gmem_dev = 0;
		m->updated_ns = bpf_ktime_get_ns();
	}
}

SEC("fentry/kvm_gmem_unbind")
int BPF_PROG(kvm_gmem_unbind_entry, struct kvm_memory_slot *slot)
{
	memslot_unbound(slot);
	return 0;
}

/*
 * The kprobe twins of the programs above, for kernels without BPF
 * trampolines (the loader loads one family, never both).  fexit's
 * arguments at return come from the entry's stash (bpf/kprobe.bpf.h).
 */
SEC("kprobe/kvm_arch_init_vm")
int BPF_KPROBE(kvm_arch_init_vm_kprobe)
{
	stash_args(ctx, STASH_KVM_ARCH_INIT_VM, GMEM_STAT_MODEL_MAP_FULL);
	return 0;
}

SEC("kretprobe/kvm_arch_init_vm")
int BPF_KRETPROBE(kvm_arch_init_vm_kretprobe, int ret)
{
	struct kprobe_args a;

	if (unstash_args(STASH_KVM_ARCH_INIT_VM, &a) && !ret)
		vm_created((struct kvm *)a.arg[0], (__u32)a.arg[1]);
	return 0;
}

SEC("kprobe/kvm_arch_destroy_vm")
int BPF_KPROBE(kvm_arch_destroy_vm_kprobe, struct kvm *kvm)
{
	vm_destroyed(kvm);
	return 0;
}

SEC("kprobe/kvm_gmem_create")
int BPF_KPROBE(kvm_gmem_create_kprobe)
{
	stash_args(ctx, STASH_KVM_GMEM_CREATE, GMEM_STAT_MODEL_MAP_FULL);
	return 0;
}

SEC("kretprobe/kvm_gmem_create")
int BPF_KRETPROBE(kvm_gmem_create_kretprobe, int ret)
{
	struct kprobe_args a;

	if (unstash_args(STASH_KVM_GMEM_CREATE, &a))
		gmem_file_created((struct kvm *)a.arg[0],
				  (struct kvm_create_guest_memfd___gmem *)a.arg[1], ret);
	return 0;
}

SEC("kprobe/security_mmap_file")
int BPF_KPROBE(security_mmap_file_kprobe, struct file *file)
{
	file_mmapped(file);
	return 0;
}

SEC("kprobe/kvm_gmem_release")
int BPF_KPROBE(kvm_gmem_release_kprobe, struct inode *inode, struct file *file)
{
	gmem_file_released(file);
	return 0;
}

SEC("kprobe/kvm_arch_commit_memory_region")
int BPF_KPROBE(kvm_arch_commit_memory_region_kprobe, struct kvm *kvm,
	       struct kvm_memory_slot *old, const struct kvm_memory_slot *new,
	       enum kvm_mr_change change)
{
	memslot_committed(kvm, old, new, change);
	return 0;
}

/* The three binding hooks: the memslot is argument 1, 0 is success. */
#define BINDING_KPROBES(func, stash)                                          \
	SEC("kprobe/" #func)                                                  \
	int BPF_KPROBE(func##_kprobe)                                         \
	{                                                                     \
		stash_args(ctx, stash, GMEM_STAT_MODEL_MAP_FULL);             \
		return 0;                                                     \
	}                                                                     \
	SEC("kretprobe/" #func)                                               \
	int BPF_KRETPROBE(func##_kretprobe, int ret)                          \
	{                                                                     \
		struct kprobe_args a;                                         \
                                                                              \
		if (unstash_args(stash, &a) && !ret)                          \
			memslot_seen((struct kvm *)a.arg[0],                  \
				     (struct kvm_memory_slot *)a.arg[1]);     \
		return 0;                                                     \
	}

BINDING_KPROBES(kvm_gmem_bind, STASH_KVM_GMEM_BIND)
BINDING_KPROBES(kvm_gmem_prepare_memory_region, STASH_KVM_GMEM_PREPARE)
BINDING_KPROBES(kvm_gmem_commit_memory_region, STASH_KVM_GMEM_COMMIT)

SEC("kprobe/kvm_gmem_unbind")
int BPF_KPROBE(kvm_gmem_unbind_kprobe, struct kvm_memory_slot *slot)
{
	memslot_unbound(slot);
	return 0;
}

SEC("kprobe/__anon_vma_prepare")
int BPF_KPROBE(anon_vma_prepare_kprobe)
{
	stash_args(ctx, STASH_ANON_VMA_PREPARE, GMEM_STAT_MODEL_MAP_FULL);
	return 0;
}

SEC("kretprobe/__anon_vma_prepare")
int BPF_KRETPROBE(anon_vma_prepare_kretprobe, int ret)
{
	struct kprobe_args a;

	if (unstash_args(STASH_ANON_VMA_PREPARE, &a) && !ret)
		anon_vma_prepared((struct vm_area_struct *)a.arg[0]);
	return 0;
}
