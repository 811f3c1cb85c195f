#!/bin/sh
# gmem-check on memory discarded under a pin (any kernel with host-mappable
# guest_memfd, no conversions needed): guest_memfd pages pinned through
# their host mapping with an io_uring fixed buffer and punched out, or the
# guest_memfd released (fd closed, mapping gone), give exit 1 naming the
# holder; unregistering first gives exit 0.  So does a memslot's memfd
# shared backing punched out under io_uring pins (a VMM discarding pages).
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
grep -Eq "punch_hole at \+[0-9.]+s by gmem-vmm" "$T/punch.err" || fail "the summary does not name the punch"
info "a hole punched under io_uring pins: exit 1, 4 folios, pid $vmm"

check_vmm punch_free '64 memfd default' 'pin-gmem-uring 4 4\nunpin-uring\npunch 4 4\nquit\n'
expect_rc punch_free 0
info "unpinned before the punch: exit 0"
# a punch next to the pins touches none of them
check_vmm punch_beside '64 memfd default' 'pin-gmem-uring 4 4\npunch 8 4\nunpin-uring\nquit\n'
expect_rc punch_beside 0
info "a punch beside the pinned pages: exit 0"

check_vmm release '64 memfd default' 'pin-gmem-uring 4 4\nunmap-gmem\nclose-gmem\nunpin-uring\nquit\n'
expect_rc release 1
got=$(jq -r '[.violations[] | select(.event.kind == "file_release" and .memory == "guest_memfd"
	and .holder.api == "io_uring" and .first_page >= 4 and .first_page < 8)] | length' "$T/release.json")
[ "$got" = 4 ] || { cat "$T/release.err"; fail "guest_memfd released under pins: $got of 4 violations"; }
info "the guest_memfd released under io_uring pins: exit 1, 4 folios"

check_vmm backing '64 memfd default' 'slot 0 0 64\npin-uring 8 4\npunch-backing 8 4\nunpin-uring\nquit\n'
expect_rc backing 1
got=$(jq -r '[.violations[] | select(.event.kind == "punch_hole" and .memory == "shared_backing"
	and .holder.api == "io_uring" and .first_page >= 8 and .first_page < 12)] | length' "$T/backing.json")
[ "$got" = 4 ] || { cat "$T/backing.err"; fail "shared backing punched under pins: $got of 4 violations"; }
check_vmm backing_free '64 memfd default' 'slot 0 0 64\npin-uring 8 4\nunpin-uring\npunch-backing 8 4\nquit\n'
expect_rc backing_free 0
info "the memslot's memfd backing punched under io_uring pins: exit 1; unpinned first: exit 0"
