/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ABI shared by gmem-tools' BPF programs and its userspace library:
 * map values and ring-buffer records.  Fixed-width types only, explicit
 * padding, sizes asserted, so that a BPF object built by one compiler and a
 * library built by another agree byte for byte.
 */
#ifndef GMEM_ABI_H
#define GMEM_ABI_H

#ifdef __bpf__
/* BPF side: types come from vmlinux.h, included first by every .bpf.c. */
#else
#include <linux/types.h>
#endif

#define GMEM_ABI_VERSION 1
#define GMEM_COMM_LEN 16

/* The kernel's pin accounting (include/linux/mm.h): a FOLL_PIN on an
 * order-0 folio adds this much to _refcount; large folios count pins in
 * _pincount instead. */
#define GMEM_GUP_PIN_COUNTING_BIAS 1024

/* Default capacities; every one can be changed at load time. */
#define GMEM_DEFAULT_MAX_FOLIOS (1u << 18)
#define GMEM_DEFAULT_SCAN_RINGBUF (8u << 20)

/*
 * The exported unpin functions (mm/gup.c).  gup_put_folio() is static and
 * inlined into some of them, so each is traced itself; the loader passes
 * their text ranges so that a call nested in another one (an out-of-line
 * gup_put_folio(), unpin_user_pages_dirty_lock() -> unpin_user_pages()) is
 * not counted twice.
 */
enum gmem_unpin_func {
	GMEM_UNPIN_USER_PAGE,
	GMEM_UNPIN_USER_PAGES,
	GMEM_UNPIN_USER_PAGES_DIRTY_LOCK,
	GMEM_UNPIN_USER_PAGE_RANGE_DIRTY_LOCK,
	GMEM_UNPIN_FOLIO,
	GMEM_UNPIN_FOLIOS,
	GMEM_UNPIN_USER_FOLIO,
	GMEM_UNPIN_NR,
};

/* Every ring-buffer record starts with this header. */
struct gmem_event_hdr {
	__u16 version; /* GMEM_ABI_VERSION */
	__u16 type;    /* enum gmem_event_type */
	__u32 size;    /* size of the whole record, header included */
};
_Static_assert(sizeof(struct gmem_event_hdr) == 8, "gmem_event_hdr");

enum gmem_event_type {
	GMEM_EV_SCAN_FILE = 1,  /* a guest_memfd file held by a task */
	GMEM_EV_SCAN_FOLIO = 2, /* one folio of such a file, as the kernel counts it */
	GMEM_EV_SCAN_END = 3,   /* the walk of one file ended */
	GMEM_EV_SCAN_VM = 4,    /* a VM (kvm-vm file) held by a task */
	GMEM_EV_SCAN_MEMSLOT = 5, /* one memslot of such a VM */
	GMEM_EV_SCAN_GMEM_OWNER = 6, /* the VM a guest_memfd file belongs to */
	/* gmem-check's records (check_events, bpf/convert.bpf.c and
	 * bpf/pins.bpf.c), each with its CLOCK_MONOTONIC time */
	GMEM_EV_CONVERSION = 7,  /* a memslot's gfn range changed attributes */
	GMEM_EV_FILE_RANGE = 8,  /* a file range of guest memory punched out, released or converted */
	GMEM_EV_PIN_RELEASED = 9, /* a tracked folio's last pin released */
	GMEM_EV_CONVERSION_REQUEST = 10, /* KVM_SET_MEMORY_ATTRIBUTES asked for */
};

/* folio_pins flags */
#define GMEM_PIN_F_LONGTERM (1u << 0) /* at least one pin was FOLL_LONGTERM */
#define GMEM_PIN_F_FAST (1u << 1)     /* taken by the lockless fast path */
#define GMEM_PIN_F_SLOW (1u << 2)     /* taken by the slow path */

