// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/lib/model.c: tracked folios and scan records fed in
 * directly, as the tracker and the scanner would decode them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/model.h"

#include <errno.h>
#include <string.h>

/* Two guest_memfd files on the same anon-inode superblock, one elsewhere. */
#define DEV_A 0x0000000dU  /* 0:13 */
#define DEV_B 0x00100002U  /* 1:2 */
#define INO_1 1001ULL
#define INO_2 1002ULL

#define FOLIO(n) (0xffffea0004000000ULL + (__u64)(n) * 64)

static struct gmem_folio_pins pins_entry(__u32 tgid, const char *comm, __u32 dev, __u64 ino,
					 __u64 index, __u32 pins)
{
	struct gmem_folio_pins v;

	memset(&v, 0, sizeof(v));
	v.mapping = 0xffff888100000000ULL + ino;
	v.ino = ino;
	v.index = index;
	v.first_pin_ns = 1000;
	v.last_pin_ns = 2000;
	v.dev = dev;
	v.pins = pins;
	v.tgid = tgid;
	v.pid = tgid + 1;
	strncpy(v.comm, comm, sizeof(v.comm));
	return v;
}

static struct gmem_scan_folio scan_folio(__u64 folio, __u32 dev, __u64 ino, __u64 index,
					 __s32 refcount, __u32 pins)
{
	struct gmem_scan_folio r;

	memset(&r, 0, sizeof(r));
	r.hdr.version = GMEM_ABI_VERSION;
	r.hdr.type = GMEM_EV_SCAN_FOLIO;
	r.hdr.size = sizeof(r);
	r.ino = ino;
	r.folio = folio;
	r.index = index;
	r.dev = dev;
	r.refcount = refcount;
	r.mapcount = 1;
	r.pins = pins;
	r.order = 0;
	return r;
}

static struct gmem_scan_file scan_file(__u32 dev, __u64 ino, __u64 size, __u32 tgid,
				       __u32 fd, const char *comm)
{
	struct gmem_scan_file r;

	memset(&r, 0, sizeof(r));
	r.hdr.version = GMEM_ABI_VERSION;
	r.hdr.type = GMEM_EV_SCAN_FILE;
	r.hdr.size = sizeof(r);
	r.ino = ino;
	r.size = size;
	r.mapping = 0xffff888100000000ULL + ino;
	r.dev = dev;
	r.tgid = tgid;
	r.fd = fd;
	strncpy(r.comm, comm, sizeof(r.comm));
	return r;
}

static struct gmem_scan_end scan_end(__u32 dev, __u64 ino, __u64 pins, __u32 nr_folios,
				     __u32 nr_pinned, __u32 nr_extra_ref, __u32 truncated)
{
	struct gmem_scan_end r;

	memset(&r, 0, sizeof(r));
	r.hdr.version = GMEM_ABI_VERSION;
	r.hdr.type = GMEM_EV_SCAN_END;
	r.hdr.size = sizeof(r);
	r.ino = ino;
	r.pins = pins;
	r.dev = dev;
	r.nr_folios = nr_folios;
	r.nr_pinned = nr_pinned;
	r.nr_extra_ref = nr_extra_ref;
	r.truncated = truncated;
	return r;
}

static void add_tracked(struct gmem_snapshot *s, __u64 folio, struct gmem_folio_pins v)
{
	assert_int_equal(gmem_snapshot_add_tracked(s, folio, &v), 0);
}

#define add_record(s, r) assert_int_equal(gmem_snapshot_add_scan_record(s, &(r), sizeof(r)), 0)

static const struct gmem_process *find_proc(const struct gmem_snapshot *s, __u32 tgid)
{
	for (size_t i = 0; i < s->nr_procs; i++)
		if (s->procs[i].tgid == tgid)
			return &s->procs[i];
	return NULL;
}

static const struct gmem_folio *find_folio(const struct gmem_snapshot *s, __u64 addr)
{
	const struct gmem_folio *found = NULL;

	for (size_t i = 0; i < s->nr_folios; i++)
		if (s->folios[i].addr == addr) {
			assert_null(found); /* at most once */
			found = &s->folios[i];
		}
	return found;
}

/* ---- empty ---- */

static void empty_snapshot_finishes_with_nothing(void **state)
{
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_int_equal(s.nr_folios, 0);
	assert_int_equal(s.nr_files, 0);
	assert_int_equal(s.nr_procs, 0);
	assert_int_equal(s.bad_records, 0);
	assert_null(gmem_snapshot_find_file(&s, DEV_A, INO_1));
	gmem_snapshot_free(&s);
}

/* ---- aggregation ---- */

/*
 * Shared fixture: process 100 "qemu-a" pins three folios (2 in file 1, 1 in
 * file 2), process 200 "qemu-b" pins two folios in file 2.
 *   folio  tgid file  index pins gets first_pin_ns flags
 *   0      100  1     0     2    1    5000         -
 *   1      100  1     1     3    0    3000         LONGTERM
 *   2      100  2     7     1    2    4000         -
 *   3      200  2     8     10   0    9000         -
 *   4      200  2     9     20   4    8000         -
 * process 100: 3 folios, 6 pins, 3 gets, first 3000, longterm
 * process 200: 2 folios, 30 pins, 4 gets, first 8000, not longterm
 * file 1: 2 folios, 5 pins; file 2: 3 folios, 31 pins
 */
static void add_two_processes_two_files(struct gmem_snapshot *s)
{
	struct gmem_folio_pins v;

	v = pins_entry(100, "qemu-a", DEV_A, INO_1, 0, 2);
	v.gets = 1;
	v.first_pin_ns = 5000;
	add_tracked(s, FOLIO(0), v);
	v = pins_entry(100, "qemu-a", DEV_A, INO_1, 1, 3);
	v.first_pin_ns = 3000;
	v.flags = GMEM_PIN_F_LONGTERM | GMEM_PIN_F_FAST;
	add_tracked(s, FOLIO(1), v);
	v = pins_entry(100, "qemu-a", DEV_A, INO_2, 7, 1);
	v.gets = 2;
	v.first_pin_ns = 4000;
	v.flags = GMEM_PIN_F_SLOW;
	add_tracked(s, FOLIO(2), v);
	v = pins_entry(200, "qemu-b", DEV_A, INO_2, 8, 10);
	v.first_pin_ns = 9000;
	add_tracked(s, FOLIO(3), v);
	v = pins_entry(200, "qemu-b", DEV_A, INO_2, 9, 20);
	v.gets = 4;
	v.first_pin_ns = 8000;
	add_tracked(s, FOLIO(4), v);
}

static void tracked_folios_are_summed_per_process(void **state)
{
	struct gmem_snapshot s;
	const struct gmem_process *p;

	gmem_snapshot_init(&s);
	add_two_processes_two_files(&s);
	assert_int_equal(gmem_snapshot_finish(&s), 0);

	assert_int_equal(s.nr_procs, 2);
	p = find_proc(&s, 100);
	assert_non_null(p);
	assert_string_equal(p->comm, "qemu-a");
	assert_int_equal(p->folios, 3);
	assert_int_equal(p->pins, 6);
	assert_int_equal(p->gets, 3);
	assert_int_equal(p->first_pin_ns, 3000);
	assert_true(p->longterm);

	p = find_proc(&s, 200);
	assert_non_null(p);
	assert_string_equal(p->comm, "qemu-b");
	assert_int_equal(p->folios, 2);
	assert_int_equal(p->pins, 30);
	assert_int_equal(p->gets, 4);
	assert_int_equal(p->first_pin_ns, 8000);
	assert_false(p->longterm);
	gmem_snapshot_free(&s);
}

