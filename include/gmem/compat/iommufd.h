/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The iommufd uAPI the test programs use: Debian bookworm's linux-libc-dev
 * (6.1) has no <linux/iommufd.h>.  Values from Linux 7.3's
 * include/uapi/linux/iommufd.h, and from drivers/iommu/iommufd/iommufd_test.h
 * for the CONFIG_IOMMUFD_TEST mock (never exported to userspace).
 */
#ifndef GMEM_COMPAT_IOMMUFD_H
#define GMEM_COMPAT_IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define GMEM_IOMMUFD_TYPE (';')
#define GMEM_IOMMUFD_CMD_BASE 0x80

struct gmem_iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define GMEM_IOMMU_IOAS_ALLOC _IO(GMEM_IOMMUFD_TYPE, GMEM_IOMMUFD_CMD_BASE + 1)

#define GMEM_IOMMU_IOAS_MAP_FIXED_IOVA (1u << 0)
#define GMEM_IOMMU_IOAS_MAP_WRITEABLE (1u << 1)
#define GMEM_IOMMU_IOAS_MAP_READABLE (1u << 2)
struct gmem_iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__u64 user_va;
	__u64 length;
	__u64 iova;
};
#define GMEM_IOMMU_IOAS_MAP _IO(GMEM_IOMMUFD_TYPE, GMEM_IOMMUFD_CMD_BASE + 5)

struct gmem_iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__u64 iova;
	__u64 length;
};
#define GMEM_IOMMU_IOAS_UNMAP _IO(GMEM_IOMMUFD_TYPE, GMEM_IOMMUFD_CMD_BASE + 6)

/*
 * IOMMU_TEST_CMD (CONFIG_IOMMUFD_TEST).  The kernel's struct ends in a union
 * whose size grows from release to release; it takes any size at least as
 * large as its own when the bytes past its end are zero, so the union is
 * padded generously here.
 */
#define GMEM_IOMMU_TEST_OP_MOCK_DOMAIN 2
#define GMEM_MOCK_APERTURE_START (1ull << 24)
struct gmem_iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		__u8 pad[248];
	};
	__u32 last;
	__u32 _pad;
};
#define GMEM_IOMMU_TEST_CMD _IO(GMEM_IOMMUFD_TYPE, GMEM_IOMMUFD_CMD_BASE + 32)

#endif