/*
 * An entry of the folio_pins table: an array the programs address by the
 * folio's kernel address (a folio keeps its address while it is pinned,
 * and after a hole punch its mapping is gone, so the address is the only
 * stable key), open-addressed over GMEM_FOLIO_PROBE_SLOTS slots from the
 * folio's home slot (bpf/pins.bpf.c).  A slot is free when 'folio' is 0,
 * and may be taken over when its pins and gets are 0 (idle).
 *
 * 'pins' is an outstanding count of FOLL_PIN references.  GMEM_PINS_DEAD
 * marks a slot being taken over by a new folio: its other fields are
 * being rewritten, and readers skip it.
 */
#define GMEM_PINS_DEAD 0xffffffffu
struct gmem_folio_pins {
	__u64 mapping;      /* struct address_space * at first pin */
	__u64 ino;          /* guest_memfd inode number */
	__u64 index;        /* page offset of the folio in the file */
	__u64 first_pin_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 last_pin_ns;
	__u32 dev;          /* s_dev of the guest_memfd superblock */
	__u32 flags;        /* GMEM_PIN_F_* */
	/*
	 * pins and pins_gen are one 64-bit word, pins the low half, that the
	 * programs change atomically, the generation by one at every change:
	 * bpf/pins.bpf.c recover_unpins() brings pins down only if no change
	 * came between its reads (a pin and an unpin meanwhile would leave
	 * pins as it was).
	 */
	__u32 pins;         /* outstanding FOLL_PIN references */
	__u32 pins_gen;
	__u32 gets;         /* FOLL_GET references taken (released unseen) */
	__u32 tgid;         /* first pinner */
	__u32 pid;
	char comm[GMEM_COMM_LEN];
	__u32 _pad;
	__u64 cgroup_id;    /* first pinner's cgroup (v2) */
	__s32 stack_id;     /* kernel stack of the first pin in pin_stacks, < 0: none */
	/* the first pinner's user stack in user_stacks (gmemtop --ustack), < 0:
	 * none; in what was padding, so it costs no kernel memory */
	__s32 ustack_id;
	/*
	 * Where the first pinner pinned it: its struct mm_struct * and the user
	 * virtual address of the folio's first page, taken from the outer GUP
	 * call's page array (pin_user_pages*(), get_user_pages*()).  mm 0: not
	 * known (a pin path with no traceable outer call); addr is valid only
	 * when mm is not 0.
	 */
	__u64 mm;
	__u64 addr;
	__u64 folio;        /* the key: struct folio *, 0 in a free slot */
};
_Static_assert(sizeof(struct gmem_folio_pins) == 128, "gmem_folio_pins");

/* The slots a folio may occupy, from its home slot on: a table smaller
 * than this is searched whole, so it holds exactly as many folios as it
 * has slots. */
#define GMEM_FOLIO_PROBE_SLOTS 16
_Static_assert(__builtin_offsetof(struct gmem_folio_pins, pins) % 8 == 0 &&
		       __builtin_offsetof(struct gmem_folio_pins, pins_gen) ==
			       __builtin_offsetof(struct gmem_folio_pins, pins) + 4,
	       "gmem_folio_pins: pins and pins_gen one aligned word");

/* bpf/pins.bpf.c forget_gets (SEC("syscall")): clear the FOLL_GET count of
 * folio_pins' entry 'folio' if it still reads 'gets' and 'last_pin_ns'. */
struct gmem_forget_gets {
	__u64 folio;
	__u64 last_pin_ns;
	__u32 gets;
	__u32 _pad;
};
_Static_assert(sizeof(struct gmem_forget_gets) == 24, "gmem_forget_gets");

#define GMEM_MAX_STACK_DEPTH 32
#define GMEM_DEFAULT_MAX_STACKS 4096
/* user stacks of pinners (gmemtop --ustack) */
#define GMEM_DEFAULT_MAX_USTACKS 4096
/* outer GUP calls in flight at once, counted at exit from their page arrays */
#define GMEM_DEFAULT_MAX_GUP_CALLS 4096

/* Value of the gup_calls map (key: pid_tgid): an outer GUP call in flight,
 * whose exit counts the pins it took (bpf/pins.bpf.c). */
struct gmem_gup_call {
	__u64 start_ns; /* CLOCK_MONOTONIC at entry */
};
_Static_assert(sizeof(struct gmem_gup_call) == 8, "gmem_gup_call");

