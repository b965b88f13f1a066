// SPDX-License-Identifier: GPL-2.0

//! Completions, in the shape of mainline's `kernel::sync::Completion`.
//!
//! C header: [`include/linux/completion.h`](srctree/include/linux/completion.h).
//!
//! The 6.12 kernel crate has none. Mainline's has [`Completion::new`],
//! `complete_all` and `wait_for_completion`; this one has `new` and, for
//! dm-io's completion callback, which may run in hard interrupt context,
//! [`Completion::complete`] (`complete_all` asserts a threaded context on
//! PREEMPT_RT lockdep builds) and [`Completion::wait_for_completion_io`]
//! (the wait counts as I/O wait, as dm-io's own synchronous I/O does). A
//! kernel that has the type lets this file go, keeping the two extra
//! methods.
//!
//! # Examples
//!
//! ```ignore
//! use crate::kernel_ext::compat::completion::Completion;
//!
//! kernel::stack_pin_init!(let done = Completion::new());
//! // Handed to a callback that calls `done.complete()`, then:
//! done.wait_for_completion_io();
//! ```

use kernel::{bindings, prelude::*, types::Opaque};

/// A `struct completion`: threads wait until something declares it done.
#[pin_data]
pub(crate) struct Completion {
    #[pin]
    inner: Opaque<bindings::completion>,
}

// SAFETY: A completion may be used from any thread; the C side serialises
// with its own lock.
unsafe impl Send for Completion {}
// SAFETY: As above: every method takes `&self` and is thread-safe in C.
unsafe impl Sync for Completion {}

impl Completion {
    /// An initialiser of a completion not done yet.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            inner <- Opaque::ffi_init(|slot: *mut bindings::completion| {
                // SAFETY: `slot` is valid for writes (`ffi_init`).
                unsafe { crate::kernel_ext::bindings::init_completion(slot) }
            }),
        })
    }

    fn as_raw(&self) -> *mut bindings::completion {
        self.inner.get()
    }

    /// Declares it done for one waiter. Any context, hard interrupts
    /// included. Not in mainline.
    pub(crate) fn complete(&self) {
        // SAFETY: `as_raw` is an initialised completion (pinned, so it has
        // not moved since).
        unsafe { bindings::complete(self.as_raw()) };
    }

    /// Waits (uninterruptibly) until it is done, accounted as waiting for
    /// I/O. Process context. Mainline has the plain `wait_for_completion`.
    pub(crate) fn wait_for_completion_io(&self) {
        // SAFETY: As in `complete`.
        unsafe { bindings::wait_for_completion_io(self.as_raw()) };
    }
}
