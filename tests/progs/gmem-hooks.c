// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gmem-hooks: make bench's generic-tool baseline (bpf/hooks.bpf.c).  Loads
 * and attaches the counting hooks, prints "attached", and on SIGINT or
 * SIGTERM prints what they counted and exits:
 *   calls=N pages=N unpinned=N
 * Exit: 0 ok, 1 error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "gmem/hooks.h"
#include "hooks.skel.h"

/* The per-CPU counts, added up. */
static int read_counts(struct gmem_hooks *skel, struct gmem_hooks_counts *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct gmem_hooks_counts per[ncpu > 0 ? ncpu : 1];
	__u32 zero = 0;

	if (ncpu <= 0 ||
	    bpf_map__lookup_elem(skel->maps.hook_counts, &zero, sizeof(zero), per,
				 sizeof(per[0]) * ncpu, 0))
		return -1;
	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < ncpu; i++) {
		sum->calls += per[i].calls;
		sum->pages += per[i].pages;
		sum->unpinned += per[i].unpinned;
	}
	return 0;
}

int main(void)
{
	struct gmem_hooks_counts sum;
	struct gmem_hooks *skel;
	int err, sig, rc = 1;
	sigset_t stop;

	/* blocked before "attached": a signal sent right after it waits for
	 * sigwait() instead of killing the process (or being lost) */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	skel = gmem_hooks__open_and_load();
	if (!skel) {
		fprintf(stderr, "gmem-hooks: failed to load bpf/hooks.bpf.c: %s\n", strerror(errno));
		return 1;
	}
	err = gmem_hooks__attach(skel);
	if (err) {
		fprintf(stderr, "gmem-hooks: failed to attach: %s\n", strerror(-err));
		goto cleanup;
	}
	printf("attached\n");
	fflush(stdout);
	sigwait(&stop, &sig);
	if (read_counts(skel, &sum)) {
		fprintf(stderr, "gmem-hooks: failed to read the counts: %s\n", strerror(errno));
		goto cleanup;
	}
	printf("calls=%llu pages=%llu unpinned=%llu\n", (unsigned long long)sum.calls,
	       (unsigned long long)sum.pages, (unsigned long long)sum.unpinned);
	rc = 0;
cleanup:
	gmem_hooks__destroy(skel);
	return rc;
}
