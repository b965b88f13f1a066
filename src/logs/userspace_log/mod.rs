// SPDX-License-Identifier: GPL-2.0

//! The "userspace" dirty log: every decision is made by a log server in
//! userspace, reached over the connector (the kernel's
//! `dm-log-userspace` protocol, so its servers work unchanged).
//!
//! Table line: `userspace <#args> <uuid> [integrated_flush] <log_type>
//! <log_args...>`. The constructor sends the server
//! `"<target length> <log_type> <log_args...>"`; the server may answer with
//! a device name (`maj:min`), which is then opened as a device of the target
//! so the log device shows in its dependencies.
//!
//! Marks and clears are queued in memory (the mirror marks under a lock, in
//! atomic context) and sent at the next flush, up to
//! [`protocol::REGIONS_PER_REQUEST`] per request: clears first, then marks
//! followed by a `FLUSH` request, or with `integrated_flush` the marks as
//! the payload of `FLUSH` requests. `in_sync` without blocking answers
//! `-EWOULDBLOCK`: the mirror then takes the slow path through its worker.
//!
//! When the server is gone (no listener, or it does not know the log any
//! more, `-ESRCH`), the mirror's operations keep constructing and resuming
//! the log again every [`RECONNECT_MS`], as the C module does, then retry.
//! The constructor, suspend/resume and status do not retry: a constructor
//! with no server fails, a status reads `userspace 1 COM_FAILURE`.

mod protocol;
pub(crate) mod transport;

use crate::kernel_ext::dirty_log::{
    Args, DmDev, LogType, Region, StatusType, StatusWriter, Target,
};
use core::{
    fmt::{self, Write},
    ops::RangeInclusive,
    sync::atomic::{AtomicI64, AtomicU64, Ordering},
};
use kernel::{
    c_str, new_mutex, new_spinlock,
    prelude::*,
    str::{BStr, CStr},
    sync::{Arc, Mutex, SpinLock},
    time::Ktime,
    types::ScopeGuard,
};
use protocol::{
    encode_regions, RequestType, DEVICE_NAME_MAX, MAX_DATA, REGIONS_PER_REQUEST, UUID_MAX,
};
use transport::{uuid_tail, RateLimit, Request, Transport, REPLY_MAX};

pub(crate) use protocol::CN_ID;

/// Pause between attempts to reach a vanished server (C: `2 * HZ`).
pub(crate) const RECONNECT_MS: u32 = 2_000;

/// Minimum interval between `IS_REMOTE_RECOVERING` queries for one log
/// (C: `HZ / 4`, but shared by all logs).
const RECOVERY_QUERY_MS: i64 = 250;

/// Initial room for queued marks or clears. A batch more than half full at
/// a flush grows then (process context), so the marking path, which may be
/// atomic, rarely has to allocate.
const BATCH_INITIAL: usize = 256;

/// Log ids: unique per constructed log; the C module sends a kernel
/// address, which servers treat as opaque.
static NEXT_LUID: AtomicU64 = AtomicU64::new(1);

/// Messages about allocation failures on the marking path.
static ALLOC_FAILURE: RateLimit = RateLimit::new();

/// Regions queued for the server, in a buffer that only grows.
struct Batch {
    buf: KVec<u64>,
    len: usize,
}

impl Batch {
    fn new() -> Result<Self> {
        Ok(Batch {
            buf: KVec::from_elem(0u64, BATCH_INITIAL, GFP_KERNEL)?,
            len: 0,
        })
    }

    /// Appends `region`, growing with `GFP_ATOMIC` when full (the caller may
    /// be atomic). Returns false when memory ran out.
    fn push(&mut self, region: u64) -> bool {
        if self.len == self.buf.len() && self.grow(self.buf.len() * 2, GFP_ATOMIC).is_err() {
            return false;
        }
        self.buf[self.len] = region;
        self.len += 1;
        true
    }

    /// Makes room for `n` regions.
    fn grow(&mut self, n: usize, flags: kernel::alloc::Flags) -> Result {
        if n <= self.buf.len() {
            return Ok(());
        }
        let mut bigger = KVec::from_elem(0u64, n, flags)?;
        bigger[..self.len].copy_from_slice(&self.buf[..self.len]);
        self.buf = bigger;
        Ok(())
    }

