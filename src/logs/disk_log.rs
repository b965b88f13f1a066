// SPDX-License-Identifier: GPL-2.0

//! The "disk" dirty log: region state persisted on a log device, in the
//! on-disk format of the kernel's C disk log.
//!
//! Table line: `disk <#args> <log_dev> <region_size> [sync|nosync]`, `#args`
//! being 2 or 3.
//!
//! The on-disk format is the C log's, version 2: [`dm_log_shared::ondisk`].
//!
//! # Flushing only what changed
//!
//! The C log writes the whole area on every flush in which anything was
//! touched. This one tracks which logical blocks of the area hold a clean
//! bit that changed since the last successful write, and writes only those
//! blocks (coalesced into runs), and nothing when nothing changed. On a log
//! device with FUA, blocks are written with FUA (durable on completion):
//! newly dirty state takes one round trip, where the C log writes and then
//! flushes the device's cache.
//!
//! Each block written holds the current state of all the regions it covers,
//! so a block on disk is always self-consistent; ordering against the data
//! writes is the mirror's (it flushes the log before issuing writes to newly
//! dirtied regions, and flushes the legs before a clean state is written),
//! and a crash between two block writes leaves each block either old or new,
//! both of which are valid states of the regions in it: a region is written
//! clean only after its data reached both legs, and written dirty before its
//! data writes are issued.
//!
//! # Writing clean state lazily
//!
//! A region going dirty must be on disk before its data writes are issued; a
//! region going clean may reach the disk later, at the cost of resyncing it
//! after a crash. So, as md's write-intent bitmap does, a cleared region is
//! first only *pending*: clean in memory, still dirty on disk (every block
//! written shows it dirty). Pending regions are written clean together, after
//! one flush of the legs, by the first flush at least [`CLEAN_DELAY_MS`] after
//! the oldest of them went clean, or once there are [`DiskLog::clean_batch`]
//! of them, and always at suspend. A pending region written to again costs no
//! log write at all: the disk still has it dirty. This saves the leg flush and
//! the clean write that every mirror pass otherwise adds, and bounds what a
//! crash adds to the resync to the regions cleaned in the last second (at most
//! `clean_batch`, 1/256 of the regions or 32).

#[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
use super::fault_inject;
use super::regions::{alloc_words, new_regions, parse_region_args, write_table, Words};
use crate::kernel_ext::compat::debugfs::{Dir, File};
use crate::kernel_ext::compat::workqueue::{
    cancel_delayed_sync, impl_has_delayed_work, new_delayed_work, DelayedWork, QueueExt,
};
use crate::kernel_ext::dirty_log::{
    Args, DmDev, LogType, Region, StatusType, StatusWriter, Target,
};
use crate::kernel_ext::dm_io::IoClient;
use core::fmt::{self, Write};
use core::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, Ordering};
use dm_log_shared::engine::{Bitmap, Regions, SyncMode, WORD_BITS};
use dm_log_shared::ondisk::{self, Header, HeaderError, LogArea, Runs};
use dm_log_shared::table::RegionArgs;
use kernel::{
    c_str, new_mutex,
    prelude::*,
    str::CString,
    sync::{Arc, ArcBorrow, Mutex},
    time::{msecs_to_jiffies, Ktime},
    workqueue::{self, WorkItem},
};

/// How long a cleared region may stay dirty on disk, at most (see the module
/// documentation), in milliseconds.
const CLEAN_DELAY_MS: i64 = 1000;

/// Per-log counters, beyond what the status line shows; readable in
/// `/sys/kernel/debug/dm_log_rs/disk-<log maj:min>-<n>`.
#[derive(Default)]
pub(crate) struct Counters {
    /// Regions marked dirty (clean to dirty transitions).
    pub(crate) marks: AtomicU64,
    /// Regions marked clean (dirty to clean transitions).
    pub(crate) clears: AtomicU64,
    /// Flushes that wrote something.
    pub(crate) flushes: AtomicU64,
    /// Bytes written by flushes.
    pub(crate) flush_bytes: AtomicU64,
    /// Flushes that made newly dirty regions durable (the C log issues one
    /// cache flush of the log device for each).
    pub(crate) dirty_flushes: AtomicU64,
    /// Flushes that wrote pending clean regions (each after a leg flush).
    pub(crate) clean_writes: AtomicU64,
    /// Regions handed out for resync.
    pub(crate) resync_regions: AtomicU64,
}

