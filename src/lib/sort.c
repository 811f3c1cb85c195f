// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Sort orders of a snapshot's tables (gmemtop -s). */
#include "lib/model.h"

#include "lib/util.h"

#include <errno.h>
#include <string.h>

static const char *const sort_names[GMEM_SORT_NR] = {
	[GMEM_SORT_PINS] = "pins",
	[GMEM_SORT_PID] = "pid",
	[GMEM_SORT_COMM] = "comm",
	[GMEM_SORT_AGE] = "age",
	[GMEM_SORT_FILE] = "file",
	[GMEM_SORT_UNTRACKED] = "untracked",
	[GMEM_SORT_EXTRA] = "extra",
};

int gmem_parse_sort(const char *s, enum gmem_sort *out)
{
	for (int k = 0; s && k < GMEM_SORT_NR; k++)
		if (!strcmp(s, sort_names[k])) {
			*out = k;
			return 0;
		}
	return -EINVAL;
}

const char *gmem_sort_name(enum gmem_sort key)
{
	return key < GMEM_SORT_NR ? sort_names[key] : "?";
}

const char *gmem_sort_names(void)
{
	return "pins, pid, comm, age, file, untracked, extra";
}

__u64 gmem_file_pins(const struct gmem_snapshot *s, const struct gmem_file *f)
{
	return s->tracking ? f->tracked_pins + f->untracked_pins : f->kernel_pins;
}

__u32 gmem_folio_pins(const struct gmem_folio *f)
{
	return gmem_folio_tracked_pins(f) + gmem_folio_untracked_pins(f);
}

/* qsort() passes comparators no context: the key and snapshot being sorted. */
static struct {
	enum gmem_sort key;
	const struct gmem_snapshot *s;
} by;

static int cmp_u64(__u64 a, __u64 b)
{
	return a < b ? -1 : a > b;
}

/* Unknown (0) after every known value. */
static int cmp_known(__u64 a, __u64 b)
{
	if (!a != !b)
		return a ? -1 : 1;
	return cmp_u64(a, b);
}

/* Missing names (NULL) after every name. */
static int cmp_name(const char *a, const char *b)
{
	if (!a != !b)
		return a ? -1 : 1;
	return a ? strcmp(a, b) : 0;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct gmem_process *x = a, *y = b;
	int c;

	switch (by.key) {
	case GMEM_SORT_PID:
		c = 0;
		break;
	case GMEM_SORT_COMM:
		c = strcmp(x->comm, y->comm);
		break;
	case GMEM_SORT_AGE:
		c = cmp_known(x->first_pin_ns, y->first_pin_ns);
		break;
	default:
		c = cmp_u64(y->pins, x->pins);
		break;
	}
	return c ? c : cmp_u64(x->tgid, y->tgid);
}

static const char *owner_comm(const struct gmem_file *f)
{
	return f->owner_tgid ? f->owner_comm : NULL;
}

static int cmp_file(const void *a, const void *b)
{
	const struct gmem_file *x = a, *y = b;
	int c;

	switch (by.key) {
	case GMEM_SORT_PID:
		c = cmp_known(x->owner_tgid, y->owner_tgid);
		break;
	case GMEM_SORT_COMM:
		c = cmp_name(owner_comm(x), owner_comm(y));
		break;
	case GMEM_SORT_AGE:
		c = cmp_known(x->first_pin_ns, y->first_pin_ns);
		break;
	case GMEM_SORT_FILE:
		c = 0;
		break;
	case GMEM_SORT_UNTRACKED:
		c = cmp_u64(y->untracked_pins, x->untracked_pins);
		break;
	case GMEM_SORT_EXTRA:
		c = cmp_u64(y->kernel_extra_ref_folios, x->kernel_extra_ref_folios);
		break;
	default:
		c = cmp_u64(gmem_file_pins(by.s, y), gmem_file_pins(by.s, x));
		break;
	}
	if (!c)
		c = cmp_u64(x->dev, y->dev);
	return c ? c : cmp_u64(x->ino, y->ino);
}

static int cmp_folio_key(const struct gmem_folio *x, const struct gmem_folio *y)
{
	switch (by.key) {
	case GMEM_SORT_PID:
		return cmp_known(x->tracked ? x->t.tgid : 0, y->tracked ? y->t.tgid : 0);
	case GMEM_SORT_COMM:
		return cmp_name(x->tracked ? x->t.comm : NULL, y->tracked ? y->t.comm : NULL);
	case GMEM_SORT_AGE:
		return cmp_known(x->tracked ? x->t.first_pin_ns : 0,
				 y->tracked ? y->t.first_pin_ns : 0);
	case GMEM_SORT_FILE:
	case GMEM_SORT_EXTRA:
		return 0;
	case GMEM_SORT_UNTRACKED:
		return cmp_u64(gmem_folio_untracked_pins(y), gmem_folio_untracked_pins(x));
	default:
		return cmp_u64(gmem_folio_pins(y), gmem_folio_pins(x));
	}
}

static int cmp_folio(const void *a, const void *b)
{
	const struct gmem_folio *x = a, *y = b;
	int c = cmp_folio_key(x, y);

	if (!c)
		c = cmp_u64(x->dev, y->dev);
	if (!c)
		c = cmp_u64(x->ino, y->ino);
	if (!c)
		c = cmp_u64(x->index, y->index);
	return c ? c : cmp_u64(x->addr, y->addr);
}

void gmem_snapshot_sort(struct gmem_snapshot *s, enum gmem_sort key)
{
	by.key = key;
	by.s = s;
	gmem_sort_array(s->procs, s->nr_procs, sizeof(*s->procs), cmp_proc);
	gmem_sort_array(s->files, s->nr_files, sizeof(*s->files), cmp_file);
	gmem_sort_array(s->folios, s->nr_folios, sizeof(*s->folios), cmp_folio);
	by.s = NULL;
	s->sort = key;
}
