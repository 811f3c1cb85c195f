// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/scan.h"

#include "lib/bpfutil.h"
#include "lib/log.h"
#include "lib/vmtracker.h"
#include "scan.skel.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct gmem_scanner {
	struct gmem_scan *skel;
	struct ring_buffer *rb;
	struct gmem_snapshot *cur; /* the snapshot being filled */
	int err;                   /* first error of a record callback */
};

static int on_record(void *ctx, void *data, size_t len)
{
	struct gmem_scanner *sc = ctx;
	int err;

	if (!sc->cur)
		return 0; /* a walk being redone: its records are dropped */
	err = gmem_snapshot_add_scan_record(sc->cur, data, len);

	if (err && !sc->err)
		sc->err = err;
	return 0; /* keep draining: a bad record is counted, not fatal */
}

int gmem_scanner_open(struct gmem_scanner **out, const struct gmem_kernel *k,
		      const struct gmem_scanner_opts *opts)
{
	struct gmem_scanner *sc;
	int err;

	*out = NULL;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	sc->skel = gmem_scan__open();
	if (!sc->skel) {
		err = -errno;
		gmem_err("failed to open scan BPF object: %s", strerror(errno));
		goto fail;
	}
	sc->skel->rodata->filter_tgid = opts->filter_tgid;
	if (opts->ringbuf_bytes)
		bpf_map__set_max_entries(sc->skel->maps.scan_events, opts->ringbuf_bytes);
	/* registers pre-existing memslots' shared backing for the pin programs */
	err = gmem_vmtracker_share_maps(opts->vmtracker, sc->skel->obj);
	if (err)
		goto fail;
	err = gmem_bpf_load_attach(sc->skel->skeleton, "scan BPF object (iter/task_file)", NULL);
	if (err)
		goto fail;
	sc->rb = ring_buffer__new(bpf_map__fd(sc->skel->maps.scan_events), on_record, sc, NULL);
	if (!sc->rb) {
		err = -errno;
		gmem_err("failed to open the scan ring buffer: %s", strerror(errno));
		goto fail;
	}
	*out = sc;
	return 0;
fail:
	gmem_scanner_close(sc);
	return err;
}

/* Forget which files the previous walk saw. */
static void reset_seen(struct gmem_scanner *sc)
{
	int fd = bpf_map__fd(sc->skel->maps.seen_mappings);
	__u64 key;

	while (!bpf_map_get_next_key(fd, NULL, &key))
		if (bpf_map_delete_elem(fd, &key))
			break;
}

/* One walk of every task's files; its records wait in the ring buffer. */
static int walk(struct gmem_scanner *sc)
{
	char buf[256];
	ssize_t n;
	int fd, err;

	reset_seen(sc);
	fd = bpf_iter_create(bpf_link__fd(sc->skel->links.scan_task_file));
	if (fd < 0) {
		err = -errno;
		gmem_err("failed to start the guest_memfd scan: %s", strerror(errno));
		return err;
	}
	/* The program writes to the ring buffer, not to the seq file: read()
	 * only drives it to the end. */
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		gmem_err("guest_memfd scan failed: %s", strerror(-err));
	return err;
}

int gmem_scanner_run(struct gmem_scanner *sc, struct gmem_snapshot *s)
{
	ssize_t n;
	int err;

	err = walk(sc);
	/* A memslot's shared backing registered by this walk may belong to a
	 * file it had already passed (a memfd with a lower fd than its VM's):
	 * walk once more, so that the first snapshot has its pins too. */
	if (!err && sc->skel->bss->backings_registered) {
		sc->skel->bss->backings_registered = 0;
		sc->cur = NULL;
		ring_buffer__consume(sc->rb);
		err = walk(sc);
	}
	if (err)
		return err;
	sc->cur = s;
	sc->err = 0;
	n = ring_buffer__consume(sc->rb);
	sc->cur = NULL;
	if (n < 0) {
		gmem_err("failed to read the scan ring buffer: %s", strerror((int)-n));
		return (int)n;
	}
	s->scanned = true;
	return gmem_bpf_sum_stats(bpf_map__fd(sc->skel->maps.stats), &s->stats);
}

void gmem_scanner_close(struct gmem_scanner *sc)
{
	if (!sc)
		return;
	ring_buffer__free(sc->rb);
	gmem_scan__destroy(sc->skel);
	free(sc);
}
