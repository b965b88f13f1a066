// SPDX-License-Identifier: GPL-2.0

//! The log types, in safe Rust: they reach the kernel only through
//! [`crate::kernel_ext`] and the `kernel` crate, and the compiler holds them
//! to it (`deny(unsafe_code)`; the one exception is the expansion of the
//! kernel extension's `impl_has_delayed_work!`, which says so itself, as a
//! macro of the kernel crate would not need to: `scripts/check-layers.sh`
//! checks that no `allow(unsafe_code)` is written here).
//!
//! - [`core_log`]: `core`, state in memory only;
//! - [`disk_log`]: `disk`, state persisted on a log device in the C log's
//!   format;
//! - [`userspace_log`]: `userspace`, every operation forwarded to a log
//!   server over the connector;
//! - [`regions`]: what the core and disk logs share;
//! - `fault_inject`: the tests' fault injection, in kernels with
//!   `CONFIG_FAULT_INJECTION_DEBUG_FS` only.

#![deny(unsafe_code)]

pub(crate) mod core_log;
pub(crate) mod disk_log;
#[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
pub(crate) mod fault_inject;
mod regions;
pub(crate) mod userspace_log;
