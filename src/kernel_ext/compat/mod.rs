// SPDX-License-Identifier: GPL-2.0

//! Back-fills: abstractions that mainline's kernel crate has and 6.12's
//! lacks, each in the upstream shape (same names, same signatures) so that
//! moving to a kernel that has them deletes the file and changes `use`
//! lines only. What each adds beyond upstream is listed in its file.
//!
//! - [`workqueue`]: delayed work items, as in mainline's `workqueue`
//!   (`DelayedWork`, `enqueue_delayed`);
//! - [`completion`]: completions, as in mainline's `sync::Completion`;
//! - [`debugfs`]: debugfs directories and read-only files, as in
//!   mainline's `debugfs` (per-log counters).

pub(crate) mod completion;
pub(crate) mod debugfs;
pub(crate) mod workqueue;