static void tracked_folios_are_summed_per_file(void **state)
{
	struct gmem_snapshot s;
	const struct gmem_file *f;

	gmem_snapshot_init(&s);
	add_two_processes_two_files(&s);
	assert_int_equal(gmem_snapshot_finish(&s), 0);

	assert_int_equal(s.nr_files, 2);
	f = gmem_snapshot_find_file(&s, DEV_A, INO_1);
	assert_non_null(f);
	assert_int_equal(f->tracked_folios, 2);
	assert_int_equal(f->tracked_pins, 5);
	assert_false(f->scanned);
	assert_int_equal(f->owner_tgid, 0); /* no scan record named an owner */

	f = gmem_snapshot_find_file(&s, DEV_A, INO_2);
	assert_non_null(f);
	assert_int_equal(f->tracked_folios, 3);
	assert_int_equal(f->tracked_pins, 31);
	assert_false(f->scanned);

	assert_null(gmem_snapshot_find_file(&s, DEV_B, INO_1));
	gmem_snapshot_free(&s);
}

static void folios_are_sorted_by_file_and_index(void **state)
{
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	/* added out of order; DEV_A < DEV_B, INO_1 < INO_2 */
	add_tracked(&s, FOLIO(10), pins_entry(1, "a", DEV_B, INO_1, 0, 1));
	add_tracked(&s, FOLIO(11), pins_entry(1, "a", DEV_A, INO_2, 5, 1));
	add_tracked(&s, FOLIO(12), pins_entry(1, "a", DEV_A, INO_1, 9, 1));
	add_tracked(&s, FOLIO(13), pins_entry(1, "a", DEV_A, INO_1, 2, 1));
	assert_int_equal(gmem_snapshot_finish(&s), 0);

	assert_int_equal(s.nr_folios, 4);
	assert_true(s.folios[0].addr == FOLIO(13));
	assert_true(s.folios[1].addr == FOLIO(12));
	assert_true(s.folios[2].addr == FOLIO(11));
	assert_true(s.folios[3].addr == FOLIO(10));
	gmem_snapshot_free(&s);
}

/* ---- merge of tracked and scanned ---- */

static void check_merged(const struct gmem_snapshot *s, const struct gmem_folio_pins *v,
			 const struct gmem_scan_folio *k)
{
	const struct gmem_folio *f;

	assert_int_equal(s->nr_folios, 1);
	f = find_folio(s, FOLIO(1));
	assert_non_null(f);
	assert_true(f->tracked);
	assert_true(f->scanned);
	assert_memory_equal(&f->t, v, sizeof(*v));
	assert_memory_equal(&f->k, k, sizeof(*k));
	assert_true(f->dev == DEV_A);
	assert_true(f->ino == INO_1);
	assert_true(f->index == 4);
	assert_int_equal(gmem_folio_tracked_pins(f), 3);
	assert_int_equal(s->nr_procs, 1);
	assert_int_equal(s->procs[0].pins, 3);
	assert_int_equal(s->procs[0].folios, 1);
}

static void folio_tracked_and_scanned_is_merged_once(void **state)
{
	struct gmem_folio_pins v = pins_entry(100, "qemu", DEV_A, INO_1, 4, 3);
	struct gmem_scan_folio k = scan_folio(FOLIO(1), DEV_A, INO_1, 4, 3 * 1024 + 2, 3);
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	add_tracked(&s, FOLIO(1), v);
	add_record(&s, k);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	check_merged(&s, &v, &k);
	gmem_snapshot_free(&s);
}

static void folio_scanned_before_tracked_is_merged_once(void **state)
{
	struct gmem_folio_pins v = pins_entry(100, "qemu", DEV_A, INO_1, 4, 3);
	struct gmem_scan_folio k = scan_folio(FOLIO(1), DEV_A, INO_1, 4, 3 * 1024 + 2, 3);
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	add_record(&s, k);
	add_tracked(&s, FOLIO(1), v);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	check_merged(&s, &v, &k);
	gmem_snapshot_free(&s);
}

static void folio_only_scanned_is_kept_but_not_attributed(void **state)
{
	struct gmem_scan_folio k = scan_folio(FOLIO(2), DEV_A, INO_2, 6, 1024 + 1, 1);
	struct gmem_snapshot s;
	const struct gmem_folio *f;

	gmem_snapshot_init(&s);
	add_tracked(&s, FOLIO(1), pins_entry(100, "qemu", DEV_A, INO_1, 4, 3));
	add_record(&s, k);
	assert_int_equal(gmem_snapshot_finish(&s), 0);

	assert_int_equal(s.nr_folios, 2);
	f = find_folio(&s, FOLIO(2));
	assert_non_null(f);
	assert_false(f->tracked);
	assert_true(f->scanned);
	assert_memory_equal(&f->k, &k, sizeof(k));
	assert_true(f->ino == INO_2);
	assert_true(f->index == 6);
	assert_int_equal(gmem_folio_tracked_pins(f), 0);
	/* the scanned-only folio adds to no process and no tracked count */
	assert_int_equal(s.nr_procs, 1);
	assert_int_equal(s.procs[0].pins, 3);
	assert_null(gmem_snapshot_find_file(&s, DEV_A, INO_2));
	gmem_snapshot_free(&s);
}

/* ---- GMEM_PINS_DEAD ---- */

static void dead_entry_counts_as_zero_pins(void **state)
{
	struct gmem_snapshot s;
	const struct gmem_process *p;
	const struct gmem_file *f;
	const struct gmem_folio *fo;
	__u64 pins = 0, folios = 0;

	gmem_snapshot_init(&s);
	add_tracked(&s, FOLIO(1), pins_entry(100, "qemu", DEV_A, INO_1, 0, GMEM_PINS_DEAD));
	add_tracked(&s, FOLIO(2), pins_entry(100, "qemu", DEV_A, INO_1, 1, 5));
	add_tracked(&s, FOLIO(3), pins_entry(200, "dying", DEV_A, INO_2, 0, GMEM_PINS_DEAD));
	assert_int_equal(gmem_snapshot_finish(&s), 0);

	fo = find_folio(&s, FOLIO(1));
	assert_non_null(fo);
	assert_int_equal(gmem_folio_tracked_pins(fo), 0);

	p = find_proc(&s, 100);
	assert_non_null(p);
	assert_int_equal(p->pins, 5);
	assert_int_equal(p->folios, 1);
	/* whether or not a process or file with nothing but dead entries is
	 * listed, 0xffffffff must not reach any sum */
	for (size_t i = 0; i < s.nr_procs; i++) {
		pins += s.procs[i].pins;
		folios += s.procs[i].folios;
	}
	assert_int_equal(pins, 5);
	assert_int_equal(folios, 1);

	f = gmem_snapshot_find_file(&s, DEV_A, INO_1);
	assert_non_null(f);
	assert_int_equal(f->tracked_pins, 5);
	assert_int_equal(f->tracked_folios, 1);
	pins = folios = 0;
	for (size_t i = 0; i < s.nr_files; i++) {
		pins += s.files[i].tracked_pins;
		folios += s.files[i].tracked_folios;
	}
	assert_int_equal(pins, 5);
	assert_int_equal(folios, 1);
	gmem_snapshot_free(&s);
}

/* ---- malformed scan records ---- */

static void assert_nothing_added(struct gmem_snapshot *s, __u32 bad)
{
	assert_int_equal(s->bad_records, bad);
	assert_int_equal(s->nr_folios, 0);
	assert_int_equal(s->nr_files, 0);
	assert_int_equal(gmem_snapshot_finish(s), 0);
	assert_int_equal(s->nr_folios, 0);
	assert_int_equal(s->nr_files, 0);
	assert_int_equal(s->nr_procs, 0);
	assert_int_equal(s->bad_records, bad);
}

