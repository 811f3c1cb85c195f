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
static struct gmem_check_event *new_event(struct gmem_checker *c, __u32 tgid, __u64 time_ns,
					  int *err)
{
	struct gmem_check_event *e;

	*err = 0;
	if (c->filter_tgid && tgid != c->filter_tgid) {
		c->others++;
		return NULL;
	}
	e = GROW(c, events);
	if (!e)
		*err = -ENOMEM;
	else
		e->time_ns = time_ns;
	return e;
}

static int add_conversion(struct gmem_checker *c, const struct gmem_conversion *r)
{
	struct gmem_check_event *e;
	int err;

	if (r->end_gfn <= r->start_gfn)
		return -EINVAL;
	e = new_event(c, r->tgid, r->time_ns, &err);
	if (!e)
		return err;
	e->c = *r;
	if (r->attributes & GMEM_KVM_MEMORY_ATTRIBUTE_PRIVATE) {
		e->kind = GMEM_CHECK_TO_PRIVATE;
		c->to_private++;
	} else {
		e->kind = GMEM_CHECK_TO_SHARED;
		c->to_shared++;
	}
	if (!r->m.kvm)
		c->unknown_memslots++;
	return 0;
}

static int add_punch(struct gmem_checker *c, const struct gmem_punch *r)
{
	struct gmem_check_event *e;
	int err;

	if (r->end <= r->start)
		return -EINVAL;
	e = new_event(c, r->tgid, r->time_ns, &err);
	if (!e)
		return err;
	e->kind = GMEM_CHECK_PUNCH;
	e->p = *r;
	c->punches++;
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
	case GMEM_EV_PUNCH:
		if (len != sizeof(struct gmem_punch))
			return -EINVAL;
		return add_punch(c, data);
	case GMEM_EV_PIN_RELEASED: {
		const struct gmem_pin_released *r = data;

		if (len != sizeof(*r) || r->order > 20)
			return -EINVAL;
		c->releases++;
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
	if (order > 20)
		return -EINVAL;
	return add_episode(c, folio, order, 0, v);
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

/*
 * Does the event touch the episode's folio?  Fills the violation's place:
 * a conversion through the memslot (its shared backing or its guest_memfd,
 * by file and page offset), a punch through its file.
 */
static bool touches(const struct gmem_check_event *e, const struct gmem_check_episode *p,
		    struct gmem_violation *v)
{
	__u64 pages = 1ull << p->order;

	if (e->kind == GMEM_CHECK_PUNCH)
		return p->v.ino == e->p.ino && p->v.dev == e->p.dev &&
		       overlap(p->v.index, pages, e->p.start, e->p.end - e->p.start,
			       &v->first_index, &v->nr_pages);
	if (e->kind != GMEM_CHECK_TO_PRIVATE || !e->c.m.kvm ||
	    e->c.start_gfn < e->c.m.base_gfn)
		return false;
	const struct gmem_memslot *m = &e->c.m;
	__u64 off = e->c.start_gfn - m->base_gfn, n = e->c.end_gfn - e->c.start_gfn;

	if (m->backing_ino && p->v.ino == m->backing_ino && p->v.dev == m->backing_dev &&
	    overlap(p->v.index, pages, m->backing_pgoff + off, n, &v->first_index, &v->nr_pages)) {
		v->shared = true;
		v->first_gfn = m->base_gfn + v->first_index - m->backing_pgoff;
		return true;
	}
	if (m->gmem_ino && p->v.ino == m->gmem_ino && p->v.dev == m->gmem_dev &&
	    overlap(p->v.index, pages, m->gmem_pgoff + off, n, &v->first_index, &v->nr_pages)) {
		v->shared = false;
		v->first_gfn = m->base_gfn + v->first_index - m->gmem_pgoff;
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
