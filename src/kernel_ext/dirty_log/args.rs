// SPDX-License-Identifier: GPL-2.0

//! The arguments of a log's table line, as device-mapper hands them over.

use kernel::{
    ffi::{c_char, c_uint},
    str::CStr,
};

/// The arguments of a log's table line (after the argument count).
pub(crate) struct Args<'a> {
    argv: &'a [*mut c_char],
}

impl<'a> Args<'a> {
    /// # Safety
    ///
    /// `argv` must point to `argc` valid NUL-terminated strings that outlive
    /// `'a` (or `argc` must be 0).
    pub(super) unsafe fn from_raw(argc: c_uint, argv: *mut *mut c_char) -> Self {
        if argc == 0 || argv.is_null() {
            return Args { argv: &[] };
        }
        // SAFETY: The caller guarantees `argv` holds `argc` pointers.
        let argv = unsafe { core::slice::from_raw_parts(argv, argc as usize) };
        Args { argv }
    }

    /// Number of arguments.
    pub(crate) fn len(&self) -> usize {
        self.argv.len()
    }

    /// The arguments from `from` on.
    pub(crate) fn tail(&self, from: usize) -> Args<'a> {
        Args {
            argv: self.argv.get(from..).unwrap_or(&[]),
        }
    }

    /// Argument `i`, if there is one.
    pub(crate) fn get(&self, i: usize) -> Option<&'a CStr> {
        let p = *self.argv.get(i)?;
        if p.is_null() {
            return None;
        }
        // SAFETY: `from_raw`'s caller guarantees every entry is a valid
        // NUL-terminated string living for `'a`.
        Some(unsafe { CStr::from_char_ptr(p) })
    }
}
