# Helpers for the gmem-check tests (busybox sh), sourced after common.sh.
command -v gmem-check >/dev/null || fail "gmem-check is not in the VM (pass it with -p)"
command -v gmem-vmm >/dev/null || fail "gmem-vmm is not in the VM (pass it with -p)"

# check_vmm NAME PAGES SCRIPT [OPTIONS...]: gmem-check OPTIONS -- gmem-vmm
# PAGES fed SCRIPT (printf format, one command per line), with JSON and
# JUnit reports; sets RC.  Outputs: $T/NAME.{out,err,json,xml}.
check_vmm() {
	local name=$1 pages=$2 script=$3
	shift 3
	printf "$script" >"$T/$name.in"
	gmem-check --json "$T/$name.json" --junit "$T/$name.xml" "$@" -- \
		sh -c "exec gmem-vmm $pages <$T/$name.in >$T/$name.out" 2>"$T/$name.err"
	RC=$?
	info "$name: gmem-check exit $RC; gmem-vmm said: $(grep -v '^ok' "$T/$name.out" | tr '\n' ' ')"
}

# skip_if_vmm_skipped NAME: gmem-vmm could not do what the scenario needs.
skip_if_vmm_skipped() {
	local why
	why=$(grep -m1 '^skip:' "$T/$1.out") && skip "${why#skip: }"
	grep -q '^error' "$T/$1.out" && fail "gmem-vmm: $(grep '^error' "$T/$1.out")"
	return 0
}

# expect_rc NAME RC: gmem-check's exit and JSON result agree and are RC.
expect_rc() {
	local res
	[ "$RC" = "$2" ] || { cat "$T/$1.err"; fail "$1: gmem-check exited $RC, expected $2"; }
	res=$(jq -r '"\(.exit_code) \(.schema)"' "$T/$1.json") || fail "$1: no JSON report"
	[ "$res" = "$2 gmem-check/1" ] || fail "$1: JSON exit_code/schema '$res', expected '$2 gmem-check/1'"
	grep -q '<testsuites name="gmem-check"' "$T/$1.xml" || fail "$1: no JUnit report"
}

# require_conversions: skip (with gmem-check's own reason) where KVM cannot
# convert guest memory; gmem-check itself must say so with exit 4.
require_conversions() {
	gmem-check --require-conversions -- true 2>"$T/req.err"
	rc=$?
	[ $rc = 4 ] && skip "gmem-check --require-conversions: exit 4: $(sed -n 's/^gmem-check: --require-conversions: //p' "$T/req.err" | head -1)"
	[ $rc = 0 ] || { cat "$T/req.err"; fail "gmem-check --require-conversions -- true: exit $rc"; }
}
