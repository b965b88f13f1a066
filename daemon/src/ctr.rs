// SPDX-License-Identifier: GPL-2.0

//! The constructor line of a log, as the kernel sends it in a `CTR`
//! request: `<target_len> <log_type> [<#args>] <args...>`.
//!
//! - `core` (alias `clustered-core`): `<region_size> [sync|nosync]`;
//! - `disk` (alias `clustered-disk`): `<log_path> <region_size> [sync|nosync]`,
//!   `log_path` a block device (path or `maj:min`) or a regular file.
//!
//! As in LVM and cmirrord tables, the arguments may be preceded by their
//! count (`disk 3 /dev/vg/log 1024 nosync`); the count is recognised when it
//! is a decimal number equal to the number of arguments that follow it. The
//! region arguments follow the kernel's rules ([`dm_log_shared::table`]).

use crate::engine::{SyncMode, MAX_REGIONS};
use crate::error::{Error, Result};
use dm_log_shared::table::{self, ArgError, RegionArgs};

/// The two families of log types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogClass {
    /// In-memory (`core`, `clustered-core`).
    Core,
    /// Persistent (`disk`, `clustered-disk`).
    Disk,
}

/// A validated constructor line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtrConfig {
    /// Target length in sectors.
    pub target_len: u64,
    /// The log type word as given (printed back in the status).
    pub type_word: String,
    /// Its family.
    pub class: LogClass,
    /// The log device or file (disk-like only).
    pub log_path: Option<String>,
    /// Region size in sectors.
    pub region_size: u64,
    /// `ceil(target_len / region_size)`.
    pub region_count: u64,
    /// The sync keyword.
    pub mode: SyncMode,
    /// The type's arguments (without the optional leading count).
    pub args: Vec<String>,
}

impl CtrConfig {
    /// A `clustered-core` or `clustered-disk` log.
    pub fn clustered(&self) -> bool {
        self.type_word.starts_with("clustered-")
    }
}

/// Parses an unsigned decimal number as a strict `%llu`.
fn parse_decimal(s: &str) -> Option<u64> {
    table::parse_decimal(s.as_bytes())
}

/// Whether `s` looks like `maj:min`.
pub fn is_maj_min(s: &str) -> bool {
    match s.split_once(':') {
        Some((a, b)) => parse_decimal(a).is_some() && parse_decimal(b).is_some(),
        None => false,
    }
}

