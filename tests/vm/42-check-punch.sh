#!/bin/sh
# gmem-check on hole punches (any kernel with host-mappable guest_memfd,
# no conversions needed): pinning guest_memfd pages through their host
# mapping with an io_uring fixed buffer and punching them out gives exit 1
# naming the holder; unregistering first gives exit 0.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/check.sh"

check_vmm punch '64 memfd default' 'pin-gmem-uring 4 4\npunch 4 4\nunpin-uring\nquit\n'
[ "$RC" = 4 ] && skip "gmem-check: $(sed -n 1p "$T/punch.err")"
skip_if_vmm_skipped punch
cat "$T/punch.err"
expect_rc punch 1
vmm=$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$T/punch.out")
got=$(jq -r "[.violations[] | select(.event.kind == \"punch_hole\" and .memory == \"guest_memfd\"
	and .holder.pid == $vmm and .holder.api == \"io_uring\" and .first_page >= 4 and .first_page < 8)] | length" "$T/punch.json")
[ "$got" = 4 ] || { jq -c '.violations[0]' "$T/punch.json"; fail "$got of 4 violations name the punch, io_uring and pid $vmm"; }
got=$(jq -r '"\(.punches.watched) \(.counts.punches)"' "$T/punch.json")
[ "$got" = "true 1" ] || fail "punches watched/count '$got', expected 'true 1'"
grep -q "punch_hole by gmem-vmm" "$T/punch.err" || fail "the summary does not name the punch"
info "a hole punched under io_uring pins: exit 1, 4 folios, pid $vmm"

check_vmm punch_free '64 memfd default' 'pin-gmem-uring 4 4\nunpin-uring\npunch 4 4\nquit\n'
expect_rc punch_free 0
info "unpinned before the punch: exit 0"
# a punch next to the pins touches none of them
check_vmm punch_beside '64 memfd default' 'pin-gmem-uring 4 4\npunch 8 4\nunpin-uring\nquit\n'
expect_rc punch_beside 0
info "a punch beside the pinned pages: exit 0"
