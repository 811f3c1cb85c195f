// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gmem-bench: time pinning in the kernel with gup_test's PIN_FAST_BENCHMARK
 * (CONFIG_GUP_TEST), which pins a range with pin_user_pages_fast() and
 * unpins it with unpin_user_pages(), timing both.  The memory is ordinary
 * (anonymous) or guest memory (a guest_memfd mapped by the host).
 *
 *   gmem-bench anon|anon4k|gmem SIZE_MIB REPS [PHASES]
 * (anon4k: MADV_NOHUGEPAGE) prints "median_usec=N get_usec=N put_usec=N
 * reps=N pages=N" for REPS runs.  With PHASES, it measures PHASES times
 * REPS runs on the same memory, printing "phase=K median_usec=..." after
 * each and reading a line from standard input before the next: the
 * caller starts or stops tracing in between, and every phase pins the
 * same pages (a fresh mapping per measurement varied more than tracing
 * costs).  Each phase maps a page of guest memory again first, so that
 * a gmemtop started meanwhile looks at this process.
 * Exit: 0 ok, 1 error, 4 the kernel lacks gup_test or guest_memfd mmap.
 */
#include "gmem-vm.h"

/* mm/gup_test.h */
#define GUP_TEST_MAX_PAGES_TO_DUMP 8
struct gup_test {
	__u64 get_delta_usec;
	__u64 put_delta_usec;
	__u64 addr;
	__u64 size;
	__u32 nr_pages_per_call;
	__u32 gup_flags;
	__u32 test_flags;
	__u32 which_pages[GUP_TEST_MAX_PAGES_TO_DUMP];
};
#define PIN_FAST_BENCHMARK _IOWR('g', 2, struct gup_test)
#define FOLL_WRITE 0x01

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* The guest_memfd of 'gmem' memory, -1: none. */
static int gmem_fd = -1;

/* Guest memory, mapped but not faulted in: the first pin faults it. */
static char *map_gmem(size_t size)
{
	int vm;
	char *p;

	gmem_fd = gmem_create(size, &vm);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, gmem_fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * Map a page of the guest memory again, and unmap it: as a VMM maps guest
 * memory, so that a gmemtop started since (without its start-up scan)
 * looks at this process's pins.
 */
static void announce_gmem(void)
{
	void *p;

	if (gmem_fd < 0)
		return;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, gmem_fd, 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
}

/* REPS runs of PIN_FAST_BENCHMARK over 'gup': their median and mean
 * times on one line, after 'prefix'. */
static int measure(int fd, struct gup_test *gup, long reps, const char *prefix)
{
	__u64 *tot = calloc(reps, sizeof(*tot)), sget = 0, sput = 0;

	if (!tot) {
		fprintf(stderr, "gmem-bench: out of memory\n");
		return -1;
	}
	for (long r = 0; r < reps; r++) {
		if (ioctl(fd, PIN_FAST_BENCHMARK, gup)) {
			fprintf(stderr, "gmem-bench: PIN_FAST_BENCHMARK: %s\n", strerror(errno));
			free(tot);
			return -1;
		}
		tot[r] = gup->get_delta_usec + gup->put_delta_usec;
		sget += gup->get_delta_usec;
		sput += gup->put_delta_usec;
	}
	qsort(tot, reps, sizeof(*tot), cmp_u64);
	printf("%smedian_usec=%llu get_usec=%llu put_usec=%llu reps=%ld pages=%llu\n", prefix,
	       tot[reps / 2], sget / reps, sput / reps, reps, gup->size / 4096);
	fflush(stdout);
	free(tot);
	return 0;
}

int main(int argc, char **argv)
{
	struct gup_test gup = {};
	char line[64], prefix[32] = "";
	long reps, phases = 0;
	size_t size;
	char *mem;
	int fd;

	if ((argc != 4 && argc != 5) || (strcmp(argv[1], "anon") && strcmp(argv[1], "anon4k") &&
					 strcmp(argv[1], "gmem"))) {
		fprintf(stderr, "usage: gmem-bench anon|anon4k|gmem SIZE_MIB REPS [PHASES]\n");
		return 64;
	}
	size = strtoul(argv[2], NULL, 10) << 20;
	reps = strtol(argv[3], NULL, 10);
	if (argc == 5)
		phases = strtol(argv[4], NULL, 10);
	if (!size || reps < 1 || reps > 1000 || (argc == 5 && (phases < 1 || phases > 100))) {
		fprintf(stderr, "gmem-bench: bad size, reps or phases\n");
		return 64;
	}
	gmem_progname = "gmem-bench";
	fd = open(GUP_TEST_PATH, O_RDWR);
	if (fd < 0) {
		printf("skip: no /sys/kernel/debug/gup_test (needs CONFIG_GUP_TEST)\n");
		return 4;
	}
	mem = strcmp(argv[1], "gmem")
		      ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
		      : map_gmem(size);
	if (!mem || mem == MAP_FAILED) {
		fprintf(stderr, "gmem-bench: mmap: %s\n", strerror(errno));
		return 1;
	}
	if (!strcmp(argv[1], "anon4k") && madvise(mem, size, MADV_NOHUGEPAGE)) {
		fprintf(stderr, "gmem-bench: MADV_NOHUGEPAGE: %s\n", strerror(errno));
		return 1;
	}
	for (size_t off = 0; off < size; off += 4096)
		mem[off] = 1; /* fault in: time pinning, not faulting */
	gup.addr = (unsigned long)mem;
	gup.size = size;
	gup.nr_pages_per_call = 512;
	gup.gup_flags = FOLL_WRITE;
	if (!phases)
		return measure(fd, &gup, reps, "") ? 1 : 0;
	for (long k = 1; k <= phases; k++) {
		snprintf(prefix, sizeof(prefix), "phase=%ld ", k);
		announce_gmem();
		if (measure(fd, &gup, reps, prefix))
			return 1;
		if (k < phases && !fgets(line, sizeof(line), stdin)) {
			fprintf(stderr, "gmem-bench: standard input closed before phase %ld\n", k + 1);
			return 1;
		}
	}
	return 0;
}
