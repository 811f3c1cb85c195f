// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of src/lib/cgroup.c: gmemtop -c's argument.  Paths are tried
 * against a scratch directory (not cgroup2); where this machine mounts
 * cgroup2 on /sys/fs/cgroup, against it too, with the root cgroup's id (1)
 * and the directory's inode number as the independent truth.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lib/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define UNTOUCHED 0xdeadbeefULL

static void numeric_id_is_taken_as_is(void **state)
{
	__u64 id = UNTOUCHED;

	assert_int_equal(gmem_parse_cgroup("4321", "/nonexistent", &id), 0);
	assert_true(id == 4321);
	assert_int_equal(gmem_parse_cgroup("1", NULL, &id), 0);
	assert_true(id == 1);
	assert_int_equal(gmem_parse_cgroup("18446744073709551615", NULL, &id), 0);
	assert_true(id == UINT64_MAX);
}

static void id_zero_or_too_large_is_rejected(void **state)
{
	__u64 id = UNTOUCHED;

	assert_int_equal(gmem_parse_cgroup("0", NULL, &id), -EINVAL);
	assert_int_equal(gmem_parse_cgroup("18446744073709551616", NULL, &id), -EINVAL);
	assert_int_equal(gmem_parse_cgroup("", NULL, &id), -EINVAL);
	assert_int_equal(gmem_parse_cgroup(NULL, NULL, &id), -EINVAL);
	assert_true(id == UNTOUCHED);
}

/* Not all digits: a path, relative to the root given. */
static void other_words_are_paths_that_must_exist(void **state)
{
	__u64 id = UNTOUCHED;

	assert_int_equal(gmem_parse_cgroup("12x", "/nonexistent", &id), -ENOENT);
	assert_int_equal(gmem_parse_cgroup("-1", "/nonexistent", &id), -ENOENT);
	assert_int_equal(gmem_parse_cgroup("/nonexistent/cg", NULL, &id), -ENOENT);
	assert_true(id == UNTOUCHED);
}

static void directory_not_on_cgroup2_is_rejected(void **state)
{
	char dir[] = "/tmp/gmem-cgroup-test.XXXXXX", sub[PATH_MAX], file[PATH_MAX];
	__u64 id = UNTOUCHED;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(file, sizeof(file), "%s/file", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);

	assert_int_equal(gmem_parse_cgroup("sub", dir, &id), -EMEDIUMTYPE);
	assert_int_equal(gmem_parse_cgroup(sub, NULL, &id), -EMEDIUMTYPE);
	assert_int_equal(gmem_parse_cgroup("file", dir, &id), -ENOTDIR);
	assert_true(id == UNTOUCHED);
	assert_non_null(strstr(gmem_cgroup_strerror(-EMEDIUMTYPE), "cgroup2"));
	assert_non_null(strstr(gmem_cgroup_strerror(-EINVAL), "cgroup id"));

	unlink(file);
	rmdir(sub);
	rmdir(dir);
}

static bool cgroup2_mounted(void)
{
	struct statfs sfs;

	return !statfs(GMEM_CGROUP_ROOT, &sfs) && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

static void cgroup2_root_is_id_1_and_children_their_inode(void **state)
{
	struct dirent *d;
	struct stat st;
	char path[PATH_MAX];
	__u64 id = UNTOUCHED;
	DIR *dir;

	if (!cgroup2_mounted())
		skip(); /* cgroup v1 or none here: the VM test covers it */
	assert_int_equal(gmem_parse_cgroup(GMEM_CGROUP_ROOT, NULL, &id), 0);
	assert_true(id == 1);
	assert_int_equal(gmem_parse_cgroup(".", NULL, &id), 0);
	assert_true(id == 1);
	dir = opendir(GMEM_CGROUP_ROOT);
	assert_non_null(dir);
	while ((d = readdir(dir)))
		if (d->d_type == DT_DIR && d->d_name[0] != '.')
			break;
	if (d) {
		snprintf(path, sizeof(path), "%s/%s", GMEM_CGROUP_ROOT, d->d_name);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(gmem_parse_cgroup(d->d_name, NULL, &id), 0);
		assert_true(id == (__u64)st.st_ino);
	}
	closedir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numeric_id_is_taken_as_is),
		cmocka_unit_test(id_zero_or_too_large_is_rejected),
		cmocka_unit_test(other_words_are_paths_that_must_exist),
		cmocka_unit_test(directory_not_on_cgroup2_is_rejected),
		cmocka_unit_test(cgroup2_root_is_id_1_and_children_their_inode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
