// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of src/lib/util.c: argument parsing and comm sanitizing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/util.h"

#include <errno.h>
#include <string.h>

/* A value the parsers must leave alone when they fail. */
#define UNTOUCHED 0xdeadbeefULL

/* ---- gmem_parse_u64 ---- */

static void parse_u64_accepts_plain_decimal(void **state)
{
	unsigned long long v = UNTOUCHED;

	assert_int_equal(gmem_parse_u64("42", 0, 100, &v), 0);
	assert_true(v == 42ULL);
	assert_int_equal(gmem_parse_u64("0", 0, 100, &v), 0);
	assert_true(v == 0ULL);
}

static void parse_u64_accepts_values_equal_to_min_and_max(void **state)
{
	unsigned long long v = UNTOUCHED;

	assert_int_equal(gmem_parse_u64("10", 10, 20, &v), 0);
	assert_true(v == 10ULL);
	assert_int_equal(gmem_parse_u64("20", 10, 20, &v), 0);
	assert_true(v == 20ULL);
}

static void parse_u64_rejects_values_outside_min_max_with_erange(void **state)
{
	unsigned long long v = UNTOUCHED;

	assert_int_equal(gmem_parse_u64("9", 10, 20, &v), -ERANGE);
	assert_int_equal(gmem_parse_u64("21", 10, 20, &v), -ERANGE);
	assert_true(v == UNTOUCHED);
}

static void parse_u64_accepts_largest_u64(void **state)
{
	unsigned long long v = UNTOUCHED;

	assert_int_equal(gmem_parse_u64("18446744073709551615", 0, ~0ULL, &v), 0);
	assert_true(v == 0xffffffffffffffffULL);
}

static void parse_u64_rejects_overflow_with_erange(void **state)
{
	unsigned long long v = UNTOUCHED;

	/* 2^64 and far beyond */
	assert_int_equal(gmem_parse_u64("18446744073709551616", 0, ~0ULL, &v), -ERANGE);
	assert_int_equal(gmem_parse_u64("99999999999999999999999", 0, ~0ULL, &v), -ERANGE);
	assert_true(v == UNTOUCHED);
}

static void parse_u64_rejects_trailing_junk(void **state)
{
	unsigned long long v = UNTOUCHED;

	assert_int_equal(gmem_parse_u64("12abc", 0, 100, &v), -EINVAL);
	assert_int_equal(gmem_parse_u64("12 ", 0, 100, &v), -EINVAL);
	assert_int_equal(gmem_parse_u64("1.5", 0, 100, &v), -EINVAL);
	assert_int_equal(gmem_parse_u64("0x10", 0, 100, &v), -EINVAL);
	assert_true(v == UNTOUCHED);
}

static void parse_u64_rejects_empty_and_null(void **state)
{
	unsigned long long v = UNTOUCHED;

	assert_int_equal(gmem_parse_u64("", 0, 100, &v), -EINVAL);
	assert_int_equal(gmem_parse_u64(NULL, 0, 100, &v), -EINVAL);
	assert_true(v == UNTOUCHED);
}

static void parse_u64_rejects_signs(void **state)
{
	unsigned long long v = UNTOUCHED;

	/* strtoull would take "-1" as 2^64-1 */
	assert_int_equal(gmem_parse_u64("-1", 0, ~0ULL, &v), -EINVAL);
	assert_int_equal(gmem_parse_u64("-0", 0, ~0ULL, &v), -EINVAL);
	assert_int_equal(gmem_parse_u64("+1", 0, ~0ULL, &v), -EINVAL);
	assert_true(v == UNTOUCHED);
}

static void parse_u64_rejects_leading_space(void **state)
{
	unsigned long long v = UNTOUCHED;

	assert_int_equal(gmem_parse_u64(" 1", 0, 100, &v), -EINVAL);
	assert_true(v == UNTOUCHED);
}

static void parse_u64_rejects_leading_tab_or_newline(void **state)
{
	unsigned long long v = UNTOUCHED;

	/* strtoull skips any isspace() byte, not just ' ' */
	assert_int_equal(gmem_parse_u64("\t1", 0, 100, &v), -EINVAL);
	assert_int_equal(gmem_parse_u64("\n1", 0, 100, &v), -EINVAL);
	assert_true(v == UNTOUCHED);
}

static void parse_u64_rejects_negative_hidden_behind_whitespace(void **state)
{
	unsigned long long v = UNTOUCHED;

	/* strtoull("\t-1") is 2^64-1 without ERANGE: it must not get through */
	assert_int_equal(gmem_parse_u64("\t-1", 0, ~0ULL, &v), -EINVAL);
	assert_int_equal(gmem_parse_u64("\v-5", 0, ~0ULL, &v), -EINVAL);
	assert_true(v == UNTOUCHED);
}

/* ---- gmem_parse_seconds ---- */

static void parse_seconds_accepts_fraction(void **state)
{
	double v = -1;

	assert_int_equal(gmem_parse_seconds("0.5", &v), 0);
	assert_true(v == 0.5);
	assert_int_equal(gmem_parse_seconds("2", &v), 0);
	assert_true(v == 2.0);
}

