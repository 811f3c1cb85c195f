// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Which API took a pin, told from stack symbols; kallsyms address lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lib/attrib.h"
#include "lib/kallsyms.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The stack Debian's 7.3 gives for io_uring_register(IORING_REGISTER_BUFFERS). */
static void io_uring_registration_is_io_uring(void **state)
{
	const char *st[] = { "follow_page_pte", "__get_user_pages", "__gup_longterm_locked",
			     "gup_fast_fallback", "io_pin_pages", "io_sqe_buffer_register",
			     "io_sqe_buffers_register.cold", "__x64_sys_io_uring_register" };

	assert_int_equal(gmem_classify_api(st, N(st)), GMEM_API_IO_URING);
	assert_string_equal(gmem_api_name(GMEM_API_IO_URING), "io_uring");
}

/* O_DIRECT issued through io_uring is O_DIRECT's pin: innermost wins. */
static void o_direct_under_io_uring_is_o_direct(void **state)
{
	const char *st[] = { "gup_fast_fallback", "iov_iter_extract_pages",
			     "bio_iov_iter_get_pages", "__iomap_dio_rw", "ext4_file_read_iter",
			     "io_read", "io_issue_sqe", "io_submit_sqes" };

	assert_int_equal(gmem_classify_api(st, N(st)), GMEM_API_O_DIRECT);
}

static void each_known_caller_is_named(void **state)
{
	const struct { const char *fn; enum gmem_api api; const char *name; } cases[] = {
		{ "vfio_pin_pages_remote", GMEM_API_VFIO, "vfio" },
		{ "pfn_reader_user_pin", GMEM_API_IOMMUFD, "iommufd" },
		{ "iommufd_ioas_map", GMEM_API_IOMMUFD, "iommufd" },
		{ "vhost_vdpa_pa_map", GMEM_API_VHOST_VDPA, "vhost-vdpa" },
		{ "vhost_net_ioctl", GMEM_API_VHOST, "vhost" },
		{ "memfd_pin_folios", GMEM_API_MEMFD_PIN_FOLIOS, "memfd_pin_folios" },
		{ "__blockdev_direct_IO", GMEM_API_O_DIRECT, "o_direct" },
		{ "__kvm_vcpu_map", GMEM_API_KVM_VCPU_MAP, "kvm-vcpu-map" },
		{ "kvm_vcpu_map", GMEM_API_KVM_VCPU_MAP, "kvm-vcpu-map" },
		{ "kvm_follow_pfn", GMEM_API_KVM, "kvm" },
		{ "gup_test_ioctl", GMEM_API_GUP_TEST, "gup_test" },
		{ "vmsplice_to_pipe", GMEM_API_VMSPLICE, "vmsplice" },
	};

	for (int i = 0; i < N(cases); i++) {
		const char *st[] = { "try_grab_folio", NULL, cases[i].fn, "do_syscall_64" };

		assert_int_equal(gmem_classify_api(st, N(st)), cases[i].api);
		assert_string_equal(gmem_api_name(cases[i].api), cases[i].name);
	}
}

/* vhost-vdpa's pin goes through generic vhost code further out: the
 * innermost frame, vhost_vdpa_pa_map, names it. */
static void vhost_vdpa_iotlb_update_is_vhost_vdpa(void **state)
{
	const char *st[] = { "try_grab_folio", "follow_page_pte", "__get_user_pages",
			     "__gup_longterm_locked", "pin_user_pages", "vhost_vdpa_pa_map",
			     "vhost_vdpa_process_iotlb_msg", "vhost_chr_write_iter",
			     "vfs_write" };

	assert_int_equal(gmem_classify_api(st, N(st)), GMEM_API_VHOST_VDPA);
}

/*
 * KVM's own map of a guest page (7.3, VMSAVE intercepted): the pin goes
 * through KVM's pfn plumbing, whose inner frames alone would say "kvm";
 * the caller further out names it.  A guest page fault through the same
 * plumbing stays "kvm".
 */
