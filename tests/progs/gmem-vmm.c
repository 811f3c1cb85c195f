// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gmem-vmm: a VMM's memory setup, step by step, for the VM model's tests.
 * It creates a VM (KVM_X86_SW_PROTECTED_VM when the kernel offers it, else
 * the default type), a guest_memfd (host-mappable where the kernel allows,
 * plain where it has guest_memfd without mmap, none where it has none), and
 * a memfd as the shared backing, mapped and faulted in (or, with "anon",
 * anonymous private memory, as QEMU's default RAM, not yet faulted in);
 * with "default" after it, a default VM whatever the kernel offers (its
 * guest_memfd is host-mappable where the kernel allows).
 * Then, on command:
 *
 *   slot SLOT GFN NPAGES [OFF]
 *                          KVM_SET_USER_MEMORY_REGION2: guest pages [GFN,
 *                          GFN+NPAGES) backed by the memfd and, if there
 *                          is one, by the guest_memfd, both from page OFF
 *                          (default 0)
 *   delete-slot SLOT       the same with size 0: the memslot goes
 *   pin-uring OFF NPAGES   register memfd pages [OFF, OFF+NPAGES) as an
 *                          io_uring fixed buffer (FOLL_PIN|FOLL_LONGTERM)
 *   pin-gmem-uring OFF NPAGES  the same on the guest_memfd's host mapping
 *                          (MMAP|INIT_SHARED; "skip: ..." without one)
 *   convert GFN NPAGES private|shared
 *                          KVM_SET_MEMORY_ATTRIBUTES on the VM ("skip: ..."
 *                          when its type has no private memory)
 *   convert-loop GFN NPAGES N  N conversions, to private and back in turn
 *   punch OFF NPAGES       fallocate(PUNCH_HOLE) on the guest_memfd
 *   punch-backing OFF NPAGES  the same on the memfd shared backing
 *   unmap-gmem             munmap the guest_memfd's host mapping
 *   pin-gup-test OFF NPAGES [fast], unpin-gup-test,
 *   odirect PATH read|write FILE_PAGE OFF NPAGES [async], odirect-wait
 *                          as gmem-pinner's, on the shared backing
 *   unpin-uring            unregister it, close the ring
 *   fault OFF NPAGES       write to pages [OFF, OFF+NPAGES) of the backing
 *   vmsave PAGE COUNT      run vCPU 0 (created at the first call) in the
 *                          last memslot made: its first 4 pages get page
 *                          tables and code, and the guest executes VMSAVE
 *                          COUNT times (0: none) on the memfd page PAGE of
 *                          that memslot, then HLT; KVM maps that page
 *                          with kvm_vcpu_map() for each (gmem-vcpu.h).
 *                          Answers "ok vmsave COUNT gfn G page P tid T
 *                          exits E", or "skip: ..." when KVM offers no
 *                          nested SVM
 *   close-gmem             close the guest_memfd (nothing maps it)
 *   close-vm               close the VM's fd (the VM goes when its last
 *                          reference, a guest_memfd's included, goes)
 *   quit
 *
 * Each command answers one line, "ok ..." or "error ...".  At start it
 * prints "ready pid=P vm_type=T gmem=yes|no gmem_dev=D gmem_ino=I
 * backing_dev=D backing_ino=I pages=N backing=memfd|anon" (dev as MAJ:MIN,
 * 0:0 and 0 when there is no guest_memfd or the backing is anonymous).  Exit: 0 ok, 1 error, 4 no usable /dev/kvm.
 */
#include "gmem-vm.h"
#include "gmem-vcpu.h"
#include "pinner-io.h"

#include <liburing.h>
#include <sys/uio.h>

