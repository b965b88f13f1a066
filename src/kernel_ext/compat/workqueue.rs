// SPDX-License-Identifier: GPL-2.0

//! Delayed work items, in the shape of mainline's `kernel::workqueue`.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h).
//!
//! The 6.12 kernel crate has plain work items ([`Work`], [`HasWork`],
//! [`WorkItem`]) but no delayed ones. This file adds what later kernels have
//! beside them, with their names and signatures: a [`DelayedWork`] field,
//! the [`HasDelayedWork`] trait and its [`impl_has_delayed_work!`] macro,
//! [`new_delayed_work!`], and `Queue::enqueue_delayed` (through the
//! [`QueueExt`] trait here; import it and the call reads as upstream). Lock
//! class keys are `&'static LockClassKey`, as 6.12's `static_lock_class!`
//! gives them (later kernels pin them). A kernel that has all this lets the
//! file go: drop the `QueueExt` import and take the names from
//! `kernel::workqueue`.
//!
//! One thing upstream does not have (yet): [`cancel_delayed_sync`], for an
//! owner that must know no run is queued or in progress before it tears
//! down what a run would use.
//!
//! # Examples
//!
//! ```ignore
//! use crate::kernel_ext::compat::workqueue::{
//!     impl_has_delayed_work, new_delayed_work, DelayedWork, QueueExt,
//! };
//! use kernel::{sync::Arc, time::msecs_to_jiffies, workqueue::{self, WorkItem}};
//!
//! #[pin_data]
//! struct Flusher {
//!     #[pin]
//!     work: DelayedWork<Flusher>,
//! }
//!
//! impl_has_delayed_work! {
//!     impl HasDelayedWork<Self> for Flusher { self.work }
//! }
//!
//! impl WorkItem for Flusher {
//!     type Pointer = Arc<Flusher>;
//!
//!     fn run(this: Arc<Flusher>) {
//!         pr_info!("a second later\n");
//!     }
//! }
//!
//! let f = Arc::pin_init(pin_init!(Flusher { work <- new_delayed_work!() }), GFP_KERNEL)?;
//! // `Err(f)` if it was queued already.
//! let _ = workqueue::system().enqueue_delayed(f, msecs_to_jiffies(1000));
//! ```

use core::marker::PhantomData;
use kernel::{
    bindings,
    prelude::*,
    str::CStr,
    sync::{Arc, LockClassKey},
    time::Jiffies,
    types::Opaque,
    workqueue::{HasWork, Queue, RawWorkItem, Work, WorkItem, WorkItemPointer},
};

/// Creates a [`DelayedWork`] initialiser with lock classes of its own (one
/// per call site) for the work and for its timer, like C's
/// `INIT_DELAYED_WORK`: the timer's runs in softirq, the work's in a
/// kworker with softirqs on, and one class for both would make lockdep
/// report an inconsistent lock state.
macro_rules! new_delayed_work {
    () => {
        $crate::kernel_ext::compat::workqueue::DelayedWork::new(
            ::kernel::optional_name!(),
            ::kernel::static_lock_class!(),
            ::kernel::c_str!(::core::concat!(
                ::core::file!(),
                ":",
                ::core::line!(),
                "_timer"
            )),
            ::kernel::static_lock_class!(),
        )
    };
    ($name:literal) => {
        $crate::kernel_ext::compat::workqueue::DelayedWork::new(
            ::kernel::c_str!($name),
            ::kernel::static_lock_class!(),
            ::kernel::c_str!(::core::concat!($name, "_timer")),
            ::kernel::static_lock_class!(),
        )
    };
}
pub(crate) use new_delayed_work;

/// A `struct delayed_work`: a [`Work`] item and the timer that queues it.
///
/// Embedded in the struct `T` it runs for, like [`Work`].
#[pin_data]
#[repr(transparent)]
pub(crate) struct DelayedWork<T: ?Sized, const ID: u64 = 0> {
    #[pin]
    dwork: Opaque<bindings::delayed_work>,
    _inner: PhantomData<T>,
}

// SAFETY: Kernel work items are usable from any thread; the item does not
// contain a `T`.
unsafe impl<T: ?Sized, const ID: u64> Send for DelayedWork<T, ID> {}
// SAFETY: As above.
unsafe impl<T: ?Sized, const ID: u64> Sync for DelayedWork<T, ID> {}

