// SPDX-License-Identifier: GPL-2.0

//! Writing a status string into a fixed buffer, as device-mapper's `DMEMIT`
//! does: truncated at `len - 1` bytes, always NUL-terminated.
//!
//! # Examples
//!
//! ```
//! use core::fmt::Write;
//! use dm_log_shared::status::StatusWriter;
//!
//! let mut buf = [0xFFu8; 8];
//! let mut out = StatusWriter::new(&mut buf);
//! write!(out, "{} {}", "core", 1024).unwrap();
//! assert_eq!(out.written(), 7);
//! assert_eq!(&buf, b"core 10\0");
//! ```

use core::fmt;

/// A [`fmt::Write`] into a fixed byte buffer that truncates like `DMEMIT`
/// and keeps the buffer NUL-terminated (a zero-length buffer takes
/// nothing). Writing never fails: what does not fit is dropped, as
/// device-mapper drops it.
pub struct StatusWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> StatusWriter<'a> {
    /// A writer into `buf`, which it empties (NUL at the start).
    pub fn new(buf: &'a mut [u8]) -> Self {
        if let Some(first) = buf.first_mut() {
            *first = 0;
        }
        StatusWriter { buf, len: 0 }
    }

    /// Number of bytes written so far, without the NUL.
    pub fn written(&self) -> usize {
        self.len
    }

    /// The bytes written so far, without the NUL.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Writes raw bytes (a status string from elsewhere) up to their first
    /// NUL, truncating like [`fmt::Write::write_str`].
    pub fn write_bytes(&mut self, s: &[u8]) {
        let s = s.split(|&b| b == 0).next().unwrap_or(&[]);
        let room = self.buf.len().saturating_sub(self.len + 1);
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
        if self.len < self.buf.len() {
            self.buf[self.len] = 0;
        }
    }
}

impl fmt::Write for StatusWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len().saturating_sub(self.len + 1);
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if self.len < self.buf.len() {
            self.buf[self.len] = 0;
        }
        Ok(())
    }
}
