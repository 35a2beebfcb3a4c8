/* Adaptive affinity, the policy alone: which contended thread moves where.
 *
 * A thread is contended when its run delay (time runnable but waiting for
 * its CPU) per wall-clock time is at or above the threshold. It moves only
 * after `hysteresis` contended periods in a row, only to an allowed CPU with
 * room for it (half a CPU at least, or what it used and waited for if less)
 * that is clearly quieter than its own, and then rests for twice that many
 * periods. Those three conditions are what keep a thread from trading
 * places every period. Balancers of different sandboxes do not talk under
 * adaptive affinity, so two of them could see the same idle CPU at once and
 * both jump at it: each thread waits hysteresis + (tid mod (hysteresis+1))
 * periods, so threads that got hot together move at different times and
 * the later one sees the CPU taken. */
#include "vmm/sched/sched.h"

#define MARGIN 0.10 /* the target must be this much less busy than the source */

static double min2(double a, double b)
{
	return a < b ? a : b;
}

/* The least busy allowed CPU other than `not`, or -1. */
static int quietest(const cpu_set_t *allowed, const double *busy, unsigned ncpu, int not )
{
	int best = -1;

	for (unsigned c = 0; c < ncpu; c++)
		if (CPU_ISSET(c, allowed) && (int)c != not &&(best < 0 || busy[c] < busy[best]))
			best = (int)c;
	return best;
}

unsigned sched_adaptive_plan(const struct sched_cfg *c, struct sched_thread *t, unsigned n,
                             double *busy, unsigned ncpu, struct sched_move *out)
{
	const double threshold = c->threshold_pct / 100.0;
	unsigned moves = 0;

	for (unsigned i = 0; i < n; i++)
		t[i].hot = t[i].delay >= threshold ? t[i].hot + 1 : 0;
	for (unsigned i = 0; i < n; i++) {
		struct sched_thread *th = &t[i];
		unsigned wait = c->hysteresis + (unsigned)th->tid % (c->hysteresis + 1);
		if (th->rest > 0) {
			th->rest--;
			continue;
		}
		if (th->cpu < 0 || (unsigned)th->cpu >= ncpu || th->hot < wait)
			continue;
		int to = quietest(&c->cpus, busy, ncpu, th->cpu);
		if (to < 0)
			continue;
		double want = min2(0.5, th->run + th->delay);
		if (1.0 - busy[to] < want || busy[to] + MARGIN > busy[th->cpu])
			continue;
		out[moves++] = (struct sched_move){.idx = i, .from = th->cpu, .to = to};
		/* Account for the move at once, so the next thread sees it. */
		busy[to] = min2(1.0, busy[to] + th->run);
		busy[th->cpu] -= th->run;
		th->cpu = to;
		th->hot = 0;
		th->rest = 2 * c->hysteresis;
		th->moves++;
	}
	return moves;
}
