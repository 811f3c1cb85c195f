#!/bin/sh
# make bench: the cost of tracking on every pin in the system, measured in
# the kernel by gup_test's PIN_FAST_BENCHMARK (pin_user_pages_fast +
# unpin_user_pages over 256 MiB).  One gmem-bench process measures four
# phases on the same memory: untraced, under the generic baseline
# (gmem-hooks: the same hooks, counting only), traced by gmemtop,
# untraced; each ratio is over the untraced mean.  (Separate processes, a
# fresh mapping each, varied by up to 40% between untraced runs.)
# Ordinary memory must be rejected in a few instructions (goal <= 1.10: a
# lookup per outer GUP call, a bit test per unpinned page);
# guest memory is recorded per folio (goal <= 2.0).
for cmd in gmemtop gmem-bench gmem-hooks; do
	command -v $cmd >/dev/null || { echo "FAIL: $cmd not in the VM"; exit 1; }
done
[ -e /sys/kernel/debug/gup_test ] || { echo "skip: no gup_test (needs CONFIG_GUP_TEST: the testkernel)"; exit 4; }
. "$(dirname "$0")/lib/phases.sh"
echo 1 >/proc/sys/kernel/printk
MIB=${BENCH_MIB:-256}
REPS=${BENCH_REPS:-15}
T=/tmp/bench.$$
mkdir -p $T

# counters: "pins lost" from the first snapshot taken after this call.
counters() {
	n=$(wc -l <$T/top.json)
	while [ "$(wc -l <$T/top.json)" -le $((n + 1)) ]; do sleep 0.2; done
	# line n+2 is complete (wc counts newlines); the file's last line may
	# still be being written (tail -n 1 would give half a snapshot)
	sed -n "$((n + 2))p" $T/top.json | jq -r '"\(.stats.pins) \(.stats.lost)"'
}

# wait_live: pin a little guest memory until the instance counts it; print
# its pin count then.  On the 7.3 testkernel under TCG, programs attached
# right after another instance detached sometimes stay silent for seconds
# (all of them, pins and unpins; tests/repro/ has the reproducer), which
# made earlier traced runs measure nothing.
LIVE_TRIES=30
wait_live() {
	for i in $(seq $LIVE_TRIES); do
		gmem-bench gmem 1 1 >/dev/null || return 1
		set -- $(counters)
		[ "$1" -gt 0 ] && { echo "$1"; return 0; }
		sleep 1
	done
	return 1
}

# median K: the median of phase K, once it is measured.
median() {
	line=$(phases_wait "$1") || return 1
	echo "$line" | sed -n 's/.* median_usec=\([0-9]*\).*/\1/p'
}

# settle MEM: after BPF programs were attached or detached, pinning is
# slow for a while under TCG (the kernel text patched, its translations
# redone): pin a little memory of the same kind first.
settle() { sleep 2; gmem-bench "$1" 16 3 >/dev/null; }

# started FILE PID: wait until the process PID wrote to FILE.
started() {
	while [ ! -s $1 ]; do kill -0 $2 2>/dev/null || return 1; sleep 0.2; done
}

# anon: THP-backed (few large folios); anon4k: MADV_NOHUGEPAGE, one grab
# per page; gmem: guest_memfd (order-0 folios)
for mem in anon anon4k gmem; do
	phases_start $mem $MIB $REPS 4 $T
	a=$(median 1) || { echo "FAIL: gmem-bench $mem"; exit 1; }

	rm -f $T/hooks.out $T/top.json
	gmem-hooks >$T/hooks.out 2>$T/hooks.err &
	hooks=$!
	started $T/hooks.out $hooks || { cat $T/hooks.err; echo "FAIL: gmem-hooks"; exit 1; }
	settle $mem
	phases_next
	h=$(median 2) || { echo "FAIL: gmem-bench $mem"; exit 1; }
	kill $hooks; wait $hooks
	pages=$(sed -n 's/.* pages=\([0-9]*\).*/\1/p' $T/hooks.out)
	[ "${pages:-0}" -ge $((REPS * MIB * 256)) ] ||
		{ echo "FAIL: the baseline hooks counted ${pages:-no} pages of $mem"; exit 1; }

	# without the scan's work in every snapshot: gmem-bench maps a page
	# of its guest memory again before each phase, which makes gmemtop
	# look at it
	gmemtop -b -j --no-scan 2 1000000 >$T/top.json 2>$T/top.err &
	top=$!
	started $T/top.json $top || { cat $T/top.err; exit 1; }
	base=$(wait_live)
	[ -n "$base" ] || { echo "FAIL: gmemtop's programs never saw a guest pin in ${LIVE_TRIES} tries"; exit 1; }
	settle $mem
	phases_next
	t=$(median 3) || { echo "FAIL: gmem-bench $mem"; exit 1; }
	# the traced runs must have been traced: the instance's own counters
	seen=$(counters)
	kill $top; wait $top
	want=$base
	[ $mem = gmem ] && want=$((base + REPS * MIB * 256))
	set -- $seen
	[ "$1" -ge "$want" ] && [ "$2" = 0 ] ||
		{ echo "FAIL: traced $mem runs: gmemtop counted $1 pins (want >= $want), lost $2"; exit 1; }

	settle $mem
	phases_next
	b=$(median 4) || { echo "FAIL: gmem-bench $mem"; exit 1; }
	phases_end
	[ -n "$a" ] && [ -n "$h" ] && [ -n "$t" ] && [ -n "$b" ] || { echo "FAIL: no measurement for $mem"; exit 1; }
	ratio=$(awk -v a="$a" -v b="$b" -v t="$t" 'BEGIN { printf "%.3f", t / ((a + b) / 2) }')
	hratio=$(awk -v a="$a" -v b="$b" -v t="$h" 'BEGIN { printf "%.3f", t / ((a + b) / 2) }')
	echo "BENCH mem=$mem size_mib=$MIB reps=$REPS untraced_usec=$a,$b traced_usec=$t ratio=$ratio baseline_usec=$h baseline_ratio=$hratio guest_pins_seen=$1"
done
# one snapshot that exits by itself: the kernel memory of the folio map
gmemtop -b -j --no-scan >$T/one.json || { echo "FAIL: gmemtop -b -j --no-scan"; exit 1; }
jq -r '"BENCH folio_map max_folios=\(.folio_map.max_folios) bytes=\(.folio_map.bytes) bytes_per_folio=\(.folio_map.bytes_per_folio)"' $T/one.json
