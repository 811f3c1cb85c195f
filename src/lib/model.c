// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/model.h"

#include "lib/attrib.h"
#include "lib/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gmem_snapshot_init(struct gmem_snapshot *s)
{
	memset(s, 0, sizeof(*s));
}

void gmem_snapshot_free(struct gmem_snapshot *s)
{
	for (size_t i = 0; i < s->nr_stacks; i++) {
		for (int f = 0; f < s->stacks[i].nr; f++)
			free(s->stacks[i].frames[f]);
		free(s->stacks[i].frames);
	}
	free(s->stacks);
	free(s->folios);
	free(s->files);
	free(s->procs);
	free(s->ref_holders);
	free(s->released);
	gmem_snapshot_free_vms(s);
	gmem_snapshot_free_ustacks(s);
	gmem_snapshot_init(s);
}

/* Grow an array of 'size'-byte elements to hold one more. */
void *gmem_array_grow(void **arr, size_t *nr, size_t *cap, size_t size)
{
	if (*nr == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *n = realloc(*arr, ncap * size);

		if (!n)
			return NULL;
		*arr = n;
		*cap = ncap;
	}
	return memset((char *)*arr + (*nr)++ * size, 0, size);
}

static struct gmem_folio *new_folio(struct gmem_snapshot *s, __u64 addr)
{
	struct gmem_folio *f = gmem_array_grow((void **)&s->folios, &s->nr_folios, &s->cap_folios,
				    sizeof(*f));

	if (f) {
		f->addr = addr;
		f->memslot = f->vm = -1; /* until gmem_snapshot_join_vms() */
	}
	return f;
}

struct gmem_file *gmem_snapshot_file_of(struct gmem_snapshot *s, __u32 dev, __u64 ino)
{
	struct gmem_file *f;

	for (size_t i = 0; i < s->nr_files; i++)
		if (s->files[i].dev == dev && s->files[i].ino == ino)
			return &s->files[i];
	f = gmem_array_grow((void **)&s->files, &s->nr_files, &s->cap_files, sizeof(*f));
	if (f) {
		f->dev = dev;
		f->ino = ino;
		f->vm = -1;
	}
	return f;
}

int gmem_snapshot_add_tracked(struct gmem_snapshot *s, __u64 folio,
			      const struct gmem_folio_pins *v)
{
	struct gmem_folio *f = new_folio(s, folio);

	if (!f)
		return -ENOMEM;
	f->ino = v->ino;
	f->dev = v->dev;
	f->index = v->index;
	f->tracked = true;
	f->t = *v;
	f->t.comm[GMEM_COMM_LEN - 1] = '\0';
	gmem_sanitize_comm(f->t.comm, GMEM_COMM_LEN);
	return 0;
}

