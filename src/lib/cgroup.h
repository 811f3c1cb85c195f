/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cgroup v2 ids, as bpf_get_current_cgroup_id() gives them (gmemtop -c). */
#ifndef GMEM_CGROUP_H
#define GMEM_CGROUP_H

#include <linux/types.h>

#define GMEM_CGROUP_ROOT "/sys/fs/cgroup"

/*
 * 'arg' is a cgroup id (digits only, > 0) or a cgroup v2 directory: an
 * absolute path, or one relative to 'root' (NULL: GMEM_CGROUP_ROOT).
 * 0, or -EINVAL (empty, or id 0 or too large), -EMEDIUMTYPE (a directory,
 * but not on a cgroup2 file system) or open()'s errno.
 */
int gmem_parse_cgroup(const char *arg, const char *root, __u64 *id);
/* Why gmem_parse_cgroup() failed, for a message. */
const char *gmem_cgroup_strerror(int err);

#endif
