// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/bpfutil.h"

#include "lib/kernel.h"
#include "lib/log.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gmem_bpf_attach_all(struct bpf_object_skeleton *s)
{
	for (int i = 0; i < s->prog_cnt; i++) {
		struct bpf_program *prog = *s->progs[i].prog;
		struct bpf_link *link;
		int err;

		if (!bpf_program__autoload(prog))
			continue;
		link = bpf_program__attach(prog);
		err = libbpf_get_error(link);
		if (err) {
			gmem_err("failed to attach %s: %s (%s)", bpf_program__section_name(prog),
				 strerror(-err), gmem_kernel_explain_errno(err));
			return err;
		}
		/* owned by the skeleton from now on: destroyed with it */
		*s->progs[i].link = link;
		gmem_debug("attached %s", bpf_program__section_name(prog));
	}
	return 0;
}

__u64 gmem_bpf_recursion_misses(const struct bpf_object_skeleton *s)
{
	__u64 sum = 0;

	for (int i = 0; i < s->prog_cnt; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(*s->progs[i].prog);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			sum += info.recursion_misses;
	}
	return sum;
}

int gmem_bpf_load_attach(struct bpf_object_skeleton *s, const char *what, const char **stage)
{
	int err;

	if (stage)
		*stage = "load";
	err = bpf_object__load_skeleton(s);
	if (err) {
		gmem_err("failed to load %s: %s (%s)", what, strerror(-err),
			 gmem_kernel_explain_errno(err));
		return err;
	}
	if (stage)
		*stage = "attach";
	return gmem_bpf_attach_all(s);
}

int gmem_bpf_sum_stats(int map_fd, struct gmem_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct gmem_stats *percpu;
	__u32 zero = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &zero, percpu)) {
		int err = -errno;

		free(percpu);
		return err;
	}
	for (int c = 0; c < ncpu; c++)
		for (int i = 0; i < GMEM_STAT_NR; i++)
			out->v[i] += percpu[c].v[i];
	free(percpu);
	return 0;
}
