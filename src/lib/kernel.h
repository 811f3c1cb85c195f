/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the running kernel offers, found by looking (BTF, sysfs), not by version. */
#ifndef GMEM_KERNEL_H
#define GMEM_KERNEL_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

struct btf;

#define GMEM_KERNEL_MAX_INDEXES 4 /* vmlinux and the modules asked about */
struct gmem_func_index;

struct gmem_kernel {
	char release[65];
	struct btf *btf;   /* vmlinux BTF, NULL without CONFIG_DEBUG_INFO_BTF */
	/* FOLL_* values of this kernel (0 if not found) */
	__u32 foll_pin, foll_get, foll_longterm;
	bool bpf_lsm;      /* "bpf" is in the active LSM list */
	/* sorted function names, built on first use (gmem_kernel_has_func) */
	struct gmem_func_index *func_index;
};

/* Fills 'k'; fails (with a message) only when BTF is missing. */
int gmem_kernel_probe(struct gmem_kernel *k);
void gmem_kernel_free(struct gmem_kernel *k);

bool gmem_kernel_has_func(const struct gmem_kernel *k, const char *name);
/* In vmlinux or in module 'module''s BTF (/sys/kernel/btf/MODULE: KVM is a
 * module in distribution kernels). */
bool gmem_kernel_has_module_func(const struct gmem_kernel *k, const char *module,
				 const char *name);
/* Value of an enumerator, named or anonymous enum alike; -ENOENT if absent. */
int gmem_kernel_enum_value(const struct gmem_kernel *k, const char *name, long long *val);

/* The active LSMs, "lockdown,capability,...,bpf" (securityfs); -errno. */
int gmem_kernel_read_lsm(char *buf, size_t len);
/* Whether the comma-separated LSM list names 'name'. */
bool gmem_lsm_list_has(const char *list, const char *name);

/* Why loading tracing programs may fail here, for error messages. */
const char *gmem_kernel_explain_errno(int err);

#endif
