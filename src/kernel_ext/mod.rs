// SPDX-License-Identifier: GPL-2.0

//! The module's extension of the kernel crate: safe abstractions over the C
//! APIs the 6.12 `kernel` crate does not cover. Every `unsafe` block of the
//! module is in this folder; each file is shaped like the upstream
//! abstraction it stands in for, so that a kernel that has one lets us
//! delete ours.
//!
//! - [`bindings`]: generated FFI bindings, used only here;
//! - [`alloc`]: vectors of words filled at allocation (bitmaps);
//! - [`dirty_log`]: the dirty-log API: the log-type trait and its C ops
//!   table, type registration, the exported registry;
//! - [`block`]: block devices (size, block size, FUA);
//! - [`dm_io`]: dm-io, synchronous block I/O (the disk log);
//! - [`connector`]: the netlink connector (the userspace log);
//! - [`compat`]: what later kernel crates have and 6.12's lacks, in their
//!   shape: delayed work, completions, debugfs files.

pub(crate) mod alloc;
pub(crate) mod bindings;
pub(crate) mod block;
pub(crate) mod compat;
pub(crate) mod connector;
pub(crate) mod dirty_log;
pub(crate) mod dm_io;
