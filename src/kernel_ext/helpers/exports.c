// SPDX-License-Identifier: GPL-2.0
/*
 * The dirty-log API, exported: the four dm_dirty_log_* functions are defined
 * in Rust (src/kernel_ext/dirty_log/registry.rs) with the prototypes of
 * include/linux/dm-dirty-log.h. They are exported as plain EXPORT_SYMBOL, as
 * dm-log.ko exports them, so dm-region-hash and dm-mirror link against this
 * module unchanged.
 */
#include <linux/module.h>
#include <linux/dm-dirty-log.h>

EXPORT_SYMBOL(dm_dirty_log_type_register);
EXPORT_SYMBOL(dm_dirty_log_type_unregister);
EXPORT_SYMBOL(dm_dirty_log_create);
EXPORT_SYMBOL(dm_dirty_log_destroy);