    fn regions(&self) -> &[u64] {
        &self.buf[..self.len]
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

/// Regions whose marks could not be queued (no memory in atomic context):
/// the smallest range holding them all. No allocation needed.
#[derive(Clone, Copy)]
struct Lost {
    first: u64,
    last: u64,
}

impl Lost {
    fn add(lost: &mut Option<Lost>, region: u64) {
        *lost = Some(match *lost {
            None => Lost {
                first: region,
                last: region,
            },
            Some(l) => Lost {
                first: l.first.min(region),
                last: l.last.max(region),
            },
        });
    }
}

/// Marks and clears queued since the last flush.
struct Queued {
    marks: Batch,
    clears: Batch,
    /// Marks that could not be queued: the next flush marks the whole range
    /// (a region marked needlessly costs a resync after a crash, a region
    /// not marked could lose data).
    lost_marks: Option<Lost>,
}

/// State of the flush path (one flush at a time).
struct Flushing {
    /// Empty batches swapped with the queued ones at each flush.
    marks: Batch,
    clears: Batch,
    /// With `integrated_flush`: clears were sent without a `FLUSH`; the next
    /// marking flush, suspend or destruction sends it.
    flush_owed: bool,
}

/// A userspace log.
#[pin_data(PinnedDrop)]
pub(crate) struct UserspaceLog {
    transport: Arc<Transport>,
    target: Target,
    luid: u64,
    uuid: KVec<u8>,
    /// What the constructor sent: `<target length> <log_type> <args...>`.
    ctr_args: KVec<u8>,
    /// Argument count of the table line (including uuid and flag).
    usr_argc: usize,
    integrated_flush: bool,
    region_size: u32,
    region_count: u64,
    /// The device the server named, held open for the log's life.
    _log_dev: Option<DmDev>,
    /// Regions below this are known to be in sync.
    in_sync_hint: AtomicU64,
    /// When the next `IS_REMOTE_RECOVERING` query may go out (ms).
    next_recovery_query: AtomicI64,
    #[pin]
    queued: SpinLock<Queued>,
    #[pin]
    flushing: Mutex<Flushing>,
    /// Reply buffer of status requests.
    #[pin]
    status_buf: Mutex<KVec<u8>>,
}

/// Decodes the `n`th `u64` of a reply known to hold it.
fn word(reply: &[u8], n: usize) -> u64 {
    protocol::u64_at(reply, n * 8).unwrap_or(0)
}

/// The constructor's request string: `<target length>` and the arguments
/// from `from` on, separated by spaces.
fn ctr_string(target_len: u64, args: &Args<'_>, from: usize) -> Result<KVec<u8>> {
    let mut s = KVec::new();
    let len = kernel::str::CString::try_from_fmt(kernel::fmt!("{}", target_len))?;
    s.extend_from_slice(len.as_bytes(), GFP_KERNEL)?;
    for i in from..args.len() {
        let a = args.get(i).ok_or(EINVAL)?;
        s.push(b' ', GFP_KERNEL)?;
        s.extend_from_slice(a.as_bytes(), GFP_KERNEL)?;
    }
    Ok(s)
}

/// What the constructor learnt from the server.
struct Created {
    region_size: u32,
    region_count: u64,
    log_dev: Option<DmDev>,
}

impl UserspaceLog {
    /// Sends a request to the server once (with the transport's retries on
    /// timeout, but none for a missing server).
    fn call(
        &self,
        request_type: RequestType,
        data: &[u8],
        reply: &mut [u8],
        expect: RangeInclusive<usize>,
    ) -> Result<usize> {
        self.caller().call(request_type, data, reply, expect)
    }

    fn caller(&self) -> Caller<'_> {
        Caller {
            transport: &self.transport,
            uuid: &self.uuid,
            luid: self.luid,
        }
    }

    /// Sends a request for the mirror: when the server is missing, waits
    /// for one, constructs and resumes the log on it, and tries again.
    fn request(
        &self,
        request_type: RequestType,
        data: &[u8],
        reply: &mut [u8],
        expect: RangeInclusive<usize>,
    ) -> Result<usize> {
        loop {
            match self.call(request_type, data, reply, expect.clone()) {
                Err(e) if e == ESRCH => self.reconnect()?,
                r => return r,
            }
        }
    }

    /// Waits for a server and sets the log up on it again.
    fn reconnect(&self) -> Result {
        let tail = uuid_tail(&self.uuid);
        pr_err!("userspace log [{}]: log server not found\n", tail);
        loop {
            self.transport.sleep(RECONNECT_MS)?;
            pr_warn!(
                "userspace log [{}]: attempting to contact the log server...\n",
                tail
            );
            let mut dev = [0u8; DEVICE_NAME_MAX];
            if self
                .call(
                    RequestType::Ctr,
                    &self.ctr_args,
                    &mut dev,
                    0..=DEVICE_NAME_MAX,
                )
                .is_ok()
            {
                break;
            }
        }
        pr_info!(
            "userspace log [{}]: reconnected to the log server, log constructed again\n",
            tail
        );
        // The new log starts afresh (a core-like log with nothing in sync):
        // what was learnt about the old one no longer holds. (The C module
        // keeps its hint here, so a restarted server never gets its regions
        // resynced before the mirror is resumed.)
        self.in_sync_hint.store(0, Ordering::Relaxed);
        if let Err(e) = self.call(RequestType::Resume, &[], &mut [], 0..=0) {
            pr_err!(
                "userspace log [{}]: cannot resume the log on the server: {:?}\n",
                tail,
                e
            );
            return Err(ESRCH);
        }
        Ok(())
    }

    /// A request with one `u64` argument and a `u64` answer.
    fn query(&self, request_type: RequestType, region: Region) -> Result<u64> {
        let mut reply = [0u8; 8];
        self.request(request_type, &region.to_ne_bytes(), &mut reply, 8..=8)?;
        Ok(word(&reply, 0))
    }

    /// Sends `regions` in groups, each as a `request_type` request.
    fn send_regions(&self, request_type: RequestType, regions: &[u64]) -> Result {
        let mut buf = [0u8; REGIONS_PER_REQUEST * 8];
        for group in regions.chunks(REGIONS_PER_REQUEST) {
            self.request(
                request_type,
                encode_regions(group, &mut buf),
                &mut [],
                0..=0,
            )?;
        }
        Ok(())
    }

    /// Sends what the flush owes the server: clears first (a region
    /// cleared and then marked again must end up marked), then marks.
    fn flush_batches(&self, f: &mut Flushing, lost: Option<Lost>) -> Result {
        if f.marks.len == 0 && f.clears.len == 0 && lost.is_none() {
            return Ok(());
        }
        self.send_regions(RequestType::ClearRegion, f.clears.regions())?;
        let marking = if self.integrated_flush {
            RequestType::Flush
        } else {
            RequestType::MarkRegion
        };
        if let Some(lost) = lost {
            self.mark_range(marking, lost)?;
        }
        if !self.integrated_flush {
            self.send_regions(RequestType::MarkRegion, f.marks.regions())?;
            self.request(RequestType::Flush, &[], &mut [], 0..=0)?;
        } else if f.marks.len == 0 && lost.is_none() {
            // Clean bits need not be durable at once: a region left dirty
            // costs a resync after a crash, nothing more.
            f.flush_owed = true;
        } else {
            self.send_regions(RequestType::Flush, f.marks.regions())?;
            f.flush_owed = false;
        }
        Ok(())
    }

    /// Marks every region of `lost` with `request_type` requests, in groups.
    fn mark_range(&self, request_type: RequestType, lost: Lost) -> Result {
        pr_warn!(
            "userspace log [{}]: out of memory queueing marks: marking regions {} to {} instead\n",
            uuid_tail(&self.uuid),
            lost.first,
            lost.last
        );
        let mut group = [0u64; REGIONS_PER_REQUEST];
        let mut region = lost.first;
        while region <= lost.last {
            // CAST: At most `REGIONS_PER_REQUEST`.
            let n = (lost.last - region + 1).min(REGIONS_PER_REQUEST as u64) as usize;
            for (i, g) in group[..n].iter_mut().enumerate() {
                *g = region + i as u64;
            }
            self.send_regions(request_type, &group[..n])?;
            region += n as u64;
        }
        Ok(())
    }

    /// Sends the `FLUSH` that `integrated_flush` deferred, if any.
    fn settle_owed_flush(&self) -> Result {
        let mut f = self.flushing.lock();
        if f.flush_owed {
            self.request(RequestType::Flush, &[], &mut [], 0..=0)?;
            f.flush_owed = false;
        }
        Ok(())
    }

    /// Sends the constructor's request to the server; returns the length of
    /// the device name in `dev` the server answered with.
    fn server_ctr(call: &Caller<'_>, ctr_args: &[u8], dev: &mut [u8]) -> Result<usize> {
        call.call(RequestType::Ctr, ctr_args, dev, 0..=DEVICE_NAME_MAX)
            .inspect_err(|&e| {
                if e == ESRCH {
                    pr_err!(
                        "userspace log [{}]: userspace log server not found\n",
                        call.tail()
                    );
                } else {
                    pr_err!(
                        "userspace log [{}]: the log server failed to create the log: {:?}\n",
                        call.tail(),
                        e
                    );
                }
            })
    }

    /// What the constructor learns from the server once it has the log: the
    /// region size, and the log device named in its answer (`dev`).
    fn created(call: &Caller<'_>, target: &Target, dev: &[u8]) -> Result<Created> {
        let tail = call.tail();
        let mut rs = [0u8; 8];
        call.call(RequestType::GetRegionSize, &[], &mut rs, 8..=8)
            .inspect_err(|e| {
                pr_err!(
                    "userspace log [{}]: cannot get the region size: {:?}\n",
                    tail,
                    e
                )
            })?;
        let region_size = word(&rs, 0);
        let region_count = match u32::try_from(region_size) {
            Ok(rs) if rs >= 2 && rs.is_power_of_two() && u64::from(rs) <= target.len() => {
                target.len().div_ceil(u64::from(rs))
            }
            _ => {
                pr_err!(
                    "userspace log [{}]: the log server gave an invalid region size {} (need a power of two, at least 2, at most {})\n",
                    tail,
                    region_size,
                    target.len()
                );
                return Err(EINVAL);
            }
        };
        let log_dev = match dev.iter().position(|&b| b == 0) {
            None if !dev.is_empty() => {
                pr_err!(
                    "userspace log [{}]: the device name from the log server is not terminated\n",
                    tail
                );
                return Err(EINVAL);
            }
            Some(0) | None => None,
            Some(nul) => {
                let name = CStr::from_bytes_with_nul(&dev[..=nul]).map_err(|_| EINVAL)?;
                Some(target.get_device(name).inspect_err(|e| {
                    pr_err!(
                        "userspace log [{}]: failed to register {} with device-mapper: {:?}\n",
                        tail,
                        name,
                        e
                    )
                })?)
            }
        };
        Ok(Created {
            // CAST: Checked to fit above.
            region_size: region_size as u32,
            region_count,
            log_dev,
        })
    }
}

/// Requests of one log to its server (also while the log is being
/// constructed, before there is a `UserspaceLog`).
struct Caller<'a> {
    transport: &'a Transport,
    uuid: &'a [u8],
    luid: u64,
}

