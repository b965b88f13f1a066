// SPDX-License-Identifier: GPL-2.0

//! The daemon's error type: what a constructor or a request fails with, and
//! why. Its errno is taken where a reply is built ([`Error::errno`]), and
//! nowhere else.

use std::{fmt, io};

use crate::errno;

/// A failed constructor or request.
#[derive(Debug)]
pub enum Error {
    /// Invalid input (`EINVAL`): a constructor line, a region past the end
    /// of a log.
    Invalid(String),
    /// No memory for a log's state (`ENOMEM`).
    NoMemory(String),
    /// No such device (`ENODEV`).
    NoDevice(String),
    /// A system call failed: opening, reading, writing or syncing a log
    /// device (the errno it returned).
    Os {
        /// What was being done, e.g. "cannot open log device /dev/sdb".
        context: String,
        /// The error.
        source: io::Error,
    },
}

/// Results of the daemon's operations.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::Os`].
    pub fn os(context: impl Into<String>, source: io::Error) -> Self {
        Error::Os {
            context: context.into(),
            source,
        }
    }

    /// The (positive) errno a reply carries for this error.
    pub fn errno(&self) -> i32 {
        match self {
            Error::Invalid(_) => libc::EINVAL,
            Error::NoMemory(_) => libc::ENOMEM,
            Error::NoDevice(_) => libc::ENODEV,
            Error::Os { source, .. } => errno::of(source),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) | Error::NoMemory(m) | Error::NoDevice(m) => f.write_str(m),
            Error::Os { context, source } => write!(f, "{context}: {}", errno::describe(source)),
        }
    }
}

/// Errors are equal when they are of the same kind, errno and message
/// (what a reply and a log line show).
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        core::mem::discriminant(self) == core::mem::discriminant(other)
            && self.errno() == other.errno()
            && self.to_string() == other.to_string()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Os { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_and_messages() {
        assert_eq!(Error::Invalid("x".into()).errno(), libc::EINVAL);
        assert_eq!(Error::NoMemory("x".into()).errno(), libc::ENOMEM);
        assert_eq!(Error::NoDevice("x".into()).errno(), libc::ENODEV);
        let e = Error::os(
            "cannot open log device /x",
            io::Error::from_raw_os_error(libc::EACCES),
        );
        assert_eq!(e.errno(), libc::EACCES);
        assert!(e
            .to_string()
            .starts_with("cannot open log device /x: EACCES"));
        // An I/O error without an errno counts as EIO.
        let e = Error::os("read", io::Error::other("short read"));
        assert_eq!(e.errno(), libc::EIO);
    }
}