static void scan_record_shorter_than_header_is_rejected(void **state)
{
	struct gmem_scan_end r = scan_end(DEV_A, INO_1, 1, 1, 1, 1, 0);
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &r, 0), -EINVAL);
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &r, 4), -EINVAL);
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &r, 7), -EINVAL);
	assert_nothing_added(&s, 3);
	gmem_snapshot_free(&s);
}

static void scan_record_shorter_than_its_type_is_rejected(void **state)
{
	struct gmem_scan_folio k = scan_folio(FOLIO(1), DEV_A, INO_1, 0, 1025, 1);
	struct gmem_scan_file fi = scan_file(DEV_A, INO_1, 4096, 100, 3, "qemu");
	struct gmem_scan_end e = scan_end(DEV_A, INO_1, 1, 1, 1, 1, 0);
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	/* size field agrees with the short length: only the type catches it */
	k.hdr.size = sizeof(k) - 8;
	fi.hdr.size = sizeof(fi) - 8;
	e.hdr.size = sizeof(e.hdr);
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &k, sizeof(k) - 8), -EINVAL);
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &fi, sizeof(fi) - 8), -EINVAL);
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &e, sizeof(e.hdr)), -EINVAL);
	assert_nothing_added(&s, 3);
	gmem_snapshot_free(&s);
}

static void scan_record_longer_than_its_type_is_rejected(void **state)
{
	struct {
		struct gmem_scan_folio k;
		__u64 extra;
	} big;
	struct gmem_snapshot s;

	memset(&big, 0, sizeof(big));
	big.k = scan_folio(FOLIO(1), DEV_A, INO_1, 0, 1025, 1);
	big.k.hdr.size = sizeof(big);
	gmem_snapshot_init(&s);
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &big, sizeof(big)), -EINVAL);
	assert_nothing_added(&s, 1);
	gmem_snapshot_free(&s);
}

static void scan_record_with_wrong_version_is_rejected(void **state)
{
	struct gmem_scan_folio k = scan_folio(FOLIO(1), DEV_A, INO_1, 0, 1025, 1);
	struct gmem_scan_end e = scan_end(DEV_A, INO_1, 1, 1, 1, 1, 0);
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	k.hdr.version = GMEM_ABI_VERSION + 1;
	e.hdr.version = 0;
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &k, sizeof(k)), -EINVAL);
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &e, sizeof(e)), -EINVAL);
	assert_nothing_added(&s, 2);
	gmem_snapshot_free(&s);
}

static void scan_record_with_unknown_type_is_rejected(void **state)
{
	struct gmem_scan_folio k = scan_folio(FOLIO(1), DEV_A, INO_1, 0, 1025, 1);
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	k.hdr.type = 0;
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &k, sizeof(k)), -EINVAL);
	k.hdr.type = 4;
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &k, sizeof(k)), -EINVAL);
	k.hdr.type = 0xffff;
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &k, sizeof(k)), -EINVAL);
	assert_nothing_added(&s, 3);
	gmem_snapshot_free(&s);
}

static void scan_record_with_type_of_another_size_is_rejected(void **state)
{
	/* a folio-sized record claiming to be a FILE or an END */
	struct gmem_scan_folio k = scan_folio(FOLIO(1), DEV_A, INO_1, 0, 1025, 1);
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	k.hdr.type = GMEM_EV_SCAN_FILE;
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &k, sizeof(k)), -EINVAL);
	k.hdr.type = GMEM_EV_SCAN_END;
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &k, sizeof(k)), -EINVAL);
	assert_nothing_added(&s, 2);
	gmem_snapshot_free(&s);
}

static void scan_record_with_size_field_not_matching_len_is_rejected(void **state)
{
	struct gmem_scan_folio k = scan_folio(FOLIO(1), DEV_A, INO_1, 0, 1025, 1);
	struct gmem_scan_file fi = scan_file(DEV_A, INO_1, 4096, 100, 3, "qemu");
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	k.hdr.size = sizeof(k) + 8;
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &k, sizeof(k)), -EINVAL);
	k.hdr.size = sizeof(k) - 8;
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &k, sizeof(k)), -EINVAL);
	k.hdr.size = 0;
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &k, sizeof(k)), -EINVAL);
	fi.hdr.size = 56;
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &fi, sizeof(fi)), -EINVAL);
	assert_nothing_added(&s, 4);
	gmem_snapshot_free(&s);
}

static void bad_records_do_not_disturb_good_ones(void **state)
{
	struct gmem_scan_folio k = scan_folio(FOLIO(1), DEV_A, INO_1, 0, 1025, 1);
	struct gmem_scan_folio bad = k;
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	bad.hdr.version = 7;
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &bad, sizeof(bad)), -EINVAL);
	add_record(&s, k);
	assert_int_equal(gmem_snapshot_add_scan_record(&s, &bad, 3), -EINVAL);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_int_equal(s.bad_records, 2);
	assert_int_equal(s.nr_folios, 1);
	assert_memory_equal(&s.folios[0].k, &k, sizeof(k));
	gmem_snapshot_free(&s);
}

/* ---- SCAN_FILE and SCAN_END ---- */

static void scan_file_sets_size_and_keeps_first_owner(void **state)
{
	struct gmem_scan_file a = scan_file(DEV_A, INO_1, 1ULL << 30, 100, 12, "qemu-first");
	struct gmem_scan_file b = scan_file(DEV_A, INO_1, 1ULL << 30, 200, 5, "second");
	struct gmem_snapshot s;
	const struct gmem_file *f;

	gmem_snapshot_init(&s);
	add_record(&s, a);
	add_record(&s, b);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_int_equal(s.nr_files, 1);
	f = gmem_snapshot_find_file(&s, DEV_A, INO_1);
	assert_non_null(f);
	assert_true(f->size == (1ULL << 30));
	assert_int_equal(f->owner_tgid, 100);
	assert_int_equal(f->owner_fd, 12);
	assert_string_equal(f->owner_comm, "qemu-first");
	assert_false(f->scanned); /* no SCAN_END yet */
	assert_int_equal(s.nr_folios, 0);
	gmem_snapshot_free(&s);
}

static void scan_end_sets_kernel_counts(void **state)
{
	struct gmem_scan_end e = scan_end(DEV_A, INO_1, 777, 4096, 300, 12, 0);
	struct gmem_snapshot s;
	const struct gmem_file *f;

	gmem_snapshot_init(&s);
	add_record(&s, e);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	f = gmem_snapshot_find_file(&s, DEV_A, INO_1);
	assert_non_null(f);
	assert_true(f->scanned);
	assert_false(f->truncated);
	assert_int_equal(f->kernel_pins, 777);
	assert_int_equal(f->kernel_folios, 4096);
	assert_int_equal(f->kernel_pinned_folios, 300);
	assert_int_equal(f->kernel_extra_ref_folios, 12);
	gmem_snapshot_free(&s);
}

static void scan_end_truncated_marks_file_truncated(void **state)
{
	struct gmem_scan_end e1 = scan_end(DEV_A, INO_1, 1, 2, 1, 0, 1);
	struct gmem_scan_end e2 = scan_end(DEV_A, INO_2, 1, 2, 1, 0, 0x100);
	struct gmem_snapshot s;
	const struct gmem_file *f;

	gmem_snapshot_init(&s);
	add_record(&s, e1);
	add_record(&s, e2);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	f = gmem_snapshot_find_file(&s, DEV_A, INO_1);
	assert_non_null(f);
	assert_true(f->scanned);
	assert_true(f->truncated);
	f = gmem_snapshot_find_file(&s, DEV_A, INO_2);
	assert_non_null(f);
	assert_true(f->truncated); /* any non-zero value */
	gmem_snapshot_free(&s);
}

