// SPDX-License-Identifier: GPL-2.0

//! The log-type trait, the adapter that turns an implementation into a C
//! ops table, and the registration of a type.

use super::{target::FlushFn, Args, Region, StatusType, StatusWriter, Target};
use crate::kernel_ext::{bindings, dirty_log::registry};
use core::{fmt, marker::PhantomData, mem::MaybeUninit, ptr::NonNull};
use kernel::{
    error::{from_result, VTABLE_DEFAULT_ERROR},
    ffi::{c_char, c_int, c_uint, c_void},
    init::InPlaceWrite,
    prelude::*,
    str::CStr,
    sync::{Arc, UniqueArc},
    types::{ForeignOwnable, Opaque},
};

/// How a log is owned: the pointer the adapter keeps in the C log's
/// `context`, from the constructor to the destructor. `Pin<KBox<T>>` for a
/// log that only device-mapper calls; `Arc<T>` for one that also hands
/// references to itself to others (its own work items).
pub(crate) trait LogPointer<T>: ForeignOwnable + Send + Sync + 'static {
    /// The memory of a log not constructed yet.
    type Slot;

    /// Allocates a log's memory (`GFP_KERNEL`).
    fn alloc() -> Result<Self::Slot>;

    /// Runs `init` in `slot`.
    fn init(slot: Self::Slot, init: impl PinInit<T, Error>) -> Result<Self>;
}

impl<T: Send + Sync + 'static> LogPointer<T> for Pin<KBox<T>> {
    type Slot = KBox<MaybeUninit<T>>;

    fn alloc() -> Result<Self::Slot> {
        Ok(KBox::new_uninit(GFP_KERNEL)?)
    }

    fn init(slot: Self::Slot, init: impl PinInit<T, Error>) -> Result<Self> {
        slot.write_pin_init(init)
    }
}

impl<T: Send + Sync + 'static> LogPointer<T> for Arc<T> {
    type Slot = UniqueArc<MaybeUninit<T>>;

    fn alloc() -> Result<Self::Slot> {
        Ok(UniqueArc::new_uninit(GFP_KERNEL)?)
    }

    fn init(slot: Self::Slot, init: impl PinInit<T, Error>) -> Result<Self> {
        Ok(slot.write_pin_init(init)?.into())
    }
}

/// What the operations of a log type `T` get: a borrow of the log through
/// its [`LogType::Ptr`] (`Pin<&T>` or `ArcBorrow<'_, T>`; both deref to `T`).
pub(crate) type Borrowed<'a, T> = <<T as LogType>::Ptr as ForeignOwnable>::Borrowed<'a>;

