#!/bin/sh
# iommufd (CONFIG_IOMMUFD_TEST, testkernel): IOMMU_IOAS_MAP of guest_memfd
# memory into an IOAS with iommufd's mock domain attached pins every page
# long-term through iommufd's pages.c, exactly as for a VFIO device bound to
# iommufd.  Counts equal the kernel's, folio by folio; the pins are the
# pinner's, API iommufd, stack through pages.c; IOMMU_IOAS_UNMAP (released
# by unpin_user_page_range_dirty_lock) takes them back to 0.
. "$(dirname "$0")/lib/common.sh"

[ -c /dev/iommu ] || skip "no /dev/iommu (needs CONFIG_IOMMUFD built in or its module loaded, and CONFIG_IOMMUFD_TEST for the mock)"
start_pinner 8
start_gmemtop
device_pin_cycle pin-iommufd unpin-iommufd 20 40 iommufd "pfn_reader_|iopt_" MOCK_DOMAIN
echo "PASS: iommufd IOAS pins of guest memory counted, attributed to iommufd, released"
