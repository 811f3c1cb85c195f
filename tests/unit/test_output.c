// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/lib/output.c: snapshots built by hand, rendered to a
 * memory stream; JSON is parsed back with json-c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/attrib.h"
#include "lib/output.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixtures ---- */

/*
 * One process, two files (one scanned, one not), two folios (one tracked
 * and scanned, one scanned only).  The arrays are the snapshot's own:
 * nothing here goes through gmem_snapshot_finish().
 */
struct fixture {
	struct gmem_snapshot s;
	struct gmem_process procs[1];
	struct gmem_file files[2];
	struct gmem_folio folios[2];
};

#define DEV_253_7 ((253U << 20) | 7U)
#define DEV_0_13 13U

static void fixture_init(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->s.time_ns = 10ULL * 1000000000;
	fx->s.realtime_ns = 1700000000ULL * 1000000000;
	fx->s.tracking = true;
	fx->s.scanned = true;

	fx->procs[0].tgid = 4242;
	strcpy(fx->procs[0].comm, "qemu-system-x86");
	fx->procs[0].folios = 1;
	fx->procs[0].pins = 3;
	fx->procs[0].gets = 1;
	fx->procs[0].first_pin_ns = 8ULL * 1000000000; /* 2 s before time_ns */
	fx->procs[0].longterm = true;

	/* files by dev then ino */
	fx->files[0].dev = DEV_0_13;
	fx->files[0].ino = 77;
	fx->files[0].size = 1ULL << 21;
	fx->files[1].dev = DEV_253_7;
	fx->files[1].ino = 1238;
	fx->files[1].size = 8ULL << 20;
	fx->files[1].owner_tgid = 4242;
	fx->files[1].owner_fd = 6;
	strcpy(fx->files[1].owner_comm, "qemu-system-x86");
	fx->files[1].scanned = true;
	fx->files[1].tracked_folios = 1;
	fx->files[1].tracked_pins = 3;
	fx->files[1].kernel_folios = 2048;
	fx->files[1].kernel_pinned_folios = 2;
	fx->files[1].kernel_pins = 4;
	fx->files[1].kernel_extra_ref_folios = 1;

	fx->folios[0].addr = 0xffffea0000a1b2c0ULL;
	fx->folios[0].dev = DEV_253_7;
	fx->folios[0].ino = 1238;
	fx->folios[0].index = 7;
	fx->folios[0].tracked = true;
	fx->folios[0].t.pins = 3;
	fx->folios[0].t.gets = 1;
	fx->folios[0].t.tgid = 4242;
	fx->folios[0].t.pid = 4243;
	fx->folios[0].t.flags = GMEM_PIN_F_LONGTERM;
	fx->folios[0].t.first_pin_ns = 8ULL * 1000000000;
	strcpy(fx->folios[0].t.comm, "qemu-system-x86");
	fx->folios[0].scanned = true;
	fx->folios[0].k.refcount = 3 * 1024 + 2;
	fx->folios[0].k.mapcount = 1;
	fx->folios[0].k.pins = 3;

	fx->folios[1].addr = 0x1234; /* exercises the zero padding */
	fx->folios[1].dev = DEV_253_7;
	fx->folios[1].ino = 1238;
	fx->folios[1].index = 9;
	fx->folios[1].scanned = true;
	fx->folios[1].k.refcount = 1024 + 1;
	fx->folios[1].k.mapcount = 0;
	fx->folios[1].k.pins = 1;
	fx->folios[1].k.order = 2;

	fx->s.procs = fx->procs;
	fx->s.nr_procs = fx->s.cap_procs = 1;
	fx->s.files = fx->files;
	fx->s.nr_files = fx->s.cap_files = 2;
	fx->s.folios = fx->folios;
	fx->s.nr_folios = fx->s.cap_folios = 2;
}

/* Render into a string the caller frees. */
static char *render(const struct gmem_snapshot *s, enum gmem_format fmt, int rows)
{
	struct gmem_render_opts o = { .fmt = fmt, .rows = rows, .folios = true,
				      .kernel = "6.99.0-test" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(gmem_render_snapshot(f, s, &o), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	return buf;
}

/* Render as JSON, check it is one line, parse it back. */
static struct json_object *render_json(const struct gmem_snapshot *s)
{
	char *text = render(s, GMEM_FMT_JSON, 0);
	size_t len = strlen(text);
	struct json_object *root;

	assert_true(len > 1);
	assert_int_equal(text[len - 1], '\n');
	assert_null(memchr(text, '\n', len - 1)); /* JSON lines: one per snapshot */
	root = json_tokener_parse(text);
	free(text);
	assert_non_null(root);
	assert_true(json_object_is_type(root, json_type_object));
	return root;
}

/* The member 'key' of 'o', which must exist (its value may be null). */
static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, key, &v));
	return v;
}

static struct json_object *elem(struct json_object *arr, size_t i)
{
	assert_true(json_object_is_type(arr, json_type_array));
	assert_true(i < json_object_array_length(arr));
	return json_object_array_get_idx(arr, i);
}

