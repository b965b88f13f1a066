// SPDX-License-Identifier: GPL-2.0

//! Safe abstraction over debugfs: the module's directory and read-only files
//! whose content a Rust object formats on each read.
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h)
//!
//! Files live in `/sys/kernel/debug/dm_log_rs/`. Each holds a reference on
//! the object it shows (`Arc<T>`), given back after the file is removed;
//! debugfs waits for readers in progress before removal returns, so the
//! object always outlives every read. The file operations name this module
//! as their owner, so an open file pins the module (`rmmod` says "in use")
//! and a `close()` after the files are gone never runs the module's freed
//! code. The directory is removed when the [`Dir`] and every [`File`] are
//! gone, in whatever order they are dropped. debugfs being absent or failing
//! is not an error: the files are a diagnostic aid.

use crate::kernel_ext::bindings;
use core::{
    fmt::{self, Write},
    marker::PhantomData,
    ptr,
    sync::atomic::{AtomicPtr, AtomicUsize, Ordering},
};
use dm_log_shared::status::StatusWriter;
use kernel::{
    ffi::{c_char, c_void},
    str::CStr,
    sync::Arc,
    types::ForeignOwnable,
};

/// Something a debugfs file shows.
pub(crate) trait Show: Send + Sync + 'static {
    /// Writes the file's content (at most [`MAX_SHOW`] bytes are kept).
    fn show(&self, out: &mut dyn Write) -> fmt::Result;
}

/// Largest content of a file.
pub(crate) const MAX_SHOW: usize = 512;

/// The module's directory, for the files (null when absent).
static DIR: AtomicPtr<bindings::dentry> = AtomicPtr::new(ptr::null_mut());

/// Holders of [`DIR`]: the [`Dir`] and every [`File`] in it. Whoever drops
/// the count to zero removes the directory; once zero, it stays zero until
/// the next [`Dir::create`].
static USERS: AtomicUsize = AtomicUsize::new(0);

/// Takes a reference on the directory, if it exists.
fn get_dir() -> Option<*mut bindings::dentry> {
    USERS
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n != 0).then_some(n + 1)
        })
        .ok()?;
    let d = DIR.load(Ordering::Acquire);
    if d.is_null() {
        put_dir();
        return None;
    }
    Some(d)
}

/// Drops a reference taken by [`get_dir`] or [`Dir::create`]; the last one
/// removes the directory.
fn put_dir() {
    if USERS.fetch_sub(1, Ordering::AcqRel) != 1 {
        return;
    }
    let d = DIR.swap(ptr::null_mut(), Ordering::AcqRel);
    if !d.is_null() {
        // SAFETY: `d` came from `debugfs_create_dir`; the last holder
        // removes it, once (`DIR` was swapped to null).
        unsafe { bindings::debugfs_remove(d) };
    }
}

/// The module's debugfs directory; removed once it and every file in it
/// are dropped.
pub(crate) struct Dir(());

impl Dir {
    /// Creates `/sys/kernel/debug/<name>/` and makes it the files' parent.
    /// Only one may exist at a time.
    pub(crate) fn create(name: &CStr) -> Dir {
        // SAFETY: `name` is a valid string; a NULL parent means the root.
        let d = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), ptr::null_mut()) };
        if !d.is_null() && kernel::error::from_err_ptr(d).is_ok() {
            DIR.store(d, Ordering::Release);
        }
        USERS.store(1, Ordering::Release);
        Dir(())
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        put_dir();
    }
}

/// A read-only file in the module's directory showing a `T`.
///
/// # Invariants
///
/// If `dentry` is non-null, it is a file created with `T`'s file operations
/// and private data from `Arc::into_foreign`, owned by this object, in the
/// module's directory, on which this object holds a reference.
pub(crate) struct File<T: Show> {
    dentry: *mut bindings::dentry,
    _show: PhantomData<Arc<T>>,
}

// SAFETY: The dentry is only removed (from any thread) and `T` is
// `Send + Sync`.
unsafe impl<T: Show> Send for File<T> {}
// SAFETY: No method uses `&self`.
unsafe impl<T: Show> Sync for File<T> {}

impl<T: Show> File<T> {
    const FOPS: bindings::file_operations = bindings::file_operations {
        // An open file holds a reference on this module: the VFS calls into
        // these operations until the file is closed.
        owner: &raw const bindings::__this_module as *mut bindings::module,
        open: Some(bindings::simple_open),
        read: Some(Self::read),
        llseek: Some(bindings::default_llseek),
        // SAFETY: All-zero is a valid `file_operations` (no operation).
        ..unsafe { core::mem::zeroed() }
    };

    /// Creates file `name` showing `data`. Without debugfs, an inert object.
    pub(crate) fn new(name: &CStr, data: Arc<T>) -> Self {
        let inert = File {
            dentry: ptr::null_mut(),
            _show: PhantomData,
        };
        let Some(parent) = get_dir() else {
            return inert;
        };
        let private = data.into_foreign().cast_mut();
        // SAFETY: Valid name, live parent (we hold a reference on it),
        // `'static` ops, owned `private`.
        let d = unsafe {
            bindings::debugfs_create_file(name.as_char_ptr(), 0o444, parent, private, &Self::FOPS)
        };
        if d.is_null() || kernel::error::from_err_ptr(d).is_err() {
            // SAFETY: `private` came from `into_foreign` above and was not
            // handed to any file.
            drop(unsafe { <Arc<T> as ForeignOwnable>::from_foreign(private) });
            put_dir();
            return inert;
        }
        // INVARIANT: Created above with `T`'s operations and `private`, in
        // the directory we took a reference on.
        File {
            dentry: d,
            _show: PhantomData,
        }
    }

    /// # Safety
    ///
    /// Called by the VFS for a file of this type opened with `simple_open`,
    /// so `private_data` holds the file's `Arc<T>`; `buf` is a user buffer
    /// of `count` bytes and `ppos` the file position.
    unsafe extern "C" fn read(
        file: *mut bindings::file,
        buf: *mut c_char,
        count: usize,
        ppos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: `file` is valid; `simple_open` set `private_data`.
        let private = unsafe { (*file).private_data };
        // SAFETY: `private` is the file's `Arc<T>`, kept alive until the file
        // is removed, which waits for this read to return.
        let data = unsafe { <Arc<T> as ForeignOwnable>::borrow(private) };
        // One byte more for the writer's NUL, which is not shown.
        let mut text = [0u8; MAX_SHOW + 1];
        let mut out = StatusWriter::new(&mut text);
        let _ = data.show(&mut out);
        let len = out.written();
        // SAFETY: `buf`/`count`/`ppos` come from the VFS; the kernel buffer
        // is valid for `len` bytes.
        unsafe {
            bindings::simple_read_from_buffer(
                buf.cast::<c_void>(),
                count,
                ppos,
                text.as_ptr().cast::<c_void>(),
                len,
            )
        }
    }
}

impl<T: Show> Drop for File<T> {
    fn drop(&mut self) {
        if self.dentry.is_null() {
            return;
        }
        // SAFETY: By the type invariant the dentry is our file, in a
        // directory we hold a reference on, so not yet removed; removal
        // waits for reads in progress.
        let private = unsafe { (*(*self.dentry).d_inode).i_private };
        // SAFETY: As above; removed exactly once, here.
        unsafe { bindings::debugfs_remove(self.dentry) };
        // SAFETY: `private` is the reference given to the file, which no
        // longer exists.
        drop(unsafe { <Arc<T> as ForeignOwnable>::from_foreign(private) });
        put_dir();
    }
}
