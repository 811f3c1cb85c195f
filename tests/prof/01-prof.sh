#!/bin/sh
# make prof: what each BPF program of gmemtop costs, from the kernel's own
# accounting (kernel.bpf_stats_enabled: run_time_ns / run_cnt), over
# gup_test's PIN_FAST_BENCHMARK on 256 MiB of each kind of memory, after a
# warm-up on the same pages (so that guest folios have their slots).  The figures
# include bpf_stats' own clock reads (about 0.8 us a run under TCG):
# compare programs and per-page costs, not single calls.
for cmd in gmemtop gmem-bench bpftool jq; do
	command -v $cmd >/dev/null || { echo "FAIL: $cmd not in the VM"; exit 1; }
done
[ -e /sys/kernel/debug/gup_test ] || { echo "skip: no gup_test (needs CONFIG_GUP_TEST: the testkernel)"; exit 4; }
. "$(dirname "$0")/lib/phases.sh"
MIB=${PROF_MIB:-256}
REPS=${PROF_REPS:-3}
T=/tmp/prof.$$
mkdir -p $T
gmemtop -b -j --no-scan 2 1000000 >$T/top.json 2>$T/top.err &
top=$!
while [ ! -s $T/top.json ]; do kill -0 $top 2>/dev/null || { cat $T/top.err; exit 1; }; sleep 0.2; done
# every program's runs and time so far
progs() { bpftool prog show -j | jq -r '.[] | select(.run_cnt != null) | "\(.id) \(.name) \(.run_cnt) \(.run_time_ns)"' | sort; }
for mem in anon anon4k gmem; do
	# phase 1 warms up (the same pages: guest folios get their slots),
	# phase 2 is measured
	phases_start $mem $MIB $REPS 2 $T
	phases_wait 1 >/dev/null || { echo "FAIL: gmem-bench $mem"; exit 1; }
	progs >$T/before
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	phases_next
	out=$(phases_wait 2) || { echo "FAIL: gmem-bench $mem"; exit 1; }
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	progs >$T/after
	phases_end
	echo "PROF mem=$mem $out"
	# id name runs time, before and after
	awk 'FILENAME == ARGV[1] { n[$1] = $3; t[$1] = $4; next } { print $1, $2, n[$1] + 0, t[$1] + 0, $2, $3, $4 }' $T/before $T/after
done | awk -v pages=$((MIB * 256 * REPS)) '
	/^PROF/ { print; next }
	{ runs = $6 - $3; ns = $7 - $4
	  if (runs > 0) printf "PROF   %-36s runs=%-8d ns_per_run=%-9.0f ns_per_page=%.1f\n", $2, runs, ns / runs, ns / pages }'
kill $top; wait $top
exit 0
