#!/bin/sh
# FOLL_GET references: vmsplice() of guest memory into a pipe takes one
# reference per page through GUP's fast path (FOLL_GET), held by the pipe
# until it is read, and released by a plain folio_put() that no probe can
# attribute.  gmemtop must show, folio by folio, the kernel's surplus
# (refcount beyond page cache, mappings and pins) and attribute it to the
# process that spliced, through API vmsplice, with a stack through the
# vmsplice path; and show nothing held once the pipe is drained.
. "$(dirname "$0")/lib/common.sh"

N=24
start_pinner 8
start_gmemtop --refs
pinner vmsplice 100 $N
fresh_snapshot "$T/held.json"
sel="[.folios[] | select(.ino == $GMEM_INO and (.extra_refs // 0) > 0)]"
got=$(jq -r "$sel | \"\(length) \(map(.extra_refs) | add) \(map(.tracked.gets // 0) | add) \(map(.unattributed_refs) | add) \(map(.index) | min) \(map(.index) | max)\"" "$T/held.json")
[ "$got" = "$N $N $N 0 100 $((100 + N - 1))" ] ||
	fail "folios/extra_refs/gets/unattributed/first/last = '$got', expected '$N $N $N 0 100 $((100 + N - 1))'"
got=$(jq -r "$sel | map(\"\(.tracked.pid) \(.tracked.api)\") | unique | join(\",\")" "$T/held.json")
[ "$got" = "$PINNER_PID vmsplice" ] || fail "references attributed to '$got', expected '$PINNER_PID vmsplice'"
jq -e "$sel | .[0].tracked.stack | map(select(test(\"vmsplice|iter_to_pipe\"))) | length > 0" "$T/held.json" >/dev/null ||
	fail "stack has no vmsplice frame: $(jq -c "$sel | .[0].tracked.stack" "$T/held.json")"
got=$(jq -r ".processes[] | select(.pid == $PINNER_PID) | .gets" "$T/held.json")
[ "$got" = $N ] || fail "process gets = '$got', expected $N"
got=$(jq -r ".files[] | select(.ino == $GMEM_INO) | \"\(.kernel.extra_refs) \(.unattributed_refs)\"" "$T/held.json")
[ "$got" = "$N 0" ] || fail "file extra_refs/unattributed_refs = '$got', expected '$N 0'"
info "vmsplice of $N pages: $N references held, each attributed to the pinner (api vmsplice)"

# With --refs and the page_ref_* tracepoints (CONFIG_DEBUG_PAGE_REF,
# testkernel) the same references are attributed a second, independent way: as reference
# holders seen taking them, each folio's one holder the pinner, api vmsplice.
has_page_ref=$(gmemtop --probe -j 2>/dev/null |
	jq -r '.features[] | select(.feature | startswith("tp_btf/page_ref")) | .available')
[ "$(jq -r .page_ref "$T/held.json")" = "${has_page_ref:-false}" ] ||
	fail "the kernel's page_ref_* tracepoints load: '$has_page_ref', but gmemtop reports page_ref $(jq -r .page_ref "$T/held.json")"
if [ "$has_page_ref" = true ]; then
	got=$(jq -r "$sel | \"\(map(.refs_attributed) | add) \(map(.ref_holders | length) | add) \(map(.ref_holders[] | \"\(.pid) \(.api) \(.refs)\") | unique | join(\",\"))\"" "$T/held.json")
	[ "$got" = "$N $N $PINNER_PID vmsplice 1" ] ||
		fail "page_ref: attributed/holders/who = '$got', expected '$N $N $PINNER_PID vmsplice 1'"
	jq -e "$sel | map(.ref_holders[0].stack | map(select(test(\"vmsplice|iter_to_pipe\"))) | length > 0) | all" "$T/held.json" >/dev/null ||
		fail "page_ref holder stack has no vmsplice frame: $(jq -c "$sel | .[0].ref_holders[0].stack" "$T/held.json")"
	info "page_ref: each of the $N references attributed to the pinner, stack through vmsplice"
else
	got=$(jq -r "[.folios[] | .ref_holders] | map(select(. != null)) | length" "$T/held.json")
	[ "$got" = 0 ] || fail "no page_ref tracepoints, yet $got folios list reference holders"
	info "no page_ref_* tracepoints (CONFIG_DEBUG_PAGE_REF): references shown unattributed-by-holder only"
fi

pinner vmsplice-drain
# past the tracker's idle time (2 s), so that forgotten entries are gone too
sleep 3
fresh_snapshot "$T/drained.json"
got=$(jq -r "$sel | length" "$T/drained.json")
[ "$got" = 0 ] || fail "$got folios still show extra references after the pipe was drained"
got=$(jq -r "[.folios[] | select(.ino == $GMEM_INO) | .tracked.gets // 0] | add // 0" "$T/drained.json")
[ "$got" = 0 ] || fail "$got FOLL_GET references still shown as held after draining"
got=$(jq -r "[.processes[] | select(.pid == $PINNER_PID) | .gets] | add // 0" "$T/drained.json")
[ "$got" = 0 ] || fail "the pinner still shows $got FOLL_GET references"
got=$(jq -r "[.folios[] | .ref_holders // [] | length] | add // 0" "$T/drained.json")
[ "$got" = 0 ] || fail "$got page_ref holders still shown after draining"
jq -e '.complete' "$T/drained.json" >/dev/null || fail "snapshot incomplete: $(jq -c .stats "$T/drained.json")"
echo "PASS: vmsplice references attributed while held, none shown once released"
