// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of src/lib/kallsyms.c, on kallsyms text held in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/kallsyms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Unsorted on purpose; text (t/T) and data (d/D/b/B/r) symbols mixed;
 * module symbols carry a "\t[module]" suffix as in /proc/kallsyms.
 * Text symbols by address:
 *   ffffffff81000000 _stext
 *   ffffffff81100000 unpin_user_page
 *   ffffffff81100200 unpin_user_pages
 *   ffffffff81100200 unpin_user_pages_alias   (same address)
 *   ffffffff81100480 static_helper
 *   ffffffffc0a00000 kvm_gmem_get_pfn [kvm]
 *   ffffffffc0a00340 kvm_gmem_release [kvm]  (last text symbol)
 * Data symbols placed between text symbols must not shorten ranges:
 *   ffffffff81100100 d some_data, ffffffff81100300 b some_bss, ...
 */
static const char KALLSYMS[] =
	"ffffffff81100200 T unpin_user_pages\n"
	"ffffffffc0a00340 t kvm_gmem_release\t[kvm]\n"
	"ffffffff81100100 d some_data\n"
	"ffffffff81000000 T _stext\n"
	"ffffffff81100300 b some_bss\n"
	"ffffffff81100480 t static_helper\n"
	"ffffffffc0a00100 d kvm_data_sym\t[kvm]\n"
	"ffffffff81100000 T unpin_user_page\n"
	"ffffffff81100400 D some_global_data\n"
	"ffffffff81100200 T unpin_user_pages_alias\n"
	"ffffffffc0a00000 t kvm_gmem_get_pfn\t[kvm]\n"
	"ffffffff81100440 R some_rodata\n"
	"ffffffffc0a00400 b kvm_bss_after_last\t[kvm]\n"
	"ffffffff81100040 B bss_between\n";

/* The same symbols as seen with kptr_restrict: every address zero. */
static const char KALLSYMS_HIDDEN[] =
	"0000000000000000 T unpin_user_pages\n"
	"0000000000000000 t kvm_gmem_release\t[kvm]\n"
	"0000000000000000 d some_data\n"
	"0000000000000000 T _stext\n"
	"0000000000000000 T unpin_user_page\n";

static void parse_text(struct gmem_kallsyms *ks, const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	assert_non_null(f);
	assert_int_equal(gmem_kallsyms_parse(ks, f), 0);
	fclose(f);
}

static void assert_range(const struct gmem_kallsyms *ks, const char *name, __u64 start,
			 __u64 end)
{
	__u64 s = 0, e = 0;

	assert_int_equal(gmem_kallsyms_range(ks, name, &s, &e), 0);
	assert_true(s == start);
	assert_true(e == end);
}

static void parse_keeps_only_text_symbols(void **state)
{
	struct gmem_kallsyms ks;

	parse_text(&ks, KALLSYMS);
	/* 7 t/T lines in KALLSYMS */
	assert_int_equal(ks.nr, 7);
	for (size_t i = 0; i < ks.nr; i++) {
		assert_null(strstr(ks.syms[i].name, "data"));
		assert_null(strstr(ks.syms[i].name, "bss"));
	}
	gmem_kallsyms_free(&ks);
}

static void parse_sorts_symbols_by_address(void **state)
{
	struct gmem_kallsyms ks;

	parse_text(&ks, KALLSYMS);
	assert_int_equal(ks.nr, 7);
	assert_true(ks.syms[0].addr == 0xffffffff81000000ULL);
	assert_string_equal(ks.syms[0].name, "_stext");
	assert_true(ks.syms[1].addr == 0xffffffff81100000ULL);
	assert_string_equal(ks.syms[1].name, "unpin_user_page");
	/* [2] and [3] share ffffffff81100200 */
	assert_true(ks.syms[2].addr == 0xffffffff81100200ULL);
	assert_true(ks.syms[3].addr == 0xffffffff81100200ULL);
	assert_true(ks.syms[4].addr == 0xffffffff81100480ULL);
	assert_string_equal(ks.syms[4].name, "static_helper");
	assert_true(ks.syms[5].addr == 0xffffffffc0a00000ULL);
	assert_string_equal(ks.syms[5].name, "kvm_gmem_get_pfn");
	assert_true(ks.syms[6].addr == 0xffffffffc0a00340ULL);
	assert_string_equal(ks.syms[6].name, "kvm_gmem_release");
	gmem_kallsyms_free(&ks);
}

