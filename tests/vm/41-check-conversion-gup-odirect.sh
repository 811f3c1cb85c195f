#!/bin/sh
# gmem-check on conversions with the other long- and short-lived pinners of
# the shared backing: gup_test PIN_LONGTERM_TEST_START held across the
# conversion gives exit 1 naming gup_test, stopped before it exit 0; an
# O_DIRECT read still in flight (slow null_blk) gives exit 1 naming
# O_DIRECT, released only at its completion, after the conversion.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/check.sh"

require_conversions
[ -e /sys/kernel/debug/gup_test ] || skip "no gup_test (CONFIG_GUP_TEST: the testkernel)"
check_vmm gup 64 'slot 0 0 64\nfault 0 64\npin-gup-test 16 8\nconvert 16 8 private\nunpin-gup-test\nquit\n'
skip_if_vmm_skipped gup
expect_rc gup 1
got=$(jq -r '[.violations[] | select(.holder.api == "gup_test" and .holder.comm == "gmem-vmm"
	and .holder.longterm and .memory == "shared_backing")] | length' "$T/gup.json")
[ "$got" = 8 ] || { cat "$T/gup.err"; fail "gup_test across a conversion: $got of 8 violations name gup_test"; }
got=$(jq -r '[.violations[].first_gfn] | min' "$T/gup.json")
[ "$got" = 16 ] || fail "gup_test: first gfn $got, expected 16"
info "gup_test held across the conversion: exit 1, 8 folios, gfn 16-23"

check_vmm gup_stopped 64 'slot 0 0 64\nfault 0 64\npin-gup-test 16 8\nunpin-gup-test\nconvert 16 8 private\nquit\n'
expect_rc gup_stopped 0
info "gup_test stopped before the conversion: exit 0"

slow=$(cat /sys/module/null_blk/parameters/completion_nsec 2>/dev/null || echo 0)
if ! [ -b /dev/nullb0 ] || [ "$slow" -lt 3000000000 ]; then
	info "no slow null_blk here (completion_nsec=$slow): O_DIRECT in flight not run"
	exit 0
fi
check_vmm odirect 64 'slot 0 0 64\nfault 0 64\nodirect /dev/nullb0 read 0 32 4 async\nconvert 32 4 private\nodirect-wait\nquit\n'
skip_if_vmm_skipped odirect
expect_rc odirect 1
got=$(jq -r '[.violations[] | select(.holder.api == "o_direct" and .still_held == false
	and .released_after_ns > 1000000000)] | length' "$T/odirect.json")
[ "$got" = 4 ] || { cat "$T/odirect.err"; fail "O_DIRECT in flight: $got of 4 violations name o_direct, released over 1 s after"; }
info "O_DIRECT read in flight across the conversion: exit 1, 4 folios, released at completion"

check_vmm odirect_done 64 'slot 0 0 64\nfault 0 64\nodirect /dev/nullb0 read 0 32 4 async\nodirect-wait\nconvert 32 4 private\nquit\n'
expect_rc odirect_done 0
info "O_DIRECT completed before the conversion: exit 0"
