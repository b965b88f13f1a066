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
