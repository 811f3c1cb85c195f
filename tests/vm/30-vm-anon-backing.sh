#!/bin/sh
# Anonymous shared backing (QEMU's and Firecracker's default guest RAM):
# a memslot on anonymous private memory not yet faulted in has no anon_vma
# to register; gmemtop registers it at the first fault, which here is the
# io_uring pin itself, and tracks those pins (memslot, gfn, process).  A
# second memslot on the same memory, made after the fault, is registered
# at once.  Ground truth: what gmem-vmm did and the kernel's pin counts.
. "$(dirname "$0")/lib/common.sh"
command -v gmem-vmm >/dev/null || fail "gmem-vmm is not in the VM (pass it with -p)"

start_gmemtop
grep -q "not tracked" "$T/top.err" && fail "gmemtop does not track VMs here: $(cat "$T/top.err")"
start_vmm 256 anon
grep -q 'backing=anon' "$T/pin.out" || fail "gmem-vmm did not map anonymous memory: $(cat "$T/pin.out")"
vm=".vms[] | select(.pid == $PINNER_PID)"

# check_slot SLOT BASE_GFN FIRST_GFN N: N pages from FIRST_GFN pinned once
# by the VMM through io_uring, on memslot SLOT's anonymous backing
check_slot() {
	fresh_snapshot "$T/snap.json"
	got=$(jq -r '"\(.complete) \(.stats.lost)"' "$T/snap.json")
	[ "$got" = "true 0" ] || fail "snapshot complete/lost '$got': $(jq -c .stats "$T/snap.json")"
	slot="$vm | .memslots[] | select(.slot == $1)"
	id=$(jq -r "$slot | .shared_backing | select(.anonymous and .dev == \"0:0\") | .ino" "$T/snap.json")
	[ -n "$id" ] && [ "$id" != null ] ||
		fail "memslot $1: shared backing not an anonymous one with an id: $(jq -c "$slot" "$T/snap.json")"
	got=$(jq -r "$slot | .shared_pins" "$T/snap.json")
	[ "$got" = "$4" ] || fail "memslot $1 shared pins $got, gmem-vmm pinned $4"
	got=$(jq -r "[.folios[] | select(.dev == \"0:0\" and .ino == $id and (.tracked.pins // 0) > 0)
		| select(.tracked.pins == 1 and .tracked.pid == $PINNER_PID and .tracked.api == \"io_uring\"
			and .vm == \"kvm-$PINNER_PID\" and .memslot == $1 and .backing == \"shared\"
			and .gfn >= $3 and .gfn < $3 + $4)] | length" "$T/snap.json")
	[ "$got" = "$4" ] || { jq -c "[.folios[] | select(.dev == \"0:0\")][0:3]" "$T/snap.json";
		fail "$got of $4 pinned anonymous folios attributed to the VMM, memslot $1 and gfn $3+"; }
	got=$(jq -r "$vm | .shared_pins" "$T/snap.json")
	[ "$got" = "$4" ] || fail "VM shared pins $got, gmem-vmm pinned $4"
}

pinner slot 3 4096 128 0
fresh_snapshot "$T/snap.json"
got=$(jq -c "$vm | .memslots[] | select(.slot == 3) | .shared_backing" "$T/snap.json")
[ "$got" = '{"anonymous":true,"dev":"0:0","ino":null,"pgoff":'"$(jq -r "$vm | .memslots[] | select(.slot == 3) | .shared_backing.pgoff" "$T/snap.json")"'}' ] ||
	fail "memslot 3 before any fault: shared backing $got, expected anonymous without id"
info "memslot 3 on unfaulted anonymous memory: waiting for its anon_vma"

pinner pin-uring 10 64
check_slot 3 4096 4106 64
info "64 io_uring pins on anonymous backing faulted in by the pin itself: tracked on memslot 3"
pinner unpin-uring
fresh_snapshot "$T/snap.json"
got=$(jq -r "$vm | .shared_pins" "$T/snap.json")
[ "$got" = 0 ] || fail "VM shared pins $got after unpinning, expected 0"

# the VMA has its anon_vma now: a new memslot on it is registered at once
pinner slot 4 8192 128 128
pinner pin-uring 130 16
check_slot 4 8192 8194 16
pinner unpin-uring

# pins on anonymous memory of no memslot stay untracked (foreign memory)
pinner delete-slot 3
pinner delete-slot 4
pinner close-gmem
pinner close-vm
fresh_snapshot "$T/snap.json"
got=$(jq -r "[$vm] | length" "$T/snap.json")
[ "$got" = 0 ] || fail "the VM is still shown after its fds were closed"
echo "PASS: anonymous shared backing registered at its first fault and at memslot creation; pins tracked on both memslots"
