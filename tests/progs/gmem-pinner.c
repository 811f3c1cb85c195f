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
 *   pin-gup-test OFFSET NPAGES [fast]
 *                             gup_test PIN_LONGTERM_TEST_START on the range
 *                             (CONFIG_GUP_TEST; one range at a time)
 *   unpin-gup-test            PIN_LONGTERM_TEST_STOP (unpin_user_pages)
 *   odirect PATH read|write FILE_PAGE OFFSET NPAGES [async]
 *                             O_DIRECT I/O between PATH and the range: pins
 *                             taken by the block layer for the I/O; async
 *                             submits through io_uring and answers at once
 *   odirect-wait              reap every async O_DIRECT completion
 *   vmsplice OFFSET NPAGES    vmsplice the range into a new pipe and leave it
 *                             there: the pipe holds a FOLL_GET reference on
 *                             each page (at most 256 pages per pipe)
 *   vmsplice-drain            read every pipe empty and close it: the
 *                             references go back through folio_put()
 *   pin-iommufd OFFSET NPAGES IOMMU_IOAS_MAP the range into an IOAS with a
 *                             mock domain (CONFIG_IOMMUFD_TEST): long-term
 *                             pins, as for a VFIO device on iommufd
 *   unpin-iommufd             IOMMU_IOAS_UNMAP it
 *   pin-vdpa OFFSET NPAGES    VHOST_IOTLB_UPDATE of the range on vhost-vdpa
 *                             over vdpa_sim_net (created by netlink)
 *   unpin-vdpa                VHOST_IOTLB_INVALIDATE it
 *   fork-pin-uring OFFSET NPAGES
 *                             fork a child that registers the range, through
 *                             the mapping it inherited, as an io_uring fixed
 *                             buffer and holds it: "ok child=PID pinned N"
 *   fork-unpin                the child unregisters it and exits
 *   addr                      "ok base=0xADDR": where the guest_memfd is
 *                             mapped (page i of the file is at ADDR + i * 4096)
 *   quit
 * At start it prints "ready pid=P dev=MAJ:MIN ino=I size=BYTES pages=N".
 * Exit: 0 ok, 1 error, 4 the kernel lacks what is needed (skip).
 */
#include "gmem-vm.h"
#include "pinner-devices.h"
#include "pinner-io.h"

#include <liburing.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define MAX_RINGS 64

static struct io_uring rings[MAX_RINGS];
static int nr_rings;

static int splice_pipes[64][2];
static int nr_splice_pipes;

/* Not inlined: liburing's register call keeps no frame pointer, so a user
 * stack walk skips this frame and shows its caller, main (gmemtop --ustack,
 * tests/vm/31-pin-address-ustack.sh). */
__attribute__((noinline)) static void cmd_pin_uring(char *base, size_t pages, unsigned long off, unsigned long n)
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

/* fork-pin-uring's child, and the pipe whose closing releases it */
static pid_t fork_child = -1;
static int fork_release = -1;

/* The child: pin, say so on 'ready', hold until 'release' closes. */
static void __attribute__((noreturn)) fork_child_main(struct iovec *iov, int ready, int release)
{
	struct io_uring ring;
	char c = 'e';

	if (!io_uring_queue_init(4, &ring, 0)) {
		if (!io_uring_register_buffers(&ring, iov, 1))
			c = 'k';
		else
			io_uring_queue_exit(&ring);
	}
	if (write(ready, &c, 1) != 1 || c != 'k')
		_exit(1);
	while (read(release, &c, 1) > 0)
		;
	io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
	_exit(0);
}

static void cmd_fork_pin_uring(char *base, size_t pages, unsigned long off, unsigned long n)
{
	struct iovec iov = { .iov_base = base + off * PAGE, .iov_len = n * PAGE };
	int ready[2], release[2];
	char c = 0;

	if (!n || off + n > pages || off + n < off || fork_child > 0) {
		printf("error range %lu+%lu outside %zu pages, or a child pins already\n", off, n,
		       pages);
		return;
	}
	if (pipe(ready) || pipe(release)) {
		printf("error pipe: %s\n", strerror(errno));
		return;
	}
	fflush(stdout);
	fork_child = fork();
	if (fork_child == 0) {
		close(ready[0]);
		close(release[1]);
		fork_child_main(&iov, ready[1], release[0]);
	}
	close(ready[1]);
	close(release[0]);
	if (fork_child < 0 || read(ready[0], &c, 1) != 1 || c != 'k') {
		printf("error the child could not pin: %s\n",
		       fork_child < 0 ? strerror(errno) : "see its io_uring");
		close(release[1]);
		if (fork_child > 0)
			waitpid(fork_child, NULL, 0);
		fork_child = -1;
	} else {
		fork_release = release[1];
		printf("ok child=%d pinned %lu\n", (int)fork_child, n);
	}
	close(ready[0]);
}

static void cmd_fork_unpin(void)
{
	int status = 0;

	if (fork_child <= 0) {
		printf("error no child\n");
		return;
	}
	close(fork_release);
	waitpid(fork_child, &status, 0);
	fork_child = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		printf("ok\n");
	else
		printf("error the child exited with status %d\n", status);
}

