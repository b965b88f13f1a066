// SPDX-License-Identifier: GPL-2.0

//! Line-oriented logging to standard error.
//!
//! Every event is one line `<program>: <level>: <message>`, written with a
//! single `write` so that lines from concurrent processes do not interleave.
//! `debug` lines are only printed in verbose mode.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static PROGRAM: OnceLock<&'static str> = OnceLock::new();
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Per-request detail, verbose mode only.
    Debug,
    /// Normal events (log created, ready, shutdown).
    Info,
    /// Something unexpected that the program survives.
    Warning,
    /// A failed operation.
    Error,
}

impl Level {
    /// The word printed in the line.
    pub fn word(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// Sets the program name used as line prefix (first call wins) and the
/// verbosity.
pub fn init(program: &'static str, verbose: bool) {
    let _ = PROGRAM.set(program);
    VERBOSE.store(verbose, Ordering::Relaxed);
}

/// Whether debug lines are printed.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Prints one log line.
pub fn emit(level: Level, args: fmt::Arguments<'_>) {
    if level == Level::Debug && !verbose() {
        return;
    }
    let program = PROGRAM.get().copied().unwrap_or("dm-logd");
    let line = format!("{program}: {}: {args}\n", level.word());
    // One formatted write per line (captured by the test harness).
    eprint!("{line}");
}

/// Logs a debug line (verbose mode only).
#[macro_export]
macro_rules! log_debug {
    ($($arg:tt)*) => { $crate::logging::emit($crate::logging::Level::Debug, format_args!($($arg)*)) };
}

/// Logs an info line.
#[macro_export]
macro_rules! log_info {
    ($($arg:tt)*) => { $crate::logging::emit($crate::logging::Level::Info, format_args!($($arg)*)) };
}

/// Logs a warning line.
#[macro_export]
macro_rules! log_warn {
    ($($arg:tt)*) => { $crate::logging::emit($crate::logging::Level::Warning, format_args!($($arg)*)) };
}

/// Logs an error line.
#[macro_export]
macro_rules! log_error {
    ($($arg:tt)*) => { $crate::logging::emit($crate::logging::Level::Error, format_args!($($arg)*)) };
}

/// A short form of a log's UUID for log lines: the whole UUID when it is
/// short, else `..` and its last 8 characters (what the kernel prints).
pub fn uuid_tail(uuid: &str) -> String {
    let chars: Vec<char> = uuid.chars().collect();
    if chars.len() <= 12 {
        uuid.to_string()
    } else {
        let tail: String = chars[chars.len() - 8..].iter().collect();
        format!("..{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_tail_shortens_long_uuids() {
        assert_eq!(uuid_tail("abc"), "abc");
        assert_eq!(uuid_tail("LVM-0123456789abcdefXYZ"), "..bcdefXYZ");
    }
}
