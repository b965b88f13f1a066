// SPDX-License-Identifier: GPL-2.0

//! Requests to the userspace log server and the matching of its replies.
//!
//! A request takes one of a fixed set of reply slots, is multicast to the
//! server's connector group under a fresh sequence number, and waits for the
//! reply with that number. Replies arrive through the connector callback
//! ([`Transport::receive`]), in the context of the sending process, and are
//! matched to their request by sequence number alone, as the C module does:
//! LVM2's `cmirrord` answers every request it routes through the cluster
//! with log id 0, its wildcard. A message from a sender without
//! `CAP_SYS_ADMIN`, one too short for a request header, or one whose
//! sequence number no request waits for is dropped, counted and reported
//! (rate-limited).
//!
//! A matched reply is then validated: version, request type, log id (the
//! request's or 0), error range and data size. A reply carrying an error
//! completes its request with that error whatever its data size says
//! (`cmirrord` sends `-ENOSPC` with only the header). A reply that fails
//! validation is counted and reported, and the request keeps waiting for a
//! valid one; if none comes within the retry timeout the request fails with
//! the rejected reply's error (`ENOSPC` for too much data, `EIO` otherwise)
//! instead of being sent again. Nothing the server sends can make a
//! request wait for ever.
//!
//! As in the C module, a request with no reply at all within
//! [`RETRY_TIMEOUT_MS`] is sent again under a new sequence number (a late
//! reply to the old one is then dropped), and so is one answered with
//! `-EAGAIN`; there is no limit on those retries: a server that is down
//! comes back. Waits are interruptible: a
//! signal to the waiting task (the `dmsetup` of a table load, say; the
//! mirror's worker takes none) ends the request with `EINTR`.
//!
//! Nothing here allocates after construction: slots, reply buffers and the
//! send buffer are preallocated; the connector allocates its socket buffer
//! with `GFP_NOIO`.

