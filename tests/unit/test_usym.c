// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/lib/usym.c (user-space symbols) on real ELF files: this
 * test binary itself, as the build made it, and a non-ELF file it maps; and
 * of how pin addresses and user stacks are rendered (output_addr.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/output.h"
#include "lib/usym.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A function of this binary to look up: not inlined, its address taken. */
__attribute__((noinline)) int usym_lookup_target(int x)
{
	return x * 3 + 1;
}

static const char MAPS[] =
	"55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1234                       /usr/bin/qemu\n"
	"55d0c0a02000-55d0c0a09000 r-xp 00002000 fd:01 1234                       /usr/bin/qemu\n"
	"55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
	"7f1000000000-7f1000010000 r-xp 00010000 103:02 99                        /opt/my lib/libx.so (deleted)\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

static void umaps_keep_file_mappings_with_their_offsets(void **state)
{
	FILE *f = fmemopen((void *)MAPS, strlen(MAPS), "r");
	struct gmem_umaps m = {};
	const struct gmem_umap *u;

	assert_non_null(f);
	assert_int_equal(gmem_umaps_parse(&m, f), 0);
	fclose(f);
	assert_int_equal(m.nr, 3); /* heap, anonymous and vsyscall left out */
	u = gmem_umaps_find(&m, 0x55d0c0a02010);
	assert_non_null(u);
	assert_string_equal(u->path, "/usr/bin/qemu");
	assert_int_equal(u->offset, 0x2000);
	assert_int_equal(u->dev_major, 0xfd);
	assert_int_equal(u->dev_minor, 1);
	assert_int_equal(u->ino, 1234);
	u = gmem_umaps_find(&m, 0x7f1000000000);
	assert_non_null(u);
	assert_string_equal(u->path, "/opt/my lib/libx.so (deleted)"); /* spaces kept */
	assert_null(gmem_umaps_find(&m, 0x55d0c1000010)); /* the heap */
	assert_null(gmem_umaps_find(&m, 0x55d0c0a09000)); /* end is exclusive */
	gmem_umaps_free(&m);
}

static void frame(struct gmem_usyms *c, const struct gmem_umaps *m, __u64 addr, char *buf,
		  size_t len)
{
	gmem_usyms_frame(c, m, addr, buf, len);
	print_message("  0x%llx -> %s\n", (unsigned long long)addr, buf);
}

/* This binary's own function, named from its ELF symbol table through the
 * process's mappings (PIE: the load address is not the ELF address). */
static void frame_names_a_function_of_this_binary(void **state)
{
	struct gmem_usyms *c = gmem_usyms_new();
	struct gmem_umaps m = {};
	__u64 fn = (__u64)(uintptr_t)&usym_lookup_target;
	char buf[320];

	assert_non_null(c);
	assert_int_equal(gmem_umaps_load(&m, (__u32)getpid()), 0);
	frame(c, &m, fn, buf, sizeof(buf));
	assert_non_null(strstr(buf, "usym_lookup_target+0x0 (test_usym+0x"));
	frame(c, &m, fn + 5, buf, sizeof(buf));
	assert_non_null(strstr(buf, "usym_lookup_target+0x5 (test_usym+0x"));
	assert_int_equal(usym_lookup_target(1), 4);
	assert_int_equal(gmem_usyms_nr_modules(c), 1); /* read once, used twice */
	gmem_umaps_free(&m);
	gmem_usyms_free(c);
}

/* A mapped file that is not ELF: module+offset, no function. */
static void frame_without_symbols_is_module_and_offset(void **state)
{
	char path[] = "/tmp/gmem-usym-XXXXXX", buf[320], want[64];
	int fd = mkstemp(path);
	struct gmem_usyms *c = gmem_usyms_new();
	struct gmem_umaps m = {};
	char *p;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8192), 0);
	p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(gmem_umaps_load(&m, (__u32)getpid()), 0);
	frame(c, &m, (__u64)(uintptr_t)p + 0x1234, buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s+0x1234", strrchr(path, '/') + 1);
	assert_string_equal(buf, want);
	munmap(p, 8192);
	close(fd);
	unlink(path);
	gmem_umaps_free(&m);
	gmem_usyms_free(c);
}

static void frame_outside_every_mapping_is_the_address(void **state)
{
	struct gmem_usyms *c = gmem_usyms_new();
	struct gmem_umaps m = {};
	char buf[64];

	frame(c, &m, 0x10, buf, sizeof(buf)); /* also: a process gone, no mappings */
	assert_string_equal(buf, "0x10");
	assert_int_equal(gmem_usyms_nr_modules(c), 0);
	gmem_usyms_free(c);
}