static void cmd_vmsplice(char *base, size_t pages, unsigned long off, unsigned long n)
{
	struct iovec iov = { .iov_base = base + off * PAGE, .iov_len = n * PAGE };
	int *p = splice_pipes[nr_splice_pipes];
	ssize_t done = 0, r;

	if (!n || n > 256 || off + n > pages || off + n < off) {
		printf("error range %lu+%lu outside %zu pages (or over 256)\n", off, n, pages);
		return;
	}
	if (nr_splice_pipes == 64 || pipe(p)) {
		printf("error pipe: %s\n", nr_splice_pipes == 64 ? "too many" : strerror(errno));
		return;
	}
	nr_splice_pipes++;
	/* the default pipe (16 buffers) would block after 16 pages */
	if (fcntl(p[1], F_SETPIPE_SZ, (int)(n * PAGE)) < 0) {
		printf("error F_SETPIPE_SZ %lu pages: %s\n", n, strerror(errno));
		return;
	}
	while (done < (ssize_t)(n * PAGE)) {
		r = vmsplice(p[1], &iov, 1, SPLICE_F_NONBLOCK);
		if (r <= 0) {
			printf("error vmsplice: %s\n", r ? strerror(errno) : "0 bytes");
			return;
		}
		done += r;
		iov.iov_base = (char *)iov.iov_base + r;
		iov.iov_len -= r;
	}
	printf("ok spliced %lu\n", n);
}

static void cmd_vmsplice_drain(void)
{
	char buf[PAGE];
	long pages = 0;
	ssize_t r;

	for (int i = 0; i < nr_splice_pipes; i++) {
		fcntl(splice_pipes[i][0], F_SETFL, O_NONBLOCK);
		while ((r = read(splice_pipes[i][0], buf, sizeof(buf))) > 0)
			pages += r / PAGE;
		close(splice_pipes[i][0]);
		close(splice_pipes[i][1]);
	}
	nr_splice_pipes = 0;
	printf("ok drained %ld\n", pages);
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
	int vm, fd;

	gmem_progname = "gmem-pinner";
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
	fd = gmem_create(size, &vm);
	base = gmem_map_all(fd, size);
	gmem_print_ready(fd, size);

	while (fgets(line, sizeof(line), stdin)) {
		char path[200], dir[8], mode[8] = "";
		unsigned long off, n, fpage;

		if (sscanf(line, "pin-uring %lu %lu", &off, &n) == 2)
			cmd_pin_uring(base, pages, off, n);
		else if (!strncmp(line, "unpin-uring", 11))
			cmd_unpin_uring();
		else if (sscanf(line, "pin-gup-test %lu %lu %7s", &off, &n, mode) >= 2)
			cmd_pin_gup_test(base, pages, off, n, !strcmp(mode, "fast"));
		else if (!strncmp(line, "unpin-gup-test", 14))
			cmd_unpin_gup_test();
		else if (sscanf(line, "odirect %199s %7s %lu %lu %lu %7s", path, dir, &fpage, &off, &n,
				mode) >= 5 && (!strcmp(dir, "read") || !strcmp(dir, "write")))
			cmd_odirect(base, pages, path, !strcmp(dir, "write"), fpage, off, n,
				    !strcmp(mode, "async"));
		else if (!strncmp(line, "odirect-wait", 12))
			cmd_odirect_wait();
		else if (sscanf(line, "vmsplice %lu %lu", &off, &n) == 2)
			cmd_vmsplice(base, pages, off, n);
		else if (!strncmp(line, "vmsplice-drain", 14))
			cmd_vmsplice_drain();
		else if (sscanf(line, "pin-iommufd %lu %lu", &off, &n) == 2)
			cmd_pin_iommufd(base, pages, off, n);
		else if (!strncmp(line, "unpin-iommufd", 13))
			cmd_unpin_iommufd();
		else if (sscanf(line, "pin-vdpa %lu %lu", &off, &n) == 2)
			cmd_pin_vdpa(base, pages, off, n);
		else if (!strncmp(line, "unpin-vdpa", 10))
			cmd_unpin_vdpa();
		else if (sscanf(line, "fork-pin-uring %lu %lu", &off, &n) == 2)
			cmd_fork_pin_uring(base, pages, off, n);
		else if (!strncmp(line, "fork-unpin", 10))
			cmd_fork_unpin();
		else if (!strncmp(line, "addr", 4))
			printf("ok base=%p\n", (void *)base);
		else if (!strncmp(line, "quit", 4))
			break;
		else
			printf("error unknown command: %s", line);
	}
	cmd_unpin_uring();
	cmd_vmsplice_drain();
	cmd_unpin_iommufd();
	if (iommufd_fd >= 0)
		close(iommufd_fd);
	cmd_unpin_vdpa();
	vdpa_close();
	pinner_io_close();
	munmap(base, size);
	close(fd);
	close(vm);
	return 0;
}
