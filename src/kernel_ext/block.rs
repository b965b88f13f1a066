// SPDX-License-Identifier: GPL-2.0

//! Block devices, as far as the logs look at them: size, block size, FUA.
//!
//! C header: [`include/linux/blkdev.h`](srctree/include/linux/blkdev.h)

use crate::kernel_ext::bindings;
use kernel::types::Opaque;

/// A block device (`struct block_device`), borrowed from whoever holds it
/// open (a target's [`DmDev`](crate::kernel_ext::dirty_log::DmDev)).
///
/// # Invariants
///
/// The wrapped `block_device` is valid, and open, for the lifetime of the
/// reference to this object.
#[repr(transparent)]
pub(crate) struct BlockDevice(Opaque<kernel::bindings::block_device>);

impl BlockDevice {
    /// # Safety
    ///
    /// `ptr` must point to a block device that stays valid and open for
    /// `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut kernel::bindings::block_device) -> &'a Self {
        // INVARIANT: Guaranteed by the caller.
        // SAFETY: `BlockDevice` is a transparent wrapper of the C structure;
        // the caller guarantees validity for `'a`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The C structure, for other abstractions.
    pub(crate) fn as_raw(&self) -> *mut kernel::bindings::block_device {
        self.0.get()
    }

    /// Size of the device in bytes.
    pub(crate) fn size_bytes(&self) -> u64 {
        // SAFETY: By the type invariant the device is valid and open.
        unsafe { bindings::bdev_nr_bytes(self.as_raw()) }
    }

    /// The device's logical block size in bytes.
    pub(crate) fn logical_block_size(&self) -> u32 {
        // SAFETY: By the type invariant the device is valid and open.
        unsafe { bindings::bdev_logical_block_size(self.as_raw()) }
    }

    /// Whether the device's queue takes `REQ_FUA` writes (`bdev_fua()`);
    /// where it does not, the block layer follows each FUA write with a cache
    /// flush. A stacked device may still emulate FUA below. May change while
    /// the device is open (a table reload, a SCSI cache mode change).
    pub(crate) fn has_fua(&self) -> bool {
        // SAFETY: By the type invariant the device is valid and open.
        unsafe { bindings::bdev_fua(self.as_raw()) }
    }
}
