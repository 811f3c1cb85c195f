// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "lib/attrib.h"

#include <string.h>

/*
 * Callers that identify an API, by function-name prefix.  The innermost
 * matching frame wins: a vhost or VFIO path may go through helpers that
 * look like something else further out.  Names are those of Linux 6.12 to
 * 7.3; a rename shows up as "other", never as a wrong API.
 */
static const struct {
	const char *prefix;
	enum gmem_api api;
} callers[] = {
	{ "io_sqe_buffer_register", GMEM_API_IO_URING },
	{ "io_sqe_buffers_register", GMEM_API_IO_URING },
	{ "io_pin_pages", GMEM_API_IO_URING },
	{ "io_register_", GMEM_API_IO_URING },
	{ "iov_iter_extract_pages", GMEM_API_O_DIRECT },
	{ "bio_iov_iter_get_pages", GMEM_API_O_DIRECT },
	{ "__bio_iov_iter_get_pages", GMEM_API_O_DIRECT },
	{ "iomap_dio_", GMEM_API_O_DIRECT },
	{ "__iomap_dio_rw", GMEM_API_O_DIRECT },
	{ "blkdev_direct_IO", GMEM_API_O_DIRECT },
	{ "__blkdev_direct_IO", GMEM_API_O_DIRECT },
	{ "__blockdev_direct_IO", GMEM_API_O_DIRECT }, /* fs/direct-io.c: folio_add_pin */
	{ "do_blockdev_direct_IO", GMEM_API_O_DIRECT },
	{ "vfio_pin_", GMEM_API_VFIO },
	{ "vfio_iommu_type1_", GMEM_API_VFIO },
	{ "vaddr_get_pfns", GMEM_API_VFIO },
	/* iommufd (drivers/iommu/iommufd/pages.c): the IOAS of a VFIO cdev
	 * device, of vDPA, or of iommufd's own test mock */
	{ "pfn_reader_", GMEM_API_IOMMUFD },
	{ "iopt_", GMEM_API_IOMMUFD },
	{ "iommufd_", GMEM_API_IOMMUFD },
	{ "vhost_vdpa_", GMEM_API_VHOST_VDPA },
	{ "vhost_", GMEM_API_VHOST },
	/* mm/gup.c: udmabuf and iommufd file mappings; shmem and hugetlbfs
	 * files only, so it names pins of memslot backing, never guest_memfd */
	{ "memfd_pin_folios", GMEM_API_MEMFD_PIN_FOLIOS },
	{ "__kvm_vcpu_map", GMEM_API_KVM_VCPU_MAP },
	{ "kvm_vcpu_map", GMEM_API_KVM_VCPU_MAP },
	/* KVM's pfn plumbing, shared by its page faults and its own maps:
	 * "kvm" unless a caller further out says which (kvm_users below) */
	{ "hva_to_pfn", GMEM_API_KVM },
	{ "__gfn_to_pfn", GMEM_API_KVM },
	{ "kvm_follow_pfn", GMEM_API_KVM },
	{ "gup_test_ioctl", GMEM_API_GUP_TEST },
	{ "__gup_test_ioctl", GMEM_API_GUP_TEST },
	{ "pin_longterm_test_", GMEM_API_GUP_TEST },
	{ "vmsplice_", GMEM_API_VMSPLICE },
	{ "__do_sys_vmsplice", GMEM_API_VMSPLICE },
	{ "iter_to_pipe", GMEM_API_VMSPLICE },
};

/*
 * The users of KVM's pfn plumbing that have an API of their own.  Since
 * 6.13 __kvm_vcpu_map() pins (FOLL_PIN) through kvm_follow_pfn() and
 * hva_to_pfn(), which are inner frames and would name it plain "kvm".
 */
static const struct {
	const char *prefix;
	enum gmem_api api;
} kvm_users[] = {
	{ "__kvm_vcpu_map", GMEM_API_KVM_VCPU_MAP },
	{ "kvm_vcpu_map", GMEM_API_KVM_VCPU_MAP },
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static bool has_prefix(const char *name, const char *prefix)
{
	return name && !strncmp(name, prefix, strlen(prefix));
}

/* The KVM user at or outside frame 'from', or plain KVM. */
static enum gmem_api kvm_user(const char *const *frames, int from, int nr)
{
	for (int i = from; i < nr; i++)
		for (size_t c = 0; c < N_ELEMS(kvm_users); c++)
			if (has_prefix(frames[i], kvm_users[c].prefix))
				return kvm_users[c].api;
	return GMEM_API_KVM;
}

enum gmem_api gmem_classify_api(const char *const *frames, int nr)
{
	for (int i = 0; i < nr; i++)
		for (size_t c = 0; c < N_ELEMS(callers); c++)
			if (has_prefix(frames[i], callers[c].prefix))
				return callers[c].api == GMEM_API_KVM ? kvm_user(frames, i, nr)
								     : callers[c].api;
	return GMEM_API_OTHER;
}

/*
 * References the page cache or a mapping owns, by the function that took
 * them: adding a folio to the page cache, and faulting it into a page table
 * (guest_memfd's fault handler hands its lookup reference to the PTE).
 */
static const char *const cache_or_mapping_callers[] = {
	"__filemap_add_folio", "filemap_add_folio", "kvm_gmem_fault_user_mapping",
	"finish_fault", "set_pte_range", "filemap_map_pages", "do_set_pmd",
};

bool gmem_stack_is_cache_or_mapping(const char *const *frames, int nr)
{
	for (int i = 0; i < nr; i++)
		for (size_t c = 0; frames[i] && c < sizeof(cache_or_mapping_callers) /
						     sizeof(cache_or_mapping_callers[0]); c++)
			if (!strcmp(frames[i], cache_or_mapping_callers[c]))
				return true;
	return false;
}

const char *gmem_api_name(enum gmem_api api)
{
	static const char *const names[GMEM_API_NR] = {
		[GMEM_API_OTHER] = "other",       [GMEM_API_IO_URING] = "io_uring",
		[GMEM_API_O_DIRECT] = "o_direct", [GMEM_API_VFIO] = "vfio",
		[GMEM_API_VHOST] = "vhost",       [GMEM_API_KVM] = "kvm",
		[GMEM_API_GUP_TEST] = "gup_test", [GMEM_API_VMSPLICE] = "vmsplice",
		[GMEM_API_IOMMUFD] = "iommufd",   [GMEM_API_VHOST_VDPA] = "vhost-vdpa",
		[GMEM_API_MEMFD_PIN_FOLIOS] = "memfd_pin_folios",
		[GMEM_API_KVM_VCPU_MAP] = "kvm-vcpu-map",
	};

	return (unsigned)api < GMEM_API_NR ? names[api] : "other";
}
