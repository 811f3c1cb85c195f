// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of src/lib/kconfig.c (kernel config text) and of the LSM list
 * parser in src/lib/kernel.c: what --probe names the options from. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/kconfig.h"
#include "lib/kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* The shapes of a real .config: header comments, y/m/strings/numbers,
 * "is not set" lines, and names that are prefixes of others. */
static const char config[] =
	"#\n"
	"# Automatically generated file; DO NOT EDIT.\n"
	"# Linux/x86 7.3.4 Kernel Configuration\n"
	"#\n"
	"CONFIG_BPF_SYSCALL=y\n"
	"CONFIG_BPF_JIT=y\n"
	"CONFIG_KVM=m\n"
	"CONFIG_KVM_GUEST_MEMFD=y\n"
	"# CONFIG_KVM_SW_PROTECTED_VM is not set\n"
	"CONFIG_LSM=\"landlock,lockdown,yama,bpf\"\n"
	"CONFIG_NR_CPUS=64\n"
	"# CONFIG_DEBUG_PAGE_REF is not set\n"
	"CONFIG_DEBUG_INFO_BTF_MODULES=y\n"
	"CONFIG_LAST=y"; /* no newline at the end */

static void lookup_reads_y_m_strings_and_numbers(void **state)
{
	char v[64];

	assert_int_equal(gmem_kconfig_lookup(config, "CONFIG_BPF_SYSCALL", v, sizeof(v)),
			 GMEM_KCONFIG_SET);
	assert_string_equal(v, "y");
	assert_int_equal(gmem_kconfig_lookup(config, "CONFIG_KVM", v, sizeof(v)), GMEM_KCONFIG_SET);
	assert_string_equal(v, "m");
	assert_int_equal(gmem_kconfig_lookup(config, "CONFIG_LSM", v, sizeof(v)), GMEM_KCONFIG_SET);
	assert_string_equal(v, "landlock,lockdown,yama,bpf");
	assert_int_equal(gmem_kconfig_lookup(config, "CONFIG_NR_CPUS", v, sizeof(v)),
			 GMEM_KCONFIG_SET);
	assert_string_equal(v, "64");
	assert_int_equal(gmem_kconfig_lookup(config, "CONFIG_LAST", v, sizeof(v)), GMEM_KCONFIG_SET);
	assert_string_equal(v, "y");
}

static void lookup_is_not_fooled_by_comments_or_prefixes(void **state)
{
	char v[64];

	/* "# CONFIG_X is not set" and absence both mean unset */
	assert_int_equal(gmem_kconfig_lookup(config, "CONFIG_KVM_SW_PROTECTED_VM", v, sizeof(v)),
			 GMEM_KCONFIG_UNSET);
	assert_int_equal(gmem_kconfig_lookup(config, "CONFIG_GUP_TEST", v, sizeof(v)),
			 GMEM_KCONFIG_UNSET);
	/* CONFIG_DEBUG_INFO_BTF_MODULES=y does not set CONFIG_DEBUG_INFO_BTF */
	assert_int_equal(gmem_kconfig_lookup(config, "CONFIG_DEBUG_INFO_BTF", v, sizeof(v)),
			 GMEM_KCONFIG_UNSET);
	/* nor does CONFIG_KVM=m set CONFIG_KV */
	assert_int_equal(gmem_kconfig_lookup(config, "CONFIG_KV", v, sizeof(v)),
			 GMEM_KCONFIG_UNSET);
	/* a name in the middle of a comment line is not a setting */
	assert_int_equal(gmem_kconfig_lookup("# see CONFIG_KVM=y\n", "CONFIG_KVM", v, sizeof(v)),
			 GMEM_KCONFIG_UNSET);
}

static void lookup_without_config_is_unknown(void **state)
{
	char v[8] = "x";

	assert_int_equal(gmem_kconfig_lookup(NULL, "CONFIG_KVM", v, sizeof(v)),
			 GMEM_KCONFIG_UNKNOWN);
	assert_string_equal(v, "x");
}

static void lookup_truncates_long_values_safely(void **state)
{
	char v[5];

	assert_int_equal(gmem_kconfig_lookup(config, "CONFIG_LSM", v, sizeof(v)), GMEM_KCONFIG_SET);
	assert_string_equal(v, "land");
}

