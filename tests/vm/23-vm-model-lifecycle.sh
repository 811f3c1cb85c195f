#!/bin/sh
# The guest memory model, followed from creation to release: a VM made
# while gmemtop runs is shown with its creator and type; its guest_memfd
# file belongs to it; a memslot shows its gfn range, userspace_addr, the
# guest_memfd and offset it is bound to, and its shared backing (a memfd);
# io_uring pins on the shared backing are tracked, attributed to the
# memslot (gfn = base_gfn + page), the VM and the process; and everything
# disappears once deleted and closed.  Ground truth: what gmem-vmm did.
. "$(dirname "$0")/lib/common.sh"
command -v gmem-vmm >/dev/null || fail "gmem-vmm is not in the VM (pass it with -p)"

start_gmemtop
grep -q "not tracked" "$T/top.err" && fail "gmemtop does not track VMs here: $(cat "$T/top.err")"
start_vmm 256
vm=".vms[] | select(.pid == $PINNER_PID)"

fresh_snapshot "$T/snap.json"
got=$(jq -r "$vm | \"\(.vm) \(.comm) \(.type) \(.preexisting)\"" "$T/snap.json")
[ "$got" = "kvm-$PINNER_PID gmem-vmm $VM_TYPE false" ] ||
	fail "VM row '$got', expected 'kvm-$PINNER_PID gmem-vmm $VM_TYPE false'"
if [ "$HAS_GMEM" = yes ]; then
	got=$(jq -r ".files[] | select(.ino == $GMEM_INO and .dev == \"$GMEM_DEV\") | \"\(.vm) \(.shared_backing)\"" "$T/snap.json")
	[ "$got" = "kvm-$PINNER_PID false" ] || fail "guest_memfd file: vm/shared_backing '$got'"
	got=$(jq -r "$vm | .guest_memfd_files" "$T/snap.json")
	[ "$got" = 1 ] || fail "the VM shows $got guest_memfd files, gmem-vmm made 1"
fi
info "VM kvm-$PINNER_PID (type $VM_TYPE) shown from its creation"

pinner slot 3 4096 256
uaddr=$(echo "$REPLY" | sed -n 's/.* uaddr \([0-9]*\)$/\1/p')
fresh_snapshot "$T/snap.json"
slot="$vm | .memslots[] | select(.slot == 3)"
got=$(jq -r "$slot | \"\(.as_id) \(.base_gfn) \(.npages) \(.userspace_addr) \(.preexisting)\"" "$T/snap.json")
[ "$got" = "0 4096 256 $uaddr false" ] ||
	fail "memslot 3: as/base_gfn/npages/uaddr/preexisting '$got', expected '0 4096 256 $uaddr false'"
got=$(jq -r "$slot | .shared_backing | \"\(.dev) \(.ino) \(.pgoff)\"" "$T/snap.json")
[ "$got" = "$BACKING_DEV $BACKING_INO 0" ] || fail "memslot 3 shared backing '$got', expected '$BACKING_DEV $BACKING_INO 0'"
if [ "$HAS_GMEM" = yes ]; then
	got=$(jq -r "$slot | .guest_memfd | \"\(.dev) \(.ino) \(.pgoff)\"" "$T/snap.json")
	[ "$got" = "$GMEM_DEV $GMEM_INO 0" ] || fail "memslot 3 guest_memfd '$got', expected '$GMEM_DEV $GMEM_INO 0'"
fi
info "memslot 3: gfn 4096+256 at $uaddr, guest_memfd $HAS_GMEM, shared backing ino $BACKING_INO"

