// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/lib/checker.c and src/lib/check_report.c: conversions,
 * hole punches and the ends of pins fed in as check_events records, judged
 * the way gmem-check does; the reports rendered from them.  With
 * GMEM_CHECK_SAMPLES=DIR set, every report rendered is also written there,
 * for tests/host/50-check-report-schema.sh to validate against the
 * documented schemas.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/attrib.h"
#include "lib/check_report.h"
#include "lib/checker.h"
#include "lib/model.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KVM 0xffff888200000000ULL
#define SLOT 0xffff888300000000ULL
#define DEV_GMEM 0x00000014U  /* 0:20 */
#define DEV_SHMEM 0x00000001U /* 0:1 */
#define GMEM_INO 2131ULL
#define MEMFD_INO 3ULL
#define FOLIO(n) (0xffffea0004000000ULL + (__u64)(n) * 64)
#define MS 1000000ULL
#define STACK_URING 7

/* gfn [4096, 4096+256): guest_memfd from page 16, memfd from page 10. */
static struct gmem_memslot memslot(void)
{
	struct gmem_memslot m;

	memset(&m, 0, sizeof(m));
	m.kvm = KVM;
	m.base_gfn = 4096;
	m.npages = 256;
	m.gmem_ino = GMEM_INO;
	m.gmem_dev = DEV_GMEM;
	m.gmem_pgoff = 16;
	m.backing_ino = MEMFD_INO;
	m.backing_dev = DEV_SHMEM;
	m.backing_pgoff = 10;
	m.id = 3;
	return m;
}

static void add_conversion(struct gmem_checker *c, __u64 t, __u64 gfn, __u64 n, bool private)
{
	struct gmem_conversion r;

	memset(&r, 0, sizeof(r));
	r.hdr.version = GMEM_ABI_VERSION;
	r.hdr.type = GMEM_EV_CONVERSION;
	r.hdr.size = sizeof(r);
	r.time_ns = t;
	r.kvm = KVM;
	r.slot = SLOT;
	r.start_gfn = gfn;
	r.end_gfn = gfn + n;
	r.attributes = private ? GMEM_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	r.tgid = r.pid = 100;
	strcpy(r.comm, "vmm");
	r.m = memslot();
	assert_int_equal(gmem_checker_add_record(c, &r, sizeof(r)), 0);
}

static void add_file_event(struct gmem_checker *c, __u64 t, __u32 dev, __u64 ino, __u64 start,
			   __u64 n, __u16 what, __u16 flags)
{
	struct gmem_file_range r;

	memset(&r, 0, sizeof(r));
	r.hdr.version = GMEM_ABI_VERSION;
	r.hdr.type = GMEM_EV_FILE_RANGE;
	r.hdr.size = sizeof(r);
	r.time_ns = t;
	r.ino = ino;
	r.dev = dev;
	r.start = start;
	r.end = start + n;
	r.what = what;
	r.flags = flags;
	r.tgid = r.pid = 100;
	strcpy(r.comm, "vmm");
	assert_int_equal(gmem_checker_add_record(c, &r, sizeof(r)), 0);
}

static void add_punch(struct gmem_checker *c, __u64 t, __u64 start, __u64 n)
{
	add_file_event(c, t, DEV_GMEM, GMEM_INO, start, n, GMEM_FILE_PUNCH, 0);
}

static struct gmem_folio_pins holder(__u32 dev, __u64 ino, __u64 index, __u64 first_ns)
{
	struct gmem_folio_pins v;

	memset(&v, 0, sizeof(v));
	v.dev = dev;
	v.ino = ino;
	v.index = index;
	v.first_pin_ns = first_ns;
	v.pins = 1;
	v.tgid = 200;
	v.pid = 201;
	v.flags = GMEM_PIN_F_LONGTERM;
	strcpy(v.comm, "qemu-<&>\"");
	v.stack_id = STACK_URING;
	return v;
}

