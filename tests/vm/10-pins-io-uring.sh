#!/bin/sh
# io_uring fixed buffers pin exactly N guest_memfd pages (1, 64, and 600 =
# 2.3 MiB): gmemtop -b -j reports exactly N pinned folios on that file,
# attributed to the pinning process, equal to the kernel's own count read
# off each folio; after the buffers are unregistered it reports 0.
. "$(dirname "$0")/lib/common.sh"

start_pinner 8
start_gmemtop
rc=0
for n in 1 64 600; do
	info "pinning $n pages"
	pin_cycle "$n" 7 || rc=1
done
[ $rc = 0 ] || fail "gmemtop's counts differ from the workload's or the kernel's"
echo "PASS: exact pin counts for 1, 64 and 600 pages, and 0 after unpin"
