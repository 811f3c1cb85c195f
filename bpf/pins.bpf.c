// SPDX-License-Identifier: GPL-2.0
/*
 * GUP pin tracking on guest_memfd folios and on the folios of a memslot's
 * shared backing (bpf/backing.bpf.h).
 *
 * Every outer GUP call and every unpin in the system passes through these
 * programs, so the first thing each does is reject foreign memory: a call
 * on an mm that maps no guest memory costs one lookup at entry and one at
 * exit; an unpin a bit test per element outside the page regions that hold
 * guest folios (bpf/backing.bpf.h).  Only guest folios reach folio_pins.
 */
#include "vmlinux.h"
#include <bpf/bpf_tracing.h>
#include "backing.bpf.h"
#include "kload.bpf.h"
#include "kprobe.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Only count pins taken by this process (0: all). */
const volatile __u32 filter_tgid = 0;

/*
 * The tracked folios: an array, not a hash, so that finding a folio is a
 * few instructions inline (a hash lookup per page cost more than the
 * kernel's own pinning).  A folio lives in one of GMEM_FOLIO_PROBE_SLOTS
 * slots from its home slot (folio_home()); a new folio takes the first
 * free or idle slot there (folio_insert()), so nothing ever deletes, and
 * userspace reads the table in place (mmap).  A slot can be taken over
 * while another CPU holds a pointer to it, so every change made through a
 * found slot is checked afterwards to still belong to its folio, and
 * undone if not (atomic adds commute: the undo leaves the other folio
 * exact).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GMEM_DEFAULT_MAX_FOLIOS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct gmem_folio_pins);
} folio_pins SEC(".maps");

/* Set by the loader: folio_pins' size, a power of two, less one; the
 * slots a folio may take (GMEM_FOLIO_PROBE_SLOTS, or fewer in a smaller
 * table). */
const volatile __u32 folio_slot_mask = GMEM_DEFAULT_MAX_FOLIOS - 1;
const volatile __u32 folio_probe_slots = GMEM_FOLIO_PROBE_SLOTS;

/*
 * A folio's home slot, from its struct page address: one slot per page
 * frame for order-0 folios (contiguous memory never collides), and the
 * second term spreads 2 MiB folios, 512 struct pages apart, over the
 * slots the first term leaves them.
 */
static __always_inline __u32 folio_slot_index(__u64 folio, __u32 k)
{
	return ((__u32)(folio >> 6) ^ (__u32)(folio >> 15)) + k;
}

static __always_inline struct gmem_folio_pins *folio_slot(__u64 folio, __u32 k)
{
	__u32 idx = folio_slot_index(folio, k) & folio_slot_mask;

	return bpf_map_lookup_elem(&folio_pins, &idx);
}

static __always_inline struct gmem_folio_pins *slot_at(long slot)
{
	__u32 idx = (__u32)slot;

	return slot < 0 ? NULL : bpf_map_lookup_elem(&folio_pins, &idx);
}

/* The slot of 'folio' beyond its home slot, or -1.  A global function,
 * verified once, not at every call site. */
__noinline long folio_find_further(__u64 folio)
{
	for (__u32 k = 1; k < GMEM_FOLIO_PROBE_SLOTS && k < folio_probe_slots; k++) {
		struct gmem_folio_pins *v = folio_slot(folio, k);

		if (v && v->folio == folio)
			return folio_slot_index(folio, k) & folio_slot_mask;
	}
	return -1;
}

/* The entry of 'folio', or NULL: almost always its home slot. */
static __always_inline struct gmem_folio_pins *folio_find(__u64 folio)
{
	struct gmem_folio_pins *v = folio_slot(folio, 0);

	if (v && v->folio == folio)
		return v;
	return slot_at(folio_find_further(folio));
}

/*
 * gmem-check: the end of every folio's pins, as a GMEM_EV_PIN_RELEASED
 * record in check_events (the loader makes it bpf/convert.bpf.c's ring
 * buffer), so that a conversion can be judged against pins released
 * after it.  Off (and pruned by the verifier) for gmemtop.
 */
const volatile bool log_releases = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} check_events SEC(".maps");

/* Kernel stacks of first pins: who pinned, through which API. */
GMEM_STACK_MAP(pin_stacks);

/* gmemtop --ustack: record each new holder's user stack (a user-stack walk
 * per new holder, so off by default). */
const volatile bool capture_ustack = false;

/* User stacks of new holders; the loader shrinks it to one entry without
 * --ustack. */
GMEM_STACK_MAP(user_stacks);

/*
 * Outer GUP calls in flight (pin_user_pages*(), get_user_pages*()), by
 * task, on an mm that maps guest memory: their exits count their pins
 * (gup_call_exit()), and inside them nothing else does (in_outer_call()).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GMEM_DEFAULT_MAX_GUP_CALLS);
	__type(key, __u64);   /* pid_tgid */
	__type(value, struct gmem_gup_call);
} gup_calls SEC(".maps");

/* The new holder's user stack id, or -1: none (a kernel thread has none;
 * a full map is counted). */
static __always_inline __s32 user_stack_id(void *ctx)
{
	long id;

	if (!capture_ustack)
		return -1;
	id = bpf_get_stackid(ctx, &user_stacks, BPF_F_USER_STACK);
	if (id >= 0)
		return id;
	if (id != -14 /* EFAULT: no user stack */)
		stat_add(GMEM_STAT_USTACK_LOST, 1);
	return -1;
}

/* A guest folio not yet in folio_pins, or NULL for foreign memory. */
static __always_inline struct address_space *guest_mapping(struct folio *folio)
{
	struct address_space *mapping = BPF_CORE_READ(folio, mapping);

	if (!mapping || !mapping_is_guest(mapping))
		return NULL;
	return mapping;
}

/* mapping_is_guest() for a mapping given as a number, in loads. */
static __always_inline bool mapping_is_guest_at(__u64 mapping)
{
	return kload_mapping_is_guest_memfd(mapping) ||
	       mapping_is_shared_backing((struct address_space *)mapping);
}

/*
 * Where a pin was taken, and by whom: at an outer GUP call's exit, its mm
 * and the user address of the folio's first page (both 0 for a lone grab,
 * which has no page array), and what the call's new holders share, taken
 * once per call (site_fill()): the stacks (a walk each, the dearest part of
 * a new holder), the task, the time.  The inode of the last guest file
 * seen is kept too: a call's folios are mostly one file's.
 */
struct pin_site {
	__u64 mm;
	__u64 addr;
	__s32 stack_id;
	__s32 ustack_id;
	__u64 now;
	__u64 pid_tgid;
	__u64 cgroup_id;
	char comm[GMEM_COMM_LEN];
	__u64 mapping; /* of ino and dev, 0: none yet */
	__u64 ino;
	__u32 dev;
	__u32 _pad;
};

/* The stacks and the task of the current pin, into 'site'. */
static __always_inline void site_fill(void *ctx, struct pin_site *site)
{
	/* identical stacks share one entry, so the map fills slowly */
	site->stack_id = bpf_get_stackid(ctx, &pin_stacks, 0);
	if (site->stack_id < 0)
		stat_add(GMEM_STAT_STACK_LOST, 1);
	site->ustack_id = user_stack_id(ctx);
	site->now = bpf_ktime_get_ns();
	site->pid_tgid = bpf_get_current_pid_tgid();
	site->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(site->comm, sizeof(site->comm));
}

/* The inode of guest mapping 'mapping', through the site's cache. */
static __always_inline void site_inode(struct pin_site *site, struct address_space *mapping)
{
	struct inode *host;

	if (site->mapping == (__u64)mapping)
		return;
	site->mapping = (__u64)mapping;
	if ((__u64)mapping & GMEM_MAPPING_ANON) {
		/* anonymous shared backing (bpf/memslot.bpf.h): no inode */
		site->ino = anon_backing_id((__u64)mapping);
		site->dev = 0;
		return;
	}
	host = BPF_CORE_READ(mapping, host);
	site->ino = BPF_CORE_READ(host, i_ino);
	site->dev = BPF_CORE_READ(host, i_sb, s_dev);
}

