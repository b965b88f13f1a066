// SPDX-License-Identifier: GPL-2.0

//! The dirty-log type registry and the C API the mirror target links against:
//! `dm_dirty_log_type_register`, `dm_dirty_log_type_unregister`,
//! `dm_dirty_log_create` and `dm_dirty_log_destroy` (exported from
//! `helpers/exports.c`).
//!
//! C header: [`include/linux/dm-dirty-log.h`](srctree/include/linux/dm-dirty-log.h)
//!
//! Semantics follow `dm-log.ko`: types are looked up by exact name; a
//! duplicate name is refused with `-EBUSY`; unregistering an unknown type
//! gives `-EINVAL`; a log holds a reference on its type's owner module from
//! creation to destruction; an unknown type name makes the registry ask for
//! module `dm-log-<name>`, then for shorter names cut at each last `-`.
//! One difference on purpose: destroying a log always drops the module
//! reference its creation took (the C registry skips it when the type was
//! unregistered meanwhile, leaking the reference).

use crate::kernel_ext::bindings;
use core::{
    ptr::{self, NonNull},
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{
    error::from_result,
    ffi::{c_char, c_int, c_uint},
    fmt, new_mutex,
    prelude::*,
    str::{BStr, CStr, CString},
    sync::Mutex,
    types::ScopeGuard,
};

/// A registered type: a `struct dm_dirty_log_type` owned by its registrant.
///
/// # Invariants
///
/// The pointee is valid, with a valid `name`, from registration until it is
/// unregistered (the registrant's obligation).
#[derive(Clone, Copy)]
struct TypeRef(NonNull<bindings::dm_dirty_log_type>);

// SAFETY: A type table is immutable while registered and may be used from any
// thread; the registry only passes the pointer around under its lock.
unsafe impl Send for TypeRef {}

impl TypeRef {
    fn name(&self) -> &CStr {
        // SAFETY: By the type invariant the table and its name are valid while
        // registered, and a `TypeRef` is only used while registered.
        unsafe { CStr::from_char_ptr((*self.0.as_ptr()).name) }
    }

    fn module(&self) -> *mut kernel::bindings::module {
        // SAFETY: By the type invariant the table is valid.
        unsafe { (*self.0.as_ptr()).module }
    }
}

/// The registered types. Unregistering empties a slot and registering
/// reuses one, so unregistering never allocates and cannot fail.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    types: Mutex<KVec<Option<TypeRef>>>,
}

/// The registry of the loaded module, for the exported C functions.
///
/// Set by [`Registry::install`] in module init before any type is registered,
/// cleared by [`Installed`]'s drop at module exit after every type was
/// unregistered. Other modules can only call the exported functions while
/// they are linked against this one, i.e. between the end of its init and the
/// start of its exit, so they always see it set.
static REGISTRY: AtomicPtr<Registry> = AtomicPtr::new(ptr::null_mut());

/// Ownership of the installed registry; uninstalls and frees it when dropped.
pub(crate) struct Installed(Pin<KBox<Registry>>);

impl Registry {
    /// Creates the registry and makes it the one the exported functions use.
    pub(crate) fn install() -> Result<Installed> {
        let reg = KBox::pin_init(
            pin_init!(Registry {
                types <- new_mutex!(KVec::new(), "dm_log_rs::Registry::types"),
            }),
            GFP_KERNEL,
        )?;
        let p = ptr::from_ref::<Registry>(&reg).cast_mut();
        if REGISTRY
            .compare_exchange(ptr::null_mut(), p, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(EBUSY);
        }
        Ok(Installed(reg))
    }

    fn find(types: &[Option<TypeRef>], name: &CStr) -> Option<TypeRef> {
        types
            .iter()
            .flatten()
            .find(|t| t.name().as_bytes() == name.as_bytes())
            .copied()
    }

