/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by gmem-tools' BPF objects. */
#ifndef GMEM_BPF_H
#define GMEM_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <gmem/abi.h>

/*
 * FOLL_* values live in anonymous enums that have been renumbered across
 * kernels (FOLL_PIN moved into mm/internal.h's enum in 6.2 and was
 * renumbered again since), so the loader reads them from the running
 * kernel's BTF and sets these before load.
 */
const volatile __u32 foll_pin = 0;
const volatile __u32 foll_get = 0;
const volatile __u32 foll_longterm = 0;

/* folio->mapping low bits: PAGE_MAPPING_ANON (1) and PAGE_MAPPING_MOVABLE /
 * KSM (2); a mapping with either bit set is not a page-cache address_space. */
#define GMEM_MAPPING_FLAGS 0x3UL

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gmem_stats);
} stats SEC(".maps");

static __always_inline void stat_add(enum gmem_stat which, __u64 n)
{
	__u32 zero = 0;
	struct gmem_stats *s = bpf_map_lookup_elem(&stats, &zero);

	/* atomic even per CPU: tracing programs run preemptible (only
	 * migration is disabled), so two tasks can interleave on one CPU */
	if (s && which < GMEM_STAT_NR)
		__sync_fetch_and_add(&s->v[which], n);
}

/*
 * AS_INACCESSIBLE is set by guest_memfd and nothing else (6.11+, all
 * guest_memfd inode flavours: anon inode in 6.12, its own filesystem since
 * 6.17): one load of mapping->flags tells guest memory from the rest.
 */
static __always_inline bool mapping_is_guest_memfd(struct address_space *mapping)
{
	unsigned long bit = bpf_core_enum_value(enum mapping_flags, AS_INACCESSIBLE);

	if ((unsigned long)mapping & GMEM_MAPPING_FLAGS)
		return false;
	return BPF_CORE_READ(mapping, flags) & (1UL << bit);
}

/*
 * folio->flags, the first word of struct folio on every kernel.  Its type
 * changed (unsigned long up to 6.17, memdesc_flags_t since 6.18) and CO-RE
 * does not match the two, so a relocated read fails to load on 6.12: read
 * the word at offset 0 instead.
 */
static __always_inline unsigned long folio_flags_word(const void *folio)
{
	unsigned long flags = 0;

	bpf_probe_read_kernel(&flags, sizeof(flags), folio);
	return flags;
}

#endif /* GMEM_BPF_H */
