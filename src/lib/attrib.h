/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which kernel API took a pin, told from the symbols of its stack. */
#ifndef GMEM_ATTRIB_H
#define GMEM_ATTRIB_H

#include <stdbool.h>

enum gmem_api {
	GMEM_API_OTHER,
	GMEM_API_IO_URING,  /* fixed buffers (io_sqe_buffer_register) */
	GMEM_API_O_DIRECT,  /* direct I/O (iov_iter_extract_pages, iomap/blkdev dio) */
	GMEM_API_VFIO,      /* VFIO type1 */
	GMEM_API_VHOST,     /* vhost (vhost-net, vhost-scsi, ...) */
	GMEM_API_KVM,       /* KVM's own maps of guest pages */
	GMEM_API_GUP_TEST,  /* /sys/kernel/debug/gup_test */
	GMEM_API_VMSPLICE,  /* vmsplice(2) into a pipe */
	GMEM_API_IOMMUFD,   /* iommufd IOAS mappings (VFIO cdev devices, vDPA, the test mock) */
	GMEM_API_VHOST_VDPA, /* vhost-vdpa VHOST_IOTLB_UPDATE */
	GMEM_API_MEMFD_PIN_FOLIOS, /* memfd_pin_folios() (udmabuf, iommufd file maps) */
	GMEM_API_KVM_VCPU_MAP, /* KVM maps a guest page for itself: __kvm_vcpu_map (kvm_vcpu_map up to 6.12) */
	GMEM_API_NR,
};

/* frames: function names, innermost first (as bpf_get_stackid gives) */
enum gmem_api gmem_classify_api(const char *const *frames, int nr);
const char *gmem_api_name(enum gmem_api api);
/* Whether a reference taken with this stack is the page cache's or a
 * mapping's own (not an extra reference). */
bool gmem_stack_is_cache_or_mapping(const char *const *frames, int nr);

#endif