static const char *str_member(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static int64_t int_member(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

static bool bool_member(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	assert_true(json_object_is_type(v, json_type_boolean));
	return json_object_get_boolean(v);
}

/* ---- JSON ---- */

static void json_has_version_1_and_snapshot_fields(void **state)
{
	struct fixture fx;
	struct json_object *root;

	fixture_init(&fx);
	root = render_json(&fx.s);
	assert_int_equal(int_member(root, "version"), 1);
	assert_true(int_member(root, "time_ns") == 1700000000LL * 1000000000);
	assert_string_equal(str_member(root, "kernel"), "6.99.0-test");
	assert_true(bool_member(root, "tracking"));
	assert_true(bool_member(root, "scanned"));
	json_object_put(root);
}

static void json_is_complete_when_nothing_was_lost(void **state)
{
	struct fixture fx;
	struct json_object *root;

	fixture_init(&fx);
	/* counters that are not losses */
	fx.s.stats.v[GMEM_STAT_PIN] = 10;
	fx.s.stats.v[GMEM_STAT_GET] = 2;
	fx.s.stats.v[GMEM_STAT_UNPIN] = 7;
	fx.s.stats.v[GMEM_STAT_UNPIN_UNKNOWN] = 5;
	/* skipped unpins whose pins were recovered from the kernel's counts */
	fx.s.stats.v[GMEM_STAT_UNPIN_RUNS_MISSED] = 4;
	fx.s.stats.v[GMEM_STAT_UNPIN_RECOVERED] = 3;
	root = render_json(&fx.s);
	assert_true(bool_member(root, "complete"));
	assert_int_equal(int_member(member(root, "stats"), "lost"), 0);
	assert_int_equal(int_member(member(root, "stats"), "unpin_runs_missed"), 4);
	assert_int_equal(int_member(member(root, "stats"), "unpins_recovered"), 3);
	json_object_put(root);
}

static void json_is_incomplete_when_any_loss_counter_is_set(void **state)
{
	static const struct {
		enum gmem_stat stat;
		const char *name;
	} loss[] = {
		{ GMEM_STAT_MAP_FULL, "lost_map_full" },
		{ GMEM_STAT_RACE_LOST, "lost_race" },
		{ GMEM_STAT_SCAN_DROPPED, "scan_dropped" },
		{ GMEM_STAT_SCAN_TRUNCATED, "scan_truncated" },
		{ GMEM_STAT_UNPIN_TRUNCATED, "lost_unpin_truncated" },
		{ GMEM_STAT_RECURSION_MISSED, "lost_recursion" },
	};

	for (size_t i = 0; i < sizeof(loss) / sizeof(loss[0]); i++) {
		struct fixture fx;
		struct json_object *root, *stats;

		fixture_init(&fx);
		fx.s.stats.v[loss[i].stat] = 3;
		root = render_json(&fx.s);
		assert_false(bool_member(root, "complete"));
		stats = member(root, "stats");
		assert_int_equal(int_member(stats, loss[i].name), 3);
		assert_int_equal(int_member(stats, "lost"), 3);
		json_object_put(root);
	}
}

static void json_is_incomplete_when_scan_records_were_rejected(void **state)
{
	struct fixture fx;
	struct json_object *root;

	fixture_init(&fx);
	fx.s.bad_records = 1;
	root = render_json(&fx.s);
	assert_false(bool_member(root, "complete"));
	json_object_put(root);
}

static void json_file_tracked_is_null_when_not_tracking(void **state)
{
	struct fixture fx;
	struct json_object *root, *files;

	fixture_init(&fx);
	fx.s.tracking = false;
	root = render_json(&fx.s);
	assert_false(bool_member(root, "tracking"));
	files = member(root, "files");
	assert_int_equal(json_object_array_length(files), 2);
	assert_null(member(elem(files, 0), "tracked"));
	assert_null(member(elem(files, 1), "tracked"));
	json_object_put(root);
}

static void json_file_tracked_has_counts_when_tracking(void **state)
{
	struct fixture fx;
	struct json_object *root, *t;

	fixture_init(&fx);
	root = render_json(&fx.s);
	t = member(elem(member(root, "files"), 1), "tracked");
	assert_true(json_object_is_type(t, json_type_object));
	assert_int_equal(int_member(t, "pinned_folios"), 1);
	assert_int_equal(int_member(t, "pins"), 3);
	/* a tracked file with nothing pinned shows zeros, not null */
	t = member(elem(member(root, "files"), 0), "tracked");
	assert_true(json_object_is_type(t, json_type_object));
	assert_int_equal(int_member(t, "pins"), 0);
	json_object_put(root);
}

static void json_file_kernel_is_null_when_not_scanned(void **state)
{
	struct fixture fx;
	struct json_object *root, *f0;

	fixture_init(&fx);
	root = render_json(&fx.s);
	f0 = elem(member(root, "files"), 0);
	assert_int_equal(int_member(f0, "ino"), 77);
	assert_null(member(f0, "kernel"));
	assert_null(member(f0, "owner"));
	json_object_put(root);
}

static void json_file_kernel_has_counts_when_scanned(void **state)
{
	struct fixture fx;
	struct json_object *root, *f1, *k, *own;

	fixture_init(&fx);
	root = render_json(&fx.s);
	f1 = elem(member(root, "files"), 1);
	assert_int_equal(int_member(f1, "ino"), 1238);
	assert_int_equal(int_member(f1, "size"), 8 << 20);
	k = member(f1, "kernel");
	assert_true(json_object_is_type(k, json_type_object));
	assert_int_equal(int_member(k, "folios"), 2048);
	assert_int_equal(int_member(k, "pinned_folios"), 2);
	assert_int_equal(int_member(k, "pins"), 4);
	assert_int_equal(int_member(k, "extra_ref_folios"), 1);
	assert_true(bool_member(k, "complete"));
	own = member(f1, "owner");
	assert_int_equal(int_member(own, "pid"), 4242);
	assert_int_equal(int_member(own, "fd"), 6);
	assert_string_equal(str_member(own, "comm"), "qemu-system-x86");
	json_object_put(root);
}

static void json_file_kernel_is_incomplete_when_walk_truncated(void **state)
{
	struct fixture fx;
	struct json_object *root;

	fixture_init(&fx);
	fx.files[1].truncated = true;
	root = render_json(&fx.s);
	assert_false(bool_member(member(elem(member(root, "files"), 1), "kernel"), "complete"));
	json_object_put(root);
}

static void json_dev_is_major_colon_minor(void **state)
{
	struct fixture fx;
	struct json_object *root, *files, *folios;

	fixture_init(&fx);
	/* the largest major (12 bits) and minor (20 bits) */
	fx.files[0].dev = 0xffffffffU;
	root = render_json(&fx.s);
	files = member(root, "files");
	folios = member(root, "folios");
	assert_string_equal(str_member(elem(files, 0), "dev"), "4095:1048575");
	assert_string_equal(str_member(elem(files, 1), "dev"), "253:7");
	assert_string_equal(str_member(elem(folios, 0), "dev"), "253:7");
	json_object_put(root);

	fixture_init(&fx);
	root = render_json(&fx.s);
	assert_string_equal(str_member(elem(member(root, "files"), 0), "dev"), "0:13");
	json_object_put(root);
}

static void json_folio_address_is_zero_padded_hex(void **state)
{
	struct fixture fx;
	struct json_object *root, *folios;

	fixture_init(&fx);
	root = render_json(&fx.s);
	folios = member(root, "folios");
	assert_int_equal(json_object_array_length(folios), 2);
	assert_string_equal(str_member(elem(folios, 0), "folio"), "0xffffea0000a1b2c0");
	assert_string_equal(str_member(elem(folios, 1), "folio"), "0x0000000000001234");
	json_object_put(root);
}

static void json_folio_has_tracked_and_kernel_views(void **state)
{
	struct fixture fx;
	struct json_object *root, *f0, *f1, *t, *k;

	fixture_init(&fx);
	root = render_json(&fx.s);
	f0 = elem(member(root, "folios"), 0);
	assert_int_equal(int_member(f0, "index"), 7);
	t = member(f0, "tracked");
	assert_int_equal(int_member(t, "pins"), 3);
	/* taken once, but the kernel holds nothing beyond cache, mapping, pins */
	assert_int_equal(int_member(t, "gets"), 0);
	assert_int_equal(int_member(t, "gets_taken"), 1);
	assert_int_equal(int_member(t, "pid"), 4242);
	assert_int_equal(int_member(t, "tid"), 4243);
	assert_true(bool_member(t, "longterm"));
	assert_int_equal(int_member(t, "first_pin_age_ms"), 2000);
	k = member(f0, "kernel");
	assert_int_equal(int_member(k, "refcount"), 3074);
	assert_int_equal(int_member(k, "mapcount"), 1);
	assert_int_equal(int_member(k, "pins"), 3);
	assert_int_equal(int_member(k, "order"), 0);

	f1 = elem(member(root, "folios"), 1);
	assert_null(member(f1, "tracked"));
	assert_int_equal(int_member(member(f1, "kernel"), "order"), 2);
	json_object_put(root);
}

static void json_folio_with_dead_entry_shows_zero_pins(void **state)
{
	struct fixture fx;
	struct json_object *root;

	fixture_init(&fx);
	fx.folios[0].t.pins = GMEM_PINS_DEAD;
	root = render_json(&fx.s);
	assert_int_equal(int_member(member(elem(member(root, "folios"), 0), "tracked"), "pins"),
			 0);
	json_object_put(root);
}

static void json_process_fields_round_trip(void **state)
{
	struct fixture fx;
	struct json_object *root, *p;

	fixture_init(&fx);
	root = render_json(&fx.s);
	assert_int_equal(json_object_array_length(member(root, "processes")), 1);
	p = elem(member(root, "processes"), 0);
	assert_int_equal(int_member(p, "pid"), 4242);
	assert_string_equal(str_member(p, "comm"), "qemu-system-x86");
	assert_int_equal(int_member(p, "pinned_folios"), 1);
	assert_int_equal(int_member(p, "pins"), 3);
	assert_int_equal(int_member(p, "gets"), 1);
	assert_true(bool_member(p, "longterm"));
	assert_int_equal(int_member(p, "first_pin_age_ms"), 2000);
	json_object_put(root);
}

static void json_comm_with_quote_and_backslash_round_trips(void **state)
{
	static const char nasty[] = "a\"b\\c\",\"x\":{";
	struct fixture fx;
	struct json_object *root;

	fixture_init(&fx);
	strcpy(fx.procs[0].comm, nasty);
	strcpy(fx.files[1].owner_comm, nasty);
	strcpy(fx.folios[0].t.comm, nasty);
	root = render_json(&fx.s); /* fails if the output is not valid JSON */
	assert_string_equal(str_member(elem(member(root, "processes"), 0), "comm"), nasty);
	assert_string_equal(str_member(member(elem(member(root, "files"), 1), "owner"), "comm"),
			    nasty);
	assert_string_equal(str_member(member(elem(member(root, "folios"), 0), "tracked"), "comm"),
			    nasty);
	json_object_put(root);
}

static void json_comm_from_model_keeps_quote_and_backslash(void **state)
{
	/* through the model: the sanitizer must leave " and \ to the encoder */
	struct gmem_folio_pins v;
	struct gmem_snapshot s;
	struct json_object *root;

	memset(&v, 0, sizeof(v));
	v.dev = DEV_0_13;
	v.ino = 5;
	v.pins = 1;
	v.tgid = 9;
	memcpy(v.comm, "q\"\\\x01", 4);
	gmem_snapshot_init(&s);
	s.tracking = true;
	assert_int_equal(gmem_snapshot_add_tracked(&s, 0xffffea0000000040ULL, &v), 0);
	assert_int_equal(gmem_snapshot_finish(&s), 0);
	root = render_json(&s);
	assert_string_equal(str_member(elem(member(root, "processes"), 0), "comm"), "q\"\\?");
	json_object_put(root);
	gmem_snapshot_free(&s);
}

static void json_of_empty_snapshot_has_empty_arrays(void **state)
{
	struct gmem_snapshot s;
	struct json_object *root;

	gmem_snapshot_init(&s);
	root = render_json(&s);
	assert_int_equal(json_object_array_length(member(root, "processes")), 0);
	assert_int_equal(json_object_array_length(member(root, "files")), 0);
	assert_int_equal(json_object_array_length(member(root, "folios")), 0);
	assert_int_equal(json_object_array_length(member(root, "released_pins")), 0);
	assert_true(bool_member(root, "complete"));
	json_object_put(root);
}

/* A pin taken and released between two snapshots (KVM's own map of a
 * guest page): its last holder, API and stack; -c applies to it. */
static void json_released_pin_shows_last_holder_and_follows_cgroup_filter(void **state)
{
	const char *names[] = { "try_grab_folio_fast", "pin_user_pages_fast", "hva_to_pfn",
				"__kvm_vcpu_map", "vmload_vmsave_interception" };
	const __u64 offs[] = { 0x10, 0x20, 0x30, 0x40, 0x50 };
	struct gmem_folio_pins v = { .ino = 8, .index = 10, .dev = (0u << 20) | 1, .tgid = 391,
				     .pid = 392, .comm = "gmem-vmm", .cgroup_id = 77,
				     .stack_id = 5, .first_pin_ns = 1000000000ull,
				     .last_pin_ns = 1500000000ull };
	struct gmem_snapshot s;
	struct json_object *root, *r, *st;

	gmem_snapshot_init(&s);
	s.time_ns = 2000000000ull;
	assert_int_equal(gmem_snapshot_add_stack(&s, 5, names, offs, 5), 0);
	assert_int_equal(gmem_snapshot_add_released(&s, 0xffff888001234000ull, &v), 0);
	root = render_json(&s);
	assert_int_equal(json_object_array_length(member(root, "released_pins")), 1);
	r = elem(member(root, "released_pins"), 0);
	assert_string_equal(str_member(r, "folio"), "0xffff888001234000");
	assert_string_equal(str_member(r, "dev"), "0:1");
	assert_int_equal(int_member(r, "ino"), 8);
	assert_int_equal(int_member(r, "index"), 10);
	assert_int_equal(int_member(r, "pid"), 391);
	assert_int_equal(int_member(r, "tid"), 392);
	assert_string_equal(str_member(r, "comm"), "gmem-vmm");
	assert_int_equal(int_member(r, "first_pin_age_ms"), 1000);
	assert_int_equal(int_member(r, "last_pin_age_ms"), 500);
	assert_string_equal(str_member(r, "api"), "kvm-vcpu-map");
	st = member(r, "stack");
	assert_int_equal(json_object_array_length(st), 5);
	assert_string_equal(json_object_get_string(elem(st, 3)), "__kvm_vcpu_map+0x40");
	/* folios and the released list are separate: nothing is held */
	assert_int_equal(json_object_array_length(member(root, "folios")), 0);
	json_object_put(root);

	s.filter.cgroup_id = 78;
	root = render_json(&s);
	assert_int_equal(json_object_array_length(member(root, "released_pins")), 0);
	json_object_put(root);
	gmem_snapshot_free(&s);
}

static void json_rows_limit_applies_to_processes_and_files(void **state)
{
	struct fixture fx;
	struct json_object *root;
	char *text;

	fixture_init(&fx);
	text = render(&fx.s, GMEM_FMT_JSON, 1);
	root = json_tokener_parse(text);
	free(text);
	assert_non_null(root);
	assert_int_equal(json_object_array_length(member(root, "processes")), 1);
	assert_int_equal(json_object_array_length(member(root, "files")), 1);
	json_object_put(root);
}

/* ---- table ---- */

static void table_has_section_headings(void **state)
{
	struct fixture fx;
	char *text;

	fixture_init(&fx);
	text = render(&fx.s, GMEM_FMT_TABLE, 0);
	assert_non_null(strstr(text, "\nPROCESSES\n"));
	assert_non_null(strstr(text, "\nGUEST_MEMFD FILES\n"));
	assert_non_null(strstr(text, "\nFOLIOS\n"));
	assert_non_null(strstr(text, "qemu-system-x86"));
	assert_non_null(strstr(text, "253:7"));
	assert_non_null(strstr(text, "0xffffea0000a1b2c0"));
	free(text);
}

static void table_is_not_marked_incomplete_without_losses(void **state)
{
	struct fixture fx;
	char *text;

	fixture_init(&fx);
	fx.s.stats.v[GMEM_STAT_PIN] = 10;
	fx.s.stats.v[GMEM_STAT_UNPIN] = 4;
	text = render(&fx.s, GMEM_FMT_TABLE, 0);
	assert_null(strstr(text, "INCOMPLETE"));
	assert_non_null(strstr(text, "lost 0"));
	free(text);
}

static void table_is_marked_incomplete_when_events_were_lost(void **state)
{
	struct fixture fx;
	char *text;

	fixture_init(&fx);
	fx.s.stats.v[GMEM_STAT_MAP_FULL] = 2;
	fx.s.stats.v[GMEM_STAT_SCAN_DROPPED] = 5;
	text = render(&fx.s, GMEM_FMT_TABLE, 0);
	assert_non_null(strstr(text, "INCOMPLETE"));
	assert_non_null(strstr(text, "lost 7"));
	free(text);
}

static void table_of_empty_snapshot_says_so(void **state)
{
	struct gmem_snapshot s;
	char *text;

	gmem_snapshot_init(&s);
	text = render(&s, GMEM_FMT_TABLE, 0);
	assert_non_null(strstr(text, "PROCESSES"));
	assert_non_null(strstr(text, "(no pins tracked)"));
	assert_non_null(strstr(text, "GUEST_MEMFD FILES"));
	assert_non_null(strstr(text, "(no guest_memfd files)"));
	free(text);
}

static void render_rejects_unknown_format(void **state)
{
	struct gmem_snapshot s;
	struct gmem_render_opts o = { .fmt = (enum gmem_format)42 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	gmem_snapshot_init(&s);
	assert_int_equal(gmem_render_snapshot(f, &s, &o), -EINVAL);
	fclose(f);
	assert_int_equal(len, 0);
	free(buf);
}

/* ---- CSV ---- */

/*
 * A reader of RFC 4180 written from the RFC, not from the renderer: splits
 * one record into fields, undoing the quoting.  Our records hold no line
 * breaks (comm is sanitized), so a record is a line.
 */
#define MAX_FIELDS 64
struct csv_line {
	int nr;
	char *f[MAX_FIELDS];
};

static void csv_parse(const char *line, struct csv_line *out)
{
	const char *p = line;

	out->nr = 0;
	for (;;) {
		char *buf = calloc(strlen(line) + 1, 1), *w = buf;

		assert_non_null(buf);
		assert_true(out->nr < MAX_FIELDS);
		if (*p == '"') {
			for (p++;; p++) {
				assert_true(*p != '\0'); /* unterminated quote */
				if (*p == '"' && p[1] == '"')
					*w++ = *p++;
				else if (*p == '"')
					break;
				else
					*w++ = *p;
			}
			p++;
			assert_true(*p == ',' || *p == '\0'); /* nothing after a closing quote */
		} else {
			while (*p && *p != ',') {
				assert_true(*p != '"'); /* a quote only in a quoted field */
				*w++ = *p++;
			}
		}
		out->f[out->nr++] = buf;
		if (*p != ',')
			break;
		p++;
	}
}

static void csv_line_free(struct csv_line *l)
{
	for (int i = 0; i < l->nr; i++)
		free(l->f[i]);
	l->nr = 0;
}

/* A rendered CSV stream: headers (gmem_render_begin) and one snapshot. */
struct csv_doc {
	int nr;
	struct csv_line lines[32];
};

static void csv_doc_parse(char *text, struct csv_doc *d)
{
	char *save = NULL;

	d->nr = 0;
	assert_int_equal(text[strlen(text) - 1], '\n');
	assert_null(strchr(text, '\r')); /* LF line ends */
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		assert_true(d->nr < 32);
		csv_parse(l, &d->lines[d->nr++]);
	}
}

static void csv_doc_free(struct csv_doc *d)
{
	for (int i = 0; i < d->nr; i++)
		csv_line_free(&d->lines[i]);
}

static void render_csv_doc(const struct gmem_snapshot *s, int rows, struct csv_doc *d)
{
	struct gmem_render_opts o = { .fmt = GMEM_FMT_CSV, .rows = rows, .kernel = "6.99.0-test" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(gmem_render_begin(f, &o), 0);
	assert_int_equal(gmem_render_snapshot(f, s, &o), 0);
	assert_int_equal(fclose(f), 0);
	csv_doc_parse(buf, d);
	free(buf);
}

/* The header of a record type: the first line of that type. */
static const struct csv_line *csv_header(const struct csv_doc *d, const char *record)
{
	for (int i = 0; i < d->nr; i++)
		if (!strcmp(d->lines[i].f[0], record))
			return &d->lines[i];
	fail_msg("no header for %s", record);
	return NULL;
}

/* The n-th data row of a record type (after its header). */
static const struct csv_line *csv_row(const struct csv_doc *d, const char *record, int n)
{
	int seen = -1;

	for (int i = 0; i < d->nr; i++)
		if (!strcmp(d->lines[i].f[0], record) && seen++ == n)
			return &d->lines[i];
	return NULL;
}

static int csv_count(const struct csv_doc *d, const char *record)
{
	int n = 0;

	while (csv_row(d, record, n))
		n++;
	return n;
}

/* The value of column 'name' in a row of 'record', NULL without the column. */
static const char *csv_find(const struct csv_doc *d, const char *record, int n, const char *name)
{
	const struct csv_line *h = csv_header(d, record), *r = csv_row(d, record, n);

	assert_non_null(r);
	for (int i = 0; i < h->nr; i++)
		if (!strcmp(h->f[i], name))
			return r->f[i];
	return NULL;
}

static const char *csv_get(const struct csv_doc *d, const char *record, int n, const char *name)
{
	const char *v = csv_find(d, record, n, name);

	if (!v)
		fail_msg("%s has no column %s", record, name);
	return v;
}

/* A null JSON object ("owner": null) is a group of empty "owner_*" columns. */
static void assert_csv_group_empty(const struct csv_doc *d, const char *record, int n,
				   const char *prefix)
{
	const struct csv_line *h = csv_header(d, record), *r = csv_row(d, record, n);
	size_t len = strlen(prefix);
	int found = 0;

	for (int i = 0; i < h->nr; i++)
		if (!strncmp(h->f[i], prefix, len) && h->f[i][len] == '_') {
			assert_string_equal(r->f[i], "");
			found++;
		}
	if (!found)
		fail_msg("%s has no column %s nor %s_*", record, prefix, prefix);
}

static void csv_field_quotes_only_what_rfc4180_requires(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", ",plain" },
		{ "", "," },
		{ "a,b", ",\"a,b\"" },
		{ "say \"hi\"", ",\"say \"\"hi\"\"\"" },
		{ "\"", ",\"\"\"\"" },
		{ "two\nlines", ",\"two\nlines\"" },
		{ "cr\r", ",\"cr\r\"" },
		{ " spaced ", ", spaced " },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		assert_non_null(f);
		gmem_csv_field(f, cases[i].in);
		fclose(f);
		assert_string_equal(buf, cases[i].out);
		free(buf);
	}
}

static void csv_field_null_is_empty(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	gmem_csv_field(f, NULL);
	fclose(f);
	assert_string_equal(buf, ",");
	free(buf);
}

static void csv_has_one_header_per_record_type_then_rows_as_wide(void **state)
{
	static const char *const types[] = { "snapshot", "proc", "file", "folio", "vm",
					     "memslot" };
	struct fixture fx;
	struct csv_doc d;

	fixture_init(&fx);
	render_csv_doc(&fx.s, 0, &d);
	/* the headers come first, in this order, named by column 1 */
	for (int i = 0; i < 6; i++) {
		assert_string_equal(d.lines[i].f[0], types[i]);
		assert_string_equal(d.lines[i].f[1], "time_ns");
	}
	assert_int_equal(d.nr, 6 + 1 + 1 + 2 + 2);
	for (int i = 6; i < d.nr; i++) {
		const struct csv_line *h = csv_header(&d, d.lines[i].f[0]);

		assert_int_equal(d.lines[i].nr, h->nr);
		assert_string_equal(d.lines[i].f[1], "1700000000000000000");
	}
	assert_int_equal(csv_count(&d, "snapshot"), 1);
	assert_int_equal(csv_count(&d, "proc"), 1);
	assert_int_equal(csv_count(&d, "file"), 2);
	assert_int_equal(csv_count(&d, "folio"), 2);
	csv_doc_free(&d);
}

static void csv_comm_with_comma_and_quotes_round_trips(void **state)
{
	struct fixture fx;
	struct csv_doc d;

	fixture_init(&fx);
	strcpy(fx.procs[0].comm, "a,\"b\" c");
	strcpy(fx.files[1].owner_comm, "x,y");
	strcpy(fx.folios[0].t.comm, "\"q\"");
	render_csv_doc(&fx.s, 0, &d);
	assert_string_equal(csv_get(&d, "proc", 0, "comm"), "a,\"b\" c");
	assert_string_equal(csv_get(&d, "proc", 0, "pins"), "3"); /* the columns did not shift */
	assert_string_equal(csv_get(&d, "file", 1, "owner_comm"), "x,y");
	assert_string_equal(csv_get(&d, "folio", 0, "tracked_comm"), "\"q\"");
	assert_string_equal(csv_get(&d, "folio", 0, "tracked_cgroup_id"), "0");
	csv_doc_free(&d);
}

/* Flatten a JSON object's scalar members into "prefix_name" columns and
 * compare each with the CSV row: every value JSON has, CSV has too. */
static void assert_csv_has_json(const struct csv_doc *d, const char *record, int n,
				struct json_object *obj, const char *prefix)
{
	json_object_object_foreach(obj, key, val)
	{
		char name[128];
		const char *want;

		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "_" : "", key);
		/* column 1 is named by the record type: a folio's address is "addr" */
		if (!strcmp(name, record))
			snprintf(name, sizeof(name), "addr");
		switch (json_object_get_type(val)) {
		case json_type_object:
			assert_csv_has_json(d, record, n, val, name);
			continue;
		case json_type_array:
			continue; /* processes, files, folios; apis and stack below */
		case json_type_null:
			if (!csv_find(d, record, n, name)) {
				assert_csv_group_empty(d, record, n, name);
				continue;
			}
			want = "";
			break;
		default:
			want = json_object_get_string(val);
			break;
		}
		assert_string_equal(csv_get(d, record, n, name), want);
	}
}

static void csv_has_every_value_json_has(void **state)
{
	static const char *const frames[] = { "io_sqe_buffer_register", "do_syscall_64" };
	static const __u64 offsets[] = { 0x10, 0x7f };
	struct fixture fx;
	struct json_object *root, *stats;
	struct csv_doc d;

	fixture_init(&fx);
	fx.s.stats.v[GMEM_STAT_PIN] = 11;
	fx.s.stats.v[GMEM_STAT_STACK_LOST] = 2;
	fx.s.map_entries = 1024;
	fx.s.map_bytes = 163840;
	fx.s.filter.pid = 4242;
	fx.procs[0].api_mask = (1u << GMEM_API_IO_URING) | (1u << GMEM_API_VFIO);
	fx.folios[0].t.cgroup_id = 9876;
	fx.folios[0].t.stack_id = 5;
	assert_int_equal(gmem_snapshot_add_stack(&fx.s, 5, frames, offsets, 2), 0);
	root = render_json(&fx.s);
	render_csv_doc(&fx.s, 0, &d);

	/* stats are the snapshot row's own columns, without a prefix */
	assert_true(json_object_object_get_ex(root, "stats", &stats));
	assert_csv_has_json(&d, "snapshot", 0, stats, "");
	json_object_object_del(root, "stats");
	assert_csv_has_json(&d, "snapshot", 0, root, "");
	assert_csv_has_json(&d, "proc", 0, elem(member(root, "processes"), 0), "");
	assert_string_equal(csv_get(&d, "proc", 0, "apis"), "io_uring;vfio");
	for (int i = 0; i < 2; i++)
		assert_csv_has_json(&d, "file", i, elem(member(root, "files"), i), "");
	for (int i = 0; i < 2; i++)
		assert_csv_has_json(&d, "folio", i, elem(member(root, "folios"), i), "");
	assert_string_equal(csv_get(&d, "folio", 0, "tracked_stack"),
			    "io_sqe_buffer_register+0x10;do_syscall_64+0x7f");
	json_object_put(root);
	csv_doc_free(&d);
	for (int i = 0; i < fx.s.stacks[0].nr; i++)
		free(fx.s.stacks[0].frames[i]);
	free(fx.s.stacks[0].frames);
	free(fx.s.stacks);
}

static void csv_shows_losses_and_unmeasured_values_never_as_zero(void **state)
{
	struct fixture fx;
	struct csv_doc d;

	fixture_init(&fx);
	fx.s.stats.v[GMEM_STAT_SCAN_DROPPED] = 4;
	fx.files[1].truncated = true;
	fx.s.tracking = false;
	render_csv_doc(&fx.s, 0, &d);
	assert_string_equal(csv_get(&d, "snapshot", 0, "complete"), "false");
	assert_string_equal(csv_get(&d, "snapshot", 0, "lost"), "4");
	assert_string_equal(csv_get(&d, "file", 1, "kernel_complete"), "false");
	/* not measured: empty, not 0 */
	assert_string_equal(csv_get(&d, "file", 1, "tracked_pins"), "");
	assert_string_equal(csv_get(&d, "file", 1, "untracked_pins"), "");
	assert_string_equal(csv_get(&d, "file", 0, "kernel_pins"), "");
	assert_string_equal(csv_get(&d, "file", 0, "owner_pid"), "");
	assert_string_equal(csv_get(&d, "folio", 1, "tracked_pins"), "");
	assert_string_equal(csv_get(&d, "folio", 1, "kernel_pins"), "1");
	assert_string_equal(csv_get(&d, "snapshot", 0, "filter_cgroup_id"), "");
	csv_doc_free(&d);
}

static void csv_rows_limit_applies_to_processes_and_files_not_folios(void **state)
{
	struct fixture fx;
	struct csv_doc d;

	fixture_init(&fx);
	render_csv_doc(&fx.s, 1, &d);
	assert_int_equal(csv_count(&d, "proc"), 1);
	assert_int_equal(csv_count(&d, "file"), 1);
	assert_int_equal(csv_count(&d, "folio"), 2);
	csv_doc_free(&d);
}

static void csv_of_empty_snapshot_is_headers_and_a_snapshot_row(void **state)
{
	struct gmem_snapshot s;
	struct csv_doc d;

	gmem_snapshot_init(&s);
	render_csv_doc(&s, 0, &d);
	assert_int_equal(d.nr, 7);
	assert_string_equal(csv_get(&d, "snapshot", 0, "complete"), "true");
	assert_string_equal(csv_get(&d, "snapshot", 0, "sort"), "pins");
	csv_doc_free(&d);
}

static void begin_prints_nothing_for_table_and_json(void **state)
{
	struct gmem_render_opts o = { .fmt = GMEM_FMT_JSON };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(gmem_render_begin(f, &o), 0);
	o.fmt = GMEM_FMT_TABLE;
	assert_int_equal(gmem_render_begin(f, &o), 0);
	fclose(f);
	assert_int_equal(len, 0);
	free(buf);
}

/* ---- filter and sort, in JSON and the table ---- */

static void json_says_which_filter_and_sort_are_active(void **state)
{
	struct fixture fx;
	struct json_object *root, *filter;

	fixture_init(&fx);
	root = render_json(&fx.s);
	filter = member(root, "filter");
	assert_null(member(filter, "pid"));
	assert_null(member(filter, "cgroup_id"));
	assert_string_equal(str_member(root, "sort"), "pins");
	json_object_put(root);

	fx.s.filter.pid = 4242;
	fx.s.filter.cgroup_id = 1ULL << 40;
	fx.s.sort = GMEM_SORT_AGE;
	root = render_json(&fx.s);
	filter = member(root, "filter");
	assert_int_equal(int_member(filter, "pid"), 4242);
	assert_true(int_member(filter, "cgroup_id") == 1LL << 40);
	assert_string_equal(str_member(root, "sort"), "age");
	json_object_put(root);
}

static void json_file_first_pin_age_is_null_without_pins(void **state)
{
	struct fixture fx;
	struct json_object *root, *files;

	fixture_init(&fx);
	fx.files[1].first_pin_ns = 7ULL * 1000000000; /* 3 s before time_ns */
	root = render_json(&fx.s);
	files = member(root, "files");
	assert_null(member(elem(files, 0), "first_pin_age_ms"));
	assert_int_equal(int_member(elem(files, 1), "first_pin_age_ms"), 3000);
	json_object_put(root);
}

static void table_says_when_a_filter_is_active(void **state)
{
	struct fixture fx;
	char *text;

	fixture_init(&fx);
	text = render(&fx.s, GMEM_FMT_TABLE, 0);
	assert_null(strstr(text, "filter:"));
	free(text);
	fx.s.filter.pid = 4242;
	fx.s.filter.cgroup_id = 777;
	text = render(&fx.s, GMEM_FMT_TABLE, 0);
	assert_non_null(strstr(text, "\nfilter: pid 4242 "));
	assert_non_null(strstr(text, "\nfilter: cgroup 777 "));
	free(text);
}

/* ---- gmem_parse_format ---- */

static void parse_format_accepts_table_json_and_csv(void **state)
{
	enum gmem_format fmt = (enum gmem_format)-1;

	assert_int_equal(gmem_parse_format("table", &fmt), 0);
	assert_int_equal(fmt, GMEM_FMT_TABLE);
	assert_int_equal(gmem_parse_format("json", &fmt), 0);
	assert_int_equal(fmt, GMEM_FMT_JSON);
	assert_int_equal(gmem_parse_format("csv", &fmt), 0);
	assert_int_equal(fmt, GMEM_FMT_CSV);
}

static void parse_format_rejects_other_names(void **state)
{
	static const char *const bad[] = { "", "JSON", "Table", "tab", "jsonl", "json ", "CSV",
					   "csv,", "tsv" };
	enum gmem_format fmt = GMEM_FMT_JSON;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gmem_parse_format(bad[i], &fmt), -EINVAL);
	assert_int_equal(fmt, GMEM_FMT_JSON);
}

