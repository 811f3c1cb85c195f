# Helpers shared by the VM tests (busybox sh).  Sourced, not run: the harness
# runs only tests/vm/*.sh.
#
# Conventions: a test exits 0 to pass, 4 to skip (last output line = reason),
# anything else fails.  Every check compares gmem-tools' output with ground
# truth that does not come from gmem-tools' tracking: the workload's own
# count, and the kernel's counters read off the folios.

for cmd in gmemtop gmem-pinner jq; do
	command -v "$cmd" >/dev/null ||
		{ echo "FAIL: $cmd is not in the VM (pass it to tools/vmtest/vmtest with -p)"; exit 1; }
done

T=${TMPDIR:-/tmp}/gmemtest.$$
mkdir -p "$T"
PINNER_PID=
GMEMTOP_PID=

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skip: $*"; exit 4; }
info() { echo "--- $*"; }

cleanup() {
	[ -n "$GMEMTOP_PID" ] && kill "$GMEMTOP_PID" 2>/dev/null
	if [ -n "$PINNER_PID" ]; then
		echo quit >&3 2>/dev/null
		exec 3>&-
		wait "$PINNER_PID" 2>/dev/null
	fi
}
trap cleanup EXIT

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

lines() { wc -l <"$1" 2>/dev/null || echo 0; }
# has_lines FILE N: FILE has at least N lines (re-read at every poll).
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }

# last_table FILE: the last snapshot of gmemtop's table output in FILE.
last_table() { awk '/^gmemtop /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$1"; }

# started_or_gone PID FILE: FILE has the "ready" line, or PID has exited
# (a zombie too: the shell may not have reaped it yet).
started_or_gone() {
	grep -q '^ready' "$2" || ! kill -0 "$1" 2>/dev/null ||
		grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# start_workload PROGRAM ARGS...: a test program with a command pipe on fd 3,
# its answers in $T/pin.out; waits for its "ready" line.  Sets PINNER_PID.
# Skips when the program says the kernel cannot do it (exit 4).
start_workload() {
	local prog=$1
	shift
	rm -f "$T/pin.in"
	mkfifo "$T/pin.in"
	"$prog" "$@" <"$T/pin.in" >"$T/pin.out" 2>"$T/pin.err" &
	PINNER_PID=$!
	exec 3>"$T/pin.in"
	# until it is ready or gone: a workload that skips (exit 4) at once
	# must not cost the whole wait (ten such skips took 13 minutes on 6.12)
	if ! wait_for 60 started_or_gone "$PINNER_PID" "$T/pin.out" ||
		! grep -q '^ready' "$T/pin.out"; then
		exec 3>&-
		wait "$PINNER_PID"
		rc=$?
		PINNER_PID=
		cat "$T/pin.err"
		[ "$rc" = 4 ] && skip "$(tail -n 1 "$T/pin.out" | sed 's/^skip: //')"
		fail "$prog did not start (rc=$rc)"
	fi
}

# start_pinner SIZE_MIB: gmem-pinner with a command pipe on fd 3.  Sets
# PINNER_PID, GMEM_DEV, GMEM_INO.  Skips when the kernel cannot do it.
start_pinner() {
	start_workload gmem-pinner "$1"
	set -- $(sed -n 's/^ready pid=\([0-9]*\) dev=\([0-9:]*\) ino=\([0-9]*\).*/\1 \2 \3/p' "$T/pin.out")
	[ "$1" = "$PINNER_PID" ] || fail "gmem-pinner reports pid $1, shell started $PINNER_PID"
	GMEM_DEV=$2
	GMEM_INO=$3
	info "gmem-pinner pid $PINNER_PID: guest_memfd dev $GMEM_DEV ino $GMEM_INO"
}

# pinner CMD...: send a command, wait for its answer, fail on "error".
pinner() {
	local before
	before=$(lines "$T/pin.out")
	echo "$*" >&3
	if ! wait_for 120 has_lines "$T/pin.out" $((before + 1)); then
		echo "gmem-pinner $PINNER_PID: $(grep State /proc/$PINNER_PID/status 2>/dev/null)"
		cat /proc/$PINNER_PID/stack 2>/dev/null
		echo 1 >/proc/sys/kernel/sysrq; echo w >/proc/sysrq-trigger  # blocked tasks
		fail "no answer to '$*'"
	fi
	REPLY=$(tail -n 1 "$T/pin.out")
	case "$REPLY" in
	ok*) info "pinner: $* -> $REPLY" ;;
	*) fail "pinner: $* -> $REPLY" ;;
	esac
}

