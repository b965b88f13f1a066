// SPDX-License-Identifier: GPL-2.0

//! The byte store behind a persistent (disk-like) log.
//!
//! [`Store`] is what the disk log needs from its device: positioned reads and
//! writes and a data sync. [`FileStore`] serves a block device or a regular
//! file; the unit tests' stores (fault injection and I/O accounting) are in
//! [`testing`], built for tests only.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Positioned I/O on a log device.
pub trait Store {
    /// Reads exactly `buf.len()` bytes at byte offset `off`.
    fn read_exact_at(&mut self, buf: &mut [u8], off: u64) -> io::Result<()>;
    /// Writes all of `buf` at byte offset `off`.
    fn write_all_at(&mut self, buf: &[u8], off: u64) -> io::Result<()>;
    /// Makes the written data durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
    /// Drops what this node caches of the device, so that the next read
    /// sees what another node wrote (a shared cluster log device).
    fn drop_cache(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<S: Store + ?Sized> Store for Box<S> {
    fn read_exact_at(&mut self, buf: &mut [u8], off: u64) -> io::Result<()> {
        (**self).read_exact_at(buf, off)
    }

    fn write_all_at(&mut self, buf: &[u8], off: u64) -> io::Result<()> {
        (**self).write_all_at(buf, off)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        (**self).sync_data()
    }

    fn drop_cache(&mut self) -> io::Result<()> {
        (**self).drop_cache()
    }
}

/// A log device or file opened read-write.
pub struct FileStore {
    file: File,
}

impl FileStore {
    /// Wraps an open file.
    pub fn new(file: File) -> Self {
        FileStore { file }
    }
}

impl Store for FileStore {
    fn read_exact_at(&mut self, buf: &mut [u8], off: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, off)
    }

    fn write_all_at(&mut self, buf: &[u8], off: u64) -> io::Result<()> {
        self.file.write_all_at(buf, off)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn drop_cache(&mut self) -> io::Result<()> {
        crate::sys::drop_page_cache(&self.file)
    }
}

/// Stores for the unit tests: in memory with injectable faults, and a
/// wrapper that counts I/O.
#[cfg(test)]
pub mod testing {
    use super::Store;
    use std::cell::{Cell, RefCell};
    use std::io;
    use std::rc::Rc;

    /// I/O counters shared between a [`CountingStore`] and the test that made
    /// it.
    #[derive(Debug, Default)]
    pub struct IoStats {
        /// Bytes written.
        pub bytes_written: Cell<u64>,
        /// Write calls.
        pub writes: Cell<u64>,
        /// Sync calls.
        pub syncs: Cell<u64>,
        /// `(offset, length)` of every write, in order.
        pub write_log: RefCell<Vec<(u64, usize)>>,
    }

    impl IoStats {
        /// Forgets everything counted so far.
        pub fn reset(&self) {
            self.bytes_written.set(0);
            self.writes.set(0);
            self.syncs.set(0);
            self.write_log.borrow_mut().clear();
        }
    }

    /// A store wrapper that counts the I/O going to the inner store.
    pub struct CountingStore<S> {
        inner: S,
        stats: Rc<IoStats>,
    }

    impl<S: Store> CountingStore<S> {
        /// Wraps `inner`; returns the wrapper and a handle on its counters.
        pub fn new(inner: S) -> (Self, Rc<IoStats>) {
            let stats = Rc::new(IoStats::default());
            (
                CountingStore {
                    inner,
                    stats: Rc::clone(&stats),
                },
                stats,
            )
        }
    }

    impl<S: Store> Store for CountingStore<S> {
        fn read_exact_at(&mut self, buf: &mut [u8], off: u64) -> io::Result<()> {
            self.inner.read_exact_at(buf, off)
        }

        fn write_all_at(&mut self, buf: &[u8], off: u64) -> io::Result<()> {
            self.inner.write_all_at(buf, off)?;
            let s = &self.stats;
            s.bytes_written
                .set(s.bytes_written.get() + buf.len() as u64);
            s.writes.set(s.writes.get() + 1);
            s.write_log.borrow_mut().push((off, buf.len()));
            Ok(())
        }

        fn sync_data(&mut self) -> io::Result<()> {
            self.inner.sync_data()?;
            self.stats.syncs.set(self.stats.syncs.get() + 1);
            Ok(())
        }
    }

    /// Shared state of a [`MemStore`].
    #[derive(Debug, Default)]
    pub struct MemInner {
        /// The device content.
        pub data: Vec<u8>,
        /// Fail reads with `EIO`.
        pub fail_read: bool,
        /// Fail writes with `EIO`.
        pub fail_write: bool,
        /// Fail syncs with `EIO`.
        pub fail_sync: bool,
    }

    /// An in-memory device of fixed size, with fault injection. Clones share
    /// the same device.
    #[derive(Clone, Debug, Default)]
    pub struct MemStore(pub Rc<RefCell<MemInner>>);

    impl MemStore {
        /// A zeroed device of `len` bytes.
        pub fn new(len: usize) -> Self {
            MemStore(Rc::new(RefCell::new(MemInner {
                data: vec![0; len],
                ..MemInner::default()
            })))
        }
    }

    fn range(len: usize, off: u64, n: usize) -> io::Result<std::ops::Range<usize>> {
        let start = usize::try_from(off).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        match start.checked_add(n) {
            Some(end) if end <= len => Ok(start..end),
            _ => Err(io::Error::from_raw_os_error(libc::ENOSPC)),
        }
    }

    impl Store for MemStore {
        fn read_exact_at(&mut self, buf: &mut [u8], off: u64) -> io::Result<()> {
            let m = self.0.borrow();
            if m.fail_read {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            let r = range(m.data.len(), off, buf.len())?;
            buf.copy_from_slice(&m.data[r]);
            Ok(())
        }

        fn write_all_at(&mut self, buf: &[u8], off: u64) -> io::Result<()> {
            let mut m = self.0.borrow_mut();
            if m.fail_write {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            let r = range(m.data.len(), off, buf.len())?;
            m.data[r].copy_from_slice(buf);
            Ok(())
        }

        fn sync_data(&mut self) -> io::Result<()> {
            if self.0.borrow().fail_sync {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            Ok(())
        }
    }
}
