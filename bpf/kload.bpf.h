/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel loads without a helper call, for the per-folio work of the pin
 * programs (bpf/pins.bpf.c).  bpf_probe_read_kernel() is a helper call of
 * a hundred instructions or more; a load through bpf_rdonly_cast() (Linux
 * 6.2+, "bpf: Add a kfunc for generic type cast") is one instruction with
 * an exception-table entry: a faulting address reads 0, as a failed probe
 * read leaves its buffer.
 */
#ifndef GMEM_KLOAD_BPF_H
#define GMEM_KLOAD_BPF_H

#include "gmem.bpf.h"

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/*
 * The 8 bytes at kernel address 'addr', as a number.  The cast is to struct
 * page, whose first word is a plain number (flags) in every layout: the
 * verifier types a load by the field it reads, and a pointer field's value
 * would be a pointer that no arithmetic may touch.
 */
static __always_inline __u64 kload(__u64 addr)
{
	__u64 *p = bpf_rdonly_cast((void *)addr, bpf_core_type_id_kernel(struct page));

	return *p;
}

/* page_folio_addr() (bpf/gmem.bpf.h) in loads. */
static __always_inline __u64 kload_page_folio(__u64 page)
{
	__u64 info;

	if (bpf_core_field_exists(struct page___compound_info, compound_info))
		info = kload(page + bpf_core_field_offset(struct page___compound_info, compound_info));
	else
		info = kload(page + bpf_core_field_offset(struct page___compound_head, compound_head));
	return folio_of_compound_info(page, info);
}

/* folio_order() in loads. */
static __always_inline __u32 kload_folio_order(__u64 folio)
{
	__u32 head = bpf_core_enum_value(enum pageflags, PG_head);

	if (!(kload(folio) & (1UL << head)))
		return 0;
	return kload(folio + bpf_core_field_offset(struct folio, _flags_1)) & 0xff;
}

static __always_inline __u64 kload_folio_mapping(__u64 folio)
{
	return kload(folio + bpf_core_field_offset(struct folio, mapping));
}

static __always_inline __u64 kload_folio_index(__u64 folio)
{
	return kload(folio + bpf_core_field_offset(struct folio, index));
}

/* mapping_is_guest_memfd() in loads. */
static __always_inline bool kload_mapping_is_guest_memfd(__u64 mapping)
{
	unsigned long bit = bpf_core_enum_value(enum mapping_flags, AS_INACCESSIBLE);

	if (mapping & GMEM_MAPPING_FLAGS)
		return false;
	return kload(mapping + bpf_core_field_offset(struct address_space, flags)) & (1UL << bit);
}

#endif /* GMEM_KLOAD_BPF_H */