/* Counters kept per CPU by every object; userspace sums them. */
enum gmem_stat {
	GMEM_STAT_PIN,            /* FOLL_PIN grabs on guest folios */
	GMEM_STAT_GET,            /* FOLL_GET grabs on guest folios */
	GMEM_STAT_UNPIN,          /* FOLL_PIN releases on tracked folios */
	GMEM_STAT_UNPIN_UNKNOWN,  /* releases of guest folios pinned before we attached */
	GMEM_STAT_MAP_FULL,       /* a pin not recorded: folio_pins was full */
	GMEM_STAT_RACE_LOST,      /* a pin not recorded: entry kept dying under us */
	GMEM_STAT_SCAN_DROPPED,   /* scan records lost: ring buffer full */
	GMEM_STAT_SCAN_TRUNCATED, /* a file walk stopped at its iteration bound */
	GMEM_STAT_UNPIN_TRUNCATED, /* an unpin array longer than we walk: pins lost */
	GMEM_STAT_STACK_LOST,     /* a pin's stack not recorded (stack map full) */
	/* a program not run because it was already running on that CPU (the
	 * kernel's per-program recursion guard: tracing programs are
	 * preemptible, so another task's pin or unpin can land meanwhile);
	 * filled in by userspace from bpf_prog_info.recursion_misses */
	GMEM_STAT_RECURSION_MISSED,
	/* refs.bpf.c: a reference on a guest folio not attributed (folio_refs
	 * full, or all of the folio's holder slots taken) */
	GMEM_STAT_REF_UNRECORDED,
	/* refs.bpf.c runs the kernel skipped (recursion guard), for any page
	 * in the system: page_ref_* fire on every refcount change, so a task
	 * preempted inside one is common; attribution may miss a reference,
	 * the counts do not (filled in by userspace) */
	GMEM_STAT_REF_RECURSION_MISSED,
	/* a VM, guest_memfd file, memslot or shared backing not recorded:
	 * its map (bpf/lifecycle.bpf.c) was full */
	GMEM_STAT_MODEL_MAP_FULL,
	/* a pinner's user stack not recorded (user_stacks full): shown as none */
	GMEM_STAT_USTACK_LOST,
	/* pins released while their unpin program was skipped (recursion
	 * guard), recovered from the kernel's own count (bpf/pins.bpf.c
	 * recover_unpins()) */
	GMEM_STAT_UNPIN_RECOVERED,
	/* unpin program runs the kernel skipped (filled in by userspace):
	 * their pins are recovered, so not lost */
	GMEM_STAT_UNPIN_RUNS_MISSED,
	/* gmem-check records lost: check_events was full */
	GMEM_STAT_CHECK_DROPPED,
	GMEM_STAT_NR,
};

struct gmem_stats {
	__u64 v[GMEM_STAT_NR];
};

/* GMEM_EV_SCAN_FILE: one guest_memfd file found in a task's file table. */
struct gmem_scan_file {
	struct gmem_event_hdr hdr;
	__u64 ino;
	__u64 size;        /* i_size in bytes */
	__u64 mapping;
	__u32 dev;
	__u32 tgid;        /* a process holding it (first one seen) */
	__u32 fd;
	__u32 _pad;
	char comm[GMEM_COMM_LEN];
};
_Static_assert(sizeof(struct gmem_scan_file) == 64, "gmem_scan_file");

/*
 * GMEM_EV_SCAN_FOLIO: the kernel's own counts, read from the folio.  Only
 * folios that hold pins or references beyond the page cache's and the
 * mappings' get a record; the others are counted in GMEM_EV_SCAN_END.
 */
struct gmem_scan_folio {
	struct gmem_event_hdr hdr;
	__u64 ino;
	__u64 folio;
	__u64 index;
	__u32 dev;
	__s32 refcount;  /* folio->_refcount */
	__s32 mapcount;  /* folio->_mapcount + 1 (order-0) */
	__u32 pins;      /* refcount / GUP_PIN_COUNTING_BIAS, or _pincount if large */
	__u32 order;
	__u32 _pad;
};
_Static_assert(sizeof(struct gmem_scan_folio) == 56, "gmem_scan_folio");

