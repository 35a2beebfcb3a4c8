#include "vmm/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

int vmm_mem_create(struct vmm_mem *m, uint64_t size, bool hugepages, hk_err **err)
{
	m->host = NULL;
	m->fd = -1;
	m->size = size;
	if (size < (16ULL << 20) || size > (1ULL << 40) || (size & 0xfffff))
		return hk_err_set(err, EINVAL,
		                  "guest memory of %llu bytes: want 16 MiB to 1 TiB, "
		                  "in whole MiB",
		                  (unsigned long long)size);
	/* A memfd rather than anonymous memory: vhost-user back ends map the
	 * same pages through the fd. Sealing growth keeps a back end (or a bug)
	 * from resizing it under the guest. */
	m->fd = memfd_create("husk-guest-ram",
	                     MFD_CLOEXEC | MFD_ALLOW_SEALING | (hugepages ? MFD_HUGETLB : 0));
	if (m->fd < 0)
		return hk_err_set(err, errno, "memfd_create for guest memory%s",
		                  hugepages ? " (hugepages)" : "");
	if (ftruncate(m->fd, (off_t)size) < 0) {
		int e = errno;
		vmm_mem_destroy(m);
		return hk_err_set(err, e, "size guest memory to %llu MiB",
		                  (unsigned long long)(size >> 20));
	}
	(void)fcntl(m->fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	/* MAP_NORESERVE: pages are touched lazily, only what the guest uses. */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		vmm_mem_destroy(m);
		return hk_err_set(err, e, "map guest memory");
	}
	m->host = p;
	/* Guest memory in a core dump of the monitor would leak the guest. */
	(void)madvise(p, size, MADV_DONTDUMP);
	return 0;
}

void vmm_mem_destroy(struct vmm_mem *m)
{
	if (m->host)
		munmap(m->host, m->size);
	if (m->fd >= 0)
		close(m->fd);
	m->host = NULL;
	m->fd = -1;
}