static void scanned_and_tracked_file_is_one_entry(void **state)
{
	struct gmem_scan_file fi = scan_file(DEV_A, INO_1, 8192, 100, 9, "qemu");
	struct gmem_scan_end e = scan_end(DEV_A, INO_1, 4, 2, 1, 1, 0);
	struct gmem_snapshot s;
	const struct gmem_file *f;

	gmem_snapshot_init(&s);
	add_record(&s, fi);
	add_tracked(&s, FOLIO(1), pins_entry(100, "qemu", DEV_A, INO_1, 0, 4));
	add_record(&s, e);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_int_equal(s.nr_files, 1);
	f = &s.files[0];
	assert_true(f->dev == DEV_A && f->ino == INO_1);
	assert_true(f->size == 8192);
	assert_int_equal(f->owner_tgid, 100);
	assert_true(f->scanned);
	assert_int_equal(f->kernel_pins, 4);
	assert_int_equal(f->tracked_pins, 4);
	assert_int_equal(f->tracked_folios, 1);
	gmem_snapshot_free(&s);
}

/* ---- sort order ---- */

static void processes_are_sorted_by_pins_descending_then_pid(void **state)
{
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	add_tracked(&s, FOLIO(1), pins_entry(300, "c", DEV_A, INO_1, 0, 5));
	add_tracked(&s, FOLIO(2), pins_entry(100, "a", DEV_A, INO_1, 1, 2));
	add_tracked(&s, FOLIO(3), pins_entry(400, "d", DEV_A, INO_1, 2, 50));
	add_tracked(&s, FOLIO(4), pins_entry(200, "b", DEV_A, INO_1, 3, 5));
	add_tracked(&s, FOLIO(5), pins_entry(100, "a", DEV_A, INO_1, 4, 1));
	assert_int_equal(gmem_snapshot_finish(&s), 0);

	assert_int_equal(s.nr_procs, 4);
	assert_int_equal(s.procs[0].tgid, 400); /* 50 pins */
	assert_int_equal(s.procs[1].tgid, 200); /* 5 pins, lower pid first */
	assert_int_equal(s.procs[2].tgid, 300); /* 5 pins */
	assert_int_equal(s.procs[3].tgid, 100); /* 2 + 1 pins */
	assert_int_equal(s.procs[3].pins, 3);
	gmem_snapshot_free(&s);
}

static void files_are_sorted_by_dev_then_ino(void **state)
{
	struct gmem_scan_end e[] = {
		scan_end(DEV_B, 5, 0, 0, 0, 0, 0),
		scan_end(DEV_A, 900, 0, 0, 0, 0, 0),
		scan_end(DEV_B, 1, 0, 0, 0, 0, 0),
		scan_end(DEV_A, 3, 0, 0, 0, 0, 0),
	};
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	for (size_t i = 0; i < 4; i++)
		add_record(&s, e[i]);
	assert_int_equal(gmem_snapshot_finish(&s), 0);

	assert_int_equal(s.nr_files, 4);
	assert_true(s.files[0].dev == DEV_A && s.files[0].ino == 3);
	assert_true(s.files[1].dev == DEV_A && s.files[1].ino == 900);
	assert_true(s.files[2].dev == DEV_B && s.files[2].ino == 1);
	assert_true(s.files[3].dev == DEV_B && s.files[3].ino == 5);
	gmem_snapshot_free(&s);
}

/* ---- stats ---- */

static void stats_lost_sums_exactly_the_loss_counters(void **state)
{
	struct gmem_stats st;

	memset(&st, 0, sizeof(st));
	st.v[GMEM_STAT_PIN] = 1ULL << 40;
	st.v[GMEM_STAT_GET] = 1ULL << 41;
	st.v[GMEM_STAT_UNPIN] = 1ULL << 42;
	st.v[GMEM_STAT_UNPIN_UNKNOWN] = 1ULL << 43;
	st.v[GMEM_STAT_MAP_FULL] = 1;
	st.v[GMEM_STAT_RACE_LOST] = 2;
	st.v[GMEM_STAT_SCAN_DROPPED] = 4;
	st.v[GMEM_STAT_SCAN_TRUNCATED] = 8;
	st.v[GMEM_STAT_UNPIN_TRUNCATED] = 16;
	assert_int_equal(gmem_stats_lost(&st), 31);
}

static void stats_lost_counts_each_loss_counter_alone(void **state)
{
	static const enum gmem_stat loss[] = {
		GMEM_STAT_MAP_FULL, GMEM_STAT_RACE_LOST, GMEM_STAT_SCAN_DROPPED,
		GMEM_STAT_SCAN_TRUNCATED, GMEM_STAT_UNPIN_TRUNCATED,
	};

	for (size_t i = 0; i < sizeof(loss) / sizeof(loss[0]); i++) {
		struct gmem_stats st;

		memset(&st, 0, sizeof(st));
		st.v[loss[i]] = 3;
		assert_int_equal(gmem_stats_lost(&st), 3);
	}
}

static void stats_lost_ignores_pins_gets_and_unpins(void **state)
{
	struct gmem_stats st;

	memset(&st, 0, sizeof(st));
	st.v[GMEM_STAT_PIN] = 100;
	st.v[GMEM_STAT_GET] = 200;
	st.v[GMEM_STAT_UNPIN] = 300;
	st.v[GMEM_STAT_UNPIN_UNKNOWN] = 400;
	assert_int_equal(gmem_stats_lost(&st), 0);
}

static void every_stat_has_a_distinct_name(void **state)
{
	for (int i = 0; i < GMEM_STAT_NR; i++) {
		const char *n = gmem_stat_name(i);

		assert_non_null(n);
		assert_string_not_equal(n, "?");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, gmem_stat_name(j));
	}
	assert_string_equal(gmem_stat_name(GMEM_STAT_NR), "?");
}

/* ---- comm ---- */

static void tracked_comm_with_control_and_non_ascii_bytes_is_sanitized(void **state)
{
	struct gmem_snapshot s;
	struct gmem_folio_pins v = pins_entry(100, "", DEV_A, INO_1, 0, 1);
	const struct gmem_folio *f;

	/* ESC [ 2 J, a UTF-8 e-acute, DEL, a tab */
	memcpy(v.comm, "\x1b[2Jq\xc3\xa9mu\x7f\tx", 12);
	gmem_snapshot_init(&s);
	add_tracked(&s, FOLIO(1), v);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	f = find_folio(&s, FOLIO(1));
	assert_non_null(f);
	assert_string_equal(f->t.comm, "?[2Jq??mu??x");
	assert_string_equal(s.procs[0].comm, "?[2Jq??mu??x");
	gmem_snapshot_free(&s);
}

static void owner_comm_with_control_bytes_is_sanitized(void **state)
{
	struct gmem_scan_file fi = scan_file(DEV_A, INO_1, 4096, 100, 3, "");
	struct gmem_snapshot s;

	memcpy(fi.comm, "vm\x01\x80\xfe", 5);
	gmem_snapshot_init(&s);
	add_record(&s, fi);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_string_equal(s.files[0].owner_comm, "vm???");
	gmem_snapshot_free(&s);
}

static void tracked_comm_without_nul_is_terminated(void **state)
{
	struct gmem_snapshot s;
	struct gmem_folio_pins v = pins_entry(100, "", DEV_A, INO_1, 0, 1);
	const struct gmem_folio *f;

	memset(v.comm, 'A', sizeof(v.comm));
	gmem_snapshot_init(&s);
	add_tracked(&s, FOLIO(1), v);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	f = find_folio(&s, FOLIO(1));
	assert_non_null(f);
	assert_string_equal(f->t.comm, "AAAAAAAAAAAAAAA"); /* 15 */
	assert_string_equal(s.procs[0].comm, "AAAAAAAAAAAAAAA");
	gmem_snapshot_free(&s);
}

