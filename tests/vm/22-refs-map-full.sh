#!/bin/sh
# page_ref attribution with its folio map shrunk to 4 entries
# (--refs --max-ref-folios 4; CONFIG_DEBUG_PAGE_REF, testkernel): vmsplice takes
# one reference on each of 24 guest folios; 4 are attributed to the pinner,
# the other 20 are counted as refs_unrecorded, never silently dropped, and
# the kernel's surplus still shows all 24.
. "$(dirname "$0")/lib/common.sh"

gmemtop --probe -j 2>/dev/null |
	jq -e '.features[] | select(.feature == "extra-reference attribution (refs)") | .available' >/dev/null ||
	skip "no page_ref_* tracepoints to attribute references with (needs CONFIG_DEBUG_PAGE_REF)"
N=24
start_pinner 8
start_gmemtop --refs --max-ref-folios 4
pinner vmsplice 100 $N
fresh_snapshot "$T/held.json"
sel="[.folios[] | select(.ino == $GMEM_INO and (.extra_refs // 0) > 0)]"
got=$(jq -r "$sel | \"\(length) \(map(.extra_refs) | add) \(map(.refs_attributed) | add)\"" "$T/held.json")
[ "$got" = "$N $N 4" ] || fail "folios/extra_refs/refs_attributed = '$got', expected '$N $N 4'"
got=$(jq -r '.stats.refs_unrecorded' "$T/held.json")
[ "$got" -ge $((N - 4)) ] || fail "refs_unrecorded = $got, expected at least $((N - 4))"
info "map of 4 folios: 4 references attributed, $got counted unrecorded, all $N in the kernel's surplus"
pinner vmsplice-drain
echo "PASS: a full extra-reference map is counted (refs_unrecorded), the surplus still shown"
