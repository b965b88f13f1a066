// SPDX-License-Identifier: GPL-2.0

//! `dm-logd`: a userspace dirty-log server for device-mapper's `userspace`
//! log type (`dm-log-userspace`), and the building blocks of its test tool.
//!
//! The kernel's `userspace` dirty log forwards every log operation of a
//! mirror to a daemon over the netlink connector (connector id
//! `CN_IDX_DM`/`CN_VAL_DM_USERSPACE_LOG`), using the wire format of
//! `include/uapi/linux/dm-log-userspace.h`. This crate implements such a
//! daemon with the same region engine the dm-log-rs kernel module uses
//! (the crate `dm_log_shared` of `src/shared/`, re-exported as [`engine`]).
//!
//! Layout:
//!
//! - [`proto`]: the wire format, parsing and validation of incoming
//!   messages, encoding of replies.
//! - [`cluster`]: the replicated state of a cluster log (cmirrord's
//!   rules, and dm-logd's for failed nodes);
//! - [`group`]: a cluster log in its corosync CPG group (`--cluster`):
//!   routing, membership, checkpoints;
//! - [`ctr`]: the constructor line of a log, parsed and validated;
//! - [`device`]: the device or file behind a disk-like log;
//! - [`dirtylog`]: the log types (`core`, `disk` and their `clustered-`
//!   aliases): their state and its persistence.
//! - [`store`]: the byte store behind a persistent log (file or block
//!   device, or memory for tests).
//! - [`server`]: the request dispatcher over many logs.
//! - [`notify`]: readiness for systemd (`Type=notify`);
//! - [`runloop`]: the poll loop shared by `dm-logd` and `dm-ulog-tool serve`.
//! - [`sys`]: the only module with `unsafe` code: thin libc wrappers for the
//!   netlink socket, `signalfd` and `poll`.
//! - [`error`]: the error type; errnos are taken from it when a reply is
//!   built;
//! - [`logging`], [`errno`]: small helpers.

#![deny(unsafe_code)]

/// The bitmap region engine of the dm-log-rs kernel module: the same crate.
pub use dm_log_shared::engine;

#[macro_use]
pub mod logging;

pub mod cluster;
pub mod ctr;
pub mod device;
pub mod dirtylog;
pub mod errno;
pub mod error;
pub mod group;
pub mod notify;
pub mod proto;
pub mod runloop;
pub mod server;
pub mod store;
#[allow(unsafe_code)]
pub mod sys;

/// The package version, printed by `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
