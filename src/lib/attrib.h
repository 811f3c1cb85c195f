/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which kernel API took a pin, told from the symbols of its stack. */
#ifndef GMEM_ATTRIB_H
#define GMEM_ATTRIB_H

enum gmem_api {
	GMEM_API_OTHER,
	GMEM_API_IO_URING,  /* fixed buffers (io_sqe_buffer_register) */
	GMEM_API_O_DIRECT,  /* direct I/O (iov_iter_extract_pages, iomap/blkdev dio) */
	GMEM_API_VFIO,      /* VFIO type1 and iommufd */
	GMEM_API_VHOST,     /* vhost, vhost-vdpa */
	GMEM_API_KVM,       /* KVM's own maps of guest pages */
	GMEM_API_GUP_TEST,  /* /sys/kernel/debug/gup_test */
	GMEM_API_VMSPLICE,  /* vmsplice(2) into a pipe */
	GMEM_API_NR,
};

/* frames: function names, innermost first (as bpf_get_stackid gives) */
enum gmem_api gmem_classify_api(const char *const *frames, int nr);
const char *gmem_api_name(enum gmem_api api);

#endif