/* A new holder of 'folio' in 'v': all but the counts. */
static __always_inline void fill_new(struct gmem_folio_pins *v, __u64 folio,
				     struct address_space *mapping, struct pin_site *site)
{
	site_inode(site, mapping);
	v->mapping = (__u64)mapping;
	v->ino = site->ino;
	v->dev = site->dev;
	v->index = kload_folio_index(folio);
	v->first_pin_ns = site->now;
	v->last_pin_ns = site->now;
	v->tgid = site->pid_tgid >> 32;
	v->pid = (__u32)site->pid_tgid;
	__builtin_memcpy(v->comm, site->comm, sizeof(v->comm));
	v->cgroup_id = site->cgroup_id;
	v->stack_id = site->stack_id;
	v->ustack_id = site->ustack_id;
	v->addr = site->addr;
	/* mm last (x86 keeps stores in order): readers take the address only
	 * with an mm */
	asm volatile("" ::: "memory");
	v->mm = site->mm;
}

/* v->pins and v->pins_gen as one word (include/gmem/abi.h): every change
 * of pins adds PINS_GEN too. */
#define PINS_GEN (1ull << 32)
#define PINS_HALF 0xffffffffull

static __always_inline __u64 *pins_word(struct gmem_folio_pins *v)
{
	return (__u64 *)&v->pins;
}

/* Is 'v' still the entry of 'key'?  (Not taken over meanwhile.) */
static __always_inline bool still_owned(__u64 key, struct gmem_folio_pins *v)
{
	return v->folio == key && (__u32)*pins_word(v) != GMEM_PINS_DEAD;
}

/* Add 'refs' pins to 'v': the word before, or -1 while it is taken over
 * (GMEM_PINS_DEAD) or kept changing. */
static __always_inline long pins_add(struct gmem_folio_pins *v, __u32 refs)
{
	__u64 *word = pins_word(v);

	for (int i = 0; i < 8; i++) {
		__u64 old = *word;

		if ((__u32)old == GMEM_PINS_DEAD)
			return -1;
		if (__sync_val_compare_and_swap(word, old, old + PINS_GEN + refs) == old)
			return (long)(old & PINS_HALF);
	}
	return -1;
}

/* Does a slot of 'folio' other than its k-th hold it? */
static __always_inline bool folio_slot_taken_elsewhere(__u64 folio, __u32 k)
{
	for (__u32 j = 0; j < GMEM_FOLIO_PROBE_SLOTS && j < folio_probe_slots; j++) {
		struct gmem_folio_pins *o = folio_slot(folio, j);

		if (j != k && o && o->folio == folio)
			return true;
	}
	return false;
}

/*
 * Take a slot for 'folio', which its slots did not hold at the last look:
 * the first free or idle one.  On success the slot reads GMEM_PINS_DEAD
 * and 'folio': the caller fills it and publishes it (slot_publish()).
 * Returns the slot, or -EEXIST when another CPU took a slot for the same
 * folio meanwhile, -E2BIG when all are busy.
 */
__noinline long folio_insert(__u64 folio)
{
	for (__u32 k = 0; k < GMEM_FOLIO_PROBE_SLOTS && k < folio_probe_slots; k++) {
		struct gmem_folio_pins *v = folio_slot(folio, k);
		__u64 old, tag;

		if (!v)
			continue;
		tag = v->folio;
		if (tag == folio)
			return -17; /* EEXIST */
		old = *pins_word(v);
		if ((__u32)old || v->gets ||
		    __sync_val_compare_and_swap(pins_word(v), old, old | GMEM_PINS_DEAD) != old)
			continue;
		if (v->gets) {
			/* a FOLL_GET landed meanwhile: it keeps its slot */
			__sync_val_compare_and_swap(pins_word(v), old | GMEM_PINS_DEAD, old);
			continue;
		}
		/* an exchange: a full barrier between this store and the loads
		 * below, so that of two CPUs inserting one folio at once, at
		 * least one sees the other's slot and backs off */
		__sync_lock_test_and_set(&v->folio, folio);
		if (folio_slot_taken_elsewhere(folio, k)) {
			v->folio = tag;
			__sync_val_compare_and_swap(pins_word(v), old | GMEM_PINS_DEAD, old);
			return -17;
		}
		return folio_slot_index(folio, k) & folio_slot_mask;
	}
	return -7; /* E2BIG */
}

/* Open a slot taken by folio_insert() with 'pins' pins. */
static __always_inline void slot_publish(struct gmem_folio_pins *v, __u32 pins)
{
	__u64 *word = pins_word(v);

	/* an exchange: the fields are written before the slot opens */
	__sync_lock_test_and_set(word, (*word & ~PINS_HALF) + PINS_GEN + pins);
}

/*
 * Unpins the kernel did not let us see: it skips an unpin program while the
 * same program is running on that CPU (a task preempted inside it, an
 * interrupt's O_DIRECT completion), and counts the skip as a recursion
 * miss.  Such a miss leaves more pins tracked than the kernel holds, and
 * nothing else does: a pin is counted here after the kernel took it
 * (fexit), an unpin before the kernel drops it (fentry), so while either
 * is in flight the kernel's count is the higher one.  So 'tracked' (read
 * first) above 'kernel' (read after) is pins released unseen: bring the
 * entry down to the kernel's count, unless it changed meanwhile.
 */
static __always_inline void recover_unpins(__u64 key, struct gmem_folio_pins *v, __u64 seen,
					   __u32 kernel)
{
	__u32 tracked = (__u32)seen;

	/* 'seen': pins and generation as read before 'kernel' */
	if (tracked <= kernel || tracked == GMEM_PINS_DEAD ||
	    __sync_val_compare_and_swap(pins_word(v), seen, seen - tracked + kernel + PINS_GEN) != seen)
		return;
	if (!still_owned(key, v)) {
		/* reused for another folio under us: give it back */
		__sync_fetch_and_add(pins_word(v), PINS_GEN + tracked - kernel);
		return;
	}
	stat_add(GMEM_STAT_UNPIN_RECOVERED, tracked - kernel);
}

/* A pin of 'refs' on a tracked folio: first recover the unpins missed
 * since its last event, so that a holder whose pins are all gone is
 * replaced by the new pinner, not credited with its pin. */
static __always_inline void recover_before_pin(__u64 key, struct gmem_folio_pins *v,
					       struct folio *folio, __u32 refs)
{
	__u64 seen = *pins_word(v);
	__u32 kernel = folio_kernel_pins(folio);

	recover_unpins(key, v, seen, kernel > refs ? kernel - refs : 0);
}

/*
 * Record 'refs' references of kind 'flags' on a guest folio ('key' its
 * address as a number, for the slot arithmetic), 'mapping' its
 * guest_mapping(), taken at 'site': add to its entry, or create it.  A pin
 * that takes an idle entry from 0 starts a new holder: the attribution is
 * that of the new pinner.  The caller counts the references in the stats.
 */
