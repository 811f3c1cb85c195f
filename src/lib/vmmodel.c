// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The guest memory model's joins: VMs, memslots and guest_memfd files from
 * the lifecycle maps and the scan, and which VM, memslot and gfn every
 * folio of the snapshot belongs to.
 */
#include "lib/model.h"

#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROW(s, name) gmem_array_grow((void **)&(s)->name, &(s)->nr_##name, &(s)->cap_##name, \
				      sizeof(*(s)->name))

static struct gmem_vm_info *vm_of(struct gmem_snapshot *s, __u64 kvm)
{
	struct gmem_vm_info *vm;

	for (size_t i = 0; i < s->nr_vms; i++)
		if (s->vms[i].kvm == kvm)
			return &s->vms[i];
	vm = GROW(s, vms);
	if (vm)
		vm->kvm = kvm;
	return vm;
}

const struct gmem_vm_info *gmem_snapshot_find_vm(const struct gmem_snapshot *s, __u64 kvm)
{
	for (size_t i = 0; i < s->nr_vms; i++)
		if (s->vms[i].kvm == kvm)
			return &s->vms[i];
	return NULL;
}

int gmem_snapshot_add_vm(struct gmem_snapshot *s, __u64 kvm, const struct gmem_vm *v)
{
	struct gmem_vm_info *vm = vm_of(s, kvm);

	if (!vm)
		return -ENOMEM;
	vm->v = *v;
	vm->v.comm[GMEM_COMM_LEN - 1] = '\0';
	gmem_sanitize_comm(vm->v.comm, GMEM_COMM_LEN);
	vm->tracked = true;
	return 0;
}

/* A memslot seen by the lifecycle programs wins over the scan's copy. */
static int add_memslot(struct gmem_snapshot *s, __u64 slot, const struct gmem_memslot *m,
		       bool tracked)
{
	struct gmem_memslot_info *ms = NULL;

	for (size_t i = 0; i < s->nr_memslots && !ms; i++)
		if (s->memslots[i].addr == slot)
			ms = &s->memslots[i];
	if (ms && ms->tracked && !tracked)
		return 0;
	if (!ms && !(ms = GROW(s, memslots)))
		return -ENOMEM;
	ms->addr = slot;
	ms->m = *m;
	ms->tracked = tracked;
	return 0;
}

int gmem_snapshot_add_memslot(struct gmem_snapshot *s, __u64 slot, const struct gmem_memslot *m)
{
	return add_memslot(s, slot, m, true);
}

int gmem_snapshot_add_gmem_file(struct gmem_snapshot *s, __u64 mapping,
				const struct gmem_gmem_file *f)
{
	struct gmem_gmem_file_rec *r = GROW(s, gmem_files);

	if (!r)
		return -ENOMEM;
	r->mapping = mapping;
	r->f = *f;
	r->f.comm[GMEM_COMM_LEN - 1] = '\0';
	gmem_sanitize_comm(r->f.comm, GMEM_COMM_LEN);
	return 0;
}

static int add_scan_vm(struct gmem_snapshot *s, const struct gmem_scan_vm *r)
{
	struct gmem_vm_info *vm = vm_of(s, r->kvm);

	if (!vm)
		return -ENOMEM;
	vm->scanned = true;
	if (!vm->tracked) {
		vm->v = r->vm;
		vm->v.comm[GMEM_COMM_LEN - 1] = '\0';
		gmem_sanitize_comm(vm->v.comm, GMEM_COMM_LEN);
		vm->v.flags |= GMEM_OBJ_F_PREEXISTING;
	}
	return 0;
}

static int add_owner(struct gmem_snapshot *s, const struct gmem_scan_gmem_owner *r)
{
	struct gmem_gmem_owner *o = GROW(s, owners);

	if (!o)
		return -ENOMEM;
	o->dev = r->dev;
	o->ino = r->ino;
	o->kvm = r->kvm;
	return 0;
}

