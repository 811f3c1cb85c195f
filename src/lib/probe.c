// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/probe.h"
#include "lib/refs.h"

#include "lib/kallsyms.h"
#include "lib/kconfig.h"
#include "lib/kernel.h"
#include "lib/log.h"
#include "lib/scan.h"
#include "lib/tracker.h"
#include "lib/vmtracker.h"
#include "probe.skel.h"

#include <gmem/compat/kvm.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, seen by userspace from bpf() */
#endif

/* An ordinary function every kernel has in BTF, for the trials of attach
 * mechanisms as such (the tracked functions are tried on their own). */
#define ANY_FUNC "vfs_read"

struct probe_ctx {
	struct gmem_probe_report *r;
	struct gmem_kernel k;    /* k.btf NULL without BTF */
	struct gmem_kconfig cfg; /* cfg.text NULL without a config */
	char cfgbuf[256];        /* configs()' result, one use at a time */
	int fentry_err;          /* trial of a bare fentry program */
	int kprobe_err;          /* trial of a kprobe */
	int kretprobe_err;       /* trial of a kretprobe */
	enum gmem_attach_mode tracking; /* the pins object's family that works (AUTO: none) */
	int scan_err;            /* trial of the kernel scan */
	int kvm_fd, vm_fd;       /* -1 when unavailable */
	int err;                 /* first failure of probing itself (-ENOMEM) */
};

const char *gmem_errno_name(int err)
{
	switch (err < 0 ? -err : err) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOTSUPP: return "ENOTSUPP";
	}
	return "E?";
}

/* ---- the report ---- */