/// Parses and validates the constructor data of a CTR request:
/// `<target_len> <log_type> [<#args>] <args...>`, optionally NUL-terminated.
pub fn parse_ctr(data: &[u8]) -> Result<CtrConfig> {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    if data[end..].iter().any(|&b| b != 0) {
        return Err(Error::Invalid(
            "constructor string has an embedded NUL".into(),
        ));
    }
    let text = std::str::from_utf8(&data[..end])
        .map_err(|_| Error::Invalid("constructor string is not valid UTF-8".into()))?;
    let mut words = text.split_ascii_whitespace();
    let len_word = words
        .next()
        .ok_or_else(|| Error::Invalid("empty constructor string".into()))?;
    let target_len = parse_decimal(len_word)
        .ok_or_else(|| Error::Invalid(format!("invalid target length {len_word:?}")))?;
    let type_word = words
        .next()
        .ok_or_else(|| Error::Invalid("missing log type".into()))?;
    let class = match type_word {
        "core" | "clustered-core" => LogClass::Core,
        "disk" | "clustered-disk" => LogClass::Disk,
        other => {
            return Err(Error::Invalid(format!(
                "unknown log type {other:?} (expected core, disk, clustered-core or clustered-disk)"
            )))
        }
    };
    let mut args: Vec<&str> = words.collect();
    if args.len() >= 2 && parse_decimal(args[0]) == Some(args.len() as u64 - 1) {
        args.remove(0);
    }
    let (min, max) = match class {
        LogClass::Core => (1, 2),
        LogClass::Disk => (2, 3),
    };
    if args.len() < min || args.len() > max {
        return Err(Error::Invalid(format!(
            "wrong number of arguments to {type_word} dirty region log: {} (expected {min} or {max})",
            args.len()
        )));
    }
    let (log_path, rest) = match class {
        LogClass::Core => (None, &args[..]),
        LogClass::Disk => {
            let p = args[0];
            if !p.starts_with('/') && !is_maj_min(p) {
                return Err(Error::Invalid(format!(
                    "log device {p:?} is neither an absolute path nor maj:min"
                )));
            }
            (Some(p.to_string()), &args[1..])
        }
    };
    let rs_word = rest[0];
    let region = RegionArgs::parse(target_len, rs_word.as_bytes(), rest.get(1).map(|w| w.as_bytes()))
        .map_err(|e| {
            Error::Invalid(match e {
                ArgError::SyncWord => format!(
                    "unrecognised sync argument to dirty region log: {}",
                    rest[1]
                ),
                ArgError::RegionSize => format!(
                    "invalid region size {rs_word} (a power of two, at least 2 and at most the target length {target_len})"
                ),
                ArgError::TooManyRegions { .. } => {
                    format!("region count exceeds limit of {MAX_REGIONS}")
                }
            })
        })?;
    Ok(CtrConfig {
        target_len,
        type_word: type_word.to_string(),
        class,
        log_path,
        region_size: u64::from(region.region_size),
        region_count: region.region_count,
        mode: region.sync,
        args: args.iter().map(|s| s.to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctr(s: &str) -> Result<CtrConfig> {
        parse_ctr(s.as_bytes())
    }

    #[test]
    fn ctr_core_ok() {
        let c = ctr("2097152 core 1024 nosync").unwrap();
        assert_eq!(c.class, LogClass::Core);
        assert_eq!(c.region_size, 1024);
        assert_eq!(c.region_count, 2048);
        assert_eq!(c.mode, SyncMode::NoSync);
        assert_eq!(c.args, ["1024", "nosync"]);
        // Trailing NUL (reconnect path) and an explicit argument count.
        let d = parse_ctr(b"2097152 core 2 1024 nosync\0").unwrap();
        assert_eq!(d.args, c.args);
        let e = ctr("1000 clustered-core 64").unwrap();
        assert_eq!(e.region_count, 16);
        assert_eq!(e.mode, SyncMode::Default);
        assert_eq!(ctr("1000 core 64 sync").unwrap().mode, SyncMode::Force);
        // "core 2 nosync" is a region size of 2, not a count.
        assert_eq!(ctr("1000 core 2 nosync").unwrap().region_size, 2);
    }

    #[test]
    fn ctr_disk_ok() {
        let c = ctr("1000 disk /dev/x 8 sync").unwrap();
        assert_eq!(c.class, LogClass::Disk);
        assert_eq!(c.log_path.as_deref(), Some("/dev/x"));
        assert_eq!(c.region_count, 125);
        let d = ctr("1000 clustered-disk 3 253:2 8 nosync").unwrap();
        assert_eq!(d.log_path.as_deref(), Some("253:2"));
        assert_eq!(d.mode, SyncMode::NoSync);
        assert_eq!(d.args, ["253:2", "8", "nosync"]);
    }

    #[test]
    fn ctr_rejections() {
        let bad = [
            "",
            "abc core 1024",
            "-5 core 1024",
            "1000",
            "1000 mirror 1024",
            "1000 core",
            "1000 core 1024 nosync extra",
            "1000 core 1024 NOSYNC",
            "1000 core 1024 nosyn",
            "1000 core 1000",
            "1000 core 1",
            "1000 core 0",
            "1000 core 2048",
            "1000 core 0x10",
            "1000 core +16",
            "1000 core 16k",
            "1000 core 4294968320",
            "1000 disk /dev/x",
            "1000 disk relative 8",
            "1000 disk /dev/x 8 sync more",
            "1000 disk /dev/x 6",
            "18446744073709551615 core 2",
        ];
        for s in bad {
            let e = ctr(s).expect_err(s);
            assert_eq!(e.errno(), libc::EINVAL, "{s}");
        }
        assert!(parse_ctr(b"1000 core\0 16").is_err());
        assert!(parse_ctr(b"1000 core \xff16").is_err());
        // Region count limit: 2^33 sectors in regions of 2 is 2^32 regions.
        let e = ctr("8589934592 core 2").unwrap_err();
        assert!(e.to_string().contains("region count"), "{}", e.to_string());
        assert!(ctr("8589934590 core 2").is_ok());
    }
}