int gmem_snapshot_add_model_record(struct gmem_snapshot *s, const void *data, size_t len)
{
	const struct gmem_event_hdr *h = data;

	switch (h->type) {
	case GMEM_EV_SCAN_VM:
		return len == sizeof(struct gmem_scan_vm) ? add_scan_vm(s, data) : 1;
	case GMEM_EV_SCAN_MEMSLOT:
		if (len != sizeof(struct gmem_scan_memslot))
			return 1;
		return add_memslot(s, ((const struct gmem_scan_memslot *)data)->slot,
				   &((const struct gmem_scan_memslot *)data)->m, false);
	case GMEM_EV_SCAN_GMEM_OWNER:
		return len == sizeof(struct gmem_scan_gmem_owner) ? add_owner(s, data) : 1;
	}
	return 1;
}

void gmem_snapshot_free_vms(struct gmem_snapshot *s)
{
	free(s->vms);
	free(s->memslots);
	free(s->gmem_files);
	free(s->owners);
}

static int vm_index(const struct gmem_snapshot *s, __u64 kvm)
{
	for (size_t i = 0; kvm && i < s->nr_vms; i++)
		if (s->vms[i].kvm == kvm)
			return (int)i;
	return -1;
}

static int cmp_vm(const void *a, const void *b)
{
	const struct gmem_vm_info *x = a, *y = b;

	if (x->v.tgid != y->v.tgid)
		return x->v.tgid < y->v.tgid ? -1 : 1;
	return x->kvm < y->kvm ? -1 : x->kvm > y->kvm;
}

/* By process, then address; "kvm-TGID", then "kvm-TGID.2" for its next. */
static void name_vms(struct gmem_snapshot *s)
{
	gmem_sort_array(s->vms, s->nr_vms, sizeof(*s->vms), cmp_vm);
	for (size_t i = 0, n = 1; i < s->nr_vms; i++) {
		struct gmem_vm_info *vm = &s->vms[i];

		n = i && s->vms[i - 1].v.tgid == vm->v.tgid ? n + 1 : 1;
		if (n == 1)
			snprintf(vm->name, sizeof(vm->name), "kvm-%u", vm->v.tgid);
		else
			snprintf(vm->name, sizeof(vm->name), "kvm-%u.%zu", vm->v.tgid, n);
	}
}

/* -p PID: only that process's VMs and their memslots. */
static void filter_vms(struct gmem_snapshot *s)
{
	size_t out = 0;

	for (size_t i = 0; i < s->nr_vms; i++)
		if (s->vms[i].v.tgid == s->filter.pid)
			s->vms[out++] = s->vms[i];
	s->nr_vms = out;
	out = 0;
	for (size_t i = 0; i < s->nr_memslots; i++)
		if (vm_index(s, s->memslots[i].m.kvm) >= 0)
			s->memslots[out++] = s->memslots[i];
	s->nr_memslots = out;
}

static bool is_filtered(const struct gmem_snapshot *s)
{
	return s->filter.pid || s->filter.cgroup_id;
}

/* Files: their VM, how they were created, and which are shared backing. */
static int join_files(struct gmem_snapshot *s)
{
	for (size_t i = 0; i < s->nr_gmem_files; i++) {
		const struct gmem_gmem_file *g = &s->gmem_files[i].f;
		struct gmem_file *f = is_filtered(s)
			? (struct gmem_file *)gmem_snapshot_find_file(s, g->dev, g->ino)
			: gmem_snapshot_file_of(s, g->dev, g->ino);

		if (!f) {
			if (is_filtered(s))
				continue;
			return -ENOMEM;
		}
		f->kvm = g->kvm;
		f->lifecycle = true;
		f->gmem_flags = g->flags;
		f->created_ns = g->created_ns;
		if (!f->size)
			f->size = g->size;
		if (!f->owner_tgid) {
			f->owner_tgid = g->tgid;
			f->owner_fd = g->fd;
			memcpy(f->owner_comm, g->comm, GMEM_COMM_LEN);
		}
	}
	for (size_t i = 0; i < s->nr_owners; i++) {
		struct gmem_file *f = (struct gmem_file *)gmem_snapshot_find_file(
			s, s->owners[i].dev, s->owners[i].ino);

		if (f && !f->kvm)
			f->kvm = s->owners[i].kvm;
	}
	for (size_t i = 0; i < s->nr_files; i++) {
		struct gmem_file *f = &s->files[i];

		for (size_t m = 0; m < s->nr_memslots; m++) {
			const struct gmem_memslot *ms = &s->memslots[m].m;

			if (ms->backing_ino == f->ino && ms->backing_dev == f->dev && ms->backing_ino) {
				f->shared_backing = true;
				if (!f->kvm)
					f->kvm = ms->kvm;
			}
		}
		f->vm = vm_index(s, f->kvm);
	}
	return 0;
}