int gmem_probe_add(struct gmem_probe_report *r, bool required, bool available,
		   const char *feature, const char *fmt, ...)
{
	struct gmem_probe_item *it;
	va_list ap;

	if (r->nr == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct gmem_probe_item *items = realloc(r->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		r->items = items;
		r->cap = cap;
	}
	it = &r->items[r->nr++];
	memset(it, 0, sizeof(*it));
	it->required = required;
	it->available = available;
	snprintf(it->feature, sizeof(it->feature), "%s", feature);
	va_start(ap, fmt);
	vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
	return 0;
}

void gmem_probe_sort(struct gmem_probe_report *r)
{
	/* insertion sort: stable, and a report has a few dozen items */
	for (size_t i = 1; i < r->nr; i++) {
		struct gmem_probe_item it = r->items[i];
		size_t j = i;

		for (; j > 0 && it.required && !r->items[j - 1].required; j--)
			r->items[j] = r->items[j - 1];
		r->items[j] = it;
	}
}

bool gmem_probe_ok(const struct gmem_probe_report *r)
{
	for (size_t i = 0; i < r->nr; i++)
		if (r->items[i].required && !r->items[i].available)
			return false;
	return true;
}

void gmem_probe_free(struct gmem_probe_report *r)
{
	free(r->items);
	r->items = NULL;
	r->nr = r->cap = 0;
}

/* ---- helpers ---- */

__attribute__((format(printf, 5, 6)))
static void add(struct probe_ctx *c, bool required, bool available, const char *feature,
		const char *fmt, ...)
{
	char detail[sizeof(c->r->items[0].detail)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (gmem_probe_add(c->r, required, available, feature, "%s", detail) && !c->err)
		c->err = -ENOMEM;
}

/* "CONFIG_A=y, CONFIG_B is not set" for a NULL-terminated list. */
static const char *configs(struct probe_ctx *c, const char *const *names)
{
	size_t len = 0;

	c->cfgbuf[0] = '\0';
	for (size_t i = 0; names[i] && len < sizeof(c->cfgbuf); i++) {
		char one[160];

		if (c->cfg.text)
			gmem_kconfig_describe(&c->cfg, names[i], one, sizeof(one));
		else
			snprintf(one, sizeof(one), "%s", names[i]);
		len += snprintf(c->cfgbuf + len, sizeof(c->cfgbuf) - len, "%s%s", i ? ", " : "", one);
	}
	if (!c->cfg.text && len < sizeof(c->cfgbuf))
		snprintf(c->cfgbuf + len, sizeof(c->cfgbuf) - len, ": unknown (no kernel config readable)");
	return c->cfgbuf;
}

#define CONFIGS(c, ...) configs(c, (const char *const[]){ __VA_ARGS__, NULL })

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---- BPF basics ---- */

static void probe_bpf_syscall(struct probe_ctx *c)
{
	int ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL);
	int err = ret < 0 ? ret : 0;

	if (ret == 1)
		add(c, true, true, "bpf() syscall", "loaded a tracepoint program; %s",
		    CONFIGS(c, "CONFIG_BPF_SYSCALL"));
	else
		add(c, true, false, "bpf() syscall", "cannot load a tracepoint program: %s (%s)%s; %s",
		    ret ? strerror(-err) : "not supported", gmem_errno_name(err),
		    err == -EPERM && geteuid() ? ": run as root" : "",
		    CONFIGS(c, "CONFIG_BPF_SYSCALL", "CONFIG_BPF_EVENTS"));
}

static void probe_btf(struct probe_ctx *c)
{
	bool quiet = gmem_log_set_quiet(true);
	int err = gmem_kernel_probe(&c->k);

	gmem_log_set_quiet(quiet);
	if (err) {
		add(c, true, false, "vmlinux BTF", "cannot load /sys/kernel/btf/vmlinux: %s; %s",
		    strerror(-err), CONFIGS(c, "CONFIG_DEBUG_INFO_BTF"));
		return;
	}
	add(c, true, true, "vmlinux BTF", "%u types in /sys/kernel/btf/vmlinux; %s",
	    btf__type_cnt(c->k.btf) - 1, CONFIGS(c, "CONFIG_DEBUG_INFO_BTF"));
	add(c, true, c->k.foll_pin && c->k.foll_get, "BTF enums FOLL_PIN, FOLL_GET",
	    "FOLL_PIN=%#x FOLL_GET=%#x FOLL_LONGTERM=%#x%s", c->k.foll_pin, c->k.foll_get,
	    c->k.foll_longterm,
	    c->k.foll_pin && c->k.foll_get ? "" : " (0: not in this kernel's BTF)");
}

static void probe_kallsyms(struct probe_ctx *c)
{
	struct gmem_kallsyms ks = {};
	__u64 start = 0, end = 0;
	int err = gmem_kallsyms_load(&ks);

	if (!err)
		err = gmem_kallsyms_range(&ks, "unpin_user_page", &start, &end);
	gmem_kallsyms_free(&ks);
	if (!err)
		add(c, true, true, "/proc/kallsyms addresses", "unpin_user_page at %#llx",
		    (unsigned long long)start);
	else
		add(c, true, false, "/proc/kallsyms addresses", "%s (%s)%s", strerror(-err),
		    gmem_errno_name(err),
		    err == -EPERM ? ": addresses hidden: run as root, or lower "
				    "/proc/sys/kernel/kptr_restrict" : "");
}

/* ---- trials of the probe object's programs ---- */

enum probe_prog { PROBE_FENTRY, PROBE_TP_BTF, PROBE_KPROBE, PROBE_KPROBE_MULTI, PROBE_LSM,
		  PROBE_KRETPROBE };

static struct bpf_program *probe_prog(struct gmem_probe *skel, enum probe_prog which)
{
	switch (which) {
	case PROBE_FENTRY: return skel->progs.probe_fentry;
	case PROBE_TP_BTF: return skel->progs.probe_tp_btf;
	case PROBE_KPROBE:
	case PROBE_KRETPROBE: return skel->progs.probe_kprobe;
	case PROBE_KPROBE_MULTI: return skel->progs.probe_kprobe_multi;
	case PROBE_LSM: return skel->progs.probe_lsm;
	}
	return NULL;
}

static struct bpf_link *attach(struct bpf_program *prog, enum probe_prog which,
			       const char *target)
{
	LIBBPF_OPTS(bpf_kprobe_multi_opts, mopts, .syms = &target, .cnt = 1);

	switch (which) {
	case PROBE_KPROBE:
	case PROBE_KRETPROBE:
		return bpf_program__attach_kprobe(prog, which == PROBE_KRETPROBE, target);
	case PROBE_KPROBE_MULTI:
		return bpf_program__attach_kprobe_multi_opts(prog, NULL, &mopts);
	default:
		return bpf_program__attach(prog);
	}
}

/* Loads program 'which' alone, aimed at 'target', and attaches it for an
 * instant: 0, or -errno with *stage naming the step that failed. */
static int try_prog(enum probe_prog which, const char *target, const char **stage)
{
	bool quiet = gmem_log_set_quiet(true);
	struct gmem_probe *skel;
	struct bpf_program *prog, *p;
	struct bpf_link *link = NULL;
	int err = 0;

	*stage = "open";
	skel = gmem_probe__open();
	if (!skel) {
		err = -errno;
		goto out;
	}
	prog = probe_prog(skel, which);
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, p == prog);
	*stage = "find in BTF";
	if (which == PROBE_FENTRY || which == PROBE_TP_BTF)
		err = bpf_program__set_attach_target(prog, 0, target);
	if (err) {
		/* libbpf 1.1 frees the vmlinux BTF it loaded for the lookup
		 * only in load, which then fails at once (no target) */
		gmem_probe__load(skel);
		goto out;
	}
	*stage = "load";
	err = gmem_probe__load(skel);
	if (err)
		goto out;
	*stage = "attach";
	link = attach(prog, which, target);
	err = libbpf_get_error(link);
	if (err)
		link = NULL;
out:
	bpf_link__destroy(link);
	gmem_probe__destroy(skel);
	gmem_log_set_quiet(quiet);
	return err;
}

