/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel probing: every feature and attach point gmem-tools uses, tried for
 * real on the running kernel (BTF lookups, trial loads and attaches, KVM
 * ioctls), each with yes/no and the reason, naming the CONFIG_ option from
 * the kernel's config when one is readable.
 */
#ifndef GMEM_PROBE_H
#define GMEM_PROBE_H

#include "lib/output.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct gmem_probe_item {
	char feature[64]; /* "fexit/try_grab_folio", "BPF LSM in the active LSMs" */
	char detail[512]; /* what was tried and what it gave */
	bool required;    /* gmemtop cannot run without it */
	bool available;
};

struct gmem_probe_report {
	char release[65];    /* uname -r */
	char config[128];    /* the config file read; "" when none was */
	struct gmem_probe_item *items;
	size_t nr, cap;
};

/* Runs every probe; -errno only when probing itself failed (no memory):
 * a missing feature is a result, not an error.  Items: required first. */
int gmem_probe_run(struct gmem_probe_report *r);
void gmem_probe_free(struct gmem_probe_report *r);

/* Adds an item (detail: printf format); -ENOMEM. */
int gmem_probe_add(struct gmem_probe_report *r, bool required, bool available,
		   const char *feature, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Required items first, keeping the order within each group. */
void gmem_probe_sort(struct gmem_probe_report *r);
/* Every required item is available. */
bool gmem_probe_ok(const struct gmem_probe_report *r);

/* Table, or one JSON object:
 * {"version":1,"kernel":..,"config":..|null,"ok":..,"features":[{"feature":..,
 *  "required":..,"available":..,"detail":..}]} */
int gmem_render_probe(FILE *out, const struct gmem_probe_report *r, enum gmem_format fmt);

/* "EPERM", "ENOENT", ...; "E?" for others (for details, beside strerror) */
const char *gmem_errno_name(int err);

#endif