/* ---- gmem_format_age ---- */

static void age(char *buf, __u64 ns)
{
	memset(buf, 'X', 32);
	gmem_format_age(buf, 32, ns);
}

static void format_age_under_a_minute_is_seconds_with_tenths(void **state)
{
	char buf[32];

	age(buf, 1500000000ULL);
	assert_string_equal(buf, "1.5s");
	age(buf, 0);
	assert_string_equal(buf, "0.0s");
	age(buf, 59999999999ULL);
	assert_string_equal(buf, "59.9s");
}

static void format_age_under_an_hour_is_minutes_and_seconds(void **state)
{
	char buf[32];

	age(buf, 125ULL * 1000000000);
	assert_string_equal(buf, "2m05s");
	age(buf, 60ULL * 1000000000);
	assert_string_equal(buf, "1m00s");
	age(buf, 3599ULL * 1000000000);
	assert_string_equal(buf, "59m59s");
}

static void format_age_of_hours_is_hours_and_minutes(void **state)
{
	char buf[32];

	age(buf, 2ULL * 3600 * 1000000000);
	assert_string_equal(buf, "2h00m");
	age(buf, (2ULL * 3600 + 5 * 60 + 59) * 1000000000);
	assert_string_equal(buf, "2h05m");
	age(buf, 100ULL * 3600 * 1000000000);
	assert_string_equal(buf, "100h00m");
}

