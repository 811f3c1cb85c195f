#!/bin/sh
# gup_test's long-term pins (CONFIG_GUP_TEST, testkernel): START pins a
# range through the slow and then the fast GUP path, STOP releases it with
# unpin_user_pages() (the array unpin path).  Counts equal the kernel's, the
# API is gup_test, and everything returns to zero.
. "$(dirname "$0")/lib/common.sh"

[ -e /sys/kernel/debug/gup_test ] || skip "no /sys/kernel/debug/gup_test (needs CONFIG_GUP_TEST)"
start_pinner 8
start_gmemtop
for mode in slow fast; do
	gup_test_cycle "$mode"
done
got=$(jq -r '"\(.stats.pins - .stats.unpins) \(.stats.unpins_untracked)"' "$T/snap.json")
[ "$got" = "0 0" ] || fail "pins-unpins / unpins_untracked = '$got'"
echo "PASS: gup_test long-term pins counted exactly, slow and fast path"