impl Caller<'_> {
    fn call(
        &self,
        request_type: RequestType,
        data: &[u8],
        reply: &mut [u8],
        expect: RangeInclusive<usize>,
    ) -> Result<usize> {
        let req = Request {
            uuid: self.uuid,
            luid: self.luid,
            request_type,
            data,
        };
        self.transport.call(&req, reply, expect)
    }

    fn tail(&self) -> &BStr {
        uuid_tail(self.uuid)
    }
}

#[vtable]
impl LogType for UserspaceLog {
    const NAME: &'static CStr = c_str!("userspace");

    type Ptr = Pin<KBox<Self>>;

    type Shared = Arc<Transport>;

    fn new(
        target: Target,
        args: &Args<'_>,
        transport: &Arc<Transport>,
    ) -> Result<impl PinInit<Self, Error>> {
        if args.len() < 3 {
            pr_err!(
                "userspace: too few arguments ({}): expected <uuid> [integrated_flush] <log_type> <log_args...>\n",
                args.len()
            );
            return Err(EINVAL);
        }
        let uuid = args.get(0).ok_or(EINVAL)?.as_bytes();
        if uuid.len() > UUID_MAX {
            pr_err!(
                "userspace: UUID argument too long ({} characters, at most {})\n",
                uuid.len(),
                UUID_MAX
            );
            return Err(EINVAL);
        }
        let integrated_flush = args
            .get(1)
            .is_some_and(|a| a.as_bytes().eq_ignore_ascii_case(b"integrated_flush"));
        let ctr_args = ctr_string(target.len(), args, 1 + usize::from(integrated_flush))?;
        if ctr_args.len() > MAX_DATA {
            pr_err!(
                "userspace log [{}]: log arguments too long ({} bytes with the target length, at most {})\n",
                uuid_tail(uuid),
                ctr_args.len(),
                MAX_DATA
            );
            return Err(EINVAL);
        }
        let mut uuid_buf = KVec::new();
        uuid_buf.extend_from_slice(uuid, GFP_KERNEL)?;
        let queued = Queued {
            marks: Batch::new()?,
            clears: Batch::new()?,
            lost_marks: None,
        };
        let flushing = Flushing {
            marks: Batch::new()?,
            clears: Batch::new()?,
            flush_owed: false,
        };
        let status_buf = KVec::from_elem(0u8, REPLY_MAX, GFP_KERNEL)?;
        let luid = NEXT_LUID.fetch_add(1, Ordering::Relaxed);
        let call = Caller {
            transport,
            uuid,
            luid,
        };
        let mut dev = [0u8; DEVICE_NAME_MAX];
        let dev_len = Self::server_ctr(&call, &ctr_args, &mut dev)?;
        // The server has the log now: any failure below destroys it there
        // too, leaving nothing behind.
        let on_server = ScopeGuard::new(|| {
            let _ = call.call(RequestType::Dtr, &[], &mut [], 0..=0);
        });
        let created = Self::created(&call, &target, &dev[..dev_len])?;
        // Nothing can fail from here on: the adapter allocated the log's
        // memory before calling us, and no field's initialiser fails. The
        // server's log is the log's now (its drop destroys it there).
        on_server.dismiss();
        Ok(try_pin_init!(UserspaceLog {
            transport: transport.clone(),
            target,
            luid,
            uuid: uuid_buf,
            ctr_args,
            usr_argc: args.len(),
            integrated_flush,
            region_size: created.region_size,
            region_count: created.region_count,
            _log_dev: created.log_dev,
            in_sync_hint: AtomicU64::new(0),
            next_recovery_query: AtomicI64::new(0),
            queued <- new_spinlock!(queued, "dm_log_rs:ulog_queued"),
            flushing <- new_mutex!(flushing, "dm_log_rs:ulog_flushing"),
            status_buf <- new_mutex!(status_buf, "dm_log_rs:ulog_status"),
        }? Error))
    }

