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