/* A folio pinned at 'from' and released at 'to' (0: still held). */
static void add_pin(struct gmem_checker *c, int n, __u32 dev, __u64 ino, __u64 index, __u64 from,
		    __u64 to)
{
	struct gmem_folio_pins v = holder(dev, ino, index, from);
	struct gmem_pin_released r;

	v.folio = FOLIO(n);
	if (!to) {
		assert_int_equal(gmem_checker_add_held(c, FOLIO(n), 0, &v), 0);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.hdr.version = GMEM_ABI_VERSION;
	r.hdr.type = GMEM_EV_PIN_RELEASED;
	r.hdr.size = sizeof(r);
	r.time_ns = to;
	r.folio = FOLIO(n);
	r.v = v;
	assert_int_equal(gmem_checker_add_record(c, &r, sizeof(r)), 0);
}

/* A snapshot holding the io_uring stack as STACK_URING. */
static void uring_stack(struct gmem_snapshot *s)
{
	const char *names[] = { "bpf_trampoline_6442545091", "io_pin_pages",
				"io_sqe_buffer_register", "__x64_sys_io_uring_register" };
	const __u64 offs[] = { 0x10, 0x8a, 0xb5, 0x89 };

	gmem_snapshot_init(s);
	assert_int_equal(gmem_snapshot_add_stack(s, STACK_URING, names, offs, 4), 0);
}

static void judge(struct gmem_checker *c, const struct gmem_check_opts *o, struct gmem_snapshot *s)
{
	assert_int_equal(gmem_checker_judge(c, o, s), 0);
}

static void pin_held_across_conversion_of_shared_backing_is_a_violation(void **state)
{
	struct gmem_checker c;
	struct gmem_snapshot s;

	gmem_checker_init(&c);
	uring_stack(&s);
	/* gfns 4100-4103 are memfd pages 14-17; page 15 pinned over the conversion */
	add_pin(&c, 1, DEV_SHMEM, MEMFD_INO, 15, 10 * MS, 30 * MS);
	add_conversion(&c, 20 * MS, 4100, 4, true);
	judge(&c, NULL, &s);
	assert_int_equal(c.nr_violations, 1);
	assert_true(c.violations[0].shared);
	assert_int_equal(c.violations[0].first_gfn, 4101);
	assert_int_equal(c.violations[0].first_index, 15);
	assert_int_equal(c.violations[0].nr_pages, 1);
	assert_int_equal(c.violations[0].held_ns, 10 * MS);
	assert_false(c.violations[0].still_held);
	assert_int_equal(c.violations[0].released_after_ns, 10 * MS);
	assert_string_equal(c.violations[0].api_name, "io_uring");
	assert_int_equal(c.to_private, 1);
	gmem_snapshot_free(&s);
	gmem_checker_free(&c);
}

static void pins_outside_the_range_or_time_are_not_violations(void **state)
{
	struct gmem_checker c;

	gmem_checker_init(&c);
	add_pin(&c, 1, DEV_SHMEM, MEMFD_INO, 13, 10 * MS, 0);      /* gfn 4099: before the range */
	add_pin(&c, 2, DEV_SHMEM, MEMFD_INO, 18, 10 * MS, 0);      /* gfn 4104: after it */
	add_pin(&c, 3, DEV_SHMEM, MEMFD_INO, 14, 10 * MS, 19 * MS); /* released before */
	add_pin(&c, 4, DEV_SHMEM, MEMFD_INO, 14, 21 * MS, 0);      /* pinned after */
	add_pin(&c, 5, DEV_SHMEM, MEMFD_INO + 1, 14, 10 * MS, 0);  /* another file */
	add_pin(&c, 6, DEV_SHMEM, MEMFD_INO, 14, 10 * MS, 20 * MS); /* released at it */
	add_conversion(&c, 20 * MS, 4100, 4, true);
	judge(&c, NULL, NULL);
	assert_int_equal(c.nr_violations, 0);
	gmem_checker_free(&c);
}

static void a_release_read_after_the_end_ends_the_held_episode(void **state)
{
	struct gmem_checker c;

	gmem_checker_init(&c);
	add_conversion(&c, 20 * MS, 4100, 4, true);
	add_pin(&c, 1, DEV_SHMEM, MEMFD_INO, 15, 10 * MS, 0);      /* held in the table */
	add_pin(&c, 1, DEV_SHMEM, MEMFD_INO, 15, 10 * MS, 30 * MS); /* its release, after */
	assert_int_equal(c.nr_episodes, 1);
	judge(&c, NULL, NULL);
	assert_int_equal(c.nr_violations, 1);
	assert_false(c.violations[0].still_held);
	assert_int_equal(c.violations[0].released_after_ns, 10 * MS);
	gmem_checker_free(&c);
}

static void guest_memfd_pages_are_found_through_the_memslot(void **state)
{
	struct gmem_checker c;

	gmem_checker_init(&c);
	/* gfn 4100 is guest_memfd page 20 */
	add_pin(&c, 1, DEV_GMEM, GMEM_INO, 20, 10 * MS, 0);
	add_conversion(&c, 20 * MS, 4100, 1, true);
	judge(&c, NULL, NULL);
	assert_int_equal(c.nr_violations, 1);
	assert_false(c.violations[0].shared);
	assert_true(c.violations[0].still_held);
	assert_int_equal(c.violations[0].first_gfn, 4100);
	assert_string_equal(c.violations[0].api_name, "unknown");
	gmem_checker_free(&c);
}

static void conversion_to_shared_is_no_violation(void **state)
{
	struct gmem_checker c;

	gmem_checker_init(&c);
	add_pin(&c, 1, DEV_SHMEM, MEMFD_INO, 15, 10 * MS, 0);
	add_conversion(&c, 20 * MS, 4100, 4, false);
	judge(&c, NULL, NULL);
	assert_int_equal(c.nr_violations, 0);
	assert_int_equal(c.to_shared, 1);
	gmem_checker_free(&c);
}

static void a_large_folio_is_touched_by_any_of_its_pages(void **state)
{
	struct gmem_checker c;
	struct gmem_folio_pins v = holder(DEV_SHMEM, MEMFD_INO, 0, 10 * MS);

	gmem_checker_init(&c);
	/* a 2 MiB folio at pages 0-511; the conversion covers gfn 4596 = page 510 */
	assert_int_equal(gmem_checker_add_held(&c, FOLIO(1), 9, &v), 0);
	add_conversion(&c, 20 * MS, 4596, 4, true);
	judge(&c, NULL, NULL);
	assert_int_equal(c.nr_violations, 1);
	assert_int_equal(c.violations[0].first_index, 510);
	assert_int_equal(c.violations[0].nr_pages, 2);
	gmem_checker_free(&c);
}

static void hole_punch_through_a_pinned_page_is_a_violation(void **state)
{
	struct gmem_checker c;

	gmem_checker_init(&c);
	add_pin(&c, 1, DEV_GMEM, GMEM_INO, 5, 10 * MS, 40 * MS);
	add_pin(&c, 2, DEV_GMEM, GMEM_INO, 9, 10 * MS, 40 * MS); /* beside the hole */
	add_punch(&c, 20 * MS, 4, 4);
	judge(&c, NULL, NULL);
	assert_int_equal(c.nr_violations, 1);
	assert_int_equal(c.violations[0].first_index, 5);
	assert_int_equal(c.punches, 1);
	gmem_checker_free(&c);
}

static void release_and_backing_punch_and_in_place_conversion(void **state)
{
	struct gmem_checker c;

	gmem_checker_init(&c);
	add_pin(&c, 1, DEV_GMEM, GMEM_INO, 5, 10 * MS, 0);
	add_pin(&c, 2, DEV_SHMEM, MEMFD_INO, 7, 10 * MS, 0);
	/* the guest_memfd released, the memfd's page 7 discarded, guest_memfd
	 * page 5 converted in place: three violations, no gfn for any */
	add_file_event(&c, 20 * MS, DEV_GMEM, GMEM_INO, 0, 512, GMEM_FILE_RELEASE, 0);
	add_file_event(&c, 21 * MS, DEV_SHMEM, MEMFD_INO, 6, 2, GMEM_FILE_PUNCH,
		       GMEM_FILE_F_SHARED_BACKING);
	add_file_event(&c, 22 * MS, DEV_GMEM, GMEM_INO, 5, 1, GMEM_FILE_TO_PRIVATE, 0);
	judge(&c, NULL, NULL);
	assert_int_equal(c.file_releases, 1);
	assert_int_equal(c.punches, 1);
	assert_int_equal(c.to_private, 1);
	assert_int_equal(c.nr_violations, 3);
	assert_int_equal(c.events[c.violations[0].event].kind, GMEM_CHECK_RELEASE);
	assert_false(c.violations[0].shared);
	assert_int_equal(c.events[c.violations[1].event].kind, GMEM_CHECK_PUNCH);
	assert_true(c.violations[1].shared);
	assert_int_equal(c.violations[1].first_index, 7);
	assert_int_equal(c.events[c.violations[2].event].kind, GMEM_CHECK_TO_PRIVATE);
	for (int i = 0; i < 3; i++)
		assert_false(c.violations[i].has_gfn);
	gmem_checker_free(&c);
}

static void grace_period_forgives_a_quick_release_only(void **state)
{
	struct gmem_check_opts o = { .grace_ns = 5 * MS };
	struct gmem_checker c;

	gmem_checker_init(&c);
	add_pin(&c, 1, DEV_SHMEM, MEMFD_INO, 14, 10 * MS, 25 * MS); /* 5 ms after: forgiven */
	add_pin(&c, 2, DEV_SHMEM, MEMFD_INO, 15, 10 * MS, 26 * MS); /* 6 ms after */
	add_pin(&c, 3, DEV_SHMEM, MEMFD_INO, 16, 10 * MS, 0);       /* never released */
	add_conversion(&c, 20 * MS, 4100, 4, true);
	judge(&c, &o, NULL);
	assert_int_equal(c.nr_violations, 2);
	assert_int_equal(c.within_grace, 1);
	gmem_checker_free(&c);
}

static void allow_by_api_comm_or_stack_pattern(void **state)
{
	const char *by_api[] = { "io_uring" }, *by_comm[] = { "qemu-<&>\"" },
		   *by_stack[] = { "io_sqe_buffer_*" }, *other[] = { "vfio", "io_pin", "x*" };
	const char *const *lists[] = { by_api, by_comm, by_stack };
	struct gmem_snapshot s;

	uring_stack(&s);
	for (int i = 0; i < 4; i++) {
		struct gmem_check_opts o = { .allow = i < 3 ? lists[i] : other,
					     .nr_allow = i < 3 ? 1 : 3 };
		struct gmem_checker c;

		gmem_checker_init(&c);
		add_pin(&c, 1, DEV_SHMEM, MEMFD_INO, 15, 10 * MS, 0);
		add_conversion(&c, 20 * MS, 4100, 4, true);
		judge(&c, &o, &s);
		assert_int_equal(c.nr_violations, i < 3 ? 0 : 1);
		assert_int_equal(c.allowed, i < 3 ? 1 : 0);
		gmem_checker_free(&c);
	}
	gmem_snapshot_free(&s);
}

static void memslot_unknown_is_counted_not_guessed(void **state)
{
	struct gmem_checker c;
	struct gmem_conversion r;

	gmem_checker_init(&c);
	memset(&r, 0, sizeof(r));
	r.hdr.version = GMEM_ABI_VERSION;
	r.hdr.type = GMEM_EV_CONVERSION;
	r.hdr.size = sizeof(r);
	r.start_gfn = 1;
	r.end_gfn = 2;
	r.attributes = GMEM_KVM_MEMORY_ATTRIBUTE_PRIVATE;
	assert_int_equal(gmem_checker_add_record(&c, &r, sizeof(r)), 0);
	add_pin(&c, 1, DEV_SHMEM, MEMFD_INO, 1, 0, 0);
	judge(&c, NULL, NULL);
	assert_int_equal(c.unknown_memslots, 1);
	assert_int_equal(c.nr_violations, 0);
	gmem_checker_free(&c);
}

static void pid_filter_keeps_that_process_events_only(void **state)
{
	struct gmem_checker c;

	gmem_checker_init(&c);
	c.filter_tgid = 101;
	add_pin(&c, 1, DEV_SHMEM, MEMFD_INO, 15, 10 * MS, 0);
	add_conversion(&c, 20 * MS, 4100, 4, true); /* by pid 100 */
	add_punch(&c, 20 * MS, 0, 64);
	for (__u32 tgid = 100; tgid <= 101; tgid++) {
		struct gmem_conversion_request q = {
			.hdr = { GMEM_ABI_VERSION, GMEM_EV_CONVERSION_REQUEST, sizeof(q) },
			.start_gfn = 1, .end_gfn = 2, .tgid = tgid,
		};

		assert_int_equal(gmem_checker_add_record(&c, &q, sizeof(q)), 0);
	}
	judge(&c, NULL, NULL);
	assert_int_equal(c.requests, 1);
	assert_int_equal(c.nr_events, 0);
	assert_int_equal(c.others, 2);
	assert_int_equal(c.nr_violations, 0);
	gmem_checker_free(&c);
}

static void malformed_records_are_counted_not_added(void **state)
{
	struct gmem_checker c;
	struct gmem_conversion r;
	char tiny[4] = {};

	gmem_checker_init(&c);
	memset(&r, 0, sizeof(r));
	r.hdr.version = GMEM_ABI_VERSION;
	r.hdr.type = GMEM_EV_CONVERSION;
	r.hdr.size = sizeof(r);
	/* empty range */
	assert_int_equal(gmem_checker_add_record(&c, &r, sizeof(r)), -EINVAL);
	r.end_gfn = 1;
	r.hdr.version = 99;
	assert_int_equal(gmem_checker_add_record(&c, &r, sizeof(r)), -EINVAL);
	r.hdr.version = GMEM_ABI_VERSION;
	assert_int_equal(gmem_checker_add_record(&c, &r, sizeof(r) - 8), -EINVAL);
	r.hdr.type = 42;
	assert_int_equal(gmem_checker_add_record(&c, &r, sizeof(r)), -EINVAL);
	assert_int_equal(gmem_checker_add_record(&c, tiny, sizeof(tiny)), -EINVAL);
	{
		struct gmem_file_range f = { .hdr = { GMEM_ABI_VERSION, GMEM_EV_FILE_RANGE,
						      sizeof(f) },
					     .end = 1, .what = 9 };

		assert_int_equal(gmem_checker_add_record(&c, &f, sizeof(f)), -EINVAL);
	}
	assert_int_equal(c.bad_records, 6);
	assert_int_equal(c.nr_events, 0);
	gmem_checker_free(&c);
}

/* Render 'r' in every format; write them to GMEM_CHECK_SAMPLES/NAME.* if set. */
static void render_all(const struct gmem_check_run *r, const char *name, char **text,
		       char **json, char **xml)
{
	const char *dir = getenv("GMEM_CHECK_SAMPLES");
	char *bufs[3] = {};
	size_t lens[3];
	FILE *f;

	f = open_memstream(&bufs[0], &lens[0]);
	gmem_check_report_text(f, r);
	fclose(f);
	f = open_memstream(&bufs[1], &lens[1]);
	assert_int_equal(gmem_check_report_json(f, r), 0);
	fclose(f);
	f = open_memstream(&bufs[2], &lens[2]);
	assert_int_equal(gmem_check_report_junit(f, r), 0);
	fclose(f);
	if (dir) {
		const char *ext[] = { "txt", "json", "xml" };

		for (int i = 0; i < 3; i++) {
			char path[512];
			FILE *out;

			snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext[i]);
			out = fopen(path, "w");
			assert_non_null(out);
			fputs(bufs[i], out);
			fclose(out);
		}
	}
	*text = bufs[0];
	*json = bufs[1];
	*xml = bufs[2];
}

