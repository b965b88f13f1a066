// SPDX-License-Identifier: GPL-2.0

//! The log types served by the daemon, mirroring `drivers/md/dm-log.c`:
//! `core` (alias `clustered-core`), state in memory only, and `disk` (alias
//! `clustered-disk`), the clean bitmap persisted in the kernel disk log's
//! on-disk format ([`dm_log_shared::ondisk`]), byte for byte. Unlike the
//! kernel's C log, a flush rewrites only the [`BLOCK`]s that changed since
//! the last successful write. Constructor lines are parsed by [`crate::ctr`],
//! log devices opened by [`crate::device`].

use std::sync::atomic::AtomicU64;

use crate::ctr::{CtrConfig, LogClass};
use crate::device::{disk_area_len, open_log_device, LogDevice, BLOCK};
use crate::engine::{words_for, Regions, SyncMode};
use crate::errno;
use crate::error::{Error, Result};
use dm_log_shared::ondisk::{Header, HeaderError, LogArea};

/// Storage of one engine bitmap.
pub type Words = Box<[AtomicU64]>;

/// Persistent state of a disk-like log.
struct Disk {
    dev: LogDevice,
    /// Area size in bytes.
    area: usize,
    /// The area as it should be on disk (rebuilt at each flush).
    image: Vec<u8>,
    /// The area as last written successfully; `None` before the first
    /// resume (nothing is written before it).
    on_disk: Option<Vec<u8>>,
    /// A read or write failed (status `D`).
    dev_failed: bool,
    /// A sync failed (status `F`).
    dev_flush_failed: bool,
    /// The next flush writes the whole area: the device may hold what
    /// another node wrote (a cluster log whose writer changed).
    full_write_due: bool,
}

fn alloc_words(n: usize) -> Result<Words> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::NoMemory(format!("cannot allocate a bitmap of {n} words")))?;
    v.extend((0..n).map(|_| AtomicU64::new(0)));
    Ok(v.into_boxed_slice())
}

fn alloc_bytes(n: usize) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::NoMemory(format!("cannot allocate a log buffer of {n} bytes")))?;
    v.resize(n, 0);
    Ok(v)
}

/// Writes the header and the clean bitmap of `regions` into `image`.
fn fill_image(image: &mut [u8], regions: &Regions<Words>) {
    Header::current(regions.count()).encode(image);
    let bits = regions.clean_bits();
    for w in 0..words_for(regions.count()) {
        LogArea::store_word(image, w, bits.word(w));
    }
}

/// One dirty log: its configuration, the engine state and, for disk-like
/// logs, the device.
pub struct DirtyLog {
    cfg: CtrConfig,
    regions: Regions<Words>,
    disk: Option<Disk>,
    /// A flush failed: clears are ignored from now on (as dm-log.c).
    flush_failed: bool,
    /// No region below this one is out of sync (cached scan position for
    /// the `in_sync_hint`).
    hint: u64,
}

impl DirtyLog {
    /// Creates a log from a validated configuration, opening the log
    /// device of a disk-like log.
    pub fn create(cfg: CtrConfig) -> Result<Self> {
        let dev = match (&cfg.class, &cfg.log_path) {
            (LogClass::Disk, Some(p)) => Some(open_log_device(p, disk_area_len(cfg.region_count))?),
            _ => None,
        };
        Self::with_device(cfg, dev)
    }

