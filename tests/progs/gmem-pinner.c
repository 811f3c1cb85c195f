// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gmem-pinner: a minimal VMM for tests.  It creates a VM and a guest_memfd
 * with GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, maps it, faults
 * every page in, and then pins and unpins ranges of it on command, so a test
 * knows exactly how many pins it holds (the ground truth).
 *
 * Commands, one per line on stdin; each answers one line on stdout:
 *   pin-uring OFFSET NPAGES   register [OFFSET, OFFSET+NPAGES) pages as an
 *                             io_uring fixed buffer (FOLL_PIN|FOLL_LONGTERM)
 *   unpin-uring               unregister every fixed buffer, close the rings
 *   quit
 * At start it prints "ready pid=P dev=MAJ:MIN ino=I size=BYTES pages=N".
 * Exit: 0 ok, 1 error, 4 the kernel lacks what is needed (skip).
 */
#include <gmem/compat/kvm.h>

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAX_RINGS 64

static struct io_uring rings[MAX_RINGS];
static int nr_rings;

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "gmem-pinner: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	/* SKIP protocol of the VM tests: the reason is the last output line */
	if (code == 4) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		putchar('\n');
		va_end(ap);
	}
	exit(code);
}

static int create_gmem(size_t size, int *vm_out)
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

static void cmd_pin_uring(char *base, size_t pages, unsigned long off, unsigned long n)
{
	struct iovec iov = { .iov_base = base + off * PAGE, .iov_len = n * PAGE };
	int err;

	if (!n || off + n > pages || off + n < off) {
		printf("error range %lu+%lu outside %zu pages\n", off, n, pages);
		return;
	}
	if (nr_rings == MAX_RINGS) {
		printf("error too many rings\n");
		return;
	}
	err = io_uring_queue_init(4, &rings[nr_rings], 0);
	if (err) {
		printf("error io_uring_queue_init: %s\n", strerror(-err));
		return;
	}
	err = io_uring_register_buffers(&rings[nr_rings], &iov, 1);
	if (err) {
		io_uring_queue_exit(&rings[nr_rings]);
		printf("error io_uring_register_buffers: %s\n", strerror(-err));
		return;
	}
	nr_rings++;
	printf("ok pinned %lu\n", n);
}

static void cmd_unpin_uring(void)
{
	int n = nr_rings;

	while (nr_rings > 0) {
		nr_rings--;
		io_uring_unregister_buffers(&rings[nr_rings]);
		io_uring_queue_exit(&rings[nr_rings]);
	}
	printf("ok unpinned %d\n", n);
}

int main(int argc, char **argv)
{
	size_t size = 8UL << 20, pages;
	char line[256], *base;
	struct stat st;
	int vm, fd;

	if (argc > 2 || (argc == 2 && !strcmp(argv[1], "-h"))) {
		fprintf(stderr, "usage: gmem-pinner [SIZE_MIB]  (commands on stdin)\n");
		return 64;
	}
	if (argc == 2) {
		char *end;
		unsigned long mib = strtoul(argv[1], &end, 10);

		if (*end || !mib || mib > 4096)
			die(64, "bad size '%s' (MiB, 1 to 4096)", argv[1]);
		size = mib << 20;
	}
	pages = size / PAGE;
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = create_gmem(size, &vm);
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		die(1, "mmap guest_memfd: %s", strerror(errno));
	/* fault every page in, so that the page cache holds them all */
	for (size_t i = 0; i < pages; i++)
		base[i * PAGE] = (char)i;
	if (fstat(fd, &st))
		die(1, "fstat guest_memfd: %s", strerror(errno));
	printf("ready pid=%d dev=%u:%u ino=%lu size=%zu pages=%zu\n", getpid(), major(st.st_dev),
	       minor(st.st_dev), (unsigned long)st.st_ino, size, pages);

	while (fgets(line, sizeof(line), stdin)) {
		unsigned long off, n;

		if (sscanf(line, "pin-uring %lu %lu", &off, &n) == 2)
			cmd_pin_uring(base, pages, off, n);
		else if (!strncmp(line, "unpin-uring", 11))
			cmd_unpin_uring();
		else if (!strncmp(line, "quit", 4))
			break;
		else
			printf("error unknown command: %s", line);
	}
	cmd_unpin_uring();
	munmap(base, size);
	close(fd);
	close(vm);
	return 0;
}