static __always_inline void folio_grab(struct folio *folio, __u64 key,
				       struct address_space *mapping, __u32 refs, __u32 flags,
				       __u32 how, struct pin_site *site)
{
	bool pin = flags & foll_pin;
	__u32 fl;

	fl = how | ((flags & foll_longterm) ? GMEM_PIN_F_LONGTERM : 0);
	for (int attempt = 0; attempt < 4; attempt++) {
		struct gmem_folio_pins *v = folio_find(key);
		long old;

		if (!v) {
			/* before the entry exists: its unpins must find it */
			folio_regions_mark(key, kload_folio_order(key));
			old = folio_insert(key);
			if (old == -17 /* EEXIST: inserted meanwhile, add to it */)
				continue;
			v = slot_at(old);
			if (!v) {
				stat_add(GMEM_STAT_MAP_FULL, 1);
				return;
			}
			v->gets = pin ? 0 : refs;
			v->flags = fl;
			/* open at once: a pin of the same folio on another CPU
			 * waits for it (pins_add()), and this task may be
			 * preempted; the holder is filled in after, as for an
			 * idle entry's new holder */
			slot_publish(v, pin ? refs : 0);
			fill_new(v, key, mapping, site);
			return;
		}
		if (pin) {
			__u64 seen = *pins_word(v);

			/* tracked pins: first those released unseen */
			if ((__u32)seen)
				recover_before_pin(key, v, folio, refs);
			old = pins_add(v, refs);
			if (old < 0)
				continue;
		} else {
			old = __sync_fetch_and_add(&v->gets, refs);
		}
		if (!still_owned(key, v)) {
			if (pin)
				__sync_fetch_and_add(pins_word(v), PINS_GEN - refs);
			else
				__sync_fetch_and_sub(&v->gets, refs);
			continue;
		}
		if (pin && old == 0) {
			/* a new holder of an idle entry */
			fill_new(v, key, mapping, site);
			v->flags = fl;
		} else {
			v->last_pin_ns = site->now;
			if ((v->flags | fl) != v->flags)
				v->flags |= fl;
		}
		return;
	}
	stat_add(GMEM_STAT_RACE_LOST, 1);
}

/* folio_grab() as a global function, verified once: the walks' slow path
 * ('flags_how': the FOLL_* flags, and GMEM_PIN_F_FAST or _SLOW above them). */
__noinline int folio_grab_slow(struct pin_site *site, __u64 key, __u64 mapping, __u32 refs,
			       __u64 flags_how)
{
	if (!site)
		return 0;
	folio_grab((struct folio *)key, key, (struct address_space *)mapping, refs,
		   (__u32)flags_how, (__u32)(flags_how >> 32), site);
	return 0;
}

/*
 * A pin walk's common case, inline: 'refs' pins on a folio idle in its home
 * slot (no pins tracked, so none to recover first), which gets 'site' as
 * its new holder.  False where folio_grab_slow() must do it: the folio is
 * not in its home slot, has pins or FOLL_GET references tracked, or the
 * slot changed under us (then nothing was changed).
 */
static __always_inline bool folio_pin_idle(__u64 key, struct address_space *mapping, __u32 refs,
					   __u32 fl, struct pin_site *site)
{
	struct gmem_folio_pins *v = folio_slot(key, 0);
	__u64 old;

	if (!v || v->folio != key)
		return false;
	old = *pins_word(v);
	if ((__u32)old || __sync_val_compare_and_swap(pins_word(v), old, old + PINS_GEN + refs) != old)
		return false;
	if (!still_owned(key, v)) {
		__sync_fetch_and_add(pins_word(v), PINS_GEN - refs);
		return false;
	}
	fill_new(v, key, mapping, site);
	v->flags = fl;
	return true;
}

/*
 * Is the current task inside an outer GUP call (pin_user_pages*(),
 * get_user_pages*())?  Such a call's pins are counted at its exit, from
 * the page array it returns (gup_call_exit()), so the grabs and releases
 * it makes on the way (the slow path's try_grab_folio(), longterm
 * migration's unpin, the fast path's rollbacks) are not counted one by
 * one: what the call returns is their net result.
 */
static __always_inline bool in_outer_call(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(&gup_calls, &id) != NULL;
}

/* THREAD_SIZE: 16 KiB on x86-64, doubled with KASAN (set by the loader). */
const volatile __u64 thread_size = 16384;

/*
 * Is this program running on the current task's own stack, not on an
 * interrupt stack?  An unpin in interrupt context (an O_DIRECT bio's
 * completion) belongs to no GUP call of the task it interrupted, and on
 * x86-64 hard and soft interrupts run on the per-CPU interrupt stack.
 */
static __always_inline bool on_task_stack(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 marker = 0, sp = 0, *where = &marker;

	/* a copy made by a helper is a plain number: the frame's address */
	bpf_probe_read_kernel(&sp, sizeof(sp), &where);
	return sp - (__u64)task->stack < thread_size;
}

/*
 * A grab of a guest folio outside any outer GUP call, which has no page
 * array to count from (memfd_pin_folios(), folio_add_pin(s)(), a
 * try_grab_folio() in a call we did not mark): its stacks are taken here,
 * and it has no address.  Inside an outer call, the call's exit counts it.
 */
static __always_inline void lone_grab(void *ctx, struct folio *folio, __u32 refs, __u32 flags)
{
	struct address_space *mapping = guest_mapping(folio);
	struct pin_site site = {};

	if (!mapping || !(flags & (foll_pin | foll_get)) || in_outer_call())
		return;
	site_fill(ctx, &site);
	if (filter_tgid && (site.pid_tgid >> 32) != filter_tgid)
		return;
	stat_add(flags & foll_pin ? GMEM_STAT_PIN : GMEM_STAT_GET, refs);
	folio_grab_slow(&site, ptr_value(folio), ptr_value(mapping), refs,
			(__u64)GMEM_PIN_F_SLOW << 32 | flags);
}

/* mm/gup.c, the slow path (follow_page_mask and friends): 0 on success. */
SEC("fexit/try_grab_folio")
int BPF_PROG(try_grab_folio_exit, struct folio *folio, int refs, unsigned int flags, int ret)
{
	if (ret == 0)
		lone_grab(ctx, folio, refs, flags);
	return 0;
}

/* Text ranges of the traced unpin functions, from kallsyms (0: absent). */
const volatile __u64 unpin_text_start[GMEM_UNPIN_NR] = {};
const volatile __u64 unpin_text_end[GMEM_UNPIN_NR] = {};

/* The longest page array we walk, an unpin's or an outer call's (bpf_loop's
 * cap); the rest is counted as truncated, its pins or unpins lost. */
#define ARRAY_WALK_MAX (1u << 23)

static __always_inline __u64 walk_bound(__u64 n)
{
	if (n <= ARRAY_WALK_MAX)
		return n;
	stat_add(GMEM_STAT_UNPIN_TRUNCATED, 1);
	return ARRAY_WALK_MAX;
}

#define UNPIN_STACK_DEPTH 6

/* maybe_guest() for a typed folio argument: no helper call to launder it. */
static __always_inline bool maybe_guest_typed(struct folio *folio)
{
	struct address_space *mapping = BPF_CORE_READ(folio, mapping);

	return !mapping || mapping_is_guest(mapping);
}

/* Is this a folio whose pins we may track?  Guest memory, or a folio
 * whose mapping is gone (hole punched while pinned). */
static __always_inline bool maybe_guest(__u64 addr)
{
	__u64 mapping = kload_folio_mapping(addr);

	return !mapping || mapping_is_guest_at(mapping);
}

/*
 * Is the return address 'ret' that of a direct call (e8 rel32) to counted
 * unpin function f?  Then f is still active, even if it left the stack by
 * tail-jumping to us (unpin_user_page() -> jmp gup_put_folio: seen as
 * every O_DIRECT unpin counted twice).  With call padding the call may
 * land a few bytes before the symbol.
 */
static __always_inline int called_function(__u64 ret)
{
	__s32 rel = 0;
	__u8 op = 0;
	__u64 target;

	if (bpf_probe_read_kernel(&op, 1, (void *)(ret - 5)) || op != 0xe8 ||
	    bpf_probe_read_kernel(&rel, 4, (void *)(ret - 4)))
		return -1;
	target = ret + (__s64)rel;
	for (int f = 0; f < GMEM_UNPIN_NR; f++)
		if (unpin_text_start[f] && target + 16 >= unpin_text_start[f] &&
		    target <= unpin_text_start[f] + 16)
			return f;
	return -1;
}

/*
 * Does 'frame' say we were called from inside another unpin function that
 * we count (other than 'self')?  Then that one accounts for these pins.  A
 * frame inside such a function is a nested call; a frame right after a
 * call to one is a tail call.
 */
