/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Pin tracking: loads and attaches bpf/pins.bpf.c, reads its maps. */
#ifndef GMEM_TRACKER_H
#define GMEM_TRACKER_H

#include "lib/kernel.h"
#include "lib/model.h"

struct gmem_tracker_opts {
	__u32 max_folios;  /* folio_pins capacity (0: default) */
	__u32 filter_tgid; /* only pins by this process (0: all) */
};

struct gmem_tracker;

/* Loads and attaches every program; on failure says which and why. */
int gmem_tracker_start(struct gmem_tracker **out, const struct gmem_kernel *k,
		       const struct gmem_tracker_opts *opts);
/* Adds every tracked folio and the counters to 's'. */
int gmem_tracker_read(struct gmem_tracker *t, struct gmem_snapshot *s);
/* Forget entries the last read found idle, unless the finished snapshot
 * 's' shows FOLL_GET references of theirs still held.  Call after
 * gmem_snapshot_finish(). */
void gmem_tracker_gc(struct gmem_tracker *t, const struct gmem_snapshot *s);
void gmem_tracker_stop(struct gmem_tracker *t);
/* Kernel memory of the folio map (its memlock accounting) and capacity. */
int gmem_tracker_map_size(struct gmem_tracker *t, __u64 *bytes, __u32 *max_entries);

#endif
