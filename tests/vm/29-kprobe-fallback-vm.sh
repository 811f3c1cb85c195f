#!/bin/sh
# The kprobe fallback, continued (28-kprobe-fallback does io_uring and
# O_DIRECT): with gmemtop --attach kprobe, gup_test long-term pins through
# the slow and fast GUP paths (as test 15, testkernel; released by
# unpin_user_pages(), the array walk) are exact and attributed, and a VM
# with its memslot is followed from creation to release (as 23: kretprobes
# on kvm_arch_init_vm and the guest_memfd binding, kprobes on the commit
# and kvm_arch_destroy_vm).  Then --attach auto must pick fentry here,
# where trampolines work.
. "$(dirname "$0")/lib/common.sh"

# ground truth for "kprobes work here": the kernel's config
cfg=/boot/config-$(uname -r)
for opt in CONFIG_KPROBES CONFIG_KPROBE_EVENTS CONFIG_KRETPROBES; do
	[ -r "$cfg" ] && ! grep -q "^$opt=y" "$cfg" && skip "$opt is not set"
done

GMEMTOP_ARGS="--attach kprobe" GMEMTOP_ATTACH=kprobe
start_pinner 8
start_gmemtop

# gup_test (CONFIG_GUP_TEST)
if [ -e /sys/kernel/debug/gup_test ]; then
	for mode in slow fast; do
		pinner pin-gup-test 10 100 "$mode"
		fresh_snapshot "$T/snap.json"
		check_pins 100 "$T/snap.json" || fail "gup_test ($mode): counts differ"
		got=$(jq -r "[.folios[] | select(.ino == $GMEM_INO and (.tracked.pins // 0) > 0) | .tracked.api] | unique | join(\",\")" "$T/snap.json")
		[ "$got" = gup_test ] || fail "gup_test ($mode) pins attributed to '$got'"
		pinner unpin-gup-test
		fresh_snapshot "$T/snap.json"
		check_pins 0 "$T/snap.json" || fail "gup_test ($mode): pins remain after STOP"
		info "gup_test $mode: 100 pins, attributed, all released"
	done
else
	info "no /sys/kernel/debug/gup_test (CONFIG_GUP_TEST is not set): gup_test not run"
fi
[ -s "$T/snap.json" ] || fresh_snapshot "$T/snap.json"
got=$(jq -r '"\(.stats.pins - .stats.unpins) \(.stats.unpins_untracked) \(.stats.lost)"' "$T/snap.json")
[ "$got" = "0 0 0" ] || fail "pins-unpins / unpins_untracked / lost = '$got'"
echo quit >&3
exec 3>&-
wait "$PINNER_PID"
PINNER_PID=

# a VM and its memslot, from creation to release (the same gmemtop)
[ -c /dev/kvm ] || skip "no /dev/kvm (CONFIG_KVM): pins were exact, the VM model not tried"
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

# auto: fentry where trampolines work (17-probe checks they do here)
# (the pins object alone: it is the one "attach" names)
gmemtop -b -j --no-scan --no-vms >"$T/auto.json" 2>"$T/auto.err" ||
	fail "gmemtop -b -j: $(cat "$T/auto.err")"
got=$(jq -r .attach "$T/auto.json")
[ "$got" = fentry ] || fail "--attach auto tracks with '$got', expected fentry"
echo "PASS: --attach kprobe: io_uring, O_DIRECT, gup_test and VM lifecycle exact; auto picks fentry"