impl<T: ?Sized, const ID: u64> DelayedWork<T, ID> {
    /// Creates an unqueued item that runs `T::run`, with lock classes for
    /// the work and for its timer; see [`new_delayed_work!`].
    pub(crate) fn new(
        work_name: &'static CStr,
        work_key: &'static LockClassKey,
        timer_name: &'static CStr,
        timer_key: &'static LockClassKey,
    ) -> impl PinInit<Self>
    where
        T: WorkItem<ID>,
    {
        // CAST: `LockClassKey` is `#[repr(transparent)]` over an
        // `Opaque<lock_class_key>`, itself transparent over the struct, which
        // lockdep may write to (it is in an `UnsafeCell`). 6.12 keeps
        // `LockClassKey::as_ptr` private to the kernel crate.
        let raw_key = |key: &'static LockClassKey| {
            core::ptr::from_ref(key)
                .cast::<bindings::lock_class_key>()
                .cast_mut()
        };
        let (work_key, timer_key) = (raw_key(work_key), raw_key(timer_key));
        pin_init!(Self {
            dwork <- Opaque::ffi_init(|slot: *mut bindings::delayed_work| {
                // SAFETY: `slot` is valid for writes (`ffi_init`). The
                // `WorkItemPointer` implementation promises that `run` can
                // be the work function; the timer function is the one
                // `INIT_DELAYED_WORK` installs, which queues the work.
                unsafe {
                    bindings::init_work_with_key(
                        core::ptr::addr_of_mut!((*slot).work),
                        Some(T::Pointer::run),
                        false,
                        work_name.as_char_ptr(),
                        work_key,
                    );
                    bindings::init_timer_key(
                        core::ptr::addr_of_mut!((*slot).timer),
                        Some(bindings::delayed_work_timer_fn),
                        bindings::TIMER_IRQSAFE,
                        timer_name.as_char_ptr(),
                        timer_key,
                    );
                }
            }),
            _inner: PhantomData,
        })
    }

    /// The `struct delayed_work` of the item at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a [`DelayedWork`] (initialised or not).
    pub(crate) unsafe fn raw_get(ptr: *const Self) -> *mut bindings::delayed_work {
        // SAFETY: The caller promises that `ptr` points at a `DelayedWork`.
        unsafe { Opaque::raw_get(core::ptr::addr_of!((*ptr).dwork)) }
    }

    /// The [`Work`] item inside the item at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a [`DelayedWork`] (initialised or not).
    pub(crate) unsafe fn raw_as_work(ptr: *const Self) -> *mut Work<T, ID> {
        // SAFETY: The caller promises that `ptr` points at a `DelayedWork`.
        let dwork = unsafe { Self::raw_get(ptr) };
        // SAFETY: `dwork` is valid, so its `work` field is.
        let work = unsafe { core::ptr::addr_of_mut!((*dwork).work) };
        // CAST: `Work<T, ID>` is `#[repr(transparent)]` over a `work_struct`.
        work.cast()
    }
}

/// Declares that a type has a [`DelayedWork<T, ID>`] field; implement it with
/// [`impl_has_delayed_work!`].
///
/// # Safety
///
/// The [`HasWork<T, ID>`] implementation must give the [`Work`] inside a
/// [`DelayedWork<T, ID>`] field of `Self`.
pub(crate) unsafe trait HasDelayedWork<T, const ID: u64 = 0>: HasWork<T, ID> {}

/// Implements [`HasDelayedWork`] (and the [`HasWork`] it implies) for a
/// struct with a [`DelayedWork`] field.
macro_rules! impl_has_delayed_work {
    ($(impl$({$($generics:tt)*})?
       HasDelayedWork<$work_type:ty $(, $id:tt)?>
       for $self:ty
       { self.$field:ident }
    )*) => {$(
        // The expansion is kernel-extension code in a log type's file: the
        // one `unsafe` a log type may hold, and only through this macro.
        // SAFETY: `raw_get_work` gives the `Work` inside the field, which is
        // at its start (the `work` member begins `struct delayed_work`), so
        // `OFFSET` is that of the `Work` too. It only compiles if the field
        // has the right type.
        #[allow(unsafe_code)]
        unsafe impl$(<$($generics)+>)? ::kernel::workqueue::HasWork<$work_type $(, $id)?>
            for $self
        {
            const OFFSET: usize = ::core::mem::offset_of!(Self, $field) as usize;

            #[inline]
            unsafe fn raw_get_work(
                ptr: *mut Self,
            ) -> *mut ::kernel::workqueue::Work<$work_type $(, $id)?> {
                // SAFETY: The caller promises that `ptr` is not dangling.
                let field = unsafe { ::core::ptr::addr_of_mut!((*ptr).$field) };
                // Only a `DelayedWork` field compiles.
                let field: *mut $crate::kernel_ext::compat::workqueue::DelayedWork<
                    $work_type $(, $id)?
                > = field;
                // SAFETY: `field` points at the `DelayedWork` of `*ptr`.
                unsafe {
                    $crate::kernel_ext::compat::workqueue::DelayedWork::raw_as_work(field)
                }
            }
        }

        // SAFETY: The `HasWork` implementation above gives the `Work` of a
        // `DelayedWork` field.
        #[allow(unsafe_code)]
        unsafe impl$(<$($generics)+>)?
            $crate::kernel_ext::compat::workqueue::HasDelayedWork<$work_type $(, $id)?>
            for $self {}
    )*};
}
pub(crate) use impl_has_delayed_work;

