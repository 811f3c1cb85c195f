#!/bin/sh
# gmem-check --pid on a VMM already running: a pin held across a conversion
# is a violation (exit 1); without one the verdict is inconclusive (exit 2),
# never a pass, since pins taken before tracking began are not seen.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/check.sh"

require_conversions
# watch_vmm NAME: gmem-check --pid on a fresh gmem-vmm; sets CHK
watch_vmm() {
	start_vmm 64
	gmem-check --pid "$PINNER_PID" --duration 120 --json "$T/$1.json" 2>"$T/$1.err" &
	CHK=$!
	wait_for 60 grep -q "^gmem-check: watching pid $PINNER_PID" "$T/$1.err" ||
		{ cat "$T/$1.err"; fail "gmem-check --pid did not start"; }
}
# end_vmm NAME: the VMM quits; gmem-check ends with it; sets RC
end_vmm() {
	echo quit >&3
	exec 3>&-
	wait "$PINNER_PID"
	PINNER_PID=
	wait "$CHK"
	RC=$?
	cat "$T/$1.err"
}

watch_vmm pinned
pinner slot 0 0 64
pinner pin-uring 8 4
pinner convert 8 4 private
pinner unpin-uring
end_vmm pinned
[ "$RC" = 1 ] || fail "--pid, pinned across a conversion: exit $RC, expected 1"
got=$(jq -r '"\(.pid) \(.counts.violations) \([.violations[].holder.api] | unique | join(","))"' "$T/pinned.json")
[ "$got" = "$(jq -r .pid "$T/pinned.json") 4 io_uring" ] || fail "--pid report: '$got'"
info "--pid: a pin across a conversion: exit 1"

watch_vmm clean
pinner slot 0 0 64
pinner convert 8 4 private
end_vmm clean
[ "$RC" = 2 ] || fail "--pid, no pin: exit $RC, expected 2 (inconclusive: started late)"
jq -e '.reasons | map(select(test("tracking began after"))) | length == 1' "$T/clean.json" >/dev/null ||
	fail "--pid: the late start is not given as the reason"
info "--pid: no pin seen: exit 2, tracking began late"
