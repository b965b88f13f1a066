// SPDX-License-Identifier: GPL-2.0

//! Generated FFI bindings for the C APIs the kernel crate does not cover.
//!
//! C headers: [`include/linux/dm-dirty-log.h`](srctree/include/linux/dm-dirty-log.h),
//! [`include/linux/device-mapper.h`](srctree/include/linux/device-mapper.h),
//! [`include/linux/dm-io.h`](srctree/include/linux/dm-io.h),
//! [`include/linux/connector.h`](srctree/include/linux/connector.h),
//! [`include/uapi/linux/dm-log-userspace.h`](srctree/include/uapi/linux/dm-log-userspace.h).
//!
//! The file is generated at build time by `scripts/bindgen.sh` from
//! `include/dm_log_rs_bindings.h`. Types the kernel crate already binds are
//! re-exported from [`kernel::bindings`] so that both sides agree on them.
//!
//! Only the modules of `kernel_ext` use this module; the log types never do
//! (they cannot: `unsafe` is denied there).

#![allow(
    dead_code,
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    unused_imports
)]

use kernel::ffi;

type __kernel_size_t = usize;
type __kernel_ssize_t = isize;
type __kernel_ptrdiff_t = isize;

include!("bindings_generated.rs");

// The formats the pure crate writes by hand, held to the C definitions: a
// header change that moves a field fails the build here.
const _: () = {
    use core::mem::{offset_of, size_of};
    use dm_log_shared::ulog::{self, field};

    assert!(size_of::<dm_ulog_request>() == ulog::HEADER_LEN);
    assert!(offset_of!(dm_ulog_request, luid) == field::LUID.start);
    assert!(offset_of!(dm_ulog_request, uuid) == field::UUID.start);
    assert!(size_of::<[ffi::c_char; DM_UUID_LEN as usize]>() == ulog::UUID_LEN);
    assert!(offset_of!(dm_ulog_request, version) == field::VERSION.start);
    assert!(offset_of!(dm_ulog_request, error) == field::ERROR.start);
    assert!(offset_of!(dm_ulog_request, seq) == field::SEQ.start);
    assert!(offset_of!(dm_ulog_request, request_type) == field::REQUEST_TYPE.start);
    assert!(offset_of!(dm_ulog_request, data_size) == field::DATA_SIZE.start);
    assert!(offset_of!(dm_ulog_request, data) == ulog::HEADER_LEN);
    assert!(DM_ULOG_REQUEST_VERSION == ulog::VERSION);
    assert!(DM_NAME_LEN as usize == ulog::DEVICE_NAME_MAX);
    assert!(
        CN_IDX_DM == ulog::CN_IDX_DM && CN_VAL_DM_USERSPACE_LOG == ulog::CN_VAL_DM_USERSPACE_LOG
    );
    assert!(size_of::<cn_msg>() == ulog::CN_MSG_LEN);
    // Request types: the first, the last, and one between.
    assert!(DM_ULOG_CTR == ulog::RequestType::Ctr as u32);
    assert!(DM_ULOG_FLUSH == ulog::RequestType::Flush as u32);
    assert!(DM_ULOG_IS_REMOTE_RECOVERING == ulog::RequestType::IsRemoteRecovering as u32);
};
