#!/bin/sh
# OPEN BUG (not run by make check; run it with
#   tools/vmtest/vmtest -k testkernel -t tests/repro -p build/gmemtop \
#       -p build/tests/gmem-bench -p build/tests/gmem-pinner -p "$(command -v jq)"
# ).  Seen on the testkernel (7.3.4), 2026-11-25:
#   instance 1, gmem-bench: [4096,4096]      <- every pin and unpin seen
#   instance 1, +io_uring 10: [4107,4097]
#   instance 2, gmem-bench: [0,0]            <- a second gmemtop sees none of
#   instance 2, +io_uring 10: [11,1]            gup_test's PIN_FAST_BENCHMARK
#   instance 2, +O_DIRECT 8: [19,19]            pins, but io_uring and O_DIRECT
# It passes (exit 0) once the second instance counts gmem-bench's pins too.
# 2026-11-26: the programs do not run at all for those pins: with
# kernel.bpf_stats_enabled=1, fexit/try_grab_folio_fast's run_cnt stays at
# what a self-check made just before (one process_vm_readv pin and one
# vmsplice grab on each CPU in turn, both seen) while gmem-bench pins 4096
# pages in 0.8 ms, untraced speed; the next gmem-bench is seen.  Waiting 5 s
# between the two instances does not help, so it is not the first
# instance's deferred link release.  Not seen on the first instance of a
# boot.  Most likely QEMU TCG executing stale code after the call site was
# re-patched (the self-check proves the same call site live moments
# before); not yet reproduced on hardware.
. "$(dirname "$0")/lib/common.sh"
echo 1 >/proc/sys/kernel/printk
snap() { n=$(wc -l <$T/top.jsonl); while [ "$(wc -l <$T/top.jsonl)" -le "$n" ]; do sleep 0.3; done; tail -n 1 $T/top.jsonl | jq -c '[.stats.pins, .stats.unpins]'; }
start_pinner 32
start_gmemtop --no-scan
gmem-bench gmem 16 1 >/dev/null; echo "instance 1, gmem-bench: $(snap)"
pinner pin-uring 0 10; echo "instance 1, +io_uring 10: $(snap)"
pinner unpin-uring
kill $GMEMTOP_PID; wait $GMEMTOP_PID
start_gmemtop --no-scan
gmem-bench gmem 16 1 >/dev/null; echo "instance 2, gmem-bench: $(snap)"
pinner pin-uring 0 10; echo "instance 2, +io_uring 10: $(snap)"
pinner unpin-uring
pinner odirect /dev/nullb0 read 0 0 8; echo "instance 2, +O_DIRECT 8: $(snap)"
gmem-bench gmem 16 1 >/dev/null
got=$(snap)
echo "instance 2, gmem-bench again: $got"
[ "$(echo "$got" | jq '.[0] >= 4096 + 19')" = true ] || fail "the second instance missed gup_test's pins"
echo "PASS"