/// A dirty-log type: the operations of `struct dm_dirty_log_type`.
///
/// Calling contexts (from `dm-raid1.c` and `dm-region-hash.c`):
/// - [`LogType::in_sync`] with `can_block == false` runs on the bio
///   submission and completion paths, possibly in interrupt context;
/// - [`LogType::mark_region`] runs under the region hash's read lock;
///
/// so neither may sleep. Everything else runs in process context: the
/// constructor and suspend/resume from the table ioctls, the rest from the
/// mirror's single-threaded worker.
///
/// # Examples
///
/// A log that keeps nothing (every region clean and in sync), registered
/// under the name `null`:
///
/// ```ignore
/// struct NullLog(u64);
///
/// #[vtable]
/// impl LogType for NullLog {
///     const NAME: &'static CStr = c_str!("null");
///     type Shared = ();
///     type Ptr = Pin<KBox<Self>>;
///
///     fn new(target: Target, _args: &Args<'_>, _: &()) -> Result<impl PinInit<Self, Error>> {
///         Ok(NullLog(target.len().div_ceil(8)))
///     }
///     fn region_size(_: Pin<&Self>) -> u32 { 8 }
///     fn is_clean(_: Pin<&Self>, _: Region) -> bool { true }
///     fn in_sync(_: Pin<&Self>, _: Region, _can_block: bool) -> Result<bool> { Ok(true) }
///     fn flush(_: Pin<&Self>) -> Result { Ok(()) }
///     fn mark_region(_: Pin<&Self>, _: Region) {}
///     fn clear_region(_: Pin<&Self>, _: Region) {}
///     fn get_resync_work(_: Pin<&Self>) -> Result<Option<Region>> { Ok(None) }
///     fn set_region_sync(_: Pin<&Self>, _: Region, _: bool) {}
///     fn sync_count(this: Pin<&Self>) -> Region { this.0 }
///     fn status(_: Pin<&Self>, kind: StatusType, out: &mut StatusWriter<'_>) -> fmt::Result {
///         match kind {
///             StatusType::Info => out.write_str("1 null"),
///             StatusType::Table => out.write_str("null 0 "),
///             StatusType::Ima => Ok(()),
///         }
///     }
/// }
///
/// // In module init; unregistered when `reg` is dropped.
/// let reg = Registration::<NullLog>::new(module, ())?;
/// ```
#[vtable]
pub(crate) trait LogType: Sized + Send + Sync + 'static {
    /// The type name used in table lines (`core`, `disk`, `userspace`).
    const NAME: &'static CStr;

    /// State shared by every log of the type, owned by its [`Registration`].
    type Shared: Send + Sync + 'static;

    /// The pointer that owns a log of the type: `Pin<KBox<Self>>`, or
    /// `Arc<Self>` for a log that hands out references to itself.
    type Ptr: LogPointer<Self>;

    /// Constructs a log for `target` from its table arguments: checks them
    /// and returns the initialiser of the log, which the adapter runs in
    /// memory it allocated before calling this (so nothing done here is
    /// left to undo because of an allocation failure after it).
    fn new(
        target: Target,
        args: &Args<'_>,
        shared: &Self::Shared,
    ) -> Result<impl PinInit<Self, Error>>;

    /// Before the target is suspended.
    fn presuspend(_this: Borrowed<'_, Self>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// After the target is suspended.
    fn postsuspend(_this: Borrowed<'_, Self>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// When the target is resumed.
    fn resume(_this: Borrowed<'_, Self>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Region size in sectors.
    fn region_size(this: Borrowed<'_, Self>) -> u32;

    /// Whether `region` is clean.
    fn is_clean(this: Borrowed<'_, Self>, region: Region) -> bool;

    /// Whether `region` is in sync. May return `EAGAIN` (`-EWOULDBLOCK`)
    /// when the answer needs to block and `can_block` is false.
    fn in_sync(this: Borrowed<'_, Self>, region: Region, can_block: bool) -> Result<bool>;

    /// Makes the log's state persistent (may block).
    fn flush(this: Borrowed<'_, Self>) -> Result;

    /// Marks `region` dirty. Must not sleep.
    fn mark_region(this: Borrowed<'_, Self>, region: Region);

    /// Marks `region` clean.
    fn clear_region(this: Borrowed<'_, Self>, region: Region);

    /// The next region to resync, if any.
    fn get_resync_work(this: Borrowed<'_, Self>) -> Result<Option<Region>>;

    /// Records the resync outcome of `region`.
    fn set_region_sync(this: Borrowed<'_, Self>, region: Region, in_sync: bool);

    /// Number of regions in sync.
    fn sync_count(this: Borrowed<'_, Self>) -> Region;

    /// Writes the status of the given type.
    fn status(
        this: Borrowed<'_, Self>,
        kind: StatusType,
        out: &mut StatusWriter<'_>,
    ) -> fmt::Result;

    /// Tears the log down: called once, by the destructor, with the
    /// owning pointer. The default drops it.
    fn release(this: Self::Ptr) {
        drop(this);
    }

    /// Whether another node is recovering `region` (cluster logs).
    fn is_remote_recovering(_this: Borrowed<'_, Self>, _region: Region) -> bool {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The `extern "C"` callbacks of a [`LogType`], installed in its ops table.
struct Adapter<T: LogType>(PhantomData<T>);

impl<T: LogType> Adapter<T> {
    /// Borrows the context of a constructed log.
    ///
    /// # Safety
    ///
    /// `log` must be a log whose context was set by [`Adapter::ctr`] and whose
    /// destructor has not run; the borrow must not outlive that.
    unsafe fn context<'a>(log: *mut bindings::dm_dirty_log) -> Borrowed<'a, T> {
        // SAFETY: The caller guarantees `log` is live and constructed.
        let ctx = unsafe { (*log).context };
        // `ctx` is given back only by `from_foreign` in `dtr`, not yet run.
        // SAFETY: `ctx` came from `into_foreign` in `ctr` and is still owned.
        unsafe { T::Ptr::borrow(ctx) }
    }

    /// # Safety
    ///
    /// Called by device-mapper (`dm_dirty_log_create`) with a valid `log`,
    /// the live target `ti` and `argc` valid argument strings in `argv`.
    unsafe extern "C" fn ctr(
        log: *mut bindings::dm_dirty_log,
        ti: *mut bindings::dm_target,
        argc: c_uint,
        argv: *mut *mut c_char,
    ) -> c_int {
        from_result(|| {
            let ti = NonNull::new(ti).ok_or(EINVAL)?;
            // SAFETY: `log` is valid per the function's safety requirements.
            let flush: Option<FlushFn> = unsafe { (*log).flush_callback_fn };
            // SAFETY: `ti` is the live target the log is built for; it
            // outlives the log and so the log's context.
            let target = unsafe { Target::new(ti, flush) };
            // SAFETY: Guaranteed by the function's safety requirements; the
            // strings outlive this call, and `Args` does not escape it.
            let args = unsafe { Args::from_raw(argc, argv) };
            // SAFETY: `log` is valid; device-mapper set its type to the ops
            // table this callback was found in.
            let ty = unsafe { (*log).type_ };
            // CAST: Every ops table with this callback is the first field of
            // a `TypeBox<T>` (`#[repr(C)]`), see `Registration::new`.
            let tb = ty.cast::<TypeBox<T>>();
            // SAFETY: The type stays registered, and so its `TypeBox` alive,
            // while a log of it exists: the log holds a module reference.
            let shared = unsafe { &(*tb).shared };
            // The log's memory first: a log type's constructor may do what
            // it cannot take back once its initialiser is returned.
            let slot = T::Ptr::alloc()?;
            let ctx = T::Ptr::init(slot, T::new(target, &args, shared)?)?;
            // SAFETY: `log` is valid; the context is ours to set.
            unsafe { (*log).context = ctx.into_foreign() as *mut c_void };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called once by device-mapper for a log constructed by [`Adapter::ctr`].
    unsafe extern "C" fn dtr(log: *mut bindings::dm_dirty_log) {
        // SAFETY: `log` is valid per the function's safety requirements.
        let ctx = unsafe { (*log).context };
        // SAFETY: `ctx` came from `into_foreign` in `ctr`, and this is the
        // only place it is given back.
        T::release(unsafe { T::Ptr::from_foreign(ctx) });
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`].
    unsafe extern "C" fn presuspend(log: *mut bindings::dm_dirty_log) -> c_int {
        // SAFETY: Guaranteed by the function's safety requirements.
        let ctx = unsafe { Self::context(log) };
        from_result(|| T::presuspend(ctx).map(|()| 0))
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`].
    unsafe extern "C" fn postsuspend(log: *mut bindings::dm_dirty_log) -> c_int {
        // SAFETY: Guaranteed by the function's safety requirements.
        let ctx = unsafe { Self::context(log) };
        from_result(|| T::postsuspend(ctx).map(|()| 0))
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`].
    unsafe extern "C" fn resume(log: *mut bindings::dm_dirty_log) -> c_int {
        // SAFETY: Guaranteed by the function's safety requirements.
        let ctx = unsafe { Self::context(log) };
        from_result(|| T::resume(ctx).map(|()| 0))
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`].
    unsafe extern "C" fn get_region_size(log: *mut bindings::dm_dirty_log) -> u32 {
        // SAFETY: Guaranteed by the function's safety requirements.
        T::region_size(unsafe { Self::context(log) })
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`].
    unsafe extern "C" fn is_clean(log: *mut bindings::dm_dirty_log, region: Region) -> c_int {
        // SAFETY: Guaranteed by the function's safety requirements.
        c_int::from(T::is_clean(unsafe { Self::context(log) }, region))
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`].
    unsafe extern "C" fn in_sync(
        log: *mut bindings::dm_dirty_log,
        region: Region,
        can_block: c_int,
    ) -> c_int {
        // SAFETY: Guaranteed by the function's safety requirements.
        let ctx = unsafe { Self::context(log) };
        from_result(|| T::in_sync(ctx, region, can_block != 0).map(c_int::from))
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`].
    unsafe extern "C" fn flush(log: *mut bindings::dm_dirty_log) -> c_int {
        // SAFETY: Guaranteed by the function's safety requirements.
        let ctx = unsafe { Self::context(log) };
        from_result(|| T::flush(ctx).map(|()| 0))
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`].
    unsafe extern "C" fn mark_region(log: *mut bindings::dm_dirty_log, region: Region) {
        // SAFETY: Guaranteed by the function's safety requirements.
        T::mark_region(unsafe { Self::context(log) }, region)
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`].
    unsafe extern "C" fn clear_region(log: *mut bindings::dm_dirty_log, region: Region) {
        // SAFETY: Guaranteed by the function's safety requirements.
        T::clear_region(unsafe { Self::context(log) }, region)
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`]; `region` must
    /// be valid for a write.
    unsafe extern "C" fn get_resync_work(
        log: *mut bindings::dm_dirty_log,
        region: *mut Region,
    ) -> c_int {
        // SAFETY: Guaranteed by the function's safety requirements.
        let ctx = unsafe { Self::context(log) };
        from_result(|| match T::get_resync_work(ctx)? {
            Some(r) => {
                // SAFETY: `region` is valid for a write per the function's
                // safety requirements.
                unsafe { region.write(r) };
                Ok(1)
            }
            None => Ok(0),
        })
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`].
    unsafe extern "C" fn set_region_sync(
        log: *mut bindings::dm_dirty_log,
        region: Region,
        in_sync: c_int,
    ) {
        // SAFETY: Guaranteed by the function's safety requirements.
        T::set_region_sync(unsafe { Self::context(log) }, region, in_sync != 0)
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`].
    unsafe extern "C" fn get_sync_count(log: *mut bindings::dm_dirty_log) -> Region {
        // SAFETY: Guaranteed by the function's safety requirements.
        T::sync_count(unsafe { Self::context(log) })
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`]; `result` must
    /// be valid for writes of `maxlen` bytes.
    unsafe extern "C" fn status(
        log: *mut bindings::dm_dirty_log,
        status_type: bindings::status_type_t,
        result: *mut c_char,
        maxlen: c_uint,
    ) -> c_int {
        let kind = match status_type {
            bindings::status_type_t_STATUSTYPE_INFO => StatusType::Info,
            bindings::status_type_t_STATUSTYPE_TABLE => StatusType::Table,
            bindings::status_type_t_STATUSTYPE_IMA => StatusType::Ima,
            _ => return 0,
        };
        let buf: &mut [u8] = if result.is_null() || maxlen == 0 {
            &mut []
        } else {
            // SAFETY: `result` is valid for `maxlen` bytes per the function's
            // safety requirements, and nothing else accesses it meanwhile.
            unsafe { core::slice::from_raw_parts_mut(result.cast::<u8>(), maxlen as usize) }
        };
        let mut out = StatusWriter::new(buf);
        // SAFETY: Guaranteed by the function's safety requirements.
        let ctx = unsafe { Self::context(log) };
        // The writer truncates instead of failing, as DMEMIT does.
        let _ = T::status(ctx, kind, &mut out);
        out.written() as c_int
    }

    /// # Safety
    ///
    /// `log` must be live and constructed by [`Adapter::ctr`].
    unsafe extern "C" fn is_remote_recovering(
        log: *mut bindings::dm_dirty_log,
        region: Region,
    ) -> c_int {
        // SAFETY: Guaranteed by the function's safety requirements.
        c_int::from(T::is_remote_recovering(
            unsafe { Self::context(log) },
            region,
        ))
    }

    /// The ops table for `T`, owned by `module`.
    fn ops(module: &'static ThisModule) -> bindings::dm_dirty_log_type {
        bindings::dm_dirty_log_type {
            name: T::NAME.as_char_ptr(),
            module: module.as_ptr(),
            ctr: Some(Self::ctr),
            dtr: Some(Self::dtr),
            presuspend: if T::HAS_PRESUSPEND {
                Some(Self::presuspend)
            } else {
                None
            },
            postsuspend: if T::HAS_POSTSUSPEND {
                Some(Self::postsuspend)
            } else {
                None
            },
            resume: if T::HAS_RESUME {
                Some(Self::resume)
            } else {
                None
            },
            get_region_size: Some(Self::get_region_size),
            is_clean: Some(Self::is_clean),
            in_sync: Some(Self::in_sync),
            flush: Some(Self::flush),
            mark_region: Some(Self::mark_region),
            clear_region: Some(Self::clear_region),
            get_resync_work: Some(Self::get_resync_work),
            set_region_sync: Some(Self::set_region_sync),
            get_sync_count: Some(Self::get_sync_count),
            status: Some(Self::status),
            is_remote_recovering: if T::HAS_IS_REMOTE_RECOVERING {
                Some(Self::is_remote_recovering)
            } else {
                None
            },
            ..Default::default()
        }
    }
}

/// A log type's ops table and the state its logs share. The table comes
/// first, so a pointer to it is a pointer to the whole.
#[repr(C)]
struct TypeBox<T: LogType> {
    ty: Opaque<bindings::dm_dirty_log_type>,
    shared: T::Shared,
}

/// A registered dirty-log type; unregistered when dropped. See
/// [`LogType`] for an example.
///
/// # Invariants
///
/// `tb.ty` holds a fully initialised ops table for `T` that is in the
/// registry for the whole life of this object.
pub(crate) struct Registration<T: LogType> {
    tb: Pin<KBox<TypeBox<T>>>,
}

// SAFETY: The ops table is only read by other threads (through the
// registry), the shared state is `Send + Sync`, and dropping either from any
// thread is fine.
unsafe impl<T: LogType> Send for Registration<T> {}
// SAFETY: `Registration` has no methods that use `&self`.
unsafe impl<T: LogType> Sync for Registration<T> {}

impl<T: LogType> Registration<T> {
    /// Builds the ops table of `T` and registers it under [`LogType::NAME`],
    /// with `shared` for its logs.
    pub(crate) fn new(module: &'static ThisModule, shared: T::Shared) -> Result<Self> {
        let ty = Opaque::new(Adapter::<T>::ops(module));
        let tb = KBox::pin(TypeBox { ty, shared }, GFP_KERNEL)?;
        // SAFETY: The table is initialised and pinned in its allocation,
        // which outlives the registration: `drop` unregisters before freeing
        // it.
        kernel::error::to_result(unsafe { registry::dm_dirty_log_type_register(tb.ty.get()) })?;
        // INVARIANT: Registered just above.
        Ok(Registration { tb })
    }
}

impl<T: LogType> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the table is registered. Logs of this
        // type hold a reference on this module, so none exists any more.
        unsafe { registry::dm_dirty_log_type_unregister(self.tb.ty.get()) };
    }
}
