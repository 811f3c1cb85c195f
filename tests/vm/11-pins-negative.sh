#!/bin/sh
# The pin test can fail: with the tracking programs not attached
# (gmemtop --scan-only), the same checks must report a mismatch, while the
# kernel's own count still sees the pins.
. "$(dirname "$0")/lib/common.sh"

start_pinner 8
start_gmemtop --scan-only
pinner pin-uring 0 64
fresh_snapshot "$T/snap.json"
if check_pins 64 "$T/snap.json" >"$T/check.out"; then
	cat "$T/check.out"
	fail "the pin check passed without tracking: it cannot fail"
fi
cat "$T/check.out"
grep -q 'gmemtop tracked null pins' "$T/check.out" ||
	fail "the check failed, but not on the tracked count"
grep -q 'kernel counts' "$T/check.out" &&
	fail "the kernel's own count should still be right without tracking"
echo "PASS: without tracking the pin check fails on the tracked count only"
