// SPDX-License-Identifier: GPL-2.0
/*
 * Who holds the extra references on guest memory: the page_ref_* tracepoints
 * (CONFIG_DEBUG_PAGE_REF) fire after every change of a page's _refcount.
 * Every change in the system comes through here, so each program first
 * rejects foreign memory with the same two loads as pins.bpf.c
 * (mapping_is_guest_memfd()); only guest_memfd folios reach folio_refs.
 *
 * Pins are pins.bpf.c's business and are left out: a slow-path pin of an
 * order-0 folio adds GUP_PIN_COUNTING_BIAS at once, a fast-path pin adds
 * 1 and then BIAS - 1, an unpin takes BIAS away.  (Large folios count pins
 * in _pincount and their refcount by 1, like a FOLL_GET; guest_memfd folios
 * are order-0 up to 7.3.)  What remains are FOLL_GET references, lookups,
 * and the page cache's and mappings' own, which userspace tells apart by
 * their stacks.
 */
#include "vmlinux.h"
#include <bpf/bpf_tracing.h>
#include "gmem.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 filter_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GMEM_DEFAULT_MAX_REF_FOLIOS);
	__type(key, __u64); /* folio address */
	__type(value, struct gmem_folio_refs);
} folio_refs SEC(".maps");

/* The pins object's stack map, shared by the loader (bpf_map__reuse_fd),
 * so that one stack id means one stack in both. */
GMEM_STACK_MAP(pin_stacks);

#define PIN_BIAS GMEM_GUP_PIN_COUNTING_BIAS

/* The folio of a page argument if it is guest memory, else 0. */
static __always_inline __u64 guest_folio(__u64 page, struct address_space **mapping)
{
	__u64 folio = page_folio_addr(page);

	*mapping = BPF_CORE_READ((struct folio *)folio, mapping);
	if (!*mapping || !mapping_is_guest_memfd(*mapping))
		return 0;
	return folio;
}

static __always_inline struct gmem_folio_refs *refs_entry(__u64 folio,
							  struct address_space *mapping)
{
	struct gmem_folio_refs *r = bpf_map_lookup_elem(&folio_refs, &folio);
	struct inode *host;
	long err;

	if (r)
		return r;
	{
		struct gmem_folio_refs init = {};

		host = BPF_CORE_READ(mapping, host);
		init.mapping = (__u64)mapping;
		init.ino = BPF_CORE_READ(host, i_ino);
		init.dev = BPF_CORE_READ(host, i_sb, s_dev);
		init.index = BPF_CORE_READ((struct folio *)folio, index);
		err = bpf_map_update_elem(&folio_refs, &folio, &init, BPF_NOEXIST);
		if (err && err != -17 /* EEXIST: created meanwhile */)
			return NULL;
	}
	return bpf_map_lookup_elem(&folio_refs, &folio);
}

/* 'refs' references taken by the current task. */
static __always_inline void ref_taken(void *ctx, __u64 folio, struct address_space *mapping,
				      __u32 refs)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	struct gmem_folio_refs *r = refs_entry(folio, mapping);
	__s32 stack_id;
	int free_slot = -1;

	if (!r) {
		stat_add(GMEM_STAT_REF_UNRECORDED, refs);
		return;
	}
	stack_id = bpf_get_stackid(ctx, &pin_stacks, 0);
	if (stack_id < 0)
		stat_add(GMEM_STAT_STACK_LOST, 1);
	for (int i = 0; i < GMEM_REF_HOLDERS; i++) {
		struct gmem_ref_holder *h = &r->holder[i];

		if (h->refs && h->tgid == (__u32)(id >> 32) && h->stack_id == stack_id) {
			__sync_fetch_and_add(&h->refs, refs);
			h->last_ns = now;
			return;
		}
		if (!h->refs && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0 || free_slot >= GMEM_REF_HOLDERS) {
		__sync_fetch_and_add(&r->holders_full, refs);
		stat_add(GMEM_STAT_REF_UNRECORDED, refs);
		return;
	}
	{
		struct gmem_ref_holder *h = &r->holder[free_slot];

		/* claim the slot; losing the race to another CPU leaves the
		 * reference unrecorded rather than mixed into its holder */
		if (__sync_val_compare_and_swap(&h->refs, 0, refs) != 0) {
			__sync_fetch_and_add(&r->holders_full, refs);
			stat_add(GMEM_STAT_REF_UNRECORDED, refs);
			return;
		}
		h->tgid = id >> 32;
		h->pid = (__u32)id;
		bpf_get_current_comm(h->comm, sizeof(h->comm));
		h->cgroup_id = bpf_get_current_cgroup_id();
		h->first_ns = now;
		h->last_ns = now;
		h->stack_id = stack_id;
	}
}