struct vmm {
	int vm, gmem, backing;
	unsigned long type;
	char *shared;     /* the memfd, mapped, or anonymous memory */
	bool anon;
	/* a default VM even where a protected one is offered: only VMs without
	 * private memory may map their guest_memfd (as of 7.3) */
	bool default_vm;
	size_t pages;
	struct io_uring ring;
	bool pinned;
	bool gmem_mappable; /* GUEST_MEMFD_FLAG_MMAP */
	char *gmem_map;     /* its host mapping, once made */
	/* the last memslot made, where 'vmsave' puts its guest */
	bool has_slot;
	unsigned long slot_gfn, slot_pages, slot_off;
	struct vcpu vcpu;
};

/* Anonymous private memory in base pages (one folio per page, as the
 * tests count them), left unfaulted: no anon_vma yet. */
static void map_anon(struct vmm *v)
{
	v->backing = -1;
	v->shared = mmap(NULL, v->pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (v->shared == MAP_FAILED)
		die(1, "mmap anonymous: %s", strerror(errno));
	if (madvise(v->shared, v->pages * PAGE, MADV_NOHUGEPAGE))
		die(1, "madvise MADV_NOHUGEPAGE: %s", strerror(errno));
}

static void map_memfd(struct vmm *v)
{
	v->backing = gmem_create_backing(v->pages, &v->shared);
}

static void vmm_open(struct vmm *v, size_t pages)
{
	v->pages = pages;
	v->type = v->default_vm ? KVM_X86_DEFAULT_VM : ~0UL;
	v->vm = gmem_create_vm(&v->type);
	v->gmem = gmem_create_any(v->vm, pages * PAGE, &v->gmem_mappable);
	if (v->anon)
		map_anon(v);
	else
		map_memfd(v);
}

static void print_ready(const struct vmm *v)
{
	struct stat g = {}, b = {};

	if ((v->gmem >= 0 && fstat(v->gmem, &g)) || (v->backing >= 0 && fstat(v->backing, &b)))
		die(1, "fstat: %s", strerror(errno));
	printf("ready pid=%d vm_type=%lu gmem=%s gmem_dev=%u:%u gmem_ino=%lu backing_dev=%u:%u "
	       "backing_ino=%lu pages=%zu backing=%s\n", getpid(), v->type,
	       v->gmem >= 0 ? "yes" : "no", major(g.st_dev), minor(g.st_dev),
	       (unsigned long)g.st_ino, major(b.st_dev), minor(b.st_dev), (unsigned long)b.st_ino,
	       v->pages, v->anon ? "anon" : "memfd");
}

static int set_slot(struct vmm *v, unsigned long slot, unsigned long gfn, unsigned long n,
		    unsigned long off)
{
	return gmem_set_slot(v->vm, v->gmem, (__u32)slot, gfn, n, v->shared + off * PAGE, off);
}

static void cmd_slot(struct vmm *v, unsigned long slot, unsigned long gfn, unsigned long n,
		     unsigned long off)
{
	if (!n || off > v->pages || n > v->pages - off) {
		printf("error %lu pages from %lu: outside %zu\n", n, off, v->pages);
		return;
	}
	if (set_slot(v, slot, gfn, n, off)) {
		printf("error KVM_SET_USER_MEMORY_REGION2: %s\n", strerror(errno));
		return;
	}
	v->has_slot = true;
	v->slot_gfn = gfn;
	v->slot_pages = n;
	v->slot_off = off;
	printf("ok slot %lu gfn %lu npages %lu uaddr %lu\n", slot, gfn, n,
		       (unsigned long)(v->shared + off * PAGE));
}

static void cmd_delete_slot(struct vmm *v, unsigned long slot)
{
	if (set_slot(v, slot, 0, 0, 0))
		printf("error delete slot %lu: %s\n", slot, strerror(errno));
	else
		printf("ok deleted %lu\n", slot);
}

/* Not inlined: liburing's register call keeps no frame pointer, so a user
 * stack walk skips this frame and shows its caller, main (gmemtop --ustack,
 * tests/vm/31-pin-address-ustack.sh). */
__attribute__((noinline)) static void pin_uring(struct vmm *v, char *base, unsigned long off,
						unsigned long n)
{
	struct iovec iov = { .iov_base = base + off * PAGE, .iov_len = n * PAGE };
	int err;

	if (v->pinned || !n || off + n > v->pages || off + n < off) {
		printf("error range %lu+%lu (of %zu pages, one buffer at a time)\n", off, n, v->pages);
		return;
	}
	err = io_uring_queue_init(4, &v->ring, 0);
	if (!err) {
		err = io_uring_register_buffers(&v->ring, &iov, 1);
		if (err)
			io_uring_queue_exit(&v->ring);
	}
	if (err) {
		printf("error io_uring fixed buffer: %s\n", strerror(-err));
		return;
	}
	v->pinned = true;
	printf("ok pinned %lu\n", n);
}

static void cmd_pin_uring(struct vmm *v, unsigned long off, unsigned long n)
{
	pin_uring(v, v->shared, off, n);
}

/* The guest_memfd, mapped by the host (MMAP|INIT_SHARED), at first use. */
static char *gmem_mapping(struct vmm *v)
{
	void *p;

	if (v->gmem_map)
		return v->gmem_map;
	if (v->gmem < 0 || !v->gmem_mappable) {
		printf("skip: no host-mappable guest_memfd (GUEST_MEMFD_FLAG_MMAP, Linux 6.18+)\n");
		return NULL;
	}
	p = mmap(NULL, v->pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, v->gmem, 0);
	if (p == MAP_FAILED) {
		printf("error mmap guest_memfd: %s\n", strerror(errno));
		return NULL;
	}
	v->gmem_map = p;
	return p;
}

static void cmd_pin_gmem_uring(struct vmm *v, unsigned long off, unsigned long n)
{
	char *base = gmem_mapping(v);

	if (base)
		pin_uring(v, base, off, n);
}

/* fallocate(PUNCH_HOLE) on 'fd' (the guest_memfd, or the memfd shared
 * backing: a VMM discarding pages it converted to private, as QEMU's
 * ram_block_discard_range() does); 'what' says which in the answer. */
static void cmd_punch(int fd, unsigned long off, unsigned long n, const char *what)
{
	if (fd < 0) {
		printf("skip: no %s\n", what);
		return;
	}
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off * PAGE, n * PAGE)) {
		printf("error fallocate(PUNCH_HOLE) on the %s: %s\n", what, strerror(errno));
		return;
	}
	printf("ok punched %s %lu\n", what, n);
}

