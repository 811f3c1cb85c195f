// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gmem-stress: threads that pin, reference and release guest memory
 * through every path at once, with quiescent points where the test can
 * compare gmem-tools' counts with the kernel's.
 *
 *   gmem-stress SIZE_MIB SECONDS [O_DIRECT_FILE]
 *
 * A VM (a default one where its guest_memfd can be mapped, else
 * KVM_X86_SW_PROTECTED_VM where offered) with one memslot of
 * SIZE_MIB: its shared backing, a memfd mapped as userspace_addr, and,
 * where the kernel has one, a guest_memfd.  Each memory the host can map
 * (the guest_memfd only with MMAP | INIT_SHARED, Linux 6.18+) is split into
 * one region per thread, the threads named after their memory ("gmem-",
 * "shared-"):
 *   uring0, uring1  io_uring fixed buffers registered and unregistered
 *   odirect         O_DIRECT reads and writes of O_DIRECT_FILE (if given)
 *   vmsplice        vmsplice into a pipe, read back (FOLL_GET references)
 *   guptest         gup_test PIN_LONGTERM_TEST_START/STOP, slow and fast
 *                   path alternately (if /sys/kernel/debug/gup_test exists)
 * Every few seconds all threads stop, each takes a known hold (uring and
 * guptest pin a range, vmsplice leaves pages in its pipe), and it prints
 *   quiescent N pins=P gets=G
 * then waits for a line on stdin before the holds are released.  At the end:
 *   done seconds=S quiescent=N ops=O
 * The first line: "ready pid=P dev=D ino=I size=S pages=N backing_dev=D
 * backing_ino=B vm_type=T gmem_mmap=yes|no" (ino=0: no guest_memfd).
 * Exit: 0 ok, 1 error, 4 no usable /dev/kvm (skip).
 */
#include "gmem-vm.h"

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/uio.h>
#include <time.h>

/* three quiescent points in 30 s of load: each check costs ~15 s under TCG,
 * and the stress test runs on four kernels in CI's 90 minutes */
#define QUIESCE_EVERY_S 10
#define MAX_WORKERS 10

enum kind { URING, ODIRECT, VMSPLICE, GUPTEST };

struct worker {
	pthread_t thread;
	enum kind kind;
	char name[24];
	char *base;           /* its region of guest memory */
	size_t pages;
	unsigned int seed;
	long ops;
	__u32 hold_pins, hold_gets; /* held at a quiescent point */
	struct io_uring ring;
	int fd;               /* O_DIRECT file, or gup_test */
	int pipe[2];
	char err[200];
};

/* Only main sets stop, and never during a quiescent point: every worker
 * must reach the barriers.  A worker's error sets failed. */
static atomic_int stop, quiesce, failed;
static pthread_barrier_t held, resumed;
static const char *odirect_path;

static void fail(struct worker *w, const char *what, int err)
{
	if (!w->err[0])
		snprintf(w->err, sizeof(w->err), "%s: %s: %s", w->name, what, strerror(err));
	atomic_store(&failed, 1);
}

static size_t pick(struct worker *w, size_t max)
{
	return 1 + rand_r(&w->seed) % (max < w->pages ? max : w->pages);
}

static int uring_pin(struct worker *w, size_t off, size_t n)
{
	struct iovec iov = { w->base + off * PAGE, n * PAGE };
	int err = io_uring_register_buffers(&w->ring, &iov, 1);

	if (err)
		fail(w, "io_uring_register_buffers", -err);
	return err;
}

static int guptest_pin(struct worker *w, size_t off, size_t n, bool fast)
{
	struct pin_longterm_test t = {
		.addr = (__u64)(unsigned long)(w->base + off * PAGE),
		.size = n * PAGE,
		.flags = PIN_LONGTERM_TEST_FLAG_USE_WRITE | (fast ? PIN_LONGTERM_TEST_FLAG_USE_FAST : 0),
	};

	if (ioctl(w->fd, PIN_LONGTERM_TEST_START, &t)) {
		fail(w, "PIN_LONGTERM_TEST_START", errno);
		return -1;
	}
	return 0;
}

static int splice_in(struct worker *w, size_t off, size_t n)
{
	struct iovec iov = { w->base + off * PAGE, n * PAGE };
	ssize_t r = vmsplice(w->pipe[1], &iov, 1, SPLICE_F_NONBLOCK);

	if (r != (ssize_t)(n * PAGE)) {
		fail(w, "vmsplice", r < 0 ? errno : EAGAIN);
		return -1;
	}
	return 0;
}

static void splice_drain(struct worker *w)
{
	char buf[PAGE];

	while (read(w->pipe[0], buf, sizeof(buf)) > 0)
		;
}