static __always_inline bool frame_in_counted_unpin(__u64 frame, int self)
{
	int callee;

	for (int f = 0; f < GMEM_UNPIN_NR; f++)
		if (f != self && frame >= unpin_text_start[f] && frame < unpin_text_end[f])
			return true;
	callee = called_function(frame);
	return callee >= 0 && callee != self;
}

/* frame_in_counted_unpin() for the innermost frames of the stack: deeper
 * ones may belong to an interrupted task. */
static __always_inline bool nested_in_counted_unpin(void *ctx, int self)
{
	__u64 frames[UNPIN_STACK_DEPTH] = {};
	long n = bpf_get_stack(ctx, frames, sizeof(frames), 0);

	for (int i = 0; i < UNPIN_STACK_DEPTH; i++) {
		if (n < (long)((i + 1) * sizeof(__u64)))
			break;
		if (frame_in_counted_unpin(frames[i], self))
			return true;
	}
	return false;
}

/*
 * Take up to 'refs' pins from 'v', the entry of 'key', never below zero,
 * generation and all (pins_word()).  Returns what was taken, or -1 when
 * nothing was: the count kept changing under us, or the entry was taken
 * over by another folio.
 */
static __always_inline long pins_take(__u64 key, struct gmem_folio_pins *v, __u32 refs,
				      __u32 *left)
{
	__u64 *word = pins_word(v);

	for (int i = 0; i < 8; i++) {
		__u64 old = *word;
		__u32 pins = (__u32)old, take = pins < refs ? pins : refs;

		if (pins == GMEM_PINS_DEAD)
			return -1;
		if (__sync_val_compare_and_swap(word, old, old + PINS_GEN - take) != old)
			continue;
		*left = pins - take;
		if (still_owned(key, v))
			return take;
		/* reused for another folio under us: give it back */
		__sync_fetch_and_add(word, PINS_GEN + take);
		return -1;
	}
	return -1;
}

/*
 * Release 'refs' FOLL_PIN references of a tracked folio.  Never below
 * zero: references beyond what we saw taken were taken before we attached
 * and are counted as such.
 */
/*
 * log_releases: a record of 'v' as it is before an unpin, while its pins
 * keep its holder from being rewritten (fill_new() runs only on a slot
 * with none); release_end() sends it if that unpin released the last.
 */
static __always_inline struct gmem_pin_released *release_begin(__u64 addr,
							       struct gmem_folio_pins *v)
{
	struct gmem_pin_released *r;

	if (!log_releases)
		return NULL;
	r = ringbuf_record(&check_events, sizeof(*r), GMEM_EV_PIN_RELEASED, GMEM_STAT_CHECK_DROPPED);
	if (!r)
		return NULL;
	r->folio = addr;
	r->order = kload_folio_order(addr);
	r->_pad = 0;
	__builtin_memcpy(&r->v, v, sizeof(r->v));
	return r;
}

static __always_inline void release_end(struct gmem_pin_released *r, bool last)
{
	if (!r)
		return;
	if (!last || r->v.folio != r->folio) {
		bpf_ringbuf_discard(r, 0);
		return;
	}
	r->time_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(r, 0);
}

__noinline int folio_unpin(__u64 addr, __u32 refs)
{
	struct gmem_folio_pins *v = folio_find(addr);
	struct gmem_pin_released *r;
	__u32 left = 1;
	long taken;

	if (!v) {
		if (BPF_CORE_READ((struct folio *)addr, mapping))
			stat_add(GMEM_STAT_UNPIN_UNKNOWN, refs);
		return 0;
	}
	r = release_begin(addr, v);
	taken = pins_take(addr, v, refs, &left);
	release_end(r, taken > 0 && left == 0);
	if (taken < 0) {
		stat_add(GMEM_STAT_UNPIN_UNKNOWN, refs);
		return 0;
	}
	stat_add(GMEM_STAT_UNPIN, taken);
	if (taken < refs)
		stat_add(GMEM_STAT_UNPIN_UNKNOWN, refs - taken);
	return 0;
}

/*
 * Is an unpin of guest memory accounted elsewhere?  By an enclosing unpin
 * function we count (unpin_user_pages_dirty_lock() -> unpin_user_pages()),
 * or by the outer GUP call this task is in: an unpin there (longterm
 * migration) releases a pin that call took, which its exit never counts.
 */
static __always_inline bool counted_elsewhere(void *ctx, int self)
{
	if (on_task_stack() && in_outer_call())
		return true;
	return nested_in_counted_unpin(ctx, self);
}

enum unpin_array { ARRAY_PAGES, ARRAY_FOLIOS, ARRAY_PAGE_RANGE };

/* array_walk.apply */
enum { WALK_FIND, WALK_UNPIN, WALK_PIN };

/*
 * A walk of a page (or folio) array, a folio-run at a time: an unpin
 * call's argument, or the pages an outer GUP call returns.
 */
struct array_walk {
	__u64 base;
	__u64 n;
	__u64 i;      /* next element */
	__u32 kind;   /* enum unpin_array */
	__u32 apply;  /* WALK_FIND the first guest folio; WALK_UNPIN or
		       * WALK_PIN from there */
	__u64 found;  /* index + 1 of the first guest folio (0: none) */
	__u64 guest_mapping; /* the last guest mapping seen: its folios need
			      * no second look */
	__u64 counted;       /* references recorded, or released */
	/* a pin walk's: */
	__u32 flags;      /* the outer call's FOLL_* flags */
	__u32 how;        /* GMEM_PIN_F_FAST or _SLOW */
	__u64 user_start; /* the user address of base[0] */
	struct pin_site site;
};

/*
 * Runs a walk takes per bpf_loop step: a step costs an indirect call and a
 * call, more than a guest folio's common case itself.
 */
#define WALK_BATCH 16

/* bpf_loop steps for a walk of 'n' elements: a run is at least one. */
static __always_inline __u64 walk_steps(__u64 n)
{
	return n / WALK_BATCH + 1;
}

/* 'bytes' of struct pages in pages: a shift where struct page is 64 bytes
 * (the CO-RE size is a constant the verifier folds), not a division,
 * which costs more than all the loads around it. */
static __always_inline __u64 struct_pages(__u64 bytes)
{
	__u64 psz = bpf_core_type_size(struct page);

	return psz == 64 ? bytes >> 6 : bytes / psz;
}

/* Pages in the folio from 'page' (a page of 'folio') to the folio's end. */
static __always_inline __u64 pages_to_folio_end(__u64 folio, __u64 page)
{
	__u32 order = kload_folio_order(folio);

	return order ? (1ull << order) - struct_pages(page - folio) : 1;
}

/*
 * The run of w's elements from w->i that belong to one folio, as the
 * kernel's gup_folio_next() batches them: a 2 MiB folio's 512 pages cost
 * three reads, not 512, whether it is guest memory or not.  Gives the
 * run's folio (0: none, or for an 'unpin' an element outside every marked
 * region), its first page and its length; w->i moves past it.  False at
 * the array's end.
 */
static __always_inline bool next_run(struct array_walk *w, bool unpin, __u64 *folio_out,
				     __u64 *page_out, __u64 *run_out, __u64 *at)
{
	__u64 psz = bpf_core_type_size(struct page), elem = 0, page = 0, folio = 0, run = 1, i;

	i = w->i;
	if (i >= w->n)
		return false;
	*at = i;
	*folio_out = 0;
	*run_out = 1;
	w->i = i + 1;
	if (w->kind == ARRAY_FOLIOS) {
		folio = kload(w->base + i * 8);
		if (unpin && !page_region_marked(folio))
			return true;
	} else {
		if (w->kind == ARRAY_PAGE_RANGE)
			page = w->base + i * psz;
		else
			page = kload(w->base + i * 8);
		/* an unpin of foreign memory: a bit test per element */
		if (unpin && !page_region_marked(page))
			return true;
		folio = page ? kload_page_folio(page) : 0;
		if (folio) {
			run = pages_to_folio_end(folio, page);
			if (run > w->n - i)
				run = w->n - i;
			if (run > 1 && w->kind == ARRAY_PAGES) {
				/* the run's pages must be the folio's consecutive pages */
				elem = kload(w->base + (i + run - 1) * 8);
				if (elem != page + (run - 1) * psz)
					run = 1;
			}
			if (!run)
				run = 1;
		}
	}
	w->i = i + run;
	*folio_out = folio;
	*page_out = page;
	*run_out = run;
	return true;
}

