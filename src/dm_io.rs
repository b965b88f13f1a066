// SPDX-License-Identifier: GPL-2.0

//! Safe abstraction over device-mapper's synchronous I/O service (dm-io).
//!
//! C header: [`include/linux/dm-io.h`](srctree/include/linux/dm-io.h)
//!
//! dm-io allocates its bios from the client's own mempools with `GFP_NOIO`,
//! so I/O issued here never recurses into the block layer for memory: it is
//! safe on a log's flush path. Every call blocks until the I/O completed, so
//! process context only.

use crate::bindings;
use crate::dirty_log::DmDev;
use core::ptr::NonNull;
use kernel::{
    error::{from_err_ptr, to_result},
    ffi::{c_ulong, c_void},
    prelude::*,
};

/// Bytes in a sector.
pub(crate) const SECTOR_SIZE: usize = 512;

/// A dm-io client: the mempools synchronous I/O is served from.
///
/// # Invariants
///
/// `client` came from `dm_io_client_create` and is destroyed only on drop.
pub(crate) struct IoClient {
    client: NonNull<bindings::dm_io_client>,
}

// SAFETY: A dm-io client may be used from any thread; its mempools do their
// own locking.
unsafe impl Send for IoClient {}
// SAFETY: As above: concurrent `dm_io` calls on one client are allowed.
unsafe impl Sync for IoClient {}

impl IoClient {
    /// Creates a client. Process context (`GFP_KERNEL` allocations).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: No preconditions; returns a client or an `ERR_PTR`.
        let client = from_err_ptr(unsafe { bindings::dm_io_client_create() })?;
        let client = NonNull::new(client).ok_or(ENOMEM)?;
        // INVARIANT: Just created.
        Ok(IoClient { client })
    }

    /// Reads `buf.len()` bytes (a multiple of the sector size) from `dev`
    /// at `sector`.
    pub(crate) fn read(&self, dev: &DmDev, sector: u64, buf: &mut [u8]) -> Result {
        self.io(
            dev,
            bindings::req_op_REQ_OP_READ,
            sector,
            buf.as_mut_ptr(),
            buf.len(),
        )
    }

    /// Writes `buf` (a multiple of the sector size long) to `dev` at
    /// `sector`.
    pub(crate) fn write(&self, dev: &DmDev, sector: u64, buf: &[u8]) -> Result {
        // CAST: dm-io only reads the memory of a write.
        let p = buf.as_ptr().cast_mut();
        self.io(dev, bindings::req_op_REQ_OP_WRITE, sector, p, buf.len())
    }

    /// Flushes `dev`'s volatile write cache (an empty `REQ_PREFLUSH` write).
    pub(crate) fn flush(&self, dev: &DmDev) -> Result {
        let op = bindings::req_op_REQ_OP_WRITE | (1 << bindings::req_flag_bits___REQ_PREFLUSH);
        // No data: dm-io never looks at the memory of a 0-sector region.
        self.io(dev, op, 0, NonNull::<u8>::dangling().as_ptr(), 0)
    }

    fn io(&self, dev: &DmDev, op: u32, sector: u64, buf: *mut u8, len: usize) -> Result {
        if len % SECTOR_SIZE != 0 {
            return Err(EINVAL);
        }
        let addr = buf.cast::<c_void>();
        // SAFETY: `is_vmalloc_addr` only compares the address with the
        // vmalloc range; it does not dereference it.
        let vmalloc = unsafe { kernel::bindings::is_vmalloc_addr(addr) };
        let mut req = bindings::dm_io_request {
            bi_opf: op,
            mem: bindings::dm_io_memory {
                type_: if vmalloc {
                    bindings::dm_io_mem_type_DM_IO_VMA
                } else {
                    bindings::dm_io_mem_type_DM_IO_KMEM
                },
                offset: 0,
                ptr: bindings::dm_io_memory__bindgen_ty_1 { addr },
            },
            // A NULL notify function makes the request synchronous.
            notify: bindings::dm_io_notify {
                fn_: None,
                context: core::ptr::null_mut(),
            },
            client: self.client.as_ptr(),
        };
        let mut region = bindings::dm_io_region {
            bdev: dev.bdev(),
            sector,
            count: (len / SECTOR_SIZE) as u64,
        };
        let mut error_bits: c_ulong = 0;
        // SAFETY: `req` describes `len` bytes at `buf`, which the caller's
        // borrow keeps valid (and, for a read, exclusively ours) until this
        // synchronous call returns; `region` names an open device; the
        // client is valid by the type invariant.
        to_result(unsafe {
            bindings::dm_io(
                &mut req,
                1,
                &mut region,
                &mut error_bits,
                bindings::dmlogrs_ioprio_default(),
            )
        })?;
        if error_bits != 0 {
            return Err(EIO);
        }
        Ok(())
    }
}

impl Drop for IoClient {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the client is valid and destroyed
        // exactly once, here; no I/O is in flight (all I/O is synchronous).
        unsafe { bindings::dm_io_client_destroy(self.client.as_ptr()) };
    }
}
