// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/conversions.h"

#include "lib/bpfutil.h"
#include "lib/log.h"
#include "lib/vmtracker.h"
#include "convert.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <gmem/compat/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct gmem_conversions {
	struct gmem_convert *skel;
	struct ring_buffer *rb;
	gmem_record_fn fn;
	void *ctx;
};

#define CONVERSION_FUNC "kvm_arch_post_set_memory_attributes"
#define PUNCH_FUNC "kvm_gmem_fallocate"

/* x86 VM types with private memory (arch/x86/include/uapi/asm/kvm.h):
 * KVM_X86_SW_PROTECTED_VM 1, KVM_X86_SNP_VM 4, KVM_X86_TDX_VM 5. */
#define PRIVATE_VM_TYPES ((1u << 1) | (1u << 4) | (1u << 5))

/* Does KVM offer a VM type whose memory can be converted? */
static bool private_vm_types(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), types;

	if (kvm < 0)
		return false;
	types = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);
	close(kvm);
	return types > 0 && (types & PRIVATE_VM_TYPES);
}

bool gmem_conversions_traceable(const struct gmem_kernel *k)
{
	return gmem_kernel_has_module_func(k, "kvm", CONVERSION_FUNC);
}

const char *gmem_conversions_missing(const struct gmem_kernel *k)
{
	if (!gmem_conversions_traceable(k))
		return CONVERSION_FUNC "() is not in this kernel's BTF: it has no KVM memory "
				       "attributes (CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES, selected "
				       "by CONFIG_KVM_SW_PROTECTED_VM, SEV-SNP or TDX support), or "
				       "the kvm module is not loaded";
	if (!private_vm_types())
		return "KVM offers no VM type with private memory here (KVM_CAP_VM_TYPES on "
		       "/dev/kvm: needs CONFIG_KVM_SW_PROTECTED_VM, or SEV-SNP or TDX hardware "
		       "and its kvm-amd/kvm-intel support), so nothing can be converted";
	return NULL;
}

const char *gmem_punches_missing(const struct gmem_kernel *k)
{
	if (gmem_kernel_has_module_func(k, "kvm", PUNCH_FUNC))
		return NULL;
	return PUNCH_FUNC "() is not in this kernel's BTF: it has no guest_memfd "
			  "(CONFIG_KVM_GUEST_MEMFD), or the kvm module is not loaded";
}

void gmem_conversions_stop(struct gmem_conversions *cv)
{
	if (!cv)
		return;
	ring_buffer__free(cv->rb);
	gmem_convert__destroy(cv->skel);
	free(cv);
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct gmem_conversions *cv = ctx;

	return cv->fn ? cv->fn(cv->ctx, data, len) : 0;
}

/*
 * Opens and loads the convert object: with every program this kernel seems
 * to have ('all'), or only the two gmem-check cannot do without (the
 * others' hooks differ between kernels: 6.12 refuses one of them).
 */
static int load_convert(struct gmem_conversions *cv, const struct gmem_kernel *k,
			const struct gmem_conversions_opts *opts, bool all)
{
	bool convert = gmem_conversions_traceable(k), punch = !gmem_punches_missing(k);
	int err;

	cv->skel = gmem_convert__open();
	if (!cv->skel) {
		err = -errno;
		gmem_err("failed to open convert BPF object: %s", strerror(errno));
		return err;
	}
	bpf_program__set_autoload(cv->skel->progs.post_set_memory_attributes, convert);
	bpf_program__set_autoload(cv->skel->progs.kvm_gmem_fallocate_exit, punch);
	bpf_program__set_autoload(cv->skel->progs.set_mem_attributes_request, all && convert);
	bpf_program__set_autoload(cv->skel->progs.kvm_gmem_release_entry,
				  all && gmem_kernel_has_module_func(k, "kvm", "kvm_gmem_release"));
	/* discards of shared backing: memfd and shmem (hugetlbfs not yet) */
	bpf_program__set_autoload(cv->skel->progs.shmem_fallocate_exit,
				  all && gmem_kernel_has_func(k, "shmem_fallocate"));
	if (opts->ringbuf_bytes)
		bpf_map__set_max_entries(cv->skel->maps.check_events, opts->ringbuf_bytes);
	err = bpf_map__reuse_fd(cv->skel->maps.memslots,
				gmem_vmtracker_memslots_fd(opts->vmtracker));
	if (err) {
		gmem_err("failed to share the memslots map with the convert BPF object: %s",
			 strerror(-err));
		return err;
	}
	/* which files are some memslot's shared backing */
	err = gmem_vmtracker_share_maps(opts->vmtracker, cv->skel->obj);
	if (err)
		return err;
	return gmem_bpf_load_attach(cv->skel->skeleton, "convert BPF object", NULL);
}

int gmem_conversions_start(struct gmem_conversions **out, const struct gmem_kernel *k,
			   const struct gmem_conversions_opts *opts)
{
	struct gmem_conversions *cv;
	bool quiet;
	int err;

	*out = NULL;
	if (!opts->vmtracker)
		return -EINVAL;
	if (!gmem_conversions_traceable(k) && gmem_punches_missing(k)) {
		gmem_err("cannot watch conversions or hole punches: %s", gmem_punches_missing(k));
		return -ENOENT;
	}
	cv = calloc(1, sizeof(*cv));
	if (!cv)
		return -ENOMEM;
	quiet = gmem_log_set_quiet(true);
	err = load_convert(cv, k, opts, true);
	gmem_log_set_quiet(quiet);
	if (err == -ESRCH || err == -ENOENT) {
		gmem_warn("conversion requests, guest_memfd releases and shared-backing punches "
			  "are not watched on this kernel: %s", gmem_log_last_error());
		gmem_convert__destroy(cv->skel);
		cv->skel = NULL;
		err = load_convert(cv, k, opts, false);
	}
	if (err)
		goto fail;
	cv->rb = ring_buffer__new(bpf_map__fd(cv->skel->maps.check_events), on_record, cv, NULL);
	if (!cv->rb) {
		err = -errno;
		gmem_err("failed to open the check_events ring buffer: %s", strerror(errno));
		goto fail;
	}
	*out = cv;
	return 0;
fail:
	gmem_conversions_stop(cv);
	return err;
}

int gmem_conversions_events_fd(const struct gmem_conversions *cv)
{
	return bpf_map__fd(cv->skel->maps.check_events);
}

int gmem_conversions_poll(struct gmem_conversions *cv, int timeout_ms, gmem_record_fn fn,
			  void *ctx)
{
	int n;

	cv->fn = fn;
	cv->ctx = ctx;
	n = timeout_ms ? ring_buffer__poll(cv->rb, timeout_ms) : ring_buffer__consume(cv->rb);
	return n < 0 && n != -EINTR ? n : 0;
}

int gmem_conversions_stats(const struct gmem_conversions *cv, struct gmem_stats *st)
{
	return gmem_bpf_sum_stats(bpf_map__fd(cv->skel->maps.stats), st);
}
