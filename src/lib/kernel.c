// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/kernel.h"

#include "lib/log.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, seen by userspace from bpf() */
#endif

/*
 * The FUNC names of vmlinux and of the modules asked about, sorted: a name
 * is a binary search, not a scan of 150,000 types (and a module's BTF is
 * parsed once, not per name).  Scans took a second of every gmemtop start
 * under TCG.
 */
struct gmem_func_index {
	char module[64];  /* "" for vmlinux */
	struct btf *btf;  /* a module's split BTF (owned); NULL for vmlinux */
	bool used;        /* slot taken: module names it */
	bool absent;      /* module not loaded, or built without BTF */
	const char **names;
	size_t nr;
};

int gmem_kernel_read_lsm(char *buf, size_t len)
{
	FILE *f = fopen("/sys/kernel/security/lsm", "r");
	int err = 0;

	if (!f)
		return -errno;
	if (len < 2 || !fgets(buf, (int)len, f))
		err = -EIO;
	else
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return err;
}

bool gmem_lsm_list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p; p += strcspn(p, ","), p += !!*p)
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0' || p[n] == '\n'))
			return true;
	return false;
}

static bool lsm_has_bpf(void)
{
	char buf[512] = "";

	return !gmem_kernel_read_lsm(buf, sizeof(buf)) && gmem_lsm_list_has(buf, "bpf");
}

int gmem_kernel_enum_value(const struct gmem_kernel *k, const char *name, long long *val)
{
	__u32 n;

	if (!k->btf)
		return -ENOENT;
	n = btf__type_cnt(k->btf);
	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(k->btf, id);

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t);

			for (__u16 i = 0; i < btf_vlen(t); i++)
				if (!strcmp(btf__name_by_offset(k->btf, e[i].name_off), name)) {
					*val = e[i].val;
					return 0;
				}
		} else if (btf_is_enum64(t)) {
			const struct btf_enum64 *e = btf_enum64(t);

			for (__u16 i = 0; i < btf_vlen(t); i++)
				if (!strcmp(btf__name_by_offset(k->btf, e[i].name_off), name)) {
					*val = (long long)btf_enum64_value(&e[i]);
					return 0;
				}
		}
	}
	return -ENOENT;
}

static __u32 enum_or_zero(const struct gmem_kernel *k, const char *name)
{
	long long v = 0;

	if (gmem_kernel_enum_value(k, name, &v))
		gmem_warn("this kernel's BTF has no %s", name);
	return (__u32)v;
}

int gmem_kernel_probe(struct gmem_kernel *k)
{
	struct utsname u;
	int err;

	memset(k, 0, sizeof(*k));
	if (!uname(&u))
		snprintf(k->release, sizeof(k->release), "%s", u.release);
	k->bpf_lsm = lsm_has_bpf();
	k->btf = btf__load_vmlinux_btf();
	err = libbpf_get_error(k->btf);
	if (err) {
		k->btf = NULL;
		gmem_err("cannot load the kernel's BTF (/sys/kernel/btf/vmlinux): %s "
			 "(gmem-tools needs a kernel built with CONFIG_DEBUG_INFO_BTF=y)",
			 strerror(-err));
		return err;
	}
	k->foll_pin = enum_or_zero(k, "FOLL_PIN");
	k->foll_get = enum_or_zero(k, "FOLL_GET");
	k->foll_longterm = enum_or_zero(k, "FOLL_LONGTERM");
	k->func_index = calloc(GMEM_KERNEL_MAX_INDEXES, sizeof(*k->func_index));
	return 0;
}

void gmem_kernel_free(struct gmem_kernel *k)
{
	for (size_t i = 0; k->func_index && i < GMEM_KERNEL_MAX_INDEXES; i++) {
		free(k->func_index[i].names);
		btf__free(k->func_index[i].btf);
	}
	free(k->func_index);
	k->func_index = NULL;
	btf__free(k->btf);
	k->btf = NULL;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* FUNC names of types [first, end) of btf. */
static int index_funcs(struct gmem_func_index *ix, const struct btf *btf, __u32 first)
{
	__u32 end = btf__type_cnt(btf);

	ix->names = calloc(end > first ? end - first : 1, sizeof(*ix->names));
	if (!ix->names)
		return -ENOMEM;
	for (__u32 id = first; id < end; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (btf_is_func(t))
			ix->names[ix->nr++] = btf__name_by_offset(btf, t->name_off);
	}
	qsort(ix->names, ix->nr, sizeof(*ix->names), cmp_name);
	return 0;
}

/* The index of module (NULL: vmlinux), built on first use. */
static const struct gmem_func_index *func_index(const struct gmem_kernel *k, const char *module)
{
	struct gmem_func_index *ix;
	size_t i;

	if (!k->btf || !k->func_index)
		return NULL;
	for (i = 0; i < GMEM_KERNEL_MAX_INDEXES && k->func_index[i].used; i++)
		if (!strcmp(k->func_index[i].module, module ? module : ""))
			return k->func_index[i].absent ? NULL : &k->func_index[i];
	if (i == GMEM_KERNEL_MAX_INDEXES)
		return NULL;
	ix = &k->func_index[i];
	ix->used = true;
	snprintf(ix->module, sizeof(ix->module), "%s", module ? module : "");
	if (module) {
		char path[128];

		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", module);
		ix->btf = btf__parse_split(path, k->btf);
		if (libbpf_get_error(ix->btf))
			ix->btf = NULL;
	}
	if (module && !ix->btf) {
		ix->absent = true;
		return NULL;
	}
	if (index_funcs(ix, module ? ix->btf : k->btf, module ? btf__type_cnt(k->btf) : 1)) {
		btf__free(ix->btf);
		memset(ix, 0, sizeof(*ix));
		return NULL;
	}
	return ix;
}

static bool index_has(const struct gmem_func_index *ix, const char *name)
{
	return ix && bsearch(&name, ix->names, ix->nr, sizeof(*ix->names), cmp_name);
}

bool gmem_kernel_has_func(const struct gmem_kernel *k, const char *name)
{
	if (!k->func_index) /* out of memory at probe time: scan */
		return k->btf && btf__find_by_name_kind(k->btf, name, BTF_KIND_FUNC) > 0;
	return index_has(func_index(k, NULL), name);
}

bool gmem_kernel_has_module_func(const struct gmem_kernel *k, const char *module,
				 const char *name)
{
	return gmem_kernel_has_func(k, name) || index_has(func_index(k, module), name);
}

const char *gmem_kernel_explain_errno(int err)
{
	if (err < 0)
		err = -err;
	if ((err == EPERM || err == EACCES) && geteuid() != 0)
		return "run as root (CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN are needed)";
	switch (err) {
	case EACCES:
		return "the BPF verifier rejected a program: run with -vv for its log";
	case EPERM:
		return "this kernel refuses BPF trampolines (fentry/fexit): it needs "
		       "CONFIG_BPF_JIT, CONFIG_FUNCTION_TRACER and "
		       "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS, and no lockdown; on a host "
		       "like this, run the tools in a VM: 'make demo'";
	case ENOTSUPP:
	case EOPNOTSUPP:
		return "this kernel does not support this kind of BPF program";
	case ESRCH:
	case ENOENT:
		return "the function is not in this kernel (missing from BTF or inlined)";
	case E2BIG:
		return "a map or the ring buffer is larger than the kernel allows";
	}
	return "see -v for libbpf's messages";
}
