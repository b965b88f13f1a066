// SPDX-License-Identifier: GPL-2.0

//! Safe abstraction over device-mapper dirty logs: the log-type trait, the
//! adapter that turns an implementation into a C ops table, and the type
//! registry exported to the mirror target.
//!
//! C header: [`include/linux/dm-dirty-log.h`](srctree/include/linux/dm-dirty-log.h)
//!
//! A log type implements [`LogType`]; [`Registration`] builds its
//! `struct dm_dirty_log_type` and adds it to the [`registry`]. Each log the
//! mirror creates owns one `Pin<KBox<T>>`, kept in `dm_dirty_log::context`
//! from the constructor to the destructor.
//!
//! - `log_type`: [`LogType`], the adapter from it to the C ops table, and
//!   [`Registration`];
//! - `args`: [`Args`], a table line's arguments;
//! - `target`: [`Target`] and [`DmDev`], the mirror target and the devices
//!   a log holds;
//! - [`registry`]: the registry of types, exported to the mirror target;
//! - [`StatusWriter`] (from the shared crate): status output, truncated as
//!   `DMEMIT` truncates.

mod args;
mod log_type;
pub(crate) mod registry;
mod target;

pub(crate) use args::Args;
pub(crate) use dm_log_shared::status::StatusWriter;
pub(crate) use log_type::{LogType, Registration};
pub(crate) use target::{DmDev, Target};

/// A region number.
pub(crate) type Region = u64;

/// The three kinds of status output device-mapper asks a log for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusType {
    /// `dmsetup status`.
    Info,
    /// `dmsetup table`: the log's part of the table line.
    Table,
    /// The IMA measurement string.
    Ima,
}