/* "loaded and attached" or "failed to load: Operation not permitted (EPERM)" */
static const char *outcome(char *buf, size_t len, int err, const char *stage)
{
	if (!err)
		snprintf(buf, len, "loaded and attached");
	else if (!strcmp(stage, "find in BTF") && (err == -ESRCH || err == -ENOENT))
		snprintf(buf, len, "not in this kernel's BTF (%s)", gmem_errno_name(err));
	else
		snprintf(buf, len, "failed to %s: %s (%s)", stage, strerror(-err),
			 gmem_errno_name(err));
	return buf;
}

/* ---- pin tracking: trampolines and the tracked functions ---- */

static int on_tracker_trial(void *ctx, const struct gmem_tracker_trial *t)
{
	struct probe_ctx *c = ctx;
	char res[160];

	if (!t->in_btf)
		add(c, t->required, false, t->prog, "%s() is not in this kernel's BTF (%s)",
		    t->func, t->required ? "renamed or inlined: pins cannot be tracked"
					 : "nothing can call it: not traced");
	else
		add(c, t->required, !t->err, t->prog, "%s() in BTF; %s%s", t->func,
		    outcome(res, sizeof(res), t->err, t->stage),
		    t->err == -EPERM ? ": BPF trampolines (fentry/fexit) not permitted" : "");
	return c->err;
}

/* ---- the VM model: VM, guest_memfd and memslot lifecycle hooks ---- */

struct vm_model_probe {
	struct probe_ctx *c;
	int vm_hooks;        /* kvm_arch_init_vm and kvm_arch_commit_memory_region working */
	int vm_kprobes;      /* the same as kprobes (3 programs: a kretprobe too) */
	const char *binding; /* the guest_memfd binding hook that works */
};

static int on_vmtracker_trial(void *ctx, const struct gmem_vmtracker_trial *t)
{
	struct vm_model_probe *p = ctx;
	char res[160];

	if (!t->in_btf) {
		add(p->c, false, false, t->prog, "%s() is not in this kernel's BTF, nor in module "
		    "kvm's (%s; or renamed on this kernel): no %s", t->func,
		    CONFIGS(p->c, "CONFIG_KVM"), t->why);
		return p->c->err;
	}
	add(p->c, false, !t->err, t->prog, "%s() in BTF; %s: %s", t->func,
	    outcome(res, sizeof(res), t->err, t->stage), t->why);
	if (!t->err && (!strcmp(t->func, "kvm_arch_init_vm") ||
			!strcmp(t->func, "kvm_arch_commit_memory_region"))) {
		if (t->prog[0] == 'k')
			p->vm_kprobes++;
		else
			p->vm_hooks++;
	}
	if (!t->err && strstr(t->func, "gmem_") && strstr(t->why, "binding") && !p->binding)
		p->binding = t->func;
	return p->c->err;
}

static void probe_vm_model(struct probe_ctx *c)
{
	struct vm_model_probe p = { .c = c };
	int err = c->k.btf ? gmem_vmtracker_probe(&c->k, on_vmtracker_trial, &p) : -ENOENT;

	if (p.vm_hooks < 2 && p.vm_kprobes == 3)
		p.vm_hooks = 2; /* the kprobe twins do the job */

	if (err && err != -ENOENT && !c->err)
		c->err = err;
	add(c, false, p.vm_hooks == 2, "VM model (VMs, memslots, shared backing)",
	    p.vm_hooks == 2 ? "VMs at kvm_arch_init_vm, memslots at "
	    "kvm_arch_commit_memory_region, guest_memfd binding at %s"
	    : "needs fexit/kvm_arch_init_vm and fentry/kvm_arch_commit_memory_region (%s); "
	    "gmemtop shows pins without VMs and memslots", p.vm_hooks == 2
	    ? (p.binding ? p.binding : "the commit only") : CONFIGS(c, "CONFIG_KVM"));
}

