#!/bin/sh
# vmtest-timeout: 420
# Stress: threads pin, reference and release guest memory (a host-mappable
# guest_memfd, where the kernel has one: Linux 6.18+) and a memslot's shared
# backing (a memfd) through io_uring fixed buffers (two threads each),
# O_DIRECT reads and writes, vmsplice and (where the kernel has gup_test)
# PIN_LONGTERM_TEST_START/STOP, all at once, for STRESS_SECONDS (default 30).
# The kernel's recursion guard skips a tracing program that is already
# running on the CPU (a task preempted inside it, an interrupt); the pins of
# a skipped unpin are recovered from the kernel's counts (bpf/pins.bpf.c,
# recover_unpins()), and pin programs run where they cannot be preempted.
# At every quiescent point the tracked pins must equal the kernel's folio by
# folio and the workload's own count, pinned backing folios must be
# attributed to the memslot; the FOLL_GET references held must be the
# vmsplice threads'; nothing lost, nothing untracked, no drift (pins -
# unpins seen - unpins recovered == pins held).  At the end everything is released.  The
# harness fails the test on any kernel splat.
. "$(dirname "$0")/lib/common.sh"
command -v gmem-stress >/dev/null || fail "gmem-stress is not in the VM"
command -v gmem-vmm >/dev/null || fail "gmem-vmm is not in the VM (pass it with -p)"
SECONDS_RUN=${STRESS_SECONDS:-30}
dir=${GMEM_SCRATCH_DIR:-}
file=
if [ -n "$dir" ] && [ -d "$dir" ] && dd if=/dev/zero of="$dir/stress.img" bs=1M count=8 2>/dev/null; then
	file=$dir/stress.img
else
	info "no scratch filesystem: no O_DIRECT thread"
fi

start_gmemtop
# Programs attached right after another instance detached may stay silent
# for seconds (tests/repro/): wait until this instance sees a pin and its
# release before the run starts (on a memslot's shared backing: every
# kernel with /dev/kvm has one, not every kernel a mappable guest_memfd).
start_vmm 16
pinner slot 9 4096 16
live() {
	pinner pin-uring 0 1
	pinner unpin-uring
	fresh_snapshot "$T/live.json"
	jq -e '.stats.pins > 0 and .stats.pins == .stats.unpins' "$T/live.json" >/dev/null
}
wait_for 60 live || fail "gmemtop never saw a pin and its release"
base=$(jq .stats.pins "$T/live.json")
# an unpin whose pin came before the programs were live (above) is untracked
untracked_base=$(jq .stats.unpins_untracked "$T/live.json")
info "warm-up: $(jq -c '.stats | {pins, unpins, unpins_untracked}' "$T/live.json")"
rm -f "$T/stress.in"
mkfifo "$T/stress.in"
gmem-stress 8 "$SECONDS_RUN" $file <"$T/stress.in" >"$T/stress.out" 2>"$T/stress.err" &
STRESS_PID=$!
exec 4>"$T/stress.in"
wait_for 60 grep -q '^ready' "$T/stress.out" || {
	exec 4>&-; wait $STRESS_PID; rc=$?
	cat "$T/stress.err"
	[ "$rc" = 4 ] && skip "$(tail -n 1 "$T/stress.out")"
	fail "gmem-stress did not start (rc=$rc)"
}
ino=$(sed -n 's/^ready .* ino=\([0-9]*\).*/\1/p' "$T/stress.out")
bino=$(sed -n 's/^ready .* backing_ino=\([0-9]*\).*/\1/p' "$T/stress.out")
grep -q '^ready .* gmem_mmap=yes' "$T/stress.out" || info "$(grep '^info' "$T/stress.out")"
info "gmem-stress pid $STRESS_PID, guest_memfd ino $ino, shared backing ino $bino: $(grep '^worker' "$T/stress.out" | tr '\n' ' ')"

