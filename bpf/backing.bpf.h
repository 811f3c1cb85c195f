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

static __always_inline void backing_register(__u64 mapping, __u64 kvm)
{
	struct gmem_backing b = { .kvm = kvm, .registered_ns = bpf_ktime_get_ns() };
	__u32 zero = 0, *gate;
	long err;

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

#endif /* GMEM_BACKING_BPF_H */