/* GMEM_EV_SCAN_END: closes the walk of one file, with its totals. */
struct gmem_scan_end {
	struct gmem_event_hdr hdr;
	__u64 ino;
	__u64 pins;             /* sum of pins over all folios */
	__u32 dev;
	__u32 nr_folios;        /* folios in the page cache */
	__u32 nr_pinned;        /* folios with pins > 0 */
	__u32 nr_extra_ref;     /* folios with references beyond cache + mappings */
	__u32 truncated;        /* 1: iteration bound hit, the totals are low */
	__u32 _pad;
};
_Static_assert(sizeof(struct gmem_scan_end) == 48, "gmem_scan_end");

/*
 * refs.bpf.c (page_ref_* tracepoints, CONFIG_DEBUG_PAGE_REF): who took the
 * references on a guest folio that are neither pins nor the page cache's
 * or a mapping's.  A reference is released by whoever drops it last, so a
 * release is matched to the releasing process's own holder slot when it has
 * one (get and put by the same task: transient lookups, a pipe drained by
 * its owner) and counted as someone else's otherwise.  Userspace shows
 * holders only on folios where the kernel's own count has a surplus, and
 * never more references than that surplus.
 */
#define GMEM_REF_HOLDERS 4
#define GMEM_DEFAULT_MAX_REF_FOLIOS (1u << 16)

struct gmem_ref_holder {
	__u32 tgid;
	__u32 pid;
	char comm[GMEM_COMM_LEN];
	__u64 cgroup_id;
	__u64 first_ns;     /* CLOCK_MONOTONIC of its first reference */
	__u64 last_ns;
	__s32 stack_id;     /* kernel stack of its first reference, in pin_stacks */
	__u32 refs;         /* taken and not seen released by the same process */
};
_Static_assert(sizeof(struct gmem_ref_holder) == 56, "gmem_ref_holder");

/* Value of the folio_refs map, keyed by folio address. */
struct gmem_folio_refs {
	__u64 mapping;
	__u64 ino;
	__u64 index;
	__u32 dev;
	__u32 foreign_puts;  /* releases by a process holding no slot here */
	__u32 holders_full;  /* references not recorded: every slot taken */
	__u32 _pad;
	struct gmem_ref_holder holder[GMEM_REF_HOLDERS];
};
_Static_assert(sizeof(struct gmem_folio_refs) == 40 + GMEM_REF_HOLDERS * 56, "gmem_folio_refs");

/*
 * The guest memory model (bpf/lifecycle.bpf.c, bpf/scan.bpf.c): VMs,
 * guest_memfd files and memslots, each in a bounded hash map so that a
 * snapshot can be read at any time.
 */
#define GMEM_DEFAULT_MAX_VMS 256
#define GMEM_DEFAULT_MAX_GMEM_FILES 1024
#define GMEM_DEFAULT_MAX_MEMSLOTS 4096
#define GMEM_DEFAULT_MAX_BACKINGS 1024
#define GMEM_DEFAULT_MAX_GUEST_MMS 4096 /* mms mapping guest memory */
/* guest_mms_gate bits (bpf/backing.bpf.h) */
#define GMEM_GUEST_MMS_ANY 1u      /* some mm was added */
#define GMEM_GUEST_MMS_OVERFLOW 2u /* guest_mms filled up: every mm passes */

/* gmem_vm.flags, gmem_memslot.state */
#define GMEM_OBJ_F_PREEXISTING (1u << 0) /* created before tracking began (found by the scan) */
#define GMEM_OBJ_F_BACKING_ANON (1u << 1) /* memslot: anonymous memory at userspace_addr
					   * (backing_dev 0, backing_ino an opaque id) */

/* Value of the vms map, keyed by the kernel address of struct kvm. */
struct gmem_vm {
	__u64 created_ns;  /* CLOCK_MONOTONIC; 0: before tracking began */
	__u64 mm;          /* the VMM's struct mm_struct * */
	__u32 tgid;        /* the process that created it */
	__u32 pid;
	char comm[GMEM_COMM_LEN];
	__u32 type;        /* KVM_CREATE_VM's machine type (0: not known) */
	__u32 flags;       /* GMEM_OBJ_F_* */
};
_Static_assert(sizeof(struct gmem_vm) == 48, "gmem_vm");

