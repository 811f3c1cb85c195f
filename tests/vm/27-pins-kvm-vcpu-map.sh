#!/bin/sh
# KVM's own pins of guest memory: a guest executes VMSAVE on one of its
# pages; KVM intercepts it and kvm_vcpu_map()s the page for the length of
# the exit (arch/x86/kvm/svm/svm.c, vmload_vmsave_interception).  Since
# Linux 6.13 that is a FOLL_PIN pin through __kvm_vcpu_map(), released at
# once by kvm_vcpu_unmap(); before, a plain reference (FOLL_GET) through
# kvm_vcpu_map(), dropped by put_page().  No snapshot catches such a pin
# held, so: exactly one pin and one unpin counted per VMSAVE, and the
# folio's last holder shown among the released pins, named kvm-vcpu-map,
# for gmem-vmm (pid and vCPU thread), with a stack through the KVM map
# function.  Negative control: the same guest without VMSAVE pins nothing.
# Ground truth: the guest's own VMSAVE count and the kernel's pin count.
. "$(dirname "$0")/lib/common.sh"
command -v gmem-vmm >/dev/null || fail "gmem-vmm is not in the VM (pass it with -p)"

start_gmemtop
start_vmm 64
pinner slot 3 4096 64
PAGE=10 GFN=4106 N=5

# vmsave PAGE COUNT; skips when KVM offers no nested SVM to its guests.
vmsave() {
	pinner_try vmsave "$1" "$2" && return 0
	case "$REPLY" in skip:*) skip "${REPLY#skip: }" ;; esac
	fail "vmsave $*: $REPLY"
}
# stat_of NAME SNAPSHOT: a counter of the snapshot
stat_of() { jq -r ".stats.$1" "$2"; }
map_sel=".ino == $BACKING_INO and .index == $PAGE"

fresh_snapshot "$T/before.json"
vmsave $PAGE 0
fresh_snapshot "$T/none.json"
for s in pins unpins gets; do
	[ "$(stat_of $s "$T/none.json")" = "$(stat_of $s "$T/before.json")" ] || [ $s = gets ] ||
		fail "the guest without VMSAVE changed stats.$s: $(stat_of $s "$T/before.json") -> $(stat_of $s "$T/none.json")"
done
got=$(jq -r "[(.released_pins[], (.folios[] | .tracked // empty)) | select(.api == \"kvm-vcpu-map\")] | length" "$T/none.json")
[ "$got" = 0 ] || fail "negative control: $got kvm-vcpu-map records without any VMSAVE"
got=$(jq -r "[.released_pins[], .folios[] | select($map_sel)] | length" "$T/none.json")
[ "$got" = 0 ] || fail "negative control: page $PAGE tracked although the guest never named it"
info "negative control: the guest without VMSAVE pinned nothing, nothing named kvm-vcpu-map"

since=$(lines "$T/top.jsonl")
vmsave $PAGE $N
tid=$(echo "$REPLY" | sed -n 's/.* tid \([0-9]*\) .*/\1/p')
echo "$REPLY" | grep -q "^ok vmsave $N gfn $GFN page $PAGE " || fail "unexpected answer '$REPLY'"
fresh_snapshot "$T/snap.json"
got=$(jq -r '.complete' "$T/snap.json")
[ "$got" = true ] || fail "snapshot incomplete: $(jq -c .stats "$T/snap.json")"
# the kernel's own count on the shared backing: nothing held now
got=$(jq -r ".files[] | select(.ino == $BACKING_INO) | .kernel.pins" "$T/snap.json")
[ "${got:-0}" = 0 ] || fail "the kernel counts $got pins held on the shared backing after the guest halted"

delta() { echo $(($(stat_of "$1" "$T/snap.json") - $(stat_of "$1" "$T/none.json"))); }
# The record of page PAGE: tracking forgets it about 2 s after its last
# pin, so take the last snapshot since the VMSAVEs that shows it (the
# counters above come from the fresh one).
pin_rec=".released_pins[] | select($map_sel)"
get_rec=".folios[] | select($map_sel) | .tracked // empty"
sed -n "$((since + 1)),\$p" "$T/top.jsonl" |
	jq -c "select([($pin_rec), ($get_rec)] | length > 0)" | tail -n 1 >"$T/rec.json"
[ -s "$T/rec.json" ] || fail "no snapshot since the VMSAVEs shows page $PAGE (ino $BACKING_INO) pinned or referenced"
# What KVM took tells the stack's map function: a pin through
# __kvm_vcpu_map (6.13+) or a reference through kvm_vcpu_map (up to
# 6.12); any other pairing is wrong.  (Not from /proc/kallsyms: reading
# it takes a minute under TCG.)
if jq -e "[$pin_rec] | length > 0" "$T/rec.json" >/dev/null; then
	KIND=pin MAP_FN=__kvm_vcpu_map what="released pin" rec=$pin_rec
	got="$(delta pins) $(delta unpins) $(delta unpins_untracked)"
	[ "$got" = "$N $N 0" ] ||
		fail "pins/unpins/unpins_untracked counted '$got' for $N VMSAVEs, expected '$N $N 0'"
else
	KIND=get MAP_FN=kvm_vcpu_map what="FOLL_GET reference" rec=$get_rec
	got="$(delta pins) $(jq -r "[$rec | .gets_taken] | add" "$T/rec.json")"
	[ "$got" = "0 $N" ] ||
		fail "no released pin on page $PAGE; pins counted / references taken '$got' for $N VMSAVEs, expected '0 $N'"
fi
got=$(jq -r "[$rec] | length" "$T/rec.json")
[ "$got" = 1 ] || { jq -c '.released_pins' "$T/rec.json"; fail "$got records of a $what on page $PAGE, expected 1"; }
got=$(jq -r "$rec | \"\\(.pid) \\(.tid) \\(.comm) \\(.api)\"" "$T/rec.json")
[ "$got" = "$PINNER_PID $tid gmem-vmm kvm-vcpu-map" ] ||
	fail "$what on page $PAGE: pid/tid/comm/api '$got', expected '$PINNER_PID $tid gmem-vmm kvm-vcpu-map'"
for fn in $MAP_FN vmload_vmsave_interception; do
	jq -e "$rec | .stack | map(select(test(\"^$fn\\\\+\"))) | length == 1" "$T/rec.json" >/dev/null ||
		fail "stack of the $what has no $fn frame: $(jq -c "$rec | .stack" "$T/rec.json")"
done
info "$N VMSAVEs: $N x $KIND counted, attributed to gmem-vmm $PINNER_PID/$tid, api kvm-vcpu-map, stack through $MAP_FN"
echo "PASS: KVM's own maps of a guest page ($MAP_FN, $KIND) counted and attributed"
