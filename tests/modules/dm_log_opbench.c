// SPDX-License-Identifier: GPL-2.0
/*
 * The CPU cost of each dirty-log operation, as the mirror target's region
 * hash calls them, through the exported API (dm_dirty_log_create and the
 * type's ops table): built against, and loaded next to, either dm-log-rs.ko
 * or the kernel's dm-log.ko, so both are timed by the same code in the same
 * boot (tests/opbench_vm.sh).
 *
 * A "core" log over a test target of `regions` regions of 512 KiB (a
 * zeroed dm_target with only its length set: the core log reads nothing
 * else). Timed, on the loading thread:
 *   mark         mark_region of a region not marked (clean -> dirty)
 *   clear        clear_region of a marked region (dirty -> clean)
 *   in_sync      in_sync(can_block = 0), then (can_block = 1), random regions
 *   sync_count   get_sync_count
 *   flush        flush (nothing to write on a core log)
 *   (in_sync and sync_count 16 times `iters`: they are the cheap ones)
 *   resync       get_resync_work + set_region_sync(1) on a log created
 *                "sync" (every region out of sync): the resync's search
 *   resync_scan  the same where one region in SCAN_STRIDE is out of sync
 *                (the last of each stride): the search across a bitmap in
 *                sync, per region found
 * and, with one thread per online CPU at once, the same mark/clear under one
 * spinlock (the region hash's) and lock-free in_sync(can_block = 0).
 * Regions are drawn with a xorshift generator, so both implementations see
 * the same sequence. Each result is printed as
 *   dm_log_opbench: <op> <cpus> <regions> <ns per op, x100>
 * and the module stays loaded until removed (tests read the kernel log).
 */
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/device-mapper.h>
#include <linux/dm-dirty-log.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>

static unsigned long regions = 2048;
module_param(regions, ulong, 0444);
MODULE_PARM_DESC(regions, "regions of the log (512 KiB each)");

static unsigned int iters = 1 << 20;
module_param(iters, uint, 0444);
MODULE_PARM_DESC(iters, "operations per measurement");

#define REGION_SECTORS 1024
/* Regions marked (then cleared) per batch: like a busy mirror's pass. */
#define BATCH 64
/* resync_scan: one region out of sync in this many. */
#define SCAN_STRIDE 1024

static int flush_cb(struct dm_target *ti)
{
	return 0;
}

