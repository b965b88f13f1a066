# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Loading and unloading the dirty-log stack in the test VM.
#
# LOG_IMPL=rs: dm-log-rs.ko goes in first, then dm-region-hash and dm-mirror
# by path (insmod), so they link against its exports. modprobe would pull in
# the in-tree dm-log.ko as their declared dependency instead.
# LOG_IMPL=c: plain `modprobe dm-mirror` (loads dm-log and dm-region-hash).

load_log_stack() {
	if [ "$LOG_IMPL" = c ]; then
		modprobe dm-mirror
	else
		grep -q '^dm_log_rs ' /proc/modules || insmod "$REPO_DIR/dm-log-rs.ko" || return 1
		grep -q '^dm_region_hash ' /proc/modules ||
			insmod "$(modinfo -n dm-region-hash)" || return 1
		grep -q '^dm_mirror ' /proc/modules || insmod "$(modinfo -n dm-mirror)"
	fi
}

unload_log_stack() {
	if grep -q '^dm_log_userspace ' /proc/modules; then rmmod dm_log_userspace || return 1; fi
	rmmod dm_mirror dm_region_hash "$LOG_MOD"
}