/* The mapping of 'folio' if it is guest memory, else 0; 'gone': a folio
 * whose mapping is gone (hole punched while pinned) counts as guest
 * memory, its mapping 1.  Through the walk's cache: a call's folios are
 * mostly one file's. */
static __always_inline __u64 walk_guest_mapping(struct array_walk *w, __u64 folio, bool gone)
{
	__u64 mapping = kload_folio_mapping(folio);

	if (!mapping)
		return gone ? 1 : 0;
	if (mapping == w->guest_mapping)
		return mapping;
	if (!mapping_is_guest_at(mapping))
		return 0;
	w->guest_mapping = mapping;
	return mapping;
}

/*
 * An unpin walk's common case, inline: one try at taking 'refs' pins from
 * the folio in its home slot, added to w->counted.  False where
 * folio_unpin() must do it: the folio is elsewhere or has fewer pins
 * tracked, or the slot changed under us (then nothing was changed).
 */
static __always_inline bool folio_unpin_home(struct array_walk *w, __u64 key, __u32 refs)
{
	struct gmem_folio_pins *v = folio_slot(key, 0);
	__u64 old;

	if (!v || v->folio != key)
		return false;
	old = *pins_word(v);
	/* the last pins: folio_unpin() records their end for gmem-check */
	if ((__u32)old < refs || (__u32)old == GMEM_PINS_DEAD ||
	    (log_releases && (__u32)old == refs) ||
	    __sync_val_compare_and_swap(pins_word(v), old, old + PINS_GEN - refs) != old)
		return false;
	if (!still_owned(key, v)) {
		/* reused for another folio under us: give it back */
		__sync_fetch_and_add(pins_word(v), PINS_GEN + refs);
		return false;
	}
	w->counted += refs;
	return true;
}

/*
 * An unpin's walk, WALK_BATCH runs per call: WALK_FIND the first run of a
 * folio we may track (guest memory, or a folio whose mapping is gone),
 * WALK_UNPIN from there.  Pins and unpins walk in separate global
 * functions: the verifier adds up the stack of everything a program may
 * call, and a pin's new entry is large.
 */
__noinline int array_walk_run(struct array_walk *w)
{
	if (!w)
		return 1;
#pragma clang loop unroll(disable)
	for (int b = 0; b < WALK_BATCH; b++) {
		__u64 folio = 0, page = 0, run = 1, i = 0;

		if (!next_run(w, true, &folio, &page, &run, &i))
			return 1;
		if (!folio || !walk_guest_mapping(w, folio, true))
			continue;
		if (w->apply == WALK_FIND) {
			w->found = i + 1;
			return 1; /* found one: the caller decides the rest */
		}
		if (!folio_unpin_home(w, folio, (__u32)run))
			folio_unpin(folio, (__u32)run);
	}
	return 0;
}

static long array_walk_step(__u64 i, struct array_walk *w)
{
	return array_walk_run(w) ? 1 : 0;
}

/* An outer GUP call's walk, WALK_BATCH runs per call: WALK_FIND the first
 * guest folio, WALK_PIN from there, each with the user address of the
 * folio's first page (pages[i] is mapped at user_start + i * PAGE_SIZE). */
__noinline int pin_walk_run(struct array_walk *w)
{
	__u32 fl;

	if (!w)
		return 1;
	fl = w->how | ((w->flags & foll_longterm) ? GMEM_PIN_F_LONGTERM : 0);
#pragma clang loop unroll(disable)
	for (int b = 0; b < WALK_BATCH; b++) {
		__u64 folio = 0, page = 0, run = 1, i = 0, mapping;

		if (!next_run(w, false, &folio, &page, &run, &i))
			return 1;
		mapping = folio ? walk_guest_mapping(w, folio, false) : 0;
		if (!mapping)
			continue;
		if (w->apply == WALK_FIND) {
			w->found = i + 1;
			return 1;
		}
		w->site.addr = w->user_start + (i - struct_pages(page - folio)) * 4096;
		if (!(w->flags & foll_pin) ||
		    !folio_pin_idle(folio, (struct address_space *)mapping, (__u32)run, fl, &w->site))
			folio_grab_slow(&w->site, folio, mapping, (__u32)run,
					(__u64)w->how << 32 | w->flags);
		w->counted += run;
	}
	return 0;
}

static long pin_walk_step(__u64 i, struct array_walk *w)
{
	return pin_walk_run(w) ? 1 : 0;
}

/*
 * The first element of an unpin's array in a marked page region
 * (guest_page_regions), REGION_SCAN_CHUNK elements at a time and
 * REGION_SCAN_BATCH chunks per bpf_loop step: the whole cost of an unpin
 * of foreign memory.
 */
struct region_scan {
	__u64 base;
	__u64 n;
	__u64 i;     /* next element */
	__u64 found; /* index + 1 of the first element in a marked region */
	__u64 clear; /* the last region found unmarked */
	__u32 kind;  /* enum unpin_array */
};

#define REGION_SCAN_CHUNK 16
#define REGION_SCAN_BATCH 4

/*
 * Does the chunk at r->i hold consecutive struct pages in the clear region
 * (a large folio's, as GUP returns them)?  Then it costs two loads, and
 * most likely the region's further pages do too: where they would end,
 * one load tells (a 2 MiB folio's 512 pages cost three loads, not 32
 * chunks).  Moves r->i past what it skipped.
 */
static __always_inline bool region_scan_skip(struct region_scan *r, __u64 i)
{
	__u64 psz = bpf_core_type_size(struct page), first, last, left, j, elem;

	first = kload(r->base + i * 8);
	last = kload(r->base + (i + REGION_SCAN_CHUNK - 1) * 8);
	if (!first || last != first + (REGION_SCAN_CHUNK - 1) * psz ||
	    first >> PAGE_REGION_SHIFT != r->clear || last >> PAGE_REGION_SHIFT != r->clear)
		return false;
	left = struct_pages((((last >> PAGE_REGION_SHIFT) + 1) << PAGE_REGION_SHIFT) - last) - 1;
	j = i + REGION_SCAN_CHUNK - 1 + left;
	r->i = i + REGION_SCAN_CHUNK;
	if (left && j < r->n) {
		elem = kload(r->base + j * 8);
		if (elem == last + left * psz)
			r->i = j + 1;
	}
	return true;
}

/* A global function, verified once on its own: inlined into the loop's
 * callback, its state would differ per iteration and never converge. */
__noinline int region_scan_run(struct region_scan *r)
{
	__u64 psz = bpf_core_type_size(struct page);

	if (!r)
		return 1;
	for (int c = 0; c < REGION_SCAN_BATCH; c++) {
		__u64 i = r->i, m;

		if (i >= r->n)
			return 1;
		m = r->n - i < REGION_SCAN_CHUNK ? r->n - i : REGION_SCAN_CHUNK;
		if (r->kind == ARRAY_PAGES && m == REGION_SCAN_CHUNK && region_scan_skip(r, i))
			continue;
		for (int j = 0; j < REGION_SCAN_CHUNK && j < m; j++) {
			__u64 p = r->kind == ARRAY_PAGE_RANGE ? r->base + (i + j) * psz
							      : kload(r->base + (i + j) * 8);

			/* a large folio's pages share their region: one test each */
			if (!p || p >> PAGE_REGION_SHIFT == r->clear)
				continue;
			if (page_region_marked(p)) {
				r->found = i + j + 1;
				return 1;
			}
			r->clear = p >> PAGE_REGION_SHIFT;
		}
		r->i = i + m;
	}
	return 0;
}

