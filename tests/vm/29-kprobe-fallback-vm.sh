#!/bin/sh
# The kprobe fallback, continued (28-kprobe-fallback does io_uring and
# O_DIRECT): with gmemtop --attach kprobe, a VM with its memslot is
# followed from creation to release (as 23: kretprobes on kvm_arch_init_vm
# and the guest_memfd binding, kprobes on the commit and
# kvm_arch_destroy_vm; also on 6.12, without host-mappable guest_memfd),
# and gup_test long-term pins through the slow and fast GUP paths (as 15,
# testkernel; released by unpin_user_pages(), the array walk) are exact
# and attributed.  Then --attach auto must pick fentry here,
# where trampolines work.
. "$(dirname "$0")/lib/common.sh"

use_kprobes
start_gmemtop

# a VM and its memslot, from creation to release
[ -c /dev/kvm ] || skip "no /dev/kvm (CONFIG_KVM): the VM model cannot be tried"
start_vmm 256
vm=".vms[] | select(.pid == $PINNER_PID)"
pinner slot 3 4096 256
uaddr=$(echo "$REPLY" | sed -n 's/.* uaddr \([0-9]*\)$/\1/p')
fresh_snapshot "$T/snap.json"
got=$(jq -r "$vm | \"\(.vm) \(.comm) \(.type) \(.preexisting)\"" "$T/snap.json")
[ "$got" = "kvm-$PINNER_PID gmem-vmm $VM_TYPE false" ] ||
	fail "VM row '$got', expected 'kvm-$PINNER_PID gmem-vmm $VM_TYPE false'"
got=$(jq -r "$vm | .memslots[] | select(.slot == 3) | \"\(.base_gfn) \(.npages) \(.userspace_addr) \(.preexisting) \(.shared_backing.ino)\"" "$T/snap.json")
[ "$got" = "4096 256 $uaddr false $BACKING_INO" ] ||
	fail "memslot 3: base_gfn/npages/uaddr/preexisting/backing '$got', expected '4096 256 $uaddr false $BACKING_INO'"
if [ "$HAS_GMEM" = yes ]; then
	got=$(jq -r ".files[] | select(.ino == $GMEM_INO and .dev == \"$GMEM_DEV\") | .vm" "$T/snap.json")
	[ "$got" = "kvm-$PINNER_PID" ] || fail "guest_memfd file belongs to '$got'"
fi
info "VM kvm-$PINNER_PID and memslot 3 seen created (kretprobes on kvm_arch_init_vm and the binding)"
pinner delete-slot 3
pinner close-gmem
pinner close-vm
fresh_snapshot "$T/snap.json"
got=$(jq -r "[$vm] | length" "$T/snap.json")
[ "$got" = 0 ] || fail "VM kvm-$PINNER_PID still shown after close: $(jq -c "$vm" "$T/snap.json")"
jq -e '.complete' "$T/snap.json" >/dev/null || fail "snapshot incomplete: $(jq -c .stats "$T/snap.json")"
info "VM gone after close (kprobe on kvm_arch_destroy_vm)"
echo quit >&3
exec 3>&-
wait "$PINNER_PID"
PINNER_PID=

# gup_test (CONFIG_GUP_TEST), with the same gmemtop
if [ -e /sys/kernel/debug/gup_test ]; then
	start_pinner 8
	for mode in slow fast; do
		gup_test_cycle "$mode"
	done
	got=$(jq -r '"\(.stats.pins - .stats.unpins) \(.stats.unpins_untracked) \(.stats.lost)"' "$T/snap.json")
	[ "$got" = "0 0 0" ] || fail "pins-unpins / unpins_untracked / lost = '$got'"
else
	info "no /sys/kernel/debug/gup_test (CONFIG_GUP_TEST is not set): gup_test not run"
fi

# auto: fentry where trampolines work (17-probe checks they do here)
# (the pins object alone: it is the one "attach" names)
gmemtop -b -j --no-scan --no-vms >"$T/auto.json" 2>"$T/auto.err" ||
	fail "gmemtop -b -j: $(cat "$T/auto.err")"
got=$(jq -r .attach "$T/auto.json")
[ "$got" = fentry ] || fail "--attach auto tracks with '$got', expected fentry"
echo "PASS: --attach kprobe: VM model followed, gup_test pins exact where present; auto picks fentry"
