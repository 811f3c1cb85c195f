/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small pieces every BPF object's loader shares. */
#ifndef GMEM_BPFUTIL_H
#define GMEM_BPFUTIL_H

#include <gmem/abi.h>

struct bpf_object_skeleton;

/* Attaches every program that is set to load; names the one that fails. */
int gmem_bpf_attach_all(struct bpf_object_skeleton *s);
/* Loads the skeleton's object ("failed to load WHAT: ..." with the kernel
 * feature the errno points at), then attaches it.  *stage, if not NULL,
 * says which step failed ("load", "attach"). */
int gmem_bpf_load_attach(struct bpf_object_skeleton *s, const char *what, const char **stage);
/* Sums a per-CPU 'stats' map into 'out'. */
int gmem_bpf_sum_stats(int map_fd, struct gmem_stats *out);
/* Runs of the skeleton's programs the kernel skipped because the same
 * program was already running on that CPU (bpf_prog_info.recursion_misses). */
__u64 gmem_bpf_recursion_misses(const struct bpf_object_skeleton *s);

#endif