/* Unmap the guest_memfd's host mapping: with its fd closed too, the file
 * is released. */
static void cmd_unmap_gmem(struct vmm *v)
{
	if (v->gmem_map)
		munmap(v->gmem_map, v->pages * PAGE);
	v->gmem_map = NULL;
	printf("ok unmapped guest_memfd\n");
}

static int set_attributes(struct vmm *v, unsigned long gfn, unsigned long n, bool private)
{
	struct kvm_memory_attributes a = {
		.address = gfn * PAGE,
		.size = n * PAGE,
		.attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};

	return ioctl(v->vm, KVM_SET_MEMORY_ATTRIBUTES, &a);
}

/* KVM_SET_MEMORY_ATTRIBUTES: only VM types with private memory take it. */
static bool can_convert(struct vmm *v)
{
	if (ioctl(v->vm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES) > 0)
		return true;
	printf("skip: this VM (type %lu) has no private memory: KVM_X86_SW_PROTECTED_VM needs "
	       "CONFIG_KVM_SW_PROTECTED_VM\n", v->type);
	return false;
}

static void cmd_convert(struct vmm *v, unsigned long gfn, unsigned long n, const char *to)
{
	bool private = !strcmp(to, "private");

	if (!private && strcmp(to, "shared")) {
		printf("error convert to '%s': private or shared\n", to);
		return;
	}
	if (!can_convert(v))
		return;
	if (set_attributes(v, gfn, n, private)) {
		printf("error KVM_SET_MEMORY_ATTRIBUTES: %s\n", strerror(errno));
		return;
	}
	printf("ok converted %lu to %s\n", n, to);
}