static void owner_comm_without_nul_is_terminated(void **state)
{
	struct gmem_scan_file fi = scan_file(DEV_A, INO_1, 4096, 100, 3, "");
	struct gmem_snapshot s;

	memset(fi.comm, 'B', sizeof(fi.comm));
	gmem_snapshot_init(&s);
	add_record(&s, fi);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_string_equal(s.files[0].owner_comm, "BBBBBBBBBBBBBBB"); /* 15 */
	gmem_snapshot_free(&s);
}

/* ---- extra references and FOLL_GET ---- */

/* One tracked folio with 'gets' FOLL_GET references taken, scanned with
 * 'extra' references beyond cache (1), mapping (1) and pins. */
static void snapshot_with_gets(struct gmem_snapshot *s, __u32 gets, int extra)
{
	struct gmem_folio_pins v = pins_entry(100, "vmm", DEV_A, INO_1, 5, 0);
	struct gmem_scan_folio k = scan_folio(FOLIO(1), DEV_A, INO_1, 5, 2 + extra, 0);
	struct gmem_scan_end e = scan_end(DEV_A, INO_1, 0, 8, 0, extra > 0, 0);

	v.gets = gets;
	gmem_snapshot_init(s);
	add_tracked(s, FOLIO(1), v);
	if (extra > 0)
		add_record(s, k);
	add_record(s, e);
	assert_int_equal(gmem_snapshot_finish(s), 0);
}

static void gets_still_held_are_attributed(void **state)
{
	struct gmem_snapshot s;
	const struct gmem_folio *f;

	snapshot_with_gets(&s, 3, 3);
	f = find_folio(&s, FOLIO(1));
	assert_int_equal(f->extra_refs, 3);
	assert_int_equal(f->gets_held, 3);
	assert_int_equal(find_proc(&s, 100)->gets, 3);
	assert_int_equal(s.files[0].kernel_extra_refs, 3);
	assert_int_equal(s.files[0].unattributed_refs, 0);
	gmem_snapshot_free(&s);
}

static void gets_are_bounded_by_what_the_kernel_still_holds(void **state)
{
	struct gmem_snapshot s;

	snapshot_with_gets(&s, 5, 2); /* three were put since */
	assert_int_equal(find_folio(&s, FOLIO(1))->gets_held, 2);
	assert_int_equal(find_proc(&s, 100)->gets, 2);
	gmem_snapshot_free(&s);
}

static void released_gets_leave_no_holder(void **state)
{
	struct gmem_snapshot s;
	const struct gmem_folio *f;

	/* no scan record: a complete walk found nothing beyond cache+mapping */
	snapshot_with_gets(&s, 4, 0);
	f = find_folio(&s, FOLIO(1));
	assert_int_equal(f->extra_refs, 0);
	assert_int_equal(f->gets_held, 0);
	assert_null(find_proc(&s, 100)); /* holds nothing: not listed */
	gmem_snapshot_free(&s);
}

static void extra_refs_nobody_took_are_unattributed(void **state)
{
	struct gmem_snapshot s;

	snapshot_with_gets(&s, 1, 4);
	assert_int_equal(find_folio(&s, FOLIO(1))->gets_held, 1);
	assert_int_equal(s.files[0].kernel_extra_refs, 4);
	assert_int_equal(s.files[0].unattributed_refs, 3);
	gmem_snapshot_free(&s);
}

/* A page_ref holder: 'refs' references taken by 'tgid' with stack 'stack_id'. */
static void add_holder(struct gmem_snapshot *s, __u64 folio, __u32 tgid, __u32 refs,
		       __s32 stack_id)
{
	struct gmem_ref_holder h = { .tgid = tgid, .pid = tgid, .refs = refs,
				     .stack_id = stack_id };

	assert_int_equal(gmem_snapshot_add_ref_holder(s, folio, &h), 0);
}

/*
 * Holders are shown only as far as the kernel's surplus confirms (a
 * reference may have been dropped by someone else since), and the page
 * cache's or a mapping's own references never count as extra.
 */
static void ref_holders_are_bounded_by_the_surplus_without_cache_and_mapping(void **state)
{
	static const char *const fault[] = { "__page_ref_mod_unless", "filemap_get_entry",
					     "kvm_gmem_fault_user_mapping", "__do_fault" };
	static const char *const splice[] = { "__page_ref_mod_unless", "try_grab_folio_fast",
					      "iov_iter_get_pages2", "vmsplice_to_pipe" };
	static const __u64 offs[4] = {};
	struct gmem_scan_folio k = scan_folio(FOLIO(1), DEV_A, INO_1, 5, 2 + 2, 0);
	struct gmem_scan_end e = scan_end(DEV_A, INO_1, 0, 8, 0, 1, 0);
	struct gmem_snapshot s;
	const struct gmem_folio *f;

	gmem_snapshot_init(&s);
	s.page_ref = true;
	add_record(&s, k);
	add_record(&s, e);
	assert_int_equal(gmem_snapshot_add_stack(&s, 1, fault, offs, 4), 0);
	assert_int_equal(gmem_snapshot_add_stack(&s, 2, splice, offs, 4), 0);
	add_holder(&s, FOLIO(1), 100, 1, 1); /* the mapping's: not extra */
	add_holder(&s, FOLIO(1), 200, 3, 2); /* 3 taken, the kernel holds 2 extra */
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	f = find_folio(&s, FOLIO(1));
	assert_int_equal(f->extra_refs, 2);
	assert_int_equal(f->refs_attributed, 2);
	assert_int_equal(s.ref_holders[0].shown_refs, 0);
	assert_int_equal(s.ref_holders[1].shown_refs, 2);
	assert_int_equal(gmem_folio_unattributed_refs(f), 0);
	assert_int_equal(s.files[0].unattributed_refs, 0);
	gmem_snapshot_free(&s);
}

static void extra_refs_exclude_the_pin_bias(void **state)
{
	struct gmem_scan_folio k = scan_folio(FOLIO(2), DEV_A, INO_1, 0,
					      2 * GMEM_GUP_PIN_COUNTING_BIAS + 2, 2);
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	add_record(&s, k);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_int_equal(find_folio(&s, FOLIO(2))->extra_refs, 0);
	gmem_snapshot_free(&s);
}

static void extra_refs_unknown_without_a_complete_scan(void **state)
{
	struct gmem_folio_pins v = pins_entry(100, "vmm", DEV_A, INO_1, 5, 0);
	struct gmem_scan_end e = scan_end(DEV_A, INO_2, 0, 8, 0, 0, 1);
	struct gmem_snapshot s;

	v.gets = 2;
	gmem_snapshot_init(&s);
	add_tracked(&s, FOLIO(1), v);
	add_record(&s, e); /* another file, truncated: INO_1 never scanned */
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_int_equal(find_folio(&s, FOLIO(1))->extra_refs, -1);
	/* not bounded: what tracking saw, never a misleading zero */
	assert_int_equal(find_folio(&s, FOLIO(1))->gets_held, 2);
	gmem_snapshot_free(&s);
}

/* ---- scale ---- */

#define MANY 100000

/*
 * MANY tracked folios, added from the highest address down: even i belong
 * to process 100 with 1 pin, odd i to process 200 with 2 pins; i < MANY/2
 * are in INO_1 (index i), the rest in INO_2 (index i - MANY/2).  Every
 * tenth folio is also scanned.
 *   process 100: MANY/2 folios, MANY/2 pins
 *   process 200: MANY/2 folios, MANY pins
 *   each file: MANY/2 folios, (MANY/4)*1 + (MANY/4)*2 = 3*MANY/4 pins
 */