static void range_ends_at_next_higher_text_symbol(void **state)
{
	struct gmem_kallsyms ks;

	parse_text(&ks, KALLSYMS);
	assert_range(&ks, "_stext", 0xffffffff81000000ULL, 0xffffffff81100000ULL);
	/* the data symbols at ...100040 and ...100100 do not end it */
	assert_range(&ks, "unpin_user_page", 0xffffffff81100000ULL, 0xffffffff81100200ULL);
	gmem_kallsyms_free(&ks);
}

static void range_skips_aliases_at_the_same_address(void **state)
{
	struct gmem_kallsyms ks;

	parse_text(&ks, KALLSYMS);
	/* both names end at static_helper, not at each other; the data
	 * symbols at ...100300, ...100400, ...100440 do not count */
	assert_range(&ks, "unpin_user_pages", 0xffffffff81100200ULL, 0xffffffff81100480ULL);
	assert_range(&ks, "unpin_user_pages_alias", 0xffffffff81100200ULL,
		     0xffffffff81100480ULL);
	gmem_kallsyms_free(&ks);
}

static void range_of_module_symbol_uses_name_without_module_suffix(void **state)
{
	struct gmem_kallsyms ks;
	__u64 s = 1, e = 2;

	parse_text(&ks, KALLSYMS);
	assert_range(&ks, "kvm_gmem_get_pfn", 0xffffffffc0a00000ULL, 0xffffffffc0a00340ULL);
	assert_int_equal(gmem_kallsyms_range(&ks, "[kvm]", &s, &e), -ENOENT);
	gmem_kallsyms_free(&ks);
}

static void range_of_last_text_symbol_is_one_page(void **state)
{
	struct gmem_kallsyms ks;

	parse_text(&ks, KALLSYMS);
	/* kvm_bss_after_last (b) is higher but is not text */
	assert_range(&ks, "kvm_gmem_release", 0xffffffffc0a00340ULL,
		     0xffffffffc0a00340ULL + 4096);
	gmem_kallsyms_free(&ks);
}

static void range_of_unknown_name_is_enoent(void **state)
{
	struct gmem_kallsyms ks;
	__u64 s = 1, e = 2;

	parse_text(&ks, KALLSYMS);
	assert_int_equal(gmem_kallsyms_range(&ks, "no_such_function", &s, &e), -ENOENT);
	/* a prefix of a real name is not that name */
	assert_int_equal(gmem_kallsyms_range(&ks, "unpin_user", &s, &e), -ENOENT);
	assert_true(s == 1 && e == 2);
	gmem_kallsyms_free(&ks);
}

static void range_of_data_symbol_is_enoent(void **state)
{
	struct gmem_kallsyms ks;
	__u64 s = 1, e = 2;

	parse_text(&ks, KALLSYMS);
	assert_int_equal(gmem_kallsyms_range(&ks, "some_data", &s, &e), -ENOENT);
	assert_int_equal(gmem_kallsyms_range(&ks, "some_bss", &s, &e), -ENOENT);
	assert_int_equal(gmem_kallsyms_range(&ks, "some_rodata", &s, &e), -ENOENT);
	assert_int_equal(gmem_kallsyms_range(&ks, "kvm_data_sym", &s, &e), -ENOENT);
	gmem_kallsyms_free(&ks);
}