static long region_scan_step(__u64 k, struct region_scan *r)
{
	return region_scan_run(r) ? 1 : 0;
}

/* An unpin of an array: a scan to the first element in a marked region
 * (all that foreign memory pays), a pass from there to the first guest
 * folio, the checks whether it is counted elsewhere, then a pass that
 * unpins from that folio on. */
static __always_inline void unpin_array_at(void *ctx, int self, __u64 base, __u64 n, __u32 kind)
{
	struct array_walk w = { .n = n, .kind = kind, .base = base };
	struct region_scan r = { .n = n, .kind = kind, .base = base };
	__u64 per_step = REGION_SCAN_CHUNK * REGION_SCAN_BATCH;

	if (!n || !w.base)
		return;
	w.n = r.n = n = walk_bound(n);
	bpf_loop((n + per_step - 1) / per_step, region_scan_step, &r, 0);
	if (!r.found)
		return;
	w.i = r.found - 1;
	bpf_loop(walk_steps(n), array_walk_step, &w, 0);
	if (!w.found || counted_elsewhere(ctx, self))
		return;
	w.apply = WALK_UNPIN;
	w.i = w.found - 1;
	bpf_loop(walk_steps(n), array_walk_step, &w, 0);
	if (w.counted)
		stat_add(GMEM_STAT_UNPIN, w.counted);
}

static __always_inline void unpin_array(unsigned long long *ctx, int self, __u64 n, __u32 kind)
{
	unpin_array_at(ctx, self, arg_value(ctx, 0), n, kind);
}

/* unpin_one() for argument 0 as a number: a folio, or a page when 'page'. */
static __always_inline void unpin_arg(void *ctx, int self, __u64 arg, bool page, __u32 refs)
{
	__u64 addr = page ? kload_page_folio(arg) : arg;

	if (!addr || !maybe_guest(addr) || counted_elsewhere(ctx, self))
		return;
	folio_unpin(addr, refs);
}

/*
 * A release of 'refs' pins of the folio (or page, if 'folio' is NULL)
 * passed as argument 0.  Foreign folios are rejected through the typed
 * argument, two loads, before anything else is paid for.
 */
static __always_inline void unpin_one(unsigned long long *ctx, int self, struct folio *folio,
				      __u32 refs)
{
	if (folio && !maybe_guest_typed(folio))
		return;
	unpin_arg(ctx, self, arg_value(ctx, 0), !folio, refs);
}

SEC("fentry/unpin_user_page")
int BPF_PROG(unpin_user_page_entry, struct page *page)
{
	unpin_one(ctx, GMEM_UNPIN_USER_PAGE, NULL, 1);
	return 0;
}

SEC("fentry/unpin_folio")
int BPF_PROG(unpin_folio_entry, struct folio *folio)
{
	unpin_one(ctx, GMEM_UNPIN_FOLIO, folio, 1);
	return 0;
}

SEC("fentry/unpin_user_folio")
int BPF_PROG(unpin_user_folio_entry, struct folio *folio, unsigned long npages)
{
	unpin_one(ctx, GMEM_UNPIN_USER_FOLIO, folio, npages);
	return 0;
}

SEC("fentry/unpin_user_pages")
int BPF_PROG(unpin_user_pages_entry, struct page **pages, unsigned long npages)
{
	unpin_array(ctx, GMEM_UNPIN_USER_PAGES, npages, ARRAY_PAGES);
	return 0;
}

SEC("fentry/unpin_user_pages_dirty_lock")
int BPF_PROG(unpin_user_pages_dirty_lock_entry, struct page **pages, unsigned long npages,
	     bool make_dirty)
{
	unpin_array(ctx, GMEM_UNPIN_USER_PAGES_DIRTY_LOCK, npages, ARRAY_PAGES);
	return 0;
}

SEC("fentry/unpin_user_page_range_dirty_lock")
int BPF_PROG(unpin_user_page_range_dirty_lock_entry, struct page *page, unsigned long npages,
	     bool make_dirty)
{
	unpin_array(ctx, GMEM_UNPIN_USER_PAGE_RANGE_DIRTY_LOCK, npages, ARRAY_PAGE_RANGE);
	return 0;
}

SEC("fentry/unpin_folios")
int BPF_PROG(unpin_folios_entry, struct folio **folios, unsigned long nfolios)
{
	unpin_array(ctx, GMEM_UNPIN_FOLIOS, nfolios, ARRAY_FOLIOS);
	return 0;
}

/*
 * folio_add_pin() (fs/direct-io.c: a page shared by several blocks of one
 * legacy direct I/O) adds a pin to an already pinned folio by hand, without
 * try_grab_folio(): count it here, at exit like every pin (after the
 * kernel's count: recover_unpins() relies on that order).
 */
SEC("fexit/folio_add_pin")
int BPF_PROG(folio_add_pin_exit, struct folio *folio)
{
	lone_grab(ctx, folio, 1, foll_pin);
	return 0;
}

/*
 * folio_add_pins() (iommufd's file mappings) calls try_grab_folio(), which
 * fexit/try_grab_folio counts, unless the compiler inlined that call (both
 * live in mm/gup.c).  So: mark the task on entry, let the marker below note
 * that try_grab_folio() was seen, and count at exit only if it was not.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __u32); /* 1: try_grab_folio() counted the pins */
} in_folio_add_pins SEC(".maps");

/* folio_add_pins() entered: mark the task (false: foreign memory). */
static __always_inline bool add_pins_enter(struct folio *folio, __u32 pins)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 seen = 0;

	if (!guest_mapping(folio))
		return false;
	/* a task not marked would go uncounted if try_grab_folio() was inlined */
	if (bpf_map_update_elem(&in_folio_add_pins, &id, &seen, BPF_ANY))
		stat_add(GMEM_STAT_MAP_FULL, pins);
	return true;
}

/* try_grab_folio() returned 'ret' for a guest folio: note it for an
 * enclosing folio_add_pins(), if any. */
static __always_inline void add_pins_note_grab(int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 *seen;

	if (ret)
		return;
	seen = bpf_map_lookup_elem(&in_folio_add_pins, &id);
	if (seen)
		*seen = 1;
}

/* folio_add_pins() returns: count its pins unless try_grab_folio() did. */
static __always_inline void add_pins_exit(void *ctx, struct folio *folio, __u32 pins, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 *seen = bpf_map_lookup_elem(&in_folio_add_pins, &id);

	if (!seen)
		return;
	if (!*seen && ret == 0)
		lone_grab(ctx, folio, pins, foll_pin);
	bpf_map_delete_elem(&in_folio_add_pins, &id);
}

SEC("fentry/folio_add_pins")
int BPF_PROG(folio_add_pins_entry, struct folio *folio, unsigned int pins)
{
	add_pins_enter(folio, pins);
	return 0;
}

SEC("fexit/try_grab_folio")
int BPF_PROG(try_grab_folio_in_add_pins, struct folio *folio, int refs, unsigned int flags,
	     int ret)
{
	if (!ret && guest_mapping(folio))
		add_pins_note_grab(ret);
	return 0;
}

SEC("fexit/folio_add_pins")
int BPF_PROG(folio_add_pins_exit, struct folio *folio, unsigned int pins, int ret)
{
	add_pins_exit(ctx, folio, pins, ret);
	return 0;
}

/*
 * The kprobe twins of the programs above, for kernels without BPF
 * trampolines: the loader loads one family or the other, never both.
 * Arguments are plain numbers here (no typed pointers), and fexit's
 * arguments at return come from the entry's stash (bpf/kprobe.bpf.h).
 * Foreign memory is rejected at entry, before anything is stashed.
 */
