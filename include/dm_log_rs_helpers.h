/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C side of dm-log-rs's kernel extension (src/kernel_ext/helpers/):
 * wrappers of static inlines, named rust_helper_<C name> as the kernel's own
 * Rust helpers are (Rust calls them by the C name: scripts/bindgen.sh), and
 * the module's own C pieces (dmlogrs_*), where 6.12's Rust cannot reach.
 */
#ifndef DM_LOG_RS_HELPERS_H
#define DM_LOG_RS_HELPERS_H

#include <linux/types.h>

struct block_device;
struct completion;
struct netlink_skb_parms;

/* helpers/blk.c */
u64 rust_helper_bdev_nr_bytes(struct block_device *bdev);
unsigned int rust_helper_bdev_logical_block_size(struct block_device *bdev);
bool rust_helper_bdev_fua(struct block_device *bdev);
/* IOPRIO_DEFAULT: an inline function call in 6.12, not a constant */
unsigned short dmlogrs_ioprio_default(void);

/* helpers/completion.c */
void rust_helper_init_completion(struct completion *x);

/* helpers/connector.c */
bool dmlogrs_cn_sender_is_admin(struct netlink_skb_parms *nsp);

#endif
