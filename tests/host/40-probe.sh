#!/usr/bin/env bash
# gmemtop --probe on this machine's kernel, which refuses BPF trampolines
# (fentry/fexit) and BPF LSM with EPERM but runs BPF iterators: exit 4, the
# fentry/fexit attach points "no" with EPERM named, the scan "yes", required
# features listed first, and one valid JSON object under -j.  Skips on a
# kernel that runs fentry programs (the VM test covers that case).
set -uo pipefail
top=${OUTPUT:-build}/gmemtop
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

json=$("$top" --probe -j 2>"${TMPDIR:-/tmp}/probe.err.$$")
rc=$?
err=$(cat "${TMPDIR:-/tmp}/probe.err.$$"); rm -f "${TMPDIR:-/tmp}/probe.err.$$"
[ $rc -ne 0 ] || { echo "skip: this kernel runs every required feature (exit 0)"; exit 4; }
[ $rc -eq 4 ] || { echo "FAIL: gmemtop --probe -j: expected exit 4, got $rc: $err"; exit 1; }
[ -z "$err" ] || fail "-j: unexpected messages on stderr: $err"
printf '%s\n' "$json" | jq -e 'type == "object" and (.features | type == "array" and length > 0)' >/dev/null ||
	{ echo "FAIL: -j: not one JSON object with a features array: $json"; exit 1; }
[ "$(printf '%s\n' "$json" | wc -l)" -eq 1 ] || fail "-j: more than one line of JSON"

q() { printf '%s\n' "$json" | jq -e "$@" >/dev/null; }
feature() { printf '%s\n' "$json" | jq -c --arg f "$1" '.features[] | select(.feature == $f)'; }

if ! q '.features[] | select(.feature == "BPF trampolines (fentry/fexit)") | .available == false'; then
	echo "skip: BPF trampolines work here: this test is for a kernel that refuses them"
	exit 4
fi
q '.ok == false' || fail "\"ok\" is not false although exit 4"
q '.features | all(has("feature") and has("available") and has("required") and has("detail"))' ||
	fail "a feature lacks feature/available/required/detail"
q '.features | all((.available | type == "boolean") and (.detail | type == "string" and length > 0))' ||
	fail "available is not a boolean, or a detail is empty"
# required ones first: no required item after an optional one
q '[.features[].required] as $r | [range(1; $r | length) | select($r[.] and ($r[. - 1] | not))] | length == 0' ||
	fail "a required feature is listed after an optional one"
q '[.features[] | select(.required and (.available | not))] | length > 0' ||
	fail "exit 4, but no required feature reported missing"

# every fentry/fexit attach point of the pins object: "no", EPERM named
for f in fexit/try_grab_folio fentry/pin_user_pages_fast fexit/pin_user_pages_fast; do
	line=$(feature "$f")
	[ -n "$line" ] || { fail "$f not reported"; continue; }
	printf '%s\n' "$line" | jq -e '.required and (.available | not) and (.detail | test("EPERM") and test("not permitted"))' >/dev/null ||
		fail "$f: expected required, unavailable, EPERM/not permitted: $line"
done
q '[.features[] | select(.feature | test("^(fentry|fexit)/")) | select(.available)] | length == 0' ||
	fail "some fentry/fexit attach point reported available on a kernel that refuses trampolines"
q '.features[] | select(.feature == "BPF trampolines (fentry/fexit)") | .detail | test("EPERM")' ||
	fail "the trampolines row does not name EPERM: $(feature 'BPF trampolines (fentry/fexit)')"
q '.features[] | select(.feature == "tracking mechanism") | (.available | not) and (.detail | test("none"))' ||
	fail "the tracking mechanism is not reported as none: $(feature 'tracking mechanism')"

# the kernel scan needs no trampolines
q '.features[] | select(.feature == "iter/task_file (kernel scan)") | .required and .available' ||
	fail "the scan (iter/task_file) is not reported available: $(feature 'iter/task_file (kernel scan)')"
q '.features[] | select(.feature == "vmlinux BTF") | .available' || fail "vmlinux BTF not available"

# a CONFIG_ option is named where a config is readable, "unknown" where not
if printf '%s\n' "$json" | jq -e '.config == null' >/dev/null; then
	q '.features[] | select(.feature == "vmlinux BTF") | .detail | test("CONFIG_DEBUG_INFO_BTF.*unknown")' ||
		fail "no config readable, but the BTF row does not say unknown"
else
	q '.features[] | select(.feature == "vmlinux BTF") | .detail | test("CONFIG_DEBUG_INFO_BTF=y")' ||
		fail "config $(printf '%s\n' "$json" | jq -r .config) read, but CONFIG_DEBUG_INFO_BTF=y not named"
fi
q '.features[] | select(.feature == "lsm/file_mprotect (BPF LSM)") | (.available | not) and (.detail | test("CONFIG_BPF_LSM"))' ||
	fail "BPF LSM row: $(feature 'lsm/file_mprotect (BPF LSM)')"

# the table: same verdict and exit code, a header, the required rows first
table=$("$top" --probe 2>&1)
rc=$?
[ $rc -eq 4 ] || fail "table: expected exit 4, got $rc"
grep -q '^NEEDED  *FEATURE  *AVAIL  *DETAIL' <<<"$table" || fail "table: no header"
grep -qE '^required +fexit/try_grab_folio +no +.*EPERM' <<<"$table" ||
	fail "table: fexit/try_grab_folio row does not say no/EPERM"
grep -qE '^required +iter/task_file \(kernel scan\) +yes' <<<"$table" ||
	fail "table: the scan is not yes"
[ "$(printf '%s\n' "$table" | tail -n 1)" = "gmemtop cannot run here: a required feature is missing" ] ||
	fail "table: no verdict line at the end"
printf '%s\n' "$table" | awk '/^optional/ { o = 1 } /^required/ && o { bad = 1 } END { exit bad }' ||
	fail "table: a required row after an optional one"

[ $fails -eq 0 ] || exit 1
echo "PASS: --probe: exit 4, fentry/fexit no with EPERM, scan yes, $(printf '%s\n' "$json" | jq '.features | length') features as one JSON object"
