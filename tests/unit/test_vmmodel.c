// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/lib/vmmodel.c: VMs, memslots and guest_memfd files fed
 * in as the lifecycle maps and the scan would give them, joined with
 * tracked folios by gmem_snapshot_finish().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/model.h"

#include <errno.h>
#include <string.h>

#define KVM_A 0xffff888200000000ULL
#define KVM_B 0xffff888200010000ULL
#define SLOT_0 0xffff888300000000ULL
#define DEV_GMEM 0x00000014U   /* 0:20 */
#define DEV_SHMEM 0x00000001U  /* 0:1 */
#define GMEM_INO 2131ULL
#define MEMFD_INO 3ULL
#define FOLIO(n) (0xffffea0004000000ULL + (__u64)(n) * 64)

static struct gmem_vm vm_entry(__u32 tgid, __u64 created_ns)
{
	struct gmem_vm v;

	memset(&v, 0, sizeof(v));
	v.created_ns = created_ns;
	v.tgid = tgid;
	v.pid = tgid;
	v.type = 1;
	strcpy(v.comm, "vmm");
	return v;
}

/* gfn [4096, 4096+256): guest_memfd from page 16, memfd from page 10. */
static struct gmem_memslot memslot_entry(__u64 kvm)
{
	struct gmem_memslot m;

	memset(&m, 0, sizeof(m));
	m.kvm = kvm;
	m.base_gfn = 4096;
	m.npages = 256;
	m.userspace_addr = 0x7f0000000000ULL;
	m.gmem_ino = GMEM_INO;
	m.gmem_dev = DEV_GMEM;
	m.gmem_pgoff = 16;
	m.backing_ino = MEMFD_INO;
	m.backing_dev = DEV_SHMEM;
	m.backing_pgoff = 10;
	m.id = 3;
	return m;
}

static void add_pin(struct gmem_snapshot *s, int n, __u32 dev, __u64 ino, __u64 index, __u32 tgid)
{
	struct gmem_folio_pins v;

	memset(&v, 0, sizeof(v));
	v.ino = ino;
	v.dev = dev;
	v.index = index;
	v.pins = 1;
	v.tgid = tgid;
	v.first_pin_ns = 1000;
	v.stack_id = -1;
	strcpy(v.comm, "vmm");
	assert_int_equal(gmem_snapshot_add_tracked(s, FOLIO(n), &v), 0);
}

static const struct gmem_folio *folio_at(const struct gmem_snapshot *s, int n)
{
	for (size_t i = 0; i < s->nr_folios; i++)
		if (s->folios[i].addr == FOLIO(n))
			return &s->folios[i];
	fail_msg("folio %d not in the snapshot", n);
	return NULL;
}

static void setup_one_vm(struct gmem_snapshot *s)
{
	struct gmem_vm v = vm_entry(150, 500);
	struct gmem_memslot m = memslot_entry(KVM_A);

	gmem_snapshot_init(s);
	s->tracking = true;
	s->time_ns = 10000;
	assert_int_equal(gmem_snapshot_add_vm(s, KVM_A, &v), 0);
	assert_int_equal(gmem_snapshot_add_memslot(s, SLOT_0, &m), 0);
}

static void shared_backing_pin_belongs_to_its_memslot_at_base_gfn_plus_offset(void **state)
{
	struct gmem_snapshot s;
	const struct gmem_folio *f;
	const struct gmem_file *file;

	setup_one_vm(&s);
	add_pin(&s, 1, DEV_SHMEM, MEMFD_INO, 15, 150);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	f = folio_at(&s, 1);
	assert_int_equal(f->memslot, 0);
	assert_int_equal(f->vm, 0);
	assert_true(f->shared);
	assert_int_equal(f->gfn, 4096 + 15 - 10);
	assert_int_equal(s.vms[0].shared_pins, 1);
	assert_int_equal(s.vms[0].gmem_pins, 0);
	assert_int_equal(s.memslots[0].shared_pins, 1);
	assert_int_equal(s.memslots[0].shared_folios, 1);
	file = gmem_snapshot_find_file(&s, DEV_SHMEM, MEMFD_INO);
	assert_non_null(file);
	assert_true(file->shared_backing);
	assert_int_equal(file->vm, 0);
	assert_string_equal(s.vms[0].name, "kvm-150");
	gmem_snapshot_free(&s);
}