static void format_age_truncates_to_buffer(void **state)
{
	char buf[4];

	gmem_format_age(buf, sizeof(buf), 125ULL * 1000000000);
	assert_string_equal(buf, "2m0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_has_version_1_and_snapshot_fields),
		cmocka_unit_test(json_is_complete_when_nothing_was_lost),
		cmocka_unit_test(json_is_incomplete_when_any_loss_counter_is_set),
		cmocka_unit_test(json_is_incomplete_when_scan_records_were_rejected),
		cmocka_unit_test(json_file_tracked_is_null_when_not_tracking),
		cmocka_unit_test(json_file_tracked_has_counts_when_tracking),
		cmocka_unit_test(json_file_kernel_is_null_when_not_scanned),
		cmocka_unit_test(json_file_kernel_has_counts_when_scanned),
		cmocka_unit_test(json_file_kernel_is_incomplete_when_walk_truncated),
		cmocka_unit_test(json_dev_is_major_colon_minor),
		cmocka_unit_test(json_folio_address_is_zero_padded_hex),
		cmocka_unit_test(json_folio_has_tracked_and_kernel_views),
		cmocka_unit_test(json_folio_with_dead_entry_shows_zero_pins),
		cmocka_unit_test(json_process_fields_round_trip),
		cmocka_unit_test(json_comm_with_quote_and_backslash_round_trips),
		cmocka_unit_test(json_comm_from_model_keeps_quote_and_backslash),
		cmocka_unit_test(json_of_empty_snapshot_has_empty_arrays),
		cmocka_unit_test(json_released_pin_shows_last_holder_and_follows_cgroup_filter),
		cmocka_unit_test(json_rows_limit_applies_to_processes_and_files),
		cmocka_unit_test(table_has_section_headings),
		cmocka_unit_test(table_is_not_marked_incomplete_without_losses),
		cmocka_unit_test(table_is_marked_incomplete_when_events_were_lost),
		cmocka_unit_test(table_of_empty_snapshot_says_so),
		cmocka_unit_test(render_rejects_unknown_format),
		cmocka_unit_test(csv_field_quotes_only_what_rfc4180_requires),
		cmocka_unit_test(csv_field_null_is_empty),
		cmocka_unit_test(csv_has_one_header_per_record_type_then_rows_as_wide),
		cmocka_unit_test(csv_comm_with_comma_and_quotes_round_trips),
		cmocka_unit_test(csv_has_every_value_json_has),
		cmocka_unit_test(csv_shows_losses_and_unmeasured_values_never_as_zero),
		cmocka_unit_test(csv_rows_limit_applies_to_processes_and_files_not_folios),
		cmocka_unit_test(csv_of_empty_snapshot_is_headers_and_a_snapshot_row),
		cmocka_unit_test(begin_prints_nothing_for_table_and_json),
		cmocka_unit_test(json_says_which_filter_and_sort_are_active),
		cmocka_unit_test(json_file_first_pin_age_is_null_without_pins),
		cmocka_unit_test(table_says_when_a_filter_is_active),
		cmocka_unit_test(parse_format_accepts_table_json_and_csv),
		cmocka_unit_test(parse_format_rejects_other_names),
		cmocka_unit_test(format_age_under_a_minute_is_seconds_with_tenths),
		cmocka_unit_test(format_age_under_an_hour_is_minutes_and_seconds),
		cmocka_unit_test(format_age_of_hours_is_hours_and_minutes),
		cmocka_unit_test(format_age_truncates_to_buffer),
	};

	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
