#!/bin/sh
# vhost-vdpa over the vDPA network simulator (CONFIG_VHOST_VDPA,
# CONFIG_VDPA_SIM_NET; testkernel booted with vdpa_sim.use_va=0, or the
# simulator maps by virtual address and pins nothing): gmem-pinner creates
# the device by vdpa netlink, and VHOST_IOTLB_UPDATE of guest_memfd memory
# pins it long-term (vhost_vdpa_pa_map -> pin_user_pages; pa_map is inlined
# into vhost_vdpa_process_iotlb_msg in the testkernel).  Counts equal the
# kernel's; API vhost-vdpa; VHOST_IOTLB_INVALIDATE (unpin_user_page, page by
# page) takes them back to 0.
. "$(dirname "$0")/lib/common.sh"

[ -d /sys/bus/vdpa ] || skip "no vDPA bus (needs CONFIG_VDPA built in or loaded)"
[ -d /sys/bus/vdpa/drivers/vhost_vdpa ] || skip "no vhost_vdpa driver (needs CONFIG_VHOST_VDPA)"
[ -r /sys/module/vdpa_sim/parameters/use_va ] ||
	skip "no vDPA simulator (needs CONFIG_VDPA_SIM, CONFIG_VDPA_SIM_NET)"
[ "$(cat /sys/module/vdpa_sim/parameters/use_va)" = N ] ||
	skip "vdpa_sim.use_va=Y: the simulator maps virtual addresses and pins nothing (boot with vdpa_sim.use_va=0)"
start_pinner 8
start_gmemtop
device_pin_cycle pin-vdpa unpin-vdpa 50 30 vhost-vdpa "vhost_vdpa_(pa_map|process_iotlb)" \
	CONFIG_VDPA_SIM_NET
echo "PASS: vhost-vdpa IOTLB pins of guest memory counted, attributed to vhost-vdpa, released"
