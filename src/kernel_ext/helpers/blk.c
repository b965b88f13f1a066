// SPDX-License-Identifier: GPL-2.0
/*
 * Static inlines of the block layer, for Rust (the kernel's rust_helper_
 * convention: Rust calls them by their C names).
 */
#include <linux/blkdev.h>
#include <linux/ioprio.h>
#include "../../../include/dm_log_rs_helpers.h"

u64 rust_helper_bdev_nr_bytes(struct block_device *bdev)
{
	return bdev_nr_bytes(bdev);
}

unsigned int rust_helper_bdev_logical_block_size(struct block_device *bdev)
{
	return bdev_logical_block_size(bdev);
}

bool rust_helper_bdev_fua(struct block_device *bdev)
{
	return bdev_fua(bdev);
}

unsigned short dmlogrs_ioprio_default(void)
{
	return IOPRIO_DEFAULT;
}