SEC("kprobe/try_grab_folio")
int BPF_KPROBE(try_grab_folio_kprobe, struct folio *folio)
{
	if (guest_mapping(folio))
		stash_args(ctx, STASH_TRY_GRAB_FOLIO, GMEM_STAT_MAP_FULL);
	return 0;
}

/* Both fexit programs of try_grab_folio in one: the pin, and the note for
 * an enclosing folio_add_pins(). */
SEC("kretprobe/try_grab_folio")
int BPF_KRETPROBE(try_grab_folio_kretprobe, int ret)
{
	struct kprobe_args a;

	if (!unstash_args(STASH_TRY_GRAB_FOLIO, &a) || ret)
		return 0;
	lone_grab(ctx, (struct folio *)a.arg[0], a.arg[1], a.arg[2]);
	add_pins_note_grab(ret);
	return 0;
}

SEC("kprobe/unpin_user_page")
int BPF_KPROBE(unpin_user_page_kprobe, struct page *page)
{
	unpin_arg(ctx, GMEM_UNPIN_USER_PAGE, (__u64)page, true, 1);
	return 0;
}

SEC("kprobe/unpin_folio")
int BPF_KPROBE(unpin_folio_kprobe, struct folio *folio)
{
	unpin_arg(ctx, GMEM_UNPIN_FOLIO, (__u64)folio, false, 1);
	return 0;
}

SEC("kprobe/unpin_user_folio")
int BPF_KPROBE(unpin_user_folio_kprobe, struct folio *folio, unsigned long npages)
{
	unpin_arg(ctx, GMEM_UNPIN_USER_FOLIO, (__u64)folio, false, npages);
	return 0;
}

SEC("kprobe/unpin_user_pages")
int BPF_KPROBE(unpin_user_pages_kprobe, struct page **pages, unsigned long npages)
{
	unpin_array_at(ctx, GMEM_UNPIN_USER_PAGES, (__u64)pages, npages, ARRAY_PAGES);
	return 0;
}

SEC("kprobe/unpin_user_pages_dirty_lock")
int BPF_KPROBE(unpin_user_pages_dirty_lock_kprobe, struct page **pages, unsigned long npages)
{
	unpin_array_at(ctx, GMEM_UNPIN_USER_PAGES_DIRTY_LOCK, (__u64)pages, npages, ARRAY_PAGES);
	return 0;
}

SEC("kprobe/unpin_user_page_range_dirty_lock")
int BPF_KPROBE(unpin_user_page_range_dirty_lock_kprobe, struct page *page, unsigned long npages)
{
	unpin_array_at(ctx, GMEM_UNPIN_USER_PAGE_RANGE_DIRTY_LOCK, (__u64)page, npages,
		       ARRAY_PAGE_RANGE);
	return 0;
}

SEC("kprobe/unpin_folios")
int BPF_KPROBE(unpin_folios_kprobe, struct folio **folios, unsigned long nfolios)
{
	unpin_array_at(ctx, GMEM_UNPIN_FOLIOS, (__u64)folios, nfolios, ARRAY_FOLIOS);
	return 0;
}

SEC("kprobe/folio_add_pin")
int BPF_KPROBE(folio_add_pin_kprobe, struct folio *folio)
{
	if (guest_mapping(folio))
		stash_args(ctx, STASH_FOLIO_ADD_PIN, GMEM_STAT_MAP_FULL);
	return 0;
}

SEC("kretprobe/folio_add_pin")
int BPF_KRETPROBE(folio_add_pin_kretprobe)
{
	struct kprobe_args a;

	if (unstash_args(STASH_FOLIO_ADD_PIN, &a))
		lone_grab(ctx, (struct folio *)a.arg[0], 1, foll_pin);
	return 0;
}

SEC("kprobe/folio_add_pins")
int BPF_KPROBE(folio_add_pins_kprobe, struct folio *folio, unsigned int pins)
{
	if (add_pins_enter(folio, pins))
		stash_args(ctx, STASH_FOLIO_ADD_PINS, GMEM_STAT_MAP_FULL);
	return 0;
}

SEC("kretprobe/folio_add_pins")
int BPF_KRETPROBE(folio_add_pins_kretprobe, int ret)
{
	struct kprobe_args a;

	if (unstash_args(STASH_FOLIO_ADD_PINS, &a))
		add_pins_exit(ctx, (struct folio *)a.arg[0], a.arg[1], ret);
	return 0;
}

/*
 * The unpins missed on folios that see no further pin: userspace runs this
 * (BPF_PROG_RUN) before it reads folio_pins, so that a snapshot's counts
 * are the kernel's.  A folio freed since reads refcount 0: no pins.
 */
static long recover_entry(struct bpf_map *map, __u32 *slot, struct gmem_folio_pins *v, void *ctx)
{
	__u64 seen = *pins_word(v), folio = v->folio;

	if (folio && (__u32)seen)
		recover_unpins(folio, v, seen, folio_kernel_pins((struct folio *)folio));
	return 0;
}

SEC("syscall")
int recover_missed_unpins(void *ctx)
{
	bpf_for_each_map_elem(&folio_pins, recover_entry, NULL, 0);
	return 0;
}

/*
 * FOLL_GET references the kernel no longer shows (released by a plain
 * folio_put(), which is not traced), cleared in place by userspace's
 * gmem_tracker_gc() if the entry did not change since it looked: deleting
 * the entry instead could lose a pin landing on it meanwhile.
 */
SEC("syscall")
int forget_gets(struct gmem_forget_gets *a)
{
	struct gmem_folio_pins *v = folio_find(a->folio);

	if (v && v->last_pin_ns == a->last_pin_ns)
		__sync_val_compare_and_swap(&v->gets, a->gets, 0);
	return 0;
}

/*
 * The outer GUP calls (pin_user_pages*(), get_user_pages*()): every pin
 * of the fast path and most of the slow path's.  At entry the task is
 * marked (gup_calls); at exit the call's pins are counted from the page
 * array it returns, pages[0..ret), a folio-run at a time, each with the
 * call's mm and its user address.  The grabs and releases inside the call
 * (the fast path's rollbacks, longterm migration) are not counted one by
 * one (in_outer_call()), so nothing per page is attached: a trampoline per
 * page cost more than all the rest of the work.
 */
/*
 * Outer calls marked in gup_calls whose exit has not run yet: while there
 * are none, an exit costs one load (a call on foreign memory is never
 * marked).  An entry that userspace forgets (its exit never ran) keeps it
 * above zero, which only costs exits their lookup.
 */
__u64 gup_calls_marked = 0;

/* Unmark the current task's outer call: false if it was not marked. */
static __always_inline bool gup_call_unmark(void)
{
	__u64 id;

	if (!gup_calls_marked)
		return false;
	id = bpf_get_current_pid_tgid();
	if (bpf_map_delete_elem(&gup_calls, &id))
		return false;
	__sync_fetch_and_sub(&gup_calls_marked, 1);
	return true;
}

static __always_inline bool gup_call_enter(__u64 mm)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gmem_gup_call c = {};

	/* foreign memory: one lookup per call, and nothing at exit */
	if (!mm_maps_guest(mm))
		return false;
	if (filter_tgid && (id >> 32) != filter_tgid)
		return false;
	c.start_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&gup_calls, &id, &c, BPF_ANY)) {
		/* unmarked, the call's fast-path pins go unseen */
		stat_add(GMEM_STAT_MAP_FULL, 1);
		return false;
	}
	__sync_fetch_and_add(&gup_calls_marked, 1);
	return true;
}

static __always_inline __u64 current_mm(void)
{
	return (__u64)BPF_CORE_READ(bpf_get_current_task_btf(), mm);
}

/*
 * The marked call (gup_call_unmark()) on 'mm' at user address 'start' with
 * FOLL_* 'flags' filled page array 'pages' with 'ret' pages.  A pass to
 * the first guest folio (foreign memory walks the array a folio-run at a
 * time and stops there), the stacks, once, then a pass that counts from
 * that folio on.
 */