/* Why trampolines fail although the config has them. */
static const char *refusal_reason(char *buf, size_t len)
{
	char lockdown[128] = "";
	FILE *f = fopen("/sys/kernel/security/lockdown", "r");

	if (f) {
		if (fgets(lockdown, sizeof(lockdown), f))
			lockdown[strcspn(lockdown, "\n")] = '\0';
		fclose(f);
	}
	if (geteuid())
		snprintf(buf, len, "not root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)");
	else if (lockdown[0] && !strstr(lockdown, "[none]"))
		snprintf(buf, len, "kernel lockdown is on (%s)", lockdown);
	else
		snprintf(buf, len, "something other than the kernel config refuses them "
				   "(a security policy, a seccomp filter or a sandbox)");
	return buf;
}

static void probe_trampolines(struct probe_ctx *c)
{
	static const char feature[] = "BPF trampolines (fentry/fexit)";
	const char *stage;
	char res[160], why[192];

	c->fentry_err = try_prog(PROBE_FENTRY, ANY_FUNC, &stage);
	if (!c->fentry_err) {
		add(c, true, true, feature, "fentry/" ANY_FUNC " %s; %s",
		    outcome(res, sizeof(res), 0, stage),
		    CONFIGS(c, "CONFIG_BPF_JIT", "CONFIG_FUNCTION_TRACER",
			    "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"));
		return;
	}
	outcome(res, sizeof(res), c->fentry_err, stage);
	if (gmem_kconfig_enabled(&c->cfg, "CONFIG_BPF_JIT") &&
	    gmem_kconfig_enabled(&c->cfg, "CONFIG_FUNCTION_TRACER") &&
	    gmem_kconfig_enabled(&c->cfg, "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"))
		add(c, true, false, feature, "fentry/" ANY_FUNC " %s: not permitted, although "
		    "CONFIG_BPF_JIT, CONFIG_FUNCTION_TRACER and "
		    "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS are set: %s", res,
		    refusal_reason(why, sizeof(why)));
	else
		add(c, true, false, feature, "fentry/" ANY_FUNC " %s; needs %s", res,
		    CONFIGS(c, "CONFIG_BPF_JIT", "CONFIG_FUNCTION_TRACER",
			    "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"));
}

static void probe_kprobes(struct probe_ctx *c)
{
	const char *stage;
	char res[160];
	int err;

	c->kprobe_err = try_prog(PROBE_KPROBE, ANY_FUNC, &stage);
	add(c, false, !c->kprobe_err, "kprobes", "kprobe/" ANY_FUNC " %s; %s%s",
	    outcome(res, sizeof(res), c->kprobe_err, stage),
	    CONFIGS(c, "CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS"),
	    exists("/sys/kernel/debug/kprobes") ? "; /sys/kernel/debug/kprobes present" : "");
	c->kretprobe_err = try_prog(PROBE_KRETPROBE, ANY_FUNC, &stage);
	add(c, false, !c->kretprobe_err, "kretprobes", "kretprobe/" ANY_FUNC " %s; %s",
	    outcome(res, sizeof(res), c->kretprobe_err, stage),
	    CONFIGS(c, "CONFIG_KPROBES", "CONFIG_KRETPROBES", "CONFIG_KPROBE_EVENTS"));
	err = try_prog(PROBE_KPROBE_MULTI, ANY_FUNC, &stage);
	add(c, false, !err, "kprobe_multi (fprobe)", "kprobe.multi/" ANY_FUNC " %s; %s",
	    outcome(res, sizeof(res), err, stage), CONFIGS(c, "CONFIG_FPROBE"));
}

/* What gmemtop --attach auto tracks pins with: the first family whose
 * programs of the pins object all load and attach (gmem_tracker_probe_mode). */