int gmem_snapshot_add_stack(struct gmem_snapshot *s, __s32 id, const char *const *names,
			    const __u64 *offsets, int nr)
{
	struct gmem_stack *st;

	if (nr < 0 || nr > GMEM_MAX_STACK_DEPTH)
		return -EINVAL;
	st = gmem_array_grow((void **)&s->stacks, &s->nr_stacks, &s->cap_stacks, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->id = id;
	st->api = gmem_classify_api(names, nr);
	st->cache_or_mapping = gmem_stack_is_cache_or_mapping(names, nr);
	st->frames = calloc(nr ? nr : 1, sizeof(*st->frames));
	if (!st->frames) {
		s->nr_stacks--;
		return -ENOMEM;
	}
	for (int i = 0; i < nr; i++) {
		char buf[300];

		snprintf(buf, sizeof(buf), "%s+0x%llx", names[i] ? names[i] : "?", offsets[i]);
		st->frames[i] = strdup(buf);
		if (!st->frames[i])
			return -ENOMEM; /* freed with the snapshot: nr counts it */
		st->nr = i + 1;
	}
	return 0;
}

int gmem_snapshot_add_ref_holder(struct gmem_snapshot *s, __u64 folio,
				 const struct gmem_ref_holder *h)
{
	struct gmem_ref_holder_entry *e = gmem_array_grow((void **)&s->ref_holders, &s->nr_ref_holders,
							  &s->cap_ref_holders, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->folio = folio;
	e->h = *h;
	gmem_sanitize_comm(e->h.comm, GMEM_COMM_LEN);
	return 0;
}

const struct gmem_stack *gmem_snapshot_find_stack(const struct gmem_snapshot *s, __s32 id)
{
	for (size_t i = 0; id >= 0 && i < s->nr_stacks; i++)
		if (s->stacks[i].id == id)
			return &s->stacks[i];
	return NULL;
}

int gmem_folio_api(const struct gmem_snapshot *s, const struct gmem_folio *f)
{
	const struct gmem_stack *st = f->tracked ? gmem_snapshot_find_stack(s, f->t.stack_id) : NULL;

	return st ? st->api : GMEM_API_OTHER;
}

static int add_scan_file(struct gmem_snapshot *s, const struct gmem_scan_file *r)
{
	struct gmem_file *f = gmem_snapshot_file_of(s, r->dev, r->ino);

	if (!f)
		return -ENOMEM;
	f->size = r->size;
	if (!f->owner_tgid) {
		f->owner_tgid = r->tgid;
		f->owner_fd = r->fd;
		memcpy(f->owner_comm, r->comm, GMEM_COMM_LEN);
		f->owner_comm[GMEM_COMM_LEN - 1] = '\0';
		gmem_sanitize_comm(f->owner_comm, GMEM_COMM_LEN);
	}
	return 0;
}

static int add_scan_end(struct gmem_snapshot *s, const struct gmem_scan_end *r)
{
	struct gmem_file *f = gmem_snapshot_file_of(s, r->dev, r->ino);

	if (!f)
		return -ENOMEM;
	f->scanned = true;
	f->truncated = r->truncated != 0;
	f->kernel_folios = r->nr_folios;
	f->kernel_pinned_folios = r->nr_pinned;
	f->kernel_pins = r->pins;
	f->kernel_extra_ref_folios = r->nr_extra_ref;
	return 0;
}

int gmem_snapshot_add_scan_record(struct gmem_snapshot *s, const void *data, size_t len)
{
	const struct gmem_event_hdr *h = data;
	struct gmem_folio *f;

	if (len < sizeof(*h) || h->version != GMEM_ABI_VERSION || h->size != len)
		goto bad;
	switch (h->type) {
	case GMEM_EV_SCAN_FILE:
		if (len != sizeof(struct gmem_scan_file))
			goto bad;
		return add_scan_file(s, data);
	case GMEM_EV_SCAN_FOLIO:
		if (len != sizeof(struct gmem_scan_folio))
			goto bad;
		f = new_folio(s, ((const struct gmem_scan_folio *)data)->folio);
		if (!f)
			return -ENOMEM;
		f->scanned = true;
		memcpy(&f->k, data, sizeof(f->k));
		f->ino = f->k.ino;
		f->dev = f->k.dev;
		f->index = f->k.index;
		return 0;
	case GMEM_EV_SCAN_END:
		if (len != sizeof(struct gmem_scan_end))
			goto bad;
		return add_scan_end(s, data);
	default: {
		int err = gmem_snapshot_add_model_record(s, data, len);

		if (err <= 0)
			return err;
	}
	}
bad:
	s->bad_records++;
	return -EINVAL;
}

static int cmp_folio_addr(const void *a, const void *b)
{
	const struct gmem_folio *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* tracked entry first, so the merge below keeps its fields */
	return (int)y->tracked - (int)x->tracked;
}

/* A folio may appear once tracked and once scanned: merge the two. */
static void merge_folios(struct gmem_snapshot *s)
{
	size_t out = 0;

	gmem_sort_array(s->folios, s->nr_folios, sizeof(*s->folios), cmp_folio_addr);
	for (size_t i = 0; i < s->nr_folios; i++) {
		struct gmem_folio *cur = &s->folios[i];

		if (out && s->folios[out - 1].addr == cur->addr) {
			struct gmem_folio *prev = &s->folios[out - 1];

			if (cur->scanned && !prev->scanned) {
				prev->scanned = true;
				prev->k = cur->k;
			}
			continue;
		}
		s->folios[out++] = *cur;
	}
	s->nr_folios = out;
}

static struct gmem_process *proc_of(struct gmem_snapshot *s, __u32 tgid)
{
	struct gmem_process *p;

	for (size_t i = 0; i < s->nr_procs; i++)
		if (s->procs[i].tgid == tgid)
			return &s->procs[i];
	p = gmem_array_grow((void **)&s->procs, &s->nr_procs, &s->cap_procs, sizeof(*p));
	if (p)
		p->tgid = tgid;
	return p;
}

/* Pins the kernel counts that tracking did not see taken, per file: summed
 * per folio, so that one folio's surplus cannot hide another's gap. */
static int sum_untracked(struct gmem_snapshot *s)
{
	for (size_t i = 0; s->tracking && i < s->nr_folios; i++) {
		const struct gmem_folio *f = &s->folios[i];
		struct gmem_file *file;

		if (!gmem_folio_untracked_pins(f))
			continue;
		file = gmem_snapshot_file_of(s, f->dev, f->ino);
		if (!file)
			return -ENOMEM;
		file->untracked_pins += gmem_folio_untracked_pins(f);
	}
	return 0;
}

static void add_to_file(struct gmem_file *file, const struct gmem_folio *f)
{
	__u32 pins = gmem_folio_tracked_pins(f);

	if (!pins)
		return;
	file->tracked_folios++;
	file->tracked_pins += pins;
	if (!file->first_pin_ns || f->t.first_pin_ns < file->first_pin_ns)
		file->first_pin_ns = f->t.first_pin_ns;
}

static void add_to_proc(const struct gmem_snapshot *s, struct gmem_process *p,
			const struct gmem_folio *f)
{
	__u32 pins = gmem_folio_tracked_pins(f);

	memcpy(p->comm, f->t.comm, GMEM_COMM_LEN);
	if (pins)
		p->folios++;
	p->pins += pins;
	p->gets += f->gets_held;
	if (!p->first_pin_ns || f->t.first_pin_ns < p->first_pin_ns)
		p->first_pin_ns = f->t.first_pin_ns;
	p->longterm |= (f->t.flags & GMEM_PIN_F_LONGTERM) != 0;
	p->api_mask |= 1u << gmem_folio_api(s, f);
}

/* The per-file and per-process sums of the tracked folios. */
static int sum_tracked(struct gmem_snapshot *s)
{
	for (size_t i = 0; i < s->nr_folios; i++) {
		const struct gmem_folio *f = &s->folios[i];
		struct gmem_process *p;
		struct gmem_file *file;

		if (!f->tracked || (!gmem_folio_tracked_pins(f) && !f->gets_held))
			continue;
		file = gmem_snapshot_file_of(s, f->dev, f->ino);
		p = proc_of(s, f->t.tgid);
		if (!file || !p)
			return -ENOMEM;
		add_to_file(file, f);
		add_to_proc(s, p, f);
	}
	return 0;
}

/*
 * A cgroup filter keeps the folios first pinned from that cgroup, and the
 * files they lie in.  A file's kernel counts and untracked pins stay the
 * whole file's: the kernel does not say who holds a pin.
 */
static void filter_folios(struct gmem_snapshot *s)
{
	size_t out = 0;

	for (size_t i = 0; i < s->nr_folios; i++)
		if (s->folios[i].tracked && s->folios[i].t.cgroup_id == s->filter.cgroup_id)
			s->folios[out++] = s->folios[i];
	s->nr_folios = out;
}

static bool file_has_folio(const struct gmem_snapshot *s, const struct gmem_file *file)
{
	for (size_t i = 0; i < s->nr_folios; i++)
		if (s->folios[i].dev == file->dev && s->folios[i].ino == file->ino)
			return true;
	return false;
}

static void filter_files(struct gmem_snapshot *s)
{
	size_t out = 0;

	for (size_t i = 0; i < s->nr_files; i++)
		if (file_has_folio(s, &s->files[i]))
			s->files[out++] = s->files[i];
	s->nr_files = out;
}

/*
 * References on an order-0 folio beyond one for the page cache, one per
 * mapping and the pins' bias.  A folio the scan did not report, in a file
 * it walked to the end, has none.  Large folios: not known (their mappings
 * are counted elsewhere).
 */
static int folio_extra_refs(struct gmem_snapshot *s, const struct gmem_folio *f)
{
	const struct gmem_file *file;
	long long e;

	if (!f->scanned) {
		file = gmem_snapshot_find_file(s, f->dev, f->ino);
		return file && file->scanned && !file->truncated ? 0 : -1;
	}
	if (f->k.order)
		return -1;
	e = (long long)f->k.refcount - (long long)f->k.pins * GMEM_GUP_PIN_COUNTING_BIAS - 1 -
	    f->k.mapcount;
	return e > 0 ? (int)(e > INT32_MAX ? INT32_MAX : e) : 0;
}

/*
 * FOLL_GET references are released by a plain folio_put() that nothing
 * can attribute, so what tracking saw taken is only an upper bound: the
 * kernel's own surplus on the folio bounds it from the other side.
 */
static struct gmem_folio *find_folio(struct gmem_snapshot *s, __u64 addr)
{
	for (size_t i = 0; i < s->nr_folios; i++)
		if (s->folios[i].addr == addr)
			return &s->folios[i];
	return NULL;
}

/*
 * A holder's count is what it took and did not itself release; someone
 * else may have released it since (a pipe read by another process), so
 * only as many as the kernel's surplus on the folio are shown, the page
 * cache's and the mappings' own left out.
 */
static void account_ref_holders(struct gmem_snapshot *s)
{
	for (size_t i = 0; i < s->nr_ref_holders; i++) {
		struct gmem_ref_holder_entry *e = &s->ref_holders[i];
		const struct gmem_stack *st = gmem_snapshot_find_stack(s, e->h.stack_id);
		struct gmem_folio *f = find_folio(s, e->folio);
		__u32 room;

		e->shown_refs = 0;
		if (!f || f->extra_refs <= 0 || (st && st->cache_or_mapping))
			continue;
		room = (__u32)f->extra_refs - f->refs_attributed;
		e->shown_refs = e->h.refs < room ? e->h.refs : room;
		f->refs_attributed += e->shown_refs;
	}
}

static int account_extra_refs(struct gmem_snapshot *s)
{
	for (size_t i = 0; i < s->nr_folios; i++) {
		struct gmem_folio *f = &s->folios[i];

		f->extra_refs = folio_extra_refs(s, f);
		f->gets_held = f->tracked ? f->t.gets : 0;
		f->refs_attributed = 0;
		if (f->extra_refs >= 0 && f->gets_held > (__u32)f->extra_refs)
			f->gets_held = f->extra_refs;
	}
	account_ref_holders(s);
	for (size_t i = 0; i < s->nr_folios; i++) {
		struct gmem_folio *f = &s->folios[i];
		struct gmem_file *file;

		if (f->extra_refs <= 0)
			continue;
		file = gmem_snapshot_file_of(s, f->dev, f->ino);
		if (!file)
			return -ENOMEM;
		file->kernel_extra_refs += f->extra_refs;
		file->unattributed_refs += gmem_folio_unattributed_refs(f);
	}
	return 0;
}

int gmem_snapshot_finish(struct gmem_snapshot *s)
{
	int err;

	merge_folios(s);
	/* by file and index, so that the sums below see folios in one order */
	gmem_snapshot_sort(s, GMEM_SORT_FILE);
	err = account_extra_refs(s);
	if (!err)
		err = sum_untracked(s);
	if (err)
		return err;
	if (s->filter.cgroup_id)
		filter_folios(s);
	err = sum_tracked(s);
	if (err)
		return err;
	if (s->filter.cgroup_id)
		filter_files(s);
	err = gmem_snapshot_join_vms(s);
	if (err)
		return err;
	/* processes by pins, files and folios by position */
	gmem_snapshot_sort(s, GMEM_SORT_FILE);
	return 0;
}

const struct gmem_file *gmem_snapshot_find_file(const struct gmem_snapshot *s, __u32 dev,
						 __u64 ino)
{
	for (size_t i = 0; i < s->nr_files; i++)
		if (s->files[i].dev == dev && s->files[i].ino == ino)
			return &s->files[i];
	return NULL;
}

__u64 gmem_stats_lost(const struct gmem_stats *st)
{
	return st->v[GMEM_STAT_MAP_FULL] + st->v[GMEM_STAT_RACE_LOST] +
	       st->v[GMEM_STAT_SCAN_DROPPED] + st->v[GMEM_STAT_SCAN_TRUNCATED] +
	       st->v[GMEM_STAT_UNPIN_TRUNCATED] + st->v[GMEM_STAT_RECURSION_MISSED] +
	       st->v[GMEM_STAT_MODEL_MAP_FULL] + st->v[GMEM_STAT_CHECK_DROPPED];
}

const char *gmem_stat_name(enum gmem_stat which)
{
	static const char *const names[GMEM_STAT_NR] = {
		[GMEM_STAT_PIN] = "pins",
		[GMEM_STAT_GET] = "gets",
		[GMEM_STAT_UNPIN] = "unpins",
		[GMEM_STAT_UNPIN_UNKNOWN] = "unpins_untracked",
		[GMEM_STAT_MAP_FULL] = "lost_map_full",
		[GMEM_STAT_RACE_LOST] = "lost_race",
		[GMEM_STAT_SCAN_DROPPED] = "scan_dropped",
		[GMEM_STAT_SCAN_TRUNCATED] = "scan_truncated",
		[GMEM_STAT_UNPIN_TRUNCATED] = "lost_unpin_truncated",
		[GMEM_STAT_STACK_LOST] = "stacks_lost",
		[GMEM_STAT_RECURSION_MISSED] = "lost_recursion",
		[GMEM_STAT_REF_UNRECORDED] = "refs_unrecorded",
		[GMEM_STAT_REF_RECURSION_MISSED] = "refs_runs_missed",
		[GMEM_STAT_MODEL_MAP_FULL] = "lost_model_map_full",
		[GMEM_STAT_USTACK_LOST] = "ustacks_lost",
		[GMEM_STAT_UNPIN_RECOVERED] = "unpins_recovered",
		[GMEM_STAT_UNPIN_RUNS_MISSED] = "unpin_runs_missed",
		[GMEM_STAT_CHECK_DROPPED] = "lost_check_records",
	};

	return which < GMEM_STAT_NR ? names[which] : "?";
}
