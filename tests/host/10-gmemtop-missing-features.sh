#!/usr/bin/env bash
# On a kernel that refuses BPF trampolines (this development machine's),
# gmemtop must say which feature is missing and exit 4, with no crash, and
# end with the hint to run 'gmemtop --probe'; in JSON mode the error and
# the hint must be JSON too.  Skips on a kernel that has them.
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
grep -q 'fexit/try_grab_folio\|BPF trampolines\|not in this kernel' <<<"$out" ||
	{ echo "FAIL: the message does not name the missing feature"; exit 1; }
[ "$(printf '%s\n' "$out" | tail -n 1)" = "gmemtop: run 'gmemtop --probe' for details" ] ||
	{ echo "FAIL: the last line is not the hint to run 'gmemtop --probe'"; exit 1; }
[ "$(printf '%s\n' "$out" | wc -l)" -le 3 ] || { echo "FAIL: more than a short error"; exit 1; }

out=$("$top" -b -j 2>&1 >/dev/null)
rc=$?
[ $rc -eq 4 ] || { echo "FAIL: -j: expected exit 4, got $rc"; exit 1; }
printf '%s\n' "$out" | jq -s -e '.[0].error | test("trampolines|BTF")' >/dev/null ||
	{ echo "FAIL: -j: the error is not a JSON object naming the feature: $out"; exit 1; }
printf '%s\n' "$out" | jq -s -e '.[-1].hint | test("gmemtop --probe")' >/dev/null ||
	{ echo "FAIL: -j: the last object is not the hint to run 'gmemtop --probe': $out"; exit 1; }
echo "PASS: missing trampolines reported, exit 4, hint to --probe, JSON error and hint under -j"