    fn presuspend(this: Pin<&Self>) -> Result {
        this.call(RequestType::Presuspend, &[], &mut [], 0..=0)
            .map(|_| ())
    }

    fn postsuspend(this: Pin<&Self>) -> Result {
        this.settle_owed_flush()?;
        this.call(RequestType::Postsuspend, &[], &mut [], 0..=0)
            .map(|_| ())
    }

    fn resume(this: Pin<&Self>) -> Result {
        this.in_sync_hint.store(0, Ordering::Relaxed);
        this.call(RequestType::Resume, &[], &mut [], 0..=0)
            .map(|_| ())
    }

    fn region_size(this: Pin<&Self>) -> u32 {
        this.region_size
    }

    fn is_clean(this: Pin<&Self>, region: Region) -> bool {
        this.query(RequestType::IsClean, region)
            .is_ok_and(|v| v != 0)
    }

    fn in_sync(this: Pin<&Self>, region: Region, can_block: bool) -> Result<bool> {
        if !can_block {
            // Asking needs a round trip: the mirror retries from its worker.
            return Err(EAGAIN);
        }
        Ok(this
            .query(RequestType::InSync, region)
            .is_ok_and(|v| v != 0))
    }

    fn flush(this: Pin<&Self>) -> Result {
        let mut f = this.flushing.lock();
        let lost_marks = {
            let mut q = this.queued.lock();
            let q = &mut *q;
            core::mem::swap(&mut q.marks, &mut f.marks);
            core::mem::swap(&mut q.clears, &mut f.clears);
            q.lost_marks.take()
        };
        let r = this.flush_batches(&mut f, lost_marks);
        // Batches that filled more than half way grow here, where
        // allocating may sleep, before they are handed back to the marking
        // path. Failing that is harmless: `push` tries again atomically.
        let batches = &mut *f;
        for b in [&mut batches.marks, &mut batches.clears] {
            if b.len > b.buf.len() / 2 {
                let _ = b.grow(b.buf.len() * 2, GFP_KERNEL);
            }
            b.clear();
        }
        drop(f);
        if let Err(e) = r {
            pr_err!(
                "userspace log [{}]: flush failed: {:?}\n",
                uuid_tail(&this.uuid),
                e
            );
            // As in C, what was queued is dropped: the error tells the
            // mirror that the log has failed.
            this.target.table_event();
        }
        r
    }