/* ---- rendering: mm, addr and ustack per folio holder ---- */

static void snapshot_with_folios(struct gmem_snapshot *s, struct gmem_folio *folios)
{
	static const char *const frames[] = { "pread64+0x12 (gmem-pinner+0x4a2b2)",
					      "main+0x3f0 (gmem-pinner+0x1a40)" };

	gmem_snapshot_init(s);
	s->tracking = true;
	s->ustack = true;
	memset(folios, 0, 2 * sizeof(*folios));
	for (int i = 0; i < 2; i++) {
		folios[i].addr = 0xffffea0000100000ull + i * 64;
		folios[i].index = i;
		folios[i].tracked = true;
		folios[i].extra_refs = -1;
		folios[i].t.pins = 1;
		folios[i].t.tgid = 77;
		folios[i].t.stack_id = -1;
		strcpy(folios[i].t.comm, "gmem-pinner");
	}
	folios[0].t.mm = 0xffff888001234500ull;
	folios[0].t.addr = 0x7f0012340000ull;
	folios[0].t.ustack_id = 3;
	folios[1].t.ustack_id = -1; /* no address: mm 0 */
	s->folios = folios;
	s->nr_folios = s->cap_folios = 2;
	assert_int_equal(gmem_snapshot_add_ustack(s, 77, 3, frames, 2), 0);
}

static char *render(const struct gmem_snapshot *s, enum gmem_format fmt)
{
	struct gmem_render_opts o = { .fmt = fmt, .folios = true, .kernel = "test" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(gmem_render_begin(f, &o), 0);
	assert_int_equal(gmem_render_snapshot(f, s, &o), 0);
	fclose(f);
	return buf;
}

static struct json_object *tracked_of(struct json_object *root, int i)
{
	struct json_object *folios, *t;

	assert_true(json_object_object_get_ex(root, "folios", &folios));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(folios, i), "tracked", &t));
	return t;
}

static const char *jstr_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return v ? json_object_get_string(v) : NULL;
}

static void json_gives_mm_addr_and_ustack_or_null(void **state)
{
	struct gmem_folio folios[2];
	struct gmem_snapshot s;
	struct json_object *root, *t, *us;
	char *text;

	snapshot_with_folios(&s, folios);
	text = render(&s, GMEM_FMT_JSON);
	root = json_tokener_parse(text);
	assert_non_null(root);
	t = tracked_of(root, 0);
	assert_string_equal(jstr_of(t, "mm"), "0xffff888001234500");
	assert_string_equal(jstr_of(t, "addr"), "0x7f0012340000");
	assert_true(json_object_object_get_ex(t, "ustack", &us));
	assert_int_equal(json_object_array_length(us), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(us, 1)),
			    "main+0x3f0 (gmem-pinner+0x1a40)");
	/* not known: null, never 0 */
	t = tracked_of(root, 1);
	assert_null(jstr_of(t, "mm"));
	assert_null(jstr_of(t, "addr"));
	assert_true(json_object_object_get_ex(t, "ustack", &us));
	assert_null(us);
	json_object_put(root);
	free(text);
	s.folios = NULL; /* the fixture's own */
	gmem_snapshot_free(&s);
}

static void csv_and_table_show_the_address_or_unknown(void **state)
{
	struct gmem_folio folios[2];
	struct gmem_snapshot s;
	char *text;

	snapshot_with_folios(&s, folios);
	text = render(&s, GMEM_FMT_CSV);
	assert_non_null(strstr(text, ",tracked_mm,tracked_addr,tracked_ustack\n"));
	assert_non_null(strstr(text, ",0xffff888001234500,0x7f0012340000,"
				     "pread64+0x12 (gmem-pinner+0x4a2b2);main+0x3f0 (gmem-pinner+0x1a40)\n"));
	assert_non_null(strstr(text, ",,,\n")); /* folio 1: three empty fields */
	free(text);
	text = render(&s, GMEM_FMT_TABLE);
	assert_non_null(strstr(text, "PIN_ADDR"));
	assert_non_null(strstr(text, " 0x7f0012340000 "));
	assert_non_null(strstr(text, " unknown "));
	free(text);
	s.folios = NULL;
	gmem_snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(umaps_keep_file_mappings_with_their_offsets),
		cmocka_unit_test(frame_names_a_function_of_this_binary),
		cmocka_unit_test(frame_without_symbols_is_module_and_offset),
		cmocka_unit_test(frame_outside_every_mapping_is_the_address),
		cmocka_unit_test(json_gives_mm_addr_and_ustack_or_null),
		cmocka_unit_test(csv_and_table_show_the_address_or_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