/* 'count' conversions of the range, to private and back in turn. */
static void cmd_convert_loop(struct vmm *v, unsigned long gfn, unsigned long n,
			     unsigned long count)
{
	if (!can_convert(v))
		return;
	for (unsigned long i = 0; i < count; i++)
		if (set_attributes(v, gfn, n, !(i & 1))) {
			printf("error KVM_SET_MEMORY_ATTRIBUTES (conversion %lu): %s\n", i,
			       strerror(errno));
			return;
		}
	printf("ok converted %lu times\n", count);
}

static void cmd_unpin_uring(struct vmm *v)
{
	if (v->pinned) {
		io_uring_unregister_buffers(&v->ring);
		io_uring_queue_exit(&v->ring);
		v->pinned = false;
	}
	printf("ok unpinned\n");
}

/*
 * Write the guest image into the memslot's first pages: into the memfd,
 * and into the guest_memfd too where the host can map it (a memslot bound
 * to a host-mappable guest_memfd takes the guest's own accesses from it;
 * KVM's kvm_vcpu_map() goes through userspace_addr, the memfd).
 */
static void write_guest_image(struct vmm *v, const unsigned char *img)
{
	size_t at = v->slot_off * PAGE, len = VCPU_IMAGE_PAGES * PAGE;
	char *gmem;

	memcpy(v->shared + at, img, len);
	if (v->gmem < 0)
		return;
	gmem = mmap(NULL, v->pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, v->gmem, 0);
	if (gmem == MAP_FAILED)
		return; /* not host-mappable: private memory, the guest reads the memfd */
	memcpy(gmem + at, img, len);
	munmap(gmem, v->pages * PAGE);
}

static void cmd_vmsave(struct vmm *v, unsigned long page, unsigned long count)
{
	unsigned char *img = calloc(VCPU_IMAGE_PAGES, PAGE);
	unsigned long gfn = v->slot_gfn + page - v->slot_off;
	char why[320];
	long exits;

	if (!img || !v->has_slot || page < v->slot_off + VCPU_IMAGE_PAGES ||
	    page >= v->slot_off + v->slot_pages || count > 1000000 ||
	    (v->slot_gfn + v->slot_pages) * PAGE > VCPU_IDENTITY_MAPPED) {
		printf("error vmsave needs a memslot below 1 GiB and a page in it past its first "
		       "%d\n", VCPU_IMAGE_PAGES);
		free(img);
		return;
	}
	vcpu_build_image(img, v->slot_gfn, (__u64)gfn * PAGE, (__u32)count);
	write_guest_image(v, img);
	free(img);
	if ((v->vcpu.fd < 0 && vcpu_create(&v->vcpu, v->vm, why, sizeof(why))) ||
	    vcpu_enter_long_mode(&v->vcpu, v->slot_gfn, why, sizeof(why)) ||
	    (exits = vcpu_run_to_hlt(&v->vcpu, why, sizeof(why))) < 0) {
		printf("%s\n", why);
		return;
	}
	printf("ok vmsave %lu gfn %lu page %lu tid %d exits %ld\n", count, gfn, page, gettid(),
	       exits);
}

static void cmd_fault(struct vmm *v, unsigned long off, unsigned long n)
{
	if (off > v->pages || n > v->pages - off) {
		printf("error %lu pages from %lu: outside %zu\n", n, off, v->pages);
		return;
	}
	for (unsigned long i = off; i < off + n; i++)
		v->shared[i * PAGE] = (char)i;
	printf("ok faulted %lu\n", n);
}

static void close_fd(int *fd, const char *what)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	printf("ok closed %s\n", what);
}

