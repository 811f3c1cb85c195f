/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small pieces every BPF object's loader shares. */
#ifndef GMEM_BPFUTIL_H
#define GMEM_BPFUTIL_H

#include <gmem/abi.h>

#include <stdbool.h>

struct bpf_object;
struct bpf_object_skeleton;
struct bpf_program;

/* Attaches every program that is set to load; names the one that fails. */
int gmem_bpf_attach_all(struct bpf_object_skeleton *s);
/* Loads the skeleton's object ("failed to load WHAT: ..." with the kernel
 * feature the errno points at), then attaches it.  *stage, if not NULL,
 * says which step failed ("load", "attach"). */
int gmem_bpf_load_attach(struct bpf_object_skeleton *s, const char *what, const char **stage);
/* Sums a per-CPU 'stats' map into 'out'. */
int gmem_bpf_sum_stats(int map_fd, struct gmem_stats *out);
/* Runs of the skeleton's programs the kernel skipped because the same
 * program was already running on that CPU (bpf_prog_info.recursion_misses),
 * and for kprobes and kretprobes the kprobe's own misses (a kprobe hit while
 * one runs, kretprobe instances exhausted: maxactive; from bpf_link_info,
 * Linux 6.7+, 0 before). */
__u64 gmem_bpf_recursion_misses(const struct bpf_object_skeleton *s);
/* The same, kprobe misses included, summed per kind of program:
 * sums[kind(prog)] for each program. */
/* Runs a SEC("syscall") program once (BPF_PROG_RUN) with 'ctx' of
 * 'ctx_size' bytes (NULL, 0: none): 0 or -errno, with a message. */
int gmem_bpf_run(const struct bpf_program *prog, void *ctx, __u32 ctx_size);
typedef unsigned int (*gmem_bpf_prog_kind_fn)(const struct bpf_program *prog);
void gmem_bpf_misses_by_kind(const struct bpf_object_skeleton *s, gmem_bpf_prog_kind_fn kind,
			     __u64 *sums);

/*
 * The tracing objects carry each hook twice: fentry/fexit programs and
 * their kprobe/kretprobe twins.  One family is loaded, chosen at run time.
 */
enum gmem_attach_mode {
	GMEM_ATTACH_AUTO,   /* fentry/fexit if it loads and attaches, else kprobes */
	GMEM_ATTACH_FENTRY, /* BPF trampolines only */
	GMEM_ATTACH_KPROBE, /* kprobes/kretprobes only */
};

/* "auto", "fentry", "kprobe" <-> the mode; parse: -EINVAL if unknown. */
int gmem_attach_mode_parse(const char *s, enum gmem_attach_mode *out);
const char *gmem_attach_mode_name(enum gmem_attach_mode mode);
/* Is the program of family 'mode'?  Programs of neither family (tp_btf,
 * iter) belong to both. */
bool gmem_bpf_in_family(const struct bpf_program *prog, enum gmem_attach_mode mode);
/* Switches off every program of the object not in family 'mode'. */
void gmem_bpf_keep_family(struct bpf_object *obj, enum gmem_attach_mode mode);

/* Starts something in one family: 0 or -errno, with a message. */
typedef int (*gmem_bpf_start_fn)(void *ctx, enum gmem_attach_mode family);
/*
 * start(ctx, mode) for a forced mode.  For GMEM_ATTACH_AUTO: fentry/fexit
 * first, quietly; if that fails, kprobes; if both fail, one error naming
 * 'what' and both reasons.  *chosen: the family that worked.
 */
int gmem_bpf_start_family(enum gmem_attach_mode mode, const char *what,
			  gmem_bpf_start_fn start, void *ctx, enum gmem_attach_mode *chosen);

#endif
