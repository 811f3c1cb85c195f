// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/refs.h"

#include "lib/bpfutil.h"
#include "lib/log.h"
#include "refs.skel.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct gmem_ref_tracker {
	struct gmem_refs *skel;
};

bool gmem_refs_supported(const struct gmem_kernel *k)
{
	/* every tracepoint has a btf_trace_<name> typedef in vmlinux BTF */
	return k->btf && btf__find_by_name_kind(k->btf, "btf_trace_page_ref_mod",
						BTF_KIND_TYPEDEF) > 0;
}

int gmem_refs_start(struct gmem_ref_tracker **out, __u32 filter_tgid, __u32 max_folios, int stacks_fd)
{
	struct gmem_ref_tracker *r = calloc(1, sizeof(*r));
	int err;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->skel = gmem_refs__open();
	if (!r->skel) {
		err = -errno;
		gmem_err("failed to open refs BPF object: %s", strerror(errno));
		goto fail;
	}
	r->skel->rodata->filter_tgid = filter_tgid;
	if (max_folios)
		bpf_map__set_max_entries(r->skel->maps.folio_refs, max_folios);
	err = stacks_fd >= 0 ? bpf_map__reuse_fd(r->skel->maps.pin_stacks, stacks_fd) : 0;
	if (err) {
		gmem_err("failed to share the stack map with the refs object: %s", strerror(-err));
		goto fail;
	}
	err = gmem_bpf_load_attach(r->skel->skeleton, "refs BPF object (page_ref_* tracepoints)",
				   NULL);
	if (err)
		goto fail;
	*out = r;
	return 0;
fail:
	gmem_refs_stop(r);
	return err;
}

int gmem_refs_read(struct gmem_ref_tracker *r, struct gmem_snapshot *s)
{
	int fd = bpf_map__fd(r->skel->maps.folio_refs);
	__u64 key, next, *prev = NULL;
	struct gmem_folio_refs v;
	struct gmem_stats st = {};
	int err;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		for (int i = 0; i < GMEM_REF_HOLDERS; i++) {
			if (!v.holder[i].refs)
				continue;
			err = gmem_snapshot_add_ref_holder(s, key, &v.holder[i]);
			if (err)
				return err;
		}
	}
	s->page_ref = true;
	err = gmem_bpf_sum_stats(bpf_map__fd(r->skel->maps.stats), &st);
	if (err)
		return err;
	/* kept apart from the pins' lost_recursion: a skipped run here loses
	 * at most an attribution, never a count (the surplus stays exact) */
	st.v[GMEM_STAT_REF_RECURSION_MISSED] = gmem_bpf_recursion_misses(r->skel->skeleton);
	for (int i = 0; i < GMEM_STAT_NR; i++)
		s->stats.v[i] += st.v[i];
	return 0;
}

/*
 * Does the kernel, as of snapshot 's', hold no extra reference on this
 * folio?  Then every holder recorded for it is stale: someone else
 * released its references (a release is matched only to the releasing
 * process's own holders).
 */
static bool surplus_gone(const struct gmem_snapshot *s, __u64 folio,
			 const struct gmem_folio_refs *v)
{
	const struct gmem_file *file;

	if (!s->scanned)
		return false;
	/* a reference taken since the snapshot began is not in it */
	for (int i = 0; i < GMEM_REF_HOLDERS; i++)
		if (v->holder[i].refs && v->holder[i].last_ns >= s->time_ns)
			return false;
	for (size_t i = 0; i < s->nr_folios; i++)
		if (s->folios[i].addr == folio)
			return s->folios[i].extra_refs == 0;
	/* not reported by a complete walk of its file: nothing extra */
	file = gmem_snapshot_find_file(s, v->dev, v->ino);
	return file && file->scanned && !file->truncated;
}

void gmem_refs_gc(struct gmem_ref_tracker *r, const struct gmem_snapshot *s)
{
	int fd = bpf_map__fd(r->skel->maps.folio_refs);
	__u64 key, next, *prev = NULL, *idle = NULL;
	size_t nr = 0, cap = 0;
	struct gmem_folio_refs v;

	/* collect first: deleting during the walk restarts it */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		bool held = false;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		for (int i = 0; i < GMEM_REF_HOLDERS; i++)
			held |= v.holder[i].refs != 0;
		if (held && !surplus_gone(s, key, &v))
			continue;
		if (nr == cap) {
			__u64 *n = realloc(idle, (cap = cap ? cap * 2 : 256) * sizeof(*n));

			if (!n)
				break;
			idle = n;
		}
		idle[nr++] = key;
	}
	/* a reference taken between the snapshot and the delete loses its
	 * holder: the kernel's surplus still shows it, as unattributed */
	for (size_t i = 0; i < nr; i++)
		bpf_map_delete_elem(fd, &idle[i]);
	free(idle);
}

void gmem_refs_stop(struct gmem_ref_tracker *r)
{
	if (!r)
		return;
	gmem_refs__destroy(r->skel);
	free(r);
}