static void odirect_io(struct worker *w)
{
	size_t n = pick(w, 32), off = rand_r(&w->seed) % (w->pages - n + 1);
	bool write = rand_r(&w->seed) & 1;
	char *buf = w->base + off * PAGE;
	ssize_t r = write ? pwrite(w->fd, buf, n * PAGE, off * PAGE)
			  : pread(w->fd, buf, n * PAGE, off * PAGE);

	if (r != (ssize_t)(n * PAGE))
		fail(w, write ? "O_DIRECT pwrite" : "O_DIRECT pread", r < 0 ? errno : EIO);
}

/* One random acquire-and-release through the worker's path. */
static void one_op(struct worker *w)
{
	size_t n = pick(w, 64), off = rand_r(&w->seed) % (w->pages - n + 1);

	switch (w->kind) {
	case URING:
		if (!uring_pin(w, off, n)) {
			usleep(rand_r(&w->seed) % 2000);
			io_uring_unregister_buffers(&w->ring);
		}
		break;
	case ODIRECT:
		odirect_io(w);
		break;
	case VMSPLICE:
		if (n > 16) /* the pipe's 16 default buffers */
			n = 16;
		if (!splice_in(w, off, n))
			splice_drain(w);
		break;
	case GUPTEST:
		if (!guptest_pin(w, off, n, w->ops & 1)) {
			usleep(rand_r(&w->seed) % 2000);
			ioctl(w->fd, PIN_LONGTERM_TEST_STOP);
		}
		break;
	}
	w->ops++;
}

/* The known hold of a quiescent point, and its release. */
static void hold(struct worker *w, bool take)
{
	size_t n = 1 + w->seed % 16;

	if (w->kind == ODIRECT)
		return;
	if (!take) {
		if (w->kind == URING)
			io_uring_unregister_buffers(&w->ring);
		else if (w->kind == VMSPLICE)
			splice_drain(w);
		else
			ioctl(w->fd, PIN_LONGTERM_TEST_STOP);
		w->hold_pins = w->hold_gets = 0;
		return;
	}
	if (w->kind == URING && !uring_pin(w, 0, n))
		w->hold_pins = n;
	else if (w->kind == VMSPLICE && !splice_in(w, 0, n))
		w->hold_gets = n;
	else if (w->kind == GUPTEST && !guptest_pin(w, 0, n, false))
		w->hold_pins = n;
}

static void *run(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		if (atomic_load(&quiesce)) {
			hold(w, true);
			pthread_barrier_wait(&held);
			pthread_barrier_wait(&resumed);
			hold(w, false);
			continue;
		}
		if (atomic_load(&stop))
			break;
		one_op(w);
	}
	return NULL;
}

static int setup(struct worker *w)
{
	int err;

	switch (w->kind) {
	case URING:
		err = io_uring_queue_init(4, &w->ring, 0);
		if (err)
			return fprintf(stderr, "%s: io_uring_queue_init: %s\n", w->name, strerror(-err)), -1;
		return 0;
	case ODIRECT:
		w->fd = open(odirect_path, O_RDWR | O_DIRECT | O_CLOEXEC);
		break;
	case VMSPLICE:
		/* non-blocking: a drain stops at empty */
		return pipe2(w->pipe, O_NONBLOCK) ? perror("pipe"), -1 : 0;
	case GUPTEST:
		w->fd = open(GUP_TEST_PATH, O_RDWR | O_CLOEXEC);
		break;
	}
	if (w->fd < 0)
		return fprintf(stderr, "%s: open: %s\n", w->name, strerror(errno)), -1;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Stop every worker at a hold, report, wait for the test, resume. */
static void quiescent_point(struct worker *ws, int nw, int n)
{
	__u32 pins = 0, gets = 0;
	char line[64];

	atomic_store(&quiesce, 1);
	pthread_barrier_wait(&held);
	for (int i = 0; i < nw; i++) {
		pins += ws[i].hold_pins;
		gets += ws[i].hold_gets;
	}
	printf("quiescent %d pins=%u gets=%u\n", n, pins, gets);
	if (!fgets(line, sizeof(line), stdin))
		atomic_store(&failed, 1); /* the test went away */
	atomic_store(&quiesce, 0);
	pthread_barrier_wait(&resumed);
}

/* The workers this kernel and command line allow on 'pages' pages at
 * 'base', named PREFIX-KIND, appended to ws[*nw]. */
static void add_workers(struct worker *ws, int *nw, const char *prefix, char *base, size_t pages)
{
	static const struct { enum kind kind; const char *name; } kinds[] = {
		{ URING, "uring0" }, { URING, "uring1" }, { ODIRECT, "odirect" },
		{ VMSPLICE, "vmsplice" }, { GUPTEST, "guptest" },
	};
	int first = *nw, n = 0;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct worker *w = &ws[first + n];

		if ((kinds[i].kind == ODIRECT && !odirect_path) ||
		    (kinds[i].kind == GUPTEST && access(GUP_TEST_PATH, F_OK)))
			continue;
		w->kind = kinds[i].kind;
		snprintf(w->name, sizeof(w->name), "%s-%s", prefix, kinds[i].name);
		n++;
	}
	for (int i = 0; i < n; i++) {
		struct worker *w = &ws[first + i];

		w->pages = pages / n;
		w->base = base + i * w->pages * PAGE;
		w->seed = 1234 + first + i;
		if (setup(w))
			exit(1);
	}
	*nw = first + n;
}

