// SPDX-License-Identifier: GPL-2.0

//! debugfs directories and read-only files, in the shape of mainline's
//! `kernel::debugfs`.
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h)
//!
//! The 6.12 kernel crate has no debugfs. Mainline's (6.18) has [`Dir::new`],
//! [`Dir::read_only_file`], which returns the initialiser of a [`File`]
//! that owns the data it shows and derefs to it, [`Dir::read_write_file`],
//! the [`Writer`] trait, implemented for every `Debug` type, and the
//! [`Reader`] trait, implemented for the atomics; this file has those
//! (`Reader` for `AtomicU32` only), with the same signatures, and nothing
//! else. A kernel that has them lets it go.
//!
//! A [`File`] is removed before its data is dropped, and debugfs waits for
//! reads in progress before removal returns, so the data outlives every
//! read. The file operations name this module as their owner, so an open
//! file pins the module (`rmmod` says "in use") and a `close()` after the
//! files are gone never runs the module's freed code. A directory is removed
//! when its [`Dir`] handles and every [`File`] in it are gone, in whatever
//! order they are dropped. debugfs being absent or failing is not an error:
//! the handles are then inert, and the files a diagnostic aid.
//!
//! # Examples
//!
//! ```ignore
//! use crate::kernel_ext::compat::debugfs::{Dir, File};
//!
//! #[derive(Debug, Default)]
//! struct Stats {
//!     hits: AtomicU64,
//! }
//!
//! let dir = Dir::new(c_str!("my_module"));
//! // `/sys/kernel/debug/my_module/stats` reads `Stats { hits: 0 }`.
//! let stats: Pin<KBox<File<Stats>>> =
//!     KBox::pin_init(dir.read_only_file(c_str!("stats"), Stats::default()), GFP_KERNEL)?;
//! stats.hits.fetch_add(1, Ordering::Relaxed);
//! ```

use crate::kernel_ext::bindings;
use core::{
    fmt,
    marker::PhantomPinned,
    ops::Deref,
    ptr,
    sync::atomic::{AtomicU32, Ordering},
};
use dm_log_shared::status::StatusWriter;
use kernel::{
    ffi::{c_char, c_void},
    prelude::*,
    str::CStr,
    sync::Arc,
    uaccess::{UserSlice, UserSliceReader},
};

/// What a read-only file shows: written anew on each read (at most
/// [`MAX_SHOW`] bytes are shown).
pub(crate) trait Writer {
    /// Formats the file's content.
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: Sized + fmt::Debug> Writer for T {
    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{self:?}")
    }
}

/// What a writable file does with what is written to it.
// Writable files serve the tests' fault injection only.
#[cfg_attr(not(CONFIG_FAULT_INJECTION_DEBUG_FS), allow(dead_code))]
pub(crate) trait Reader {
    /// Takes the bytes of one `write()`.
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result;
}

impl Reader for AtomicU32 {
    /// Stores a decimal number (surrounding whitespace ignored).
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        let mut buf = [0u8; 16];
        let len = reader.len();
        let text = buf.get_mut(..len).ok_or(EINVAL)?;
        reader.read_slice(text)?;
        let value = core::str::from_utf8(text)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .ok_or(EINVAL)?;
        self.store(value, Ordering::Relaxed);
        Ok(())
    }
}

impl<T: Reader> Reader for &T {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        (**self).read_from_slice(reader)
    }
}

/// Largest content of a file (not in mainline, which uses `seq_file`).
pub(crate) const MAX_SHOW: usize = 512;

/// A debugfs entry, removed when the last reference goes; holds its parent
/// so the parent goes after it.
///
/// # Invariants
///
/// `dentry` is a live debugfs entry, removed only on drop.
struct Entry {
    dentry: *mut bindings::dentry,
    _parent: Option<Arc<Entry>>,
}

// SAFETY: A dentry pointer may be used and removed from any thread.
unsafe impl Send for Entry {}
// SAFETY: `Entry` has no methods that use `&self` but on the pointer's value.
unsafe impl Sync for Entry {}

impl Entry {
    /// Takes ownership of what a `debugfs_create_*` call returned, if it is
    /// an entry.
    fn new(dentry: *mut bindings::dentry, parent: Option<Arc<Entry>>) -> Option<Self> {
        if dentry.is_null() || kernel::error::from_err_ptr(dentry).is_err() {
            return None;
        }
        // INVARIANT: A live entry, just created.
        Some(Entry {
            dentry,
            _parent: parent,
        })
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the entry is live, and removed only
        // here; removing a file waits for reads in progress.
        unsafe { bindings::debugfs_remove(self.dentry) };
    }
}

/// A debugfs directory. Clones are handles to the same directory, which is
/// removed when every handle and every file in it are gone.
#[derive(Clone)]
pub(crate) struct Dir(Option<Arc<Entry>>);