    /// Creates a log over an already opened device (`None` for core logs).
    /// Used by [`DirtyLog::create`] and by tests with in-memory stores.
    pub fn with_device(cfg: CtrConfig, dev: Option<LogDevice>) -> Result<Self> {
        let n = words_for(cfg.region_count);
        let regions = Regions::new(
            cfg.region_count,
            cfg.mode,
            alloc_words(n)?,
            alloc_words(n)?,
            alloc_words(n)?,
        )
        .map_err(|e| Error::Invalid(format!("region engine refused the log: {e:?}")))?;
        let disk = match dev {
            Some(dev) => {
                let area = usize::try_from(disk_area_len(cfg.region_count))
                    .map_err(|_| Error::NoMemory("log area too large".into()))?;
                Some(Disk {
                    dev,
                    area,
                    image: alloc_bytes(area)?,
                    on_disk: None,
                    dev_failed: false,
                    dev_flush_failed: false,
                    full_write_due: false,
                })
            }
            None => None,
        };
        Ok(DirtyLog {
            cfg,
            regions,
            disk,
            flush_failed: false,
            hint: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CtrConfig {
        &self.cfg
    }

    /// The engine state.
    pub fn regions(&self) -> &Regions<Words> {
        &self.regions
    }

    /// Whether the log is persistent.
    pub fn is_disk(&self) -> bool {
        self.disk.is_some()
    }

    /// The CTR reply data: the NUL-terminated `maj:min` the kernel should
    /// hold, or nothing.
    pub fn ctr_reply(&self) -> Vec<u8> {
        match self.disk.as_ref().and_then(|d| d.dev.hold.as_ref()) {
            Some(h) => {
                let mut v = h.as_bytes().to_vec();
                v.push(0);
                v
            }
            None => Vec::new(),
        }
    }

    /// One-line description for the log, e.g. `core, 2048 regions of 1024
    /// sectors`.
    pub fn describe(&self) -> String {
        let dev = match &self.disk {
            Some(d) => format!(" on {}", d.dev.name),
            None => String::new(),
        };
        let mode = self
            .cfg
            .mode
            .keyword()
            .map_or(String::new(), |k| format!(", {k}"));
        format!(
            "{}{dev}, {} regions of {} sectors{mode}",
            self.cfg.type_word, self.cfg.region_count, self.cfg.region_size
        )
    }

    fn check(&self, region: u64) -> Result<()> {
        if region < self.regions.count() {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "region {region} past the end of the log ({} regions)",
                self.regions.count()
            )))
        }
    }

    /// RESUME: for a disk-like log, loads the state from the device and
    /// writes it back (header with the current region count); for a core
    /// log, restarts the resync search. `sync`/`nosync` in the table make a
    /// `disk` log start over (dm-log.c); a `clustered-disk` log is read
    /// anyway (cmirrord).
    pub fn resume(&mut self) -> Result<()> {
        self.hint = 0;
        let Some(disk) = self.disk.as_mut() else {
            self.regions.restart_resync();
            return Ok(());
        };
        let count = self.regions.count();
        let mut buf = vec![0u8; disk.area];
        if self.cfg.clustered() {
            // Another node may have written the shared device since this
            // node last read or wrote it: read the device, not the cache.
            if let Err(e) = disk.dev.store.drop_cache() {
                log_warn!(
                    "cannot drop the cached copy of log device {}: {}",
                    disk.dev.name,
                    errno::describe(&e)
                );
            }
        }
        let read = disk.dev.store.read_exact_at(&mut buf, 0);
        let mut known = 0u64;
        match &read {
            Err(e) => {
                log_warn!(
                    "failed to read header on dirty region log device {}: {}",
                    disk.dev.name,
                    errno::describe(e)
                );
                disk.dev_failed = true;
            }
            Ok(()) => {
                let recorded =
                    Header::decode(&buf).map_or(Err(HeaderError::NotALog), |h| h.recorded());
                match recorded {
                    // sync/nosync in the table: start over, as dm-log.c;
                    // but a clustered-disk log is read whatever the table
                    // says, as cmirrord does (the option only sets the
                    // regions the log does not record): a group forming
                    // again must find the regions a failed node left dirty.
                    _ if self.cfg.mode != SyncMode::Default && !self.cfg.clustered() => {}
                    Err(HeaderError::NotALog) => log_info!(
                        "no disk log header on {}: initialising a new log",
                        disk.dev.name
                    ),
                    Err(HeaderError::Version(v)) => log_warn!(
                        "incompatible disk log version {} on {}: initialising a new log",
                        v,
                        disk.dev.name
                    ),
                    Ok(nr) => known = nr.min(count),
                }
            }
        }
        let bits = self.regions.clean_bits();
        for w in 0..words_for(known) {
            bits.load_word(w, LogArea::load_word(&buf, w));
        }
        bits.fill_range(known, count, self.cfg.mode == SyncMode::NoSync);
        self.regions.sync_from_clean();
        self.regions.restart_resync();
        if let Err(e) = read {
            return Err(Error::os(
                format!("cannot read dirty region log device {}", disk.dev.name),
                e,
            ));
        }
        disk.image = buf;
        fill_image(&mut disk.image, &self.regions);
        if let Err(e) = disk.dev.store.write_all_at(&disk.image, 0) {
            log_warn!(
                "failed to write header on dirty region log device {}: {}",
                disk.dev.name,
                errno::describe(&e)
            );
            disk.dev_failed = true;
            return Err(Error::os(
                format!("cannot write dirty region log device {}", disk.dev.name),
                e,
            ));
        }
        if let Err(e) = disk.dev.store.sync_data() {
            log_warn!(
                "failed to sync dirty region log device {}: {}",
                disk.dev.name,
                errno::describe(&e)
            );
            disk.dev_flush_failed = true;
            disk.dev_failed = true;
            return Err(Error::os(
                format!("cannot sync dirty region log device {}", disk.dev.name),
                e,
            ));
        }
        disk.on_disk = Some(disk.image.clone());
        Ok(())
    }

