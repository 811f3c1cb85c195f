// SPDX-License-Identifier: GPL-2.0
/*
 * make bench's generic-tool baseline: the hooks gmemtop puts on gup_test's
 * PIN_FAST_BENCHMARK path, pin_user_pages_fast() (fentry and fexit) and
 * unpin_user_pages() (fentry), doing only what any tracer of those calls
 * does, a per-CPU count, as
 *   bpftrace -e 'kfunc:pin_user_pages_fast { @calls = count() }
 *                kretfunc:pin_user_pages_fast { @pages = sum(retval) }
 *                kfunc:unpin_user_pages { @unpinned = sum(args->npages) }'
 * would.  Its cost is the floor of tracing those calls with BPF
 * trampolines: what gmemtop adds above it is its own.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gmem/hooks.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gmem_hooks_counts);
} hook_counts SEC(".maps");

static __always_inline struct gmem_hooks_counts *counts(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&hook_counts, &zero);
}

SEC("fentry/pin_user_pages_fast")
int BPF_PROG(hooks_pin_entry)
{
	struct gmem_hooks_counts *c = counts();

	if (c)
		c->calls++;
	return 0;
}

SEC("fexit/pin_user_pages_fast")
int BPF_PROG(hooks_pin_exit, unsigned long start, int nr_pages, unsigned int gup_flags,
	     struct page **pages, int ret)
{
	struct gmem_hooks_counts *c = counts();

	if (c && ret > 0)
		c->pages += ret;
	return 0;
}

SEC("fentry/unpin_user_pages")
int BPF_PROG(hooks_unpin_entry, struct page **pages, unsigned long npages)
{
	struct gmem_hooks_counts *c = counts();

	if (c)
		c->unpinned += npages;
	return 0;
}
