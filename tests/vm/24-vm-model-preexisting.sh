#!/bin/sh
# A VM set up before gmemtop starts: the scan finds it, its memslot (gfn
# range, userspace_addr, guest_memfd and shared backing) and the pins
# already held on the shared backing, all marked pre-existing (pins as
# untracked, not zero); pins taken afterwards are tracked; their release
# never drives a count negative; the VM disappears once closed.
. "$(dirname "$0")/lib/common.sh"
command -v gmem-vmm >/dev/null || fail "gmem-vmm is not in the VM (pass it with -p)"

start_vmm 128
pinner slot 0 256 128
uaddr=$(echo "$REPLY" | sed -n 's/.* uaddr \([0-9]*\)$/\1/p')
pinner pin-uring 0 32
start_gmemtop
vm=".vms[] | select(.pid == $PINNER_PID)"
fresh_snapshot "$T/snap.json"
got=$(jq -r "$vm | \"\(.vm) \(.preexisting) \(.age_ms)\"" "$T/snap.json")
[ "$got" = "kvm-$PINNER_PID true null" ] || fail "VM row '$got', expected 'kvm-$PINNER_PID true null'"
slot="$vm | .memslots[] | select(.slot == 0)"
got=$(jq -r "$slot | \"\(.base_gfn) \(.npages) \(.userspace_addr) \(.preexisting) \(.shared_backing.ino)\"" "$T/snap.json")
[ "$got" = "256 128 $uaddr true $BACKING_INO" ] ||
	fail "memslot 0 '$got', expected '256 128 $uaddr true $BACKING_INO'"
if [ "$HAS_GMEM" = yes ]; then
	got=$(jq -r "$slot | .guest_memfd.ino" "$T/snap.json")
	[ "$got" = "$GMEM_INO" ] || fail "memslot 0 guest_memfd ino '$got', expected $GMEM_INO"
fi
f=".files[] | select(.ino == $BACKING_INO)"
got=$(jq -r "$f | \"\(.vm) \(.kernel.pins) \(.tracked.pins) \(.untracked_pins)\"" "$T/snap.json")
[ "$got" = "kvm-$PINNER_PID 32 0 32" ] ||
	fail "backing file vm/kernel/tracked/untracked '$got', expected 'kvm-$PINNER_PID 32 0 32'"
got=$(jq -r "$vm | .untracked_pins" "$T/snap.json")
[ "$got" = 32 ] || fail "the VM shows $got untracked pins, 32 were held before gmemtop started"
info "pre-existing VM, memslot and 32 pins found by the scan"

pinner unpin-uring
pinner pin-uring 64 16
fresh_snapshot "$T/snap.json"
got=$(jq -r "$f | \"\(.kernel.pins) \(.tracked.pins) \(.untracked_pins)\"" "$T/snap.json")
[ "$got" = "16 16 0" ] || fail "after re-pinning 16: kernel/tracked/untracked '$got', expected '16 16 0'"
got=$(jq -r "[.folios[] | select(.ino == $BACKING_INO and .tracked.pins == 1 and .memslot == 0
	and .gfn == 256 + .index)] | length" "$T/snap.json")
[ "$got" = 16 ] || fail "$got of 16 new pins attributed to memslot 0 with their gfn"
got=$(jq -r '"\(.stats.unpins_untracked) \(.complete)"' "$T/snap.json")
[ "$got" = "32 true" ] || fail "unpins_untracked/complete '$got', expected '32 true'"
pinner unpin-uring
pinner delete-slot 0
pinner close-gmem
pinner close-vm
fresh_snapshot "$T/snap.json"
got=$(jq -r "[$vm] | length" "$T/snap.json")
[ "$got" = 0 ] || fail "the VM is still shown after it was closed"
echo "PASS: a VM made before gmemtop started: VM, memslot and held pins shown as pre-existing"
