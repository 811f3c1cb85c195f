#!/bin/sh
# io_uring fixed buffers pin exactly N guest_memfd pages (1, 64, and 600 =
# 2.3 MiB): gmemtop -b -j reports exactly N pinned folios on that file,
# attributed to the pinning process and to io_uring, with a kernel stack
# through io_uring's buffer registration, equal to the kernel's own count
# read off each folio; after the buffers are unregistered it reports 0.
. "$(dirname "$0")/lib/common.sh"

start_pinner 8
start_gmemtop
attribution() { # SNAPSHOT: every pinned folio names io_uring and its caller
	local bad
	bad=$(jq -r "[.folios[] | select(.ino == $GMEM_INO and (.tracked.pins // 0) > 0)
		| select(.tracked.api != \"io_uring\" or
			 ([.tracked.stack[]? | select(startswith(\"io_sqe_buffer_register+\"))] | length) == 0)]
		| length" "$1")
	[ "$bad" = 0 ] || { echo "mismatch: $bad pinned folios not attributed to io_uring's registration"; return 1; }
	jq -e ".processes[] | select(.pid == $PINNER_PID) | .apis == [\"io_uring\"]" "$1" >/dev/null ||
		{ echo "mismatch: process $PINNER_PID apis: $(jq -c .processes "$1")"; return 1; }
	info "attributed to io_uring: $(jq -c "[.folios[] | select(.ino == $GMEM_INO)][0].tracked.stack[0:4]" "$1")"
}

rc=0
pinner pin-uring 3 5
fresh_snapshot "$T/snap.json"
attribution "$T/snap.json" || rc=1
pinner unpin-uring
for n in 1 64 600; do
	info "pinning $n pages"
	pin_cycle "$n" 7 || rc=1
done
[ $rc = 0 ] || fail "gmemtop's counts differ from the workload's or the kernel's"
echo "PASS: exact pin counts for 1, 64 and 600 pages, and 0 after unpin"