    /// FLUSH: marks `marks` dirty (integrated flush), then makes the state
    /// durable. For a disk-like log only the changed 512-byte blocks are
    /// written, then synced; nothing at all when nothing changed. Returns
    /// whether anything was written.
    pub fn flush(&mut self, marks: &[u64]) -> Result<bool> {
        self.mark(marks)?;
        let Some(disk) = self.disk.as_mut() else {
            return Ok(false);
        };
        let Some(on_disk) = disk.on_disk.as_mut() else {
            // Not resumed yet: the device still holds the previous state,
            // which must not be overwritten with the initial one.
            return Ok(false);
        };
        fill_image(&mut disk.image, &self.regions);
        let mut runs: Vec<(usize, usize)> = Vec::new();
        if disk.full_write_due {
            runs.push((0, disk.area));
        }
        let changed = disk
            .image
            .chunks(BLOCK)
            .zip(on_disk.chunks(BLOCK))
            .enumerate()
            .filter(|_| !disk.full_write_due);
        for (i, (new, old)) in changed {
            if new != old {
                let (start, end) = (i * BLOCK, i * BLOCK + new.len());
                match runs.last_mut() {
                    Some(run) if run.1 == start => run.1 = end,
                    _ => runs.push((start, end)),
                }
            }
        }
        if runs.is_empty() {
            return Ok(false);
        }
        for &(start, end) in &runs {
            if let Err(e) = disk
                .dev
                .store
                .write_all_at(&disk.image[start..end], start as u64)
            {
                log_error!(
                    "write to dirty region log device {} failed: {}",
                    disk.dev.name,
                    errno::describe(&e)
                );
                disk.dev_failed = true;
                self.flush_failed = true;
                return Err(Error::os(
                    format!("write to dirty region log device {}", disk.dev.name),
                    e,
                ));
            }
        }
        if let Err(e) = disk.dev.store.sync_data() {
            log_error!(
                "sync of dirty region log device {} failed: {}",
                disk.dev.name,
                errno::describe(&e)
            );
            disk.dev_flush_failed = true;
            self.flush_failed = true;
            return Err(Error::os(
                format!("sync of dirty region log device {}", disk.dev.name),
                e,
            ));
        }
        for &(start, end) in &runs {
            on_disk[start..end].copy_from_slice(&disk.image[start..end]);
        }
        disk.full_write_due = false;
        Ok(true)
    }

    /// Cluster logs: this node now writes the log device, which another
    /// node may have written since this node's last write: the next flush
    /// writes the whole area. A log that was never resumed (a node that got
    /// its state from a peer) counts as resumed from now on.
    pub fn take_over_device(&mut self) {
        if let Some(disk) = self.disk.as_mut() {
            if disk.on_disk.is_none() {
                disk.on_disk = Some(disk.image.clone());
            }
            disk.full_write_due = true;
        }
    }

