/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Extra-reference attribution: loads bpf/refs.bpf.c (page_ref_* tracepoints). */
#ifndef GMEM_REFS_H
#define GMEM_REFS_H

#include "lib/kernel.h"
#include "lib/model.h"

struct gmem_ref_tracker;

/* Whether this kernel has the page_ref_* tracepoints (CONFIG_DEBUG_PAGE_REF). */
bool gmem_refs_supported(const struct gmem_kernel *k);
/* Loads and attaches refs.bpf.o, sharing the stack map 'stacks_fd' so that
 * stack ids mean the same as the pins object's (-1: its own, for a trial);
 * max_folios 0: default. */
int gmem_refs_start(struct gmem_ref_tracker **out, __u32 filter_tgid, __u32 max_folios, int stacks_fd);
/* Adds every recorded holder to 's', and the object's counters to s->stats. */
int gmem_refs_read(struct gmem_ref_tracker *r, struct gmem_snapshot *s);
/* Forget folios none of whose holders holds a reference any more, or on
 * which the finished snapshot 's' shows the kernel holds nothing extra. */
void gmem_refs_gc(struct gmem_ref_tracker *r, const struct gmem_snapshot *s);
void gmem_refs_stop(struct gmem_ref_tracker *r);

#endif
