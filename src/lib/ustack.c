// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The snapshot's user stacks and pin addresses (gmemtop --ustack). */
#include "lib/model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gmem_snapshot_add_ustack(struct gmem_snapshot *s, __u32 tgid, __s32 id,
			     const char *const *frames, int nr)
{
	struct gmem_ustack *st;

	if (nr < 0 || nr > GMEM_MAX_STACK_DEPTH)
		return -EINVAL;
	st = gmem_array_grow((void **)&s->ustacks, &s->nr_ustacks, &s->cap_ustacks, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->tgid = tgid;
	st->id = id;
	st->frames = calloc(nr ? nr : 1, sizeof(*st->frames));
	if (!st->frames) {
		s->nr_ustacks--;
		return -ENOMEM;
	}
	for (int i = 0; i < nr; i++) {
		st->frames[i] = strdup(frames[i]);
		if (!st->frames[i])
			return -ENOMEM; /* freed with the snapshot: nr counts it */
		st->nr = i + 1;
	}
	return 0;
}

const struct gmem_ustack *gmem_snapshot_find_ustack(const struct gmem_snapshot *s, __u32 tgid,
						     __s32 id)
{
	for (size_t i = 0; id >= 0 && i < s->nr_ustacks; i++)
		if (s->ustacks[i].tgid == tgid && s->ustacks[i].id == id)
			return &s->ustacks[i];
	return NULL;
}

const struct gmem_ustack *gmem_folio_ustack(const struct gmem_snapshot *s,
					    const struct gmem_folio *f)
{
	return f->tracked ? gmem_snapshot_find_ustack(s, f->t.tgid, f->t.ustack_id) : NULL;
}

void gmem_snapshot_free_ustacks(struct gmem_snapshot *s)
{
	for (size_t i = 0; i < s->nr_ustacks; i++) {
		for (int f = 0; f < s->ustacks[i].nr; f++)
			free(s->ustacks[i].frames[f]);
		free(s->ustacks[i].frames);
	}
	free(s->ustacks);
	s->ustacks = NULL;
	s->nr_ustacks = s->cap_ustacks = 0;
}

bool gmem_folio_pin_address(const struct gmem_folio *f, __u64 *mm, __u64 *addr)
{
	bool known = f->tracked && f->t.mm;

	*mm = known ? f->t.mm : 0;
	*addr = known ? f->t.addr : 0;
	return known;
}
