#!/bin/sh
# The kprobe fallback tracks pins exactly as fentry/fexit does.  One
# gmemtop --attach kprobe (the kprobe/kretprobe twins in the same objects,
# as on a kernel without BPF trampolines) must count, equal to the kernel's
# own per-folio counts and the workload's, and attribute: io_uring fixed
# buffers (64 pages, as test 10: the fexit twins are kretprobes with
# stashed arguments) and O_DIRECT (as 14: unpin_user_page() tail-calls
# gup_put_folio(), each unpin counted once; in flight on a slow null_blk,
# released in interrupt context).  Every snapshot says "attach": "kprobe"
# and loses nothing.  29-kprobe-fallback-vm does gup_test and the VM model.
# Whole tests can be rerun the same way:
#   GMEMTOP_ARGS="--attach kprobe" GMEMTOP_ATTACH=kprobe sh tests/vm/10-...
. "$(dirname "$0")/lib/common.sh"

# ground truth for "kprobes work here": the kernel's config
cfg=/boot/config-$(uname -r)
for opt in CONFIG_KPROBES CONFIG_KPROBE_EVENTS CONFIG_KRETPROBES; do
	[ -r "$cfg" ] && ! grep -q "^$opt=y" "$cfg" && skip "$opt is not set"
done

GMEMTOP_ARGS="--attach kprobe" GMEMTOP_ATTACH=kprobe
start_pinner 8
start_gmemtop

# io_uring fixed buffers
pinner pin-uring 7 64
fresh_snapshot "$T/snap.json"
check_pins 64 "$T/snap.json" || fail "io_uring: counts differ"
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
slow=$(cat /sys/module/null_blk/parameters/completion_nsec 2>/dev/null || echo 0)
if [ -b /dev/nullb0 ] && [ "$slow" -ge 3000000000 ]; then
	pinner odirect /dev/nullb0 read 0 200 32 async
	fresh_snapshot "$T/snap.json"
	EXPECT_PROC='(gmem-pinner|iou-wrk-[0-9]+) false' check_pins 32 "$T/snap.json" ||
		fail "O_DIRECT in flight: counts differ"
	got=$(jq -r "[.folios[] | select(.ino == $GMEM_INO and (.tracked.pins // 0) > 0) | .tracked.api] | unique | join(\",\")" "$T/snap.json")
	[ "$got" = o_direct ] || fail "O_DIRECT pins attributed to '$got'"
	pinner odirect-wait
	fresh_snapshot "$T/snap.json"
	check_pins 0 "$T/snap.json" || fail "O_DIRECT: pins remain after the slow read completed"
	info "O_DIRECT in flight: 32 pins, api o_direct, released at completion"
fi

got=$(jq -r '"\(.stats.pins - .stats.unpins) \(.stats.unpins_untracked) \(.stats.lost)"' "$T/snap.json")
[ "$got" = "0 0 0" ] || fail "pins-unpins / unpins_untracked / lost = '$got'"
echo "PASS: --attach kprobe: io_uring and O_DIRECT pins exact, attributed, nothing lost"
