#!/usr/bin/env bash
# The kernel scan needs no trampolines (an iter/task_file program), so
# gmemtop --scan-only works even on a tracepoint-only kernel, and reports
# a valid, complete snapshot with tracking off.
set -uo pipefail
top=${OUTPUT:-build}/gmemtop

out=$("$top" -b -j --scan-only 2>&1)
rc=$?
if [ $rc -eq 4 ]; then
	echo "skip: this kernel refuses BPF iterators too: $out"
	exit 4
fi
[ $rc -eq 0 ] || { echo "FAIL: gmemtop --scan-only exited $rc: $out"; exit 1; }
printf '%s\n' "$out" | jq -e '.version == 1 and .tracking == false and .scanned == true and .complete == true' >/dev/null ||
	{ echo "FAIL: unexpected snapshot: $out"; exit 1; }
echo "PASS: scan-only snapshot on $(uname -r)"