static void describe_names_the_option_and_its_state(void **state)
{
	struct gmem_kconfig c = { .text = (char *)config };
	char buf[128];

	gmem_kconfig_describe(&c, "CONFIG_KVM", buf, sizeof(buf));
	assert_string_equal(buf, "CONFIG_KVM=m");
	gmem_kconfig_describe(&c, "CONFIG_DEBUG_PAGE_REF", buf, sizeof(buf));
	assert_string_equal(buf, "CONFIG_DEBUG_PAGE_REF is not set");
	c.text = NULL;
	gmem_kconfig_describe(&c, "CONFIG_KVM", buf, sizeof(buf));
	assert_string_equal(buf, "CONFIG_KVM unknown (no kernel config)");
}

static void enabled_means_y_or_m_only(void **state)
{
	struct gmem_kconfig c = { .text = (char *)config };

	assert_true(gmem_kconfig_enabled(&c, "CONFIG_BPF_JIT"));
	assert_true(gmem_kconfig_enabled(&c, "CONFIG_KVM"));
	assert_false(gmem_kconfig_enabled(&c, "CONFIG_NR_CPUS"));
	assert_false(gmem_kconfig_enabled(&c, "CONFIG_KVM_SW_PROTECTED_VM"));
	c.text = NULL;
	assert_false(gmem_kconfig_enabled(&c, "CONFIG_BPF_JIT"));
}

/* Writes the config to a temporary file, gzip-compressed or not. */
static void write_config(const char *path, bool gz)
{
	if (gz) {
		gzFile f = gzopen(path, "wb");

		assert_non_null(f);
		assert_int_equal(gzwrite(f, config, sizeof(config) - 1), (int)sizeof(config) - 1);
		assert_int_equal(gzclose(f), Z_OK);
	} else {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		assert_int_equal(fwrite(config, 1, sizeof(config) - 1, f), sizeof(config) - 1);
		assert_int_equal(fclose(f), 0);
	}
}

static void read_takes_plain_and_gzip_files_alike(void **state)
{
	char path[] = "/tmp/gmem-kconfig-XXXXXX";
	struct gmem_kconfig c = {};
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	for (int gz = 0; gz < 2; gz++) {
		write_config(path, gz);
		assert_int_equal(gmem_kconfig_read(&c, path), 0);
		assert_string_equal(c.text, config);
		assert_string_equal(c.source, path);
	}
	gmem_kconfig_free(&c);
	assert_null(c.text);
	unlink(path);
}

static void read_of_a_missing_file_fails_and_keeps_nothing(void **state)
{
	struct gmem_kconfig c = {};

	assert_true(gmem_kconfig_read(&c, "/nonexistent/config") < 0);
	assert_null(c.text);
}

/* ---- gmem_lsm_list_has: /sys/kernel/security/lsm ---- */

static void lsm_list_finds_whole_names_anywhere(void **state)
{
	const char *list = "lockdown,capability,landlock,yama,apparmor,bpf";

	assert_true(gmem_lsm_list_has(list, "bpf"));
	assert_true(gmem_lsm_list_has(list, "lockdown"));
	assert_true(gmem_lsm_list_has(list, "yama"));
	assert_true(gmem_lsm_list_has("bpf\n", "bpf"));
}

static void lsm_list_does_not_match_parts_of_names(void **state)
{
	assert_false(gmem_lsm_list_has("lockdown,capability,bpffoo", "bpf"));
	assert_false(gmem_lsm_list_has("lockdown,xbpf", "bpf"));
	assert_false(gmem_lsm_list_has("", "bpf"));
	assert_false(gmem_lsm_list_has("bp", "bpf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookup_reads_y_m_strings_and_numbers),
		cmocka_unit_test(lookup_is_not_fooled_by_comments_or_prefixes),
		cmocka_unit_test(lookup_without_config_is_unknown),
		cmocka_unit_test(lookup_truncates_long_values_safely),
		cmocka_unit_test(describe_names_the_option_and_its_state),
		cmocka_unit_test(enabled_means_y_or_m_only),
		cmocka_unit_test(read_takes_plain_and_gzip_files_alike),
		cmocka_unit_test(read_of_a_missing_file_fails_and_keeps_nothing),
		cmocka_unit_test(lsm_list_finds_whole_names_anywhere),
		cmocka_unit_test(lsm_list_does_not_match_parts_of_names),
	};

	return cmocka_run_group_tests_name("kconfig", tests, NULL, NULL);
}