static void probe_mechanism(struct probe_ctx *c)
{
	if (c->tracking == GMEM_ATTACH_FENTRY)
		add(c, true, true, "tracking mechanism", "fentry/fexit (BPF trampolines)%s",
		    c->kprobe_err ? "" : "; kprobe/kretprobe fallback available (--attach kprobe)");
	else if (c->tracking == GMEM_ATTACH_KPROBE)
		add(c, true, true, "tracking mechanism",
		    "kprobe/kretprobe (fallback: BPF trampolines %s)",
		    c->fentry_err ? gmem_errno_name(c->fentry_err) : "work, but not for every "
		    "pins program");
	else
		add(c, true, false, "tracking mechanism",
		    "none: BPF trampolines refused (%s), kprobes %s (%s)%s",
		    gmem_errno_name(c->fentry_err),
		    c->kprobe_err || c->kretprobe_err ? "unavailable too" : "work but the pins "
		    "programs do not", gmem_errno_name(c->kprobe_err ? c->kprobe_err
							: c->kretprobe_err),
		    c->scan_err ? "" : " (gmemtop --scan-only works)");
}

static void probe_scan(struct probe_ctx *c)
{
	struct gmem_scanner_opts opts = { .ringbuf_bytes = 4096 };
	struct gmem_scanner *sc = NULL;
	bool quiet = gmem_log_set_quiet(true);
	int err = gmem_scanner_open(&sc, &c->k, &opts);
	char res[160];

	gmem_scanner_close(sc);
	gmem_log_set_quiet(quiet);
	c->scan_err = err;
	add(c, true, !err, "iter/task_file (kernel scan)", "%s; %s",
	    err ? outcome(res, sizeof(res), err, "load or attach") : "loaded and attached",
	    CONFIGS(c, "CONFIG_BPF_SYSCALL"));
}

/* ---- BPF LSM (gmem-guard) ---- */

static void probe_lsm(struct probe_ctx *c)
{
	char list[512], res[160], cfg[300];
	const char *stage;
	int err = gmem_kernel_read_lsm(list, sizeof(list));

	gmem_kconfig_describe(&c->cfg, "CONFIG_LSM", cfg, sizeof(cfg));
	if (err)
		add(c, false, false, "bpf in the active LSMs",
		    "cannot read /sys/kernel/security/lsm: %s%s; default list %s", strerror(-err),
		    err == -ENOENT ? " (securityfs not mounted?)" : "", cfg);
	else
		add(c, false, gmem_lsm_list_has(list, "bpf"), "bpf in the active LSMs",
		    "active: %s%s", list,
		    gmem_lsm_list_has(list, "bpf") ? "" : " (boot with lsm=...,bpf)");
	err = try_prog(PROBE_LSM, NULL, &stage);
	add(c, false, !err, "lsm/file_mprotect (BPF LSM)", "%s%s; %s",
	    outcome(res, sizeof(res), err, stage),
	    err == -EPERM ? ": BPF LSM programs not permitted" : "",
	    CONFIGS(c, "CONFIG_BPF_LSM"));
}

/* ---- tracepoints ---- */

static bool exists_in(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return exists(path);
}

static bool is_mounted(const char *dir, long magic)
{
	struct statfs st;

	return !statfs(dir, &st) && st.f_type == magic;
}

/* Looking under debugfs' tracing/ would automount tracefs there (with a
 * deprecation notice in the kernel log): only where it is mounted already. */
static const char *tracefs_events(void)
{
	if (is_mounted("/sys/kernel/tracing", TRACEFS_MAGIC))
		return "/sys/kernel/tracing/events";
	if (is_mounted("/sys/kernel/debug/tracing", TRACEFS_MAGIC))
		return "/sys/kernel/debug/tracing/events";
	return NULL;
}

static void probe_page_ref(struct probe_ctx *c)
{
	const char *events = tracefs_events(), *stage;
	char res[160], dir[128] = "";
	int err = try_prog(PROBE_TP_BTF, "page_ref_mod", &stage);

	if (events)
		snprintf(dir, sizeof(dir), "; %s/page_ref %s", events,
			 exists_in(events, "page_ref") ? "present" : "absent");
	else
		snprintf(dir, sizeof(dir), "; tracefs not mounted");
	add(c, false, !err, "tp_btf/page_ref_* (refcount tracepoints)", "page_ref_mod %s%s; %s",
	    outcome(res, sizeof(res), err, stage), dir, CONFIGS(c, "CONFIG_DEBUG_PAGE_REF"));
}

