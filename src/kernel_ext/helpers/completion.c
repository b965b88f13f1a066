// SPDX-License-Identifier: GPL-2.0
/* Static inlines of completions, for Rust (rust_helper_ convention). */
#include <linux/completion.h>
#include "../../../include/dm_log_rs_helpers.h"

void rust_helper_init_completion(struct completion *x)
{
	init_completion(x);
}
