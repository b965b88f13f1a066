// SPDX-License-Identifier: GPL-2.0

//! Safe abstraction over device-mapper's synchronous I/O service (dm-io).
//!
//! C header: [`include/linux/dm-io.h`](srctree/include/linux/dm-io.h)
//!
//! dm-io allocates its bios from the client's own mempools with `GFP_NOIO`,
//! so I/O issued here never recurses into the block layer for memory: it is
//! safe on a log's flush path. Every call blocks until the I/O completed, so
//! process context only.

use crate::kernel_ext::bindings;
use crate::kernel_ext::block::BlockDevice;
use crate::kernel_ext::compat::completion::Completion;
use core::{
    ops::Range,
    ptr::NonNull,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};
use kernel::{
    error::{from_err_ptr, to_result},
    ffi::{c_ulong, c_void},
    prelude::*,
    stack_pin_init,
};

/// Bytes in a sector.
pub(crate) const SECTOR_SIZE: usize = 512;

/// A dm-io client: the mempools synchronous I/O is served from.
///
/// # Examples
///
/// Reading the first block of a log device, then writing two runs of it
/// back with FUA where the device has it:
///
/// ```ignore
/// let client = IoClient::new()?;
/// let bdev = dev.bdev();
/// let mut buf = KVVec::from_elem(0u8, 8192, GFP_KERNEL)?;
/// client.read(bdev, 0, &mut buf)?;
/// client.write_runs(bdev, &buf, [0..512, 4096..8192].into_iter(), bdev.has_fua())?;
/// client.flush(bdev)?;
/// ```
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
    pub(crate) fn read(&self, dev: &BlockDevice, sector: u64, buf: &mut [u8]) -> Result {
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
    pub(crate) fn write(&self, dev: &BlockDevice, sector: u64, buf: &[u8]) -> Result {
        // CAST: dm-io only reads the memory of a write.
        let p = buf.as_ptr().cast_mut();
        self.io(dev, bindings::req_op_REQ_OP_WRITE, sector, p, buf.len())
    }

    /// Flushes `dev`'s volatile write cache (an empty `REQ_PREFLUSH` write).
    pub(crate) fn flush(&self, dev: &BlockDevice) -> Result {
        let op = bindings::req_op_REQ_OP_WRITE | (1 << bindings::req_flag_bits___REQ_PREFLUSH);
        // No data: dm-io never looks at the memory of a 0-sector region.
        self.io(dev, op, 0, NonNull::<u8>::dangling().as_ptr(), 0)
    }

    /// Writes the byte ranges `runs` of `buf` to the same offsets of `dev`
    /// (the buffer mirrors the device from sector 0), all in flight at once,
    /// and waits for all of them. Returns the bytes written; any failure
    /// fails the whole batch (`EIO`). Each range must be sector-aligned and
    /// lie within `buf` (`start <= end`); one that does not fails the batch
    /// without being written.
    ///
    /// With `fua`, each write is `REQ_FUA`: on stable media when it
    /// completes (on a device with a volatile cache but no FUA, the block
    /// layer follows it with a cache flush). Writes completed earlier are
    /// not made durable by it.
    pub(crate) fn write_runs(
        &self,
        dev: &BlockDevice,
        buf: &[u8],
        runs: impl Iterator<Item = Range<usize>>,
        fua: bool,
    ) -> Result<u64> {
        let mut op = bindings::req_op_REQ_OP_WRITE;
        if fua {
            op |= 1 << bindings::req_flag_bits___REQ_FUA;
        }
        // Pinned on this stack frame, which outlives every use: the frame
        // waits for the completion before returning.
        stack_pin_init!(let batch = pin_init!(Batch {
            pending: AtomicUsize::new(1),
            failed: AtomicBool::new(false),
            done <- Completion::new(),
        }));
        let context = core::ptr::from_ref::<Batch>(&batch)
            .cast_mut()
            .cast::<c_void>();
        let mut bytes = 0u64;
        for run in runs {
            if run.start > run.end
                || run.start % SECTOR_SIZE != 0
                || run.end % SECTOR_SIZE != 0
                || run.end > buf.len()
            {
                batch.failed.store(true, Ordering::Release);
                break;
            }
            if run.start == run.end {
                continue;
            }
            let len = run.end - run.start;
            // CAST: dm-io only reads the memory of a write.
            let p = buf[run.start..].as_ptr().cast_mut();
            let mut req = self.request(op, p);
            req.notify = bindings::dm_io_notify {
                fn_: Some(Batch::done),
                context,
            };
            let mut region = bindings::dm_io_region {
                bdev: dev.as_raw(),
                sector: (run.start / SECTOR_SIZE) as u64,
                count: (len / SECTOR_SIZE) as u64,
            };
            batch.pending.fetch_add(1, Ordering::AcqRel);
            // An asynchronous `dm_io` builds its bios before returning and
            // calls `Batch::done` once they completed, unless it fails before
            // submitting. `buf` and the pinned batch outlive every I/O: this
            // function waits for all of them before returning.
            // SAFETY: `req` describes `len` valid bytes of `buf`; `region`
            // names an open device; `context` is the live batch.
            let r = unsafe {
                bindings::dm_io(
                    &mut req,
                    1,
                    &mut region,
                    core::ptr::null_mut(),
                    bindings::dmlogrs_ioprio_default(),
                )
            };
            if r != 0 {
                batch.failed.store(true, Ordering::Release);
                batch.pending.fetch_sub(1, Ordering::AcqRel);
                break;
            }
            bytes += len as u64;
        }
        // Drop the submitter's own reference, then wait for the I/O.
        // `done` is completed once, by whoever drops the last reference.
        if batch.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            batch.done.complete();
        }
        batch.done.wait_for_completion_io();
        if batch.failed.load(Ordering::Acquire) {
            return Err(EIO);
        }
        Ok(bytes)
    }

    /// A request of `op` on the memory at `buf`, synchronous unless the
    /// caller sets a notify function.
    fn request(&self, op: u32, buf: *mut u8) -> bindings::dm_io_request {
        let addr = buf.cast::<c_void>();
        // SAFETY: `is_vmalloc_addr` only compares the address with the
        // vmalloc range; it does not dereference it.
        let vmalloc = unsafe { kernel::bindings::is_vmalloc_addr(addr) };
        bindings::dm_io_request {
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
        }
    }

    fn io(&self, dev: &BlockDevice, op: u32, sector: u64, buf: *mut u8, len: usize) -> Result {
        if len % SECTOR_SIZE != 0 {
            return Err(EINVAL);
        }
        let mut req = self.request(op, buf);
        let mut region = bindings::dm_io_region {
            bdev: dev.as_raw(),
            sector,
            count: (len / SECTOR_SIZE) as u64,
        };
        let mut error_bits: c_ulong = 0;
        // The caller's borrow keeps `buf` valid (and, for a read, exclusively
        // ours) until this synchronous call returns.
        // SAFETY: `req` describes `len` valid bytes at `buf`, `region` an
        // open device; the client is valid by the type invariant.
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

/// A batch of asynchronous writes in flight: a reference per write plus one
/// for the submitter; whoever drops the last completes `done`.
#[pin_data]
struct Batch {
    pending: AtomicUsize,
    failed: AtomicBool,
    #[pin]
    done: Completion,
}

impl Batch {
    /// dm-io's completion callback for one write of the batch (may run in
    /// interrupt context: only atomics and `complete`).
    ///
    /// # Safety
    ///
    /// `context` must be the batch the write was submitted with, which is
    /// alive until its last reference is dropped and `done` waited for.
    unsafe extern "C" fn done(error: c_ulong, context: *mut c_void) {
        // SAFETY: Guaranteed by the function's safety requirements; this
        // write's reference keeps the submitter waiting, so the batch lives.
        let batch = unsafe { &*context.cast::<Batch>() };
        if error != 0 {
            batch.failed.store(true, Ordering::Release);
        }
        if batch.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The waiter cannot return before `complete` released the
            // completion's lock, so the batch outlives this call.
            batch.done.complete();
        }
    }
}

impl Drop for IoClient {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the client is valid and destroyed
        // exactly once, here; no I/O is in flight (all I/O is synchronous).
        unsafe { bindings::dm_io_client_destroy(self.client.as_ptr()) };
    }
}