/* The refs object itself, as gmemtop would start it: all seven page_ref_*
 * programs, or the reason extra references stay unattributed. */
static void probe_ref_attribution(struct probe_ctx *c)
{
	struct gmem_ref_tracker *r = NULL;
	bool quiet;
	int err;

	if (!gmem_refs_supported(&c->k)) {
		add(c, false, false, "extra-reference attribution (refs)",
		    "btf_trace_page_ref_mod not in BTF: no page_ref_* tracepoints, extra "
		    "references are shown unattributed; %s", CONFIGS(c, "CONFIG_DEBUG_PAGE_REF"));
		return;
	}
	quiet = gmem_log_set_quiet(true);
	err = gmem_refs_start(&r, 0, 64, -1);
	gmem_log_set_quiet(quiet);
	gmem_refs_stop(r);
	if (err)
		add(c, false, false, "extra-reference attribution (refs)",
		    "refs BPF object failed to load or attach: %s (%s)", strerror(-err),
		    gmem_kernel_explain_errno(err));
	else
		add(c, false, true, "extra-reference attribution (refs)",
		    "the seven page_ref_* programs loaded and attached");
}

static void probe_kvm_tracepoint(struct probe_ctx *c)
{
	const char *stage;
	char res[160];
	int err = try_prog(PROBE_TP_BTF, "kvm_vm_set_mem_attributes", &stage);

	add(c, false, !err, "tp_btf/kvm_vm_set_mem_attributes", "%s%s; %s",
	    outcome(res, sizeof(res), err, stage),
	    err == -ENOENT || err == -ESRCH ? ": KVM not loaded, or without memory attributes" : "",
	    CONFIGS(c, "CONFIG_KVM", "CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES"));
}

/* gmem-check's hooks: conversions that took effect, guest_memfd hole
 * punches; and in-place conversion, which it does not watch yet. */
static void probe_check_hooks(struct probe_ctx *c)
{
	const char *stage;
	char res[160];
	int err = try_prog(PROBE_FENTRY, "kvm_arch_post_set_memory_attributes", &stage);

	add(c, false, !err, "conversions (gmem-check)",
	    "fentry/kvm_arch_post_set_memory_attributes %s%s; %s", outcome(res, sizeof(res), err, stage),
	    err == -ENOENT || err == -ESRCH ? ": KVM not loaded, or without memory attributes" : "",
	    CONFIGS(c, "CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES", "CONFIG_KVM_SW_PROTECTED_VM"));
	err = try_prog(PROBE_FENTRY, "kvm_gmem_fallocate", &stage);
	add(c, false, !err, "guest_memfd hole punches (gmem-check)", "fexit/kvm_gmem_fallocate %s%s; %s",
	    outcome(res, sizeof(res), err, stage),
	    err == -ENOENT || err == -ESRCH ? ": KVM not loaded, or without guest_memfd" : "",
	    CONFIGS(c, "CONFIG_KVM_GUEST_MEMFD"));
	/* the posted "guest_memfd in-place conversion" series (not merged as
	 * of 7.3): KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd fd */
	add(c, false, false, "in-place conversion (KVM_SET_MEMORY_ATTRIBUTES2)",
	    gmem_kernel_has_module_func(&c->k, "kvm", "kvm_gmem_set_attributes")
		    ? "kvm_gmem_set_attributes() in BTF, but gmem-check does not watch in-place "
		      "conversions yet: they are not checked"
		    : "kvm_gmem_set_attributes() not in BTF: this kernel converts only with "
		      "KVM_SET_MEMORY_ATTRIBUTES on the VM (the in-place series is not merged "
		      "as of 7.3)");
}

/* ---- KVM and guest_memfd ---- */

static void probe_dev_kvm(struct probe_ctx *c)
{
	int api;

	c->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (c->kvm_fd < 0) {
		int err = -errno;

		add(c, false, false, "/dev/kvm", "cannot open: %s%s; %s", strerror(-err),
		    err == -ENOENT ? " (KVM or its kvm_amd/kvm_intel module not loaded)" : "",
		    CONFIGS(c, "CONFIG_KVM", "CONFIG_KVM_AMD", "CONFIG_KVM_INTEL"));
		return;
	}
	api = ioctl(c->kvm_fd, KVM_GET_API_VERSION, 0);
	c->vm_fd = ioctl(c->kvm_fd, KVM_CREATE_VM, KVM_X86_DEFAULT_VM);
	if (c->vm_fd < 0)
		add(c, false, false, "/dev/kvm", "API %d, but KVM_CREATE_VM: %s; %s", api,
		    strerror(errno), CONFIGS(c, "CONFIG_KVM", "CONFIG_KVM_AMD", "CONFIG_KVM_INTEL"));
	else
		add(c, false, true, "/dev/kvm", "API %d; KVM_CREATE_VM works", api);
}

