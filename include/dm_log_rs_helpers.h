/* SPDX-License-Identifier: GPL-2.0 */
/* C helpers of dm-log-rs (src/helpers.c): wrappers of static inlines/macros. */
#ifndef DM_LOG_RS_HELPERS_H
#define DM_LOG_RS_HELPERS_H

#include <linux/types.h>

struct block_device;
struct completion;
struct cn_msg;
struct netlink_skb_parms;
struct dmlogrs_delayed_work;

u64 dmlogrs_bdev_nr_bytes(struct block_device *bdev);
unsigned int dmlogrs_bdev_logical_block_size(struct block_device *bdev);
bool dmlogrs_bdev_fua(struct block_device *bdev);
unsigned short dmlogrs_ioprio_default(void);
void dmlogrs_init_completion(struct completion *x);
int dmlogrs_cn_send(struct cn_msg *msg);
bool dmlogrs_cn_sender_is_admin(struct netlink_skb_parms *nsp);
struct dmlogrs_delayed_work *dmlogrs_delayed_work_alloc(unsigned int (*fn)(void *data), void *data);
bool dmlogrs_delayed_work_queue(struct dmlogrs_delayed_work *d, unsigned int msecs);
void dmlogrs_delayed_work_cancel(struct dmlogrs_delayed_work *d);
void dmlogrs_delayed_work_free(struct dmlogrs_delayed_work *d);

#endif