static void guest_memfd_pin_maps_through_the_binding_offset(void **state)
{
	struct gmem_snapshot s;
	const struct gmem_folio *f;

	setup_one_vm(&s);
	add_pin(&s, 2, DEV_GMEM, GMEM_INO, 18, 150);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	f = folio_at(&s, 2);
	assert_int_equal(f->memslot, 0);
	assert_false(f->shared);
	assert_int_equal(f->gfn, 4096 + 18 - 16);
	assert_int_equal(s.vms[0].gmem_pins, 1);
	assert_int_equal(s.memslots[0].gmem_pins, 1);
	assert_int_equal(s.memslots[0].shared_pins, 0);
	gmem_snapshot_free(&s);
}

/* Below the binding's offset and past its end: in the file, in no memslot. */
static void folio_outside_every_memslot_has_its_files_vm_and_no_gfn(void **state)
{
	struct gmem_gmem_file g;
	struct gmem_snapshot s;

	setup_one_vm(&s);
	memset(&g, 0, sizeof(g));
	g.kvm = KVM_A;
	g.ino = GMEM_INO;
	g.dev = DEV_GMEM;
	g.size = 1 << 20;
	g.flags = 3;
	g.tgid = 150;
	assert_int_equal(gmem_snapshot_add_gmem_file(&s, 0xffff888400000000ULL, &g), 0);
	add_pin(&s, 3, DEV_GMEM, GMEM_INO, 15, 150);
	add_pin(&s, 4, DEV_GMEM, GMEM_INO, 16 + 256, 150);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	for (int n = 3; n <= 4; n++) {
		assert_int_equal(folio_at(&s, n)->memslot, -1);
		assert_int_equal(folio_at(&s, n)->vm, 0);
	}
	assert_int_equal(s.memslots[0].gmem_pins, 0);
	assert_int_equal(s.vms[0].gmem_pins, 2);
	assert_int_equal(s.vms[0].nr_files, 1);
	assert_int_equal(gmem_snapshot_find_file(&s, DEV_GMEM, GMEM_INO)->gmem_flags, 3);
	gmem_snapshot_free(&s);
}

static int add_scan_vm(struct gmem_snapshot *s, __u64 kvm, __u32 tgid)
{
	struct gmem_scan_vm r;

	memset(&r, 0, sizeof(r));
	r.hdr.version = GMEM_ABI_VERSION;
	r.hdr.type = GMEM_EV_SCAN_VM;
	r.hdr.size = sizeof(r);
	r.kvm = kvm;
	r.vm = vm_entry(tgid, 0);
	r.vm.flags = GMEM_OBJ_F_PREEXISTING;
	return gmem_snapshot_add_scan_record(s, &r, sizeof(r));
}

static int add_scan_memslot(struct gmem_snapshot *s, __u64 slot, __u64 kvm, __u64 base_gfn)
{
	struct gmem_scan_memslot r;

	memset(&r, 0, sizeof(r));
	r.hdr.version = GMEM_ABI_VERSION;
	r.hdr.type = GMEM_EV_SCAN_MEMSLOT;
	r.hdr.size = sizeof(r);
	r.slot = slot;
	r.m = memslot_entry(kvm);
	r.m.base_gfn = base_gfn;
	r.m.state = GMEM_OBJ_F_PREEXISTING;
	return gmem_snapshot_add_scan_record(s, &r, sizeof(r));
}

static void vm_found_only_by_the_scan_is_preexisting(void **state)
{
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	assert_int_equal(add_scan_vm(&s, KVM_B, 200), 0);
	assert_int_equal(add_scan_memslot(&s, SLOT_0, KVM_B, 64), 0);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_int_equal(s.nr_vms, 1);
	assert_false(s.vms[0].tracked);
	assert_true(s.vms[0].scanned);
	assert_true(s.vms[0].v.flags & GMEM_OBJ_F_PREEXISTING);
	assert_int_equal(s.nr_memslots, 1);
	assert_false(s.memslots[0].tracked);
	assert_int_equal(s.memslots[0].vm, 0);
	assert_int_equal(s.vms[0].nr_memslots, 1);
	gmem_snapshot_free(&s);
}