/// The file's content: one `name value` line per counter.
impl fmt::Debug for Counters {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        write!(
            out,
            "marks {}\nclears {}\nflushes {}\nflush_bytes {}\ndirty_flushes {}\nclean_writes {}\n\
             resync_regions {}",
            get(&self.marks),
            get(&self.clears),
            get(&self.flushes),
            get(&self.flush_bytes),
            get(&self.dirty_flushes),
            get(&self.clean_writes),
            get(&self.resync_regions)
        )
    }
}

/// Distinguishes the debugfs files of logs on the same device (a table
/// reload constructs the new log before destroying the old one).
static LOG_SEQ: AtomicU64 = AtomicU64::new(0);

/// State used only by flush and resume, under the I/O lock.
struct IoState {
    /// The log area: header and serialised clean bitmap. From vmalloc, as
    /// C's: page-granular, where a kmalloc rounds up to a power of two (the
    /// 257 KiB of a 1 TiB mirror's area would take 512 KiB).
    buf: VVec<u8>,
    /// The changed-block flags a flush took, one bit per block.
    taken: KVVec<u64>,
    /// Blocks were written without FUA and no cache flush followed: they may
    /// hold dirty bits that are not durable yet (see `flush_log`).
    unflushed: bool,
}

/// A disk log. Owned through an [`Arc`]: its work item, which writes the
/// clean state when the mirror goes quiet, holds a reference while queued.
#[pin_data]
pub(crate) struct DiskLog {
    /// Cancelled by [`LogType::release`]: no run outlives the destructor.
    #[pin]
    work: DelayedWork<DiskLog>,
    target: Target,
    args: RegionArgs,
    regions: Regions<Words>,
    /// One bit per logical block of the log area: a clean bit in it changed
    /// since it was last written.
    changed: Bitmap<Words>,
    /// One bit per region: clean in memory, not yet written clean (shown
    /// dirty in every block written).
    pending: Bitmap<Words>,
    /// Number of bits set in `pending` (approximate under races: a trigger
    /// only).
    pending_count: AtomicU64,
    /// When the oldest pending region went clean (`ktime`, ns); 0 if none.
    pending_since: AtomicI64,
    /// Pending regions that make the next flush write them.
    clean_batch: u64,
    /// Where each region's clean bit is in the log area.
    area: LogArea,
    /// Some region went clean to dirty since the last flush (the C log's
    /// `touched_dirtied`).
    dirtied: AtomicBool,
    /// Flushing the legs failed: no region may be recorded clean again.
    flush_failed: AtomicBool,
    /// Between postsuspend and resume: the work item writes nothing.
    suspended: AtomicBool,
    /// An I/O error on the log device (status `D`).
    dev_failed: AtomicBool,
    /// A cache flush of the log device failed (status `F`).
    dev_flush_failed: AtomicBool,
    /// Shown in debugfs.
    #[pin]
    counters: File<Counters>,
    client: IoClient,
    #[pin]
    io: Mutex<IoState>,
    // Dropped last: the device is put after the I/O client is gone.
    dev: DmDev,
}

impl DiskLog {
    /// Block of the log area that holds region `region`'s clean bit.
    fn block_of(&self, region: Region) -> u64 {
        // CAST: A block number of the area, which is in memory.
        self.area.block_of_region(region) as u64
    }

    /// Records an I/O failure of the log device; the first one raises a
    /// table event so dmeventd/LVM look at the status.
    fn fail_device(&self) {
        if !self.dev_failed.swap(true, Ordering::AcqRel) {
            self.target.table_event();
        }
    }

    /// Serialises the clean bits of blocks `[first, end)` into `buf`.
    fn serialise(&self, buf: &mut [u8], first: usize, end: usize) {
        let clean = self.regions.clean_bits();
        // After a failed leg flush nothing is written clean again, whatever
        // a racing `clear_region` has set in memory meanwhile (the failing
        // flush may have taken its pending bit). Every serialise after the
        // failure runs on the thread that recorded it or under `io` after it.
        let failed = self.flush_failed.load(Ordering::Relaxed);
        for w in self.area.words_in(first..end) {
            let clean_word = clean.word(w);
            // Pairs with the fence in `clear_region`: a clean bit seen here
            // comes with its pending bit, unless a flush took it already.
            fence(Ordering::Acquire);
            let on_disk = if failed {
                0
            } else {
                clean_word & !self.pending.word(w)
            };
            LogArea::store_word(buf, w, on_disk);
        }
    }

