/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * gmem-pinner's device pin paths, with no hardware: iommufd's test mock and
 * vhost-vdpa over the vDPA network simulator.  Each command answers one
 * line, "ok ..." or "error ...", like the rest of gmem-pinner.
 */
#ifndef GMEM_PINNER_DEVICES_H
#define GMEM_PINNER_DEVICES_H

#include "gmem-vm.h"
#include <gmem/compat/iommufd.h>

#include <dirent.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/vdpa.h>
#include <linux/vhost.h>
#include <sys/socket.h>

/*
 * iommufd: an IOAS with a mock domain attached (CONFIG_IOMMUFD_TEST), so
 * that IOMMU_IOAS_MAP pins the pages at once exactly as for a real VFIO
 * device bound to iommufd.  One IOAS, one mapping at a time.
 */
static int iommufd_fd = -1;
static __u32 iommufd_ioas;
static __u64 iommufd_mapped; /* bytes mapped at GMEM_MOCK_APERTURE_START */

static int iommufd_open(void)
{
	struct gmem_iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct gmem_iommu_test_cmd mock = { .size = sizeof(mock),
					    .op = GMEM_IOMMU_TEST_OP_MOCK_DOMAIN };

	iommufd_fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd_fd < 0) {
		printf("error /dev/iommu: %s (needs CONFIG_IOMMUFD)\n", strerror(errno));
		return -1;
	}
	if (ioctl(iommufd_fd, GMEM_IOMMU_IOAS_ALLOC, &alloc)) {
		printf("error IOMMU_IOAS_ALLOC: %s\n", strerror(errno));
		return -1;
	}
	iommufd_ioas = alloc.out_ioas_id;
	mock.id = iommufd_ioas;
	if (ioctl(iommufd_fd, GMEM_IOMMU_TEST_CMD, &mock)) {
		printf("error IOMMU_TEST_CMD MOCK_DOMAIN: %s (needs CONFIG_IOMMUFD_TEST)\n",
		       strerror(errno));
		return -1;
	}
	return 0;
}

static void cmd_pin_iommufd(char *base, size_t pages, unsigned long off, unsigned long n)
{
	struct gmem_iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = GMEM_IOMMU_IOAS_MAP_FIXED_IOVA | GMEM_IOMMU_IOAS_MAP_READABLE |
			 GMEM_IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (__u64)(unsigned long)(base + off * PAGE),
		.length = n * PAGE,
		.iova = GMEM_MOCK_APERTURE_START,
	};

	if (!n || off + n > pages || off + n < off) {
		printf("error range %lu+%lu outside %zu pages\n", off, n, pages);
		return;
	}
	if (iommufd_mapped) {
		printf("error an iommufd mapping is already held\n");
		return;
	}
	if (iommufd_fd < 0 && iommufd_open()) {
		if (iommufd_fd >= 0)
			close(iommufd_fd);
		iommufd_fd = -1;
		return;
	}
	map.ioas_id = iommufd_ioas;
	if (ioctl(iommufd_fd, GMEM_IOMMU_IOAS_MAP, &map)) {
		printf("error IOMMU_IOAS_MAP: %s\n", strerror(errno));
		return;
	}
	iommufd_mapped = map.length;
	printf("ok pinned %lu\n", n);
}

static void cmd_unpin_iommufd(void)
{
	struct gmem_iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = iommufd_ioas,
		.iova = GMEM_MOCK_APERTURE_START,
		.length = iommufd_mapped,
	};

	if (iommufd_mapped && ioctl(iommufd_fd, GMEM_IOMMU_IOAS_UNMAP, &unmap)) {
		printf("error IOMMU_IOAS_UNMAP: %s\n", strerror(errno));
		return;
	}
	printf("ok unpinned %llu\n", (unsigned long long)(iommufd_mapped / PAGE));
	iommufd_mapped = 0;
}

/*
 * vhost-vdpa over a vDPA simulator (CONFIG_VHOST_VDPA, CONFIG_VDPA_SIM_NET).
 * The device is created through the vdpa generic-netlink family (what
 * iproute2's 'vdpa dev add mgmtdev vdpasim_net name NAME' sends), bound by
 * vhost_vdpa to /dev/vhost-vdpa-N, and VHOST_IOTLB_UPDATE (msg v2) pins the
 * range with FOLL_LONGTERM when the simulator works on physical addresses
 * (vdpa_sim.use_va=0; with its default, use_va=1, nothing is pinned).
 */
#define VDPA_DEV_NAME "gmemvdpa0"
#define VDPA_IOVA 0x100000ull

static int vdpa_fd = -1;
static bool vdpa_created;
static __u64 vdpa_mapped; /* bytes mapped at VDPA_IOVA */