/* KVM_CREATE_GUEST_MEMFD with 'flags', and one page mmap'ed when asked. */
static int try_guest_memfd(int vm_fd, __u64 flags)
{
	struct kvm_create_guest_memfd g = { .size = 2u << 20, .flags = flags };
	int fd = ioctl(vm_fd, KVM_CREATE_GUEST_MEMFD, &g), err = 0;
	void *p;

	if (fd < 0)
		return -errno;
	if (flags & GUEST_MEMFD_FLAG_MMAP) {
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			err = -errno;
		else
			munmap(p, 4096);
	}
	close(fd);
	return err;
}

static void probe_guest_memfd(struct probe_ctx *c)
{
	const __u64 mmap_flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	int cap, flags, err;

	if (c->vm_fd < 0) {
		add(c, false, false, "guest_memfd", "no VM to ask (see /dev/kvm); %s",
		    CONFIGS(c, "CONFIG_KVM_GUEST_MEMFD"));
		add(c, false, false, "guest_memfd host mmap", "no VM to ask (see /dev/kvm)");
		return;
	}
	cap = ioctl(c->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD);
	err = try_guest_memfd(c->vm_fd, 0);
	add(c, false, !err, "guest_memfd", "KVM_CAP_GUEST_MEMFD=%d; KVM_CREATE_GUEST_MEMFD %s%s; %s",
	    cap, err ? "failed: " : "works", err ? strerror(-err) : "",
	    CONFIGS(c, "CONFIG_KVM_GUEST_MEMFD"));
	flags = ioctl(c->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);
	err = (flags > 0 && (flags & mmap_flags) == mmap_flags) ? try_guest_memfd(c->vm_fd, mmap_flags)
								 : -EOPNOTSUPP;
	add(c, false, !err, "guest_memfd host mmap",
	    "KVM_CAP_GUEST_MEMFD_FLAGS=%#x%s%s%s", flags < 0 ? 0 : flags,
	    err == -EOPNOTSUPP ? " (no GUEST_MEMFD_FLAG_MMAP|INIT_SHARED: Linux 6.18+)" : "",
	    err && err != -EOPNOTSUPP ? "; mmap of a guest_memfd failed: " : "; mmap works",
	    err && err != -EOPNOTSUPP ? strerror(-err) : "");
}

static void probe_sw_protected(struct probe_ctx *c)
{
	int types = c->kvm_fd < 0 ? -1 : ioctl(c->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);
	bool ok = types > 0 && (types & (1 << KVM_X86_SW_PROTECTED_VM));

	add(c, false, ok, "KVM_X86_SW_PROTECTED_VM (conversions)", "KVM_CAP_VM_TYPES=%#x; %s",
	    types < 0 ? 0 : types, CONFIGS(c, "CONFIG_KVM_SW_PROTECTED_VM"));
}

static void probe_gup_test(struct probe_ctx *c)
{
	bool ok = exists("/sys/kernel/debug/gup_test");

	add(c, false, ok, "gup_test", "/sys/kernel/debug/gup_test %s; %s",
	    ok ? "present" : is_mounted("/sys/kernel/debug", DEBUGFS_MAGIC)
		     ? "absent" : "absent (debugfs not mounted)",
	    CONFIGS(c, "CONFIG_GUP_TEST"));
}

/*
 * memfd_pin_folios() pins through try_grab_folio(), so fexit/try_grab_folio
 * counts its pins and the stack names the API; it accepts only shmem and
 * hugetlbfs files (mm/gup.c returns -EINVAL for others), so it can pin a
 * memslot's shared backing but never a guest_memfd folio.
 */
static void probe_memfd_pin_folios(struct probe_ctx *c)
{
	bool ok = gmem_kernel_has_func(&c->k, "memfd_pin_folios");

	add(c, false, ok, "memfd_pin_folios()",
	    "%s; pins counted by fexit/try_grab_folio, named memfd_pin_folios by stack; "
	    "shmem and hugetlbfs files only, never guest_memfd; users: %s",
	    ok ? "memfd_pin_folios() in BTF" : "memfd_pin_folios() not in BTF (Linux 6.11+)",
	    CONFIGS(c, "CONFIG_UDMABUF", "CONFIG_IOMMUFD"));
}