    /// Looks `name` up and takes a reference on its owner module.
    fn get(&self, name: &CStr) -> Option<TypeRef> {
        let types = self.types.lock();
        let t = Self::find(&types, name)?;
        // SAFETY: The module of a registered type is valid (or NULL for
        // built-in code, which `try_module_get` accepts).
        if unsafe { kernel::bindings::try_module_get(t.module()) } {
            Some(t)
        } else {
            None
        }
    }

    /// Like [`Registry::get`], asking for the module that provides `name`
    /// when it is not registered: `dm-log-<name>`, then the same with the
    /// name cut at its last `-`, and so on.
    fn get_or_load(&self, name: &CStr) -> Option<TypeRef> {
        if let Some(t) = self.get(name) {
            return Some(t);
        }
        let mut candidate = name.as_bytes();
        loop {
            if request_module(candidate).is_ok() {
                if let Some(t) = self.get(name) {
                    return Some(t);
                }
            }
            let cut = candidate.iter().rposition(|&b| b == b'-')?;
            candidate = &candidate[..cut];
        }
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        REGISTRY.store(ptr::null_mut(), Ordering::Release);
        let left = self.0.types.lock().iter().flatten().count();
        if left != 0 {
            pr_warn!("{} dirty log type(s) still registered at exit\n", left);
        }
    }
}

/// Asks the kernel to load module `dm-log-<name>` and waits for it.
fn request_module(name: &[u8]) -> Result {
    let module = CString::try_from_fmt(fmt!("dm-log-{}", BStr::from_bytes(name)))?;
    // SAFETY: Both strings are valid and NUL-terminated; the format consumes
    // exactly one string argument.
    let r = unsafe {
        kernel::bindings::__request_module(
            true,
            kernel::c_str!("%s").as_char_ptr(),
            module.as_char_ptr(),
        )
    };
    kernel::error::to_result(r)
}

/// Runs `f` on the installed registry.
fn with_registry<R>(f: impl FnOnce(&Registry) -> R) -> Option<R> {
    let p = REGISTRY.load(Ordering::Acquire);
    if p.is_null() {
        pr_err!("dirty log registry used while the module is not live\n");
        return None;
    }
    // SAFETY: A non-null `REGISTRY` points to the installed registry, which
    // stays allocated until after it is cleared (see `REGISTRY`).
    Some(f(unsafe { &*p }))
}

/// Registers a dirty-log type. Returns `-EBUSY` if a type of that name is
/// registered already, `-EINVAL` for a table without a name.
///
/// # Safety
///
/// `ty` must point to a valid `struct dm_dirty_log_type` with a valid `name`
/// that stays valid and unmodified until it is unregistered.
#[no_mangle]
pub(crate) unsafe extern "C" fn dm_dirty_log_type_register(
    ty: *mut bindings::dm_dirty_log_type,
) -> c_int {
    from_result(|| {
        let ty = NonNull::new(ty).ok_or(EINVAL)?;
        // SAFETY: `ty` is valid per the function's safety requirements.
        if unsafe { (*ty.as_ptr()).name }.is_null() {
            return Err(EINVAL);
        }
        // INVARIANT: The caller keeps the table valid while registered.
        let t = TypeRef(ty);
        with_registry(|reg| {
            let mut types = reg.types.lock();
            if Registry::find(&types, t.name()).is_some() {
                return Err(EBUSY);
            }
            match types.iter_mut().find(|slot| slot.is_none()) {
                Some(free) => *free = Some(t),
                None => types.push(Some(t), GFP_KERNEL)?,
            }
            Ok(0)
        })
        .unwrap_or(Err(EINVAL))
    })
}

/// Unregisters a dirty-log type. Returns `-EINVAL` if it is not registered.
///
/// # Safety
///
/// `ty` must be null or point to a valid `struct dm_dirty_log_type`.
#[no_mangle]
pub(crate) unsafe extern "C" fn dm_dirty_log_type_unregister(
    ty: *mut bindings::dm_dirty_log_type,
) -> c_int {
    from_result(|| {
        with_registry(|reg| {
            let mut types = reg.types.lock();
            let slot = types
                .iter_mut()
                .find(|slot| slot.is_some_and(|t| ptr::eq(t.0.as_ptr(), ty)))
                .ok_or(EINVAL)?;
            *slot = None;
            Ok(0)
        })
        .unwrap_or(Err(EINVAL))
    })
}

