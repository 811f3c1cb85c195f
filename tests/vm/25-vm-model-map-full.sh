#!/bin/sh
# The VM model's maps are bounded: with room for one memslot, a VM's
# second memslot is not recorded, and that loss is counted
# (lost_model_map_full) and makes every snapshot incomplete, never a
# silently shorter list.
. "$(dirname "$0")/lib/common.sh"
command -v gmem-vmm >/dev/null || fail "gmem-vmm is not in the VM (pass it with -p)"

start_gmemtop --max-memslots 1
start_vmm 64
pinner slot 0 0 16 0
pinner slot 1 64 16 16
fresh_snapshot "$T/snap.json"
got=$(jq -r '"\(.complete) \(.stats.lost_model_map_full > 0) \(.stats.lost > 0)"' "$T/snap.json")
[ "$got" = "false true true" ] ||
	fail "complete/lost_model_map_full>0/lost>0 '$got', expected 'false true true': $(jq -c .stats "$T/snap.json")"
got=$(jq -r "[.vms[] | select(.pid == $PINNER_PID) | .memslots[]] | length" "$T/snap.json")
info "with --max-memslots 1: loss counted: $(jq -c '.stats.lost_model_map_full' "$T/snap.json")"
# the scan still finds both (the one the map lost shows as not seen created)
[ "$got" = 2 ] || fail "$got memslots shown, the VM has 2 (the scan finds every one)"
echo "PASS: a full memslot map is counted as lost and marks snapshots incomplete"