    fn mark_region(this: Pin<&Self>, region: Region) {
        let mut q = this.queued.lock();
        if !q.marks.push(region) {
            Lost::add(&mut q.lost_marks, region);
        }
    }

    fn clear_region(this: Pin<&Self>, region: Region) {
        if !this.queued.lock().clears.push(region) && ALLOC_FAILURE.allow() {
            // The region stays dirty on the server: safe, costs a resync.
            pr_err!(
                "userspace log [{}]: no memory to queue a clear\n",
                uuid_tail(&this.uuid)
            );
        }
    }

    fn get_resync_work(this: Pin<&Self>) -> Result<Option<Region>> {
        if this.in_sync_hint.load(Ordering::Relaxed) >= this.region_count {
            return Ok(None);
        }
        let mut reply = [0u8; 16];
        this.request(RequestType::GetResyncWork, &[], &mut reply, 16..=16)?;
        if word(&reply, 0) == 0 {
            return Ok(None);
        }
        let region = word(&reply, 1);
        if region >= this.region_count {
            pr_err!(
                "userspace log [{}]: the log server handed out region {} to resync, past the last ({})\n",
                uuid_tail(&this.uuid),
                region,
                this.region_count - 1
            );
            return Err(EIO);
        }
        Ok(Some(region))
    }