static void many_folios_grow_and_aggregate(void **state)
{
	struct gmem_snapshot s;
	const struct gmem_process *p;
	const struct gmem_file *f;
	size_t scanned = 0;

	gmem_snapshot_init(&s);
	for (long i = MANY - 1; i >= 0; i--) {
		__u32 tgid = i % 2 ? 200 : 100;
		__u64 ino = i < MANY / 2 ? INO_1 : INO_2;
		__u64 index = i < MANY / 2 ? (__u64)i : (__u64)i - MANY / 2;
		__u32 pins = i % 2 ? 2 : 1;

		add_tracked(&s, FOLIO(i), pins_entry(tgid, tgid == 100 ? "even" : "odd", DEV_A,
						     ino, index, pins));
		if (i % 10 == 0) {
			struct gmem_scan_folio k =
				scan_folio(FOLIO(i), DEV_A, ino, index, pins * 1024 + 1, pins);

			add_record(&s, k);
		}
	}
	assert_int_equal(s.nr_folios, MANY + MANY / 10);
	assert_int_equal(gmem_snapshot_finish(&s), 0);

	assert_int_equal(s.nr_folios, MANY);
	for (size_t i = 0; i < s.nr_folios; i++) {
		const struct gmem_folio *fo = &s.folios[i];

		/* sorted by (dev, ino, index): INO_1 0..MANY/2-1, then INO_2 */
		assert_true(fo->addr == FOLIO(i));
		assert_true(fo->tracked);
		if (fo->scanned) {
			scanned++;
			assert_true(fo->k.folio == fo->addr);
		}
	}
	assert_int_equal(scanned, MANY / 10);

	assert_int_equal(s.nr_procs, 2);
	p = &s.procs[0];
	assert_int_equal(p->tgid, 200);
	assert_int_equal(p->folios, MANY / 2);
	assert_int_equal(p->pins, MANY);
	p = &s.procs[1];
	assert_int_equal(p->tgid, 100);
	assert_int_equal(p->folios, MANY / 2);
	assert_int_equal(p->pins, MANY / 2);

	assert_int_equal(s.nr_files, 2);
	f = gmem_snapshot_find_file(&s, DEV_A, INO_1);
	assert_non_null(f);
	assert_int_equal(f->tracked_folios, MANY / 2);
	assert_int_equal(f->tracked_pins, 3 * MANY / 4);
	f = gmem_snapshot_find_file(&s, DEV_A, INO_2);
	assert_non_null(f);
	assert_int_equal(f->tracked_folios, MANY / 2);
	assert_int_equal(f->tracked_pins, 3 * MANY / 4);
	gmem_snapshot_free(&s);
}

static void free_leaves_an_empty_snapshot(void **state)
{
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	add_two_processes_two_files(&s);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	gmem_snapshot_free(&s);
	assert_null(s.folios);
	assert_null(s.files);
	assert_null(s.procs);
	assert_int_equal(s.nr_folios + s.nr_files + s.nr_procs, 0);
	gmem_snapshot_free(&s); /* twice is harmless */
}

/* ---- pins taken before tracking began ---- */

/*
 * Folio 1: kernel 3 pins, tracked 1 -> 2 untracked.  Folio 2: kernel 1,
 * tracked 2 (a pin released between scan and read) -> 0, never negative,
 * and it must not hide folio 1's gap.  Folio 3: kernel 4, untracked -> 4.
 */
static void untracked_pins_are_summed_per_folio_never_negative(void **state)
{
	struct gmem_snapshot s;
	struct gmem_scan_folio k1 = scan_folio(FOLIO(1), DEV_A, INO_1, 0, 3 * 1024 + 2, 3);
	struct gmem_scan_folio k2 = scan_folio(FOLIO(2), DEV_A, INO_1, 1, 1024 + 2, 1);
	struct gmem_scan_folio k3 = scan_folio(FOLIO(3), DEV_A, INO_1, 2, 4 * 1024 + 2, 4);
	struct gmem_scan_end end = scan_end(DEV_A, INO_1, 8, 16, 3, 0, 0);
	const struct gmem_file *f;

	gmem_snapshot_init(&s);
	s.tracking = true;
	add_tracked(&s, FOLIO(1), pins_entry(100, "vmm", DEV_A, INO_1, 0, 1));
	add_tracked(&s, FOLIO(2), pins_entry(100, "vmm", DEV_A, INO_1, 1, 2));
	add_record(&s, k1);
	add_record(&s, k2);
	add_record(&s, k3);
	add_record(&s, end);
	assert_int_equal(gmem_snapshot_finish(&s), 0);

	assert_int_equal(gmem_folio_untracked_pins(find_folio(&s, FOLIO(1))), 2);
	assert_int_equal(gmem_folio_untracked_pins(find_folio(&s, FOLIO(2))), 0);
	assert_int_equal(gmem_folio_untracked_pins(find_folio(&s, FOLIO(3))), 4);
	f = gmem_snapshot_find_file(&s, DEV_A, INO_1);
	assert_non_null(f);
	assert_true(f->untracked_pins == 6);
	assert_true(f->tracked_pins == 3);
	assert_true(f->kernel_pins == 8);
	gmem_snapshot_free(&s);
}

/* Without tracking nothing is "untracked": the file field stays 0 and
 * the renderers show null. */
static void untracked_pins_need_tracking(void **state)
{
	struct gmem_snapshot s;
	struct gmem_scan_folio k1 = scan_folio(FOLIO(1), DEV_A, INO_1, 0, 2 * 1024 + 2, 2);
	struct gmem_scan_end end = scan_end(DEV_A, INO_1, 2, 4, 1, 0, 0);

	gmem_snapshot_init(&s);
	add_record(&s, k1);
	add_record(&s, end);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_true(gmem_snapshot_find_file(&s, DEV_A, INO_1)->untracked_pins == 0);
	gmem_snapshot_free(&s);
}

/* ---- sort orders (gmemtop -s) ---- */

/*
 * Three processes, three files, one scanned-only folio:
 *   pid 300 "zed"   file A/1 index 0: 5 pins, first pin at 7000
 *   pid 100 "alpha" file A/2 index 0: 1 pin,  first pin at 2000
 *   pid 200 "mid"   file B/1 index 3: 5 pins, first pin at 4000
 *   scanned only    file A/2 index 9: 2 pins of unknown holder
 *   file A/2 has 3 folios with extra references, the others none
 */
static void add_three_of_everything(struct gmem_snapshot *s)
{
	struct gmem_scan_folio k = scan_folio(FOLIO(9), DEV_A, INO_2, 9, 2 * 1024 + 1, 2);
	struct gmem_scan_end e1 = scan_end(DEV_A, INO_1, 5, 8, 1, 0, 0);
	struct gmem_scan_end e2 = scan_end(DEV_A, INO_2, 3, 8, 2, 3, 0);
	struct gmem_scan_end e3 = scan_end(DEV_B, INO_1, 5, 8, 1, 0, 0);
	struct gmem_scan_file f2 = scan_file(DEV_A, INO_2, 1 << 20, 100, 5, "alpha");
	struct gmem_folio_pins v;

	s->tracking = true;
	v = pins_entry(300, "zed", DEV_A, INO_1, 0, 5);
	v.first_pin_ns = 7000;
	add_tracked(s, FOLIO(1), v);
	v = pins_entry(100, "alpha", DEV_A, INO_2, 0, 1);
	v.first_pin_ns = 2000;
	add_tracked(s, FOLIO(2), v);
	v = pins_entry(200, "mid", DEV_B, INO_1, 3, 5);
	v.first_pin_ns = 4000;
	add_tracked(s, FOLIO(3), v);
	add_record(s, k);
	add_record(s, e1);
	add_record(s, e2);
	add_record(s, e3);
	add_record(s, f2);
}