/* Value of the gmem_files map, keyed by the file's struct address_space *
 * (what folio_pins entries carry). */
struct gmem_gmem_file {
	__u64 kvm;         /* owning VM (struct kvm *) */
	__u64 ino;
	__u64 size;        /* bytes, as created */
	__u64 flags;       /* GUEST_MEMFD_FLAG_* */
	__u64 created_ns;
	__u32 dev;
	__u32 tgid;        /* the process that created it */
	char comm[GMEM_COMM_LEN];
	__s32 fd;          /* its fd in that process at creation */
	__u32 _pad;
};
_Static_assert(sizeof(struct gmem_gmem_file) == 72, "gmem_gmem_file");

/*
 * Value of the memslots map, keyed by the kernel address of struct
 * kvm_memory_slot (a moved or re-flagged memslot is a new struct, so a
 * change deletes the old key and adds the new one).
 *
 * Shared backing: the file (memfd, shmem, any file mapping) mapped at
 * userspace_addr when the memslot was committed; a folio of it at page
 * index i is guest memory at gfn base_gfn + i - backing_pgoff.
 */
struct gmem_memslot {
	__u64 kvm;
	__u64 base_gfn;
	__u64 npages;
	__u64 userspace_addr;
	__u64 gmem_mapping;   /* bound guest_memfd's address_space (0: none) */
	__u64 gmem_ino;
	__u64 gmem_pgoff;     /* page offset of base_gfn in the guest_memfd */
	__u64 backing_mapping; /* address_space mapped at userspace_addr (0: anonymous or unknown) */
	__u64 backing_ino;
	__u64 backing_pgoff;  /* page offset of userspace_addr in that file */
	__u64 updated_ns;     /* last change seen (0: found by the scan) */
	__u32 gmem_dev;
	__u32 backing_dev;
	__u32 flags;          /* KVM_MEM_* */
	__u16 id;             /* slot id within its address space */
	__u16 as_id;
	__u32 tgid;           /* the process that made the change */
	__u32 state;          /* GMEM_OBJ_F_* */
};
_Static_assert(sizeof(struct gmem_memslot) == 112, "gmem_memslot");

/* Value of the backing_mappings map (key: struct address_space *): files
 * that back some memslot's userspace_addr, whose folios the pin programs
 * track like guest_memfd folios.  Entries are removed by userspace once no
 * memslot and no tracked pin uses them. */
struct gmem_backing {
	__u64 kvm;           /* a VM whose memslot it backs */
	__u64 registered_ns;
};
_Static_assert(sizeof(struct gmem_backing) == 16, "gmem_backing");

/* GMEM_EV_SCAN_VM: a kvm-vm file held by a task (the VM may predate us). */
struct gmem_scan_vm {
	struct gmem_event_hdr hdr;
	__u64 kvm;
	struct gmem_vm vm;  /* created_ns 0; tgid/comm: a holder of the fd */
	__u32 fd;
	__u32 nr_memslots;  /* memslots the walk found */
};
_Static_assert(sizeof(struct gmem_scan_vm) == 72, "gmem_scan_vm");

/* GMEM_EV_SCAN_MEMSLOT: one memslot of a VM found by the scan. */
struct gmem_scan_memslot {
	struct gmem_event_hdr hdr;
	__u64 slot;         /* struct kvm_memory_slot * */
	struct gmem_memslot m;
};
_Static_assert(sizeof(struct gmem_scan_memslot) == 128, "gmem_scan_memslot");

/* GMEM_EV_SCAN_GMEM_OWNER: a guest_memfd file's VM (from its private data). */
struct gmem_scan_gmem_owner {
	struct gmem_event_hdr hdr;
	__u64 ino;
	__u64 kvm;
	__u32 dev;
	__u32 _pad;
};
_Static_assert(sizeof(struct gmem_scan_gmem_owner) == 32, "gmem_scan_gmem_owner");

