/* Each vCPU's placement and cost, for `husk state` and `events --stats`:
 * read straight from /proc for the monitor's threads named "vcpuN" (the
 * monitor names them so), so neither the monitor nor the guest is asked. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/util.h"
#include "runtime/container.h"
#include "vmm/sched/sched.h"

void rt_vcpus_json(pid_t pid, struct hk_buf *b)
{
	char path[64];
	DIR *d;
	bool first = true;

	hk_buf_printf(b, "[");
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (pid > 0 && (d = opendir(path)) != NULL) {
		for (struct dirent *e; (e = readdir(d)) != NULL;) {
			char comm[32] = "", cpath[64 + 256 + 8];
			uint64_t tid, idx;
			struct sched_tstat st;
			if (hk_parse_u64(e->d_name, &tid) < 0)
				continue;
			snprintf(cpath, sizeof(cpath), "%s/%s/comm", path, e->d_name);
			FILE *f = fopen(cpath, "re");
			if (f == NULL)
				continue;
			if (fgets(comm, sizeof(comm), f) == NULL)
				comm[0] = '\0';
			fclose(f);
			comm[strcspn(comm, "\n")] = '\0';
			if (strncmp(comm, "vcpu", 4) != 0 || hk_parse_u64(comm + 4, &idx) < 0 ||
			    sched_read_thread(pid, (pid_t)tid, &st, NULL) < 0)
				continue;
			hk_buf_printf(b,
			              "%s{\"vcpu\":%llu,\"tid\":%llu,\"cpu\":%d,\"run_ns\":%llu,"
			              "\"delay_ns\":%llu}",
			              first ? "" : ",", (unsigned long long)idx,
			              (unsigned long long)tid, st.cpu,
			              (unsigned long long)st.run_ns,
			              (unsigned long long)st.delay_ns);
			first = false;
		}
		closedir(d);
	}
	hk_buf_printf(b, "]");
}