static __always_inline void gup_call_exit(void *ctx, __u64 mm, __u64 start, __u64 pages, long ret,
					  __u32 flags, __u32 how)
{
	struct array_walk w = { .kind = ARRAY_PAGES };

	if (ret <= 0 || !pages || !(flags & (foll_pin | foll_get)))
		return;
	w.base = pages;
	w.n = walk_bound(ret);
	bpf_loop(walk_steps(w.n), pin_walk_step, &w, 0);
	if (!w.found)
		return;
	w.flags = flags;
	w.how = how;
	w.user_start = start & ~4095ull;
	w.site.mm = mm;
	site_fill(ctx, &w.site);
	w.apply = WALK_PIN;
	w.i = w.found - 1;
	bpf_loop(walk_steps(w.n), pin_walk_step, &w, 0);
	stat_add(flags & foll_pin ? GMEM_STAT_PIN : GMEM_STAT_GET, w.counted);
}

/* The FOLL_* flags an outer call pins with: its gup_flags argument, plus
 * FOLL_PIN or FOLL_GET by its name (pin_user_pages*() or get_...()). */
#define GUP_PIN foll_pin
#define GUP_GET foll_get

/*
 * An entry and an exit program for outer GUP call 'func' of 'nargs'
 * arguments, its start address argument 'start_arg', FOLL_* argument
 * 'flags_arg' and page array 'pages_arg', returning 'ret_type', on the
 * memory of 'mm_of_call'; 'kind' GUP_PIN or GUP_GET, 'how' the path.
 */
#define GUP_CALL_PROGS(func, nargs, start_arg, flags_arg, pages_arg, ret_type, mm_of_call, kind, \
		       how)                                                                   \
	SEC("fentry/" #func)                                                                  \
	int func##_entry(unsigned long long *ctx)                                             \
	{                                                                                     \
		gup_call_enter(mm_of_call);                                                   \
		return 0;                                                                     \
	}                                                                                     \
	SEC("fexit/" #func)                                                                   \
	int func##_exit(unsigned long long *ctx)                                              \
	{                                                                                     \
		/* unmarked (foreign memory): before the arguments cost anything */           \
		if (gup_call_unmark())                                                        \
			gup_call_exit(ctx, mm_of_call, ctx[start_arg], arg_value(ctx, pages_arg), \
				      (ret_type)ctx[nargs], (__u32)ctx[flags_arg] | kind, how);  \
		return 0;                                                                     \
	}

#define FAST GMEM_PIN_F_FAST
#define SLOW GMEM_PIN_F_SLOW
/* long pin_user_pages(start, nr_pages, gup_flags, pages), get_user_pages() */
GUP_CALL_PROGS(pin_user_pages, 4, 0, 2, 3, long, current_mm(), GUP_PIN, SLOW)
GUP_CALL_PROGS(get_user_pages, 4, 0, 2, 3, long, current_mm(), GUP_GET, SLOW)
/* int pin_user_pages_fast(start, int nr_pages, gup_flags, pages),
 * get_user_pages_fast(), get_user_pages_fast_only() */
GUP_CALL_PROGS(pin_user_pages_fast, 4, 0, 2, 3, int, current_mm(), GUP_PIN, FAST)
GUP_CALL_PROGS(get_user_pages_fast, 4, 0, 2, 3, int, current_mm(), GUP_GET, FAST)
GUP_CALL_PROGS(get_user_pages_fast_only, 4, 0, 2, 3, int, current_mm(), GUP_GET, FAST)
/* long pin_user_pages_remote(mm, start, nr_pages, gup_flags, pages, locked),
 * get_user_pages_remote(): another process's memory (VFIO type1, iommufd on
 * behalf of another mm, process_vm_readv) */
GUP_CALL_PROGS(pin_user_pages_remote, 6, 1, 3, 4, long, arg_value(ctx, 0), GUP_PIN, SLOW)
GUP_CALL_PROGS(get_user_pages_remote, 6, 1, 3, 4, long, arg_value(ctx, 0), GUP_GET, SLOW)
/* long pin_user_pages_unlocked(start, nr_pages, pages, gup_flags),
 * get_user_pages_unlocked() (KVM's hva_to_pfn slow path) */
GUP_CALL_PROGS(pin_user_pages_unlocked, 4, 0, 3, 2, long, current_mm(), GUP_PIN, SLOW)
GUP_CALL_PROGS(get_user_pages_unlocked, 4, 0, 3, 2, long, current_mm(), GUP_GET, SLOW)

/*
 * Their kprobe twins: a kretprobe has no arguments, so the entry stashes
 * the call's mm, start, page array and flags (bpf/kprobe.bpf.h), one call
 * per task as gup_calls holds.  'start', 'flags', 'pages': PT_REGS_PARMn
 * numbers.
 */
static __always_inline void gup_call_kprobe(__u64 mm, __u64 start, __u64 pages, __u64 flags)
{
	struct kprobe_stash_key key = { .pid_tgid = bpf_get_current_pid_tgid(),
					.func = STASH_GUP_CALL };
	struct kprobe_args a = { .arg = { mm, start, pages, flags } };

	if (!gup_call_enter(mm))
		return;
	if (bpf_map_update_elem(&kprobe_stash, &key, &a, BPF_ANY)) {
		/* no arguments at return: unmark, the slow path counts alone */
		gup_call_unmark();
		stat_add(GMEM_STAT_MAP_FULL, 1);
	}
}

static __always_inline void gup_call_kretprobe(void *ctx, long ret, __u32 kind, __u32 how)
{
	struct kprobe_args a;

	if (gup_call_unmark() && unstash_args(STASH_GUP_CALL, &a))
		gup_call_exit(ctx, a.arg[0], a.arg[1], a.arg[2], ret, (__u32)a.arg[3] | kind, how);
}

#define GUP_CALL_KPROBES(func, start, flags, pages, ret_type, mm_of_call, kind, how)   \
	SEC("kprobe/" #func)                                                      \
	int func##_kprobe(struct pt_regs *ctx)                                    \
	{                                                                         \
		gup_call_kprobe(mm_of_call, PT_REGS_PARM##start(ctx),             \
				PT_REGS_PARM##pages(ctx), PT_REGS_PARM##flags(ctx));  \
		return 0;                                                         \
	}                                                                         \
	SEC("kretprobe/" #func)                                                   \
	int func##_kretprobe(struct pt_regs *ctx)                                 \
	{                                                                         \
		gup_call_kretprobe(ctx, (ret_type)PT_REGS_RC(ctx), kind, how);    \
		return 0;                                                         \
	}

GUP_CALL_KPROBES(pin_user_pages, 1, 3, 4, long, current_mm(), GUP_PIN, SLOW)
GUP_CALL_KPROBES(get_user_pages, 1, 3, 4, long, current_mm(), GUP_GET, SLOW)
GUP_CALL_KPROBES(pin_user_pages_fast, 1, 3, 4, int, current_mm(), GUP_PIN, FAST)
GUP_CALL_KPROBES(get_user_pages_fast, 1, 3, 4, int, current_mm(), GUP_GET, FAST)
GUP_CALL_KPROBES(get_user_pages_fast_only, 1, 3, 4, int, current_mm(), GUP_GET, FAST)
GUP_CALL_KPROBES(pin_user_pages_remote, 2, 4, 5, long, PT_REGS_PARM1(ctx), GUP_PIN, SLOW)
GUP_CALL_KPROBES(get_user_pages_remote, 2, 4, 5, long, PT_REGS_PARM1(ctx), GUP_GET, SLOW)
GUP_CALL_KPROBES(pin_user_pages_unlocked, 1, 4, 3, long, current_mm(), GUP_PIN, SLOW)
GUP_CALL_KPROBES(get_user_pages_unlocked, 1, 4, 3, long, current_mm(), GUP_GET, SLOW)
