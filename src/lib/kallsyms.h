/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel text symbols from /proc/kallsyms: addresses and extents. */
#ifndef GMEM_KALLSYMS_H
#define GMEM_KALLSYMS_H

#include <linux/types.h>
#include <stdio.h>

struct gmem_ksym {
	__u64 addr;
	char *name; /* in gmem_kallsyms.text */
};

struct gmem_kallsyms {
	struct gmem_ksym *syms; /* text symbols, sorted by address */
	size_t nr, cap;
	char *text; /* the file read, names cut in place */
};

/* Reads "ADDR TYPE NAME [module]" lines; keeps text symbols (t/T). */
int gmem_kallsyms_parse(struct gmem_kallsyms *ks, FILE *f);
int gmem_kallsyms_load(struct gmem_kallsyms *ks); /* /proc/kallsyms */
void gmem_kallsyms_free(struct gmem_kallsyms *ks);

/* [start, end) of function 'name': end is the next symbol's address.
 * -ENOENT if absent, -EPERM if addresses are hidden (kptr_restrict). */
int gmem_kallsyms_range(const struct gmem_kallsyms *ks, const char *name, __u64 *start,
			__u64 *end);

#define GMEM_KSYM_MAX_SIZE (1u << 20)

/* The symbol containing 'addr' (NULL if below every symbol or more than
 * GMEM_KSYM_MAX_SIZE past the nearest one); *off is the offset into it. */
const char *gmem_kallsyms_lookup(const struct gmem_kallsyms *ks, __u64 addr, __u64 *off);

#endif