# check_point SNAPSHOT PINS GETS: the snapshot against the workload's holds
check_point() {
	jq -r --argjson ino "$ino" --argjson bino "$bino" --argjson pins "$2" --argjson gets "$3" '
	[.folios[] | select(.ino == $ino or .ino == $bino)] as $f |
	([$f[] | select(.ino == $bino and (.tracked.pins // 0) > 0 and .backing != "shared")] | length) as $nb |
	[ (if .complete then empty else "incomplete: \(.stats)" end),
	  (if .stats.lost == 0 then empty else "lost \(.stats.lost) (\(.stats))" end),
	  (if $nb == 0 then empty else "\($nb) pinned backing folios not attributed to the memslot" end),
	  (if .stats.unpins_untracked == '"$untracked_base"' then empty
	   else "unpins_untracked \(.stats.unpins_untracked) (\('"$untracked_base"' before the run)" end),
	  (if .stats.pins - .stats.unpins - .stats.unpins_recovered == $pins then empty
	   else "drift: pins - unpins seen - unpins recovered \(.stats.pins - .stats.unpins - .stats.unpins_recovered), held \($pins)" end),
	  ($f[] | select((.tracked.pins // 0) != (.kernel.pins // 0)) |
	   "folio \(.index): tracked \(.tracked.pins // 0) kernel \(.kernel.pins // 0)"),
	  (($f | map(.kernel.pins // 0) | add // 0) as $k |
	   if $k == $pins then empty else "kernel pins \($k), workload holds \($pins)" end),
	  (($f | map(.tracked.gets // 0) | add // 0) as $g |
	   if $g == $gets then empty else "references attributed \($g), vmsplice holds \($gets)" end),
	  (($f | map(.unattributed_refs // 0) | add // 0) as $u |
	   if $u == 0 then empty else "\($u) references nobody took" end),
	  ($f[] | select((.tracked.pins // 0) > 0 and .tracked.pid != '"$STRESS_PID"') |
	   "folio \(.index) attributed to pid \(.tracked.pid)")
	] | .[]' "$1"
}

points=0
seen=0
while :; do
	n=$(grep -c '^quiescent\|^done' "$T/stress.out")
	if [ "$n" -le "$seen" ]; then
		kill -0 $STRESS_PID 2>/dev/null || break
		sleep 0.2
		continue
	fi
	seen=$n
	line=$(grep '^quiescent\|^done' "$T/stress.out" | sed -n "${n}p")
	case "$line" in done*) break ;; esac
	set -- $(echo "$line" | sed 's/.*pins=\([0-9]*\) gets=\([0-9]*\)/\1 \2/')
	fresh_snapshot "$T/q.json"
	errs=$(check_point "$T/q.json" "$1" "$2")
	[ -z "$errs" ] || fail "quiescent point ($line): $(echo "$errs" | head -5 | tr '\n' ';')"
	points=$((points + 1))
	info "$line: tracked == kernel == workload ($(jq -c '.stats | {pins, unpins, unpins_recovered, unpin_runs_missed, lost_recursion}' "$T/q.json"))"
	echo go >&4
done
exec 4>&-
wait $STRESS_PID || fail "gmem-stress failed: $(cat "$T/stress.err")"
done_line=$(grep '^done' "$T/stress.out")
info "$done_line; $(grep '^worker.*ops' "$T/stress.out" | tr '\n' ' ')"
[ "$points" -ge 3 ] || fail "only $points quiescent points"
fresh_snapshot "$T/end.json"
errs=$(check_point "$T/end.json" 0 0)
[ -z "$errs" ] || fail "after the run: $(echo "$errs" | head -5 | tr '\n' ';')"
info "$(jq -c .stats "$T/end.json")"
echo "PASS: $points quiescent points in ${SECONDS_RUN}s, $(jq .stats.pins "$T/end.json") pins and $(jq .stats.gets "$T/end.json") references seen, no drift"