impl Dir {
    /// Creates `name` at the root of debugfs; an inert handle if that fails.
    pub(crate) fn new(name: &CStr) -> Self {
        // SAFETY: `name` is a valid C string; a null parent is the root.
        let d = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), ptr::null_mut()) };
        Dir(Entry::new(d, None).and_then(|e| Arc::new(e, GFP_KERNEL).ok()))
    }

    /// The initialiser of a read-only file `name` in this directory, showing
    /// `data` (which the [`File`] owns). The file is absent if the directory
    /// or its creation failed; the [`File`] and its data are there anyway.
    pub(crate) fn read_only_file<'a, T, E: 'a>(
        &'a self,
        name: &'a CStr,
        data: impl PinInit<T, E> + 'a,
    ) -> impl PinInit<File<T>, E> + 'a
    where
        T: Writer + Send + Sync + 'static,
    {
        try_pin_init!(&this in File {
            data <- data,
            entry: {
                // SAFETY: `this` is the `File` being initialised; `data` is
                // initialised already (fields initialise in the order
                // written), and pinned with it.
                let data = unsafe { ptr::addr_of!((*this.as_ptr()).data) };
                self.create_file(name, data)
            },
            _pin: PhantomPinned,
        }? E)
    }

    /// The initialiser of a file `name` in this directory (mode 0600) that
    /// shows `data` when read and hands what is written to
    /// [`Reader::read_from_slice`]. As [`Dir::read_only_file`] otherwise.
    #[cfg_attr(not(CONFIG_FAULT_INJECTION_DEBUG_FS), allow(dead_code))]
    pub(crate) fn read_write_file<'a, T, E: 'a>(
        &'a self,
        name: &'a CStr,
        data: impl PinInit<T, E> + 'a,
    ) -> impl PinInit<File<T>, E> + 'a
    where
        T: Writer + Reader + Send + Sync + 'static,
    {
        try_pin_init!(&this in File {
            data <- data,
            entry: {
                // SAFETY: As in `read_only_file`.
                let data = unsafe { ptr::addr_of!((*this.as_ptr()).data) };
                self.create_file_with(name, data, 0o600, &File::<T>::FOPS_RW)
            },
            _pin: PhantomPinned,
        }? E)
    }

    /// Creates a file showing the `T` at `data`.
    fn create_file<T: Writer + Send + Sync + 'static>(
        &self,
        name: &CStr,
        data: *const T,
    ) -> Option<Entry> {
        self.create_file_with(name, data, 0o444, &File::<T>::FOPS)
    }

    /// Creates a file with `fops` for the `T` at `data`.
    fn create_file_with<T: Send + Sync + 'static>(
        &self,
        name: &CStr,
        data: *const T,
        mode: bindings::umode_t,
        fops: &'static bindings::file_operations,
    ) -> Option<Entry> {
        let parent = self.0.as_ref()?;
        // SAFETY: `name` is a valid C string, `parent` a live directory;
        // `fops` are the operations of a `File<T>` for this `T`, which
        // expect `T` at `data`; `data` outlives the file: the `File` removes
        // the file before its data is dropped.
        let d = unsafe {
            bindings::debugfs_create_file(
                name.as_char_ptr(),
                mode,
                parent.dentry,
                data.cast_mut().cast::<c_void>(),
                fops,
            )
        };
        Entry::new(d, Some(parent.clone()))
    }
}

/// A read-only debugfs file and the data it shows; derefs to the data.
/// Removed when dropped, before the data.
#[pin_data]
pub(crate) struct File<T> {
    // Declared before `data`: dropped, so the file removed, first.
    entry: Option<Entry>,
    #[pin]
    data: T,
    #[pin]
    _pin: PhantomPinned,
}

impl<T> Deref for File<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: Writer + Send + Sync + 'static> File<T> {
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

    /// # Safety
    ///
    /// Called by the VFS for a file of this type opened with `simple_open`,
    /// so `private_data` is the `T` the file was created with; `buf` is a
    /// user buffer of `count` bytes and `ppos` the file position.
    unsafe extern "C" fn read(
        file: *mut bindings::file,
        buf: *mut c_char,
        count: usize,
        ppos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: `file` is valid; `simple_open` set `private_data`.
        let private = unsafe { (*file).private_data };
        // SAFETY: `private` is the file's `T`, which outlives the file (its
        // removal waits for this read to return). `T: Sync`.
        let data = unsafe { &*private.cast::<T>() };
        // One byte more for the writer's NUL, which is not shown.
        let mut text = [0u8; MAX_SHOW + 1];
        let mut out = StatusWriter::new(&mut text);
        let _ = fmt::write(&mut out, format_args!("{}", Show(data)));
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

#[cfg_attr(not(CONFIG_FAULT_INJECTION_DEBUG_FS), allow(dead_code))]
impl<T: Writer + Reader + Send + Sync + 'static> File<T> {
    const FOPS_RW: bindings::file_operations = bindings::file_operations {
        write: Some(Self::write),
        ..Self::FOPS
    };

    /// # Safety
    ///
    /// Called by the VFS for a file of this type opened with `simple_open`,
    /// so `private_data` is the `T` the file was created with; `buf` is a
    /// user buffer of `count` bytes.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const c_char,
        count: usize,
        _ppos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: `file` is valid; `simple_open` set `private_data`.
        let private = unsafe { (*file).private_data };
        // SAFETY: As in `read`: the file's `T`, alive until this returns.
        let data = unsafe { &*private.cast::<T>() };
        // Each write is taken whole, wherever the file position is.
        let mut reader = UserSlice::new(buf as usize, count).reader();
        match data.read_from_slice(&mut reader) {
            Ok(()) => count as isize,
            Err(e) => e.to_errno() as isize,
        }
    }
}

/// Formats a [`Writer`] with `{}`.
struct Show<'a, T>(&'a T);

impl<T: Writer> fmt::Display for Show<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write(f)
    }
}
