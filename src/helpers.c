// SPDX-License-Identifier: GPL-2.0
/*
 * What the Rust side of dm-log-rs cannot do itself: export its symbols, and
 * call static inline functions or read macro values of the C API.
 *
 * The four dm_dirty_log_* functions are defined in Rust
 * (src/dirty_log/registry.rs) with the prototypes of
 * include/linux/dm-dirty-log.h. They are exported as plain EXPORT_SYMBOL, as
 * dm-log.ko exports them, so dm-region-hash and dm-mirror link against this
 * module unchanged.
 */
#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/ioprio.h>
#include <linux/completion.h>
#include <linux/dm-dirty-log.h>
#include <linux/connector.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/user_namespace.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include "../include/dm_log_rs_helpers.h"

EXPORT_SYMBOL(dm_dirty_log_type_register);
EXPORT_SYMBOL(dm_dirty_log_type_unregister);
EXPORT_SYMBOL(dm_dirty_log_create);
EXPORT_SYMBOL(dm_dirty_log_destroy);

u64 dmlogrs_bdev_nr_bytes(struct block_device *bdev)
{
	return bdev_nr_bytes(bdev);
}

unsigned int dmlogrs_bdev_logical_block_size(struct block_device *bdev)
{
	return bdev_logical_block_size(bdev);
}

bool dmlogrs_bdev_fua(struct block_device *bdev)
{
	return bdev_fua(bdev);
}

void dmlogrs_init_completion(struct completion *x)
{
	init_completion(x);
}

unsigned short dmlogrs_ioprio_default(void)
{
	return IOPRIO_DEFAULT;
}

int dmlogrs_cn_send(struct cn_msg *msg)
{
	/*
	 * Port 0 and group 0: multicast to the group registered for msg->id.
	 * GFP_NOIO: the mirror sends from its worker, on the write path.
	 */
	return cn_netlink_send(msg, 0, 0, GFP_NOIO);
}

bool dmlogrs_cn_sender_is_admin(struct netlink_skb_parms *nsp)
{
	/* The socket's opener and the sending task must both be capable. */
	return __netlink_ns_capable(nsp, &init_user_ns, CAP_SYS_ADMIN);
}

/*
 * A delayed work item that calls fn(data) in process context and, if fn
 * returns a delay in milliseconds, queues itself again (cancel_delayed_work_sync
 * copes with a work that re-queues itself). The struct is private to this
 * file: Rust holds a pointer to it (src/workqueue.rs).
 */
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
