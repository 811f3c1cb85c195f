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
	root = render_json(&fx.s);
	assert_true(bool_member(root, "complete"));
	assert_int_equal(int_member(member(root, "stats"), "lost"), 0);
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
	assert_true(bool_member(root, "complete"));
	json_object_put(root);
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

/* ---- gmem_parse_format ---- */

static void parse_format_accepts_table_and_json(void **state)
{
	enum gmem_format fmt = (enum gmem_format)-1;

	assert_int_equal(gmem_parse_format("table", &fmt), 0);
	assert_int_equal(fmt, GMEM_FMT_TABLE);
	assert_int_equal(gmem_parse_format("json", &fmt), 0);
	assert_int_equal(fmt, GMEM_FMT_JSON);
}

static void parse_format_rejects_other_names(void **state)
{
	static const char *const bad[] = { "", "JSON", "Table", "tab", "jsonl", "json ", "csv" };
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
		cmocka_unit_test(json_rows_limit_applies_to_processes_and_files),
		cmocka_unit_test(table_has_section_headings),
		cmocka_unit_test(table_is_not_marked_incomplete_without_losses),
		cmocka_unit_test(table_is_marked_incomplete_when_events_were_lost),
		cmocka_unit_test(table_of_empty_snapshot_says_so),
		cmocka_unit_test(render_rejects_unknown_format),
		cmocka_unit_test(parse_format_accepts_table_and_json),
		cmocka_unit_test(parse_format_rejects_other_names),
		cmocka_unit_test(format_age_under_a_minute_is_seconds_with_tenths),
		cmocka_unit_test(format_age_under_an_hour_is_minutes_and_seconds),
		cmocka_unit_test(format_age_of_hours_is_hours_and_minutes),
		cmocka_unit_test(format_age_truncates_to_buffer),
	};

	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
