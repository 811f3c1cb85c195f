#!/bin/sh
# iommufd (CONFIG_IOMMUFD_TEST, testkernel): IOMMU_IOAS_MAP of guest_memfd
# memory into an IOAS with iommufd's mock domain attached pins every page
# long-term through iommufd's pages.c, exactly as for a VFIO device bound to
# iommufd.  Counts equal the kernel's, folio by folio; the pins are the
# pinner's, API iommufd, stack through pages.c; IOMMU_IOAS_UNMAP (released
# by unpin_user_page_range_dirty_lock) takes them back to 0.
. "$(dirname "$0")/lib/common.sh"

[ -c /dev/iommu ] || skip "no /dev/iommu (needs CONFIG_IOMMUFD)"
N=40
start_pinner 8
start_gmemtop
if ! pinner_try pin-iommufd 20 $N; then
	case "$REPLY" in
	*MOCK_DOMAIN*) skip "iommufd has no test mock (needs CONFIG_IOMMUFD_TEST): $REPLY" ;;
	*) fail "pin-iommufd: $REPLY" ;;
	esac
fi
fresh_snapshot "$T/snap.json"
check_pins $N "$T/snap.json" || fail "iommufd: counts differ"
check_api "$T/snap.json" iommufd "pfn_reader_|iopt_" || fail "iommufd: attribution"
pinner unpin-iommufd
fresh_snapshot "$T/snap.json"
check_pins 0 "$T/snap.json" || fail "iommufd: pins remain after IOMMU_IOAS_UNMAP"
got=$(jq -r '"\(.stats.pins - .stats.unpins) \(.stats.unpins_untracked)"' "$T/snap.json")
[ "$got" = "0 0" ] || fail "pins-unpins / unpins_untracked = '$got'"
echo "PASS: iommufd IOAS pins of guest memory counted, attributed to iommufd, released"
