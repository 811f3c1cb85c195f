// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/kernel.h"

#include "lib/log.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, seen by userspace from bpf() */
#endif

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
	return 0;
}

void gmem_kernel_free(struct gmem_kernel *k)
{
	btf__free(k->btf);
	k->btf = NULL;
}

bool gmem_kernel_has_func(const struct gmem_kernel *k, const char *name)
{
	return k->btf && btf__find_by_name_kind(k->btf, name, BTF_KIND_FUNC) > 0;
}

bool gmem_kernel_has_module_func(const struct gmem_kernel *k, const char *module,
				 const char *name)
{
	char path[128];
	struct btf *mod;
	bool found;

	if (gmem_kernel_has_func(k, name))
		return true;
	if (!k->btf)
		return false;
	snprintf(path, sizeof(path), "/sys/kernel/btf/%s", module);
	mod = btf__parse_split(path, k->btf);
	if (!mod)
		return false; /* not loaded, or built without BTF */
	found = btf__find_by_name_kind(mod, name, BTF_KIND_FUNC) > 0;
	btf__free(mod);
	return found;
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