/// A work item pointer that can be queued with a delay: one whose item is a
/// [`DelayedWork`].
///
/// # Safety
///
/// Every `work_struct` pointer `__enqueue` passes to its closure is the
/// `work` member of a `struct delayed_work`.
pub(crate) unsafe trait RawDelayedWorkItem<const ID: u64>: RawWorkItem<ID> {}

// SAFETY: `Arc<T>::__enqueue` passes the `Work` that `T::raw_get_work`
// gives, which `HasDelayedWork` promises is inside a `DelayedWork`.
unsafe impl<T, const ID: u64> RawDelayedWorkItem<ID> for Arc<T>
where
    T: WorkItem<ID, Pointer = Self>,
    T: HasDelayedWork<T, ID>,
{
}

/// `Queue::enqueue_delayed` of later kernels.
pub(crate) trait QueueExt {
    /// Queues `w` to run after `delay` jiffies (at once if 0), on any CPU.
    /// Fails, giving `w` back, if the item is queued already. Any context.
    fn enqueue_delayed<W, const ID: u64>(&self, w: W, delay: Jiffies) -> W::EnqueueOutput
    where
        W: RawDelayedWorkItem<ID> + Send + 'static;
}

impl QueueExt for Queue {
    fn enqueue_delayed<W, const ID: u64>(&self, w: W, delay: Jiffies) -> W::EnqueueOutput
    where
        W: RawDelayedWorkItem<ID> + Send + 'static,
    {
        // CAST: `Queue` is `#[repr(transparent)]` over an
        // `Opaque<workqueue_struct>`, itself transparent over the struct.
        let queue_ptr = core::ptr::from_ref(self)
            .cast::<bindings::workqueue_struct>()
            .cast_mut();
        // SAFETY: The closure returns false only when the item is queued
        // already, and `W` is `Send + 'static`. `queue_delayed_work_on`
        // dereferences the pointer, which `__enqueue` keeps valid for the
        // closure's duration and, if it returns true, until the item ran.
        // `RawDelayedWorkItem` promises the pointer is the `work` member of
        // a `struct delayed_work`.
        unsafe {
            w.__enqueue(move |work_ptr| {
                bindings::queue_delayed_work_on(
                    bindings::wq_misc_consts_WORK_CPU_UNBOUND as _,
                    queue_ptr,
                    kernel::container_of!(work_ptr, bindings::delayed_work, work).cast_mut(),
                    delay,
                )
            })
        }
    }
}

/// Cancels `this`'s delayed work item and waits for a run in progress: on
/// return it is neither queued nor running, until queued again. If it was
/// queued, the reference the queue held is dropped. Returns whether it was
/// queued. Process context.
///
/// Not in mainline (`cancel_delayed_work_sync` has no Rust abstraction
/// there yet).
pub(crate) fn cancel_delayed_sync<T, const ID: u64>(this: &T) -> bool
where
    T: WorkItem<ID, Pointer = Arc<T>>,
    T: HasDelayedWork<T, ID>,
{
    let ptr = core::ptr::from_ref(this).cast_mut();
    // SAFETY: `ptr` points at a live `T`.
    let work = unsafe { T::raw_get_work(ptr) };
    // SAFETY: `HasDelayedWork` promises `work` is inside a live
    // `DelayedWork`.
    let dwork = unsafe { kernel::container_of!(Work::raw_get(work), bindings::delayed_work, work) };
    // SAFETY: `dwork` is an initialised `struct delayed_work` of a live `T`.
    let was_queued = unsafe { bindings::cancel_delayed_work_sync(dwork.cast_mut()) };
    if was_queued {
        // SAFETY: Only `Arc<T>::__enqueue` queues this item (`T::Pointer`
        // is `Arc<T>`), with a reference from `Arc::into_raw(ptr)`; the run
        // that would have taken it back was cancelled, so it is ours.
        drop(unsafe { Arc::from_raw(ptr) });
    }
    was_queued
}
