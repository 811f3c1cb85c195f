// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The conversion checker (checker.h). */
#include "lib/checker.h"
#include "lib/attrib.h"
#include "lib/model.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define GROW(c, what) \
	gmem_array_grow((void **)&(c)->what, &(c)->nr_##what, &(c)->cap_##what, sizeof(*(c)->what))

void gmem_checker_init(struct gmem_checker *c)
{
	memset(c, 0, sizeof(*c));
}

void gmem_checker_free(struct gmem_checker *c)
{
	free(c->episodes);
	free(c->events);
	free(c->violations);
	memset(c, 0, sizeof(*c));
}

const char *gmem_check_kind_name(enum gmem_check_kind kind)
{
	switch (kind) {
	case GMEM_CHECK_TO_PRIVATE: return "to_private";
	case GMEM_CHECK_TO_SHARED: return "to_shared";
	case GMEM_CHECK_PUNCH: return "punch_hole";
	case GMEM_CHECK_RELEASE: return "file_release";
	}
	return "?";
}

static int add_episode(struct gmem_checker *c, __u64 folio, __u32 order, __u64 end_ns,
		       const struct gmem_folio_pins *v)
{
	struct gmem_check_episode *e = GROW(c, episodes);

	if (!e)
		return -ENOMEM;
	e->folio = folio;
	e->order = order;
	e->start_ns = v->first_pin_ns;
	e->end_ns = end_ns;
	e->v = *v;
	return 0;
}

/* A new event by process 'tgid' at 'time_ns', or NULL: *err says why
 * (0: another process's, left out). */
static struct gmem_check_event *new_event(struct gmem_checker *c, __u32 tgid, const char *comm,
					  __u64 time_ns, int *err)
{
	struct gmem_check_event *e;

	*err = 0;
	if (c->filter_tgid && tgid != c->filter_tgid) {
		c->others++;
		return NULL;
	}
	e = GROW(c, events);
	if (!e) {
		*err = -ENOMEM;
		return NULL;
	}
	e->time_ns = time_ns;
	e->tgid = tgid;
	memcpy(e->comm, comm, GMEM_COMM_LEN);
	return e;
}

/* The memslot's pages of gfns [start, end) in one of its files. */
static void add_memslot_target(struct gmem_check_event *e, __u32 dev, __u64 ino, __u64 pgoff,
			       bool shared)
{
	struct gmem_check_target *t = &e->targets[e->nr_targets++];
	__u64 off = e->c.start_gfn - e->c.m.base_gfn;

	t->dev = dev;
	t->ino = ino;
	t->start = pgoff + off;
	t->end = t->start + (e->c.end_gfn - e->c.start_gfn);
	t->shared = shared;
	t->has_gfn = true;
	t->gfn_of_start = e->c.start_gfn;
}

/* A memslot's gfn range changed attributes: its shared backing's pages
 * and its guest_memfd's. */
static int add_conversion(struct gmem_checker *c, const struct gmem_conversion *r)
{
	struct gmem_check_event *e;
	int err;

	if (r->end_gfn <= r->start_gfn)
		return -EINVAL;
	e = new_event(c, r->tgid, r->comm, r->time_ns, &err);
	if (!e)
		return err;
	e->memslot = true;
	e->c = *r;
	if (r->attributes & GMEM_KVM_MEMORY_ATTRIBUTE_PRIVATE) {
		e->kind = GMEM_CHECK_TO_PRIVATE;
		c->to_private++;
	} else {
		e->kind = GMEM_CHECK_TO_SHARED;
		c->to_shared++;
	}
	if (!r->m.kvm || r->start_gfn < r->m.base_gfn) {
		c->unknown_memslots++;
		return 0;
	}
	if (r->m.backing_ino)
		add_memslot_target(e, r->m.backing_dev, r->m.backing_ino, r->m.backing_pgoff, true);
	if (r->m.gmem_ino)
		add_memslot_target(e, r->m.gmem_dev, r->m.gmem_ino, r->m.gmem_pgoff, false);
	return 0;
}

/* A file range punched out, released or converted in place. */
static int add_file_range(struct gmem_checker *c, const struct gmem_file_range *r)
{
	static const enum gmem_check_kind kinds[] = {
		[GMEM_FILE_PUNCH] = GMEM_CHECK_PUNCH,
		[GMEM_FILE_RELEASE] = GMEM_CHECK_RELEASE,
		[GMEM_FILE_TO_PRIVATE] = GMEM_CHECK_TO_PRIVATE,
	};
	struct gmem_check_event *e;
	int err;

	if (r->end <= r->start || r->what < GMEM_FILE_PUNCH || r->what > GMEM_FILE_TO_PRIVATE)
		return -EINVAL;
	e = new_event(c, r->tgid, r->comm, r->time_ns, &err);
	if (!e)
		return err;
	e->kind = kinds[r->what];
	e->targets[0] = (struct gmem_check_target){
		.dev = r->dev, .ino = r->ino, .start = r->start, .end = r->end,
		.shared = r->flags & GMEM_FILE_F_SHARED_BACKING,
	};
	e->nr_targets = 1;
	if (e->kind == GMEM_CHECK_PUNCH)
		c->punches++;
	else if (e->kind == GMEM_CHECK_RELEASE)
		c->file_releases++;
	else
		c->to_private++;
	return 0;
}

static int add_record(struct gmem_checker *c, const void *data, size_t len)
{
	const struct gmem_event_hdr *h = data;

	if (len < sizeof(*h) || h->version != GMEM_ABI_VERSION || h->size != len)
		return -EINVAL;
	switch (h->type) {
	case GMEM_EV_CONVERSION:
		if (len != sizeof(struct gmem_conversion))
			return -EINVAL;
		return add_conversion(c, data);
	case GMEM_EV_FILE_RANGE:
		if (len != sizeof(struct gmem_file_range))
			return -EINVAL;
		return add_file_range(c, data);
	case GMEM_EV_CONVERSION_REQUEST: {
		const struct gmem_conversion_request *r = data;

		if (len != sizeof(*r))
			return -EINVAL;
		if (!c->filter_tgid || r->tgid == c->filter_tgid)
			c->requests++;
		return 0;
	}
	case GMEM_EV_PIN_RELEASED: {
		const struct gmem_pin_released *r = data;

		if (len != sizeof(*r) || r->order > 20)
			return -EINVAL;
		c->releases++;
		/* read after the end's table: the episode the table showed held */
		for (size_t i = 0; c->nr_held && i < c->nr_episodes; i++) {
			struct gmem_check_episode *e = &c->episodes[i];

			if (!e->end_ns && e->folio == r->folio && e->start_ns == r->v.first_pin_ns) {
				e->end_ns = r->time_ns;
				return 0;
			}
		}
		return add_episode(c, r->folio, r->order, r->time_ns, &r->v);
	}
	}
	return -EINVAL;
}

int gmem_checker_add_record(struct gmem_checker *c, const void *data, size_t len)
{
	int err = add_record(c, data, len);

	if (err == -EINVAL)
		c->bad_records++;
	return err;
}

int gmem_checker_add_held(struct gmem_checker *c, __u64 folio, __u32 order,
			  const struct gmem_folio_pins *v)
{
	int err;

	if (order > 20)
		return -EINVAL;
	err = add_episode(c, folio, order, 0, v);
	if (!err)
		c->nr_held++;
	return err;
}

/* The pages [*first, *first + *nr) where [a, a + an) and [b, b + bn) meet. */
static bool overlap(__u64 a, __u64 an, __u64 b, __u64 bn, __u64 *first, __u64 *nr)
{
	__u64 lo = a > b ? a : b, hi_a = a + an, hi_b = b + bn, hi = hi_a < hi_b ? hi_a : hi_b;

	if (lo >= hi)
		return false;
	*first = lo;
	*nr = hi - lo;
	return true;
}

/* Does the event touch the episode's folio?  Fills the violation's place. */
static bool touches(const struct gmem_check_event *e, const struct gmem_check_episode *p,
		    struct gmem_violation *v)
{
	__u64 pages = 1ull << p->order;

	for (int i = 0; i < e->nr_targets; i++) {
		const struct gmem_check_target *t = &e->targets[i];

		if (p->v.ino != t->ino || p->v.dev != t->dev ||
		    !overlap(p->v.index, pages, t->start, t->end - t->start, &v->first_index,
			     &v->nr_pages))
			continue;
		v->target = i;
		v->shared = t->shared;
		v->has_gfn = t->has_gfn;
		v->first_gfn = t->has_gfn ? t->gfn_of_start + (v->first_index - t->start) : 0;
		return true;
	}
	return false;
}

/* Was the episode's pin held when the event came (and past the grace)? */
static bool held_at(struct gmem_checker *c, const struct gmem_check_episode *p, __u64 t,
		    __u64 grace_ns)
{
	if (p->start_ns > t || (p->end_ns && p->end_ns <= t))
		return false;
	if (p->end_ns && p->end_ns - t <= grace_ns) {
		c->within_grace++;
		return false;
	}
	return true;
}

static const struct gmem_stack *stack_of(const struct gmem_snapshot *stacks, __s32 id)
{
	return stacks && id >= 0 ? gmem_snapshot_find_stack(stacks, id) : NULL;
}

/* The function name of frame "name+0xoff", into buf. */
static const char *frame_function(const char *frame, char *buf, size_t len)
{
	size_t n = strcspn(frame, "+");

	if (n >= len)
		n = len - 1;
	memcpy(buf, frame, n);
	buf[n] = '\0';
	return buf;
}

static bool allowed_by(const char *pat, const struct gmem_violation *v,
		       const struct gmem_check_episode *p, const struct gmem_stack *st)
{
	char comm[GMEM_COMM_LEN + 1] = "", fn[256];

	memcpy(comm, p->v.comm, GMEM_COMM_LEN);
	if (!strcmp(pat, v->api_name) || !strcmp(pat, comm))
		return true;
	for (int i = 0; st && i < st->nr; i++)
		if (!fnmatch(pat, frame_function(st->frames[i], fn, sizeof(fn)), 0))
			return true;
	return false;
}

static bool allowed(const struct gmem_check_opts *o, const struct gmem_violation *v,
		    const struct gmem_check_episode *p, const struct gmem_stack *st)
{
	for (size_t i = 0; i < o->nr_allow; i++)
		if (allowed_by(o->allow[i], v, p, st))
			return true;
	return false;
}

static int judge_pair(struct gmem_checker *c, const struct gmem_check_opts *o,
		      const struct gmem_snapshot *stacks, size_t ei, size_t pi)
{
	const struct gmem_check_event *e = &c->events[ei];
	const struct gmem_check_episode *p = &c->episodes[pi];
	const struct gmem_stack *st;
	struct gmem_violation v = { .event = ei, .episode = pi, .api = -1, .stack = -1 };

	if (!touches(e, p, &v) || !held_at(c, p, e->time_ns, o->grace_ns))
		return 0;
	v.held_ns = e->time_ns - p->start_ns;
	v.still_held = !p->end_ns;
	v.released_after_ns = p->end_ns ? p->end_ns - e->time_ns : 0;
	st = stack_of(stacks, p->v.stack_id);
	if (st) {
		v.api = st->api;
		v.stack = (int)(st - stacks->stacks);
	}
	v.api_name = v.api >= 0 ? gmem_api_name(v.api) : "unknown";
	if (allowed(o, &v, p, st)) {
		c->allowed++;
		return 0;
	}
	struct gmem_violation *nv = GROW(c, violations);

	if (!nv)
		return -ENOMEM;
	*nv = v;
	return 0;
}

static int cmp_event_time(const void *a, const void *b)
{
	const struct gmem_check_event *x = a, *y = b;

	return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

/* Event by event, then page by page: a holder's pages read as runs. */
static int cmp_violation(const void *a, const void *b)
{
	const struct gmem_violation *x = a, *y = b;

	if (x->event != y->event)
		return x->event < y->event ? -1 : 1;
	if (x->shared != y->shared)
		return x->shared ? -1 : 1;
	return x->first_index < y->first_index ? -1 : x->first_index > y->first_index;
}

int gmem_checker_judge(struct gmem_checker *c, const struct gmem_check_opts *o,
		       const struct gmem_snapshot *stacks)
{
	static const struct gmem_check_opts none;

	if (!o)
		o = &none;
	c->nr_violations = 0;
	c->allowed = c->within_grace = 0;
	if (c->nr_events)
		qsort(c->events, c->nr_events, sizeof(*c->events), cmp_event_time);
	for (size_t ei = 0; ei < c->nr_events; ei++) {
		if (c->events[ei].kind == GMEM_CHECK_TO_SHARED)
			continue;
		for (size_t pi = 0; pi < c->nr_episodes; pi++) {
			int err = judge_pair(c, o, stacks, ei, pi);

			if (err)
				return err;
		}
	}
	if (c->nr_violations)
		qsort(c->violations, c->nr_violations, sizeof(*c->violations), cmp_violation);
	return 0;
}
