/* Mount targets made in a read-only root before it is shared, as runc
 * makes them before it remounts the root read-only: the guest cannot write
 * there, and images such as Kubernetes' pause have no /etc for the
 * resolv.conf and hostname the engines bind in. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/util.h"
#include "oci/spec.h"

int oci_make_targets(const struct oci_spec *spec, const char *root, const char *bundle,
                     hk_err **err)
{
	for (size_t i = 0; i < spec->mounts.n; i++) {
		const struct oci_mount *m = &spec->mounts.v[i];
		bool dir = true;
		if (m->destination == NULL)
			continue;
		if (oci_mount_is_bind(m) && m->source) {
			char src[PATH_MAX];
			struct stat st;
			if (m->source[0] == '/')
				snprintf(src, sizeof(src), "%s", m->source);
			else
				snprintf(src, sizeof(src), "%s/%s", bundle, m->source);
			dir = stat(src, &st) < 0 || S_ISDIR(st.st_mode);
		}
		if (hk_mkpath_in_root(root, m->destination, dir, err) < 0)
			return hk_err_wrap(err, "mounts[%zu]: its target in the read-only root", i);
	}
	return 0;
}