int main(int argc, char **argv)
{
	size_t pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
	unsigned long a, b, c, d;
	struct vmm v = { .vm = -1, .gmem = -1, .vcpu.fd = -1 };
	char line[256], word[16] = "", path[200], dir[8];

	gmem_progname = "gmem-vmm";
	setvbuf(stdout, NULL, _IOLBF, 0);
	v.anon = argc > 2 && !strcmp(argv[2], "anon");
	v.default_vm = argc > 3 && !strcmp(argv[3], "default");
	if (!pages || (argc > 2 && !v.anon && strcmp(argv[2], "memfd")) ||
	    (argc > 3 && !v.default_vm) || argc > 4)
		die(1, "usage: gmem-vmm [PAGES [memfd|anon [default]]]");
	vmm_open(&v, pages);
	print_ready(&v);
	while (fgets(line, sizeof(line), stdin)) {
		word[0] = '\0';
		if (sscanf(line, "slot %lu %lu %lu %lu", &a, &b, &c, &d) == 4)
			cmd_slot(&v, a, b, c, d);
		else if (sscanf(line, "slot %lu %lu %lu", &a, &b, &c) == 3)
			cmd_slot(&v, a, b, c, 0);
		else if (sscanf(line, "delete-slot %lu", &a) == 1)
			cmd_delete_slot(&v, a);
		else if (sscanf(line, "pin-uring %lu %lu", &a, &b) == 2)
			cmd_pin_uring(&v, a, b);
		else if (sscanf(line, "pin-gmem-uring %lu %lu", &a, &b) == 2)
			cmd_pin_gmem_uring(&v, a, b);
		else if (sscanf(line, "punch %lu %lu", &a, &b) == 2)
			cmd_punch(v.gmem, a, b, "guest_memfd");
		else if (sscanf(line, "punch-backing %lu %lu", &a, &b) == 2)
			cmd_punch(v.anon ? -1 : v.backing, a, b, "memfd backing");
		else if (!strncmp(line, "unmap-gmem", 10))
			cmd_unmap_gmem(&v);
		else if (sscanf(line, "convert-loop %lu %lu %lu", &a, &b, &c) == 3)
			cmd_convert_loop(&v, a, b, c);
		else if (sscanf(line, "convert %lu %lu %15s", &a, &b, word) == 3)
			cmd_convert(&v, a, b, word);
		else if (sscanf(line, "pin-gup-test %lu %lu %15s", &a, &b, word) >= 2)
			cmd_pin_gup_test(v.shared, v.pages, a, b, !strcmp(word, "fast"));
		else if (!strncmp(line, "unpin-gup-test", 14))
			cmd_unpin_gup_test();
		else if (sscanf(line, "odirect %199s %7s %lu %lu %lu %15s", path, dir, &a, &b, &c,
				word) >= 5 && (!strcmp(dir, "read") || !strcmp(dir, "write")))
			cmd_odirect(v.shared, v.pages, path, !strcmp(dir, "write"), a, b, c,
				    !strcmp(word, "async"));
		else if (!strncmp(line, "odirect-wait", 12))
			cmd_odirect_wait();
		else if (sscanf(line, "fault %lu %lu", &a, &b) == 2)
			cmd_fault(&v, a, b);
		else if (!strncmp(line, "unpin-uring", 11))
			cmd_unpin_uring(&v);
		else if (sscanf(line, "vmsave %lu %lu", &a, &b) == 2)
			cmd_vmsave(&v, a, b);
		else if (!strncmp(line, "close-gmem", 10))
			close_fd(&v.gmem, "guest_memfd");
		else if (!strncmp(line, "close-vm", 8))
			close_fd(&v.vm, "vm");
		else if (!strncmp(line, "quit", 4))
			break;
		else
			printf("error unknown command: %s", line);
	}
	pinner_io_close();
	return 0;
}