static void finish_and_sort(struct gmem_snapshot *s, const char *key)
{
	enum gmem_sort k;

	gmem_snapshot_init(s);
	add_three_of_everything(s);
	assert_int_equal(gmem_snapshot_finish(s), 0);
	assert_int_equal(gmem_parse_sort(key, &k), 0);
	gmem_snapshot_sort(s, k);
	assert_string_equal(gmem_sort_name(s->sort), key);
	assert_int_equal(s->nr_procs, 3);
	assert_int_equal(s->nr_files, 3);
	assert_int_equal(s->nr_folios, 4);
}

#define assert_procs(s, a, b, c)                                                    \
	do {                                                                          \
		assert_int_equal((s)->procs[0].tgid, a);                              \
		assert_int_equal((s)->procs[1].tgid, b);                              \
		assert_int_equal((s)->procs[2].tgid, c);                              \
	} while (0)
#define assert_file(s, i, d, n) assert_true((s)->files[i].dev == (d) && (s)->files[i].ino == (n))
#define assert_folios(s, a, b, c, d)                                                \
	do {                                                                          \
		assert_true((s)->folios[0].addr == FOLIO(a));                         \
		assert_true((s)->folios[1].addr == FOLIO(b));                         \
		assert_true((s)->folios[2].addr == FOLIO(c));                         \
		assert_true((s)->folios[3].addr == FOLIO(d));                         \
	} while (0)

static void sort_by_pins_puts_most_pins_first_ties_by_pid_and_position(void **state)
{
	struct gmem_snapshot s;

	finish_and_sort(&s, "pins");
	assert_procs(&s, 200, 300, 100);     /* 5 (lower pid first), 5, 1 */
	assert_file(&s, 0, DEV_A, INO_1);    /* 5 pins, A before B */
	assert_file(&s, 1, DEV_B, INO_1);    /* 5 pins */
	assert_file(&s, 2, DEV_A, INO_2);    /* 1 tracked + 2 untracked */
	assert_folios(&s, 1, 3, 9, 2);       /* 5 (A/1), 5 (B/1), 2 untracked, 1 */
	gmem_snapshot_free(&s);
}

static void sort_by_pid_puts_unknown_holders_last(void **state)
{
	struct gmem_snapshot s;

	finish_and_sort(&s, "pid");
	assert_procs(&s, 100, 200, 300);
	assert_file(&s, 0, DEV_A, INO_2);    /* owner 100 */
	assert_file(&s, 1, DEV_A, INO_1);    /* no owner: by position */
	assert_file(&s, 2, DEV_B, INO_1);
	assert_folios(&s, 2, 3, 1, 9);       /* 100, 200, 300, untracked */
	gmem_snapshot_free(&s);
}

static void sort_by_comm_is_byte_order_with_unknown_last(void **state)
{
	struct gmem_snapshot s;

	finish_and_sort(&s, "comm");
	assert_procs(&s, 100, 200, 300);     /* alpha, mid, zed */
	assert_file(&s, 0, DEV_A, INO_2);    /* owner alpha, then no owner */
	assert_folios(&s, 2, 3, 1, 9);
	gmem_snapshot_free(&s);
}

static void sort_by_age_puts_oldest_first_pin_first(void **state)
{
	struct gmem_snapshot s;

	finish_and_sort(&s, "age");
	assert_procs(&s, 100, 200, 300);     /* 2000, 4000, 7000 */
	assert_file(&s, 0, DEV_A, INO_2);    /* 2000 */
	assert_file(&s, 1, DEV_B, INO_1);    /* 4000 */
	assert_file(&s, 2, DEV_A, INO_1);    /* 7000 */
	assert_folios(&s, 2, 3, 1, 9);       /* the untracked one has no age: last */
	gmem_snapshot_free(&s);
}

static void sort_by_file_orders_files_and_folios_by_position(void **state)
{
	struct gmem_snapshot s;

	finish_and_sort(&s, "file");
	assert_procs(&s, 200, 300, 100);     /* means nothing for processes: pins */
	assert_file(&s, 0, DEV_A, INO_1);
	assert_file(&s, 1, DEV_A, INO_2);
	assert_file(&s, 2, DEV_B, INO_1);
	assert_folios(&s, 1, 2, 9, 3);       /* A/1:0, A/2:0, A/2:9, B/1:3 */
	gmem_snapshot_free(&s);
}

static void sort_by_untracked_and_extra_put_those_files_first(void **state)
{
	struct gmem_snapshot s;

	finish_and_sort(&s, "untracked");
	assert_file(&s, 0, DEV_A, INO_2);
	assert_true(s.folios[0].addr == FOLIO(9));
	gmem_snapshot_free(&s);
	finish_and_sort(&s, "extra");
	assert_file(&s, 0, DEV_A, INO_2);    /* 3 folios with extra references */
	assert_file(&s, 1, DEV_A, INO_1);
	gmem_snapshot_free(&s);
}

static void parse_sort_accepts_every_listed_name_and_nothing_else(void **state)
{
	const char *names[] = { "pins", "pid", "comm", "age", "file", "untracked", "extra" };
	enum gmem_sort k;

	assert_int_equal(sizeof(names) / sizeof(names[0]), GMEM_SORT_NR);
	for (size_t i = 0; i < GMEM_SORT_NR; i++) {
		assert_int_equal(gmem_parse_sort(names[i], &k), 0);
		assert_string_equal(gmem_sort_name(k), names[i]);
		assert_non_null(strstr(gmem_sort_names(), names[i]));
	}
	assert_int_equal(gmem_parse_sort("PINS", &k), -EINVAL);
	assert_int_equal(gmem_parse_sort("pin", &k), -EINVAL);
	assert_int_equal(gmem_parse_sort("", &k), -EINVAL);
	assert_int_equal(gmem_parse_sort(NULL, &k), -EINVAL);
}

static void file_first_pin_is_its_oldest_tracked_pin(void **state)
{
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	add_two_processes_two_files(&s);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_true(gmem_snapshot_find_file(&s, DEV_A, INO_1)->first_pin_ns == 3000);
	assert_true(gmem_snapshot_find_file(&s, DEV_A, INO_2)->first_pin_ns == 4000);
	gmem_snapshot_free(&s);
}

/* ---- cgroup filter (gmemtop -c) ---- */

#define CG_A 4321ULL
#define CG_B 8765ULL

/*
 * pid 100 in CG_A pins file A/1 (2 folios, 3 pins); pid 200 in CG_B pins
 * A/1 (1 folio, 10 pins) and B/1 (1 folio, 4 pins); file A/2 has a folio
 * with 7 pins of unknown holder.  The kernel counts every one.
 */
static void add_two_cgroups(struct gmem_snapshot *s)
{
	struct gmem_scan_folio k = scan_folio(FOLIO(20), DEV_A, INO_2, 0, 7 * 1024 + 1, 7);
	struct gmem_scan_folio k1 = scan_folio(FOLIO(10), DEV_A, INO_1, 0, 1024 + 1, 1);
	struct gmem_scan_end e1 = scan_end(DEV_A, INO_1, 13, 16, 3, 0, 0);
	struct gmem_scan_end e2 = scan_end(DEV_A, INO_2, 7, 16, 1, 0, 0);
	struct gmem_folio_pins v;

	s->tracking = true;
	v = pins_entry(100, "vmm-a", DEV_A, INO_1, 0, 1);
	v.cgroup_id = CG_A;
	add_tracked(s, FOLIO(10), v);
	v = pins_entry(100, "vmm-a", DEV_A, INO_1, 1, 2);
	v.cgroup_id = CG_A;
	add_tracked(s, FOLIO(11), v);
	v = pins_entry(200, "vmm-b", DEV_A, INO_1, 2, 10);
	v.cgroup_id = CG_B;
	add_tracked(s, FOLIO(12), v);
	v = pins_entry(200, "vmm-b", DEV_B, INO_1, 0, 4);
	v.cgroup_id = CG_B;
	add_tracked(s, FOLIO(13), v);
	add_record(s, k);
	add_record(s, k1);
	add_record(s, e1);
	add_record(s, e2);
}

