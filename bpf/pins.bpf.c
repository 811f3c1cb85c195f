// SPDX-License-Identifier: GPL-2.0
/*
 * GUP pin tracking on guest_memfd folios and on the folios of a memslot's
 * shared backing (bpf/backing.bpf.h).
 *
 * Every pin and unpin in the system passes through these programs, so the
 * first thing each does is reject foreign memory: one load of
 * folio->mapping and one of mapping->flags.  Only guest_memfd folios reach
 * the folio_pins map.
 */
#include "vmlinux.h"
#include <bpf/bpf_tracing.h>
#include "backing.bpf.h"
#include "kprobe.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Only count pins taken by this process (0: all). */
const volatile __u32 filter_tgid = 0;

/*
 * Preallocated: the GUP fast path pins a whole range with interrupts off,
 * where an allocating map runs out of cached elements (seen as lost pins
 * on every O_DIRECT I/O).  The programs never delete: an entry whose pins
 * drop to 0 stays, and userspace removes idle ones.  A deleted element can
 * be reused at once for another folio, so every change made through a
 * looked-up pointer is checked afterwards to still belong to its folio, and
 * undone if not (atomic adds commute: the undo leaves the other folio exact).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GMEM_DEFAULT_MAX_FOLIOS);
	__type(key, __u64);
	__type(value, struct gmem_folio_pins);
} folio_pins SEC(".maps");

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
 * task: when the call began, and how many folio_pins entries got a new
 * holder since.  At exit, only a call that made new holders walks its page
 * array: foreign memory costs one lookup and one delete per call, not per
 * page.
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

static __always_inline void fill_new(void *ctx, struct gmem_folio_pins *v, struct folio *folio,
				     struct address_space *mapping, __u64 now)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gmem_gup_call *c;

	v->mapping = (__u64)mapping;
	if ((__u64)mapping & GMEM_MAPPING_ANON) {
		/* anonymous shared backing (bpf/memslot.bpf.h): no inode */
		v->ino = anon_backing_id((__u64)mapping);
		v->dev = 0;
	} else {
		struct inode *host = BPF_CORE_READ(mapping, host);

		v->ino = BPF_CORE_READ(host, i_ino);
		v->dev = BPF_CORE_READ(host, i_sb, s_dev);
	}
	v->index = BPF_CORE_READ(folio, index);
	v->first_pin_ns = now;
	v->last_pin_ns = now;
	v->tgid = id >> 32;
	v->pid = (__u32)id;
	bpf_get_current_comm(v->comm, sizeof(v->comm));
	v->cgroup_id = bpf_get_current_cgroup_id();
	/* the address is the new holder's: the outer call's exit fills it in */
	v->mm = 0;
	v->addr = 0;
	/*
	 * The stacks: a walk each, the dearest part of a new holder, so the
	 * holders one outer GUP call makes (a whole buffer's folios) share
	 * its first one's; they differ at most in the frames below the call.
	 * The call's exit looks for its holders (gup_call_exit()).
	 */
	c = bpf_map_lookup_elem(&gup_calls, &id);
	if (c && c->new_holders) {
		v->stack_id = c->stack_id;
		v->ustack_id = c->ustack_id;
	} else {
		/* identical stacks share one entry, so the map fills slowly */
		v->stack_id = bpf_get_stackid(ctx, &pin_stacks, 0);
		if (v->stack_id < 0)
			stat_add(GMEM_STAT_STACK_LOST, 1);
		v->ustack_id = user_stack_id(ctx);
		if (c) {
			c->stack_id = v->stack_id;
			c->ustack_id = v->ustack_id;
		}
	}
	if (c)
		__sync_fetch_and_add(&c->new_holders, 1);
}

/* v->pins and v->pins_gen as one word (include/gmem/abi.h): every change
 * of pins adds PINS_GEN too. */
#define PINS_GEN (1ull << 32)

static __always_inline __u64 *pins_word(struct gmem_folio_pins *v)
{
	return (__u64 *)&v->pins;
}