    /// MARK_REGION: marks every region of `regions` dirty. All must be in
    /// range (else nothing is marked, `EINVAL`).
    pub fn mark(&mut self, regions: &[u64]) -> Result<()> {
        regions.iter().try_for_each(|&r| self.check(r))?;
        for &r in regions {
            self.regions.mark(r);
        }
        Ok(())
    }

    /// CLEAR_REGION: marks every region clean, unless a flush failed
    /// before (dm-log.c keeps such regions dirty).
    pub fn clear(&mut self, regions: &[u64]) -> Result<()> {
        regions.iter().try_for_each(|&r| self.check(r))?;
        if !self.flush_failed {
            for &r in regions {
                self.regions.clear(r);
            }
        }
        Ok(())
    }

    /// IS_CLEAN.
    pub fn is_clean(&self, region: u64) -> Result<bool> {
        self.check(region)?;
        Ok(self.regions.is_clean(region))
    }

    /// IN_SYNC.
    pub fn in_sync(&self, region: u64) -> Result<bool> {
        self.check(region)?;
        Ok(self.regions.in_sync(region))
    }

    /// GET_RESYNC_WORK.
    pub fn resync_work(&mut self) -> Option<u64> {
        self.regions.next_resync_work()
    }

    /// SET_REGION_SYNC.
    pub fn set_region_sync(&mut self, region: u64, in_sync: bool) -> Result<()> {
        self.check(region)?;
        self.regions.set_region_sync(region, in_sync);
        if !in_sync {
            self.hint = self.hint.min(region);
        }
        Ok(())
    }

    /// Takes the clean and in-sync bitmaps handed over by another node
    /// (words in the engine's layout; bits past the end dropped) and
    /// restarts the resync search.
    pub fn import_state(
        &mut self,
        clean: impl FnMut(usize) -> u64,
        sync: impl FnMut(usize) -> u64,
    ) {
        self.regions.import(clean, sync);
        self.hint = 0;
    }

    /// GET_SYNC_COUNT.
    pub fn sync_count(&self) -> u64 {
        self.regions.sync_count()
    }

    /// The lowest region that is not in sync (the region count when all
    /// are): the `in_sync_hint` of IS_REMOTE_RECOVERING. Amortised O(1):
    /// the scan resumes where it stopped.
    pub fn in_sync_hint(&mut self) -> u64 {
        let count = self.regions.count();
        if self.regions.sync_count() >= count {
            self.hint = count;
            return count;
        }
        while self.hint < count && self.regions.in_sync(self.hint) {
            self.hint += 1;
        }
        self.hint
    }

    /// The STATUS_INFO string: `1 <type>` or `3 <type> <dev> <A|D|F>`.
    pub fn status_info(&self) -> String {
        match &self.disk {
            None => format!("1 {}", self.cfg.type_word),
            Some(d) => {
                let state = if d.dev_flush_failed {
                    'F'
                } else if d.dev_failed {
                    'D'
                } else {
                    'A'
                };
                format!("3 {} {} {state}", self.cfg.type_word, d.dev.name)
            }
        }
    }

