#!/bin/sh
# folio_add_pin(): legacy direct I/O (fs/direct-io.c, used by vfat and other
# filesystems without iomap) pins each user page once when it extracts it
# and again, with folio_add_pin(), for every bio the page goes into; the
# bio's completion releases those through the unpin functions.  Without
# fexit/folio_add_pin every such release would be an unpin of a pin never
# seen taken (unpins_untracked > 0).  After O_DIRECT reads and writes of
# guest memory on vfat: more pins seen than pages (the added ones), every
# one released, none unknown, tracked == kernel == 0.
. "$(dirname "$0")/lib/common.sh"

grep -qw vfat /proc/filesystems || skip "no vfat filesystem (needs CONFIG_VFAT_FS built in or loaded)"
[ -e /dev/loop-control ] || [ -b /dev/loop0 ] || skip "no loop devices (needs CONFIG_BLK_DEV_LOOP)"
command -v mkdosfs >/dev/null || skip "no mkdosfs in this VM (busybox)"
gmemtop --probe -j | jq -e '.features[] | select(.feature == "fexit/folio_add_pin") | .available' >/dev/null ||
	skip "this kernel has no folio_add_pin() (Linux 6.5+)"

img=$T/vfat.img
dd if=/dev/zero of="$img" bs=1M count=16 2>/dev/null || fail "cannot create $img"
mkdosfs "$img" >/dev/null || fail "mkdosfs $img"
dev=$(losetup -f) || fail "no free loop device"
losetup "$dev" "$img" || fail "losetup $dev $img"
mkdir -p "$T/mnt"
if ! mount -t vfat "$dev" "$T/mnt"; then
	losetup -d "$dev"
	# Debian's kernels build the FAT codepages as modules (tools/check loads them)
	dmesg | tail -n 5 | grep -q "codepage cp437 not found" &&
		skip "vfat cannot mount without codepage 437 (needs CONFIG_NLS_CODEPAGE_437 built in or loaded)"
	fail "mount -t vfat $dev"
fi
trap 'cleanup; umount "$T/mnt" 2>/dev/null; losetup -d "$dev" 2>/dev/null' EXIT
dd if=/dev/zero of="$T/mnt/data" bs=1M count=4 2>/dev/null && sync || fail "cannot write $T/mnt/data"

N=64
start_pinner 8
start_gmemtop
for i in 0 1 2 3; do
	pinner odirect "$T/mnt/data" write $((i * N)) $((i * N)) $N
	pinner odirect "$T/mnt/data" read $((i * N)) $((i * N + 512)) $N
done
fresh_snapshot "$T/snap.json"
check_pins 0 "$T/snap.json" || fail "pins remain after legacy O_DIRECT completed"
got=$(jq -r "\"\(.stats.pins > 8 * $N) \(.stats.pins - .stats.unpins) \(.stats.unpins_untracked)\"" "$T/snap.json")
[ "$got" = "true 0 0" ] ||
	fail "pins>8*$N / pins-unpins / unpins_untracked = '$got', expected 'true 0 0': $(jq -c .stats "$T/snap.json")"
echo "PASS: legacy direct I/O on vfat: $(jq -r .stats.pins "$T/snap.json") pins for $((8 * N)) pages (folio_add_pin counted), all released"