/* 'refs' references released by the current task: its own, most recent
 * first, if it holds any here; otherwise someone else's. */
static __always_inline void ref_released(__u64 folio, __u32 refs)
{
	struct gmem_folio_refs *r = bpf_map_lookup_elem(&folio_refs, &folio);
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	int best = -1;
	__u64 best_ns = 0;

	if (!r)
		return;
	for (int i = 0; i < GMEM_REF_HOLDERS; i++) {
		struct gmem_ref_holder *h = &r->holder[i];

		if (h->refs && h->tgid == tgid && h->last_ns >= best_ns) {
			best = i;
			best_ns = h->last_ns;
		}
	}
	if (best >= 0 && best < GMEM_REF_HOLDERS) {
		__u32 *count = &r->holder[best].refs;

		for (int i = 0; i < 4; i++) {
			__u32 old = *count, take = old < refs ? old : refs;

			if (__sync_val_compare_and_swap(count, old, old - take) == old) {
				refs -= take;
				break;
			}
		}
	}
	if (refs)
		__sync_fetch_and_add(&r->foreign_puts, refs);
}

/* A change of 'v' references on 'page' (after the fact). */
static __always_inline void ref_changed(void *ctx, int v)
{
	struct address_space *mapping;
	__u32 n = v < 0 ? -v : v; /* BPF has no signed division */
	__u64 folio;

	if (!v)
		return;
	folio = guest_folio(arg_value(ctx, 0), &mapping);
	if (!folio)
		return;
	if (filter_tgid && (bpf_get_current_pid_tgid() >> 32) != filter_tgid)
		return;
	if (n % PIN_BIAS == 0)
		return; /* a slow-path pin or an unpin */
	if (v > 0 && n % (PIN_BIAS - 1) == 0) {
		/* a fast-path pin completing: its first +refs was no reference */
		ref_released(folio, n / (PIN_BIAS - 1));
		return;
	}
	if (v > 0)
		ref_taken(ctx, folio, mapping, n);
	else
		ref_released(folio, n);
}

/*
 * The refcount was set or frozen to a value on a guest folio: a freeze
 * succeeds only when the count is exactly what the kernel expects
 * (migration, truncation), so no extra holder is left; forget them.
 */
static __always_inline void refs_reset(void *ctx)
{
	struct address_space *mapping;
	__u64 folio = guest_folio(arg_value(ctx, 0), &mapping);
	struct gmem_folio_refs *r;

	if (!folio)
		return;
	r = bpf_map_lookup_elem(&folio_refs, &folio);
	if (!r)
		return;
	for (int i = 0; i < GMEM_REF_HOLDERS; i++)
		r->holder[i].refs = 0;
}

SEC("tp_btf/page_ref_mod")
int BPF_PROG(page_ref_mod, struct page *page, int v)
{
	ref_changed(ctx, v);
	return 0;
}

SEC("tp_btf/page_ref_mod_and_test")
int BPF_PROG(page_ref_mod_and_test, struct page *page, int v, int ret)
{
	ref_changed(ctx, v);
	return 0;
}

SEC("tp_btf/page_ref_mod_and_return")
int BPF_PROG(page_ref_mod_and_return, struct page *page, int v, int ret)
{
	ref_changed(ctx, v);
	return 0;
}

/* page_ref_add_unless(): 'u' is whether the add happened. */
SEC("tp_btf/page_ref_mod_unless")
int BPF_PROG(page_ref_mod_unless, struct page *page, int v, int u)
{
	if (u)
		ref_changed(ctx, v);
	return 0;
}

SEC("tp_btf/page_ref_set")
int BPF_PROG(page_ref_set, struct page *page, int v)
{
	refs_reset(ctx);
	return 0;
}

SEC("tp_btf/page_ref_freeze")
int BPF_PROG(page_ref_freeze, struct page *page, int v, int ret)
{
	if (ret)
		refs_reset(ctx);
	return 0;
}

/* Unfreezing restores the expected count: nothing extra to attribute. */
SEC("tp_btf/page_ref_unfreeze")
int BPF_PROG(page_ref_unfreeze, struct page *page, int v)
{
	return 0;
}
