#!/bin/sh
# gmem-check on conversions (testkernel: KVM_X86_SW_PROTECTED_VM): a VMM
# pins the shared backing of gfns 8-11 with an io_uring fixed buffer and
# converts them to private; gmem-check exits 1 and names the process, the
# API, the gfns and the stack.  Unregistering the buffer first, or a grace
# period longer than the pin outlives the conversion, or --allow io_uring,
# each give exit 0.  Ground truth: the scenario's own commands.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/check.sh"

require_conversions
check_vmm pinned 64 'slot 0 0 64\npin-uring 8 4\nconvert 8 4 private\nunpin-uring\nquit\n'
skip_if_vmm_skipped pinned
cat "$T/pinned.err"
expect_rc pinned 1
got=$(jq -r '.counts | "\(.to_private) \(.violations)"' "$T/pinned.json")
[ "$got" = "1 4" ] || fail "to_private/violations '$got', expected '1 4'"
vmm=$(jq -r '.violations[0].event.pid' "$T/pinned.json")
got=$(jq -r "[.violations[] | select(.event.kind == \"to_private\" and .memory == \"shared_backing\"
	and .holder.pid == $vmm and .holder.comm == \"gmem-vmm\" and .holder.api == \"io_uring\"
	and .holder.longterm and .still_held == false and .released_after_ns > 0
	and .nr_gfns == 1 and .first_gfn >= 8 and .first_gfn < 12
	and ([.holder.stack[] | select(startswith(\"io_sqe_buffer_register\"))] | length) == 1)
	| .first_gfn] | sort | map(tostring) | join(\",\")" "$T/pinned.json")
[ "$got" = "8,9,10,11" ] || { jq -c '.violations[0]' "$T/pinned.json";
	fail "violations on gfns '$got' naming gmem-vmm, io_uring and io_sqe_buffer_register; expected 8,9,10,11"; }
grep -q "via io_uring" "$T/pinned.err" || fail "the summary does not name io_uring"
grep -q "gfn 0x8-0xb (shared_backing, pages 8-11)" "$T/pinned.err" || fail "the summary does not name gfns 0x8-0xb"
grep -q '<failure type="violation" message="4 pinned folios">' "$T/pinned.xml" ||
	fail "JUnit: no failure for the 4 pinned folios"
info "pinned across a conversion: exit 1, 4 folios on gfns 8-11, io_uring by gmem-vmm pid $vmm"

check_vmm unpinned 64 'slot 0 0 64\npin-uring 8 4\nunpin-uring\nconvert 8 4 private\nquit\n'
skip_if_vmm_skipped unpinned
expect_rc unpinned 0
got=$(jq -r '.counts | "\(.to_private) \(.violations) \(.pin_episodes)"' "$T/unpinned.json")
[ "$got" = "1 0 4" ] || fail "unpinned first: to_private/violations/episodes '$got', expected '1 0 4'"
info "unpinned before the conversion: exit 0"

check_vmm grace 64 'slot 0 0 64\npin-uring 8 4\nconvert 8 4 private\nunpin-uring\nquit\n' --grace 60000
expect_rc grace 0
got=$(jq -r '.counts | "\(.violations) \(.within_grace)"' "$T/grace.json")
[ "$got" = "0 4" ] || fail "--grace 60000: violations/within_grace '$got', expected '0 4'"
info "released within --grace: exit 0"

check_vmm allowed 64 'slot 0 0 64\npin-uring 8 4\nconvert 8 4 private\nunpin-uring\nquit\n' --allow io_uring
expect_rc allowed 0
got=$(jq -r '.counts | "\(.violations) \(.allowed)"' "$T/allowed.json")
[ "$got" = "0 4" ] || fail "--allow io_uring: violations/allowed '$got', expected '0 4'"
check_vmm allowed_stack 64 'slot 0 0 64\npin-uring 8 4\nconvert 8 4 private\nunpin-uring\nquit\n' --allow 'io_sqe_buffer_*'
expect_rc allowed_stack 0
info "--allow io_uring and --allow 'io_sqe_buffer_*': exit 0"

# still pinned when the VMM exits: the end of the process releases it
check_vmm held 64 'slot 0 0 64\npin-uring 8 2\nconvert 8 2 private\nquit\n'
expect_rc held 1
got=$(jq -r '[.violations[] | select(.holder.api == "io_uring")] | length' "$T/held.json")
[ "$got" = 2 ] || fail "pins released only at exit: $got violations, expected 2"
# converting to shared is no violation
check_vmm to_shared 64 'slot 0 0 64\nconvert 8 4 private\npin-uring 8 4\nconvert 8 4 shared\nunpin-uring\nquit\n'
expect_rc to_shared 0
got=$(jq -r '.counts | "\(.to_private) \(.to_shared) \(.violations)"' "$T/to_shared.json")
[ "$got" = "1 1 0" ] || fail "private then shared: '$got', expected '1 1 0'"
info "pinned at exit: exit 1; a conversion to shared: exit 0"

# the VMM discards the converted pages of its memfd (as QEMU does): the
# pins are held at the conversion and at the discard, two events each
check_vmm discard 64 'slot 0 0 64\npin-uring 8 4\nconvert 8 4 private\npunch-backing 8 4\nunpin-uring\nquit\n'
expect_rc discard 1
got=$(jq -r '[.violations[] | "\(.event.kind):\(.memory)"] | group_by(.) | map("\(.[0])=\(length)") | join(" ")' "$T/discard.json")
[ "$got" = "punch_hole:shared_backing=4 to_private:shared_backing=4" ] ||
	fail "convert then discard under pins: '$got'"
info "converted, then discarded under pins: 4 violations at each"
