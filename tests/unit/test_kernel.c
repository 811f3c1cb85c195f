// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/lib/kernel.c's function lookup: the sorted index must
 * answer as libbpf's own linear search of the running kernel's BTF does.
 * Skipped where this machine has no /sys/kernel/btf/vmlinux.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/kernel.h"
#include "lib/log.h"

#include <bpf/btf.h>
#include <unistd.h>

static int setup(void **state)
{
	static struct gmem_kernel k;

	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return 0; /* *state stays NULL: each test skips */
	gmem_log_init("test_kernel", 0);
	if (gmem_kernel_probe(&k))
		return -1;
	*state = &k;
	return 0;
}

static int teardown(void **state)
{
	if (*state)
		gmem_kernel_free(*state);
	return 0;
}

#define KERNEL_OR_SKIP(state)                                      \
	({                                                         \
		if (!*(state))                                     \
			skip(); /* no vmlinux BTF on this machine */ \
		(struct gmem_kernel *)*(state);                    \
	})

/* Every 61st type: libbpf's search is linear, all of them would take a
 * minute under ASan. */
static void index_agrees_with_btf_for_sampled_functions(void **state)
{
	struct gmem_kernel *k = KERNEL_OR_SKIP(state);
	__u32 n = btf__type_cnt(k->btf), funcs = 0;

	for (__u32 id = 1; id < n; id += 61) {
		const struct btf_type *t = btf__type_by_id(k->btf, id);
		const char *name = btf__name_by_offset(k->btf, t->name_off);

		if (!btf_is_func(t) && !btf_is_struct(t))
			continue;
		/* a struct's name is a function's only where both exist */
		assert_int_equal(gmem_kernel_has_func(k, name),
				 btf__find_by_name_kind(k->btf, name, BTF_KIND_FUNC) > 0);
		funcs += btf_is_func(t);
	}
	assert_true(funcs > 100);
}

static void unknown_and_empty_names_are_absent(void **state)
{
	struct gmem_kernel *k = KERNEL_OR_SKIP(state);

	assert_false(gmem_kernel_has_func(k, "gmem_no_such_function_anywhere"));
	assert_false(gmem_kernel_has_func(k, ""));
	assert_true(gmem_kernel_has_func(k, "schedule"));
}

static void missing_module_has_no_functions_and_is_asked_once(void **state)
{
	struct gmem_kernel *k = KERNEL_OR_SKIP(state);

	for (int i = 0; i < 3; i++) {
		assert_false(gmem_kernel_has_module_func(k, "gmem_no_such_module", "gmem_no_such_function"));
		/* vmlinux's functions are found whatever the module */
		assert_true(gmem_kernel_has_module_func(k, "gmem_no_such_module", "schedule"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(index_agrees_with_btf_for_sampled_functions),
		cmocka_unit_test(unknown_and_empty_names_are_absent),
		cmocka_unit_test(missing_module_has_no_functions_and_is_asked_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