static void cgroup_filter_keeps_only_that_cgroups_folios_and_processes(void **state)
{
	struct gmem_snapshot s;
	const struct gmem_file *f;

	gmem_snapshot_init(&s);
	s.filter.cgroup_id = CG_A;
	add_two_cgroups(&s);
	assert_int_equal(gmem_snapshot_finish(&s), 0);

	assert_int_equal(s.nr_folios, 2);
	assert_non_null(find_folio(&s, FOLIO(10)));
	assert_non_null(find_folio(&s, FOLIO(11)));
	assert_int_equal(find_folio(&s, FOLIO(10))->k.pins, 1); /* the merge kept the kernel view */
	assert_int_equal(s.nr_procs, 1);
	assert_int_equal(s.procs[0].tgid, 100);
	assert_int_equal(s.procs[0].pins, 3);
	/* only the file the cgroup pins; its tracked sums are the cgroup's */
	assert_int_equal(s.nr_files, 1);
	f = gmem_snapshot_find_file(&s, DEV_A, INO_1);
	assert_non_null(f);
	assert_int_equal(f->tracked_folios, 2);
	assert_true(f->tracked_pins == 3);
	/* the kernel's counts stay the whole file's, and the other cgroup's
	 * tracked pins are not mistaken for untracked ones */
	assert_true(f->kernel_pins == 13);
	assert_true(f->untracked_pins == 0);
	gmem_snapshot_free(&s);
}

static void cgroup_filter_keeps_untracked_pins_of_a_shown_file(void **state)
{
	struct gmem_snapshot s;
	struct gmem_folio_pins v = pins_entry(300, "vmm-c", DEV_A, INO_2, 5, 1);

	gmem_snapshot_init(&s);
	s.filter.cgroup_id = CG_A;
	add_two_cgroups(&s);
	v.cgroup_id = CG_A;
	add_tracked(&s, FOLIO(21), v); /* now CG_A pins file A/2 too */
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_int_equal(s.nr_files, 2);
	assert_true(gmem_snapshot_find_file(&s, DEV_A, INO_2)->untracked_pins == 7);
	assert_true(gmem_snapshot_find_file(&s, DEV_A, INO_2)->tracked_pins == 1);
	gmem_snapshot_free(&s);
}

static void cgroup_filter_of_another_cgroup_shows_nothing(void **state)
{
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	s.filter.cgroup_id = 1; /* the root cgroup: nobody here pinned from it */
	add_two_cgroups(&s);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_int_equal(s.nr_folios, 0);
	assert_int_equal(s.nr_procs, 0);
	assert_int_equal(s.nr_files, 0);
	gmem_snapshot_free(&s);
}

static void no_cgroup_filter_shows_every_cgroup(void **state)
{
	struct gmem_snapshot s;

	gmem_snapshot_init(&s);
	add_two_cgroups(&s);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	assert_int_equal(s.nr_folios, 5);
	assert_int_equal(s.nr_procs, 2);
	assert_int_equal(s.nr_files, 3);
	assert_true(gmem_snapshot_find_file(&s, DEV_A, INO_2)->untracked_pins == 7);
	gmem_snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_snapshot_finishes_with_nothing),
		cmocka_unit_test(tracked_folios_are_summed_per_process),
		cmocka_unit_test(tracked_folios_are_summed_per_file),
		cmocka_unit_test(folios_are_sorted_by_file_and_index),
		cmocka_unit_test(folio_tracked_and_scanned_is_merged_once),
		cmocka_unit_test(folio_scanned_before_tracked_is_merged_once),
		cmocka_unit_test(folio_only_scanned_is_kept_but_not_attributed),
		cmocka_unit_test(dead_entry_counts_as_zero_pins),
		cmocka_unit_test(scan_record_shorter_than_header_is_rejected),
		cmocka_unit_test(scan_record_shorter_than_its_type_is_rejected),
		cmocka_unit_test(scan_record_longer_than_its_type_is_rejected),
		cmocka_unit_test(scan_record_with_wrong_version_is_rejected),
		cmocka_unit_test(scan_record_with_unknown_type_is_rejected),
		cmocka_unit_test(scan_record_with_type_of_another_size_is_rejected),
		cmocka_unit_test(scan_record_with_size_field_not_matching_len_is_rejected),
		cmocka_unit_test(bad_records_do_not_disturb_good_ones),
		cmocka_unit_test(scan_file_sets_size_and_keeps_first_owner),
		cmocka_unit_test(scan_end_sets_kernel_counts),
		cmocka_unit_test(scan_end_truncated_marks_file_truncated),
		cmocka_unit_test(scanned_and_tracked_file_is_one_entry),
		cmocka_unit_test(processes_are_sorted_by_pins_descending_then_pid),
		cmocka_unit_test(files_are_sorted_by_dev_then_ino),
		cmocka_unit_test(stats_lost_sums_exactly_the_loss_counters),
		cmocka_unit_test(stats_lost_counts_each_loss_counter_alone),
		cmocka_unit_test(stats_lost_ignores_pins_gets_and_unpins),
		cmocka_unit_test(every_stat_has_a_distinct_name),
		cmocka_unit_test(tracked_comm_with_control_and_non_ascii_bytes_is_sanitized),
		cmocka_unit_test(owner_comm_with_control_bytes_is_sanitized),
		cmocka_unit_test(tracked_comm_without_nul_is_terminated),
		cmocka_unit_test(owner_comm_without_nul_is_terminated),
		cmocka_unit_test(gets_still_held_are_attributed),
		cmocka_unit_test(gets_are_bounded_by_what_the_kernel_still_holds),
		cmocka_unit_test(released_gets_leave_no_holder),
		cmocka_unit_test(extra_refs_nobody_took_are_unattributed),
		cmocka_unit_test(ref_holders_are_bounded_by_the_surplus_without_cache_and_mapping),
		cmocka_unit_test(extra_refs_exclude_the_pin_bias),
		cmocka_unit_test(extra_refs_unknown_without_a_complete_scan),
		cmocka_unit_test(many_folios_grow_and_aggregate),
		cmocka_unit_test(free_leaves_an_empty_snapshot),
		cmocka_unit_test(untracked_pins_are_summed_per_folio_never_negative),
		cmocka_unit_test(untracked_pins_need_tracking),
		cmocka_unit_test(sort_by_pins_puts_most_pins_first_ties_by_pid_and_position),
		cmocka_unit_test(sort_by_pid_puts_unknown_holders_last),
		cmocka_unit_test(sort_by_comm_is_byte_order_with_unknown_last),
		cmocka_unit_test(sort_by_age_puts_oldest_first_pin_first),
		cmocka_unit_test(sort_by_file_orders_files_and_folios_by_position),
		cmocka_unit_test(sort_by_untracked_and_extra_put_those_files_first),
		cmocka_unit_test(parse_sort_accepts_every_listed_name_and_nothing_else),
		cmocka_unit_test(file_first_pin_is_its_oldest_tracked_pin),
		cmocka_unit_test(cgroup_filter_keeps_only_that_cgroups_folios_and_processes),
		cmocka_unit_test(cgroup_filter_keeps_untracked_pins_of_a_shown_file),
		cmocka_unit_test(cgroup_filter_of_another_cgroup_shows_nothing),
		cmocka_unit_test(no_cgroup_filter_shows_every_cgroup),
	};

	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