/// The mirror's flush callback type, as in `struct dm_dirty_log`.
type FlushCallback = Option<unsafe extern "C" fn(*mut bindings::dm_target) -> c_int>;

/// Creates a log of type `type_name` for target `ti` from `argc` table
/// arguments. Returns NULL on any failure (the log type prints why).
///
/// # Safety
///
/// `type_name` must be null or a valid string; `ti` a live target;
/// `argv` must hold `argc` valid strings. Called in process context.
#[no_mangle]
pub(crate) unsafe extern "C" fn dm_dirty_log_create(
    type_name: *const c_char,
    ti: *mut bindings::dm_target,
    flush_callback_fn: FlushCallback,
    argc: c_uint,
    argv: *mut *mut c_char,
) -> *mut bindings::dm_dirty_log {
    if type_name.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: `type_name` is a valid string per the function's safety
    // requirements.
    let name = unsafe { CStr::from_char_ptr(type_name) };
    let Some(Some(t)) = with_registry(|reg| reg.get_or_load(name)) else {
        pr_warn!(
            "no dirty log type \"{}\" (module dm-log-{} not found)\n",
            name,
            name
        );
        return ptr::null_mut();
    };
    // `get` took a reference on the type's module: a log that is not made
    // drops it.
    let module = t.module();
    let module_ref = ScopeGuard::new(|| {
        // SAFETY: Drops the reference `get` took, once.
        unsafe { kernel::bindings::module_put(module) }
    });
    // SAFETY: A registered table is valid (type invariant of `TypeRef`), and
    // the module reference taken by `get` keeps it registered.
    let Some(ctr) = (unsafe { (*t.0.as_ptr()).ctr }) else {
        return ptr::null_mut();
    };
    let Ok(mut log) = KBox::new(
        bindings::dm_dirty_log {
            type_: t.0.as_ptr(),
            flush_callback_fn,
            context: ptr::null_mut(),
        },
        GFP_KERNEL,
    ) else {
        return ptr::null_mut();
    };
    // SAFETY: `log` is a valid, initialised log, which does not move when the
    // box is given away below; `ti`, `argc` and `argv` are valid per the
    // function's safety requirements. A failed constructor keeps no
    // reference to `log`.
    if unsafe { ctr(&mut *log, ti, argc, argv) } != 0 {
        return ptr::null_mut();
    }
    // The log holds the module reference now, until `dm_dirty_log_destroy`.
    module_ref.dismiss();
    KBox::into_raw(log)
}

/// Destroys a log made by [`dm_dirty_log_create`] and drops its reference on
/// the type's module.
///
/// # Safety
///
/// `log` must come from [`dm_dirty_log_create`] and not be used afterwards.
#[no_mangle]
pub(crate) unsafe extern "C" fn dm_dirty_log_destroy(log: *mut bindings::dm_dirty_log) {
    if log.is_null() {
        return;
    }
    // SAFETY: `log` is a live log from `dm_dirty_log_create`, so its type is
    // still registered (its module is pinned by the log's reference).
    let ty = unsafe { (*log).type_ };
    // SAFETY: As above: the type table is valid.
    let (dtr, module) = unsafe { ((*ty).dtr, (*ty).module) };
    if let Some(dtr) = dtr {
        // SAFETY: `log` was constructed by this type's `ctr`.
        unsafe { dtr(log) };
    }
    // SAFETY: `log` came from `KBox::into_raw` in `dm_dirty_log_create`.
    drop(unsafe { KBox::from_raw(log) });
    // SAFETY: Drops the reference taken when the log was created. The type
    // table is not touched after this.
    unsafe { kernel::bindings::module_put(module) };
}
