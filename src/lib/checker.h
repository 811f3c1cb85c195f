/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The conversion checker: which pins were held on guest memory when it was
 * converted to private or punched out of its guest_memfd.  It knows nothing
 * of libbpf: it is fed the records of check_events (include/gmem/abi.h) and
 * the pins still held at the end, and judges once, after the fact, so that
 * a pin released after the conversion counts as well.
 *
 * A folio is pinned from its entry's first_pin_ns (the pin that took it
 * from none) until its GMEM_EV_PIN_RELEASED, or to the end: one "episode".
 * An event at time T is violated by every episode on the memory it
 * touches that started at or before T and had not ended at T (plus the
 * grace period).
 */
#ifndef GMEM_CHECKER_H
#define GMEM_CHECKER_H

#include <gmem/abi.h>
#include <stdbool.h>
#include <stddef.h>

struct gmem_snapshot;

struct gmem_check_episode {
	__u64 folio;
	__u32 order;
	__u64 start_ns;   /* first_pin_ns of its entry */
	__u64 end_ns;     /* its last pin's release; 0: still held at the end */
	struct gmem_folio_pins v; /* the holder */
};

enum gmem_check_kind {
	GMEM_CHECK_TO_PRIVATE,
	GMEM_CHECK_TO_SHARED,
	GMEM_CHECK_PUNCH,
	GMEM_CHECK_RELEASE,
};

/* What an event did to one file's pages [start, end). */
struct gmem_check_target {
	__u32 dev;
	__u64 ino;
	__u64 start, end;   /* page index */
	bool shared;        /* a memslot's shared backing (else guest_memfd) */
	bool has_gfn;       /* through a memslot: */
	__u64 gfn_of_start; /* the gfn of page 'start' */
};

struct gmem_check_event {
	enum gmem_check_kind kind;
	__u64 time_ns;
	__u32 tgid;         /* the process that made it */
	char comm[GMEM_COMM_LEN];
	bool memslot;       /* a memslot's gfn range converted: 'c' holds it */
	struct gmem_conversion c;
	struct gmem_check_target targets[2];
	int nr_targets;
};

struct gmem_violation {
	size_t event;       /* index in the checker's events */
	size_t episode;     /* index in its episodes */
	int target;         /* index in the event's targets */
	bool shared;        /* the memslot's shared backing (else guest_memfd) */
	bool has_gfn;
	__u64 first_gfn;    /* (has_gfn) the folio's first gfn the event touched */
	__u64 first_index;  /* the folio's pages the event touched, as file page index */
	__u64 nr_pages;
	__u64 held_ns;      /* pinned this long when the event came */
	bool still_held;    /* not released when the check ended */
	__u64 released_after_ns; /* else: released this long after the event */
	int api;            /* enum gmem_api of the holder's stack, -1: not known */
	const char *api_name;
	int stack;          /* index in the stacks snapshot, -1: none */
};

struct gmem_check_opts {
	__u64 grace_ns;     /* a pin released within this after the event is no violation */
	/* known holders to ignore: an API name (io_uring, o_direct, ...), a
	 * process name, or a shell pattern matched against the kernel stack's
	 * function names */
	const char *const *allow;
	size_t nr_allow;
};

struct gmem_checker {
	struct gmem_check_episode *episodes;
	size_t nr_episodes, cap_episodes;
	struct gmem_check_event *events;
	size_t nr_events, cap_events;
	struct gmem_violation *violations;
	size_t nr_violations, cap_violations;
	size_t nr_held;       /* episodes added as still held (gmem_checker_add_held()) */
	__u64 requests;       /* KVM_SET_MEMORY_ATTRIBUTES calls (effective or not) */
	__u64 to_private, to_shared, punches, file_releases, releases;
	__u32 bad_records;    /* malformed records rejected */
	__u64 allowed;        /* violations ignored by the allow list */
	__u64 within_grace;   /* pins released within the grace period */
	/* only this process's conversions and hole punches (0: everyone's) */
	__u32 filter_tgid;
	__u64 others;         /* events of other processes, left out */
	/* conversions of memslots the lifecycle programs did not see made:
	 * their memory is not known, so the check is inconclusive */
	__u64 unknown_memslots;
};

void gmem_checker_init(struct gmem_checker *c);
void gmem_checker_free(struct gmem_checker *c);
/* One record of check_events: -EINVAL (and counted) if malformed. */
int gmem_checker_add_record(struct gmem_checker *c, const void *data, size_t len);
/* A folio still pinned at the end, with its entry.  A release record of
 * the same episode (folio and first_pin_ns) that comes after ends it. */
int gmem_checker_add_held(struct gmem_checker *c, __u64 folio, __u32 order,
			  const struct gmem_folio_pins *v);
/* Every violation, in event order; 'stacks' holds the symbolised kernel
 * stacks by id (NULL: none, allow patterns on stacks match nothing). */
int gmem_checker_judge(struct gmem_checker *c, const struct gmem_check_opts *o,
		       const struct gmem_snapshot *stacks);
const char *gmem_check_kind_name(enum gmem_check_kind kind);

#endif
