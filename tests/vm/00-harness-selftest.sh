#!/bin/sh
# The VM harness itself works: the guest has the file systems, limits and kernel
# interfaces every other VM test relies on (see tools/vmtest/README.md).
fail() {
	echo "FAIL: $*"
	exit 1
}

mounted() { # DIR TYPE
	grep -q " $1 $2 " /proc/mounts || fail "$2 is not mounted on $1"
}

[ "$GMEM_VM" = 1 ] || fail "GMEM_VM is not set: not running under tools/vmtest/vmtest?"
[ -r /proc/self/status ] || fail "/proc is not mounted"
mounted /sys sysfs
mounted /sys/fs/bpf bpf
mounted /sys/kernel/tracing tracefs
mounted /sys/kernel/debug debugfs
mounted /sys/fs/cgroup cgroup2
mounted /mnt/scratch ext4
[ "$GMEM_SCRATCH_DIR" = /mnt/scratch ] || fail "GMEM_SCRATCH_DIR is '$GMEM_SCRATCH_DIR', not /mnt/scratch"
echo hello >/mnt/scratch/selftest || fail "cannot write to the scratch disk"
[ "$(cat /mnt/scratch/selftest)" = hello ] || fail "the scratch disk lost a write"
[ -r /sys/kernel/btf/vmlinux ] || fail "no /sys/kernel/btf/vmlinux: kernel without BTF"
[ "$(ulimit -l)" = unlimited ] || fail "memlock limit is $(ulimit -l), not unlimited"
case ":$PATH:" in *:/gmem/bin:*) ;; *) fail "/gmem/bin is not on PATH ($PATH)" ;; esac
[ -n "$GMEM_KERNEL" ] || fail "GMEM_KERNEL is not set"

echo "kernel: $(uname -r) ($GMEM_KERNEL)"
echo "kvm: $([ -c /dev/kvm ] && echo yes || echo no)"
echo "lsm: $(cat /sys/kernel/security/lsm 2>/dev/null)"
echo "PASS"
