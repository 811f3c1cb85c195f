#!/bin/sh
# gmemtop --probe on a kernel that has everything: exit 0, every required
# feature "yes" with fentry/fexit as the mechanism, and each optional
# feature reported as the kernel's own config and state say it must be
# (CONFIG_DEBUG_PAGE_REF for the page_ref tracepoints, CONFIG_GUP_TEST,
# CONFIG_KVM_SW_PROTECTED_VM, CONFIG_KPROBES, CONFIG_FPROBE, bpf in the
# active LSMs, /dev/kvm).  The config is the one tools/vmtest installs as
# /boot/config-$(uname -r), as on a Debian system.
for cmd in gmemtop jq; do
	command -v "$cmd" >/dev/null ||
		{ echo "FAIL: $cmd is not in the VM (pass it to tools/vmtest/vmtest with -p)"; exit 1; }
done
T=${TMPDIR:-/tmp}/probe.$$
mkdir -p "$T"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

gmemtop --probe -j >"$T/probe.json" 2>"$T/probe.err"
rc=$?
gmemtop --probe >"$T/probe.txt" 2>&1
trc=$?
cat "$T/probe.txt"
jq -e 'type == "object" and (.features | length > 0)' "$T/probe.json" >/dev/null ||
	{ echo "FAIL: -j is not one JSON object with features: $(cat "$T/probe.json" "$T/probe.err")"; exit 1; }
[ "$trc" -eq "$rc" ] || fail "table exit $trc differs from JSON exit $rc"

missing=$(jq -r '[.features[] | select(.required and (.available | not)) | "\(.feature): \(.detail)"] | join("; ")' "$T/probe.json")
case $GMEM_KERNEL in
stock | testkernel) ;;
*)
	# other kernels may lack a required function: exit 4, and say which
	if [ "$rc" -eq 4 ] && [ -n "$missing" ]; then
		echo "skip: kernel $GMEM_KERNEL lacks required features: $missing"
		exit 4
	fi ;;
esac
[ "$rc" -eq 0 ] || { echo "FAIL: gmemtop --probe exited $rc; missing: $missing $(cat "$T/probe.err")"; exit 1; }
[ -z "$missing" ] || fail "exit 0 but required features missing: $missing"
jq -e '.ok == true' "$T/probe.json" >/dev/null || fail "\"ok\" is not true"
[ "$(tail -n 1 "$T/probe.txt")" = "gmemtop can run here" ] || fail "table: no 'gmemtop can run here' verdict"

# available FEATURE -> "true" or "false" (fails when the feature is absent)
available() {
	jq -r --arg f "$1" '[.features[] | select(.feature == $f) | .available] | if length == 1 then .[0] else "absent" end' "$T/probe.json"
}
detail() { jq -r --arg f "$1" '.features[] | select(.feature == $f) | .detail' "$T/probe.json"; }
# expect FEATURE true|false WHY
expect() {
	got=$(available "$1")
	if [ "$got" = "$2" ]; then
		echo "ok: $1: $got ($3)"
	else
		fail "$1: available=$got, expected $2 ($3); detail: $(detail "$1")"
	fi
}

for f in "vmlinux BTF" "BPF trampolines (fentry/fexit)" "fexit/try_grab_folio" \
	"fentry/pin_user_pages_fast" "fexit/pin_user_pages_fast" "iter/task_file (kernel scan)"; do
	expect "$f" true "required"
done
# pins that bypass try_grab_folio(): folio_add_pin() is in every kernel we
# run, folio_add_pins() came later (not in 6.12); ground truth: kallsyms
in_kallsyms() { grep -q " $1\$" /proc/kallsyms && echo true || echo false; }
expect "fexit/folio_add_pin" "$(in_kallsyms folio_add_pin)" "folio_add_pin in /proc/kallsyms: $(in_kallsyms folio_add_pin)"
for f in fentry/folio_add_pins fexit/folio_add_pins; do
	expect "$f" "$(in_kallsyms folio_add_pins)" "folio_add_pins in /proc/kallsyms: $(in_kallsyms folio_add_pins)"
done
detail "tracking mechanism" | grep -q '^fentry/fexit' || fail "mechanism: $(detail 'tracking mechanism')"

# ground truth: the kernel's config and its own files, not gmemtop
cfg=/boot/config-$(uname -r)
jq -e --arg c "$cfg" '.config == $c' "$T/probe.json" >/dev/null ||
	fail "config: $(jq -r .config "$T/probe.json"), expected $cfg (installed by tools/vmtest)"
