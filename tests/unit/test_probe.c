// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the probe report (src/lib/probe.c): order, verdict and
 * both renderings, on items made up here (no kernel involved). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/probe.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static void fill(struct gmem_probe_report *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->release, sizeof(r->release), "7.3.4-test");
	assert_int_equal(gmem_probe_add(r, false, true, "kprobes", "kprobe/%s ok", "vfs_read"), 0);
	assert_int_equal(gmem_probe_add(r, true, true, "vmlinux BTF", "1 types"), 0);
	assert_int_equal(gmem_probe_add(r, false, false, "gup_test", "absent"), 0);
	assert_int_equal(gmem_probe_add(r, true, false, "fexit/try_grab_folio",
					"failed to load: Operation not permitted (EPERM)"), 0);
}

static char *render(const struct gmem_probe_report *r, enum gmem_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(gmem_render_probe(f, r, fmt), 0);
	fclose(f);
	return buf;
}

static void sort_puts_required_first_and_keeps_order(void **state)
{
	struct gmem_probe_report r;

	fill(&r);
	gmem_probe_sort(&r);
	assert_string_equal(r.items[0].feature, "vmlinux BTF");
	assert_string_equal(r.items[1].feature, "fexit/try_grab_folio");
	assert_string_equal(r.items[2].feature, "kprobes");
	assert_string_equal(r.items[3].feature, "gup_test");
	gmem_probe_free(&r);
}

static void ok_only_when_every_required_item_is_available(void **state)
{
	struct gmem_probe_report r;

	fill(&r);
	assert_false(gmem_probe_ok(&r));
	r.items[3].available = true; /* the missing required one */
	assert_true(gmem_probe_ok(&r)); /* optional ones missing do not count */
	gmem_probe_free(&r);
}

static void json_is_one_object_with_every_feature(void **state)
{
	struct gmem_probe_report r;
	struct json_object *o, *arr, *f, *v;
	char *buf;

	fill(&r);
	buf = render(&r, GMEM_FMT_JSON);
	o = json_tokener_parse(buf);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "ok", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(o, "config", &v));
	assert_null(v); /* no config read: null, not "" */
	assert_true(json_object_object_get_ex(o, "features", &arr));
	assert_int_equal(json_object_array_length(arr), 4);
	f = json_object_array_get_idx(arr, 3);
	assert_true(json_object_object_get_ex(f, "feature", &v));
	assert_string_equal(json_object_get_string(v), "fexit/try_grab_folio");
	assert_true(json_object_object_get_ex(f, "available", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(f, "required", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(f, "detail", &v));
	assert_non_null(strstr(json_object_get_string(v), "EPERM"));
	json_object_put(o);
	free(buf);
	gmem_probe_free(&r);
}

static void table_has_a_row_per_feature_and_a_verdict(void **state)
{
	struct gmem_probe_report r;
	char *buf;

	fill(&r);
	buf = render(&r, GMEM_FMT_TABLE);
	assert_non_null(strstr(buf, "kernel 7.3.4-test, config unknown"));
	assert_non_null(strstr(buf, "required  fexit/try_grab_folio"));
	assert_non_null(strstr(buf, " no    failed to load: Operation not permitted (EPERM)\n"));
	assert_non_null(strstr(buf, "optional  kprobes"));
	assert_non_null(strstr(buf, "gmemtop cannot run here"));
	free(buf);
	gmem_probe_free(&r);
}

static void details_longer_than_an_item_are_cut_not_overflowed(void **state)
{
	struct gmem_probe_report r = {};
	char big[2000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(gmem_probe_add(&r, true, true, big, "%s", big), 0);
	assert_int_equal(strlen(r.items[0].detail), sizeof(r.items[0].detail) - 1);
	assert_int_equal(strlen(r.items[0].feature), sizeof(r.items[0].feature) - 1);
	gmem_probe_free(&r);
}

static void errno_names_the_ones_probing_meets(void **state)
{
	assert_string_equal(gmem_errno_name(-EPERM), "EPERM");
	assert_string_equal(gmem_errno_name(ESRCH), "ESRCH");
	assert_string_equal(gmem_errno_name(-524), "ENOTSUPP");
	assert_string_equal(gmem_errno_name(-9999), "E?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sort_puts_required_first_and_keeps_order),
		cmocka_unit_test(ok_only_when_every_required_item_is_available),
		cmocka_unit_test(json_is_one_object_with_every_feature),
		cmocka_unit_test(table_has_a_row_per_feature_and_a_verdict),
		cmocka_unit_test(details_longer_than_an_item_are_cut_not_overflowed),
		cmocka_unit_test(errno_names_the_ones_probing_meets),
	};

	return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