    /// The STATUS_TABLE string: `<type> <args...>`.
    pub fn status_table(&self) -> String {
        let mut s = self.cfg.type_word.clone();
        for a in &self.cfg.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctr::parse_ctr;
    use crate::store::testing::{CountingStore, MemStore};
    use dm_log_shared::ondisk;

    fn ctr(s: &str) -> Result<CtrConfig> {
        parse_ctr(s.as_bytes())
    }

    fn core_log(s: &str) -> DirtyLog {
        DirtyLog::create(ctr(s).unwrap()).unwrap()
    }

    #[test]
    fn core_requests() {
        let mut l = core_log("1000 core 8");
        assert_eq!(l.regions().count(), 125);
        assert!(l.ctr_reply().is_empty());
        l.resume().unwrap();
        assert_eq!(l.sync_count(), 0);
        assert_eq!(l.in_sync_hint(), 0);
        l.mark(&[3, 5]).unwrap();
        assert_eq!(l.is_clean(3), Ok(false));
        assert_eq!(l.is_clean(4), Ok(true));
        assert_eq!(l.mark(&[1, 125]).map_err(|e| e.errno()), Err(libc::EINVAL));
        assert_eq!(l.is_clean(1), Ok(true), "nothing marked on error");
        l.clear(&[3]).unwrap();
        assert_eq!(l.is_clean(3), Ok(true));
        assert_eq!(l.flush(&[7]), Ok(false));
        assert_eq!(l.is_clean(7), Ok(false));
        assert_eq!(l.resync_work(), Some(0));
        assert_eq!(l.resync_work(), Some(1));
        l.set_region_sync(0, true).unwrap();
        l.set_region_sync(1, true).unwrap();
        assert_eq!(l.sync_count(), 2);
        assert_eq!(l.in_sync_hint(), 2);
        l.set_region_sync(0, false).unwrap();
        assert_eq!(l.in_sync_hint(), 0);
        assert_eq!(l.in_sync(1), Ok(true));
        assert_eq!(l.in_sync(125).map_err(|e| e.errno()), Err(libc::EINVAL));
        assert_eq!(
            l.set_region_sync(999, true).map_err(|e| e.errno()),
            Err(libc::EINVAL)
        );
        for r in 0..125 {
            l.set_region_sync(r, true).unwrap();
        }
        assert_eq!(l.in_sync_hint(), 125);
        assert_eq!(l.status_info(), "1 core");
        assert_eq!(l.status_table(), "core 8");
    }

    #[test]
    fn core_nosync() {
        let mut l = core_log("1000 clustered-core 8 nosync");
        assert_eq!(l.sync_count(), 125);
        assert_eq!(l.in_sync_hint(), 125);
        assert_eq!(l.resync_work(), None);
        assert_eq!(l.status_info(), "1 clustered-core");
    }

    fn mem_log(s: &str, store: &MemStore) -> DirtyLog {
        let dev = LogDevice {
            store: Box::new(store.clone()),
            name: "7:3".into(),
            hold: Some("7:3".into()),
        };
        DirtyLog::with_device(ctr(s).unwrap(), Some(dev)).unwrap()
    }

    #[test]
    fn header_and_bitmap_layout() {
        // 70 regions: two bitmap words, the second partly used.
        let store = MemStore::new(4096);
        let mut l = mem_log("140 disk 7:3 2", &store);
        assert_eq!(l.ctr_reply(), b"7:3\0");
        l.resume().unwrap();
        l.mark(&[0, 9, 69]).unwrap();
        l.flush(&[]).unwrap();
        let d = store.0.borrow().data.clone();
        assert_eq!(&d[0..4], &[0x72, 0x52, 0x69, 0x4D]);
        assert_eq!(&d[4..8], &[2, 0, 0, 0]);
        assert_eq!(&d[8..16], &[70, 0, 0, 0, 0, 0, 0, 0]);
        // Fresh log without keyword: every region dirty, then 0, 9, 69 too.
        assert!(d[1024..1040].iter().all(|&b| b == 0));
        l.clear(&[0, 1, 9, 68]).unwrap();
        l.flush(&[]).unwrap();
        let d = store.0.borrow().data.clone();
        assert_eq!(d[1024], 0b0000_0011);
        assert_eq!(d[1025], 0b0000_0010);
        assert_eq!(d[1024 + 8], 0b0001_0000); // region 68 = word 1 bit 4
        assert!(
            d[1024 + 9..1536].iter().all(|&b| b == 0),
            "bits past R are 0"
        );
    }

    #[test]
    fn nosync_log_is_all_clean_on_disk() {
        let store = MemStore::new(2048);
        let mut l = mem_log("140 disk 7:3 2 nosync", &store);
        l.resume().unwrap();
        let d = store.0.borrow().data.clone();
        assert_eq!(&d[1024..1032], &[0xff; 8]);
        assert_eq!(&d[1032..1040], &[0x3f, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(l.sync_count(), 70);
    }

    #[test]
    fn resume_reads_state_and_grows() {
        let store = MemStore::new(4096);
        {
            let mut l = mem_log("100 disk 7:3 2 nosync", &store);
            l.resume().unwrap();
            l.mark(&[4, 40]).unwrap();
            l.flush(&[]).unwrap();
        }
        // Reload without keyword and grown to 60 regions: 50..60 dirty.
        let mut l = mem_log("120 disk 7:3 2", &store);
        l.resume().unwrap();
        assert_eq!(l.is_clean(4), Ok(false));
        assert_eq!(l.is_clean(40), Ok(false));
        assert_eq!(l.is_clean(5), Ok(true));
        assert_eq!(l.is_clean(55), Ok(false));
        assert_eq!(l.in_sync(4), Ok(false));
        assert_eq!(l.in_sync(5), Ok(true));
        assert_eq!(l.sync_count(), 60 - 2 - 10);
        assert_eq!(l.resync_work(), Some(4));
        let hdr = Header::decode(&store.0.borrow().data).unwrap();
        assert_eq!(hdr.nr_regions, 60);
        // A keyword in the table starts over.
        let mut l = mem_log("120 disk 7:3 2 sync", &store);
        l.resume().unwrap();
        assert_eq!(l.sync_count(), 0);
    }

    #[test]
    fn resume_bad_headers() {
        let store = MemStore::new(2048);
        {
            let mut l = mem_log("100 disk 7:3 2 nosync", &store);
            l.resume().unwrap();
        }
        // Version 1 is accepted.
        store.0.borrow_mut().data[4] = 1;
        let mut l = mem_log("100 disk 7:3 2", &store);
        l.resume().unwrap();
        assert_eq!(l.sync_count(), 50);
        assert_eq!(store.0.borrow().data[4], 2, "rewritten as version 2");
        // Version 7: new log, all dirty.
        store.0.borrow_mut().data[4] = 7;
        let mut l = mem_log("100 disk 7:3 2", &store);
        l.resume().unwrap();
        assert_eq!(l.sync_count(), 0);
        // Bad magic: new log.
        let store = MemStore::new(2048);
        store.0.borrow_mut().data.fill(0xff);
        let mut l = mem_log("100 disk 7:3 2", &store);
        l.resume().unwrap();
        assert_eq!(l.sync_count(), 0);
        assert_eq!(
            Header::decode(&store.0.borrow().data).unwrap().magic,
            ondisk::MAGIC
        );
    }

    #[test]
    fn device_failures() {
        let store = MemStore::new(2048);
        let mut l = mem_log("100 disk 7:3 2", &store);
        store.0.borrow_mut().fail_read = true;
        assert_eq!(l.resume().map_err(|e| e.errno()), Err(libc::EIO));
        assert_eq!(l.status_info(), "3 disk 7:3 D");

        let store = MemStore::new(2048);
        let mut l = mem_log("100 disk 7:3 2 nosync", &store);
        l.resume().unwrap();
        assert_eq!(l.status_info(), "3 disk 7:3 A");
        store.0.borrow_mut().fail_sync = true;
        assert_eq!(l.flush(&[1]).map_err(|e| e.errno()), Err(libc::EIO));
        assert_eq!(l.status_info(), "3 disk 7:3 F");
        // After a failed flush, clears are ignored.
        l.clear(&[1]).unwrap();
        assert_eq!(l.is_clean(1), Ok(false));

        let store = MemStore::new(2048);
        let mut l = mem_log("100 disk 7:3 2 nosync", &store);
        l.resume().unwrap();
        store.0.borrow_mut().fail_write = true;
        assert_eq!(l.flush(&[1]).map_err(|e| e.errno()), Err(libc::EIO));
        assert_eq!(l.status_info(), "3 disk 7:3 D");
        // The write is retried at the next flush.
        store.0.borrow_mut().fail_write = false;
        assert_eq!(l.flush(&[]), Ok(true));
    }

    #[test]
    fn flush_before_resume_writes_nothing() {
        let store = MemStore::new(2048);
        store.0.borrow_mut().data[100] = 0xAB;
        let mut l = mem_log("100 disk 7:3 2", &store);
        assert_eq!(l.flush(&[1]), Ok(false));
        assert_eq!(store.0.borrow().data[100], 0xAB);
        assert!(store.0.borrow().data[..16].iter().all(|&b| b == 0));
    }

    fn temp_path(tag: &str) -> std::path::PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        std::env::temp_dir().join(format!("dm-logd-test-{tag}-{}-{nanos}", std::process::id()))
    }

    #[test]
    fn file_round_trip_writes_only_changed_blocks() {
        let path = temp_path("rt");
        std::fs::write(&path, b"").unwrap();
        let p = path.to_str().unwrap().to_string();
        // 1 GiB target, 64 KiB regions = 16384 regions = 2048 bitmap bytes:
        // area 1024 + 2048 = 3072 bytes, 6 blocks.
        let table = format!("2097152 disk {p} 128");
        let open = |stats_out: &mut Option<std::rc::Rc<crate::store::testing::IoStats>>| {
            let cfg = ctr(&table).unwrap();
            let dev = open_log_device(&p, disk_area_len(cfg.region_count)).unwrap();
            assert!(dev.hold.is_none());
            let (counting, stats) = CountingStore::new(dev.store);
            *stats_out = Some(stats);
            let dev = LogDevice {
                store: Box::new(counting),
                ..dev
            };
            DirtyLog::with_device(cfg, Some(dev)).unwrap()
        };
        let mut stats = None;
        {
            let mut l = open(&mut stats);
            let s = stats.clone().unwrap();
            assert_eq!(std::fs::metadata(&path).unwrap().len(), 3072);
            assert!(l.ctr_reply().is_empty());
            l.resume().unwrap();
            assert_eq!(s.bytes_written.get(), 3072, "resume writes the area");
            assert_eq!(s.syncs.get(), 1);
            // Fresh, no keyword: all dirty. Clean everything, flush.
            let all: Vec<u64> = (0..16384).collect();
            l.clear(&all).unwrap();
            s.reset();
            assert_eq!(l.flush(&[]), Ok(true));
            assert_eq!(s.bytes_written.get(), 2048, "the four bitmap blocks");
            // Nothing changed: nothing written, no sync.
            s.reset();
            assert_eq!(l.flush(&[]), Ok(false));
            assert_eq!(s.bytes_written.get(), 0);
            assert_eq!(s.syncs.get(), 0);
            // One mark: one block (region 5000 is byte 625 of the bitmap,
            // file byte 1649, block 3).
            assert_eq!(l.flush(&[5000]), Ok(true));
            assert_eq!(*s.write_log.borrow(), vec![(1536, 512)]);
            assert_eq!(s.syncs.get(), 1);
            l.mark(&[0, 16383]).unwrap();
            s.reset();
            l.flush(&[]).unwrap();
            assert_eq!(*s.write_log.borrow(), vec![(1024, 512), (2560, 512)]);
        }
        let mut l = open(&mut stats);
        l.resume().unwrap();
        for r in [0, 5000, 16383] {
            assert_eq!(l.is_clean(r), Ok(false), "{r}");
            assert_eq!(l.in_sync(r), Ok(false), "{r}");
        }
        assert_eq!(l.is_clean(1), Ok(true));
        assert_eq!(l.sync_count(), 16384 - 3);
        assert_eq!(l.resync_work(), Some(0));
        assert_eq!(l.resync_work(), Some(5000));
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[0..4], &ondisk::MAGIC.to_le_bytes());
        assert_eq!(&bytes[8..16], &16384u64.to_le_bytes());
        assert_eq!(bytes[1024], 0xfe);
        assert_eq!(bytes[1024 + 625], !(1u8 << (5000 % 8)));
        std::fs::remove_file(&path).unwrap();
    }
}
