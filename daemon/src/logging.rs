// SPDX-License-Identifier: GPL-2.0

//! Line-oriented logging to standard error.
//!
//! Every event is one line `<program>: <level>: <message>`, written with a
//! single `write` so that lines from concurrent processes do not interleave.
//! `debug` lines are only printed in verbose mode. When standard error is
//! the journal (systemd's `$JOURNAL_STREAM` names it), each line starts with
//! its syslog priority, `<3>` for errors to `<7>` for debug
//! (`sd-daemon(3)`), so `journalctl -p` filters by it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static PROGRAM: OnceLock<&'static str> = OnceLock::new();
static VERBOSE: AtomicBool = AtomicBool::new(false);
static JOURNAL: AtomicBool = AtomicBool::new(false);

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
    /// The syslog priority of the level (`LOG_DEBUG` .. `LOG_ERR`).
    pub fn priority(self) -> u8 {
        match self {
            Level::Debug => 7,
            Level::Info => 6,
            Level::Warning => 4,
            Level::Error => 3,
        }
    }

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
    JOURNAL.store(stderr_is_journal(), Ordering::Relaxed);
}

/// Whether standard error is the journal's stream: `$JOURNAL_STREAM` holds
/// its `<device>:<inode>` and they are those of file descriptor 2 (a child
/// that inherited the variable but not the stream must not prefix).
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    journal_stream_is(&stream.to_string_lossy(), meta.dev(), meta.ino())
}

fn journal_stream_is(var: &str, dev: u64, ino: u64) -> bool {
    var.split_once(':')
        .is_some_and(|(d, i)| d.parse() == Ok(dev) && i.parse() == Ok(ino))
}

/// The text of one log line (with its newline).
fn line(level: Level, program: &str, journal: bool, args: fmt::Arguments<'_>) -> String {
    if journal {
        format!(
            "<{}>{program}: {}: {args}\n",
            level.priority(),
            level.word()
        )
    } else {
        format!("{program}: {}: {args}\n", level.word())
    }
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
    let line = line(level, program, JOURNAL.load(Ordering::Relaxed), args);
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

    #[test]
    fn journal_lines_carry_their_priority() {
        let l = line(Level::Error, "dm-logd", true, format_args!("x {}", 1));
        assert_eq!(l, "<3>dm-logd: error: x 1\n");
        let l = line(Level::Warning, "dm-logd", false, format_args!("y"));
        assert_eq!(l, "dm-logd: warning: y\n");
        assert_eq!(Level::Info.priority(), 6);
        assert_eq!(Level::Debug.priority(), 7);
        assert!(journal_stream_is("8:1234", 8, 1234));
        assert!(!journal_stream_is("8:1234", 8, 1235));
        assert!(!journal_stream_is("garbage", 8, 1234));
    }
}