pinner pin-uring 10 64
fresh_snapshot "$T/snap.json"
got=$(jq -r '.complete' "$T/snap.json")
[ "$got" = true ] || fail "snapshot incomplete: $(jq -c .stats "$T/snap.json")"
got=$(jq -r "$vm | \"\(.shared_pins) \(.shared_pinned_folios)\"" "$T/snap.json")
[ "$got" = "64 64" ] || fail "VM shared pins/folios '$got', gmem-vmm pinned 64 pages"
got=$(jq -r "$slot | \"\(.shared_pins) \(.gmem_pins)\"" "$T/snap.json")
[ "$got" = "64 0" ] || fail "memslot 3 shared/gmem pins '$got', expected '64 0'"
# every pinned backing folio: the process, the memslot, gfn = 4096 + page
got=$(jq -r "[.folios[] | select(.ino == $BACKING_INO and (.tracked.pins // 0) > 0)
	| select(.tracked.pins == 1 and .tracked.pid == $PINNER_PID and .tracked.api == \"io_uring\"
		and .vm == \"kvm-$PINNER_PID\" and .memslot == 3 and .backing == \"shared\"
		and .gfn == 4096 + .index and .index >= 10 and .index < 74)] | length" "$T/snap.json")
[ "$got" = 64 ] || { jq -c "[.folios[] | select(.ino == $BACKING_INO)][0:3]" "$T/snap.json";
	fail "$got of 64 pinned backing folios attributed to the process, memslot 3 and their gfn"; }
got=$(jq -r ".processes[] | select(.pid == $PINNER_PID) | \"\(.pins) \(.longterm)\"" "$T/snap.json")
[ "$got" = "64 true" ] || fail "process row '$got', expected '64 true'"
# the kernel's own count on the backing memfd (the scan walks it too)
got=$(jq -r ".files[] | select(.ino == $BACKING_INO) | \"\(.shared_backing) \(.kernel.pins) \(.tracked.pins) \(.untracked_pins)\"" "$T/snap.json")
[ "$got" = "true 64 64 0" ] || fail "backing file shared/kernel/tracked/untracked '$got', expected 'true 64 64 0'"
info "64 io_uring pins on the shared backing: tracked, equal to the kernel's count, attributed to memslot 3"
# the table: the VM's row and its memslot's line under it (gfn 4096 =
# 0x1000); to this second gmemtop, started after the pins, both are
# pre-existing and the 64 pins (the kernel's count) untracked
gmemtop -b >"$T/table.txt" 2>"$T/table.err" || fail "gmemtop -b: $(cat "$T/table.err")"
sed -n '/^VMS$/,/^PROCESSES$/p' "$T/table.txt"
grep -Eq "^kvm-$PINNER_PID +$PINNER_PID +gmem-vmm +- +[0-9]+ +[0-9]+ +0 +64 +64 +pre-existing$" "$T/table.txt" ||
	fail "table: no row for VM kvm-$PINNER_PID with 64 untracked pins, pre-existing"
grep -Eq "^ +3 +0 +0x000001000-0x0000010ff +0x[0-9a-f]+-0x[0-9a-f]+ .* $BACKING_INO\+0x0 +0 +64 +\(pre-existing\)$" "$T/table.txt" ||
	fail "table: no line for memslot 3 (gfn 0x1000-0x10ff, backing $BACKING_INO+0x0, pre-existing)"

pinner unpin-uring
fresh_snapshot "$T/snap.json"
got=$(jq -r "$vm | .shared_pins" "$T/snap.json")
[ "$got" = 0 ] || fail "VM shared pins $got after unpinning, expected 0"

pinner delete-slot 3
fresh_snapshot "$T/snap.json"
got=$(jq -r "[$vm | .memslots[]] | length" "$T/snap.json")
[ "$got" = 0 ] || fail "$got memslots left after deleting the only one"
pinner close-gmem
pinner close-vm
fresh_snapshot "$T/snap.json"
got=$(jq -r "[$vm] | length" "$T/snap.json")
[ "$got" = 0 ] || fail "the VM is still shown after its fds were closed"
[ "$HAS_GMEM" = yes ] && { got=$(jq -r "[.files[] | select(.ino == $GMEM_INO and .dev == \"$GMEM_DEV\")] | length" "$T/snap.json")
	[ "$got" = 0 ] || fail "the guest_memfd file is still shown after it was closed"; }
got=$(jq -r '"\(.complete) \(.stats.lost_model_map_full)"' "$T/snap.json")
[ "$got" = "true 0" ] || fail "complete/lost_model_map_full '$got'"
echo "PASS: VM, guest_memfd, memslot and shared-backing pins shown from creation to release"
