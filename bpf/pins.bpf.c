// SPDX-License-Identifier: GPL-2.0
/*
 * GUP pin tracking on guest_memfd folios.
 *
 * Every pin and unpin in the system passes through these programs, so the
 * first thing each does is reject foreign memory: one load of
 * folio->mapping and one of mapping->flags.  Only guest_memfd folios reach
 * the folio_pins map.
 */
#include "vmlinux.h"
#include <bpf/bpf_tracing.h>
#include "gmem.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Only count pins taken by this process (0: all). */
const volatile __u32 filter_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	/*
	 * Not preallocated: a deleted element is freed only after an RCU grace
	 * period, so a pointer from lookup stays valid for the whole program
	 * run even if the entry is deleted meanwhile (see folio_pin()).
	 */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, GMEM_DEFAULT_MAX_FOLIOS);
	__type(key, __u64);
	__type(value, struct gmem_folio_pins);
} folio_pins SEC(".maps");

/* A guest folio not yet in folio_pins, or NULL for foreign memory. */
static __always_inline struct address_space *guest_mapping(struct folio *folio)
{
	struct address_space *mapping = BPF_CORE_READ(folio, mapping);

	if (!mapping || !mapping_is_guest_memfd(mapping))
		return NULL;
	return mapping;
}

static __always_inline void fill_new(struct gmem_folio_pins *v, struct folio *folio,
				     struct address_space *mapping, __u64 now)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct inode *host = BPF_CORE_READ(mapping, host);

	v->mapping = (__u64)mapping;
	v->ino = BPF_CORE_READ(host, i_ino);
	v->dev = BPF_CORE_READ(host, i_sb, s_dev);
	v->index = BPF_CORE_READ(folio, index);
	v->first_pin_ns = now;
	v->last_pin_ns = now;
	v->tgid = id >> 32;
	v->pid = (__u32)id;
	bpf_get_current_comm(v->comm, sizeof(v->comm));
}

/*
 * Add 'refs' pins to an entry unless its last unpin marked it dead.
 * Returns false when the entry is dead (it is about to leave the map).
 */
static __always_inline bool add_pins(struct gmem_folio_pins *v, __u32 refs)
{
	for (int i = 0; i < 8; i++) {
		__u32 old = v->pins;

		if (old == GMEM_PINS_DEAD)
			return false;
		if (__sync_val_compare_and_swap(&v->pins, old, old + refs) == old)
			return true;
	}
	return false;
}

/*
 * Record 'refs' references of kind 'flags' on a guest folio.  The entry
 * protocol keeps counts exact against a concurrent last unpin: the unpin
 * turns pins 0 into GMEM_PINS_DEAD with a cmpxchg before deleting, and we
 * never add to a dead entry; instead we retry until the key is free or a
 * live entry is there.
 */
static __always_inline void folio_grab(struct folio *folio, __u32 refs, __u32 flags,
				       __u32 how)
{
	struct address_space *mapping = guest_mapping(folio);
	bool pin = flags & foll_pin;
	__u64 key = (__u64)folio;
	__u64 now;

	if (!mapping || !(flags & (foll_pin | foll_get)))
		return;
	if (filter_tgid && (bpf_get_current_pid_tgid() >> 32) != filter_tgid)
		return;

	now = bpf_ktime_get_ns();
	stat_add(pin ? GMEM_STAT_PIN : GMEM_STAT_GET, refs);
	for (int attempt = 0; attempt < 4; attempt++) {
		struct gmem_folio_pins *v = bpf_map_lookup_elem(&folio_pins, &key);

		if (!v) {
			struct gmem_folio_pins init = {};
			long err;

			fill_new(&init, folio, mapping, now);
			init.pins = pin ? refs : 0;
			init.gets = pin ? 0 : refs;
			init.flags = how | ((flags & foll_longterm) ? GMEM_PIN_F_LONGTERM : 0);
			err = bpf_map_update_elem(&folio_pins, &key, &init, BPF_NOEXIST);
			if (!err)
				return;
			if (err != -17 /* EEXIST: created meanwhile, add to it */) {
				stat_add(GMEM_STAT_MAP_FULL, 1);
				return;
			}
			continue;
		}
		if (!pin) {
			__sync_fetch_and_add(&v->gets, refs);
		} else if (!add_pins(v, refs)) {
			continue;
		}
		v->last_pin_ns = now;
		v->flags |= how | ((flags & foll_longterm) ? GMEM_PIN_F_LONGTERM : 0);
		return;
	}
	stat_add(GMEM_STAT_RACE_LOST, 1);
}

/* mm/gup.c, the slow path (follow_page_mask and friends): 0 on success. */
SEC("fexit/try_grab_folio")
int BPF_PROG(try_grab_folio_exit, struct folio *folio, int refs, unsigned int flags, int ret)
{
	if (ret == 0)
		folio_grab(folio, refs, flags, GMEM_PIN_F_SLOW);
	return 0;
}

/*
 * mm/gup.c, the lockless fast path (gup_fast_pte_range): the folio on
 * success, NULL otherwise.  A grab that the fast path then rolls back goes
 * through gup_put_folio() and is undone there.
 */
SEC("fexit/try_grab_folio_fast")
int BPF_PROG(try_grab_folio_fast_exit, struct page *page, int refs, unsigned int flags,
	     struct folio *ret)
{
	if (ret)
		folio_grab(ret, refs, flags, GMEM_PIN_F_FAST);
	return 0;
}

/* mm/gup.c: every FOLL_PIN release (unpin_user_page*, unpin_folio*, rollbacks). */
SEC("fentry/gup_put_folio")
int BPF_PROG(gup_put_folio_entry, struct folio *folio, int refs, unsigned int flags)
{
	struct address_space *mapping;
	struct gmem_folio_pins *v;
	__u64 key = (__u64)folio;
	__u32 old;

	if (!(flags & foll_pin))
		return 0;
	/* A hole punch clears folio->mapping while pins are held: look those
	 * up by address; any other mapping that is not guest_memfd is foreign. */
	mapping = BPF_CORE_READ(folio, mapping);
	if (mapping && !mapping_is_guest_memfd(mapping))
		return 0;

	v = bpf_map_lookup_elem(&folio_pins, &key);
	if (!v) {
		if (mapping)
			stat_add(GMEM_STAT_UNPIN_UNKNOWN, refs);
		return 0;
	}
	stat_add(GMEM_STAT_UNPIN, refs);
	old = __sync_fetch_and_sub(&v->pins, (__u32)refs);
	if (old == (__u32)refs && v->gets == 0 &&
	    __sync_val_compare_and_swap(&v->pins, 0, GMEM_PINS_DEAD) == 0)
		bpf_map_delete_elem(&folio_pins, &key);
	return 0;
}
