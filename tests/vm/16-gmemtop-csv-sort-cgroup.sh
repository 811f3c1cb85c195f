#!/bin/sh
# gmemtop -o csv carries -j's numbers: for the same pins (68 folios, 4 of
# them pinned twice, by a pinner in its own cgroup), the CSV's process, file
# and folio rows equal the JSON's field by field, and both equal the
# workload's count.  -c with the pinner's cgroup (by path) shows exactly its
# pins, every folio carrying the cgroup directory's inode number as its
# cgroup id; -c with an empty cgroup shows no process, file or folio.
# -s pins (the default) puts the doubly pinned folios first, -s file orders
# by index.
. "$(dirname "$0")/lib/common.sh"

CG=/sys/fs/cgroup
grep -q "^[^ ]* $CG cgroup2 " /proc/mounts || mount -t cgroup2 none "$CG" ||
	skip "cannot mount cgroup2 on $CG"
PIN_CG=gmemtest-pin.$$
OTHER_CG=$CG/gmemtest-other.$$
mkdir "$CG/$PIN_CG" "$OTHER_CG" || fail "cannot create cgroups under $CG"
PIN_CG_ID=$(stat -c %i "$CG/$PIN_CG")
OTHER_CG_ID=$(stat -c %i "$OTHER_CG")
CSV_PID= OTHER_PID=
cleanup_16() {
	kill $CSV_PID $OTHER_PID 2>/dev/null
	cleanup
	rmdir "$CG/$PIN_CG" "$OTHER_CG" 2>/dev/null
}
trap cleanup_16 EXIT

start_pinner 8
echo "$PINNER_PID" >"$CG/$PIN_CG/cgroup.procs" || fail "cannot move the pinner into $PIN_CG"
info "pinner in cgroup $PIN_CG (id $PIN_CG_ID); empty cgroup id $OTHER_CG_ID"

# every instance must run before the pins are taken, to track them
start_gmemtop
gmemtop -b -o csv -s file -c "$PIN_CG" 0.5 1000000 >"$T/top.csv" 2>"$T/csv.err" &
CSV_PID=$!
gmemtop -b -j -c "$OTHER_CG" 0.5 1000000 >"$T/other.jsonl" 2>"$T/other.err" &
OTHER_PID=$!
# the CSV starts with 4 header lines, then a snapshot row
wait_for 120 has_lines "$T/top.csv" 5 || fail "gmemtop -o csv: no snapshot: $(cat "$T/csv.err")"
wait_for 120 has_lines "$T/other.jsonl" 1 || fail "gmemtop -c other: no snapshot: $(cat "$T/other.err")"

pinner pin-uring 0 64
pinner pin-uring 60 8

# csv_rows: the number of snapshot rows so far (header excluded)
csv_rows() { awk -F, '$1 == "snapshot" && $2 != "time_ns"' "$T/top.csv" | wc -l; }
csv_has_rows() { [ "$(csv_rows)" -gt "$1" ]; }
# fresh_csv FILE: the headers and the first snapshot taken entirely after
# this call (complete: the one after it has begun)
fresh_csv() {
	local want=$(($(csv_rows) + 2))
	wait_for 120 csv_has_rows "$want" || fail "gmemtop -o csv stopped: $(cat "$T/csv.err")"
	awk -F, -v want="$want" '$2 == "time_ns" { print; next }
		$1 == "snapshot" { n++ } n == want' "$T/top.csv" >"$1"
}
fresh_snapshot "$T/snap.json"
fresh_csv "$T/snap.csv"
grep -q '"' "$T/snap.csv" && fail "a quoted CSV field: this test's awk does not parse them"

# csv_cols RECORD COL...: those columns of RECORD's rows, by header name
csv_cols() {
	local rec=$1
	shift
	awk -F, -v rec="$rec" -v cols="$*" '
		$1 != rec { next }
		$2 == "time_ns" { for (i = 1; i <= NF; i++) idx[$i] = i; next }
		{ n = split(cols, c, " "); line = ""
		  for (i = 1; i <= n; i++) {
			if (!(c[i] in idx)) { print "no column " c[i]; exit 1 }
			line = line (i > 1 ? "," : "") $(idx[c[i]])
		  }
		  print line }' "$T/snap.csv" | sort
}
# json_cols FILTER EXPR...: the same from the JSON, null as an empty field
json_cols() {
	local sel=$1
	shift
	local e="" x
	for x in "$@"; do e="$e${e:+, }($x | if . == null then \"\" elif type == \"array\" then join(\";\") else tostring end)"; done
	jq -r "$sel | [$e] | join(\",\")" "$T/snap.json" | sort
}
rc=0
same() { # WHAT CSV JSON
	if [ "$2" = "$3" ] && [ -n "$2" ]; then
		info "$1: CSV = JSON ($(echo "$2" | wc -l) rows)"
	else
		echo "mismatch: $1"; echo "CSV:"; echo "$2" | head -n 8; echo "JSON:"; echo "$3" | head -n 8
		rc=1
	fi
}

