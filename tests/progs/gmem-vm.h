/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the test programs share: a VM with one host-mappable guest_memfd,
 * mapped and faulted in, and the skip protocol of the VM tests.
 */
#ifndef GMEM_TEST_VM_H
#define GMEM_TEST_VM_H

#include <gmem/compat/kvm.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif

#define PAGE 4096UL

/* mm/gup_test.h (CONFIG_GUP_TEST), not exported to userspace headers */
struct pin_longterm_test {
	__u64 addr;
	__u64 size;
	__u32 flags;
};
#define PIN_LONGTERM_TEST_START _IOW('g', 7, struct pin_longterm_test)
#define PIN_LONGTERM_TEST_STOP _IO('g', 8)
#define PIN_LONGTERM_TEST_FLAG_USE_WRITE 1
#define PIN_LONGTERM_TEST_FLAG_USE_FAST 2
#define GUP_TEST_PATH "/sys/kernel/debug/gup_test"

static const char *gmem_progname = "gmem-test";

/* Exit with a message; code 4 (skip) also prints the reason on stdout, as
 * its last line, which is where the VM tests look for it. */
static inline void __attribute__((noreturn, format(printf, 2, 3))) die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", gmem_progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (code == 4) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		putchar('\n');
		va_end(ap);
	}
	exit(code);
}

/* A default VM and a guest_memfd of 'size' bytes the host may mmap. */
static inline int gmem_create(size_t size, int *vm_out)
{
	struct kvm_create_guest_memfd gmem = { .size = size };
	int kvm, vm, fd, flags;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die(4, "skip: no usable /dev/kvm: %s", strerror(errno));
	vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_DEFAULT_VM);
	if (vm < 0)
		die(4, "skip: KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD) <= 0)
		die(4, "skip: guest_memfd is not available to default VMs here "
		       "(KVM_CAP_GUEST_MEMFD; host-mappable guest_memfd needs Linux 6.18+)");
	flags = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);
	if (flags < 0 || !(flags & GUEST_MEMFD_FLAG_MMAP) || !(flags & GUEST_MEMFD_FLAG_INIT_SHARED))
		die(4, "skip: guest_memfd cannot be mmap'ed here (GUEST_MEMFD_FLAG_MMAP, Linux 6.18+)");
	gmem.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	fd = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &gmem);
	if (fd < 0)
		die(1, "KVM_CREATE_GUEST_MEMFD: %s", strerror(errno));
	close(kvm);
	*vm_out = vm;
	return fd;
}

/* KVM_X86_SW_PROTECTED_VM where offered (CONFIG_KVM_SW_PROTECTED_VM). */
static inline unsigned long gmem_pick_vm_type(int kvm)
{
	int types = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);

	return types > 0 && (types & (1 << KVM_X86_SW_PROTECTED_VM)) ? KVM_X86_SW_PROTECTED_VM
								 : KVM_X86_DEFAULT_VM;
}

/* A VM of type *type, or (*type == ~0UL) of the type gmem_pick_vm_type()
 * chooses; skips without /dev/kvm. */
static inline int gmem_create_vm(unsigned long *type)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;

	if (kvm < 0)
		die(4, "skip: no usable /dev/kvm: %s", strerror(errno));
	if (*type == ~0UL)
		*type = gmem_pick_vm_type(kvm);
	vm = ioctl(kvm, KVM_CREATE_VM, *type);
	if (vm < 0)
		die(4, "skip: KVM_CREATE_VM: %s", strerror(errno));
	close(kvm);
	return vm;
}

/* A guest_memfd, host-mappable if the kernel can (*mappable); -1 if it
 * has none for this VM. */
static inline int gmem_create_any(int vm, size_t size, bool *mappable)
{
	struct kvm_create_guest_memfd g = { .size = size };
	int flags;

	*mappable = false;
	if (ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD) <= 0)
		return -1;
	flags = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);
	if (flags > 0 && (flags & GUEST_MEMFD_FLAG_MMAP) && (flags & GUEST_MEMFD_FLAG_INIT_SHARED)) {
		g.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
		*mappable = true;
	}
	return ioctl(vm, KVM_CREATE_GUEST_MEMFD, &g);
}

/* A memfd of 'pages' pages as a memslot's shared backing, mapped at
 * *shared and faulted in. */
static inline int gmem_create_backing(size_t pages, char **shared)
{
	int fd = memfd_create("gmem-shared-backing", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, pages * PAGE))
		die(1, "memfd: %s", strerror(errno));
	*shared = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*shared == MAP_FAILED)
		die(1, "mmap memfd: %s", strerror(errno));
	for (size_t i = 0; i < pages; i++)
		(*shared)[i * PAGE] = (char)i;
	return fd;
}

/* KVM_SET_USER_MEMORY_REGION2: guest pages [gfn, gfn+n) backed by 'uaddr'
 * and, if gmem >= 0, by the guest_memfd from page 'off'; n = 0 deletes. */
static inline int gmem_set_slot(int vm, int gmem, __u32 slot, __u64 gfn, __u64 n, void *uaddr,
				__u64 off)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = slot,
		.guest_phys_addr = gfn * PAGE,
		.memory_size = n * PAGE,
		.userspace_addr = (__u64)(unsigned long)uaddr,
		.guest_memfd_offset = off * PAGE,
	};

	if (n && gmem >= 0) {
		r.flags = KVM_MEM_GUEST_MEMFD;
		r.guest_memfd = (__u32)gmem;
	}
	return ioctl(vm, KVM_SET_USER_MEMORY_REGION2, &r);
}

/* Map all of it and fault every page in, so the page cache holds them all. */
static inline char *gmem_map_all(int fd, size_t size)
{
	char *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (base == MAP_FAILED)
		die(1, "mmap guest_memfd: %s", strerror(errno));
	for (size_t i = 0; i < size / PAGE; i++)
		base[i * PAGE] = (char)i;
	return base;
}

/* "ready pid=P dev=MAJ:MIN ino=I size=BYTES pages=N": the tests parse it. */
static inline void gmem_print_ready(int fd, size_t size)
{
	struct stat st;

	if (fstat(fd, &st))
		die(1, "fstat guest_memfd: %s", strerror(errno));
	printf("ready pid=%d dev=%u:%u ino=%lu size=%zu pages=%zu\n", getpid(), major(st.st_dev),
	       minor(st.st_dev), (unsigned long)st.st_ino, size, size / PAGE);
}

#endif