static void report_of_a_violation_names_everything(void **state)
{
	char *argv[] = { "sh", "-c", "vmm <&>" }, *text, *json, *xml;
	const char *allow[] = { "vfio" };
	struct gmem_check_opts o = { .allow = allow, .nr_allow = 1 };
	struct gmem_check_run r = { .kernel = "7.3.4", .argv = argv, .argc = 3, .cmd_ran = true,
				    .start_ns = 5 * MS,
				    .conversions_watched = true, .punches_watched = true,
				    .opts = &o };
	struct gmem_checker c;
	struct gmem_snapshot s;
	struct json_object *j, *v, *x;

	gmem_checker_init(&c);
	uring_stack(&s);
	for (int i = 0; i < 4; i++)
		add_pin(&c, i, DEV_SHMEM, MEMFD_INO, 14 + i, 10 * MS, i == 3 ? 0 : 30 * MS);
	add_pin(&c, 9, DEV_GMEM, GMEM_INO, 5, 10 * MS, 0);
	add_conversion(&c, 20 * MS, 4100, 4, true);
	add_punch(&c, 25 * MS, 4, 4);
	add_file_event(&c, 27 * MS, DEV_GMEM, GMEM_INO, 0, 64, GMEM_FILE_RELEASE, 0);
	judge(&c, &o, &s);
	assert_int_equal(c.nr_violations, 6);
	r.c = &c;
	r.stacks = &s;
	r.result = GMEM_CHECK_VIOLATION;
	render_all(&r, "violation", &text, &json, &xml);

	/* text: three pages released alike read as one run, then the held one */
	assert_non_null(strstr(text, "gmem-check: violation: 6 pinned folios"));
	assert_non_null(strstr(text, "file_release at +0.022s by vmm (pid 100): guest_memfd 0:20 ino 2131 pages 5-5"));
	assert_non_null(strstr(text, "gfn 0x1004-0x1006 (shared_backing, pages 14-16)"));
	assert_non_null(strstr(text, "3 folios (first 0x"));
	assert_non_null(strstr(text, "via io_uring, pinned 10 ms before, released: 10 ms after it"));
	assert_non_null(strstr(text, "gfn 0x1007-0x1007"));
	assert_non_null(strstr(text, "still held at the end"));
	assert_non_null(strstr(text, "punch_hole at +0.020s by vmm (pid 100): guest_memfd 0:20 ino 2131 pages 5-5"));
	assert_non_null(strstr(text, "to_private at +0.015s by vmm (pid 100): vm 0xffff888200000000 memslot 3"));
	assert_non_null(strstr(text, "      io_sqe_buffer_register+0xb5\n"));
	assert_null(strstr(text, "bpf_trampoline"));

	j = json_tokener_parse(json);
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "violations", &v));
	assert_int_equal(json_object_array_length(v), 6);
	x = json_object_array_get_idx(v, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(x, "memory")),
			    "shared_backing");
	assert_int_equal(json_object_get_int64(json_object_object_get(x, "first_gfn")), 4100);
	assert_string_equal(json_object_get_string(json_object_object_get(
				    json_object_object_get(x, "holder"), "api")), "io_uring");
	assert_string_equal(json_object_get_string(json_object_object_get(
				    json_object_object_get(x, "holder"), "comm")), "qemu-<&>\"");
	assert_int_equal(json_object_array_length(json_object_object_get(
				 json_object_object_get(x, "holder"), "stack")), 3);
	assert_int_equal(json_object_get_int64(json_object_object_get(j, "exit_code")), 1);
	json_object_put(j);

	assert_non_null(strstr(xml, "failures=\"2\" errors=\"0\" skipped=\"0\""));
	assert_non_null(strstr(xml, "<failure type=\"violation\" message=\"4 pinned folios\">"));
	assert_non_null(strstr(xml, "value=\"sh -c vmm &lt;&amp;&gt;\""));
	assert_non_null(strstr(xml, "qemu-&lt;&amp;&gt;&quot;"));
	free(text);
	free(json);
	free(xml);
	gmem_snapshot_free(&s);
	gmem_checker_free(&c);
}

