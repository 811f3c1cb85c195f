/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which folios count as guest memory, shared by bpf/pins.bpf.c and the
 * objects that find memslots (bpf/lifecycle.bpf.c, bpf/scan.bpf.c).
 *
 * Shared backing: a memslot's userspace_addr range is ordinary host memory
 * (a memfd, shmem, any file mapping) that holds the guest's shared pages.
 * Its address_space is registered in backing_mappings when a memslot is
 * seen; the pin programs then track that file's folios like guest_memfd
 * ones.  The maps are created once by the lifecycle object and reused by
 * the others (bpf_map__reuse_fd); an object loaded alone has them empty.
 */
#ifndef GMEM_BACKING_BPF_H
#define GMEM_BACKING_BPF_H

#include "gmem.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GMEM_DEFAULT_MAX_BACKINGS);
	__type(key, __u64);
	__type(value, struct gmem_backing);
} backing_mappings SEC(".maps");

/*
 * Non-zero once any backing was registered: the pin programs pay nothing
 * for foreign memory (one inlined array load) until a memslot exists.  It
 * is never cleared while the maps live, so that a registration racing with
 * a clear cannot leave a registered backing untracked.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} backing_gate SEC(".maps");

static __always_inline bool mapping_is_shared_backing(struct address_space *mapping)
{
	__u64 key = (__u64)mapping;
	__u32 zero = 0, *gate = bpf_map_lookup_elem(&backing_gate, &zero);

	if (!gate || !*gate)
		return false;
	return bpf_map_lookup_elem(&backing_mappings, &key) != NULL;
}

/* Guest memory: a guest_memfd folio, or one of a memslot's shared backing. */
static __always_inline bool mapping_is_guest(struct address_space *mapping)
{
	return mapping_is_guest_memfd(mapping) || mapping_is_shared_backing(mapping);
}

/* Backings this object registered: the scan walks again when its own
 * walk registered one after passing that file by. */
__u64 backings_registered = 0;

/*
 * The mms that map guest memory: an outer GUP call on any other mm is
 * rejected at entry with one lookup (bpf/pins.bpf.c).  An mm is added when
 * a VM is created in it, a guest_memfd is created or mmap'ed in it, a
 * memslot's backing is registered, or a process in the set forks; the scan
 * adds those of VMs and guest_memfd files found at start.  Entries are
 * never removed: an mm freed and reused is only checked needlessly.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GMEM_DEFAULT_MAX_GUEST_MMS);
	__type(key, __u64);
	__type(value, __u64); /* when added (CLOCK_MONOTONIC) */
} guest_mms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} guest_mms_gate SEC(".maps");

static __always_inline bool mm_maps_guest(__u64 mm)
{
	__u32 zero = 0, *gate = bpf_map_lookup_elem(&guest_mms_gate, &zero);

	if (!gate || !mm || !(*gate & GMEM_GUEST_MMS_ANY))
		return false;
	if (*gate & GMEM_GUEST_MMS_OVERFLOW)
		return true;
	return bpf_map_lookup_elem(&guest_mms, &mm) != NULL;
}

static __always_inline void guest_mm_add(__u64 mm)
{
	__u32 zero = 0, *gate = bpf_map_lookup_elem(&guest_mms_gate, &zero);
	__u64 now = bpf_ktime_get_ns();
	long err;

	if (!mm || !gate)
		return;
	err = bpf_map_update_elem(&guest_mms, &mm, &now, BPF_NOEXIST);
	if (err == -7 /* E2BIG */) {
		/* no room: stop filtering rather than miss this mm's pins */
		if (!(*gate & GMEM_GUEST_MMS_OVERFLOW))
			__sync_fetch_and_or(gate, GMEM_GUEST_MMS_OVERFLOW);
		stat_add(GMEM_STAT_MODEL_MAP_FULL, 1);
	}
	/* set after the entry exists: a call that sees the gate finds it */
	if (!(*gate & GMEM_GUEST_MMS_ANY))
		__sync_fetch_and_or(gate, GMEM_GUEST_MMS_ANY);
}

static __always_inline void backing_register(__u64 mapping, __u64 kvm)
{
	struct gmem_backing b = { .kvm = kvm, .registered_ns = bpf_ktime_get_ns() };
	__u32 zero = 0, *gate;
	long err;

	/* the VM's process pins its shared memory */
	if (kvm)
		guest_mm_add((__u64)BPF_CORE_READ((struct kvm *)kvm, mm));

	if (!mapping)
		return;
	err = bpf_map_update_elem(&backing_mappings, &mapping, &b, BPF_NOEXIST);
	if (!err)
		__sync_fetch_and_add(&backings_registered, 1);
	if (err == -7 /* E2BIG */)
		stat_add(GMEM_STAT_MODEL_MAP_FULL, 1);
	gate = bpf_map_lookup_elem(&backing_gate, &zero);
	if (gate && !*gate)
		__sync_fetch_and_add(gate, 1);
}

/*
 * Where guest folios live, coarsely: a bit per 32 KiB of struct pages (512
 * pages, 2 MiB of memory with 64-byte struct pages), set for every folio
 * whose pins we count (bpf/pins.bpf.c) or that the scan finds pinned
 * (bpf/scan.bpf.c), and never cleared.  An unpin call tests its elements
 * here first: foreign memory costs a shift and a bit test per element, not
 * the reads that tell a folio's mapping.  The index wraps: a false hit
 * only costs that exact test.
 */
#define PAGE_REGION_SHIFT 15
#define PAGE_REGION_WORDS (1u << 14) /* 2^20 bits: 2 TiB before wrapping */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PAGE_REGION_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} guest_page_regions SEC(".maps");

/* The bitmap word of struct page address 'page', and its bit there. */
static __always_inline __u64 *page_region_word(__u64 page, __u64 *mask)
{
	__u32 bit = (__u32)(page >> PAGE_REGION_SHIFT), word = (bit >> 6) & (PAGE_REGION_WORDS - 1);

	*mask = 1ull << (bit & 63);
	return bpf_map_lookup_elem(&guest_page_regions, &word);
}

static __always_inline bool page_region_marked(__u64 page)
{
	__u64 mask, *w = page_region_word(page, &mask);

	return w && (*w & mask);
}

static __always_inline void page_region_mark(__u64 page)
{
	__u64 mask, *w = page_region_word(page, &mask);

	if (w && !(*w & mask))
		__sync_fetch_and_or(w, mask);
}

static long region_mark_step(__u64 i, __u64 *first)
{
	page_region_mark(*first + (i << PAGE_REGION_SHIFT));
	return 0;
}

/* The regions of all the folio's struct pages (a 1 GiB folio spans 512):
 * 'folio' a plain number, not a typed pointer. */
static __always_inline void folio_regions_mark(__u64 folio, __u32 order)
{
	__u64 first = folio & ~((1ull << PAGE_REGION_SHIFT) - 1);
	__u64 last = folio + (bpf_core_type_size(struct page) << (order & 31)) - 1;

	bpf_loop(((last - first) >> PAGE_REGION_SHIFT) + 1, region_mark_step, &first, 0);
}

#endif /* GMEM_BACKING_BPF_H */
