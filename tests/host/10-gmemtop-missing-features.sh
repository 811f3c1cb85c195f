#!/usr/bin/env bash
# On a kernel that refuses BPF trampolines (this development machine's),
# gmemtop must say which feature is missing and exit 4, with no crash; in
# JSON mode the error must be JSON too.  Skips on a kernel that has them.
set -uo pipefail
top=${OUTPUT:-build}/gmemtop

out=$("$top" -b 2>&1 >/dev/null)
rc=$?
if [ $rc -eq 0 ]; then
	echo "skip: this kernel runs fentry programs; nothing is missing here"
	exit 4
fi
echo "gmemtop -b: exit $rc: $out"
[ $rc -eq 4 ] || { echo "FAIL: expected exit 4 (kernel lacks a feature), got $rc"; exit 1; }
printf '%s\n' "$out" | grep -q 'fexit/try_grab_folio\|BPF trampolines\|not in this kernel' ||
	{ echo "FAIL: the message does not name the missing feature"; exit 1; }
[ "$(printf '%s\n' "$out" | wc -l)" -le 2 ] || { echo "FAIL: more than a short error"; exit 1; }

out=$("$top" -b -j 2>&1 >/dev/null)
rc=$?
[ $rc -eq 4 ] || { echo "FAIL: -j: expected exit 4, got $rc"; exit 1; }
printf '%s\n' "$out" | jq -e '.error | test("trampolines|BTF")' >/dev/null ||
	{ echo "FAIL: -j: the error is not a JSON object naming the feature: $out"; exit 1; }
echo "PASS: missing trampolines reported, exit 4, JSON error under -j"
