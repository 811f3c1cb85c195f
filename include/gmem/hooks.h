/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* make bench's baseline (bpf/hooks.bpf.c): what it counts, per CPU. */
#ifndef GMEM_HOOKS_H
#define GMEM_HOOKS_H

#ifdef __bpf__
/* BPF side: types come from vmlinux.h, included first. */
#else
#include <linux/types.h>
#endif

struct gmem_hooks_counts {
	__u64 calls;    /* pin_user_pages_fast() entries */
	__u64 pages;    /* pages it returned */
	__u64 unpinned; /* pages passed to unpin_user_pages() */
};
_Static_assert(sizeof(struct gmem_hooks_counts) == 24, "gmem_hooks_counts");

#endif /* GMEM_HOOKS_H */