/* One netlink attribute, 4-byte aligned, at the end of 'msg'. */
static void nl_put(struct nlmsghdr *msg, __u16 type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)msg + NLMSG_ALIGN(msg->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	msg->nlmsg_len = NLMSG_ALIGN(msg->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* Send a generic-netlink request and read its answer into 'reply';
 * 0, or a negative errno from the kernel's ack. */
static int genl_call(int sock, struct nlmsghdr *req, char *reply, size_t size)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct nlmsghdr *h = (struct nlmsghdr *)reply;
	ssize_t n;

	if (sendto(sock, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	n = recv(sock, reply, size, 0);
	if (n < 0)
		return -errno;
	if (!NLMSG_OK(h, (size_t)n))
		return -EBADMSG;
	if (h->nlmsg_type == NLMSG_ERROR)
		return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	return 0;
}

/* A generic-netlink request header for 'cmd' of family 'family'. */
static struct nlmsghdr *genl_request(char *buf, __u16 family, __u8 cmd, __u16 flags)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct genlmsghdr *g = NLMSG_DATA(h);

	memset(buf, 0, NLMSG_SPACE(GENL_HDRLEN));
	h->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	h->nlmsg_type = family;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	g->cmd = cmd;
	g->version = 1;
	return h;
}

/* The id of generic-netlink family 'name', or a negative errno. */
static int genl_family(int sock, const char *name)
{
	char req[256], reply[4096];
	struct nlmsghdr *h = genl_request(req, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	struct nlattr *a;
	int err, left;

	nl_put(h, CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1);
	err = genl_call(sock, h, reply, sizeof(reply));
	if (err)
		return err;
	h = (struct nlmsghdr *)reply;
	left = h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	for (a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
	     left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left;
	     left -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))
		if (a->nla_type == CTRL_ATTR_FAMILY_ID)
			return *(__u16 *)((char *)a + NLA_HDRLEN);
	return -ENOENT;
}

/* 'vdpa dev add' (cmd VDPA_CMD_DEV_NEW) or 'vdpa dev del' (VDPA_CMD_DEV_DEL). */
static int vdpa_dev_cmd(__u8 cmd, const char *mgmtdev)
{
	char req[512], reply[4096];
	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	int family, err;
	struct nlmsghdr *h;

	if (sock < 0)
		return -errno;
	family = genl_family(sock, VDPA_GENL_NAME);
	if (family < 0) {
		close(sock);
		return family;
	}
	h = genl_request(req, family, cmd, NLM_F_ACK);
	if (mgmtdev)
		nl_put(h, VDPA_ATTR_MGMTDEV_DEV_NAME, mgmtdev, strlen(mgmtdev) + 1);
	nl_put(h, VDPA_ATTR_DEV_NAME, VDPA_DEV_NAME, sizeof(VDPA_DEV_NAME));
	err = genl_call(sock, h, reply, sizeof(reply));
	close(sock);
	return err;
}

/* /dev/vhost-vdpa-N of our device: vhost_vdpa names its child device so. */
static int vdpa_open_vhost(void)
{
	DIR *d = opendir("/sys/bus/vdpa/devices/" VDPA_DEV_NAME);
	struct dirent *e;
	char path[300] = "";
	int fd;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vhost-vdpa-", 11))
			snprintf(path, sizeof(path), "/dev/%s", e->d_name);
	closedir(d);
	if (!path[0]) {
		errno = ENODEV;
		printf("error %s is not bound to vhost_vdpa (needs CONFIG_VHOST_VDPA)\n",
		       VDPA_DEV_NAME);
		return -1;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		printf("error %s: %s\n", path, strerror(errno));
	return fd;
}

static int vdpa_open(void)
{
	__u64 features = 1ull << VHOST_BACKEND_F_IOTLB_MSG_V2;
	int err = vdpa_dev_cmd(VDPA_CMD_DEV_NEW, "vdpasim_net");

	if (err && err != -EEXIST) {
		printf("error vdpa dev add mgmtdev vdpasim_net: %s (needs CONFIG_VDPA_SIM_NET)\n",
		       strerror(-err));
		return -1;
	}
	vdpa_created = true;
	vdpa_fd = vdpa_open_vhost();
	if (vdpa_fd < 0)
		return -1;
	if (ioctl(vdpa_fd, VHOST_SET_OWNER)) {
		printf("error VHOST_SET_OWNER: %s\n", strerror(errno));
		return -1;
	}
	if (ioctl(vdpa_fd, VHOST_SET_BACKEND_FEATURES, &features)) {
		printf("error VHOST_SET_BACKEND_FEATURES IOTLB_MSG_V2: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int vdpa_iotlb(__u8 type, __u64 uaddr, __u64 size)
{
	struct vhost_msg_v2 msg = {
		.type = VHOST_IOTLB_MSG_V2,
		.iotlb = { .iova = VDPA_IOVA, .size = size, .uaddr = uaddr,
			   .perm = VHOST_ACCESS_RW, .type = type },
	};

	return write(vdpa_fd, &msg, sizeof(msg)) == sizeof(msg) ? 0 : -1;
}

static void vdpa_close(void)
{
	if (vdpa_fd >= 0)
		close(vdpa_fd);
	vdpa_fd = -1;
	if (vdpa_created)
		vdpa_dev_cmd(VDPA_CMD_DEV_DEL, NULL);
	vdpa_created = false;
}

static void cmd_pin_vdpa(char *base, size_t pages, unsigned long off, unsigned long n)
{
	if (!n || off + n > pages || off + n < off) {
		printf("error range %lu+%lu outside %zu pages\n", off, n, pages);
		return;
	}
	if (vdpa_mapped) {
		printf("error a vhost-vdpa mapping is already held\n");
		return;
	}
	if (vdpa_fd < 0 && vdpa_open()) {
		vdpa_close();
		return;
	}
	if (vdpa_iotlb(VHOST_IOTLB_UPDATE, (__u64)(unsigned long)(base + off * PAGE), n * PAGE)) {
		printf("error VHOST_IOTLB_UPDATE: %s\n", strerror(errno));
		return;
	}
	vdpa_mapped = n * PAGE;
	printf("ok pinned %lu\n", n);
}

static void cmd_unpin_vdpa(void)
{
	if (vdpa_mapped && vdpa_iotlb(VHOST_IOTLB_INVALIDATE, 0, vdpa_mapped)) {
		printf("error VHOST_IOTLB_INVALIDATE: %s\n", strerror(errno));
		return;
	}
	printf("ok unpinned %llu\n", (unsigned long long)(vdpa_mapped / PAGE));
	vdpa_mapped = 0;
}

#endif