use super::protocol::{
    check_reply, Expected, Header, RequestType, Verdict, CN_ID, HEADER_LEN, MAX_DATA, MAX_ERRNO,
};
use crate::kernel_ext::connector::{self, Message, OutMessage, Sender};
use core::{
    fmt,
    ops::RangeInclusive,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::{
    new_condvar, new_mutex, new_spinlock,
    prelude::*,
    str::BStr,
    sync::{
        lock::{spinlock::SpinLockBackend, Guard},
        Arc, CondVar, CondVarTimeoutResult, Mutex, SpinLock,
    },
    time::{msecs_to_jiffies, Ktime},
};

/// How long a request waits for its reply before it is sent again, as the C
/// module (`DM_ULOG_RETRY_TIMEOUT`, 15 s).
pub(crate) const RETRY_TIMEOUT_MS: u32 = 15_000;

/// Requests that can wait for replies at the same time (all logs together);
/// more wait for a free slot.
const SLOTS: usize = 32;

/// The largest reply data accepted (a status line, a device name).
pub(crate) const REPLY_MAX: usize = 1024;

/// Allows at most [`RateLimit::BURST`] messages per
/// [`RateLimit::INTERVAL_MS`], like the kernel's `printk_ratelimited`.
pub(crate) struct RateLimit {
    window_start_ms: AtomicU64,
    in_window: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimit {
    const INTERVAL_MS: u64 = 5_000;
    const BURST: u64 = 10;

    pub(crate) const fn new() -> Self {
        RateLimit {
            window_start_ms: AtomicU64::new(0),
            in_window: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether a message may be printed now; reports how many were
    /// suppressed when a new window opens.
    pub(crate) fn allow(&self) -> bool {
        let now = Ktime::ktime_get().to_ms() as u64;
        let start = self.window_start_ms.load(Ordering::Relaxed);
        if now.saturating_sub(start) >= Self::INTERVAL_MS
            && self
                .window_start_ms
                .compare_exchange(start, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.in_window.store(0, Ordering::Relaxed);
            let n = self.suppressed.swap(0, Ordering::Relaxed);
            if n > 0 {
                pr_warn!("userspace log: {} messages suppressed\n", n);
            }
        }
        if self.in_window.fetch_add(1, Ordering::Relaxed) < Self::BURST {
            true
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

/// What the transport counts (shown in debugfs).
#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    replies: AtomicU64,
    /// Replies (acknowledgements included) that carried an error.
    failed: AtomicU64,
    timeouts: AtomicU64,
    again: AtomicU64,
    send_errors: AtomicU64,
    dropped_malformed: AtomicU64,
    dropped_unmatched: AtomicU64,
    dropped_unprivileged: AtomicU64,
    rejected: AtomicU64,
    rejected_failures: AtomicU64,
    wait_ns: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Free,
    Waiting,
    Answered,
}

/// A request waiting for its reply, and the reply once it came.
struct Slot {
    state: SlotState,
    seq: u32,
    /// What the reply must be like.
    expected: Expected,
    /// The error of the last reply that matched but failed validation: the
    /// request fails with it if no valid reply comes before the timeout.
    rejected: Option<Error>,
    error: i32,
    len: usize,
    data: [u8; REPLY_MAX],
}

impl Slot {
    const FREE: Slot = Slot {
        state: SlotState::Free,
        seq: 0,
        expected: Expected {
            request_type: RequestType::Ctr,
            luid: 0,
            data: 0..=0,
        },
        rejected: None,
        error: 0,
        len: 0,
        data: [0; REPLY_MAX],
    };
}

struct Table {
    slots: KVec<Slot>,
    next_seq: u32,
}

type TableGuard<'a> = Guard<'a, Table, SpinLockBackend>;

/// How a wait for a reply ended.
enum Waited {
    Answered(Result<usize>),
    TimedOut,
    Interrupted,
}

/// The request/reply channel to the userspace log server; one per module,
/// shared by every userspace log.
#[pin_data]
pub(crate) struct Transport {
    #[pin]
    table: SpinLock<Table>,
    /// Notified when a reply arrives.
    #[pin]
    answered: CondVar,
    /// Notified when a slot is freed.
    #[pin]
    freed: CondVar,
    /// Never notified: timed sleeps wait on it.
    #[pin]
    nap: CondVar,
    #[pin]
    out: Mutex<OutMessage>,
    stats: Stats,
    bad_input: RateLimit,
}

/// A request to send.
pub(crate) struct Request<'a> {
    pub(crate) uuid: &'a [u8],
    pub(crate) luid: u64,
    pub(crate) request_type: RequestType,
    pub(crate) data: &'a [u8],
}

/// The last eight bytes of a UUID, as the C module prints them (bytes that
/// are not printable ASCII escaped).
pub(crate) fn uuid_tail(uuid: &[u8]) -> &BStr {
    BStr::from_bytes(&uuid[uuid.len().saturating_sub(8)..])
}

impl Transport {
    /// Allocates the transport. Process context.
    pub(crate) fn new() -> Result<Arc<Self>> {
        let mut slots = KVec::with_capacity(SLOTS, GFP_KERNEL)?;
        for _ in 0..SLOTS {
            slots.push(Slot::FREE, GFP_KERNEL)?;
        }
        let out = OutMessage::new(HEADER_LEN + MAX_DATA)?;
        Arc::pin_init(
            pin_init!(Transport {
                table <- new_spinlock!(Table { slots, next_seq: 0 }, "dm_log_rs:ulog_table"),
                answered <- new_condvar!("dm_log_rs:ulog_answered"),
                freed <- new_condvar!("dm_log_rs:ulog_freed"),
                nap <- new_condvar!("dm_log_rs:ulog_nap"),
                out <- new_mutex!(out, "dm_log_rs:ulog_out"),
                stats: Stats::default(),
                bad_input: RateLimit::new(),
            }),
            GFP_KERNEL,
        )
    }

    /// Sends `req` and waits for the server's answer, resending after a
    /// timeout or an `-EAGAIN` answer. Returns the length of the reply data
    /// copied into `reply`, or the server's error; `expect` are the data
    /// sizes a successful reply may have (anything else is dropped as
    /// malformed). Process context; sleeps.
    pub(crate) fn call(
        &self,
        req: &Request<'_>,
        reply: &mut [u8],
        expect: RangeInclusive<usize>,
    ) -> Result<usize> {
        if req.data.len() > MAX_DATA {
            pr_info!(
                "userspace log [{}]: {} request of {} bytes exceeds the {} bytes a request can carry\n",
                uuid_tail(req.uuid),
                req.request_type.name(),
                req.data.len(),
                MAX_DATA
            );
            return Err(EINVAL);
        }
        let expect = *expect.start()..=(*expect.end()).min(reply.len()).min(REPLY_MAX);
        loop {
            let (slot, seq) = self.reserve(req, expect.clone())?;
            bump(&self.stats.requests);
            if let Err(e) = self.send(req, seq) {
                self.release(slot);
                bump(&self.stats.send_errors);
                // With no server listening this is the normal ESRCH the
                // callers act on; anything else is worth a message.
                if e != ESRCH {
                    pr_err!(
                        "userspace log [{}]: unable to send {} request to the log server: {:?}\n",
                        uuid_tail(req.uuid),
                        req.request_type.name(),
                        e
                    );
                }
                return Err(e);
            }
            let start = Ktime::ktime_get();
            let waited = self.wait(slot, reply);
            let ns = Ktime::ktime_get().to_ns() - start.to_ns();
            self.stats.wait_ns.fetch_add(ns as u64, Ordering::Relaxed);
            match waited {
                Waited::Answered(Err(e)) if e == EAGAIN => bump(&self.stats.again),
                Waited::Answered(r) => return r,
                Waited::TimedOut => {
                    bump(&self.stats.timeouts);
                    pr_warn!(
                        "userspace log [{}]: {} request (seq {}) timed out - retrying\n",
                        uuid_tail(req.uuid),
                        req.request_type.name(),
                        seq
                    );
                }
                Waited::Interrupted => return Err(EINTR),
            }
        }
    }

    /// Sleeps for `ms` milliseconds; `EINTR` if a signal came first.
    pub(crate) fn sleep(&self, ms: u32) -> Result {
        let mut guard = self.table.lock();
        match self
            .nap
            .wait_interruptible_timeout(&mut guard, msecs_to_jiffies(ms))
        {
            CondVarTimeoutResult::Signal { .. } => Err(EINTR),
            _ => Ok(()),
        }
    }

    /// Takes a free slot for `req` and gives it a new sequence number.
    fn reserve(&self, req: &Request<'_>, expect: RangeInclusive<usize>) -> Result<(usize, u32)> {
        let mut table = self.table.lock();
        loop {
            let seq = table.next_seq;
            if let Some(i) = table.slots.iter().position(|s| s.state == SlotState::Free) {
                table.next_seq = seq.wrapping_add(1);
                let slot = &mut table.slots[i];
                slot.state = SlotState::Waiting;
                slot.seq = seq;
                slot.expected = Expected {
                    request_type: req.request_type,
                    luid: req.luid,
                    data: expect,
                };
                slot.rejected = None;
                slot.error = 0;
                slot.len = 0;
                return Ok((i, seq));
            }
            let j = msecs_to_jiffies(RETRY_TIMEOUT_MS);
            if let CondVarTimeoutResult::Signal { .. } =
                self.freed.wait_interruptible_timeout(&mut table, j)
            {
                return Err(EINTR);
            }
        }
    }

    fn release(&self, slot: usize) {
        self.table.lock().slots[slot].state = SlotState::Free;
        self.freed.notify_one();
    }

    fn send(&self, req: &Request<'_>, seq: u32) -> Result {
        let mut out = self.out.lock();
        let payload = out.payload_mut();
        // CAST: At most `MAX_DATA`, checked by `call`.
        let header = Header::request(req.luid, seq, req.request_type, req.data.len() as u32);
        header.encode(req.uuid, payload);
        payload[HEADER_LEN..HEADER_LEN + req.data.len()].copy_from_slice(req.data);
        out.send(CN_ID, seq, HEADER_LEN + req.data.len())
    }

    /// Waits up to [`RETRY_TIMEOUT_MS`] for the reply in `slot`, then frees
    /// the slot.
    fn wait(&self, slot: usize, reply: &mut [u8]) -> Waited {
        let mut left = msecs_to_jiffies(RETRY_TIMEOUT_MS);
        let mut table = self.table.lock();
        let waited = loop {
            let s = &table.slots[slot];
            if s.state == SlotState::Answered {
                break Waited::Answered(if s.error != 0 {
                    Err(Error::from_errno(s.error))
                } else {
                    // The callback checked `s.len` against `expect`, which
                    // `call` capped at `reply.len()`.
                    reply[..s.len].copy_from_slice(&s.data[..s.len]);
                    Ok(s.len)
                });
            }
            match self.answered.wait_interruptible_timeout(&mut table, left) {
                // A reply that came with the deadline or the signal wins.
                CondVarTimeoutResult::Timeout | CondVarTimeoutResult::Signal { .. }
                    if table.slots[slot].state == SlotState::Answered => {}
                CondVarTimeoutResult::Woken { jiffies } => left = jiffies,
                CondVarTimeoutResult::Timeout => {
                    break match table.slots[slot].rejected {
                        Some(e) => {
                            bump(&self.stats.rejected_failures);
                            Waited::Answered(Err(e))
                        }
                        None => Waited::TimedOut,
                    }
                }
                CondVarTimeoutResult::Signal { .. } => break Waited::Interrupted,
            }
        };
        table.slots[slot].state = SlotState::Free;
        drop(table);
        self.freed.notify_one();
        waited
    }

    /// Drops a bad message, with a rate-limited reason.
    fn drop_message(&self, counter: &AtomicU64, why: fmt::Arguments<'_>) {
        bump(counter);
        if self.bad_input.allow() {
            pr_warn!(
                "userspace log: dropped a message from the log server: {}\n",
                why
            );
        }
    }

    /// Completes the request waiting in `slot` with `error` (0 or a
    /// negative errno) and `data`.
    fn complete(&self, mut table: TableGuard<'_>, slot: usize, error: i32, data: &[u8]) {
        let s = &mut table.slots[slot];
        s.data[..data.len()].copy_from_slice(data);
        s.len = data.len();
        s.error = error;
        s.state = SlotState::Answered;
        drop(table);
        bump(&self.stats.replies);
        if error != 0 {
            bump(&self.stats.failed);
        }
        self.answered.notify_all();
    }

    /// Rejects a reply that matched the request in `slot` but is not valid:
    /// the request fails with `error` unless a valid reply follows before
    /// its timeout.
    fn reject(
        &self,
        mut table: TableGuard<'_>,
        slot: usize,
        error: Error,
        why: fmt::Arguments<'_>,
    ) {
        let s = &table.slots[slot];
        let (seq, request_type) = (s.seq, s.expected.request_type as u32);
        table.slots[slot].rejected = Some(error);
        drop(table);
        bump(&self.stats.rejected);
        if self.bad_input.allow() {
            pr_warn!(
                "userspace log: rejected a reply from the log server: seq {} (request type {}): {}; \
                 the request fails unless a valid reply follows\n",
                seq,
                request_type,
                why
            );
        }
    }

    /// The slot of the request numbered `seq`, if one waits for it.
    fn waiting(table: &Table, seq: u32) -> Option<usize> {
        table
            .slots
            .iter()
            .position(|s| s.state == SlotState::Waiting && s.seq == seq)
    }

    /// Handles an acknowledgement: a message with no payload, whose `ack`
    /// is a positive errno for the request numbered `seq`.
    fn receive_ack(&self, seq: u32, ack: u32) {
        let table = self.table.lock();
        let Some(slot) = Self::waiting(&table, seq) else {
            drop(table);
            return self.drop_message(
                &self.stats.dropped_unmatched,
                format_args!(
                    "acknowledgement for seq {}, which no request waits for",
                    seq
                ),
            );
        };
        if ack > MAX_ERRNO as u32 {
            return self.reject(
                table,
                slot,
                EIO,
                format_args!("acknowledgement {} is not an errno", ack),
            );
        }
        if ack == 0 && !table.slots[slot].expected.data.contains(&0) {
            return self.reject(
                table,
                slot,
                EIO,
                format_args!("empty acknowledgement, but the request needs data"),
            );
        }
        // CAST: At most `MAX_ERRNO`, checked above.
        self.complete(table, slot, -(ack as i32), &[]);
    }
}

impl connector::Handler for Transport {
    fn receive(&self, msg: &Message<'_>, sender: &Sender<'_>) {
        if !sender.is_admin() {
            return self.drop_message(
                &self.stats.dropped_unprivileged,
                format_args!("sender lacks CAP_SYS_ADMIN"),
            );
        }
        if msg.data.is_empty() {
            return self.receive_ack(msg.seq, msg.ack);
        }
        let Some(h) = Header::decode(msg.data) else {
            return self.drop_message(
                &self.stats.dropped_malformed,
                format_args!(
                    "truncated: {} bytes, a request header has {}",
                    msg.data.len(),
                    HEADER_LEN
                ),
            );
        };
        let data = &msg.data[HEADER_LEN..];
        let table = self.table.lock();
        let Some(slot) = Self::waiting(&table, h.seq) else {
            drop(table);
            return self.drop_message(
                &self.stats.dropped_unmatched,
                format_args!(
                    "seq {} (type {}): no request waits for it (late or forged)",
                    h.seq, h.request_type
                ),
            );
        };
        match check_reply(&table.slots[slot].expected, &h, data.len()) {
            Ok(Verdict::Failed(error)) => self.complete(table, slot, error, &[]),
            Ok(Verdict::Data(size)) => self.complete(table, slot, 0, &data[..size]),
            Err(why) => {
                // Too much data is what the C module reports as ENOSPC.
                let e = if why.too_much_data() { ENOSPC } else { EIO };
                self.reject(table, slot, e, format_args!("{}", why))
            }
        }
    }
}

/// The debugfs file's content: one `name value` line per counter.
impl fmt::Debug for Transport {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let requests = get(&s.requests);
        let replies = get(&s.replies);
        write!(
            out,
            "requests {}\nreplies {}\nfailed {}\ntimeouts {}\nagain {}\nsend_errors {}\n\
             dropped_malformed {}\ndropped_unmatched {}\ndropped_unprivileged {}\n\
             rejected {}\nrejected_failures {}\nmean_wait_us {}",
            requests,
            replies,
            get(&s.failed),
            get(&s.timeouts),
            get(&s.again),
            get(&s.send_errors),
            get(&s.dropped_malformed),
            get(&s.dropped_unmatched),
            get(&s.dropped_unprivileged),
            get(&s.rejected),
            get(&s.rejected_failures),
            get(&s.wait_ns) / 1000 / replies.max(1),
        )
    }
}
