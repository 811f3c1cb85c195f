#!/bin/sh
# Where each pin was taken, and by which user code: every pinned folio's
# holder shows the mm and the user address the outer GUP call pinned it at,
# and (gmemtop --ustack) the holder's user stack, symbolised.  Ground truth:
# the workloads' own mmap addresses (page i of the file is at base + i *
# 4096) and their own function names.
#  - guest_memfd mapped by gmem-pinner (where the kernel can mmap it):
#    io_uring fixed buffer, O_DIRECT held in flight (slow null_blk), and a
#    second process whose mm differs;
#  - a memslot's shared backing (a memfd) pinned by gmem-vmm, and by a
#    second VMM whose mm differs: every kernel, 6.12 included.
. "$(dirname "$0")/lib/common.sh"
command -v gmem-vmm >/dev/null || fail "gmem-vmm is not in the VM (pass it with -p)"

# check_ustack SNAPSHOT INO PROGRAM: each pinned folio's user stack has a
# frame in PROGRAM's own code (main or a cmd_* function), named from its
# symbol table.
check_ustack() {
	local re="^(main|cmd_[a-z_]+)\\\\+0x[0-9a-f]+ \\\\($3\\\\+0x[0-9a-f]+\\\\)$"
	got=$(jq -r "[.folios[] | select(.ino == $2 and (.tracked.pins // 0) > 0)
		| select((.tracked.ustack // []) | map(select(test(\"$re\"))) | length == 0)] | length" "$1")
	[ "$got" = 0 ] || fail "$got pinned folios without a $3 frame in their user stack: $(jq -c "[.folios[] | select(.ino == $2 and (.tracked.pins // 0) > 0)][0].tracked.ustack" "$1")"
	info "user stacks name $3's code: $(jq -r "[.folios[] | select(.ino == $2 and (.tracked.pins // 0) > 0)][0].tracked.ustack | join(\" < \")" "$1")"
}

# second PROGRAM ARG CMD...: another workload on fd 4 (its answers in
# $T/pin2.out), given CMDs one at a time; waits for each answer.  Sets PID2.
second() {
	local prog=$1 arg=$2 n=1
	shift 2
	rm -f "$T/pin2.in"
	mkfifo "$T/pin2.in"
	"$prog" "$arg" <"$T/pin2.in" >"$T/pin2.out" 2>&1 &
	PID2=$!
	exec 4>"$T/pin2.in"
	wait_for 60 grep -q '^ready' "$T/pin2.out" || fail "second $prog did not start: $(cat "$T/pin2.out")"
	for cmd in "$@"; do
		n=$((n + 1))
		echo "$cmd" >&4
		wait_for 60 has_lines "$T/pin2.out" "$n" || fail "second $prog: no answer to '$cmd'"
		case "$(tail -n 1 "$T/pin2.out")" in ok*) ;; *) fail "second $prog: $cmd -> $(tail -n 1 "$T/pin2.out")" ;; esac
	done
}
second_quit() {
	echo quit >&4
	exec 4>&-
	wait "$PID2"
}

start_gmemtop --ustack
[ "$(jq -r .ustack "$T/top.jsonl" | head -n 1)" = true ] || fail "gmemtop --ustack: snapshot says ustack false"

# ---- guest_memfd, mapped by its owner ----
echo quit | gmem-pinner 1 >"$T/probe.out" 2>&1
rc=$?
if [ "$rc" = 4 ]; then
	info "guest_memfd part not run: $(tail -n 1 "$T/probe.out")"
else
	start_pinner 8
	pinner addr
	base=${REPLY#ok base=}
	pinner pin-uring 16 32
	fresh_snapshot "$T/snap.json"
	check_addresses "$T/snap.json" "$GMEM_INO" "$base" 32 "io_uring fixed buffer"
	mm1=$MM
	check_ustack "$T/snap.json" "$GMEM_INO" gmem-pinner

	# a second process: its own mm, its own addresses
	second gmem-pinner 8 addr "pin-uring 0 8"
	ino2=$(sed -n 's/^ready .* ino=\([0-9]*\) .*/\1/p' "$T/pin2.out")
	base2=$(sed -n 's/^ok base=//p' "$T/pin2.out")
	fresh_snapshot "$T/snap.json"
	check_addresses "$T/snap.json" "$ino2" "$base2" 8 "second process (pid $PID2)"
	[ "$MM" != "$mm1" ] || fail "two processes' pins under one mm $MM"
	check_addresses "$T/snap.json" "$GMEM_INO" "$base" 32 "first process, meanwhile"
	[ "$MM" = "$mm1" ] || fail "the first process's mm changed from $mm1 to $MM"
	second_quit
	pinner unpin-uring

	# O_DIRECT held in flight: null_blk with slow completions, from the boot
	# parameters (testkernel) or loaded so here (Debian's module, when the
	# VM has it: tools/check passes null_blk on their tiers)
	slow=$(cat /sys/module/null_blk/parameters/completion_nsec 2>/dev/null || echo 0)
	loaded_nullb=
	if [ "$slow" -lt 3000000000 ] && [ -e /lib/modules/null_blk.ko ]; then
		rmmod null_blk 2>/dev/null
		insmod /lib/modules/null_blk.ko irqmode=2 completion_nsec=5000000000 &&
			loaded_nullb=1 && wait_for 10 test -b /dev/nullb0
		slow=$(cat /sys/module/null_blk/parameters/completion_nsec 2>/dev/null || echo 0)
	fi
	if [ -b /dev/nullb0 ] && [ "$slow" -ge 3000000000 ]; then
		pinner odirect /dev/nullb0 read 0 100 16 async
		fresh_snapshot "$T/snap.json"
		check_addresses "$T/snap.json" "$GMEM_INO" "$base" 16 "O_DIRECT read in flight"
		[ "$MM" = "$mm1" ] || fail "O_DIRECT pins under mm $MM, the process's is $mm1"
		pinner odirect-wait
		[ -z "$loaded_nullb" ] || rmmod null_blk
	else
		info "no slow null_blk here (completion_nsec=$slow): O_DIRECT part not run"
	fi
	echo quit >&3
	exec 3>&-
	wait "$PINNER_PID"
	PINNER_PID=
fi

# ---- a memslot's shared backing (memfd), on every kernel ----
start_vmm 64
pinner slot 0 0 64
uaddr=$(echo "$REPLY" | sed -n 's/.* uaddr \([0-9]*\)$/\1/p')
pinner pin-uring 4 16
fresh_snapshot "$T/snap.json"
check_addresses "$T/snap.json" "$BACKING_INO" "$uaddr" 16 "memslot shared backing"
check_ustack "$T/snap.json" "$BACKING_INO" gmem-vmm
# (not compared with the gmem-pinner's mm: that process has exited and the
# kernel may give its freed mm_struct to this one; the second VMM below is
# the cross-process check, both alive)
mm_vmm=$MM
# a second VMM: its own mm, its own addresses
second gmem-vmm 64 "slot 0 0 64" "pin-uring 0 8"
ino2=$(sed -n 's/^ready .* backing_ino=\([0-9]*\) .*/\1/p' "$T/pin2.out")
uaddr2=$(sed -n 's/^ok slot .* uaddr \([0-9]*\)$/\1/p' "$T/pin2.out")
fresh_snapshot "$T/snap.json"
check_addresses "$T/snap.json" "$ino2" "$uaddr2" 8 "second VMM (pid $PID2)"
[ "$MM" != "$mm_vmm" ] || fail "two VMMs' pins under one mm $MM"
check_addresses "$T/snap.json" "$BACKING_INO" "$uaddr" 16 "first VMM, meanwhile"
[ "$MM" = "$mm_vmm" ] || fail "the first VMM's mm changed from $mm_vmm to $MM"
second_quit
echo "PASS: pin addresses equal the workloads' mappings, one mm per process, user stacks name their code"
