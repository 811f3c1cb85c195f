/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A vCPU for gmem-vmm that makes KVM map a guest page for its own use
 * (kvm_vcpu_map).  The guest runs in 64-bit long mode straight away (no
 * boot code: KVM_SET_SREGS puts it there, with identity-mapped page tables
 * built in guest memory, as the kernel's KVM selftests do) and executes
 * VMSAVE on a guest page COUNT times, then HLT.  KVM intercepts VMSAVE
 * (arch/x86/kvm/svm/svm.c: vmload_vmsave_interception) and
 * kvm_vcpu_map()s the page: since Linux 6.13 a FOLL_PIN pin through
 * __kvm_vcpu_map(), before that a plain reference through kvm_vcpu_map(),
 * released again before the exit handler returns.
 *
 * Guest physical layout, in the first pages of the memslot the caller
 * made: PML4, PDPT, PD (2 MiB pages over the first GiB), code.
 */
#ifndef GMEM_TEST_VCPU_H
#define GMEM_TEST_VCPU_H

#include "gmem-vm.h"

#include <asm/kvm.h>

#define VCPU_IMAGE_PAGES 4 /* PML4, PDPT, PD, code */
#define VCPU_IDENTITY_MAPPED (1ul << 30)
#define CPUID_SVM_ECX (1u << 2) /* CPUID 0x80000001 ECX: SVM */
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_SVME (1ull << 12)
#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull

struct vcpu {
	int fd;
	struct kvm_run *run;
	size_t run_size;
};

/* A module parameter's value ("?" when the file is not there). */
static inline void read_param(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	snprintf(buf, len, "?");
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

static inline bool param_on(const char *value)
{
	return value[0] == 'Y' || value[0] == '1';
}

/*
 * The CPUID KVM offers, with SVM in it; NULL and 'why' filled when KVM
 * does not offer nested SVM to its guests.
 */
static inline struct kvm_cpuid2 *supported_cpuid_with_svm(char *why, size_t len)
{
	const unsigned nent = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	char nested[16], vls[16];
	bool svm = false;

	if (!c || kvm < 0 || (c->nent = nent, ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c))) {
		snprintf(why, len, "error KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto fail;
	}
	close(kvm);
	read_param("/sys/module/kvm_amd/parameters/nested", nested, sizeof(nested));
	read_param("/sys/module/kvm_amd/parameters/vls", vls, sizeof(vls));
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0x80000001 && (c->entries[i].ecx & CPUID_SVM_ECX))
			svm = true;
	/* virtual VMLOAD/VMSAVE: an AMD guest's VMSAVE runs without an exit */
	if (svm && !param_on(vls))
		return c;
	if (svm)
		snprintf(why, len, "skip: kvm_amd.vls=%s (/sys/module/kvm_amd/parameters/vls): the "
			 "guest's VMSAVE runs virtualized, KVM never maps its page", vls);
	else if (!strcmp(nested, "?"))
		snprintf(why, len, "skip: KVM offers no nested SVM to guests, so VMSAVE is not "
			 "intercepted: kvm_amd is not loaded (/sys/module/kvm_amd; an Intel host?)");
	else
		snprintf(why, len, "skip: KVM offers no nested SVM to guests, so VMSAVE is not "
			 "intercepted (no SVM in KVM_GET_SUPPORTED_CPUID): kvm_amd.nested=%s "
			 "(/sys/module/kvm_amd/parameters/nested)", nested);
	kvm = -1;
fail:
	if (kvm >= 0)
		close(kvm);
	free(c);
	return NULL;
}

/* vCPU 0 of 'vm', with SVM in its CPUID; on failure, 'why' says why. */
static inline int vcpu_create(struct vcpu *v, int vm, char *why, size_t len)
{
	struct kvm_cpuid2 *cpuid = supported_cpuid_with_svm(why, len);
	int kvm, size;

	if (!cpuid)
		return -1;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	size = kvm < 0 ? -1 : ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm >= 0)
		close(kvm);
	v->fd = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (size <= 0 || v->fd < 0) {
		snprintf(why, len, "error KVM_CREATE_VCPU: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, cpuid)) {
		snprintf(why, len, "error KVM_SET_CPUID2: %s", strerror(errno));
		goto fail;
	}
	v->run_size = (size_t)size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		snprintf(why, len, "error mmap kvm_run: %s", strerror(errno));
		goto fail;
	}
	free(cpuid);
	return 0;
fail:
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	free(cpuid);
	return -1;
}