# not the stacks: an instance that attaches after another one sees that
# one's BPF programs in its stacks (bpf_prog_*_walk_slot frames)
mine=".folios[] | select(.tracked.cgroup_id == $PIN_CG_ID)"
same "folios" \
	"$(csv_cols folio addr dev ino index tracked_pins tracked_gets tracked_pid tracked_tid \
		tracked_comm tracked_longterm tracked_cgroup_id tracked_api \
		kernel_refcount kernel_mapcount kernel_pins kernel_order untracked_pins)" \
	"$(json_cols "$mine" .folio .dev .ino .index .tracked.pins .tracked.gets .tracked.pid \
		.tracked.tid .tracked.comm .tracked.longterm .tracked.cgroup_id .tracked.api \
		.kernel.refcount .kernel.mapcount .kernel.pins .kernel.order .untracked_pins)"
got=$(csv_cols folio tracked_stack | grep -cv 'io_sqe_buffer_register+')
[ "$got" = 0 ] || { echo "mismatch: $got CSV folio stacks without io_uring's registration"; rc=1; }
same "processes" \
	"$(csv_cols proc pid comm pinned_folios pins gets longterm apis)" \
	"$(json_cols ".processes[] | select(.pid == $PINNER_PID)" .pid .comm .pinned_folios .pins \
		.gets .longterm .apis)"
same "files" \
	"$(csv_cols file dev ino size owner_pid owner_comm owner_fd tracked_pinned_folios tracked_pins \
		kernel_folios kernel_pinned_folios kernel_pins kernel_extra_ref_folios kernel_complete \
		untracked_pins)" \
	"$(json_cols ".files[] | select(.dev == \"$GMEM_DEV\" and .ino == $GMEM_INO)" .dev .ino .size \
		.owner.pid .owner.comm .owner.fd .tracked.pinned_folios .tracked.pins .kernel.folios \
		.kernel.pinned_folios .kernel.pins .kernel.extra_ref_folios .kernel.complete .untracked_pins)"
same "snapshot" "$(csv_cols snapshot tracking scanned complete pins unpins lost)" \
	"$(json_cols . .tracking .scanned .complete .stats.pins .stats.unpins .stats.lost)"

# ground truth: the workload holds 72 pins on 68 folios, all from its cgroup
got=$(csv_cols file tracked_pinned_folios tracked_pins kernel_pinned_folios kernel_pins)
[ "$got" = "68,72,68,72" ] || { echo "mismatch: file tracked/kernel folios,pins = '$got', expected 68,72,68,72"; rc=1; }
got=$(jq -r "[.folios[] | select(.ino == $GMEM_INO and (.tracked.pins // 0) > 0)
	| select(.tracked.cgroup_id != $PIN_CG_ID)] | length" "$T/snap.json")
[ "$got" = 0 ] || { echo "mismatch: $got pinned folios not in cgroup id $PIN_CG_ID"; rc=1; }
got=$(csv_cols snapshot filter_cgroup_id sort)
[ "$got" = "$PIN_CG_ID,file" ] || { echo "mismatch: CSV filter_cgroup_id,sort = '$got'"; rc=1; }

# sort orders: JSON (pins) starts with the 4 doubly pinned folios, by index;
# the CSV (-s file) lists folios by index
got=$(jq -c '[.folios[0:5][] | "\(.index):\(.tracked.pins)"]' "$T/snap.json")
[ "$got" = '["60:2","61:2","62:2","63:2","0:1"]' ] || { echo "mismatch: -s pins order $got"; rc=1; }
got=$(awk -F, '$1 == "folio" && $2 != "time_ns" { printf "%s ", $6 }' "$T/snap.csv")
[ "$got" = "$(seq -s ' ' 0 67) " ] || { echo "mismatch: -s file order: $got"; rc=1; }

# the empty cgroup: nothing, and it says which filter it applied
n=$(lines "$T/other.jsonl")
wait_for 60 has_lines "$T/other.jsonl" $((n + 2)) || fail "gmemtop -c other stopped: $(cat "$T/other.err")"
got=$(sed -n "$((n + 1))p" "$T/other.jsonl" |
	jq -r '"\(.processes | length) \(.files | length) \(.folios | length) \(.filter.cgroup_id) \(.complete)"')
[ "$got" = "0 0 0 $OTHER_CG_ID true" ] ||
	{ echo "mismatch: -c empty cgroup shows processes/files/folios/filter/complete '$got'"; rc=1; }
[ $rc = 0 ] && info "-c $OTHER_CG: no process, file or folio"

pinner unpin-uring
[ $rc = 0 ] || fail "CSV, JSON, the cgroup filter or the sort order disagree"
echo "PASS: CSV rows equal JSON's; -c shows the cgroup's 72 pins, an empty cgroup none; -s orders"
