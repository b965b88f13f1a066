// SPDX-License-Identifier: GPL-2.0
/*
 * A delayed work item that calls fn(data) in process context and, if fn
 * returns a delay in milliseconds, queues itself again (cancel_delayed_work_sync
 * copes with a work that re-queues itself). The struct is private to this
 * file: Rust holds a pointer to it (src/kernel_ext/workqueue.rs). The 6.12
 * kernel crate has no delayed work.
 */
#include <linux/slab.h>
#include <linux/workqueue.h>
#include "../../../include/dm_log_rs_helpers.h"

struct dmlogrs_delayed_work {
	struct delayed_work dw;
	unsigned int (*fn)(void *data);
	void *data;
};

static void dmlogrs_delayed_work_fn(struct work_struct *work)
{
	struct dmlogrs_delayed_work *d =
		container_of(to_delayed_work(work), struct dmlogrs_delayed_work, dw);

	unsigned int again = d->fn(d->data);

	if (again)
		queue_delayed_work(system_wq, &d->dw, msecs_to_jiffies(again));
}

struct dmlogrs_delayed_work *dmlogrs_delayed_work_alloc(unsigned int (*fn)(void *data), void *data)
{
	struct dmlogrs_delayed_work *d = kzalloc(sizeof(*d), GFP_KERNEL);

	if (!d)
		return NULL;
	INIT_DELAYED_WORK(&d->dw, dmlogrs_delayed_work_fn);
	d->fn = fn;
	d->data = data;
	return d;
}

/* Any context; does nothing if the work is already queued. */
bool dmlogrs_delayed_work_queue(struct dmlogrs_delayed_work *d, unsigned int msecs)
{
	return queue_delayed_work(system_wq, &d->dw, msecs_to_jiffies(msecs));
}

/* Process context: on return the work is neither queued nor running. */
void dmlogrs_delayed_work_cancel(struct dmlogrs_delayed_work *d)
{
	cancel_delayed_work_sync(&d->dw);
}

void dmlogrs_delayed_work_free(struct dmlogrs_delayed_work *d)
{
	cancel_delayed_work_sync(&d->dw);
	kfree(d);
}
