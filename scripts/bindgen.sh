#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Generate src/kernel_ext/bindings_generated.rs. Called from Kbuild:
#   bindgen.sh BINDGEN HEADER OUT KERNEL_BINDINGS_RS BINDGEN_PARAMETERS -- CFLAGS...
# Structs and unions that the kernel crate's own bindings already define are
# blocklisted here and glob-imported from kernel::bindings instead.
set -eu
bindgen=$1 header=$2 out=$3 kbindings=$4 params=$5
shift 5
[ "$1" = -- ] && shift

known=$(sed -nE 's/^pub (struct|union) ([A-Za-z0-9_]+).*/\2/p' "$kbindings" |
	sort -u | paste -sd'|' -)

# shellcheck disable=SC2046 # the parameter file is a list of words
"$bindgen" "$header" $(grep -Ev '^#|^$' "$params") \
	--use-core --with-derive-default --ctypes-prefix ffi --no-layout-tests \
	--no-debug '.*' --enable-function-attribute-detection \
	--allowlist-type 'dm_dirty_log|dm_dirty_log_type|dm_target|dm_dev|status_type_t' \
	--allowlist-type 'dm_io_region|dm_io_request|dm_io_memory|dm_io_client|dm_io_notify_fn' \
	--allowlist-type 'cn_msg|cb_id|netlink_skb_parms|dm_ulog_request' \
	--allowlist-function 'dm_table_get_mode|dm_get_device|dm_put_device|dm_table_event' \
	--allowlist-function 'dm_io|dm_io_client_create|dm_io_client_destroy' \
	--allowlist-function 'cn_add_callback|cn_del_callback|cn_netlink_send' \
	--allowlist-function 'dmlogrs_.*|rust_helper_.*|msleep' \
	--allowlist-var 'RUST_CONST_HELPER_.*' \
	--allowlist-function 'debugfs_create_dir|debugfs_create_file|debugfs_remove' \
	--allowlist-var 'CN_IDX_DM|CN_VAL_DM_USERSPACE_LOG|STATUSTYPE_.*' \
	--allowlist-var 'DM_ULOG_.*|DM_UUID_LEN|DM_NAME_LEN' \
	--blocklist-type "^($known)\$" \
	--raw-line 'pub use kernel::bindings::*;' \
	-o "$out" -- "$@"

# The kernel's conventions (rust/Makefile): a helper rust_helper_<f> is
# called from Rust as <f>, a constant RUST_CONST_HELPER_<N> is <N>.
sed -Ei -e 's/pub fn rust_helper_([a-zA-Z0-9_]*)/#[link_name="rust_helper_\1"]\n    pub fn \1/g' \
	-e 's/pub const RUST_CONST_HELPER_([a-zA-Z0-9_]*)/pub const \1/g' "$out"