/* A VM with one memslot over the shared backing (and the guest_memfd, if
 * any); the workers on what the host can map of it. */
static int setup_vm(struct worker *ws, size_t size)
{
	size_t pages = size / PAGE;
	unsigned long type;
	struct stat g = {}, b;
	bool mappable;
	char *shared;
	int vm, gmem, backing, nw = 0;

	/* a default VM where its guest_memfd can be mapped (a VM with private
	 * memory gets no INIT_SHARED): both memories are stressed then */
	type = KVM_X86_DEFAULT_VM;
	vm = gmem_create_vm(&type);
	gmem = gmem_create_any(vm, size, &mappable);
	if (!mappable) {
		if (gmem >= 0)
			close(gmem);
		close(vm);
		type = ~0UL;
		vm = gmem_create_vm(&type);
		gmem = gmem_create_any(vm, size, &mappable);
	}
	backing = gmem_create_backing(pages, &shared);
	if (gmem_set_slot(vm, gmem, 0, 0, pages, shared, 0))
		die(1, "KVM_SET_USER_MEMORY_REGION2: %s", strerror(errno));
	if (mappable)
		add_workers(ws, &nw, "gmem", gmem_map_all(gmem, size), pages);
	add_workers(ws, &nw, "shared", shared, pages);
	if ((gmem >= 0 && fstat(gmem, &g)) || fstat(backing, &b))
		die(1, "fstat: %s", strerror(errno));
	printf("ready pid=%d dev=%u:%u ino=%lu size=%zu pages=%zu backing_dev=%u:%u "
	       "backing_ino=%lu vm_type=%lu gmem_mmap=%s\n", getpid(), major(g.st_dev),
	       minor(g.st_dev), (unsigned long)g.st_ino, size, pages, major(b.st_dev),
	       minor(b.st_dev), (unsigned long)b.st_ino, type, mappable ? "yes" : "no");
	if (!mappable)
		printf("info guest_memfd %s: stressing the shared backing only\n",
		       gmem < 0 ? "not available to this VM (KVM_CAP_GUEST_MEMFD)"
				: "cannot be mmap'ed here (GUEST_MEMFD_FLAG_MMAP, Linux 6.18+)");
	return nw;
}

int main(int argc, char **argv)
{
	struct worker ws[MAX_WORKERS] = {};
	int nw, q = 0, ret = 0;
	size_t size;
	double start, end;
	long ops = 0;

	gmem_progname = "gmem-stress";
	if (argc < 3 || argc > 4)
		die(64, "usage: gmem-stress SIZE_MIB SECONDS [O_DIRECT_FILE]");
	size = strtoul(argv[1], NULL, 10) << 20;
	end = atof(argv[2]);
	odirect_path = argc == 4 ? argv[3] : NULL;
	if (size < (1 << 20) || end <= 0)
		die(64, "bad size or duration");
	setvbuf(stdout, NULL, _IOLBF, 0);
	nw = setup_vm(ws, size);
	for (int i = 0; i < nw; i++)
		printf("worker %s pages=%zu\n", ws[i].name, ws[i].pages);
	pthread_barrier_init(&held, NULL, nw + 1);
	pthread_barrier_init(&resumed, NULL, nw + 1);
	for (int i = 0; i < nw; i++)
		pthread_create(&ws[i].thread, NULL, run, &ws[i]);
	start = now_s();
	end += start;
	while (!atomic_load(&failed) && now_s() < end) {
		double next = now_s() + QUIESCE_EVERY_S;

		while (!atomic_load(&failed) && now_s() < next && now_s() < end)
			usleep(100000);
		if (!atomic_load(&failed)) {
			double paused = now_s();

			quiescent_point(ws, nw, ++q);
			/* the test's check, however slow, is not stress time */
			end += now_s() - paused;
		}
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nw; i++) {
		pthread_join(ws[i].thread, NULL);
		ops += ws[i].ops;
		if (ws[i].err[0]) {
			fprintf(stderr, "gmem-stress: %s\n", ws[i].err);
			ret = 1;
		}
		printf("worker %s ops=%ld\n", ws[i].name, ws[i].ops);
	}
	printf("done seconds=%.1f quiescent=%d ops=%ld\n", now_s() - start, q, ops);
	return ret;
}
