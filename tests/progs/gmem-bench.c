// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gmem-bench: time pinning in the kernel with gup_test's PIN_FAST_BENCHMARK
 * (CONFIG_GUP_TEST), which pins a range with pin_user_pages_fast() and
 * unpins it with unpin_user_pages(), timing both.  The memory is ordinary
 * (anonymous) or guest memory (a guest_memfd mapped by the host).
 *
 *   gmem-bench anon|anon4k|gmem SIZE_MIB REPS    (anon4k: MADV_NOHUGEPAGE)
 * prints "median_usec=N get_usec=N put_usec=N reps=N pages=N".
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

/* Guest memory, mapped but not faulted in: the first pin faults it. */
static char *map_gmem(size_t size)
{
	int vm, fd = gmem_create(size, &vm);
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv)
{
	struct gup_test gup = {};
	size_t size;
	__u64 *tot, sget = 0, sput = 0;
	long reps;
	char *mem;
	int fd;

	if (argc != 4 || (strcmp(argv[1], "anon") && strcmp(argv[1], "anon4k") &&
			  strcmp(argv[1], "gmem"))) {
		fprintf(stderr, "usage: gmem-bench anon|anon4k|gmem SIZE_MIB REPS\n");
		return 64;
	}
	size = strtoul(argv[2], NULL, 10) << 20;
	reps = strtol(argv[3], NULL, 10);
	if (!size || reps < 1 || reps > 1000) {
		fprintf(stderr, "gmem-bench: bad size or reps\n");
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
	tot = calloc(reps, sizeof(*tot));
	gup.addr = (unsigned long)mem;
	gup.size = size;
	gup.nr_pages_per_call = 512;
	gup.gup_flags = FOLL_WRITE;
	for (long r = 0; r < reps; r++) {
		if (ioctl(fd, PIN_FAST_BENCHMARK, &gup)) {
			fprintf(stderr, "gmem-bench: PIN_FAST_BENCHMARK: %s\n", strerror(errno));
			return 1;
		}
		tot[r] = gup.get_delta_usec + gup.put_delta_usec;
		sget += gup.get_delta_usec;
		sput += gup.put_delta_usec;
	}
	qsort(tot, reps, sizeof(*tot), cmp_u64);
	printf("median_usec=%llu get_usec=%llu put_usec=%llu reps=%ld pages=%zu\n",
	       tot[reps / 2], sget / reps, sput / reps, reps, size / 4096);
	free(tot);
	return 0;
}
