// SPDX-License-Identifier: GPL-2.0

//! Generated FFI bindings for the C APIs the kernel crate does not cover.
//!
//! C headers: [`include/linux/dm-dirty-log.h`](srctree/include/linux/dm-dirty-log.h),
//! [`include/linux/device-mapper.h`](srctree/include/linux/device-mapper.h),
//! [`include/linux/dm-io.h`](srctree/include/linux/dm-io.h),
//! [`include/linux/connector.h`](srctree/include/linux/connector.h).
//!
//! The file is generated at build time by `scripts/bindgen.sh` from
//! `include/dm_log_rs_bindings.h`. Types the kernel crate already binds are
//! re-exported from [`kernel::bindings`] so that both sides agree on them.
//!
//! Only the abstraction modules (`dirty_log`, and later `dm_io` and
//! `connector`) may use this module; the log types never do.

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
