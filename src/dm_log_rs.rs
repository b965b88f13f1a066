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
//! - [`connector`]: safe abstraction over the netlink connector;
//! - [`workqueue`]: safe abstraction over a delayed work item;
//! - [`log_core`], [`log_disk`], [`log_userspace`]: the log types, safe Rust;
//! - [`engine`]: the bitmap region engine, plain `core` Rust, also built and
//!   tested on the host (`tests/engine`).

// `pin_init!` over the disk log's state (many fields) nests deeper than the
// default limit of 128.
#![recursion_limit = "256"]

mod bindings;
mod connector;
mod debugfs;
mod dirty_log;
mod dm_io;
mod log_core;
mod log_disk;
mod log_userspace;
mod workqueue;

use dirty_log::{registry, Registration};
use dm_log_shared::engine;
use kernel::prelude::*;
use log_userspace::transport::Transport;

module! {
    type: DmLogRs,
    name: "dm_log_rs",
    author: "dm-log-rs developers",
    description: "device-mapper dirty region logs in Rust (drop-in for dm-log)",
    license: "GPL",
    // The registry asks for "dm-log-userspace" when a table names the
    // userspace type and it is not registered: that is this module.
    alias: ["dm-log-userspace"],
}

/// The module: the registry and the log types it registers.
///
/// Fields drop in declaration order: the types are unregistered before the
/// connector service their logs used and before the registry is uninstalled.
struct DmLogRs {
    _core: Registration<log_core::CoreLog>,
    _disk: Registration<log_disk::DiskLog>,
    _userspace: Registration<log_userspace::UserspaceLog>,
    _connector: connector::Registration,
    _transport_stats: debugfs::File<Transport>,
    _debugfs: debugfs::Dir,
    _registry: registry::Installed,
}

impl kernel::Module for DmLogRs {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let reg = registry::Registry::install()?;
        let dir = debugfs::Dir::create(kernel::c_str!("dm_log_rs"));
        let transport = Transport::new()?;
        let stats = debugfs::File::new(kernel::c_str!("userspace"), transport.clone());
        let cn = connector::Registration::new(
            log_userspace::CN_ID,
            kernel::c_str!("dm_log_rs_userspace"),
            transport.clone(),
        )
        .inspect_err(|e| {
            pr_err!(
                "cannot register the userspace log's connector service: {:?}\n",
                e
            )
        })?;
        let userspace = Registration::new(module, transport)?;
        let core = Registration::new(module, ())?;
        let disk = Registration::new(module, ())?;
        pr_info!("dirty log registry ready; types: core, disk, userspace\n");
        Ok(DmLogRs {
            _core: core,
            _disk: disk,
            _userspace: userspace,
            _connector: cn,
            _transport_stats: stats,
            _debugfs: dir,
            _registry: reg,
        })
    }
}