# top_started: gmemtop printed a snapshot, or died trying.
top_started() { [ -s "$T/top.jsonl" ] || ! kill -0 "$GMEMTOP_PID" 2>/dev/null; }

# start_gmemtop ARGS...: gmemtop -b -j every 0.5 s in the background,
# with $GMEMTOP_ARGS in front (a whole test rerun another way, e.g.
# GMEMTOP_ARGS="--attach kprobe"); with $GMEMTOP_ATTACH, the first snapshot
# must say that this is how it tracks pins.
start_gmemtop() {
	# shellcheck disable=SC2086 # GMEMTOP_ARGS is a list of words
	gmemtop -b -j ${GMEMTOP_ARGS:-} "$@" 0.5 1000000 >"$T/top.jsonl" 2>"$T/top.err" &
	GMEMTOP_PID=$!
	wait_for 120 top_started
	if [ ! -s "$T/top.jsonl" ]; then
		cat "$T/top.err"
		wait "$GMEMTOP_PID"
		rc=$?
		GMEMTOP_PID=
		[ "$rc" = 4 ] && skip "gmemtop: kernel lacks a feature: $(tail -n 1 "$T/top.err")"
		fail "gmemtop produced no snapshot (rc=$rc)"
	fi
	if [ -n "${GMEMTOP_ATTACH:-}" ]; then
		head -n 1 "$T/top.jsonl" | jq -e --arg a "$GMEMTOP_ATTACH" '.attach == $a' >/dev/null ||
			fail "gmemtop ${GMEMTOP_ARGS:-} $* tracks with $(head -n 1 "$T/top.jsonl" | jq -c .attach), not $GMEMTOP_ATTACH"
	fi
	info "gmemtop ${GMEMTOP_ARGS:-} $* running (pid $GMEMTOP_PID, attach $(head -n 1 "$T/top.jsonl" | jq -r .attach))"
}

# fresh_snapshot FILE: the first snapshot taken entirely after this call.
fresh_snapshot() {
	local want=$(($(lines "$T/top.jsonl") + 2))
	wait_for 120 has_lines "$T/top.jsonl" "$want" ||
		fail "gmemtop stopped producing snapshots: $(cat "$T/top.err")"
	sed -n "${want}p" "$T/top.jsonl" >"$1"
}

