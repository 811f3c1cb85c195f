#!/bin/sh
# The kprobe fallback tracks pins exactly as fentry/fexit does.  One
# gmemtop --attach kprobe (the kprobe/kretprobe twins in the same objects,
# as on a kernel without BPF trampolines) must count, equal to the kernel's
# own per-folio counts and the workload's, and attribute: io_uring fixed
# buffers (64 pages, as test 10: the fexit twins are kretprobes with
# stashed arguments; each pin at the user address the outer call's page
# array says, as 31 checks with fentry/fexit) and O_DIRECT (as 14: each
# unpin counted once; in flight on a slow null_blk, released in interrupt
# context).  Every snapshot says "attach": "kprobe"
# and loses nothing.  29-kprobe-fallback-vm does gup_test and the VM model.
# Whole tests can be rerun the same way:
#   GMEMTOP_ARGS="--attach kprobe" GMEMTOP_ATTACH=kprobe sh tests/vm/10-...
. "$(dirname "$0")/lib/common.sh"

use_kprobes
start_pinner 8
start_gmemtop
pinner addr
base=${REPLY#ok base=}

# io_uring fixed buffers
pinner pin-uring 7 64
fresh_snapshot "$T/snap.json"
check_pins 64 "$T/snap.json" || fail "io_uring: counts differ"
check_addresses "$T/snap.json" "$GMEM_INO" "$base" 64 "io_uring, kprobes"
check_api "$T/snap.json" io_uring "^io_sqe_buffer_register" || fail "io_uring: attribution"
pinner unpin-uring
fresh_snapshot "$T/snap.json"
check_pins 0 "$T/snap.json" || fail "io_uring: pins remain after unregistering"

# O_DIRECT
dir=${GMEM_SCRATCH_DIR:-}
if [ -n "$dir" ] && [ -d "$dir" ] && dd if=/dev/zero of="$dir/odirect.img" bs=1M count=1 2>/dev/null; then
	pinner odirect "$dir/odirect.img" write 0 0 64
	pinner odirect "$dir/odirect.img" read 0 64 64
	fresh_snapshot "$T/snap.json"
	check_pins 0 "$T/snap.json" || fail "O_DIRECT: pins remain after completion"
	got=$(jq -r '"\(.stats.pins >= 128) \(.stats.pins - .stats.unpins) \(.stats.unpins_untracked)"' "$T/snap.json")
	[ "$got" = "true 0 0" ] || fail "O_DIRECT: pins>=128 / pins-unpins / unpins_untracked = '$got': $(jq -c .stats "$T/snap.json")"
	info "2 O_DIRECT I/Os of 64 pages: every pin seen released once"
else
	info "no scratch filesystem: synchronous O_DIRECT not run"
fi
odirect_in_flight || true

got=$(jq -r '"\(.stats.pins - .stats.unpins) \(.stats.unpins_untracked) \(.stats.lost)"' "$T/snap.json")
[ "$got" = "0 0 0" ] || fail "pins-unpins / unpins_untracked / lost = '$got'"
echo "PASS: --attach kprobe: io_uring and O_DIRECT pins exact, attributed, nothing lost"
