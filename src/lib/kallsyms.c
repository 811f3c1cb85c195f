// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/kallsyms.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int cmp_ksym(const void *a, const void *b)
{
	const struct gmem_ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* All of f in one NUL-terminated buffer. */
static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		char *grown = realloc(buf, cap * 2);

		if (!grown) {
			free(buf);
			return NULL;
		}
		buf = grown;
		cap *= 2;
	}
	if (!buf)
		return NULL;
	buf[n] = 0;
	*len = n;
	return buf;
}

/* One "ADDR TYPE NAME[\t[module]]" line, NUL-terminated: a text symbol's
 * address and name (cut in place at its end), or false. */
static bool parse_line(char *line, __u64 *addr, char **name)
{
	char *end;

	*addr = strtoull(line, &end, 16);
	if (end == line || end[0] != ' ' || (end[1] != 't' && end[1] != 'T') || end[2] != ' ')
		return false;
	*name = end + 3;
	(*name)[strcspn(*name, " \t")] = 0;
	return **name != 0;
}

/*
 * Parsed in place: the names point into one copy of the text.  sscanf and
 * strdup per line made this 3 s of every gmemtop start under TCG (120,000
 * lines).
 */
int gmem_kallsyms_parse(struct gmem_kallsyms *ks, FILE *f)
{
	size_t len;
	char *line;

	memset(ks, 0, sizeof(*ks));
	ks->text = read_all(f, &len);
	if (!ks->text)
		goto nomem;
	for (line = ks->text; line < ks->text + len;) {
		char *nl = memchr(line, '\n', ks->text + len - line);
		char *next = nl ? nl + 1 : ks->text + len;
		__u64 addr;
		char *name;

		if (nl)
			*nl = 0;
		if (parse_line(line, &addr, &name)) {
			if (ks->nr == ks->cap) {
				size_t cap = ks->cap ? ks->cap * 2 : 4096;
				void *n = realloc(ks->syms, cap * sizeof(*ks->syms));

				if (!n)
					goto nomem;
				ks->syms = n;
				ks->cap = cap;
			}
			ks->syms[ks->nr].addr = addr;
			ks->syms[ks->nr].name = name;
			ks->nr++;
		}
		line = next;
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
	free(ks->syms);
	free(ks->text);
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
