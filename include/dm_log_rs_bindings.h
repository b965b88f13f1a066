/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C API dm-log-rs binds: bindgen reads this header at build time
 * (Kbuild, scripts/bindgen.sh) and src/bindings.rs includes the result.
 */
#include <linux/device-mapper.h>
#include <linux/dm-dirty-log.h>
#include <linux/dm-io.h>
#include <linux/connector.h>
#include <uapi/linux/dm-log-userspace.h>
#include <linux/delay.h>
#include "dm_log_rs_helpers.h"
#include <linux/debugfs.h>

/*
 * Macro values Rust needs, as the kernel's bindings take them: bindgen sees
 * RUST_CONST_HELPER_<NAME>, and scripts/bindgen.sh renames it <NAME>.
 */
const gfp_t RUST_CONST_HELPER_GFP_NOIO = GFP_NOIO;
