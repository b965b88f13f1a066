// SPDX-License-Identifier: GPL-2.0

//! dm-log-rs: device-mapper dirty region logs in Rust.
//!
//! A drop-in replacement for the kernel's `dm-log.ko`: it exports the dirty
//! log registry the mirror target links against and registers the log types.
//!
//! Layers, each depending only on the ones below it:
//! - [`logs`]: the log types `core`, `disk` and `userspace`, in safe Rust
//!   (`deny(unsafe_code)`);
//! - [`kernel_ext`]: the module's extension of the kernel crate, safe
//!   abstractions over the C APIs it uses (dirty-log registry, dm-io,
//!   connector, debugfs, delayed work); every `unsafe` of the module is
//!   there;
//! - the crate `dm_log_shared` (`src/shared/`): the region engine and the
//!   on-disk and wire formats, plain `core` Rust, shared with the daemon and
//!   tested on the host.

// `pin_init!` over the disk log's state (many fields) nests deeper than the
// default limit of 128.
#![recursion_limit = "256"]

mod kernel_ext;
mod logs;

#[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
use core::sync::atomic::AtomicU32;
use kernel::{prelude::*, sync::Arc};
use kernel_ext::{
    compat::debugfs::{Dir, File},
    connector,
    dirty_log::{registry, Registration},
};
use logs::{core_log::CoreLog, disk_log::DiskLog, userspace_log};
use userspace_log::{transport::Transport, UserspaceLog};

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
    _core: Registration<CoreLog>,
    _disk: Registration<DiskLog>,
    _userspace: Registration<UserspaceLog>,
    _connector: connector::Registration,
    _transport_stats: Pin<KBox<File<Arc<Transport>>>>,
    #[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
    _race_leg_flush: Pin<KBox<File<&'static AtomicU32>>>,
    _registry: registry::Installed,
}

impl kernel::Module for DmLogRs {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let reg = registry::Registry::install()?;
        let dir = Dir::new(kernel::c_str!("dm_log_rs"));
        let transport = Transport::new()?;
        let stats = KBox::pin_init(
            dir.read_only_file::<_, Error>(kernel::c_str!("userspace"), transport.clone()),
            GFP_KERNEL,
        )?;
        #[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
        let race = KBox::pin_init(
            dir.read_write_file::<_, Error>(
                kernel::c_str!("race_leg_flush"),
                &logs::fault_inject::RACE_LEG_FLUSH,
            ),
            GFP_KERNEL,
        )?;
        let cn = connector::Registration::new(
            userspace_log::CN_ID,
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
        let disk = Registration::new(module, dir)?;
        pr_info!("dirty log registry ready; types: core, disk, userspace\n");
        Ok(DmLogRs {
            _core: core,
            _disk: disk,
            _userspace: userspace,
            _connector: cn,
            _transport_stats: stats,
            #[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
            _race_leg_flush: race,
            _registry: reg,
        })
    }
}
