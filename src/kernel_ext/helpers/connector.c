// SPDX-License-Identifier: GPL-2.0
/* The connector's sender check, which Rust cannot express in 6.12. */
#include <linux/capability.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <linux/user_namespace.h>
#include "../../../include/dm_log_rs_helpers.h"

bool dmlogrs_cn_sender_is_admin(struct netlink_skb_parms *nsp)
{
	/* The socket's opener and the sending task must both be capable. */
	return __netlink_ns_capable(nsp, &init_user_ns, CAP_SYS_ADMIN);
}
