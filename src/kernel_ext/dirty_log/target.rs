// SPDX-License-Identifier: GPL-2.0

//! The device-mapper target a log serves, and devices opened through it.
//!
//! C header: [`include/linux/device-mapper.h`](srctree/include/linux/device-mapper.h)

use crate::kernel_ext::{bindings, block::BlockDevice};
use core::ptr::NonNull;
use kernel::{
    error::to_result,
    ffi::{c_char, c_int},
    prelude::*,
    str::CStr,
};

/// The mirror's flush callback (`mirror_flush`: flushes every leg).
pub(super) type FlushFn = unsafe extern "C" fn(*mut bindings::dm_target) -> c_int;

/// The device-mapper target a log belongs to.
///
/// # Invariants
///
/// `ti` points to the `dm_target` the log was constructed for; device-mapper
/// keeps it alive until after the log's destructor returned, which is the
/// whole lifetime of the log's context and so of this object. `flush` is the
/// callback the target passed to `dm_dirty_log_create`, if any.
pub(crate) struct Target {
    ti: NonNull<bindings::dm_target>,
    flush: Option<FlushFn>,
}

// SAFETY: `Target` only reads fields that are immutable after the target's
// constructor (`len`, `table`) and calls device-mapper functions that may be
// called from any thread; the pointer itself carries no thread affinity.
unsafe impl Send for Target {}
// SAFETY: See the `Send` impl; no method mutates state through `&self`.
unsafe impl Sync for Target {}

impl Target {
    /// # Safety
    ///
    /// `ti` must be a live target that outlives the returned object, and
    /// `flush` its flush callback.
    pub(super) unsafe fn new(ti: NonNull<bindings::dm_target>, flush: Option<FlushFn>) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Target { ti, flush }
    }

    /// Length of the target in 512-byte sectors.
    pub(crate) fn len(&self) -> u64 {
        // SAFETY: By the type invariant `ti` is valid; `len` is set before the
        // log is constructed and never changes afterwards.
        unsafe { (*self.ti.as_ptr()).len }
    }

    /// Calls the target's flush callback (the mirror flushes every leg).
    /// Succeeds when the target gave none. Process context only.
    pub(crate) fn flush(&self) -> Result {
        match self.flush {
            // SAFETY: By the type invariant `f` is the target's callback and
            // `ti` the live target it expects.
            Some(f) => to_result(unsafe { f(self.ti.as_ptr()) }),
            None => Ok(()),
        }
    }

    /// Raises a device-mapper event on the target's table, so dmeventd and
    /// LVM look at its status. Takes a mutex: process context only.
    pub(crate) fn table_event(&self) {
        // SAFETY: By the type invariant `ti` is valid, and so is its table
        // while the target exists.
        unsafe { bindings::dm_table_event((*self.ti.as_ptr()).table) };
    }

    /// Opens `path` (a device path or `maj:min`) with the table's mode, as a
    /// device of this target. Process context only (table load).
    pub(crate) fn get_device(&self, path: &CStr) -> Result<DmDev> {
        let ti = self.ti.as_ptr();
        // SAFETY: By the type invariant `ti` and its table are valid.
        let mode = unsafe { bindings::dm_table_get_mode((*ti).table) };
        let mut dev: *mut bindings::dm_dev = core::ptr::null_mut();
        // SAFETY: `ti` is valid, `path` a valid string, `dev` a valid slot.
        to_result(unsafe { bindings::dm_get_device(ti, path.as_char_ptr(), mode, &mut dev) })?;
        let dev = NonNull::new(dev).ok_or(ENODEV)?;
        // INVARIANT: `dev` was just obtained from `dm_get_device` for `ti`,
        // and `ti` outlives the log, which owns the `DmDev`.
        Ok(DmDev { ti: self.ti, dev })
    }
}

/// A device opened by a target (`struct dm_dev`); put back when dropped.
///
/// # Invariants
///
/// `dev` came from `dm_get_device(ti, ..)` and has not been put; `ti` is a
/// live target that outlives this object.
pub(crate) struct DmDev {
    ti: NonNull<bindings::dm_target>,
    dev: NonNull<bindings::dm_dev>,
}

// SAFETY: A `dm_dev` is reference counted by device-mapper and may be used
// and put from any thread; its fields read here do not change while held.
unsafe impl Send for DmDev {}
// SAFETY: See the `Send` impl; no method mutates state through `&self`.
unsafe impl Sync for DmDev {}

impl DmDev {
    /// The device's name as device-mapper prints it: `maj:min`.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: By the type invariant `dev` is valid; `name` is a
        // NUL-terminated array set by `dm_get_device` and not changed after.
        let name: *const c_char = unsafe { (*self.dev.as_ptr()).name.as_ptr() };
        // SAFETY: As above: a valid NUL-terminated string living as long as
        // `self`.
        unsafe { CStr::from_char_ptr(name) }
    }

    /// The device's block device.
    pub(crate) fn bdev(&self) -> &BlockDevice {
        // SAFETY: By the type invariant `dev` is valid and holds its block
        // device open until it is put, when `self` is dropped.
        unsafe { BlockDevice::from_raw((*self.dev.as_ptr()).bdev) }
    }
}

impl Drop for DmDev {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `dev` was obtained for `ti`, which is
        // still live, and is put exactly once, here.
        unsafe { bindings::dm_put_device(self.ti.as_ptr(), self.dev.as_ptr()) };
    }
}