    fn set_region_sync(this: Pin<&Self>, region: Region, in_sync: bool) {
        let mut data = [0u8; 16];
        data[..8].copy_from_slice(&region.to_ne_bytes());
        data[8..].copy_from_slice(&i64::from(in_sync).to_ne_bytes());
        // As C: nothing to do about a failure here; the region is simply
        // handed out again.
        let _ = this.request(RequestType::SetRegionSync, &data, &mut [], 0..=0);
    }

    fn sync_count(this: Pin<&Self>) -> Region {
        let mut reply = [0u8; 8];
        if this
            .request(RequestType::GetSyncCount, &[], &mut reply, 8..=8)
            .is_err()
        {
            return 0;
        }
        let count = word(&reply, 0).min(this.region_count);
        if count == this.region_count {
            this.in_sync_hint.store(count, Ordering::Relaxed);
        }
        count
    }

    fn status(this: Pin<&Self>, kind: StatusType, out: &mut StatusWriter<'_>) -> fmt::Result {
        match kind {
            StatusType::Info => {
                let mut buf = this.status_buf.lock();
                match this.call(RequestType::StatusInfo, &[], &mut buf, 0..=REPLY_MAX) {
                    Ok(n) => {
                        out.write_bytes(&buf[..n]);
                        Ok(())
                    }
                    Err(_) => out.write_str("userspace 1 COM_FAILURE"),
                }
            }
            StatusType::Table => {
                // Device-mapper arguments are bytes: print the UUID as given.
                write!(out, "userspace {} ", this.usr_argc)?;
                out.write_bytes(&this.uuid);
                out.write_str(" ")?;
                if this.integrated_flush {
                    out.write_str("integrated_flush ")?;
                }
                // The constructor string without the target length.
                let rest = this
                    .ctr_args
                    .splitn(2, |&b| b == b' ')
                    .nth(1)
                    .unwrap_or(&[]);
                out.write_bytes(rest);
                out.write_str(" ")
            }
            StatusType::Ima => Ok(()),
        }
    }

    fn is_remote_recovering(this: Pin<&Self>, region: Region) -> bool {
        if region < this.in_sync_hint.load(Ordering::Relaxed) {
            return false;
        }
        let now = Ktime::ktime_get().to_ms();
        if now < this.next_recovery_query.load(Ordering::Relaxed) {
            // Asked recently: assume it is, the mirror retries shortly.
            return true;
        }
        this.next_recovery_query
            .store(now + RECOVERY_QUERY_MS, Ordering::Relaxed);
        let mut reply = [0u8; 16];
        match this.request(
            RequestType::IsRemoteRecovering,
            &region.to_ne_bytes(),
            &mut reply,
            16..=16,
        ) {
            Ok(_) => {
                this.in_sync_hint
                    .store(word(&reply, 1).min(this.region_count), Ordering::Relaxed);
                word(&reply, 0) != 0
            }
            Err(_) => true,
        }
    }
}

#[pinned_drop]
impl PinnedDrop for UserspaceLog {
    fn drop(self: Pin<&mut Self>) {
        if let Err(e) = self.settle_owed_flush() {
            pr_warn!(
                "userspace log [{}]: final flush failed: {:?}\n",
                uuid_tail(&self.uuid),
                e
            );
        }
        // The server's answer changes nothing: the log goes either way.
        let _ = self.call(RequestType::Dtr, &[], &mut [], 0..=0);
    }
}
