// SPDX-License-Identifier: GPL-2.0

//! The pure part of dm-log-rs: what the kernel module, the userspace log
//! daemon `dm-logd` and the host tests share, in plain `core` Rust with no
//! `unsafe` and no allocation.
//!
//! - [`clog`]: the cluster log's group messages (cmirrord's format);
//! - [`engine`]: the bitmap region engine behind every log type;
//! - [`ondisk`]: the disk log's on-disk format and the geometry of a log area;
//! - [`status`]: status strings in fixed buffers, truncated as device-mapper does;
//! - [`table`]: the region arguments of a log's table line;
//! - [`ulog`]: the userspace log protocol's wire format.

#![no_std]
#![forbid(unsafe_code)]

pub mod clog;
pub mod engine;
pub mod ondisk;
pub mod status;
pub mod table;
pub mod ulog;
