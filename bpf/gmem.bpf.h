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
#define GMEM_MAPPING_ANON 0x1UL

/*
 * The id that stands for an anonymous backing's inode number (its device
 * is 0:0, which no file has): the tagged anon_vma pointer's low 47 bits,
 * unique within the kernel's direct map and exact in a JSON double.
 */
static __always_inline __u64 anon_backing_id(__u64 mapping)
{
	return mapping & ((1ULL << 47) - 1);
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gmem_stats);
} stats SEC(".maps");

/* A map of kernel stacks (bpf_get_stackid).  The pins and refs objects
 * each declare one named pin_stacks, and the loader makes them one map. */
#define GMEM_STACK_MAP(name)                                                 \
	struct {                                                             \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);                      \
		__uint(max_entries, GMEM_DEFAULT_MAX_STACKS);                \
		__uint(key_size, sizeof(__u32));                             \
		__uint(value_size, GMEM_MAX_STACK_DEPTH * sizeof(__u64));    \
	} name SEC(".maps")

/* The VM model's memslots (include/gmem/abi.h struct gmem_memslot, keyed by
 * struct kvm_memory_slot *): bpf/lifecycle.bpf.c keeps it, bpf/convert.bpf.c
 * reads it, and the loader makes them one map. */
#define GMEM_MEMSLOTS_MAP(name)                                              \
	struct {                                                             \
		__uint(type, BPF_MAP_TYPE_HASH);                             \
		__uint(max_entries, GMEM_DEFAULT_MAX_MEMSLOTS);              \
		__type(key, __u64);                                          \
		__type(value, struct gmem_memslot);                          \
	} name SEC(".maps")

static __always_inline void stat_add(enum gmem_stat which, __u64 n)
{
	__u32 zero = 0;
	struct gmem_stats *s = bpf_map_lookup_elem(&stats, &zero);

	/* atomic even per CPU: tracing programs run preemptible (only
	 * migration is disabled), so two tasks can interleave on one CPU */
	if (s && which < GMEM_STAT_NR)
		__sync_fetch_and_add(&s->v[which], n);
}

/* A record of 'size' bytes in ring buffer 'rb' with its header filled in,
 * or NULL, counted in 'lost' (the buffer is full). */
static __always_inline void *ringbuf_record(void *rb, __u32 size, __u16 type, enum gmem_stat lost)
{
	struct gmem_event_hdr *h = bpf_ringbuf_reserve(rb, size, 0);

	if (!h) {
		stat_add(lost, 1);
		return NULL;
	}
	h->version = GMEM_ABI_VERSION;
	h->type = type;
	h->size = size;
	return h;
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
 * The first word of folio->flags: an unsigned long until 6.17, then
 * memdesc_flags_t, a struct of one long (6.18, "mm: introduce
 * memdesc_flags_t").  Either way it is the first word of struct page and
 * so of struct folio, which is read without CO-RE: a field-exists guard
 * per layout compiled into a relocation the compiler may hoist above the
 * guard, which the verifier then rejects as an invalid CO-RE relocation.
 */
static __always_inline unsigned long folio_flags_word(struct folio *folio)
{
	unsigned long flags = 0;

	bpf_probe_read_kernel(&flags, sizeof(flags), folio);
	return flags;
}

/* log2 of the folio's pages: 0 unless PG_head, then the low byte of the
 * second page's flags. */
static __always_inline __u32 folio_order(struct folio *folio)
{
	__u32 head = bpf_core_enum_value(enum pageflags, PG_head);
	unsigned long flags1 = 0;

	if (!(folio_flags_word(folio) & (1UL << head)))
		return 0;
	bpf_core_read(&flags1, sizeof(flags1), &folio->_flags_1);
	return flags1 & 0xff;
}

/* The pins the kernel holds on a folio: large folios count them in
 * _pincount, order-0 ones in _refcount, GUP_PIN_COUNTING_BIAS each (so
 * 1024 plain references there read as one more pin: never fewer). */
static __always_inline __u32 folio_kernel_pins(struct folio *folio)
{
	if (folio_order(folio))
		return BPF_CORE_READ(folio, _pincount.counter);
	return (__u32)BPF_CORE_READ(folio, _refcount.counter) / GMEM_GUP_PIN_COUNTING_BIAS;
}

/*
 * page -> folio.  A tail page has bit 0 set in its first word, which was
 * page->compound_head and became page->compound_info in 7.x.  The rest of
 * the word is the head page's address, or (the later "compound_info mask"
 * series, when sizeof(struct page) is a power of two) a mask that turns the
 * tail's address into the head's.  A head pointer lies at most a maximal
 * folio's worth of struct pages below the tail; a mask does not.
 */
struct page___compound_head {
	unsigned long compound_head;
} __attribute__((preserve_access_index));
struct page___compound_info {
	unsigned long compound_info;
} __attribute__((preserve_access_index));

#define MAX_FOLIO_PAGES_SPAN ((1ul << 18) * 64)

/* The folio of 'page' from its first word, 'info', as read. */
static __always_inline __u64 folio_of_compound_info(__u64 page, unsigned long info)
{
	if (!(info & 1))
		return page;
	if (info - 1 <= page && page - (info - 1) < MAX_FOLIO_PAGES_SPAN)
		return info - 1;
	return page & info;
}

static __always_inline __u64 page_folio_addr(__u64 page)
{
	unsigned long info;

	if (bpf_core_field_exists(struct page___compound_info, compound_info))
		info = BPF_CORE_READ((struct page___compound_info *)page, compound_info);
	else
		info = BPF_CORE_READ((struct page___compound_head *)page, compound_head);
	return folio_of_compound_info(page, info);
}

/*
 * Argument i of a traced function as a plain number.  The verifier keeps
 * pointer arguments typed, and a typed pointer may not be passed to a
 * global function or mixed with arithmetic; a copy made by a helper is
 * just a value.
 */
static __always_inline __u64 arg_value(unsigned long long *ctx, int i)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &ctx[i]);
	return v;
}

/* A typed pointer as a plain number (see arg_value()). */
static __always_inline __u64 ptr_value(const void *p)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &p);
	return v;
}

#endif /* GMEM_BPF_H */
