/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Conversions and hole punches: loads and attaches bpf/convert.bpf.c, whose
 * ring buffer (check_events) the pin tracker also writes the end of each
 * folio's pins to (gmem_tracker_opts.check_events_fd).
 */
#ifndef GMEM_CONVERSIONS_H
#define GMEM_CONVERSIONS_H

#include "lib/kernel.h"

#include <gmem/abi.h>
#include <stdbool.h>
#include <stddef.h>

struct gmem_vmtracker;

struct gmem_conversions_opts {
	__u32 ringbuf_bytes; /* check_events (0: default); a power of two, >= page size */
	/* the memslots a conversion is looked up in (required) */
	const struct gmem_vmtracker *vmtracker;
};

struct gmem_conversions;

/* Can conversions be traced here (kvm_arch_post_set_memory_attributes():
 * KVM's memory attributes)?  Traced whenever they can. */
bool gmem_conversions_traceable(const struct gmem_kernel *k);
/* Why no conversion can happen here (none traceable, or KVM offers no VM
 * type with private memory), or NULL. */
const char *gmem_conversions_missing(const struct gmem_kernel *k);
/* What it lacks for hole punches in guest_memfd, or NULL. */
const char *gmem_punches_missing(const struct gmem_kernel *k);
/* Loads and attaches what the kernel has of the two (at least one). */
int gmem_conversions_start(struct gmem_conversions **out, const struct gmem_kernel *k,
			   const struct gmem_conversions_opts *opts);
int gmem_conversions_events_fd(const struct gmem_conversions *cv);
typedef int (*gmem_record_fn)(void *ctx, const void *data, size_t len);
/* Calls fn for each record waiting, or for those coming within timeout_ms. */
int gmem_conversions_poll(struct gmem_conversions *cv, int timeout_ms, gmem_record_fn fn,
			  void *ctx);
/* Its counters (check records lost). */
int gmem_conversions_stats(const struct gmem_conversions *cv, struct gmem_stats *st);
void gmem_conversions_stop(struct gmem_conversions *cv);

#endif