# check_pins N SNAPSHOT: the snapshot must show exactly N pins on the
# pinner's guest_memfd, all by the pinner, equal to the kernel's own count
# folio by folio.  Prints every mismatch; returns non-zero on any.
# EXPECT_PROC: a regex for the pinner's process row "PINS COMM LONGTERM"
# after "N " (default: "gmem-pinner true", io_uring's long-term pins).
check_pins() {
	local n=$1 snap=$2 bad=0 got
	jq_file=".files[] | select(.dev == \"$GMEM_DEV\" and .ino == $GMEM_INO)"

	got=$(jq -r '.complete' "$snap")
	[ "$got" = true ] || { echo "mismatch: snapshot incomplete (lost events): $(jq -c .stats "$snap")"; bad=1; }
	got=$(jq -r "$jq_file | .kernel.pins" "$snap")
	[ "$got" = "$n" ] || { echo "mismatch: kernel counts $got pins on the file, the workload holds $n"; bad=1; }
	got=$(jq -r "$jq_file | .kernel.pinned_folios" "$snap")
	[ "$got" = "$n" ] || { echo "mismatch: kernel counts $got pinned folios, the workload pinned $n"; bad=1; }
	got=$(jq -r "$jq_file | .tracked.pins" "$snap")
	[ "$got" = "$n" ] || { echo "mismatch: gmemtop tracked $got pins on the file, expected $n"; bad=1; }
	got=$(jq -r "$jq_file | .tracked.pinned_folios" "$snap")
	[ "$got" = "$n" ] || { echo "mismatch: gmemtop tracked $got pinned folios, expected $n"; bad=1; }
	# per folio: tracked == kernel, and every pin attributed to the pinner
	got=$(jq -r "[.folios[] | select(.dev == \"$GMEM_DEV\" and .ino == $GMEM_INO)
		| select(((.tracked.pins // 0)) != ((.kernel.pins // 0)))] | length" "$snap")
	[ "$got" = 0 ] || { echo "mismatch: $got folios where tracked pins != kernel pins"; bad=1; }
	got=$(jq -r "[.folios[] | select(.dev == \"$GMEM_DEV\" and .ino == $GMEM_INO)
		| select((.tracked.pins // 0) > 0 and .tracked.pid != $PINNER_PID)] | length" "$snap")
	[ "$got" = 0 ] || { echo "mismatch: $got pinned folios attributed to another pid"; bad=1; }
	if [ "$n" -gt 0 ]; then
		got=$(jq -r ".processes[] | select(.pid == $PINNER_PID) | \"\(.pins) \(.comm) \(.longterm)\"" "$snap")
		echo "$got" | grep -Eqx "$n ${EXPECT_PROC:-gmem-pinner true}" ||
			{ echo "mismatch: process row for pid $PINNER_PID is '$got', expected '$n ${EXPECT_PROC:-gmem-pinner true}'"; bad=1; }
	else
		got=$(jq -r "[.processes[] | select(.pid == $PINNER_PID and .pins > 0)] | length" "$snap")
		[ "$got" = 0 ] || { echo "mismatch: pid $PINNER_PID still shown with pins"; bad=1; }
	fi
	[ "$bad" = 0 ] && info "snapshot shows exactly $n pins, matching the kernel"
	return "$bad"
}

# pinned_rows SNAPSHOT INO: "index addr mm pid" of every folio of file INO
# that holds tracked pins, into $T/rows.
pinned_rows() {
	jq -r ".folios[] | select(.ino == $2 and (.tracked.pins // 0) > 0)
		| \"\(.index) \(.tracked.addr) \(.tracked.mm) \(.tracked.pid)\"" "$1" >"$T/rows"
}

# check_addresses SNAPSHOT INO BASE N WHAT: N folios of file INO hold pins,
# each at BASE + index * 4096, all under one mm (printed as MM).
check_addresses() {
	local snap=$1 ino=$2 base=$3 n=$4 what=$5 bad=0 idx addr mm pid
	got=$(jq -r '.complete' "$snap")
	[ "$got" = true ] || fail "$what: snapshot incomplete: $(jq -c .stats "$snap")"
	pinned_rows "$snap" "$ino"
	[ "$(lines "$T/rows")" = "$n" ] || fail "$what: $(lines "$T/rows") pinned folios, expected $n"
	while read -r idx addr mm pid; do
		if [ "$addr" = null ] || [ "$mm" = null ]; then
			echo "mismatch: $what: folio $idx (pid $pid): address unknown"
			bad=1
		elif [ $((addr)) -ne $((base + idx * 4096)) ]; then
			echo "mismatch: $what: folio $idx at $addr, mapped at $(printf '0x%x' $((base + idx * 4096)))"
			bad=1
		fi
	done <"$T/rows"
	[ "$bad" = 0 ] || fail "$what: pin addresses differ from the mapping"
	MM=$(cut -d' ' -f3 "$T/rows" | sort -u)
	[ "$(echo "$MM" | wc -l)" = 1 ] || fail "$what: one process's pins under several mm: $(echo $MM)"
	info "$what: $n folios pinned at base $(printf '0x%x' $((base))) + index * 4096, mm $MM"
}

# pin_cycle N OFFSET: pin N pages, check, unpin, check 0.  Returns non-zero
# (after printing why) if any check failed.
pin_cycle() {
	local n=$1 off=$2 rc=0
	pinner pin-uring "$off" "$n"
	fresh_snapshot "$T/snap.json"
	check_pins "$n" "$T/snap.json" || rc=1
	pinner unpin-uring
	fresh_snapshot "$T/snap.json"
	check_pins 0 "$T/snap.json" || rc=1
	return $rc
}

# pinner_try CMD...: like pinner, but returns non-zero on "error" (REPLY has it)
# instead of failing, for commands whose failure may mean a missing feature.
pinner_try() {
	local before
	before=$(lines "$T/pin.out")
	echo "$*" >&3
	wait_for 120 has_lines "$T/pin.out" $((before + 1)) || fail "no answer to '$*'"
	REPLY=$(tail -n 1 "$T/pin.out")
	info "pinner: $* -> $REPLY"
	case "$REPLY" in ok*) return 0 ;; *) return 1 ;; esac
}

# check_api SNAPSHOT API STACK_REGEX: every folio of the pinner's file that
# holds tracked pins is attributed to the pinner's pid and to API, and its
# kernel stack has a frame matching STACK_REGEX (the API's own code).
check_api() {
	local snap=$1 api=$2 re=$3 sel got
	sel="[.folios[] | select(.ino == $GMEM_INO and (.tracked.pins // 0) > 0)]"
	got=$(jq -r "$sel | map(\"\(.tracked.pid) \(.tracked.api)\") | unique | join(\",\")" "$snap")
	[ "$got" = "$PINNER_PID $api" ] || { echo "mismatch: pins attributed to '$got', expected '$PINNER_PID $api'"; return 1; }
	jq -e "$sel | map(.tracked.stack | map(select(test(\"$re\"))) | length > 0) | all" "$snap" >/dev/null ||
		{ echo "mismatch: a stack has no frame matching '$re': $(jq -c "$sel | .[0].tracked.stack" "$snap")"; return 1; }
	got=$(jq -r ".processes[] | select(.pid == $PINNER_PID) | .apis | join(\",\")" "$snap")
	[ "$got" = "$api" ] || { echo "mismatch: process apis '$got', expected '$api'"; return 1; }
	info "pins attributed to pid $PINNER_PID, api $api, stack through /$re/"
}

# device_pin_cycle PIN_CMD UNPIN_CMD OFFSET N API STACK_REGEX SKIP_PATTERN:
# pin N pages at OFFSET through a device path of gmem-pinner, check the
# counts against the kernel's and the attribution, release, check 0.  A
# failure to pin whose message matches SKIP_PATTERN (the missing CONFIG_)
# skips the test.
device_pin_cycle() {
	local pin=$1 unpin=$2 off=$3 n=$4 api=$5 re=$6 skip_on=$7 got
	if ! pinner_try "$pin" "$off" "$n"; then
		case "$REPLY" in
		*$skip_on*) skip "$REPLY" ;;
		*) fail "$pin: $REPLY" ;;
		esac
	fi
	fresh_snapshot "$T/snap.json"
	check_pins "$n" "$T/snap.json" || fail "$api: counts differ"
	check_api "$T/snap.json" "$api" "$re" || fail "$api: attribution"
	pinner "$unpin"
	fresh_snapshot "$T/snap.json"
	check_pins 0 "$T/snap.json" || fail "$api: pins remain after $unpin"
	got=$(jq -r '"\(.stats.pins - .stats.unpins) \(.stats.unpins_untracked)"' "$T/snap.json")
	[ "$got" = "0 0" ] || fail "pins-unpins / unpins_untracked = '$got'"
}

# start_vmm PAGES [memfd|anon]: gmem-vmm (a VM, a guest_memfd if the kernel
# has one, a memfd or anonymous memory as shared backing) driven like the pinner: 'pinner CMD' works on
# it.  Sets PINNER_PID, VM_TYPE, HAS_GMEM, GMEM_DEV, GMEM_INO, BACKING_DEV,
# BACKING_INO.  Skips without a usable /dev/kvm.
start_vmm() {
	start_workload gmem-vmm "$@"
	set -- $(sed -n 's/^ready pid=\([0-9]*\) vm_type=\([0-9]*\) gmem=\([a-z]*\) gmem_dev=\([0-9:]*\) gmem_ino=\([0-9]*\) backing_dev=\([0-9:]*\) backing_ino=\([0-9]*\).*/\1 \2 \3 \4 \5 \6 \7/p' "$T/pin.out")
	[ "$1" = "$PINNER_PID" ] || fail "gmem-vmm reports pid $1, shell started $PINNER_PID"
	VM_TYPE=$2 HAS_GMEM=$3 GMEM_DEV=$4 GMEM_INO=$5 BACKING_DEV=$6 BACKING_INO=$7
	info "gmem-vmm pid $PINNER_PID: VM type $VM_TYPE, guest_memfd $HAS_GMEM ($GMEM_DEV $GMEM_INO), shared backing $BACKING_DEV $BACKING_INO"
}

# api_of SNAPSHOT: the APIs the pinner's tracked pins are attributed to,
# comma-separated.
api_of() {
	jq -r "[.folios[] | select(.ino == $GMEM_INO and (.tracked.pins // 0) > 0) | .tracked.api] | unique | join(\",\")" "$1"
}

# odirect_in_flight: where null_blk completes slowly (the testkernel tier's
# boot arguments), an async O_DIRECT read of 32 pages held in flight shows
# exactly its pins, attributed to O_DIRECT, released at completion (in
# interrupt context).  Returns non-zero when there is no slow null_blk.
odirect_in_flight() {
	local slow
	slow=$(cat /sys/module/null_blk/parameters/completion_nsec 2>/dev/null || echo 0)
	if ! [ -b /dev/nullb0 ] || [ "$slow" -lt 3000000000 ]; then
		info "no slow null_blk here (completion_nsec=$slow): in-flight part not run"
		return 1
	fi
	pinner odirect /dev/nullb0 read 0 200 32 async
	fresh_snapshot "$T/snap.json"
	# issued inline or by an io_uring worker thread of the pinner; O_DIRECT
	# pins are not long-term
	EXPECT_PROC='(gmem-pinner|iou-wrk-[0-9]+) false' check_pins 32 "$T/snap.json" ||
		fail "O_DIRECT in flight: counts differ"
	got=$(api_of "$T/snap.json")
	[ "$got" = o_direct ] || fail "O_DIRECT pins attributed to '$got'"
	pinner odirect-wait
	fresh_snapshot "$T/snap.json"
	check_pins 0 "$T/snap.json" || fail "pins remain after the slow O_DIRECT read completed"
	info "O_DIRECT held in flight on null_blk: 32 pins, api o_direct, released at completion"
}

# gup_test_cycle MODE: gup_test START pins 100 pages through the slow or
# fast GUP path, STOP releases them with unpin_user_pages(): counts equal
# the kernel's, the API is gup_test, back to zero.
gup_test_cycle() {
	pinner pin-gup-test 10 100 "$1"
	fresh_snapshot "$T/snap.json"
	check_pins 100 "$T/snap.json" || fail "gup_test ($1): counts differ"
	got=$(api_of "$T/snap.json")
	[ "$got" = gup_test ] || fail "gup_test ($1) pins attributed to '$got'"
	pinner unpin-gup-test
	fresh_snapshot "$T/snap.json"
	check_pins 0 "$T/snap.json" || fail "gup_test ($1): pins remain after STOP"
	info "gup_test $1: 100 pins, attributed, all released by unpin_user_pages"
}

# use_kprobes: the following start_gmemtop runs gmemtop --attach kprobe and
# checks that it says so; skips where the kernel's config lacks kprobes.
use_kprobes() {
	local cfg opt
	cfg=/boot/config-$(uname -r)
	for opt in CONFIG_KPROBES CONFIG_KPROBE_EVENTS CONFIG_KRETPROBES; do
		[ -r "$cfg" ] && ! grep -q "^$opt=y" "$cfg" && skip "$opt is not set"
	done
	GMEMTOP_ARGS="--attach kprobe" GMEMTOP_ATTACH=kprobe
}