static void range_with_hidden_addresses_is_eperm(void **state)
{
	struct gmem_kallsyms ks;
	__u64 s = 1, e = 2;

	parse_text(&ks, KALLSYMS_HIDDEN);
	assert_int_equal(ks.nr, 4);
	assert_int_equal(gmem_kallsyms_range(&ks, "unpin_user_pages", &s, &e), -EPERM);
	assert_int_equal(gmem_kallsyms_range(&ks, "kvm_gmem_release", &s, &e), -EPERM);
	assert_true(s == 1 && e == 2);
	/* a name that is not there at all is still ENOENT */
	assert_int_equal(gmem_kallsyms_range(&ks, "no_such_function", &s, &e), -ENOENT);
	gmem_kallsyms_free(&ks);
}

static void parse_skips_malformed_lines(void **state)
{
	static const char text[] =
		"\n"
		"garbage\n"
		"ffffffff81000000\n"
		"ffffffff81000000 T\n"
		"ffffffff81000010 T good_one\n"
		"zzzz T not_hex\n";
	struct gmem_kallsyms ks;

	parse_text(&ks, text);
	assert_int_equal(ks.nr, 1);
	assert_string_equal(ks.syms[0].name, "good_one");
	assert_true(ks.syms[0].addr == 0xffffffff81000010ULL);
	gmem_kallsyms_free(&ks);
}

/* More than the first read buffer (1 MiB), the last line without '\n'. */
static void parse_reads_large_input_and_unterminated_last_line(void **state)
{
	enum { NR = 50000 };
	size_t cap = NR * 40, len = 0;
	char *text = malloc(cap);
	struct gmem_kallsyms ks;
	__u64 s, e;

	assert_non_null(text);
	for (int i = 0; i < NR; i++)
		len += snprintf(text + len, cap - len, "%016llx t sym_%d%s",
				0xffffffff81000000ULL + 16ULL * i, i, i + 1 < NR ? "\n" : "");
	assert_true(len > 1 << 20);
	parse_text(&ks, text);
	assert_int_equal(ks.nr, NR);
	assert_string_equal(ks.syms[NR - 1].name, "sym_49999");
	assert_int_equal(gmem_kallsyms_range(&ks, "sym_49998", &s, &e), 0);
	assert_true(e - s == 16);
	gmem_kallsyms_free(&ks);
	free(text);
}

static void parse_of_empty_input_finds_nothing(void **state)
{
	struct gmem_kallsyms ks;
	__u64 s, e;

	parse_text(&ks, "");
	assert_int_equal(ks.nr, 0);
	assert_int_equal(gmem_kallsyms_range(&ks, "_stext", &s, &e), -ENOENT);
	gmem_kallsyms_free(&ks);
}

static void free_leaves_an_empty_table(void **state)
{
	struct gmem_kallsyms ks;

	parse_text(&ks, KALLSYMS);
	gmem_kallsyms_free(&ks);
	assert_null(ks.syms);
	assert_int_equal(ks.nr, 0);
	assert_int_equal(ks.cap, 0);
	gmem_kallsyms_free(&ks); /* twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_keeps_only_text_symbols),
		cmocka_unit_test(parse_reads_large_input_and_unterminated_last_line),
		cmocka_unit_test(parse_sorts_symbols_by_address),
		cmocka_unit_test(range_ends_at_next_higher_text_symbol),
		cmocka_unit_test(range_skips_aliases_at_the_same_address),
		cmocka_unit_test(range_of_module_symbol_uses_name_without_module_suffix),
		cmocka_unit_test(range_of_last_text_symbol_is_one_page),
		cmocka_unit_test(range_of_unknown_name_is_enoent),
		cmocka_unit_test(range_of_data_symbol_is_enoent),
		cmocka_unit_test(range_with_hidden_addresses_is_eperm),
		cmocka_unit_test(parse_skips_malformed_lines),
		cmocka_unit_test(parse_of_empty_input_finds_nothing),
		cmocka_unit_test(free_leaves_an_empty_table),
	};

	return cmocka_run_group_tests_name("kallsyms", tests, NULL, NULL);
}