if [ -r "$cfg" ]; then
	# on(OPTION): true when built in or a module
	on() { grep -qE "^$1=[ym]\$" "$cfg" && echo true || echo false; }
	expect "tp_btf/page_ref_* (refcount tracepoints)" "$(on CONFIG_DEBUG_PAGE_REF)" \
		"CONFIG_DEBUG_PAGE_REF $(on CONFIG_DEBUG_PAGE_REF)"
	detail "tp_btf/page_ref_* (refcount tracepoints)" | grep -q "CONFIG_DEBUG_PAGE_REF" ||
		fail "the page_ref row does not name CONFIG_DEBUG_PAGE_REF"
	# the refs object itself, all seven page_ref_* programs
	expect "extra-reference attribution (refs)" "$(on CONFIG_DEBUG_PAGE_REF)" \
		"CONFIG_DEBUG_PAGE_REF $(on CONFIG_DEBUG_PAGE_REF)"
	[ -d /sys/kernel/tracing/events/page_ref ] && pr=true || pr=false
	[ "$pr" = "$(on CONFIG_DEBUG_PAGE_REF)" ] ||
		fail "tracefs events/page_ref=$pr disagrees with the config: the ground truth is inconsistent"
	expect "gup_test" "$(on CONFIG_GUP_TEST)" "CONFIG_GUP_TEST $(on CONFIG_GUP_TEST)"
	expect "kprobes" "$(on CONFIG_KPROBES)" "CONFIG_KPROBES $(on CONFIG_KPROBES)"
	expect "kprobe_multi (fprobe)" "$(on CONFIG_FPROBE)" "CONFIG_FPROBE $(on CONFIG_FPROBE)"
	if [ -c /dev/kvm ]; then
		expect "KVM_X86_SW_PROTECTED_VM (conversions)" "$(on CONFIG_KVM_SW_PROTECTED_VM)" \
			"CONFIG_KVM_SW_PROTECTED_VM $(on CONFIG_KVM_SW_PROTECTED_VM)"
		expect "conversions (gmem-check)" \
			"$(on CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES)" \
			"CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES $(on CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES)"
		# 6.12 has guest_memfd without CONFIG_KVM_GUEST_MEMFD (CONFIG_KVM_PRIVATE_MEM):
		# the ground truth is the symbol (kvm may be a module: "[kvm]" follows)
		gf=$(grep -qE "[[:space:]]kvm_gmem_fallocate([[:space:]]|\$)" /proc/kallsyms && echo true || echo false)
		expect "guest_memfd hole punches (gmem-check)" "$gf" "kvm_gmem_fallocate in /proc/kallsyms: $gf"
		expect "in-place conversion (KVM_SET_MEMORY_ATTRIBUTES2)" false \
			"not supported by gmem-check yet, on any kernel"
	fi
else
	echo "note: no $cfg (a -k PATH kernel without GMEM_VM_CONFIG): config-dependent rows not checked"
	jq -e '.config == null' "$T/probe.json" >/dev/null || fail "no config file, but .config is not null"
fi

grep -qw bpf /sys/kernel/security/lsm && lsm=true || lsm=false
expect "bpf in the active LSMs" "$lsm" "/sys/kernel/security/lsm: $(cat /sys/kernel/security/lsm)"
expect "lsm/file_mprotect (BPF LSM)" "$lsm" "bpf active: $lsm"
[ -c /dev/kvm ] && kvm=true || kvm=false
expect "/dev/kvm" "$kvm" "/dev/kvm present: $kvm"
# host-mappable guest_memfd (GUEST_MEMFD_FLAG_MMAP): merged in Linux 6.18
rel=$(uname -r)
major=${rel%%.*} minor=${rel#*.}
minor=${minor%%[!0-9]*}
[ "$kvm" = true ] && { [ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 18 ]; }; } &&
	mmap=true || mmap=false
expect "guest_memfd host mmap" "$mmap" "Linux $major.$minor with /dev/kvm $kvm: $mmap"

[ -s "$T/probe.err" ] && fail "messages on stderr: $(cat "$T/probe.err")"
[ $fails -eq 0 ] || exit 1
echo "PASS: --probe on $(uname -r): exit 0, every required feature yes, optional ones as the config says"
