#!/bin/sh
# A forced loss gives gmem-check's exit 2 (inconclusive), never 0 or 1: a
# folio table too small for the pins (any kernel with host-mappable
# guest_memfd), and a ring buffer too small for the conversions
# (testkernel).  The loss is counted in the JSON report.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/check.sh"

check_vmm map_full '256 memfd default' 'pin-gmem-uring 0 200\npunch 0 200\nunpin-uring\nquit\n' --max-folios 16
[ "$RC" = 4 ] && skip "gmem-check: $(sed -n 1p "$T/map_full.err")"
skip_if_vmm_skipped map_full
cat "$T/map_full.err"
expect_rc map_full 2
got=$(jq -r '.counts.lost > 0 and (.reasons | map(select(test("lost"))) | length) == 1' "$T/map_full.json")
[ "$got" = true ] || fail "--max-folios 16: the loss is not counted in the report"
grep -q '<error type="inconclusive"' "$T/map_full.xml" || fail "JUnit: no inconclusive error"
info "200 pins into a 16-folio table: exit 2, loss counted"

gmem-check --require-conversions -- true 2>/dev/null
[ $? = 0 ] || { info "no conversions on this kernel: ring buffer part not run"; exit 0; }
check_vmm rb_full 64 'slot 0 0 64\nconvert-loop 0 16 2000\nquit\n' --buffer 4096
skip_if_vmm_skipped rb_full
expect_rc rb_full 2
got=$(jq -r '.counts | "\(.lost > 0) \(.to_private + .to_shared < 2000)"' "$T/rb_full.json")
[ "$got" = "true true" ] || fail "--buffer 4096: lost>0 / conversions missing: '$got'"
info "2000 conversions into a 4 KiB ring buffer: exit 2, $(jq .counts.lost "$T/rb_full.json") lost"
