#!/usr/bin/env bash
# On this development machine's kernel (no BPF trampolines, no KVM),
# gmem-check cannot watch anything: it must say what is missing and exit 4
# (skipped) without running the command, with JSON and JUnit reports that
# say so too and validate against their schemas.  Skips on a kernel where
# gmem-check can run.
set -uo pipefail
chk=${OUTPUT:-build}/gmem-check
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

out=$("$chk" --json "$dir/r.json" --junit "$dir/r.xml" -- touch "$dir/ran" 2>&1)
rc=$?
echo "gmem-check -- touch: exit $rc: $(head -n 1 <<<"$out")"
[ $rc -eq 0 ] || [ $rc -eq 1 ] && { echo "skip: gmem-check runs on this kernel"; exit 4; }
[ $rc -eq 4 ] || { echo "FAIL: expected exit 4 (skipped), got $rc: $out"; exit 1; }
grep -q 'not in this kernel.s BTF\|BPF trampolines\|Operation not permitted\|CONFIG_' <<<"$out" ||
	{ echo "FAIL: the message does not name what is missing: $out"; exit 1; }
[ ! -e "$dir/ran" ] || { echo "FAIL: the command ran although nothing could be watched"; exit 1; }
jq -e '.result == "skipped" and .exit_code == 4 and (.reasons | length) >= 1' "$dir/r.json" >/dev/null ||
	{ echo "FAIL: the JSON report does not say skipped with a reason"; cat "$dir/r.json"; exit 1; }
py=
for p in /usr/bin/python3 python3; do "$p" -c 'import jsonschema' 2>/dev/null && { py=$p; break; }; done
if [ -n "$py" ]; then
	"$py" -c 'import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), cls=jsonschema.Draft202012Validator)' \
		"$dir/r.json" doc/gmem-check.schema.json || { echo "FAIL: the JSON report breaks its schema"; exit 1; }
fi
xmllint --noout --schema doc/gmem-check-junit.xsd "$dir/r.xml" 2>/dev/null ||
	{ echo "FAIL: the JUnit report breaks its schema"; cat "$dir/r.xml"; exit 1; }
grep -q '<skipped message=' "$dir/r.xml" || { echo "FAIL: JUnit shows no skipped test"; exit 1; }
echo "PASS: nothing watchable: exit 4, the reason named, the command not run, reports valid"