static void parse_seconds_rejects_zero(void **state)
{
	double v = -1;

	assert_int_equal(gmem_parse_seconds("0", &v), -EINVAL);
	assert_int_equal(gmem_parse_seconds("0.0", &v), -EINVAL);
	assert_true(v == -1);
}

static void parse_seconds_rejects_negative(void **state)
{
	double v = -1;

	assert_int_equal(gmem_parse_seconds("-1", &v), -EINVAL);
	assert_int_equal(gmem_parse_seconds("-0.5", &v), -EINVAL);
	assert_true(v == -1);
}

static void parse_seconds_rejects_nan_and_inf(void **state)
{
	double v = -1;

	assert_int_equal(gmem_parse_seconds("nan", &v), -EINVAL);
	assert_int_equal(gmem_parse_seconds("NAN", &v), -EINVAL);
	assert_int_equal(gmem_parse_seconds("inf", &v), -EINVAL);
	assert_int_equal(gmem_parse_seconds("infinity", &v), -EINVAL);
	assert_int_equal(gmem_parse_seconds("1e999", &v), -EINVAL);
	assert_true(v == -1);
}

static void parse_seconds_rejects_junk_and_empty(void **state)
{
	double v = -1;

	assert_int_equal(gmem_parse_seconds("1s", &v), -EINVAL);
	assert_int_equal(gmem_parse_seconds("abc", &v), -EINVAL);
	assert_int_equal(gmem_parse_seconds("0.5 ", &v), -EINVAL);
	assert_int_equal(gmem_parse_seconds("", &v), -EINVAL);
	assert_int_equal(gmem_parse_seconds(NULL, &v), -EINVAL);
	assert_true(v == -1);
}

/* ---- gmem_sanitize_comm ---- */

static void sanitize_comm_keeps_printable_ascii(void **state)
{
	char comm[16] = "qemu-kvm ~!\"\\{}";

	gmem_sanitize_comm(comm, sizeof(comm));
	assert_string_equal(comm, "qemu-kvm ~!\"\\{}");
}

static void sanitize_comm_replaces_control_and_non_ascii_bytes(void **state)
{
	/* \x01 control, \x1b ESC, \x7f DEL, \xc3\xa9 UTF-8 e-acute, \x80, \xff */
	char comm[16] = "a\x01" "b\x1b\x7f" "c\xc3\xa9\x80\xff" "d";

	gmem_sanitize_comm(comm, sizeof(comm));
	assert_string_equal(comm, "a?b??c????d");
}

static void sanitize_comm_stops_at_nul(void **state)
{
	char comm[8] = { 'o', 'k', '\0', '\x01', '\xff', 'x', 'y', 'z' };
	const char expect[8] = { 'o', 'k', '\0', '\x01', '\xff', 'x', 'y', 'z' };

	gmem_sanitize_comm(comm, sizeof(comm));
	assert_memory_equal(comm, expect, sizeof(expect));
}

static void sanitize_comm_stays_within_len_without_nul(void **state)
{
	/* 4 bytes handed over, the 5th is a guard that must not be touched */
	char buf[5] = { '\x01', 'a', '\x7f', 'b', '\x02' };
	const char expect[5] = { '?', 'a', '?', 'b', '\x02' };

	gmem_sanitize_comm(buf, 4);
	assert_memory_equal(buf, expect, sizeof(expect));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_u64_accepts_plain_decimal),
		cmocka_unit_test(parse_u64_accepts_values_equal_to_min_and_max),
		cmocka_unit_test(parse_u64_rejects_values_outside_min_max_with_erange),
		cmocka_unit_test(parse_u64_accepts_largest_u64),
		cmocka_unit_test(parse_u64_rejects_overflow_with_erange),
		cmocka_unit_test(parse_u64_rejects_trailing_junk),
		cmocka_unit_test(parse_u64_rejects_empty_and_null),
		cmocka_unit_test(parse_u64_rejects_signs),
		cmocka_unit_test(parse_u64_rejects_leading_space),
		cmocka_unit_test(parse_u64_rejects_leading_tab_or_newline),
		cmocka_unit_test(parse_u64_rejects_negative_hidden_behind_whitespace),
		cmocka_unit_test(parse_seconds_accepts_fraction),
		cmocka_unit_test(parse_seconds_rejects_zero),
		cmocka_unit_test(parse_seconds_rejects_negative),
		cmocka_unit_test(parse_seconds_rejects_nan_and_inf),
		cmocka_unit_test(parse_seconds_rejects_junk_and_empty),
		cmocka_unit_test(sanitize_comm_keeps_printable_ascii),
		cmocka_unit_test(sanitize_comm_replaces_control_and_non_ascii_bytes),
		cmocka_unit_test(sanitize_comm_stops_at_nul),
		cmocka_unit_test(sanitize_comm_stays_within_len_without_nul),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