static void reports_of_pass_inconclusive_and_skipped(void **state)
{
	const enum gmem_check_result results[] = { GMEM_CHECK_PASS, GMEM_CHECK_INCONCLUSIVE,
						   GMEM_CHECK_SKIPPED };
	const char *names[] = { "pass", "inconclusive", "skipped" };

	for (int i = 0; i < 3; i++) {
		struct gmem_check_run r = { .kernel = "6.12.1", .pid = i == 1 ? 42 : 0,
					    .result = results[i] };
		char *argv[] = { "true" }, *text, *json, *xml;
		struct gmem_checker c;
		struct json_object *j;

		gmem_checker_init(&c);
		if (!r.pid) {
			r.argv = argv;
			r.argc = 1;
		}
		r.c = &c;
		r.punches_watched = i < 2;
		r.conversions_missing = "KVM offers no VM type with private memory here";
		r.punches_missing = i == 2 ? "no guest_memfd" : NULL;
		if (i == 1) {
			r.lost = 3;
			gmem_check_add_reason(&r, "events were lost");
		}
		if (i == 2)
			gmem_check_add_reason(&r, "nothing to check on this kernel");
		render_all(&r, names[i], &text, &json, &xml);
		j = json_tokener_parse(json);
		assert_non_null(j);
		assert_string_equal(json_object_get_string(json_object_object_get(j, "result")),
				    names[i]);
		assert_int_equal(json_object_get_int64(json_object_object_get(j, "exit_code")),
				 results[i]);
		json_object_put(j);
		assert_non_null(strstr(text, names[i]));
		if (i == 0)
			assert_non_null(strstr(xml, "failures=\"0\" errors=\"0\" skipped=\"1\""));
		if (i == 1)
			assert_non_null(strstr(xml, "<error type=\"inconclusive\" message=\"events were lost\"/>"));
		if (i == 2)
			assert_non_null(strstr(xml, "skipped=\"2\""));
		free(text);
		free(json);
		free(xml);
		gmem_checker_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pin_held_across_conversion_of_shared_backing_is_a_violation),
		cmocka_unit_test(pins_outside_the_range_or_time_are_not_violations),
		cmocka_unit_test(a_release_read_after_the_end_ends_the_held_episode),
		cmocka_unit_test(guest_memfd_pages_are_found_through_the_memslot),
		cmocka_unit_test(conversion_to_shared_is_no_violation),
		cmocka_unit_test(a_large_folio_is_touched_by_any_of_its_pages),
		cmocka_unit_test(hole_punch_through_a_pinned_page_is_a_violation),
		cmocka_unit_test(release_and_backing_punch_and_in_place_conversion),
		cmocka_unit_test(grace_period_forgives_a_quick_release_only),
		cmocka_unit_test(allow_by_api_comm_or_stack_pattern),
		cmocka_unit_test(memslot_unknown_is_counted_not_guessed),
		cmocka_unit_test(pid_filter_keeps_that_process_events_only),
		cmocka_unit_test(malformed_records_are_counted_not_added),
		cmocka_unit_test(report_of_a_violation_names_everything),
		cmocka_unit_test(reports_of_pass_inconclusive_and_skipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