/* Does memslot 'ms' hold the folio?  Sets its gfn and kind. */
static bool memslot_holds(const struct gmem_memslot *ms, struct gmem_folio *f)
{
	if (ms->gmem_ino && ms->gmem_ino == f->ino && ms->gmem_dev == f->dev &&
	    f->index >= ms->gmem_pgoff && f->index - ms->gmem_pgoff < ms->npages) {
		f->gfn = ms->base_gfn + f->index - ms->gmem_pgoff;
		f->shared = false;
		return true;
	}
	if (ms->backing_ino && ms->backing_ino == f->ino && ms->backing_dev == f->dev &&
	    f->index >= ms->backing_pgoff && f->index - ms->backing_pgoff < ms->npages) {
		f->gfn = ms->base_gfn + f->index - ms->backing_pgoff;
		f->shared = true;
		return true;
	}
	return false;
}

static void count_pins(__u32 *folios, __u64 *pins, __u32 n)
{
	if (!n)
		return;
	(*folios)++;
	*pins += n;
}

static void join_folio(struct gmem_snapshot *s, struct gmem_folio *f)
{
	const struct gmem_file *file = gmem_snapshot_find_file(s, f->dev, f->ino);
	__u32 pins = gmem_folio_pins(f);

	f->memslot = -1;
	f->vm = file ? file->vm : -1;
	f->shared = file && file->shared_backing;
	for (size_t m = 0; m < s->nr_memslots; m++) {
		struct gmem_memslot_info *ms = &s->memslots[m];

		if (!memslot_holds(&ms->m, f))
			continue;
		f->memslot = (int)m;
		f->vm = ms->vm;
		if (f->shared)
			count_pins(&ms->shared_folios, &ms->shared_pins, pins);
		else
			count_pins(&ms->gmem_folios, &ms->gmem_pins, pins);
		break;
	}
	if (f->vm < 0)
		return;
	if (f->shared)
		count_pins(&s->vms[f->vm].shared_folios, &s->vms[f->vm].shared_pins, pins);
	else
		count_pins(&s->vms[f->vm].gmem_folios, &s->vms[f->vm].gmem_pins, pins);
}

int gmem_snapshot_join_vms(struct gmem_snapshot *s)
{
	int err;

	if (s->filter.pid)
		filter_vms(s);
	name_vms(s);
	for (size_t m = 0; m < s->nr_memslots; m++) {
		struct gmem_memslot_info *ms = &s->memslots[m];

		ms->vm = vm_index(s, ms->m.kvm);
		if (ms->vm >= 0)
			s->vms[ms->vm].nr_memslots++;
	}
	err = join_files(s);
	if (err)
		return err;
	for (size_t i = 0; i < s->nr_files; i++) {
		const struct gmem_file *f = &s->files[i];

		if (f->vm < 0)
			continue;
		if (!f->shared_backing)
			s->vms[f->vm].nr_files++;
		s->vms[f->vm].untracked_pins += f->untracked_pins;
	}
	for (size_t i = 0; i < s->nr_folios; i++)
		join_folio(s, &s->folios[i]);
	return 0;
}
