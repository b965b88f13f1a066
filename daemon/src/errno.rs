// SPDX-License-Identifier: GPL-2.0

//! errno values and their names, for replies and log lines.

use std::io;

pub use libc::{
    EACCES, EAGAIN, EBADF, EBUSY, EEXIST, EFBIG, EINTR, EINVAL, EIO, EISDIR, ENOBUFS, ENODEV,
    ENOENT, ENOMEM, ENOSPC, ENOTBLK, ENOTDIR, ENXIO, EPERM, EPROTONOSUPPORT, EROFS, ESRCH,
};

/// The symbolic name of errno `e` (positive or negative), e.g. `EINVAL`.
pub fn name(e: i32) -> String {
    let e = e.checked_abs().unwrap_or(0);
    let known = match e {
        0 => "0",
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::ENOTBLK => "ENOTBLK",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ENOBUFS => "ENOBUFS",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EMSGSIZE => "EMSGSIZE",
        _ => return format!("errno {e}"),
    };
    known.to_string()
}

/// The (positive) errno of an I/O error; `EIO` when it has none.
pub fn of(err: &io::Error) -> i32 {
    err.raw_os_error().unwrap_or(libc::EIO)
}

/// `<NAME> (<description>)` for an I/O error, for log lines.
pub fn describe(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(e) => format!("{} ({})", name(e), io::Error::from_raw_os_error(e)),
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(super::name(-libc::EINVAL), "EINVAL");
        assert_eq!(super::name(libc::ESRCH), "ESRCH");
        assert_eq!(super::name(4000), "errno 4000");
        assert_eq!(super::name(i32::MIN), "0");
    }
}
