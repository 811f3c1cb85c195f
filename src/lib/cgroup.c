// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/cgroup.h"

#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/*
 * The id of an open cgroup2 directory: its kernfs node id, which is what
 * the file handle holds (as systemd reads it); the inode number is the same
 * on 64-bit kernels.
 */
static int cgroup_dir_id(int fd, __u64 *id)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(__u64)];
	} h = { .fh.handle_bytes = sizeof(__u64) };
	struct stat st;
	int mnt;

	if (!name_to_handle_at(fd, "", &h.fh, &mnt, AT_EMPTY_PATH) &&
	    h.fh.handle_bytes == sizeof(__u64)) {
		memcpy(id, h.fh.f_handle, sizeof(*id));
		return 0;
	}
	if (fstat(fd, &st))
		return -errno;
	*id = st.st_ino;
	return 0;
}

int gmem_parse_cgroup(const char *arg, const char *root, __u64 *id)
{
	unsigned long long v;
	const char *dir = root ? root : GMEM_CGROUP_ROOT;
	char path[4096];
	struct statfs sfs;
	int fd, err;

	if (!arg || !*arg)
		return -EINVAL;
	if (all_digits(arg)) {
		if (gmem_parse_u64(arg, 1, UINT64_MAX, &v))
			return -EINVAL;
		*id = v;
		return 0;
	}
	if (arg[0] == '/')
		dir = "";
	if (snprintf(path, sizeof(path), "%s%s%s", dir, *dir ? "/" : "", arg) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sfs))
		err = -errno;
	else if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		err = -EMEDIUMTYPE;
	else
		err = cgroup_dir_id(fd, id);
	close(fd);
	return err;
}

const char *gmem_cgroup_strerror(int err)
{
	switch (err) {
	case -EINVAL:
		return "neither a cgroup id (a number from 1) nor a path";
	case -EMEDIUMTYPE:
		return "not a directory on a cgroup2 file system";
	case -ENOTDIR:
		return "not a directory";
	default:
		return strerror(-err);
	}
}
