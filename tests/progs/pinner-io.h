/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Pins through gup_test and O_DIRECT on a range of a test program's memory,
 * as commands of gmem-pinner (its guest_memfd) and gmem-vmm (its memslots'
 * shared backing).  Each command answers one line on stdout.
 */
#ifndef GMEM_PINNER_IO_H
#define GMEM_PINNER_IO_H

#include "gmem-vm.h"

#include <liburing.h>

static int gup_test_fd = -1;

/* async O_DIRECT through one io_uring, files kept open until reaped */
static struct io_uring dio_ring;
static bool dio_ring_ready;
static int dio_inflight;
static int dio_fds[64];
static int nr_dio_fds;

static void cmd_pin_gup_test(char *base, size_t pages, unsigned long off, unsigned long n,
			     bool fast)
{
	struct pin_longterm_test t = {
		.addr = (__u64)(unsigned long)(base + off * PAGE),
		.size = n * PAGE,
		.flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE | (fast ? PIN_LONGTERM_TEST_FLAG_USE_FAST : 0),
	};

	if (!n || off + n > pages) {
		printf("error range %lu+%lu outside %zu pages\n", off, n, pages);
		return;
	}
	if (gup_test_fd < 0)
		gup_test_fd = open(GUP_TEST_PATH, O_RDWR | O_CLOEXEC);
	if (gup_test_fd < 0) {
		printf("error %s: %s (needs CONFIG_GUP_TEST and debugfs)\n", GUP_TEST_PATH,
		       strerror(errno));
		return;
	}
	if (ioctl(gup_test_fd, PIN_LONGTERM_TEST_START, &t)) {
		printf("error PIN_LONGTERM_TEST_START: %s\n", strerror(errno));
		return;
	}
	printf("ok pinned %lu\n", n);
}

static void cmd_unpin_gup_test(void)
{
	if (gup_test_fd < 0) {
		printf("ok unpinned 0\n");
		return;
	}
	if (ioctl(gup_test_fd, PIN_LONGTERM_TEST_STOP)) {
		printf("error PIN_LONGTERM_TEST_STOP: %s\n", strerror(errno));
		return;
	}
	printf("ok unpinned\n");
}

static void cmd_odirect(char *base, size_t pages, const char *path, bool write,
			unsigned long fpage, unsigned long off, unsigned long n, bool async)
{
	char *buf = base + off * PAGE;
	size_t len = n * PAGE;
	int fd, err;

	if (!n || off + n > pages) {
		printf("error range %lu+%lu outside %zu pages\n", off, n, pages);
		return;
	}
	fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		printf("error open %s O_DIRECT: %s\n", path, strerror(errno));
		return;
	}
	if (!async) {
		ssize_t r = write ? pwrite(fd, buf, len, fpage * PAGE) : pread(fd, buf, len, fpage * PAGE);

		close(fd);
		if (r != (ssize_t)len)
			printf("error O_DIRECT %s: %zd of %zu: %s\n", write ? "write" : "read", r, len,
			       r < 0 ? strerror(errno) : "short");
		else
			printf("ok transferred %lu\n", n);
		return;
	}
	if (!dio_ring_ready) {
		err = io_uring_queue_init(64, &dio_ring, 0);
		if (err) {
			close(fd);
			printf("error io_uring_queue_init: %s\n", strerror(-err));
			return;
		}
		dio_ring_ready = true;
	}
	if (nr_dio_fds == 64) {
		close(fd);
		printf("error too many async O_DIRECT requests in flight\n");
		return;
	}
	{
		struct io_uring_sqe *sqe = io_uring_get_sqe(&dio_ring);

		if (write)
			io_uring_prep_write(sqe, fd, buf, len, fpage * PAGE);
		else
			io_uring_prep_read(sqe, fd, buf, len, fpage * PAGE);
	}
	err = io_uring_submit(&dio_ring);
	if (err != 1) {
		close(fd);
		printf("error io_uring_submit: %s\n", strerror(err < 0 ? -err : EIO));
		return;
	}
	dio_fds[nr_dio_fds++] = fd;
	dio_inflight++;
	printf("ok submitted %lu\n", n);
}

static void cmd_odirect_wait(void)
{
	int done = 0, bad = 0;

	while (dio_inflight > 0) {
		struct io_uring_cqe *cqe;
		int err = io_uring_wait_cqe(&dio_ring, &cqe);

		if (err) {
			printf("error io_uring_wait_cqe: %s\n", strerror(-err));
			return;
		}
		bad += cqe->res < 0;
		io_uring_cqe_seen(&dio_ring, cqe);
		dio_inflight--;
		done++;
	}
	while (nr_dio_fds > 0)
		close(dio_fds[--nr_dio_fds]);
	if (bad)
		printf("error %d of %d O_DIRECT requests failed\n", bad, done);
	else
		printf("ok completed %d\n", done);
}

/* Stops what is still held: reaps O_DIRECT, closes gup_test (whose
 * release does PIN_LONGTERM_TEST_STOP). */
static void pinner_io_close(void)
{
	if (dio_ring_ready) {
		if (dio_inflight)
			cmd_odirect_wait();
		io_uring_queue_exit(&dio_ring);
	}
	if (gup_test_fd >= 0)
		close(gup_test_fd);
	gup_test_fd = -1;
}

#endif