static void kvm_vcpu_map_outside_kvm_plumbing_is_kvm_vcpu_map(void **state)
{
	const char *map[] = { "try_grab_folio_fast", "gup_fast_fallback", "pin_user_pages_fast",
			      "hva_to_pfn", "__kvm_vcpu_map", "vmload_vmsave_interception",
			      "svm_invoke_exit_handler", "vcpu_run", "kvm_vcpu_ioctl" };
	const char *old[] = { "try_grab_folio_fast", "get_user_page_fast_only", "hva_to_pfn",
			      "__gfn_to_pfn_memslot", "kvm_vcpu_map", "nested_svm_vmrun" };
	const char *fault[] = { "try_grab_folio_fast", "get_user_page_fast_only", "hva_to_pfn",
				"__kvm_faultin_pfn", "kvm_mmu_faultin_pfn", "kvm_tdp_page_fault",
				"kvm_mmu_page_fault", "npf_interception", "vcpu_run" };

	assert_int_equal(gmem_classify_api(map, N(map)), GMEM_API_KVM_VCPU_MAP);
	assert_string_equal(gmem_api_name(GMEM_API_KVM_VCPU_MAP), "kvm-vcpu-map");
	assert_int_equal(gmem_classify_api(old, N(old)), GMEM_API_KVM_VCPU_MAP);
	assert_int_equal(gmem_classify_api(fault, N(fault)), GMEM_API_KVM);
}

static void unknown_or_empty_stack_is_other(void **state)
{
	const char *st[] = { "follow_page_pte", "__get_user_pages", "my_driver_ioctl" };

	assert_int_equal(gmem_classify_api(st, N(st)), GMEM_API_OTHER);
	assert_int_equal(gmem_classify_api(NULL, 0), GMEM_API_OTHER);
	assert_string_equal(gmem_api_name(GMEM_API_OTHER), "other");
	assert_string_equal(gmem_api_name((enum gmem_api)99), "other");
}

static void lookup_finds_containing_symbol_within_bounds(void **state)
{
	static const char text[] = "ffffffff81000000 T _stext\n"
				   "ffffffff81001000 t follow_page_pte\n"
				   "ffffffff81002000 T io_pin_pages\n"
				   "ffffffffc0001000 t kvm_vcpu_map\t[kvm]\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct gmem_kallsyms ks;
	__u64 off = 0;
	const char *n;

	assert_non_null(f);
	assert_int_equal(gmem_kallsyms_parse(&ks, f), 0);
	fclose(f);
	n = gmem_kallsyms_lookup(&ks, 0xffffffff810010e6ULL, &off);
	assert_string_equal(n, "follow_page_pte");
	assert_true(off == 0xe6);
	n = gmem_kallsyms_lookup(&ks, 0xffffffffc0001010ULL, &off);
	assert_string_equal(n, "kvm_vcpu_map");
	assert_true(off == 0x10);
	/* below every symbol, and far past the last one (a BPF trampoline) */
	assert_null(gmem_kallsyms_lookup(&ks, 0xffffffff80000000ULL, &off));
	assert_null(gmem_kallsyms_lookup(&ks, 0xffffffffc0001000ULL + GMEM_KSYM_MAX_SIZE + 1, &off));
	gmem_kallsyms_free(&ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(io_uring_registration_is_io_uring),
		cmocka_unit_test(o_direct_under_io_uring_is_o_direct),
		cmocka_unit_test(each_known_caller_is_named),
		cmocka_unit_test(vhost_vdpa_iotlb_update_is_vhost_vdpa),
		cmocka_unit_test(kvm_vcpu_map_outside_kvm_plumbing_is_kvm_vcpu_map),
		cmocka_unit_test(unknown_or_empty_stack_is_other),
		cmocka_unit_test(lookup_finds_containing_symbol_within_bounds),
	};

	return cmocka_run_group_tests_name("attrib", tests, NULL, NULL);
}
