// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/tracker.h"

#include "lib/bpfutil.h"
#include "lib/log.h"
#include "pins.skel.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct gmem_tracker {
	struct gmem_pins *skel;
};

/* The kernel functions the programs attach to. */
static const char *const attach_funcs[] = {
	"try_grab_folio",      /* fexit: slow-path FOLL_PIN/FOLL_GET grabs */
	"try_grab_folio_fast", /* fexit: lockless fast-path grabs */
	"gup_put_folio",       /* fentry: every FOLL_PIN release */
};

static int check_kernel(const struct gmem_kernel *k)
{
	int missing = 0;

	for (size_t i = 0; i < sizeof(attach_funcs) / sizeof(attach_funcs[0]); i++) {
		if (gmem_kernel_has_func(k, attach_funcs[i]))
			continue;
		gmem_err("cannot track pins: %s() is not in this kernel's BTF "
			 "(renamed or inlined in %s)", attach_funcs[i], k->release);
		missing++;
	}
	if (!k->foll_pin || !k->foll_get) {
		gmem_err("cannot track pins: FOLL_PIN/FOLL_GET are not in this kernel's BTF");
		missing++;
	}
	return missing ? -ENOENT : 0;
}

int gmem_tracker_start(struct gmem_tracker **out, const struct gmem_kernel *k,
		       const struct gmem_tracker_opts *opts)
{
	struct gmem_tracker *t;
	int err;

	*out = NULL;
	err = check_kernel(k);
	if (err)
		return err;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->skel = gmem_pins__open();
	if (!t->skel) {
		err = -errno;
		gmem_err("failed to open pins BPF object: %s", strerror(errno));
		goto fail;
	}
	t->skel->rodata->foll_pin = k->foll_pin;
	t->skel->rodata->foll_get = k->foll_get;
	t->skel->rodata->foll_longterm = k->foll_longterm;
	t->skel->rodata->filter_tgid = opts->filter_tgid;
	if (opts->max_folios)
		bpf_map__set_max_entries(t->skel->maps.folio_pins, opts->max_folios);

	err = gmem_pins__load(t->skel);
	if (err) {
		gmem_err("failed to load pins BPF object: %s (%s)", strerror(-err),
			 gmem_kernel_explain_errno(err));
		goto fail;
	}
	err = gmem_bpf_attach_all(t->skel->skeleton);
	if (err)
		goto fail;
	*out = t;
	return 0;
fail:
	gmem_tracker_stop(t);
	return err;
}

int gmem_tracker_read(struct gmem_tracker *t, struct gmem_snapshot *s)
{
	int fd = bpf_map__fd(t->skel->maps.folio_pins);
	__u64 key, next, *prev = NULL;
	struct gmem_folio_pins v;
	int err;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue; /* deleted meanwhile: its last pin was released */
		if (v.pins == GMEM_PINS_DEAD)
			continue;
		err = gmem_snapshot_add_tracked(s, key, &v);
		if (err)
			return err;
	}
	s->tracking = true;
	return gmem_bpf_sum_stats(bpf_map__fd(t->skel->maps.stats), &s->stats);
}

void gmem_tracker_stop(struct gmem_tracker *t)
{
	if (!t)
		return;
	gmem_pins__destroy(t->skel);
	free(t);
}
