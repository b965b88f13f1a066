// SPDX-License-Identifier: GPL-2.0

//! The region arguments that end every dirty log's table line,
//! `<region_size> [sync|nosync]`, as the C logs read them.
//!
//! # Examples
//!
//! ```
//! use dm_log_shared::engine::SyncMode;
//! use dm_log_shared::table::{ArgError, RegionArgs};
//!
//! // A 1 GiB mirror (2097152 sectors) in 512 KiB regions.
//! let a = RegionArgs::parse(2_097_152, b"1024", Some(b"nosync")).unwrap();
//! assert_eq!((a.region_size, a.region_count, a.sync), (1024, 2048, SyncMode::NoSync));
//! assert_eq!(RegionArgs::parse(2_097_152, b"1000", None).err(), Some(ArgError::RegionSize));
//! ```

use crate::engine::{SyncMode, MAX_REGIONS};

/// Validated region arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionArgs {
    /// Region size in sectors: a power of two, at least 2, at most the
    /// target length.
    pub region_size: u32,
    /// Number of regions: the target length divided by the region size,
    /// rounded up; at most [`MAX_REGIONS`].
    pub region_count: u64,
    /// The sync keyword.
    pub sync: SyncMode,
}

/// Which region argument is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// The word after the region size is neither `sync` nor `nosync`.
    SyncWord,
    /// The region size is not a decimal power of two of at least 2 sectors
    /// and at most the target length.
    RegionSize,
    /// The region size gives too many regions, more than [`MAX_REGIONS`].
    TooManyRegions {
        /// The region size, in sectors.
        region_size: u32,
        /// The regions it gives.
        count: u64,
    },
}

/// Parses an unsigned decimal number as a strict `%llu`: digits only (no
/// sign, no base prefix, no junk), and no wrapping past `u64::MAX`.
pub fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |v, &c| {
        if c.is_ascii_digit() {
            v.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        } else {
            None
        }
    })
}

impl RegionArgs {
    /// Parses the region arguments of a log over a target of `target_len`
    /// sectors, checking in the C logs' order: sync word, region size,
    /// region count. A region size past `u32::MAX` is refused (C wraps it).
    pub fn parse(
        target_len: u64,
        region_size: &[u8],
        sync: Option<&[u8]>,
    ) -> Result<RegionArgs, ArgError> {
        let sync = match sync {
            None => SyncMode::Default,
            Some(word) => SyncMode::parse(word).ok_or(ArgError::SyncWord)?,
        };
        let region_size = parse_decimal(region_size)
            .and_then(|rs| u32::try_from(rs).ok())
            .filter(|&rs| rs >= 2 && rs.is_power_of_two() && u64::from(rs) <= target_len)
            .ok_or(ArgError::RegionSize)?;
        let region_count = target_len.div_ceil(u64::from(region_size));
        if region_count > MAX_REGIONS {
            return Err(ArgError::TooManyRegions {
                region_size,
                count: region_count,
            });
        }
        Ok(RegionArgs {
            region_size,
            region_count,
            sync,
        })
    }
}
