// SPDX-License-Identifier: GPL-2.0

//! The "core" dirty log: region state in memory only.
//!
//! Table line: `core <#args> <region_size> [sync|nosync]`, `#args` being 1 or
//! 2. Nothing survives a reload: every (re)construction starts all regions
//! clean, and all in sync only with `nosync`.
//!
//! The argument parsing here ([`RegionArgs`]) is shared with the disk log,
//! whose table line ends with the same arguments.

use crate::kernel_ext::dirty_log::{Args, LogType, Region, StatusType, StatusWriter, Target};
use dm_log_shared::engine::{self, Regions, RegionsError, SyncMode};
use core::fmt::{self, Write};
use core::sync::atomic::AtomicU64;
use kernel::{c_str, prelude::*};

/// Bitmap storage of a log: `kvmalloc`ed, since a large mirror needs
/// megabytes per bitmap (512 MiB at the 2^32 - 1 region limit).
pub(crate) type Words = KVVec<AtomicU64>;

/// Allocates a zeroed bitmap of `bits` bits. Process context only.
pub(crate) fn alloc_words(bits: u64) -> Result<Words> {
    let n = engine::words_for(bits);
    let mut words = KVVec::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        // Within the capacity reserved above: never allocates.
        words.push(AtomicU64::new(0), GFP_KERNEL)?;
    }
    Ok(words)
}

/// The region arguments common to the core and disk logs:
/// `<region_size> [sync|nosync]`, validated against the target.
pub(crate) struct RegionArgs {
    /// Region size in sectors: a power of two, at least 2, at most the
    /// target length.
    pub(crate) region_size: u32,
    /// Number of regions: the target length divided by the region size,
    /// rounded up; at most `u32::MAX`.
    pub(crate) region_count: u64,
    /// The sync keyword.
    pub(crate) sync: SyncMode,
}

/// Parses a region size as the C logs' `%u` does (decimal digits only, no
/// sign, no junk), but refusing values past `u32::MAX` instead of wrapping
/// them.
fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    let mut v: u32 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u32::from(c - b'0'))?;
    }
    Some(v)
}

impl RegionArgs {
    /// Parses `args` for a log of type `log` over a target of `target_len`
    /// sectors. Checks run in the C order (count, sync word, region size,
    /// region count), and each failure names the bad argument in the kernel
    /// log.
    pub(crate) fn parse(log: &str, target_len: u64, args: &Args<'_>) -> Result<Self> {
        if args.len() < 1 || args.len() > 2 {
            pr_err!(
                "{}: expected <region_size> [sync|nosync], got {} argument(s)\n",
                log,
                args.len()
            );
            return Err(EINVAL);
        }
        let sync = match args.get(1) {
            None => SyncMode::Default,
            Some(word) => SyncMode::parse(word.as_bytes()).ok_or_else(|| {
                pr_err!(
                    "{}: unrecognised sync argument \"{}\" (expected sync or nosync)\n",
                    log,
                    word
                );
                EINVAL
            })?,
        };
        let size_arg = args.get(0).ok_or(EINVAL)?;
        let region_size = parse_u32(size_arg.as_bytes())
            .filter(|&rs| rs >= 2 && rs.is_power_of_two() && u64::from(rs) <= target_len)
            .ok_or_else(|| {
                pr_err!(
                    "{}: invalid region size \"{}\": must be a power of two of at least 2 sectors and at most the target length ({} sectors)\n",
                    log,
                    size_arg,
                    target_len
                );
                EINVAL
            })?;
        let region_count = target_len.div_ceil(u64::from(region_size));
        if region_count > engine::MAX_REGIONS {
            pr_err!(
                "{}: region size {} gives {} regions, more than the limit of {}\n",
                log,
                region_size,
                region_count,
                engine::MAX_REGIONS
            );
            return Err(EINVAL);
        }
        Ok(RegionArgs {
            region_size,
            region_count,
            sync,
        })
    }

    /// Writes the table form of these arguments for a log of type `log`
    /// with `extra` leading arguments (the disk log's device):
    /// `<log> <#args> [extra] <region_size> [sync |nosync ]`, with the
    /// trailing space the C logs print.
    pub(crate) fn write_table(
        &self,
        out: &mut StatusWriter<'_>,
        log: &str,
        extra: Option<&dyn fmt::Display>,
    ) -> fmt::Result {
        let argc = 1 + u32::from(extra.is_some()) + u32::from(self.sync.keyword().is_some());
        write!(out, "{} {} ", log, argc)?;
        if let Some(extra) = extra {
            write!(out, "{} ", extra)?;
        }
        write!(out, "{} ", self.region_size)?;
        if let Some(word) = self.sync.keyword() {
            write!(out, "{} ", word)?;
        }
        Ok(())
    }
}

/// Builds the region state for `args`, allocating its bitmaps.
pub(crate) fn new_regions(log: &str, args: &RegionArgs) -> Result<Regions<Words>> {
    let n = args.region_count;
    let alloc = |what: &str| {
        alloc_words(n).inspect_err(|_| {
            pr_err!(
                "{}: cannot allocate the {} bitmap for {} regions\n",
                log,
                what,
                n
            )
        })
    };
    let clean = alloc("clean")?;
    let sync = alloc("sync")?;
    let recovering = alloc("recovering")?;
    Regions::new(n, args.sync, clean, sync, recovering).map_err(|e| match e {
        RegionsError::TooManyRegions => EINVAL,
        RegionsError::BadStorage => ENOMEM,
    })
}

/// A core log.
pub(crate) struct CoreLog {
    args: RegionArgs,
    regions: Regions<Words>,
}

#[vtable]
impl LogType for CoreLog {
    const NAME: &'static CStr = c_str!("core");

    type Shared = ();

    fn new(target: Target, args: &Args<'_>, _shared: &()) -> Result<Pin<KBox<Self>>> {
        let args = RegionArgs::parse("core", target.len(), args)?;
        let regions = new_regions("core", &args)?;
        Ok(KBox::pin(CoreLog { args, regions }, GFP_KERNEL)?)
    }

    fn resume(&self) -> Result {
        self.regions.restart_resync();
        Ok(())
    }

    fn region_size(&self) -> u32 {
        self.args.region_size
    }

    fn is_clean(&self, region: Region) -> bool {
        self.regions.is_clean(region)
    }

    fn in_sync(&self, region: Region, _can_block: bool) -> Result<bool> {
        // Lock-free and wait-free: fine whether or not the caller can block.
        Ok(self.regions.in_sync(region))
    }

    fn flush(&self) -> Result {
        Ok(())
    }

    fn mark_region(&self, region: Region) {
        self.regions.mark(region);
    }

    fn clear_region(&self, region: Region) {
        self.regions.clear(region);
    }

    fn get_resync_work(&self) -> Result<Option<Region>> {
        Ok(self.regions.next_resync_work())
    }

    fn set_region_sync(&self, region: Region, in_sync: bool) {
        self.regions.set_region_sync(region, in_sync);
    }

    fn sync_count(&self) -> Region {
        self.regions.sync_count()
    }

    fn status(&self, kind: StatusType, out: &mut StatusWriter<'_>) -> fmt::Result {
        match kind {
            StatusType::Info => out.write_str("1 core"),
            StatusType::Table => self.args.write_table(out, "core", None),
            StatusType::Ima => Ok(()),
        }
    }
}