/* A memslot changed since tracking began: the lifecycle copy is current. */
static void tracked_memslot_wins_over_the_scans_copy_in_either_order(void **state)
{
	struct gmem_snapshot s;

	for (int order = 0; order < 2; order++) {
		struct gmem_memslot m = memslot_entry(KVM_B);

		gmem_snapshot_init(&s);
		if (order)
			assert_int_equal(gmem_snapshot_add_memslot(&s, SLOT_0, &m), 0);
		assert_int_equal(add_scan_memslot(&s, SLOT_0, KVM_B, 64), 0);
		if (!order)
			assert_int_equal(gmem_snapshot_add_memslot(&s, SLOT_0, &m), 0);
		assert_int_equal(add_scan_vm(&s, KVM_B, 200), 0);
		assert_int_equal(gmem_snapshot_finish(&s), 0);
		assert_int_equal(s.nr_memslots, 1);
		assert_true(s.memslots[0].tracked);
		assert_int_equal(s.memslots[0].m.base_gfn, 4096);
		gmem_snapshot_free(&s);
	}
}

static void a_process_second_vm_is_named_with_a_suffix(void **state)
{
	struct gmem_vm a = vm_entry(150, 500), b = vm_entry(150, 600), c = vm_entry(90, 700);
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	assert_int_equal(gmem_snapshot_add_vm(&s, KVM_B, &b), 0);
	assert_int_equal(gmem_snapshot_add_vm(&s, KVM_A, &a), 0);
	assert_int_equal(gmem_snapshot_add_vm(&s, KVM_A + 1, &c), 0);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_int_equal(s.nr_vms, 3);
	assert_string_equal(s.vms[0].name, "kvm-90");
	assert_string_equal(s.vms[1].name, "kvm-150");
	assert_int_equal(s.vms[1].kvm, KVM_A);
	assert_string_equal(s.vms[2].name, "kvm-150.2");
	gmem_snapshot_free(&s);
}

static void pid_filter_keeps_that_process_vms_and_memslots(void **state)
{
	struct gmem_vm other = vm_entry(99, 500);
	struct gmem_memslot m = memslot_entry(KVM_B);
	struct gmem_snapshot s;

	setup_one_vm(&s);
	assert_int_equal(gmem_snapshot_add_vm(&s, KVM_B, &other), 0);
	assert_int_equal(gmem_snapshot_add_memslot(&s, SLOT_0 + 0x100, &m), 0);
	s.filter.pid = 150;
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_int_equal(s.nr_vms, 1);
	assert_int_equal(s.vms[0].kvm, KVM_A);
	assert_int_equal(s.nr_memslots, 1);
	assert_int_equal(s.memslots[0].m.kvm, KVM_A);
	gmem_snapshot_free(&s);
}

static void malformed_model_records_are_counted_not_added(void **state)
{
	struct gmem_scan_vm r;
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	memset(&r, 0, sizeof(r));
	r.hdr.version = GMEM_ABI_VERSION;
	r.hdr.type = GMEM_EV_SCAN_MEMSLOT; /* a VM record's size: wrong for a memslot */
	r.hdr.size = sizeof(r);
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &r, sizeof(r)), -EINVAL);
	r.hdr.type = 99;
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &r, sizeof(r)), -EINVAL);
	assert_int_equal(s.bad_records, 2);
	assert_int_equal(s.nr_vms, 0);
	assert_int_equal(s.nr_memslots, 0);
	gmem_snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shared_backing_pin_belongs_to_its_memslot_at_base_gfn_plus_offset),
		cmocka_unit_test(guest_memfd_pin_maps_through_the_binding_offset),
		cmocka_unit_test(folio_outside_every_memslot_has_its_files_vm_and_no_gfn),
		cmocka_unit_test(vm_found_only_by_the_scan_is_preexisting),
		cmocka_unit_test(tracked_memslot_wins_over_the_scans_copy_in_either_order),
		cmocka_unit_test(a_process_second_vm_is_named_with_a_suffix),
		cmocka_unit_test(pid_filter_keeps_that_process_vms_and_memslots),
		cmocka_unit_test(malformed_model_records_are_counted_not_added),
	};

	return cmocka_run_group_tests_name("vmmodel", tests, NULL, NULL);
}
