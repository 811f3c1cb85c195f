#!/bin/sh
# gmem-check wrapping a VMM that makes 10,000 conversions with no pins:
# exit 0, every conversion seen, nothing lost.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/check.sh"

require_conversions
check_vmm many 64 'slot 0 0 64\nconvert-loop 0 16 10000\nquit\n'
skip_if_vmm_skipped many
cat "$T/many.err"
expect_rc many 0
got=$(jq -r '.counts | "\(.requests) \(.to_private) \(.to_shared) \(.lost) \(.violations)"' "$T/many.json")
[ "$got" = "10000 5000 5000 0 0" ] ||
	fail "requests/to_private/to_shared/lost/violations '$got', expected '10000 5000 5000 0 0'"
info "10,000 conversions: exit 0, all seen, none lost, in $(jq '.duration_ns / 1e9' "$T/many.json") s"
