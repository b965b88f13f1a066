// SPDX-License-Identifier: GPL-2.0

//! dm-log-rs: device-mapper dirty region logs in Rust.
//!
//! A drop-in replacement for the kernel's `dm-log.ko`: it exports the dirty
//! log registry the mirror target links against and registers the log types.
//!
//! Layers, each depending only on the ones below it:
//! - [`bindings`]: generated FFI bindings, used only by the abstractions;
//! - [`dirty_log`]: safe abstraction over the dirty-log C API (ops table,
//!   type registration, the exported registry); all `unsafe` lives here;
//! - [`dm_io`]: safe abstraction over dm-io (synchronous block I/O);
//! - [`debugfs`]: safe abstraction over debugfs (per-log counters);
//! - [`log_core`], [`log_disk`]: the log types, safe Rust;
//! - [`engine`]: the bitmap region engine, plain `core` Rust, also built and
//!   tested on the host (`tests/engine`).

mod bindings;
mod debugfs;
mod dirty_log;
mod dm_io;
// The engine is also a host crate (tests/engine), so its items are `pub`, and
// not every helper is used by every log type.
#[allow(dead_code, unreachable_pub)]
mod engine;
mod log_core;
mod log_disk;

use dirty_log::{registry, Registration};
use kernel::prelude::*;

module! {
    type: DmLogRs,
    name: "dm_log_rs",
    author: "dm-log-rs developers",
    description: "device-mapper dirty region logs in Rust (drop-in for dm-log)",
    license: "GPL",
    alias: ["dm-log-userspace"],
}

/// The module: the registry and the log types it registers.
///
/// Fields drop in declaration order: the types are unregistered before the
/// registry is uninstalled.
struct DmLogRs {
    _core: Registration<log_core::CoreLog>,
    _disk: Registration<log_disk::DiskLog>,
    _debugfs: debugfs::Dir,
    _registry: registry::Installed,
}

impl kernel::Module for DmLogRs {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let reg = registry::Registry::install()?;
        let dir = debugfs::Dir::create(kernel::c_str!("dm_log_rs"));
        let core = Registration::new(module)?;
        let disk = Registration::new(module)?;
        pr_info!("dirty log registry ready; types: core, disk\n");
        Ok(DmLogRs {
            _core: core,
            _disk: disk,
            _debugfs: dir,
            _registry: reg,
        })
    }
}
