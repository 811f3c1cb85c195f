// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/kallsyms.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cmp_ksym(const void *a, const void *b)
{
	const struct gmem_ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int gmem_kallsyms_parse(struct gmem_kallsyms *ks, FILE *f)
{
	char line[512], name[256], type;
	unsigned long long addr;

	memset(ks, 0, sizeof(*ks));
	while (fgets(line, sizeof(line), f)) {
		struct gmem_ksym *s;

		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (type != 't' && type != 'T')
			continue;
		if (ks->nr == ks->cap) {
			size_t cap = ks->cap ? ks->cap * 2 : 4096;
			void *n = realloc(ks->syms, cap * sizeof(*ks->syms));

			if (!n)
				goto nomem;
			ks->syms = n;
			ks->cap = cap;
		}
		s = &ks->syms[ks->nr];
		s->addr = addr;
		s->name = strdup(name);
		if (!s->name)
			goto nomem;
		ks->nr++;
	}
	if (ks->nr) /* syms is NULL when there are none: qsort's is nonnull */
		qsort(ks->syms, ks->nr, sizeof(*ks->syms), cmp_ksym);
	return 0;
nomem:
	gmem_kallsyms_free(ks);
	return -ENOMEM;
}

int gmem_kallsyms_load(struct gmem_kallsyms *ks)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	int err;

	if (!f)
		return -errno;
	err = gmem_kallsyms_parse(ks, f);
	fclose(f);
	return err;
}

void gmem_kallsyms_free(struct gmem_kallsyms *ks)
{
	for (size_t i = 0; i < ks->nr; i++)
		free(ks->syms[i].name);
	free(ks->syms);
	memset(ks, 0, sizeof(*ks));
}

int gmem_kallsyms_range(const struct gmem_kallsyms *ks, const char *name, __u64 *start,
			__u64 *end)
{
	for (size_t i = 0; i < ks->nr; i++) {
		if (strcmp(ks->syms[i].name, name))
			continue;
		if (!ks->syms[i].addr)
			return -EPERM;
		*start = ks->syms[i].addr;
		*end = *start;
		for (size_t j = i + 1; j < ks->nr; j++)
			if (ks->syms[j].addr > *start) {
				*end = ks->syms[j].addr;
				break;
			}
		/* the last text symbol: no extent known, assume a page */
		if (*end == *start)
			*end = *start + 4096;
		return 0;
	}
	return -ENOENT;
}

const char *gmem_kallsyms_lookup(const struct gmem_kallsyms *ks, __u64 addr, __u64 *off)
{
	size_t lo = 0, hi = ks->nr;

	/* the last symbol whose address is <= addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	*off = addr - ks->syms[lo - 1].addr;
	/* past the end of kernel text (BPF programs, trampolines, code loaded
	 * after we read kallsyms): no kernel function is this long */
	if (*off > GMEM_KSYM_MAX_SIZE)
		return NULL;
	return ks->syms[lo - 1].name;
}
