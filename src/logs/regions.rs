// SPDX-License-Identifier: GPL-2.0

//! What the core and disk logs share: the region engine's storage in the
//! kernel, and the region arguments that end both table lines.

use crate::kernel_ext::{
    alloc::vec_filled_atomic_u64,
    dirty_log::{Args, StatusWriter},
};
use core::fmt::{self, Write};
use core::sync::atomic::AtomicU64;
use dm_log_shared::{
    engine::{self, Regions, RegionsError, StartingBits},
    table::{ArgError, RegionArgs},
};
use kernel::{c_str, prelude::*};

/// Bitmap storage of a log: `kvmalloc`ed, since a large mirror needs
/// megabytes per bitmap (512 MiB at the 2^32 - 1 region limit).
pub(crate) type Words = KVVec<AtomicU64>;

/// Allocates a bitmap of `bits` bits, every bit `ones`. Process context
/// only.
pub(crate) fn alloc_words(bits: u64, ones: bool) -> Result<Words> {
    Ok(vec_filled_atomic_u64(
        engine::words_for(bits),
        ones,
        GFP_KERNEL,
    )?)
}

/// Parses `<region_size> [sync|nosync]` for a log of type `log` over a
/// target of `target_len` sectors; each failure names the bad argument in
/// the kernel log.
pub(crate) fn parse_region_args(log: &str, target_len: u64, args: &Args<'_>) -> Result<RegionArgs> {
    if args.len() < 1 || args.len() > 2 {
        pr_err!(
            "{}: expected <region_size> [sync|nosync], got {} argument(s)\n",
            log,
            args.len()
        );
        return Err(EINVAL);
    }
    let size_arg = args.get(0).ok_or(EINVAL)?;
    let sync_arg = args.get(1);
    RegionArgs::parse(
        target_len,
        size_arg.as_bytes(),
        sync_arg.map(|w| w.as_bytes()),
    )
    .map_err(|e| {
        match e {
            ArgError::SyncWord => pr_err!(
                "{}: unrecognised sync argument \"{}\" (expected sync or nosync)\n",
                log,
                sync_arg.unwrap_or(c_str!(""))
            ),
            ArgError::RegionSize => pr_err!(
                "{}: invalid region size \"{}\": must be a power of two of at least 2 sectors and at most the target length ({} sectors)\n",
                log,
                size_arg,
                target_len
            ),
            ArgError::TooManyRegions { region_size, count } => pr_err!(
                "{}: region size {} gives {} regions, more than the limit of {}\n",
                log,
                region_size,
                count,
                engine::MAX_REGIONS
            ),
        }
        EINVAL
    })
}

/// Writes the table form of `args` for a log of type `log` with `extra`
/// leading arguments (the disk log's device):
/// `<log> <#args> [extra] <region_size> [sync |nosync ]`, with the trailing
/// space the C logs print.
pub(crate) fn write_table(
    args: &RegionArgs,
    out: &mut StatusWriter<'_>,
    log: &str,
    extra: Option<&dyn fmt::Display>,
) -> fmt::Result {
    let argc = 1 + u32::from(extra.is_some()) + u32::from(args.sync.keyword().is_some());
    write!(out, "{} {} ", log, argc)?;
    if let Some(extra) = extra {
        write!(out, "{} ", extra)?;
    }
    write!(out, "{} ", args.region_size)?;
    if let Some(word) = args.sync.keyword() {
        write!(out, "{} ", word)?;
    }
    Ok(())
}

/// Builds the region state for `args`, allocating its bitmaps already
/// filled with their starting bits.
pub(crate) fn new_regions(log: &str, args: &RegionArgs) -> Result<Regions<Words>> {
    let n = args.region_count;
    let alloc = |what: &str, ones: bool| {
        alloc_words(n, ones).inspect_err(|_| {
            pr_err!(
                "{}: cannot allocate the {} bitmap for {} regions\n",
                log,
                what,
                n
            )
        })
    };
    let bits = StartingBits::for_mode(args.sync);
    let clean = alloc("clean", bits.clean)?;
    let sync = alloc("sync", bits.sync)?;
    let recovering = alloc("recovering", bits.recovering)?;
    Regions::prefilled(n, args.sync, clean, sync, recovering).map_err(|e| match e {
        RegionsError::TooManyRegions => EINVAL,
        RegionsError::BadStorage => ENOMEM,
    })
}
