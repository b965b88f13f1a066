// SPDX-License-Identifier: GPL-2.0

//! The "core" dirty log: region state in memory only.
//!
//! Table line: `core <#args> <region_size> [sync|nosync]`, `#args` being 1 or
//! 2. Nothing survives a reload: every (re)construction starts all regions
//! clean, and all in sync only with `nosync`.

use super::regions::{new_regions, parse_region_args, write_table, Words};
use crate::kernel_ext::dirty_log::{Args, LogType, Region, StatusType, StatusWriter, Target};
use core::fmt::{self, Write};
use dm_log_shared::{engine::Regions, table::RegionArgs};
use kernel::{c_str, prelude::*};

/// A core log.
pub(crate) struct CoreLog {
    args: RegionArgs,
    regions: Regions<Words>,
}

#[vtable]
impl LogType for CoreLog {
    const NAME: &'static CStr = c_str!("core");

    type Ptr = Pin<KBox<Self>>;

    type Shared = ();

    fn new(target: Target, args: &Args<'_>, _shared: &()) -> Result<impl PinInit<Self, Error>> {
        let args = parse_region_args("core", target.len(), args)?;
        let regions = new_regions("core", &args)?;
        Ok(CoreLog { args, regions })
    }

    fn resume(this: Pin<&Self>) -> Result {
        this.regions.restart_resync();
        Ok(())
    }

    fn region_size(this: Pin<&Self>) -> u32 {
        this.args.region_size
    }

    fn is_clean(this: Pin<&Self>, region: Region) -> bool {
        this.regions.is_clean(region)
    }

    fn in_sync(this: Pin<&Self>, region: Region, _can_block: bool) -> Result<bool> {
        // Lock-free and wait-free: fine whether or not the caller can block.
        Ok(this.regions.in_sync(region))
    }

    fn flush(_this: Pin<&Self>) -> Result {
        Ok(())
    }

    fn mark_region(this: Pin<&Self>, region: Region) {
        this.regions.mark(region);
    }

    fn clear_region(this: Pin<&Self>, region: Region) {
        this.regions.clear(region);
    }

    fn get_resync_work(this: Pin<&Self>) -> Result<Option<Region>> {
        Ok(this.regions.next_resync_work())
    }

    fn set_region_sync(this: Pin<&Self>, region: Region, in_sync: bool) {
        this.regions.set_region_sync(region, in_sync);
    }

    fn sync_count(this: Pin<&Self>) -> Region {
        this.regions.sync_count()
    }

    fn status(this: Pin<&Self>, kind: StatusType, out: &mut StatusWriter<'_>) -> fmt::Result {
        match kind {
            StatusType::Info => out.write_str("1 core"),
            StatusType::Table => write_table(&this.args, out, "core", None),
            StatusType::Ima => Ok(()),
        }
    }
}
