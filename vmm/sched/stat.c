/* What the kernel says about threads and CPUs: /proc/PID/task/TID/schedstat
 * (time on a CPU and time runnable but waiting: the run delay, which is what
 * contention costs a vCPU), the CPU it last ran on (field 39 of stat), and
 * each CPU's busy time from /proc/stat. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/cleanup.h"
#include "vmm/sched/sched.h"

int sched_read_thread(pid_t pid, pid_t tid, struct sched_tstat *st, hk_err **err)
{
	char path[64], buf[1024];
	cleanup_file FILE *f = NULL, *g = NULL;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	if ((f = fopen(path, "re")) == NULL)
		return hk_err_set(err, errno, "open `%s`", path);
	if (fscanf(f, "%" SCNu64 " %" SCNu64, &st->run_ns, &st->delay_ns) != 2)
		return hk_err_set(err, EINVAL, "`%s`: unexpected contents", path);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if ((g = fopen(path, "re")) == NULL)
		return hk_err_set(err, errno, "open `%s`", path);
	size_t n = fread(buf, 1, sizeof(buf) - 1, g);
	buf[n] = '\0';
	/* The name may hold spaces and parentheses: fields start after the
	 * last ')'. "processor" is field 39, the 37th after the name. */
	char *p = strrchr(buf, ')');
	int field = 2;
	for (; p && *p && field < 39; p++)
		if (*p == ' ')
			field++;
	if (p == NULL || field != 39 || sscanf(p, "%d", &st->cpu) != 1)
		return hk_err_set(err, EINVAL, "`%s`: unexpected contents", path);
	return 0;
}

int sched_read_cpus(uint64_t *busy, uint64_t *total, unsigned n, hk_err **err)
{
	cleanup_file FILE *f = fopen("/proc/stat", "re");
	char line[512];

	if (f == NULL)
		return hk_err_set(err, errno, "open /proc/stat");
	for (unsigned i = 0; i < n; i++)
		busy[i] = total[i] = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned cpu;
		uint64_t v[8] = {0};
		/* "cpu " is the sum of all; "cpuN " are the CPUs. */
		if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9' ||
		    sscanf(line,
		           "cpu%u %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		           " %" SCNu64 " %" SCNu64 " %" SCNu64,
		           &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5 ||
		    cpu >= n)
			continue;
		/* user nice system idle iowait irq softirq steal: idle and
		 * iowait are the time nothing wanted the CPU. */
		total[cpu] = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
		busy[cpu] = total[cpu] - v[3] - v[4];
	}
	return 0;
}
