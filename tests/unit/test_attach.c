// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the fentry-first, kprobe-fallback choice (src/lib/bpfutil.c),
 * with a start function that fails on request instead of a kernel. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/bpfutil.h"
#include "lib/log.h"

#include <errno.h>
#include <string.h>

/* What the fake start was asked for, and how each family ends. */
struct fake {
	int fentry_err, kprobe_err;
	int calls;
	enum gmem_attach_mode asked[4];
};

static int fake_start(void *ctx, enum gmem_attach_mode family)
{
	struct fake *f = ctx;
	int err = family == GMEM_ATTACH_FENTRY ? f->fentry_err : f->kprobe_err;

	if (f->calls < 4)
		f->asked[f->calls] = family;
	f->calls++;
	if (err)
		gmem_err("%s failed for the test", family == GMEM_ATTACH_FENTRY ? "trampoline" : "kprobe");
	return err;
}

static int quiet_setup(void **state)
{
	gmem_log_init("test", 0);
	gmem_log_set_quiet(true);
	return 0;
}

static void mode_names_parse_back(void **state)
{
	enum gmem_attach_mode m;

	for (int i = GMEM_ATTACH_AUTO; i <= GMEM_ATTACH_KPROBE; i++) {
		assert_int_equal(gmem_attach_mode_parse(gmem_attach_mode_name(i), &m), 0);
		assert_int_equal(m, i);
	}
	assert_int_equal(gmem_attach_mode_parse("kprobes", &m), -EINVAL);
	assert_int_equal(gmem_attach_mode_parse("", &m), -EINVAL);
}

static void forced_mode_tries_only_that_family(void **state)
{
	struct fake f = { .fentry_err = -EPERM };
	enum gmem_attach_mode chosen;

	assert_int_equal(gmem_bpf_start_family(GMEM_ATTACH_KPROBE, "x", fake_start, &f, &chosen), 0);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.asked[0], GMEM_ATTACH_KPROBE);
	assert_int_equal(chosen, GMEM_ATTACH_KPROBE);

	f.calls = 0;
	assert_int_equal(gmem_bpf_start_family(GMEM_ATTACH_FENTRY, "x", fake_start, &f, &chosen),
			 -EPERM);
	assert_int_equal(f.calls, 1); /* no fallback when fentry is forced */
}

static void auto_prefers_fentry(void **state)
{
	struct fake f = {};
	enum gmem_attach_mode chosen;

	assert_int_equal(gmem_bpf_start_family(GMEM_ATTACH_AUTO, "x", fake_start, &f, &chosen), 0);
	assert_int_equal(f.calls, 1);
	assert_int_equal(chosen, GMEM_ATTACH_FENTRY);
}

static void auto_falls_back_to_kprobes(void **state)
{
	struct fake f = { .fentry_err = -EPERM };
	enum gmem_attach_mode chosen;

	assert_int_equal(gmem_bpf_start_family(GMEM_ATTACH_AUTO, "x", fake_start, &f, &chosen), 0);
	assert_int_equal(f.calls, 2);
	assert_int_equal(f.asked[0], GMEM_ATTACH_FENTRY);
	assert_int_equal(f.asked[1], GMEM_ATTACH_KPROBE);
	assert_int_equal(chosen, GMEM_ATTACH_KPROBE);
}

static void auto_failing_twice_names_both_reasons(void **state)
{
	struct fake f = { .fentry_err = -EPERM, .kprobe_err = -ENOENT };
	enum gmem_attach_mode chosen;
	const char *msg;

	assert_int_equal(gmem_bpf_start_family(GMEM_ATTACH_AUTO, "track pins", fake_start, &f,
					       &chosen), -EPERM);
	msg = gmem_log_last_error();
	assert_non_null(strstr(msg, "cannot track pins"));
	assert_non_null(strstr(msg, "trampoline failed for the test"));
	assert_non_null(strstr(msg, "kprobe failed for the test"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mode_names_parse_back),
		cmocka_unit_test(forced_mode_tries_only_that_family),
		cmocka_unit_test(auto_prefers_fentry),
		cmocka_unit_test(auto_falls_back_to_kprobes),
		cmocka_unit_test(auto_failing_twice_names_both_reasons),
	};

	return cmocka_run_group_tests_name("attach", tests, quiet_setup, NULL);
}