/*
 * gmem-check (bpf/convert.bpf.c, bpf/pins.bpf.c): what happened to guest
 * memory, and when each folio's pins ended, in one ring buffer.  A folio
 * is pinned from its entry's first_pin_ns (the pin that took it from 0)
 * to the time of its GMEM_EV_PIN_RELEASED, or to the end if none came.
 */
#define GMEM_DEFAULT_CHECK_RINGBUF (4u << 20)
#define GMEM_KVM_MEMORY_ATTRIBUTE_PRIVATE (1ull << 3)

/* GMEM_EV_CONVERSION: KVM changed the attributes of gfns [start_gfn,
 * end_gfn) of one memslot (kvm_arch_post_set_memory_attributes(): the
 * change took effect, per memslot).  'm' is the memslot as the lifecycle
 * programs recorded it; m.kvm 0: not recorded (it predates tracking). */
struct gmem_conversion {
	struct gmem_event_hdr hdr;
	__u64 time_ns;
	__u64 kvm;
	__u64 slot;         /* struct kvm_memory_slot * */
	__u64 start_gfn;
	__u64 end_gfn;
	__u64 attributes;   /* the new ones: GMEM_KVM_MEMORY_ATTRIBUTE_PRIVATE or 0 */
	__u32 tgid;         /* the process that asked (KVM_SET_MEMORY_ATTRIBUTES) */
	__u32 pid;
	char comm[GMEM_COMM_LEN];
	struct gmem_memslot m;
};
_Static_assert(sizeof(struct gmem_conversion) == 192, "gmem_conversion");

/* GMEM_EV_CONVERSION_REQUEST: the tracepoint kvm_vm_set_mem_attributes,
 * for every request, also those that change nothing or fail (before the
 * lock): counted, so that requests and conversions can be compared. */
struct gmem_conversion_request {
	struct gmem_event_hdr hdr;
	__u64 time_ns;
	__u64 start_gfn;
	__u64 end_gfn;
	__u64 attributes;
	__u32 tgid;
	__u32 pid;
};
_Static_assert(sizeof(struct gmem_conversion_request) == 48, "gmem_conversion_request");

/* gmem_file_range.what */
enum gmem_file_event {
	GMEM_FILE_PUNCH = 1,      /* fallocate(PUNCH_HOLE): the pages leave the file */
	GMEM_FILE_RELEASE = 2,    /* the file's last reference went: all its pages go */
	GMEM_FILE_TO_PRIVATE = 3, /* converted to private in place (a conversion
				   * source by file offset, such as the coming
				   * KVM_SET_MEMORY_ATTRIBUTES2 on guest_memfd) */
};
/* gmem_file_range.flags */
#define GMEM_FILE_F_SHARED_BACKING (1u << 0) /* a memslot's shared backing, not guest_memfd */

/* GMEM_EV_FILE_RANGE: something happened to pages [start, end) of a file
 * holding guest memory: a guest_memfd (kvm_gmem_fallocate(),
 * kvm_gmem_release()) or a memslot's shared backing (shmem_fallocate()).
 * A new conversion source by file offset is one more program writing it. */
struct gmem_file_range {
	struct gmem_event_hdr hdr;
	__u64 time_ns;
	__u64 mapping;      /* the file's struct address_space * */
	__u64 ino;
	__u64 start;        /* page index */
	__u64 end;
	__u32 dev;
	__u32 tgid;
	__u32 pid;
	__u16 what;         /* enum gmem_file_event */
	__u16 flags;        /* GMEM_FILE_F_* */
	char comm[GMEM_COMM_LEN];
};
_Static_assert(sizeof(struct gmem_file_range) == 80, "gmem_file_range");

/* GMEM_EV_PIN_RELEASED: the last tracked pin of 'folio' released; 'v' is
 * its entry as it was before (the holder of the pins that ended). */
struct gmem_pin_released {
	struct gmem_event_hdr hdr;
	__u64 time_ns;
	__u64 folio;
	__u32 order;
	__u32 _pad;
	struct gmem_folio_pins v;
};
_Static_assert(sizeof(struct gmem_pin_released) == 160, "gmem_pin_released");

#endif /* GMEM_ABI_H */