    /// Marks every block of the log area as changed.
    fn all_changed(&self) {
        self.changed.fill(true);
    }

    /// Forgets every pending clean region (their state is about to be
    /// written, or they are no longer clean).
    fn drop_pending(&self) {
        self.pending.fill(false);
        self.pending_count.store(0, Ordering::Relaxed);
        self.pending_since.store(0, Ordering::Relaxed);
    }

    /// Makes the pending regions clean again after a reload of the clean
    /// bits from disk (they are still pending), and dates them now. Returns
    /// how many there are.
    fn carry_pending(&self) -> u64 {
        let clean = self.regions.clean_bits();
        let words = dm_log_shared::engine::words_for(self.pending.len());
        let mut n = 0;
        for w in 0..words {
            let mut bits = self.pending.word(w);
            while bits != 0 {
                clean.set(w as u64 * WORD_BITS + u64::from(bits.trailing_zeros()));
                bits &= bits - 1;
                n += 1;
            }
        }
        self.pending_count.store(n, Ordering::Relaxed);
        let since = if n == 0 {
            0
        } else {
            Ktime::ktime_get().to_ns().max(1)
        };
        self.pending_since.store(since, Ordering::Relaxed);
        n
    }

    /// Whether the pending clean regions are due to be written. A forced
    /// flush always looks for them (a region can be pending while
    /// `pending_since` is 0: see `take_pending`).
    fn clean_due(&self, force: bool) -> bool {
        if force {
            return true;
        }
        let since = self.pending_since.load(Ordering::Relaxed);
        since != 0
            && (self.pending_count.load(Ordering::Relaxed) >= self.clean_batch
                || Ktime::ktime_get().to_ns() - since >= CLEAN_DELAY_MS * 1_000_000)
    }

    /// Takes every pending region out of `pending` and flags its block as
    /// changed, so that the next write shows it clean (if it still is).
    /// Returns the number of regions taken.
    fn take_pending(&self) -> u64 {
        self.pending_since.store(0, Ordering::Relaxed);
        // Pairs with the fence in `clear_region`: either that sees the 0
        // and dates its region, or the loop below takes the region.
        fence(Ordering::SeqCst);
        let words = dm_log_shared::engine::words_for(self.pending.len());
        let mut taken = 0;
        for w in 0..words {
            let bits = self.pending.take_word(w);
            if bits != 0 {
                taken += u64::from(bits.count_ones());
                self.changed
                    .set_release(self.block_of(w as u64 * WORD_BITS));
            }
        }
        self.pending_count.fetch_sub(taken, Ordering::Relaxed);
        taken
    }

    /// Flushes the mirror's legs (dm-raid1's flush callback).
    fn flush_legs(&self) -> Result {
        #[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
        if fault_inject::leg_flush_fails() {
            return Err(EIO);
        }
        self.target.flush()
    }