static u64 next_rand(u64 *s)
{
	u64 x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void report(const char *op, unsigned int cpus, u64 ns, u64 ops)
{
	pr_info("dm_log_opbench: %s %u %lu %llu\n", op, cpus, regions,
		ops ? div64_u64(ns * 100, ops) : 0);
}

static struct dm_dirty_log *new_log(struct dm_target *ti, bool sync)
{
	char size[] = "1024";
	char *argv[] = { size, sync ? "sync" : "nosync" };

	return dm_dirty_log_create("core", ti, flush_cb, 2, argv);
}

/* mark then clear BATCH distinct-ish regions at a time. */
static void time_mark_clear(struct dm_dirty_log *log, spinlock_t *lock,
			    u64 seed, u64 *mark_ns, u64 *clear_ns, u64 *ops)
{
	region_t batch[BATCH];
	unsigned int i, n;
	u64 t0;

	*mark_ns = *clear_ns = *ops = 0;
	for (n = 0; n < iters; n += BATCH) {
		for (i = 0; i < BATCH; i++)
			batch[i] = next_rand(&seed) % regions;
		t0 = ktime_get_ns();
		for (i = 0; i < BATCH; i++) {
			spin_lock_irq(lock);
			log->type->mark_region(log, batch[i]);
			spin_unlock_irq(lock);
		}
		*mark_ns += ktime_get_ns() - t0;
		t0 = ktime_get_ns();
		for (i = 0; i < BATCH; i++) {
			spin_lock_irq(lock);
			log->type->clear_region(log, batch[i]);
			spin_unlock_irq(lock);
		}
		*clear_ns += ktime_get_ns() - t0;
		*ops += BATCH;
		cond_resched();
	}
}

/*
 * The cheap operations run CHEAP times as often, so that each measurement
 * lasts long enough (tenths of a second) for a busy host's noise to average
 * out.
 */
#define CHEAP 16

static u64 time_in_sync(struct dm_dirty_log *log, u64 seed, int can_block)
{
	unsigned int n;
	u64 t0 = ktime_get_ns();
	int sink = 0;

	for (n = 0; n < iters * CHEAP; n++) {
		sink += log->type->in_sync(log, next_rand(&seed) % regions, can_block);
		if (!(n & 4095))
			cond_resched();
	}
	/* Keeps the calls: the result is used. */
	if (sink < 0)
		pr_info("dm_log_opbench: in_sync failed\n");
	return ktime_get_ns() - t0;
}

/* --- all CPUs at once ---------------------------------------------------- */

struct worker {
	struct dm_dirty_log *log;
	spinlock_t *lock;
	u64 seed;
	u64 mark_ns, clear_ns, ops, in_sync_ns;
	struct completion done;
};

/* The region hash's lock, around mark and clear. */
static DEFINE_SPINLOCK(rh_lock);
static atomic_t started;
static DECLARE_COMPLETION(go);

static int worker_fn(void *data)
{
	struct worker *w = data;

	atomic_inc(&started);
	wait_for_completion(&go);
	time_mark_clear(w->log, w->lock, w->seed, &w->mark_ns, &w->clear_ns, &w->ops);
	w->in_sync_ns = time_in_sync(w->log, w->seed ^ 0x5bd1e995, 0);
	complete(&w->done);
	return 0;
}

static int run_all_cpus(struct dm_dirty_log *log, spinlock_t *lock)
{
	unsigned int cpu, n = 0, i;
	struct worker *w;
	u64 mark = 0, clear = 0, ops = 0, in_sync = 0;

	w = kcalloc(nr_cpu_ids, sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	atomic_set(&started, 0);
	reinit_completion(&go);
	for_each_online_cpu(cpu) {
		struct task_struct *t;

		w[n].log = log;
		w[n].lock = lock;
		w[n].seed = 0x9e3779b97f4a7c15ULL + cpu;
		init_completion(&w[n].done);
		t = kthread_create_on_cpu(worker_fn, &w[n], cpu, "opbench/%u");
		if (IS_ERR(t))
			break;
		wake_up_process(t);
		n++;
	}
	while (atomic_read(&started) < n)
		schedule_timeout_uninterruptible(1);
	complete_all(&go);
	for (i = 0; i < n; i++) {
		wait_for_completion(&w[i].done);
		mark += w[i].mark_ns;
		clear += w[i].clear_ns;
		in_sync += w[i].in_sync_ns;
		ops += w[i].ops;
	}
	/* Per operation, as each CPU saw it (its own elapsed time). */
	report("mark", n, mark, ops);
	report("clear", n, clear, ops);
	report("in_sync", n, in_sync, (u64)iters * CHEAP * n);
	kfree(w);
	return 0;
}

static int __init opbench_init(void)
{
	struct dm_target *ti;
	struct dm_dirty_log *log;
	u64 seed = 0x2545f4914f6cdd1dULL, mark, clear, ops, t0;
	region_t r = 0;
	unsigned int n;
	int ret = 0;

	if (!regions || regions > (1UL << 40) / REGION_SECTORS)
		return -EINVAL;
	ti = kzalloc(sizeof(*ti), GFP_KERNEL);
	if (!ti)
		return -ENOMEM;
	ti->len = (sector_t)regions * REGION_SECTORS;

	log = new_log(ti, false);
	if (!log) {
		ret = -ENOMEM;
		goto out_ti;
	}
	time_mark_clear(log, &rh_lock, seed, &mark, &clear, &ops);
	report("mark", 1, mark, ops);
	report("clear", 1, clear, ops);
	report("in_sync", 1, time_in_sync(log, seed, 0), (u64)iters * CHEAP);
	report("in_sync_block", 1, time_in_sync(log, seed, 1), (u64)iters * CHEAP);

	t0 = ktime_get_ns();
	for (n = 0; n < iters * CHEAP; n++)
		r = log->type->get_sync_count(log);
	report("sync_count", 1, ktime_get_ns() - t0, (u64)iters * CHEAP);
	if (r != regions)
		pr_warn("dm_log_opbench: sync count %llu of %lu\n", (u64)r, regions);

	t0 = ktime_get_ns();
	for (n = 0; n < iters; n++)
		ret |= log->type->flush(log);
	report("flush", 1, ktime_get_ns() - t0, iters);
	if (ret)
		pr_warn("dm_log_opbench: a flush failed\n");

	ret = run_all_cpus(log, &rh_lock);
	dm_dirty_log_destroy(log);
	if (ret)
		goto out_ti;

	/*
	 * The resync's search: every region out of sync, handed out in turn,
	 * on fresh logs until `iters` regions are done (a small log is
	 * resynced many times over).
	 */
	ops = 0;
	mark = 0;
	while (ops < iters) {
		log = new_log(ti, true);
		if (!log) {
			ret = -ENOMEM;
			goto out_ti;
		}
		t0 = ktime_get_ns();
		for (n = 0; n < regions && ops < iters; n++, ops++) {
			if (log->type->get_resync_work(log, &r) != 1)
				break;
			log->type->set_region_sync(log, r, 1);
			if (!(n & 4095))
				cond_resched();
		}
		mark += ktime_get_ns() - t0;
		dm_dirty_log_destroy(log);
		if (n < regions && ops < iters) {
			pr_warn("dm_log_opbench: resync work failed after %u regions\n", n);
			break;
		}
	}
	report("resync", 1, mark, ops);

	/*
	 * The search across a bitmap mostly in sync: a "nosync" log with the
	 * last region of every SCAN_STRIDE out of sync, so each
	 * get_resync_work skips SCAN_STRIDE - 1 regions in sync; fresh logs
	 * until iters / SCAN_STRIDE regions are found (the setup untimed).
	 */
	ops = 0;
	mark = 0;
	while (ops < iters / SCAN_STRIDE + 1) {
		region_t want = 0;

		log = new_log(ti, false);
		if (!log) {
			ret = -ENOMEM;
			goto out_ti;
		}
		for (r = SCAN_STRIDE - 1; r < regions; r += SCAN_STRIDE)
			log->type->set_region_sync(log, r, 0);
		if (regions < SCAN_STRIDE)
			log->type->set_region_sync(log, regions - 1, 0);
		t0 = ktime_get_ns();
		while (log->type->get_resync_work(log, &r) == 1) {
			log->type->set_region_sync(log, r, 1);
			ops++;
			want++;
		}
		mark += ktime_get_ns() - t0;
		if (log->type->get_sync_count(log) != regions ||
		    want != max_t(u64, regions / SCAN_STRIDE, 1)) {
			pr_warn("dm_log_opbench: resync scan found %llu regions\n", (u64)want);
			dm_dirty_log_destroy(log);
			break;
		}
		dm_dirty_log_destroy(log);
		cond_resched();
	}
	report("resync_scan", 1, mark, ops);
	ret = 0;
out_ti:
	kfree(ti);
	return ret;
}

static void __exit opbench_exit(void)
{
}

module_init(opbench_init);
module_exit(opbench_exit);
MODULE_DESCRIPTION("CPU cost of each dirty-log operation, C or Rust");
MODULE_LICENSE("GPL");