/* ---- all of it ---- */

/* A feature gmemtop does without here (trampolines, when kprobes do). */
static void make_optional(struct gmem_probe_report *r, const char *feature)
{
	for (size_t i = 0; i < r->nr; i++)
		if (!strcmp(r->items[i].feature, feature))
			r->items[i].required = false;
}

int gmem_probe_run(struct gmem_probe_report *r)
{
	struct probe_ctx c = { .r = r, .kvm_fd = -1, .vm_fd = -1 };
	struct utsname u;
	int err;

	memset(r, 0, sizeof(*r));
	if (!uname(&u))
		snprintf(r->release, sizeof(r->release), "%s", u.release);
	if (!gmem_kconfig_load(&c.cfg, r->release))
		snprintf(r->config, sizeof(r->config), "%s", c.cfg.source);
	probe_btf(&c); /* first: the others look in BTF */
	probe_bpf_syscall(&c);
	probe_kallsyms(&c);
	probe_trampolines(&c);
	err = c.k.btf ? gmem_tracker_probe_mode(&c.k, on_tracker_trial, &c, &c.tracking) : 0;
	if (c.tracking == GMEM_ATTACH_KPROBE)
		make_optional(r, "BPF trampolines (fentry/fexit)");
	probe_scan(&c);
	probe_vm_model(&c);
	probe_kprobes(&c);
	probe_mechanism(&c);
	probe_lsm(&c);
	probe_page_ref(&c);
	probe_ref_attribution(&c);
	probe_kvm_tracepoint(&c);
	probe_check_hooks(&c);
	probe_dev_kvm(&c);
	probe_guest_memfd(&c);
	probe_sw_protected(&c);
	probe_gup_test(&c);
	probe_memfd_pin_folios(&c);

	if (c.vm_fd >= 0)
		close(c.vm_fd);
	if (c.kvm_fd >= 0)
		close(c.kvm_fd);
	gmem_kconfig_free(&c.cfg);
	gmem_kernel_free(&c.k);
	gmem_probe_sort(r);
	return c.err ? c.err : err;
}

/* ---- output ---- */

static int render_json(FILE *out, const struct gmem_probe_report *r)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();

	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "kernel", json_object_new_string(r->release));
	json_object_object_add(o, "config", r->config[0] ? json_object_new_string(r->config) : NULL);
	json_object_object_add(o, "ok", json_object_new_boolean(gmem_probe_ok(r)));
	for (size_t i = 0; i < r->nr; i++) {
		const struct gmem_probe_item *it = &r->items[i];
		struct json_object *f = json_object_new_object();

		json_object_object_add(f, "feature", json_object_new_string(it->feature));
		json_object_object_add(f, "required", json_object_new_boolean(it->required));
		json_object_object_add(f, "available", json_object_new_boolean(it->available));
		json_object_object_add(f, "detail", json_object_new_string(it->detail));
		json_object_array_add(arr, f);
	}
	json_object_object_add(o, "features", arr);
	fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return ferror(out) ? -EIO : 0;
}

static int render_table(FILE *out, const struct gmem_probe_report *r)
{
	fprintf(out, "kernel %s, config %s\n", r->release,
		r->config[0] ? r->config : "unknown (no /proc/config.gz or /boot/config-*)");
	fprintf(out, "%-9s %-42s %-5s %s\n", "NEEDED", "FEATURE", "AVAIL", "DETAIL");
	for (size_t i = 0; i < r->nr; i++) {
		const struct gmem_probe_item *it = &r->items[i];

		fprintf(out, "%-9s %-42s %-5s %s\n", it->required ? "required" : "optional",
			it->feature, it->available ? "yes" : "no", it->detail);
	}
	fprintf(out, "%s\n", gmem_probe_ok(r) ? "gmemtop can run here"
					      : "gmemtop cannot run here: a required feature is missing");
	return ferror(out) ? -EIO : 0;
}

int gmem_render_probe(FILE *out, const struct gmem_probe_report *r, enum gmem_format fmt)
{
	return fmt == GMEM_FMT_JSON ? render_json(out, r) : render_table(out, r);
}