/*
 * The guest image for a memslot at guest page 'base_gfn': page tables
 * mapping the first GiB 1:1, and code that runs VMSAVE 'count' times on
 * guest physical address 'target', then HLT.  'img' is VCPU_IMAGE_PAGES
 * pages.
 */
static inline void vcpu_build_image(unsigned char *img, __u64 base_gfn, __u64 target,
				    __u32 count)
{
	__u64 base = base_gfn * PAGE, *pml4 = (__u64 *)img, *pdpt = (__u64 *)(img + PAGE),
	      *pd = (__u64 *)(img + 2 * PAGE);
	unsigned char *code = img + 3 * PAGE;
	const unsigned char prog[] = {
		0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, /* mov $target, %rax */
		0xb9, 0, 0, 0, 0,                   /* mov $count, %ecx */
		0x85, 0xc9,                         /* test %ecx, %ecx */
		0x74, 0x07,                         /* jz hlt */
		0x0f, 0x01, 0xdb,                   /* 1: vmsave */
		0xff, 0xc9,                         /* dec %ecx */
		0x75, 0xf9,                         /* jnz 1b */
		0xf4,                               /* hlt */
	};

	memset(img, 0, VCPU_IMAGE_PAGES * PAGE);
	pml4[0] = (base + PAGE) | PTE_P | PTE_RW;
	pdpt[0] = (base + 2 * PAGE) | PTE_P | PTE_RW;
	for (__u64 i = 0; i < 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	memcpy(code, prog, sizeof(prog));
	memcpy(code + 2, &target, sizeof(target));
	memcpy(code + 11, &count, sizeof(count));
}

static inline void flat_segment(struct kvm_segment *s, __u16 selector, __u8 type, bool code)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .dpl = 0, .db = !code, .s = 1, .l = code, .g = 1,
	};
}

/* Long mode, CPL 0, paging on with the image's tables, EFER.SVME set. */
static inline int vcpu_enter_long_mode(struct vcpu *v, __u64 base_gfn, char *why, size_t len)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = (base_gfn + 3) * PAGE, .rflags = 0x2 };

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs)) {
		snprintf(why, len, "error KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	flat_segment(&sregs.cs, 0x8, 0xb, true);
	flat_segment(&sregs.ds, 0x10, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){ .selector = 0x18, .limit = 0x67, .type = 0xb,
					 .present = 1 };
	sregs.cr0 = 0x80050033; /* PG WP NE ET MP PE */
	sregs.cr3 = base_gfn * PAGE;
	sregs.cr4 = 0x20;       /* PAE */
	sregs.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_SVME;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs)) {
		snprintf(why, len, "error KVM_SET_SREGS (long mode, EFER.SVME): %s", strerror(errno));
		return -1;
	}
	if (ioctl(v->fd, KVM_SET_REGS, &regs)) {
		snprintf(why, len, "error KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Run until the guest halts; the number of exits to userspace, or -1. */
static inline long vcpu_run_to_hlt(struct vcpu *v, char *why, size_t len)
{
	struct kvm_regs regs;

	for (long exits = 1; exits < 1000; exits++) {
		if (ioctl(v->fd, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			snprintf(why, len, "error KVM_RUN: %s", strerror(errno));
			return -1;
		}
		if (v->run->exit_reason == KVM_EXIT_HLT)
			return exits;
		if (v->run->exit_reason == KVM_EXIT_INTR)
			continue;
		ioctl(v->fd, KVM_GET_REGS, &regs);
		snprintf(why, len, "error guest stopped with KVM exit %u at rip 0x%llx rcx %llu "
			 "(%s)", v->run->exit_reason, regs.rip, regs.rcx,
			 v->run->exit_reason == KVM_EXIT_SHUTDOWN
				 ? "triple fault: VMSAVE raised #UD or #GP, or a page table is wrong"
				 : "see include/uapi/linux/kvm.h");
		return -1;
	}
	snprintf(why, len, "error the guest did not halt after 1000 exits");
	return -1;
}

#endif
