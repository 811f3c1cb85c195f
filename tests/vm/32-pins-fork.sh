#!/bin/sh
# A fork of a process that maps guest memory maps it too.  gmemtop looks at
# an outer GUP call only on an mm known to map guest memory (the VM's, a
# guest_memfd mmap's, a fork's): a child that pins through the mapping it
# inherited must be seen: its 32 io_uring pins counted exactly at the
# addresses of that mapping (a call gmemtop did not look at leaves only its
# slow path's grabs, which have no address), attributed to the child, and
# released to 0 with nothing lost.
. "$(dirname "$0")/lib/common.sh"

start_pinner 8
start_gmemtop
pinner addr
base=${REPLY#ok base=}
pinner fork-pin-uring 16 32
child=${REPLY#ok child=}
child=${child%% *}
[ -n "$child" ] && [ "$child" != "$PINNER_PID" ] || fail "no child pid in '$REPLY'"
fresh_snapshot "$T/snap.json"
parent=$PINNER_PID
PINNER_PID=$child
check_pins 32 "$T/snap.json" || fail "the child's pins: counts differ"
check_api "$T/snap.json" io_uring "^io_sqe_buffer_register" || fail "the child's pins: attribution"
check_addresses "$T/snap.json" "$GMEM_INO" "$base" 32 "the child's io_uring pins"
PINNER_PID=$parent
pinner fork-unpin
fresh_snapshot "$T/snap.json"
check_pins 0 "$T/snap.json" || fail "pins remain after the child unregistered and exited"
echo "PASS: a forked child's pins on inherited guest memory counted, attributed and released"
