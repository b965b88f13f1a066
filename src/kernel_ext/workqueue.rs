// SPDX-License-Identifier: GPL-2.0

//! Safe abstraction over a delayed work item on the system workqueue.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h),
//! through the `dmlogrs_delayed_work_*` functions of `helpers/workqueue.c` (the
//! kernel crate of 6.12 has no delayed work).
//!
//! A [`DelayedWork`] owns a reference to its target (an [`Arc`]), so the
//! target outlives every run; dropping the item cancels it and waits for a
//! run in progress before the reference goes.

use crate::kernel_ext::bindings;
use core::ptr::NonNull;
use kernel::{ffi::c_void, prelude::*, sync::Arc};

/// What a [`DelayedWork`] runs.
pub(crate) trait DelayedWorkFn: Send + Sync {
    /// Runs in process context (it may sleep). Returns a delay in
    /// milliseconds after which to run again, if it must.
    fn run(&self) -> Option<u32>;
}

/// A work item that runs `T::run` once, a given delay after it is queued.
///
/// # Invariants
///
/// `work` came from `dmlogrs_delayed_work_alloc` with [`Self::callback`] and
/// `target`, and is freed only on drop. `target` came from [`Arc::into_raw`]
/// and its reference is given back only on drop, after the work was
/// cancelled: while the item exists, every run sees a live `T`.
pub(crate) struct DelayedWork<T: DelayedWorkFn> {
    work: NonNull<bindings::dmlogrs_delayed_work>,
    target: *const T,
}

// SAFETY: The C work item may be queued and cancelled from any thread, and
// `T` is `Send + Sync`.
unsafe impl<T: DelayedWorkFn> Send for DelayedWork<T> {}
// SAFETY: As above: queueing concurrently from several threads is allowed.
unsafe impl<T: DelayedWorkFn> Sync for DelayedWork<T> {}

impl<T: DelayedWorkFn> DelayedWork<T> {
    /// Creates an unqueued item running `target`. Process context
    /// (`GFP_KERNEL`).
    pub(crate) fn new(target: Arc<T>) -> Result<Self> {
        let target = Arc::into_raw(target);
        // SAFETY: `callback::<T>` has the signature the helper expects, and
        // `target` stays valid until `drop` (the type invariant).
        let work = unsafe {
            bindings::dmlogrs_delayed_work_alloc(Some(Self::callback), target.cast_mut().cast())
        };
        match NonNull::new(work) {
            // INVARIANT: Allocated above with `callback` and `target`.
            Some(work) => Ok(DelayedWork { work, target }),
            None => {
                // SAFETY: `target` came from `Arc::into_raw` above and was
                // not handed to anything.
                drop(unsafe { Arc::from_raw(target) });
                Err(ENOMEM)
            }
        }
    }

    /// Queues the item to run in `msecs` milliseconds; does nothing if it is
    /// queued already. Any context, atomic included.
    pub(crate) fn queue(&self, msecs: u32) {
        // SAFETY: `work` is valid (the type invariant).
        unsafe { bindings::dmlogrs_delayed_work_queue(self.work.as_ptr(), msecs) };
    }

    /// Cancels the item; on return it is neither queued nor running (until
    /// queued again). Process context: waits for a run in progress.
    pub(crate) fn cancel(&self) {
        // SAFETY: `work` is valid (the type invariant).
        unsafe { bindings::dmlogrs_delayed_work_cancel(self.work.as_ptr()) };
    }

    /// Called by the workqueue, in process context. Returns the delay after
    /// which the helper queues the item again (0: not again).
    ///
    /// # Safety
    ///
    /// `data` must be the `target` of a live [`DelayedWork<T>`].
    unsafe extern "C" fn callback(data: *mut c_void) -> u32 {
        // SAFETY: By the function's contract, `data` is the `target` of a
        // live item, which holds a reference to the `T` (the type
        // invariant); `T: Sync` allows the shared reference here.
        let target = unsafe { &*data.cast::<T>() };
        target.run().unwrap_or(0)
    }
}

impl<T: DelayedWorkFn> Drop for DelayedWork<T> {
    fn drop(&mut self) {
        // SAFETY: `work` is valid (the type invariant); the helper cancels
        // the work, waiting for a run in progress, before freeing it.
        unsafe { bindings::dmlogrs_delayed_work_free(self.work.as_ptr()) };
        // SAFETY: `target` came from `Arc::into_raw` in `new`, and no run
        // can use it any more: the work is cancelled and freed.
        drop(unsafe { Arc::from_raw(self.target) });
    }
}