/* Is 'v' still the element of 'key'?  (Not deleted and reused meanwhile.) */
static __always_inline bool still_owned(__u64 key, struct gmem_folio_pins *v)
{
	return bpf_map_lookup_elem(&folio_pins, &key) == v;
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
	if (tracked <= kernel ||
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
 * Record 'refs' references of kind 'flags' on a guest folio: add to its
 * entry, or create it.  A pin that takes an idle entry from 0 starts a new
 * holder: the attribution is that of the new pinner.
 */
static __always_inline void folio_grab(void *ctx, struct folio *folio, __u32 refs, __u32 flags,
				       __u32 how)
{
	struct address_space *mapping = guest_mapping(folio);
	bool pin = flags & foll_pin;
	__u64 key = (__u64)folio;
	__u32 fl;
	__u64 now;

	if (!mapping || !(flags & (foll_pin | foll_get)))
		return;
	if (filter_tgid && (bpf_get_current_pid_tgid() >> 32) != filter_tgid)
		return;

	now = bpf_ktime_get_ns();
	fl = how | ((flags & foll_longterm) ? GMEM_PIN_F_LONGTERM : 0);
	stat_add(pin ? GMEM_STAT_PIN : GMEM_STAT_GET, refs);
	for (int attempt = 0; attempt < 4; attempt++) {
		struct gmem_folio_pins *v = bpf_map_lookup_elem(&folio_pins, &key);
		__u32 old;

		if (!v) {
			struct gmem_folio_pins init = {};
			long err;

			fill_new(ctx, &init, folio, mapping, now);
			init.pins = pin ? refs : 0;
			init.gets = pin ? 0 : refs;
			init.flags = fl;
			err = bpf_map_update_elem(&folio_pins, &key, &init, BPF_NOEXIST);
			if (!err)
				return;
			if (err == -17 /* EEXIST: created meanwhile, add to it */)
				continue;
			stat_add(err == -7 /* E2BIG */ ? GMEM_STAT_MAP_FULL : GMEM_STAT_RACE_LOST, 1);
			return;
		}
		if (pin) {
			recover_before_pin(key, v, folio, refs);
			old = (__u32)__sync_fetch_and_add(pins_word(v), PINS_GEN + refs);
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
			fill_new(ctx, v, folio, mapping, now);
			v->flags = fl;
		} else {
			v->last_pin_ns = now;
			v->flags |= fl;
		}
		return;
	}
	stat_add(GMEM_STAT_RACE_LOST, 1);
}

/* mm/gup.c, the slow path (follow_page_mask and friends): 0 on success. */
SEC("fexit/try_grab_folio")
int BPF_PROG(try_grab_folio_exit, struct folio *folio, int refs, unsigned int flags, int ret)
{
	if (ret == 0)
		folio_grab(ctx, folio, refs, flags, GMEM_PIN_F_SLOW);
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
		folio_grab(ctx, ret, refs, flags, GMEM_PIN_F_FAST);
	return 0;
}

/* Text ranges of the traced unpin functions, from kallsyms (0: absent). */
const volatile __u64 unpin_text_start[GMEM_UNPIN_NR] = {};
const volatile __u64 unpin_text_end[GMEM_UNPIN_NR] = {};

/* The longest array an unpin call may pass that we walk (bpf_loop's cap). */
#define UNPIN_WALK_MAX (1u << 23)
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
	struct address_space *mapping = BPF_CORE_READ((struct folio *)addr, mapping);

	return !mapping || mapping_is_guest(mapping);
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
 * Where the caller of a function traced by fentry resumes, without a stack
 * walk (one per released guest folio was most of an unpin's cost).  ctx is
 * the trampoline's copy of the 'nargs' register arguments; above it come a
 * return value slot (when fexit programs share the trampoline), the saved
 * RBP, the return address into the traced function's fentry call site and
 * then the caller's return address (arch/x86/net/bpf_jit_comp.c, "Generated
 * trampoline stack layout").  The call site's return address is recognised
 * a few bytes past bpf_get_func_ip(), so another layout (an ftrace_ops
 * trampoline in between, another architecture) gives 0: walk the stack.
 */
static __always_inline __u64 fentry_caller(unsigned long long *ctx, int nargs)
{
	__u64 ip = bpf_get_func_ip(ctx);

	for (int k = 0; k < 3; k++) {
		__u64 v = 0, caller = 0;

		if (bpf_probe_read_kernel(&v, sizeof(v), &ctx[nargs + k]))
			return 0;
		if (v > ip && v <= ip + 16) {
			bpf_probe_read_kernel(&caller, sizeof(caller), &ctx[nargs + k + 1]);
			return caller;
		}
	}
	return 0;
}

/*
 * Take up to 'refs' from '*count' of 'v', the element of 'key', never below
 * zero.  Returns what was taken, or -1 when nothing was: the count kept
 * changing under us, or the element was reused for another folio.
 */
static __always_inline long counter_take(__u64 key, struct gmem_folio_pins *v, __u32 *count,
					 __u32 refs)
{
	for (int i = 0; i < 8; i++) {
		__u32 old = *count, take = old < refs ? old : refs;

		if (__sync_val_compare_and_swap(count, old, old - take) != old)
			continue;
		if (still_owned(key, v))
			return take;
		/* reused for another folio under us: give it back */
		__sync_fetch_and_add(count, take);
		return -1;
	}
	return -1;
}

/* counter_take() for the pins, generation and all (pins_word()). */
static __always_inline long pins_take(__u64 key, struct gmem_folio_pins *v, __u32 refs)
{
	__u64 *word = pins_word(v);

	for (int i = 0; i < 8; i++) {
		__u64 old = *word;
		__u32 pins = (__u32)old, take = pins < refs ? pins : refs;

		if (__sync_val_compare_and_swap(word, old, old + PINS_GEN - take) != old)
			continue;
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
__noinline int folio_unpin(__u64 addr, __u32 refs)
{
	struct gmem_folio_pins *v = bpf_map_lookup_elem(&folio_pins, &addr);
	long taken;

	if (!v) {
		if (BPF_CORE_READ((struct folio *)addr, mapping))
			stat_add(GMEM_STAT_UNPIN_UNKNOWN, refs);
		return 0;
	}
	taken = pins_take(addr, v, refs);
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
 * A FOLL_GET grab that mm/gup.c itself gives back (the fast path's
 * rollback): the only release of a FOLL_GET reference that is not an
 * anonymous folio_put(), so the only one we can subtract.
 */
static __always_inline void folio_unget_at(__u64 addr, __u32 refs)
{
	struct gmem_folio_pins *v = bpf_map_lookup_elem(&folio_pins, &addr);

	if (v)
		counter_take(addr, v, &v->gets, refs);
}

static __always_inline void folio_unget(unsigned long long *ctx, struct folio *folio, __u32 refs)
{
	if (!maybe_guest_typed(folio))
		return;
	folio_unget_at(arg_value(ctx, 0), refs);
}

enum unpin_array { ARRAY_PAGES, ARRAY_FOLIOS, ARRAY_PAGE_RANGE };

/* unpin_walk.apply */
enum { WALK_FIND, WALK_UNPIN };

struct unpin_walk {
	__u64 base;
	__u64 n;
	__u64 i;      /* next element */
	__u32 kind;   /* enum unpin_array */
	__u32 apply;  /* WALK_FIND the first guest folio, WALK_UNPIN from there */
	__u64 found;  /* index + 1 of the first guest folio (0: none) */
};

/* Pages in the folio from 'page' (a page of 'folio') to the folio's end. */
static __always_inline __u64 pages_to_folio_end(__u64 folio, __u64 page, __u64 page_size)
{
	return (1ull << folio_order((struct folio *)folio)) - (page - folio) / page_size;
}

/*
 * The run of elements from w->i that belong to one folio, as the kernel's
 * gup_folio_next() batches them: a 2 MiB folio's 512 pages cost three
 * reads, not 512, whether it is guest memory or not.
 */
__noinline int unpin_walk_run(struct unpin_walk *w)
{
	__u64 psz = bpf_core_type_size(struct page), elem = 0, page = 0, folio, run = 1, i;

	if (!w)
		return 1;
	i = w->i;
	if (i >= w->n)
		return 1;
	if (w->kind == ARRAY_FOLIOS) {
		bpf_probe_read_kernel(&folio, sizeof(folio), (void *)(w->base + i * 8));
	} else {
		if (w->kind == ARRAY_PAGE_RANGE)
			page = w->base + i * psz;
		else
			bpf_probe_read_kernel(&page, sizeof(page), (void *)(w->base + i * 8));
		folio = page ? page_folio_addr(page) : 0;
		if (folio) {
			run = pages_to_folio_end(folio, page, psz);
			if (run > w->n - i)
				run = w->n - i;
			if (run > 1 && w->kind == ARRAY_PAGES) {
				/* the run's pages must be the folio's consecutive pages */
				bpf_probe_read_kernel(&elem, sizeof(elem),
						      (void *)(w->base + (i + run - 1) * 8));
				if (elem != page + (run - 1) * psz)
					run = 1;
			}
			if (!run)
				run = 1;
		}
	}
	w->i = i + run;
	if (!folio || !maybe_guest(folio))
		return 0;
	if (w->apply == WALK_FIND) {
		w->found = i + 1;
		return 1; /* found one: the stack check decides the rest */
	}
	if (w->apply == WALK_UNPIN)
		folio_unpin(folio, (__u32)run);
	return 0;
}

static long unpin_walk_step(__u64 i, struct unpin_walk *w)
{
	return unpin_walk_run(w) ? 1 : 0;
}

/* An unpin of an array: a pass to the first guest folio (foreign memory
 * walks the whole array, a folio-run at a time, and stops here), then the
 * stack check, then a pass that unpins from that folio on. */
static __always_inline void unpin_array_at(void *ctx, int self, __u64 base, __u64 n, __u32 kind)
{
	struct unpin_walk w = { .n = n, .kind = kind, .base = base };

	if (!n || !w.base)
		return;
	if (n > UNPIN_WALK_MAX) {
		stat_add(GMEM_STAT_UNPIN_TRUNCATED, 1);
		w.n = n = UNPIN_WALK_MAX;
	}
	bpf_loop(n, unpin_walk_step, &w, 0);
	if (!w.found || nested_in_counted_unpin(ctx, self))
		return;
	w.apply = WALK_UNPIN;
	w.i = w.found - 1;
	bpf_loop(n, unpin_walk_step, &w, 0);
}

static __always_inline void unpin_array(unsigned long long *ctx, int self, __u64 n, __u32 kind)
{
	unpin_array_at(ctx, self, arg_value(ctx, 0), n, kind);
}

/* unpin_one() for argument 0 as a number: a folio, or a page when 'page'. */
static __always_inline void unpin_arg(void *ctx, int self, __u64 arg, bool page, __u32 refs)
{
	__u64 addr = page ? page_folio_addr(arg) : arg;

	if (!addr || !maybe_guest(addr) || nested_in_counted_unpin(ctx, self))
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

/*
 * mm/gup.c's own releases (the fast path's rollback, error paths); the
 * exported unpin functions below may inline it, or call it out of line,
 * in which case they account for it.
 */
SEC("fentry/gup_put_folio")
int BPF_PROG(gup_put_folio_entry, struct folio *folio, int refs, unsigned int flags)
{
	if (flags & foll_pin) {
		if (!maybe_guest_typed(folio))
			return 0;
		/* the usual caller, an exported unpin function, counted it: its
		 * return address says so at once (any other answer: walk) */
		if (frame_in_counted_unpin(fentry_caller(ctx, 3), -1))
			return 0;
		unpin_arg(ctx, -1, arg_value(ctx, 0), false, refs);
	} else if (flags & foll_get) {
		folio_unget(ctx, folio, refs);
	}
	return 0;
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
	folio_grab(ctx, folio, 1, foll_pin, GMEM_PIN_F_SLOW);
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
		folio_grab(ctx, folio, pins, foll_pin, GMEM_PIN_F_SLOW);
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
	folio_grab(ctx, (struct folio *)a.arg[0], a.arg[1], a.arg[2], GMEM_PIN_F_SLOW);
	add_pins_note_grab(ret);
	return 0;
}

SEC("kprobe/try_grab_folio_fast")
int BPF_KPROBE(try_grab_folio_fast_kprobe, struct page *page)
{
	if (guest_mapping((struct folio *)page_folio_addr((__u64)page)))
		stash_args(ctx, STASH_TRY_GRAB_FOLIO_FAST, GMEM_STAT_MAP_FULL);
	return 0;
}

SEC("kretprobe/try_grab_folio_fast")
int BPF_KRETPROBE(try_grab_folio_fast_kretprobe, struct folio *ret)
{
	struct kprobe_args a;

	if (unstash_args(STASH_TRY_GRAB_FOLIO_FAST, &a) && ret)
		folio_grab(ctx, ret, a.arg[1], a.arg[2], GMEM_PIN_F_FAST);
	return 0;
}

SEC("kprobe/gup_put_folio")
int BPF_KPROBE(gup_put_folio_kprobe, struct folio *folio, int refs, unsigned int flags)
{
	if (flags & foll_pin)
		unpin_arg(ctx, -1, (__u64)folio, false, refs);
	else if ((flags & foll_get) && maybe_guest((__u64)folio))
		folio_unget_at((__u64)folio, refs);
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
		folio_grab(ctx, (struct folio *)a.arg[0], 1, foll_pin, GMEM_PIN_F_SLOW);
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
static long recover_entry(struct bpf_map *map, __u64 *key, struct gmem_folio_pins *v, void *ctx)
{
	__u64 seen = *pins_word(v);

	if ((__u32)seen)
		recover_unpins(*key, v, seen, folio_kernel_pins((struct folio *)*key));
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
	__u64 key = a->folio;
	struct gmem_folio_pins *v = bpf_map_lookup_elem(&folio_pins, &key);

	if (v && v->last_pin_ns == a->last_pin_ns)
		__sync_val_compare_and_swap(&v->gets, a->gets, 0);
	return 0;
}

/*
 * Pin addresses (issue 3: "the address the pin was taken at").  The outer
 * GUP calls that return a page array: at entry, note the task and time; at
 * exit, if the call made new holders, walk pages[0..ret) a folio-run at a
 * time and give each new holder the call's mm and the user address of the
 * folio's first page (pages[i] is mapped at start + i * PAGE_SIZE).
 */
static __always_inline bool gup_call_enter(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gmem_gup_call c = {};

	if (filter_tgid && (id >> 32) != filter_tgid)
		return false;
	c.start_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&gup_calls, &id, &c, BPF_ANY)) {
		stat_add(GMEM_STAT_ADDR_UNRECORDED, 1);
		return false;
	}
	return true;
}

static __always_inline __u64 current_mm(void)
{
	return (__u64)BPF_CORE_READ(bpf_get_current_task_btf(), mm);
}

/*
 * The address walk of an outer GUP call's page array: each element's folio
 * is looked up in folio_pins directly (foreign folios are not there, so
 * they need no test of their own), and the walk stops once every new
 * holder the call made is placed.  Per element: a read of the page
 * pointer, one of its first word (tail page or not), one lookup.
 */
struct address_walk {
	__u64 base;       /* pages[] */
	__u64 mm;         /* the call's mm */
	__u64 user_start; /* the user address of pages[0] */
	__u64 since_ns;   /* the call's start */
	__u32 tid;        /* its task */
	__u32 left;       /* new holders not yet placed */
};

static long address_walk_step(__u64 i, struct address_walk *w)
{
	__u64 page = 0, folio;
	struct gmem_folio_pins *v;

	if (bpf_probe_read_kernel(&page, sizeof(page), (void *)(w->base + i * 8)) || !page)
		return 0;
	folio = page_folio_addr(page);
	v = bpf_map_lookup_elem(&folio_pins, &folio);
	if (!v || v->mm || v->pid != w->tid || v->first_pin_ns < w->since_ns)
		return 0;
	/* the user address of the folio's first page */
	v->addr = w->user_start + i * 4096 - (page - folio) / bpf_core_type_size(struct page) * 4096;
	/* mm last (x86 keeps stores in order): readers take the address only
	 * with an mm */
	asm volatile("" ::: "memory");
	v->mm = w->mm;
	return --w->left ? 0 : 1;
}

/* The call on 'mm' at user address 'start' filled page array 'pages'. */
static __always_inline void gup_call_exit(__u64 mm, __u64 start, __u64 pages, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gmem_gup_call *c = bpf_map_lookup_elem(&gup_calls, &id);
	struct address_walk w = {};

	if (!c)
		return;
	w.left = c->new_holders;
	w.since_ns = c->start_ns;
	bpf_map_delete_elem(&gup_calls, &id);
	if (!w.left || ret <= 0 || !mm || !pages)
		return;
	w.base = pages;
	w.mm = mm;
	w.user_start = start & ~4095ull;
	w.tid = (__u32)id;
	bpf_loop(ret < UNPIN_WALK_MAX ? ret : UNPIN_WALK_MAX, address_walk_step, &w, 0);
}

/*
 * An entry and an exit program for outer GUP call 'func' of 'nargs'
 * arguments, its start address argument 'start_arg' and page array
 * 'pages_arg', returning 'ret_type', on the memory of 'mm_of_call'.
 */
#define GUP_CALL_PROGS(func, nargs, start_arg, pages_arg, ret_type, mm_of_call)        \
	SEC("fentry/" #func)                                                      \
	int func##_entry(unsigned long long *ctx)                                 \
	{                                                                         \
		gup_call_enter();                                                 \
		return 0;                                                         \
	}                                                                         \
	SEC("fexit/" #func)                                                       \
	int func##_exit(unsigned long long *ctx)                                  \
	{                                                                         \
		gup_call_exit(mm_of_call, ctx[start_arg], arg_value(ctx, pages_arg), \
			      (ret_type)ctx[nargs]);                              \
		return 0;                                                         \
	}

/* long pin_user_pages(start, nr_pages, gup_flags, pages), get_user_pages() */
GUP_CALL_PROGS(pin_user_pages, 4, 0, 3, long, current_mm())
GUP_CALL_PROGS(get_user_pages, 4, 0, 3, long, current_mm())
/* int pin_user_pages_fast(start, int nr_pages, gup_flags, pages),
 * get_user_pages_fast(), get_user_pages_fast_only() */
GUP_CALL_PROGS(pin_user_pages_fast, 4, 0, 3, int, current_mm())
GUP_CALL_PROGS(get_user_pages_fast, 4, 0, 3, int, current_mm())
GUP_CALL_PROGS(get_user_pages_fast_only, 4, 0, 3, int, current_mm())
/* long pin_user_pages_remote(mm, start, nr_pages, gup_flags, pages, locked),
 * get_user_pages_remote(): another process's memory (VFIO type1, iommufd on
 * behalf of another mm, process_vm_readv) */
GUP_CALL_PROGS(pin_user_pages_remote, 6, 1, 4, long, arg_value(ctx, 0))
GUP_CALL_PROGS(get_user_pages_remote, 6, 1, 4, long, arg_value(ctx, 0))
/* long pin_user_pages_unlocked(start, nr_pages, pages, gup_flags),
 * get_user_pages_unlocked() (KVM's hva_to_pfn slow path) */
GUP_CALL_PROGS(pin_user_pages_unlocked, 4, 0, 2, long, current_mm())
GUP_CALL_PROGS(get_user_pages_unlocked, 4, 0, 2, long, current_mm())

/*
 * Their kprobe twins: a kretprobe has no arguments, so the entry stashes
 * the call's mm, start and page array (bpf/kprobe.bpf.h), one call per
 * task as gup_calls holds.  'start', 'pages': PT_REGS_PARMn numbers.
 */
static __always_inline void gup_call_kprobe(__u64 mm, __u64 start, __u64 pages)
{
	struct kprobe_stash_key key = { .pid_tgid = bpf_get_current_pid_tgid(),
					.func = STASH_GUP_CALL };
	struct kprobe_args a = { .arg = { mm, start, pages } };

	if (gup_call_enter() && bpf_map_update_elem(&kprobe_stash, &key, &a, BPF_ANY))
		stat_add(GMEM_STAT_ADDR_UNRECORDED, 1);
}

static __always_inline void gup_call_kretprobe(long ret)
{
	struct kprobe_args a;

	if (unstash_args(STASH_GUP_CALL, &a))
		gup_call_exit(a.arg[0], a.arg[1], a.arg[2], ret);
}

#define GUP_CALL_KPROBES(func, start, pages, ret_type, mm_of_call)                 \
	SEC("kprobe/" #func)                                                      \
	int func##_kprobe(struct pt_regs *ctx)                                    \
	{                                                                         \
		gup_call_kprobe(mm_of_call, PT_REGS_PARM##start(ctx),             \
				PT_REGS_PARM##pages(ctx));                        \
		return 0;                                                         \
	}                                                                         \
	SEC("kretprobe/" #func)                                                   \
	int func##_kretprobe(struct pt_regs *ctx)                                 \
	{                                                                         \
		gup_call_kretprobe((ret_type)PT_REGS_RC(ctx));                    \
		return 0;                                                         \
	}

GUP_CALL_KPROBES(pin_user_pages, 1, 4, long, current_mm())
GUP_CALL_KPROBES(get_user_pages, 1, 4, long, current_mm())
GUP_CALL_KPROBES(pin_user_pages_fast, 1, 4, int, current_mm())
GUP_CALL_KPROBES(get_user_pages_fast, 1, 4, int, current_mm())
GUP_CALL_KPROBES(get_user_pages_fast_only, 1, 4, int, current_mm())
GUP_CALL_KPROBES(pin_user_pages_remote, 2, 5, long, PT_REGS_PARM1(ctx))
GUP_CALL_KPROBES(get_user_pages_remote, 2, 5, long, PT_REGS_PARM1(ctx))
GUP_CALL_KPROBES(pin_user_pages_unlocked, 1, 3, long, current_mm())
GUP_CALL_KPROBES(get_user_pages_unlocked, 1, 3, long, current_mm())
