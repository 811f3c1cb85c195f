/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel's own counts: walks the page cache of every guest_memfd file
 * open in some process and reads each folio's reference and pin counts
 * (bpf/scan.bpf.c).  Needs no tracking, so it also sees pins taken before
 * any tool started.
 */
#ifndef GMEM_SCAN_H
#define GMEM_SCAN_H

#include "lib/kernel.h"
#include "lib/model.h"

struct gmem_vmtracker;

struct gmem_scanner_opts {
	__u32 filter_tgid;   /* only files held by this process (0: all) */
	__u32 ringbuf_bytes; /* 0: default; a power of two, >= page size */
	/* shares its shared-backing maps (NULL: none, memslots' backing is not tracked) */
	const struct gmem_vmtracker *vmtracker;
};

struct gmem_scanner;

int gmem_scanner_open(struct gmem_scanner **out, const struct gmem_kernel *k,
		      const struct gmem_scanner_opts *opts);
/* One walk; adds files and notable folios (and the scan counters) to 's'. */
int gmem_scanner_run(struct gmem_scanner *sc, struct gmem_snapshot *s);
void gmem_scanner_close(struct gmem_scanner *sc);

#endif