    /// Writes what changed: the blocks of newly dirty regions, and, when
    /// `force` or when due, the pending clean regions after a flush of the
    /// legs.
    fn flush_log(&self, force: bool) -> Result {
        let mut io = self.io.lock();
        let mut dirtied = self.dirtied.swap(false, Ordering::AcqRel);
        // Taken before the legs are flushed: every write to these regions
        // completed before they were cleared, so before the flush below is
        // issued.
        // While suspended only postsuspend's own (forced) flush writes clean
        // state: kmirrord's late clears stay pending for resume.
        let cleaning = !self.flush_failed.load(Ordering::Acquire)
            && (force || !self.suspended.load(Ordering::Acquire))
            && self.clean_due(force)
            && self.take_pending() != 0;
        if !dirtied && !cleaning {
            return Ok(());
        }
        if cleaning {
            if self.flush_legs().is_err() {
                // The legs may not hold what the clean regions claim: from
                // now on every region is dirty, as in the C log.
                pr_warn!("disk: flushing the mirror legs failed; marking every region dirty\n");
                self.flush_failed.store(true, Ordering::Relaxed);
                // Pairs with the fence in `clear_region`, which may run
                // concurrently when this is the work item: either it sees
                // `flush_failed` and makes its region dirty again, or its
                // clean bit is set before the stores below clear it. Pending
                // bits stay: a region cleared meanwhile must serialise as
                // dirty until then.
                fence(Ordering::SeqCst);
                self.regions.set_all_clean(false);
                self.all_changed();
                dirtied = true;
                #[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
                fault_inject::leg_flush_failed();
            }
        }
        // On a device that does FUA itself, every block is written with FUA,
        // durable when the write completes: newly dirty regions are on stable
        // media after one round trip instead of a write and a cache flush.
        // Elsewhere FUA would cost a cache flush per write: plain writes,
        // then one cache flush, as C does.
        let fua = self.dev.bdev().has_fua();
        let written = match self.write_changed(&mut io, fua) {
            Ok(n) => n,
            Err(e) => {
                // The blocks are flagged again; the clean regions taken stay
                // clean in memory and are written by the next flush (the
                // legs were flushed for them already).
                self.dirtied.fetch_or(dirtied, Ordering::AcqRel);
                self.fail_device();
                return Err(e);
            }
        };
        // Every write without FUA sets `unflushed`, so without FUA a
        // dirtying flush always ends with a cache flush, as in C. A block
        // written earlier without FUA (clean state only, or before the device
        // gained FUA) may carry a region marked while it was serialised,
        // whose own flush finds nothing left to write, or only other blocks:
        // such writes are made durable here too. (With FUA and nothing
        // written, the cache flush is not needed, but costs little in that
        // rare case.)
        io.unflushed |= !fua && written != 0;
        if dirtied && (written == 0 || io.unflushed) {
            if let Err(e) = self.client.flush(self.dev.bdev()) {
                self.dirtied.store(true, Ordering::Release);
                self.dev_flush_failed.store(true, Ordering::Release);
                self.fail_device();
                return Err(e);
            }
            io.unflushed = false;
        }
        if written != 0 {
            self.counters.flushes.fetch_add(1, Ordering::Relaxed);
            self.counters
                .flush_bytes
                .fetch_add(written, Ordering::Relaxed);
        }
        if dirtied {
            self.counters.dirty_flushes.fetch_add(1, Ordering::Relaxed);
        }
        if cleaning {
            self.counters.clean_writes.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Writes the changed blocks (with FUA if `fua`), coalesced into runs
    /// that are all in flight at once, and returns the bytes written. The
    /// changed flags are taken into a snapshot first (serialising each block
    /// taken); on error every block of the snapshot is flagged again.
    fn write_changed(&self, io: &mut IoState, fua: bool) -> Result<u64> {
        let IoState { buf, taken, .. } = io;
        for (w, slot) in taken.iter_mut().enumerate() {
            *slot = self.changed.take_word(w);
            let mut bits = *slot;
            while bits != 0 {
                let b = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                self.serialise(buf, b, b + 1);
            }
        }
        let runs = Runs::new(taken, self.area.block_size());
        self.client
            .write_runs(self.dev.bdev(), buf, runs, fua)
            .inspect_err(|_| {
                for (w, &bits) in taken.iter().enumerate() {
                    let mut bits = bits;
                    while bits != 0 {
                        self.changed
                            .set_release((w * 64) as u64 + u64::from(bits.trailing_zeros()));
                        bits &= bits - 1;
                    }
                }
            })
    }

    /// Reads the log area and loads the clean bitmap from it, as the C log
    /// does at resume. Returns the region count the header covered (0 for a
    /// new or unreadable log).
    fn load(&self, io: &mut IoState) -> u64 {
        let name = self.dev.name();
        if self.client.read(self.dev.bdev(), 0, &mut io.buf).is_err() {
            pr_warn!(
                "disk: {}: cannot read the log header; all regions out of sync\n",
                name
            );
            self.fail_device();
            return 0;
        }
        if self.args.sync != SyncMode::Default {
            // The table asks to rebuild the log.
            return 0;
        }
        let nr = match Header::decode(&io.buf).map(|h| h.recorded()) {
            Some(Ok(nr)) => nr,
            Some(Err(HeaderError::Version(v))) => {
                pr_warn!(
                    "disk: {}: incompatible log version {} (expected {}); all regions out of sync\n",
                    name,
                    v,
                    ondisk::VERSION
                );
                self.fail_device();
                return 0;
            }
            // A new log.
            Some(Err(HeaderError::NotALog)) | None => return 0,
        };
        let clean = self.regions.clean_bits();
        for w in self.area.words_in(0..self.area.blocks()) {
            clean.load_word(w, LogArea::load_word(&io.buf, w));
        }
        nr
    }
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for DiskLog { self.work }
}

impl WorkItem for DiskLog {
    type Pointer = Arc<DiskLog>;

    /// Writes the pending clean regions once they are due, if the mirror's
    /// own flushes did not (it went quiet); comes back while some are left.
    fn run(this: Arc<DiskLog>) {
        if this.suspended.load(Ordering::Acquire) {
            // Resume starts again from what is on disk.
            return;
        }
        // An error is recorded (status, table event) by `flush_log`.
        let _ = this.flush_log(false);
        let since = this.pending_since.load(Ordering::Relaxed);
        if since == 0 || this.flush_failed.load(Ordering::Acquire) {
            return;
        }
        let age_ms = (Ktime::ktime_get().to_ns() - since) / 1_000_000;
        let again = (CLEAN_DELAY_MS - age_ms).clamp(1, CLEAN_DELAY_MS) as u32;
        // `Err` (queued meanwhile by `clear_region`) drops this reference.
        let _ = workqueue::system().enqueue_delayed(this, msecs_to_jiffies(again));
    }
}

impl DiskLog {
    /// Has the work item write the pending clean regions in
    /// [`CLEAN_DELAY_MS`] if no flush of the mirror does first; nothing if
    /// it is queued already. Any context: the reference dropped when it is
    /// queued already is never the last (the caller borrows one).
    fn queue_clean(this: ArcBorrow<'_, Self>) {
        let delay = msecs_to_jiffies(CLEAN_DELAY_MS as u32);
        let _ = workqueue::system().enqueue_delayed(Arc::from(this), delay);
    }

    /// Makes the pending regions due and has the work item write them at
    /// once, on an unbound worker (fault injection: a clear spins meanwhile
    /// on its CPU).
    #[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
    fn clean_now(this: ArcBorrow<'_, Self>) {
        let due = Ktime::ktime_get().to_ns() - CLEAN_DELAY_MS * 1_000_000 - 1;
        this.pending_since.store(due.max(1), Ordering::Relaxed);
        let _ = workqueue::system_unbound().enqueue_delayed(Arc::from(this), 0);
    }

    /// The part of `clear_region` after the pending bit: sets the clean bit
    /// and dates the pending region.
    fn set_clean(this: ArcBorrow<'_, Self>, region: Region, newly_pending: bool) {
        if !this.regions.clear(region) {
            // Clean already: nothing to write.
            if newly_pending && this.pending.clear(region) {
                this.pending_count.fetch_sub(1, Ordering::Relaxed);
            }
            return;
        }
        // A failed leg flush on the work item makes every region dirty;
        // this clear must not outlive it. Pairs with the fence in
        // `flush_log`: either it clears this clean bit, or this sees
        // `flush_failed` (blocks written meanwhile show the region dirty:
        // `serialise` writes nothing clean once `flush_failed` is set).
        fence(Ordering::SeqCst);
        if this.flush_failed.load(Ordering::Relaxed) {
            this.regions.mark(region);
            this.changed.set_release(this.block_of(region));
            this.dirtied.store(true, Ordering::Release);
            return;
        }
        if this.pending_since.load(Ordering::Relaxed) == 0 {
            // Never 0 itself: the clock counts from boot.
            this.pending_since
                .store(Ktime::ktime_get().to_ns().max(1), Ordering::Relaxed);
        }
        if !this.suspended.load(Ordering::Acquire) {
            Self::queue_clean(this);
        }
        this.counters.clears.fetch_add(1, Ordering::Relaxed);
    }
}

#[vtable]
impl LogType for DiskLog {
    const NAME: &'static CStr = c_str!("disk");

    type Ptr = Arc<Self>;

    /// The module's debugfs directory, for the counters.
    type Shared = Dir;

    fn new(target: Target, args: &Args<'_>, dir: &Dir) -> Result<impl PinInit<Self, Error>> {
        if args.len() < 2 || args.len() > 3 {
            pr_err!(
                "disk: expected <log_dev> <region_size> [sync|nosync], got {} argument(s)\n",
                args.len()
            );
            return Err(EINVAL);
        }
        let path = args.get(0).ok_or(EINVAL)?;
        let dev = target.get_device(path).inspect_err(|e| {
            pr_err!(
                "disk: cannot open log device \"{}\" (error {})\n",
                path,
                e.to_errno()
            )
        })?;
        let region_args = parse_region_args("disk", target.len(), &args.tail(1))?;
        let block_size = dev.bdev().logical_block_size() as usize;
        let area = LogArea::new(region_args.region_count, block_size).ok_or_else(|| {
            pr_err!(
                "disk: log device {} has block size {}\n",
                dev.name(),
                block_size
            );
            EINVAL
        })?;
        if area.len() as u64 > dev.bdev().size_bytes() {
            pr_err!(
                "disk: log device {} too small: need {} bytes for {} regions, has {}\n",
                dev.name(),
                area.len(),
                region_args.region_count,
                dev.bdev().size_bytes()
            );
            return Err(EINVAL);
        }
        let regions = new_regions("disk", &region_args)?;
        // CAST: The area is allocated below, so its block count fits.
        let nblocks = area.blocks() as u64;
        let changed =
            Bitmap::prefilled(alloc_words(nblocks, false)?, nblocks, false).ok_or(ENOMEM)?;
        let nregions = region_args.region_count;
        let pending =
            Bitmap::prefilled(alloc_words(nregions, false)?, nregions, false).ok_or(ENOMEM)?;
        let mut buf = VVec::with_capacity(area.len(), GFP_KERNEL)?;
        buf.extend_with(area.len(), 0u8, GFP_KERNEL)?;
        let nwords = dm_log_shared::engine::words_for(nblocks);
        let mut taken = KVVec::with_capacity(nwords, GFP_KERNEL)?;
        taken.extend_with(nwords, 0u64, GFP_KERNEL)?;
        let client =
            IoClient::new().inspect_err(|_| pr_err!("disk: cannot create a dm-io client\n"))?;
        let seq = LOG_SEQ.fetch_add(1, Ordering::Relaxed);
        let stats_name = CString::try_from_fmt(kernel::fmt!("disk-{}-{}", dev.name(), seq))?;
        Ok(try_pin_init!(DiskLog {
            work <- new_delayed_work!("dm_log_rs::DiskLog::work"),
            target,
            args: region_args,
            regions,
            changed,
            pending,
            pending_count: AtomicU64::new(0),
            pending_since: AtomicI64::new(0),
            clean_batch: (nregions / 256).max(32),
            area,
            dirtied: AtomicBool::new(false),
            flush_failed: AtomicBool::new(false),
            suspended: AtomicBool::new(true),
            dev_failed: AtomicBool::new(false),
            dev_flush_failed: AtomicBool::new(false),
            counters <- dir.read_only_file::<_, Error>(&stats_name, Counters::default()),
            client,
            io <- new_mutex!(
                IoState { buf, taken, unflushed: false },
                "dm_log_rs::DiskLog::io"
            ),
            dev,
        }))
    }

    fn release(this: Arc<Self>) {
        // The work item runs no more (it would use the target and the log
        // device, which go with the mirror). Nothing queues it again: the
        // mirror's worker, which calls `clear_region`, is gone by now, and
        // a suspended log's run does not re-queue itself.
        this.suspended.store(true, Ordering::Release);
        cancel_delayed_sync(&*this);
        drop(this);
    }

    fn postsuspend(this: ArcBorrow<'_, Self>) -> Result {
        // No write of the log's own while suspended: the log device may be
        // about to change hands.
        this.suspended.store(true, Ordering::Release);
        // A `clear_region` on kmirrord that read `suspended` before the
        // store above may still queue the item after this cancel; such a
        // run sees `suspended` and returns without writing or re-queueing
        // (and `release` cancels it if it is still queued).
        cancel_delayed_sync(&*this);
        // Suspended, the log is all on disk, clean state included (the C
        // log's state after suspend; another log may read it next).
        this.flush_log(true)
    }

    fn resume(this: ArcBorrow<'_, Self>) -> Result {
        let mut io = this.io.lock();
        this.suspended.store(false, Ordering::Release);
        let count = this.regions.count();
        let on_disk = this.load(&mut io);
        // Regions the log did not cover (new log, or the device grew).
        let nosync = this.args.sync == SyncMode::NoSync;
        this.regions
            .clean_bits()
            .fill_range(on_disk.min(count), count, nosync);
        // Writes that completed after presuspend make kmirrord clear their
        // regions after postsuspend: they are pending, clean in memory and
        // dirty on disk (nothing is written after postsuspend: the log
        // device may belong to the next table by then). This instance is
        // being resumed, so no other log has run since: they are still
        // clean. Keep them so (pending, written clean after the next leg
        // flush) rather than resync them. C writes them at once instead.
        let carried = if on_disk > 0 && !this.flush_failed.load(Ordering::Acquire) {
            this.carry_pending()
        } else {
            this.drop_pending();
            0
        };
        this.regions.sync_from_clean();
        this.regions.restart_resync();

        // Write the whole area with the header for the current size.
        Header::current(count).encode(&mut io.buf);
        let nblocks = this.changed.len() as usize;
        this.serialise(&mut io.buf, 0, nblocks);
        this.changed.fill(false);
        this.dirtied.store(false, Ordering::Release);
        let r = this
            .client
            .write(this.dev.bdev(), 0, &io.buf)
            .and_then(|()| {
                this.client.flush(this.dev.bdev()).inspect_err(|_| {
                    this.dev_flush_failed.store(true, Ordering::Release);
                })
            });
        io.unflushed = r.is_err();
        if let Err(e) = r {
            pr_warn!("disk: {}: cannot write the log header\n", this.dev.name());
            this.all_changed();
            this.dirtied.store(true, Ordering::Release);
            this.fail_device();
            return Err(e);
        }
        if carried != 0 {
            Self::queue_clean(this);
        }
        Ok(())
    }

    fn region_size(this: ArcBorrow<'_, Self>) -> u32 {
        this.args.region_size
    }

    fn is_clean(this: ArcBorrow<'_, Self>, region: Region) -> bool {
        this.regions.is_clean(region)
    }

    fn in_sync(this: ArcBorrow<'_, Self>, region: Region, _can_block: bool) -> Result<bool> {
        Ok(this.regions.in_sync(region))
    }

    fn flush(this: ArcBorrow<'_, Self>) -> Result {
        this.flush_log(false)
    }

    fn mark_region(this: ArcBorrow<'_, Self>, region: Region) {
        if this.regions.mark(region) {
            if this.pending.clear(region) {
                // Never written clean: the disk has it dirty already.
                this.pending_count.fetch_sub(1, Ordering::Relaxed);
            } else {
                this.changed.set_release(this.block_of(region));
                this.dirtied.store(true, Ordering::Release);
            }
            this.counters.marks.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn clear_region(this: ArcBorrow<'_, Self>, region: Region) {
        if this.flush_failed.load(Ordering::Acquire) {
            return;
        }
        // Pending before clean: a flush running on the work item meanwhile
        // must never see the region clean without its pending bit (it would
        // write it clean with no flush of the legs).
        let newly_pending = !this.pending.set(region);
        if newly_pending {
            this.pending_count.fetch_add(1, Ordering::Relaxed);
        }
        // Orders the pending bit before the clean bit (for `serialise`) and
        // before the load of `pending_since` (for `take_pending`).
        fence(Ordering::SeqCst);
        #[cfg(CONFIG_FAULT_INJECTION_DEBUG_FS)]
        if fault_inject::clear_window(|| Self::clean_now(this)) {
            Self::set_clean(this, region, newly_pending);
            fault_inject::clear_done(this.regions.is_clean(region));
            return;
        }
        Self::set_clean(this, region, newly_pending);
    }

    fn get_resync_work(this: ArcBorrow<'_, Self>) -> Result<Option<Region>> {
        let r = this.regions.next_resync_work();
        if r.is_some() {
            this.counters.resync_regions.fetch_add(1, Ordering::Relaxed);
        }
        Ok(r)
    }

    fn set_region_sync(this: ArcBorrow<'_, Self>, region: Region, in_sync: bool) {
        this.regions.set_region_sync(region, in_sync);
    }

    fn sync_count(this: ArcBorrow<'_, Self>) -> Region {
        this.regions.sync_count()
    }

    fn status(
        this: ArcBorrow<'_, Self>,
        kind: StatusType,
        out: &mut StatusWriter<'_>,
    ) -> fmt::Result {
        match kind {
            StatusType::Info => {
                let health = if this.dev_flush_failed.load(Ordering::Acquire) {
                    'F'
                } else if this.dev_failed.load(Ordering::Acquire) {
                    'D'
                } else {
                    'A'
                };
                write!(out, "3 disk {} {}", this.dev.name(), health)
            }
            StatusType::Table => write_table(&this.args, out, "disk", Some(&this.dev.name())),
            StatusType::Ima => Ok(()),
        }
    }
}
