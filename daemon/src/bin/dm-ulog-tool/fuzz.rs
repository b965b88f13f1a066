// SPDX-License-Identifier: GPL-2.0

//! The connector fuzzer of `dm-ulog-tool fuzz`.
//!
//! It serves every log correctly (the daemon's own code) and, ahead of each
//! correct reply, sends the kernel a burst of hostile messages built from
//! that reply (0 to twice the mean burst size, at random). In the default, *drop-only* form every hostile message is one
//! the kernel must drop or reject whichever request it meets, so the mirror
//! must go on exactly as with a plain server: its legs stay identical and no
//! request fails. With `--replace-every R`, about one reply in R is itself
//! replaced by a well-formed reply carrying a random error or hostile data;
//! then the mirror may fail I/O, but nothing may hang or crash.
//!
//! The kinds of message (see [`Kind`]):
//! - random bytes, netlink framing included;
//! - a good frame around a random payload;
//! - a good reply behind a netlink or connector header that lies about its
//!   length;
//! - the correct reply to the live sequence number made invalid in one
//!   field (version, request type, log id, error, data size) with random
//!   bits flipped elsewhere, or cut short of a header and sent to a
//!   sequence number near the live one;
//! - acknowledgements (no payload) to the live sequence number, or to one no
//!   request holds, whose `ack` is not an errno;
//! - well-formed replies, data mutated, to sequence numbers no request can
//!   hold (half the number space away), and replies to requests already
//!   answered, sent again.
//!
//! The request stream comes from the kernel, so a seed replays the same
//! mutations for the same requests, not the same run.

use crate::rng::Rng;
use dm_log_shared::ulog::{field, MAX_ERRNO};
use dm_logd::proto::{self, answer_size, CnMsg, Request, RequestType, HEADER_LEN, PAYLOAD_OFFSET};
use dm_logd::runloop::BeforeReply;
use dm_logd::sys::NetlinkSocket;

/// The kinds of hostile message, with their names in the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Random bytes, netlink framing included.
    Raw,
    /// A good frame around a random payload.
    RandomPayload,
    /// A good reply whose netlink or connector header lies about a length.
    LyingLength,
    /// The reply to the live sequence number, invalid in one field (a cut
    /// header: near it).
    Invalid,
    /// An acknowledgement to the live sequence number (or one no request
    /// holds) that is not an errno.
    BadAck,
    /// A well-formed reply to a sequence number no request holds.
    FarSeq,
    /// A reply already delivered, sent again.
    Stale,
}

/// Every kind, in the order of [`Kind::index`].
pub const KINDS: [Kind; 7] = [
    Kind::Raw,
    Kind::RandomPayload,
    Kind::LyingLength,
    Kind::Invalid,
    Kind::BadAck,
    Kind::FarSeq,
    Kind::Stale,
];

impl Kind {
    /// The kind's name in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Raw => "raw",
            Kind::RandomPayload => "random-payload",
            Kind::LyingLength => "lying-length",
            Kind::Invalid => "invalid",
            Kind::BadAck => "bad-ack",
            Kind::FarSeq => "far-seq",
            Kind::Stale => "stale",
        }
    }

    fn index(self) -> usize {
        KINDS.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// The one field [`Kind::Invalid`] breaks, so that no waiting request can
/// accept the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Breakage {
    /// `version` other than 3.
    Version,
    /// A request type no request has (low byte 0 or above 17).
    RequestType,
    /// A log id neither 0 nor the request's.
    Luid,
    /// An `error` that is positive or below `-MAX_ERRNO`.
    Error,
    /// `data_size` above the bytes that follow.
    DataSize,
    /// A fixed-size answer of the wrong size.
    WrongSize,
    /// Fewer than 160 payload bytes.
    CutHeader,
}

const BREAKAGES: [Breakage; 7] = [
    Breakage::Version,
    Breakage::RequestType,
    Breakage::Luid,
    Breakage::Error,
    Breakage::DataSize,
    Breakage::WrongSize,
    Breakage::CutHeader,
];

impl Breakage {
    /// The header bytes that carry the breakage: random flips must not
    /// touch them (they could repair it).
    fn field(self) -> core::ops::Range<usize> {
        match self {
            Breakage::Version => field::VERSION,
            Breakage::RequestType => field::REQUEST_TYPE,
            Breakage::Luid => field::LUID,
            Breakage::Error => field::ERROR,
            // The data size and the bytes that follow define it.
            Breakage::DataSize => field::DATA_SIZE.start..usize::MAX,
            // So does the request type: another type may take this size.
            Breakage::WrongSize => field::REQUEST_TYPE.start..usize::MAX,
            Breakage::CutHeader => 0..0,
        }
    }
}

fn put_u32(p: &mut [u8], at: core::ops::Range<usize>, v: u32) {
    p[at].copy_from_slice(&v.to_ne_bytes());
}

fn put_u64(p: &mut [u8], at: core::ops::Range<usize>, v: u64) {
    p[at].copy_from_slice(&v.to_ne_bytes());
}

/// Values that sit at the edges of the number space.
fn edgy_u64(rng: &mut Rng) -> u64 {
    match rng.below(8) {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => 1 << 63,
        4 => 1 << 31,
        5 => (1 << 32) + rng.below(4),
        6 => rng.below(1 << 20),
        _ => rng.next_u64(),
    }
}

/// A `seq` within 64 of `live`, `live` included: only for messages
/// dropped before they are matched to a request. A rejected message marks
/// the request it matched, which then fails if its real reply does not come
/// in time: so those go to `live` alone, whose reply follows at once.
fn near(rng: &mut Rng, live: u32) -> u32 {
    live.wrapping_add(rng.below(129) as u32).wrapping_sub(64)
}

/// A `seq` no request can hold: half the number space from `live`.
fn far(rng: &mut Rng, live: u32) -> u32 {
    live.wrapping_add(0x8000_0000)
        .wrapping_add(rng.below(1 << 20) as u32)
        .wrapping_sub(1 << 19)
}

/// Flips up to 4 random bits of `p`, none in the `keep` ranges.
fn flip_bits(rng: &mut Rng, p: &mut [u8], keep: &[core::ops::Range<usize>]) {
    if p.is_empty() {
        return;
    }
    for _ in 0..rng.range(1, 4) {
        let i = rng.below(p.len() as u64) as usize;
        if !keep.iter().any(|k| k.contains(&i)) {
            p[i] ^= 1 << rng.below(8);
        }
    }
}

/// The correct reply to `req` made invalid by `b`, with random flips
/// elsewhere (never in its `seq`), sent to the live `seq`; a cut header, which
/// is dropped before matching, to one near it.
fn invalid(rng: &mut Rng, b: Breakage, req: &Request, reply: &[u8]) -> Vec<u8> {
    let mut p = reply.to_vec();
    let seq = if b == Breakage::CutHeader {
        near(rng, req.header.seq)
    } else {
        req.header.seq
    };
    put_u32(&mut p, field::SEQ, seq);
    match b {
        Breakage::Version => {
            let v = match rng.below(4) {
                0 => 2,
                1 => 4,
                2 => u32::MAX,
                _ => rng.next_u32() | 0x100,
            };
            put_u32(&mut p, field::VERSION, v);
        }
        Breakage::RequestType => {
            let low = match rng.below(2) {
                0 => 0,
                _ => rng.range(18, 255) as u32,
            };
            put_u32(&mut p, field::REQUEST_TYPE, (rng.next_u32() & !0xff) | low);
        }
        Breakage::Luid => {
            let mut l = rng.next_u64() | 1;
            if l == req.header.luid {
                l = l.wrapping_add(2);
            }
            put_u64(&mut p, field::LUID, l);
        }
        Breakage::Error => {
            let e = match rng.below(3) {
                0 => rng.range(1, i32::MAX as u64) as i32,
                1 => i32::MIN,
                _ => -(MAX_ERRNO + 1 + rng.below(100_000) as i32),
            };
            put_u32(&mut p, field::ERROR, e as u32);
        }
        Breakage::DataSize => {
            let avail = (p.len() - HEADER_LEN) as u64;
            let size = match rng.below(3) {
                0 => avail + 1,
                1 => u64::from(u32::MAX),
                _ => avail + rng.range(1, 20_000),
            };
            put_u32(&mut p, field::DATA_SIZE, size as u32);
            put_u32(&mut p, field::ERROR, 0);
        }
        Breakage::WrongSize => {
            let ty = req.header.kind().unwrap_or(RequestType::Flush);
            let want = answer_size(ty);
            let size = if want == 0 {
                // Only the fixed-size answers have a wrong size for sure.
                return invalid(rng, Breakage::Version, req, reply);
            } else {
                loop {
                    let s = rng.below(64) as usize;
                    if s != want {
                        break s;
                    }
                }
            };
            p.truncate(HEADER_LEN);
            p.extend(rng.bytes(size));
            put_u32(&mut p, field::DATA_SIZE, size as u32);
            put_u32(&mut p, field::ERROR, 0);
        }
        Breakage::CutHeader => {
            let n = rng.range(1, HEADER_LEN as u64 - 1) as usize;
            p.truncate(n);
        }
    }
    if b == Breakage::CutHeader || p.len() < HEADER_LEN {
        flip_bits(rng, &mut p, &[]);
        return proto::encode_message(0, CnMsg::dm(seq, 0, p.len() as u16), &p);
    }
    flip_bits(rng, &mut p, &[b.field(), field::SEQ]);
    proto::encode_reply(0, seq, &p)
}

/// What a fuzzing run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FuzzStats {
    /// Requests seen.
    pub requests: u64,
    /// Hostile messages the kernel took (per kind, in [`KINDS`] order).
    pub sent: [u64; KINDS.len()],
    /// Hostile messages whose `sendto` failed.
    pub refused: u64,
    /// Correct replies replaced by hostile ones.
    pub replaced: u64,
}

impl FuzzStats {
    /// Hostile messages the kernel took.
    pub fn total(&self) -> u64 {
        self.sent.iter().sum()
    }

    /// `kind count` pairs for the summary.
    pub fn by_kind(&self) -> String {
        KINDS
            .iter()
            .map(|k| format!("{} {}", k.name(), self.sent[k.index()]))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A [`BeforeReply`] hook that fuzzes the connector while the correct
/// replies go out.
pub struct Fuzzer {
    rng: Rng,
    /// Hostile messages per request, on average.
    per_request: u32,
    /// Hostile messages to send in all; plain serving after that.
    budget: u64,
    /// Replace about one reply in this many (0: never).
    replace_every: u64,
    /// The last few replies delivered, for [`Kind::Stale`].
    delivered: Vec<Vec<u8>>,
    /// What was done.
    pub stats: FuzzStats,
    /// Set once the budget is spent (the caller reports it once).
    pub done: bool,
}

/// How many delivered replies [`Kind::Stale`] picks from.
const STALE_KEEP: usize = 16;

impl Fuzzer {
    /// A fuzzer sending `budget` messages, `per_request` before each reply
    /// on average, and replacing about one reply in `replace_every` (0:
    /// none) for as long as it serves.
    pub fn new(seed: u64, budget: u64, per_request: u32, replace_every: u64) -> Self {
        Fuzzer {
            rng: Rng::new(seed),
            per_request,
            budget,
            replace_every,
            delivered: Vec::new(),
            stats: FuzzStats::default(),
            done: budget == 0,
        }
    }

    /// One hostile message of `kind` built around the correct `reply`
    /// payload to `req`. `port` is the sender's netlink port.
    pub fn message(&mut self, kind: Kind, port: u32, req: &Request, reply: &[u8]) -> Vec<u8> {
        let rng = &mut self.rng;
        let live = req.header.seq;
        let mut msg = match kind {
            Kind::Raw => {
                let n = rng.below(2049) as usize;
                rng.bytes(n)
            }
            Kind::RandomPayload => {
                let n = rng.below(2049) as usize;
                let p = rng.bytes(n);
                let seq = rng.next_u32();
                proto::encode_message(0, CnMsg::dm(seq, rng.next_u32(), n as u16), &p)
            }
            Kind::LyingLength => {
                // Invalid inside too: a length that happens to fit must
                // still not answer anything.
                let b = BREAKAGES[rng.below(BREAKAGES.len() as u64) as usize];
                let mut m = invalid(rng, b, req, reply);
                let real = m.len() - PAYLOAD_OFFSET;
                if rng.below(2) == 0 {
                    // nlmsg_len: too long, or short of the connector payload.
                    let lie = if rng.below(2) == 0 {
                        m.len() + rng.range(1, 4096) as usize
                    } else {
                        rng.below(m.len() as u64) as usize
                    };
                    put_u32(&mut m, 0..4, lie as u32);
                } else {
                    // cn_msg.len: longer or shorter than what follows (not
                    // 0: that is an acknowledgement, and `ack` is 0).
                    let lie = if rng.below(2) == 0 || real < 2 {
                        real + rng.range(1, 4096) as usize
                    } else {
                        rng.range(1, real as u64 - 1) as usize
                    };
                    let at = PAYLOAD_OFFSET - 4;
                    m[at..at + 2].copy_from_slice(&(lie.min(0xffff) as u16).to_ne_bytes());
                }
                m
            }
            Kind::Invalid => {
                let b = BREAKAGES[rng.below(BREAKAGES.len() as u64) as usize];
                invalid(rng, b, req, reply)
            }
            Kind::BadAck => {
                // Rejected by the live request, or dropped as unmatched.
                let seq = if rng.below(2) == 0 {
                    live
                } else {
                    far(rng, live)
                };
                let ack = match rng.below(3) {
                    0 => MAX_ERRNO as u32 + 1,
                    1 => u32::MAX,
                    _ => rng.range(MAX_ERRNO as u64 + 1, u32::MAX as u64) as u32,
                };
                proto::encode_message(0, CnMsg::dm(seq, ack, 0), &[])
            }
            Kind::FarSeq => {
                let seq = far(rng, live);
                let mut p = reply.to_vec();
                put_u32(&mut p, field::SEQ, seq);
                if p.len() > HEADER_LEN && rng.below(2) == 0 {
                    for w in p[HEADER_LEN..].chunks_exact_mut(8) {
                        w.copy_from_slice(&edgy_u64(rng).to_ne_bytes());
                    }
                } else if rng.below(2) == 0 {
                    put_u32(&mut p, field::ERROR, -(rng.range(1, 4095) as i32) as u32);
                }
                if rng.below(4) == 0 {
                    // An acknowledgement, now and then.
                    let ack = rng.range(1, 4095) as u32;
                    proto::encode_message(0, CnMsg::dm(seq, ack, 0), &[])
                } else {
                    proto::encode_reply(0, seq, &p)
                }
            }
            Kind::Stale => match self.delivered.len() {
                0 => {
                    let mut p = reply.to_vec();
                    let seq = far(rng, live);
                    put_u32(&mut p, field::SEQ, seq);
                    proto::encode_reply(0, seq, &p)
                }
                n => {
                    let p = self.delivered[rng.below(n as u64) as usize].clone();
                    let seq = u32::from_ne_bytes(p[field::SEQ].try_into().unwrap_or([0; 4]));
                    proto::encode_reply(0, seq, &p)
                }
            },
        };
        // The sender's port, where a message has room for it.
        if kind != Kind::Raw && msg.len() >= 16 {
            put_u32(&mut msg, 12..16, port);
        }
        msg
    }

    fn pick_kind(&mut self) -> Kind {
        KINDS[self.rng.below(KINDS.len() as u64) as usize]
    }

    /// A well-formed reply to `req` with a random error or hostile data.
    pub fn replacement(&mut self, req: &Request, reply: &[u8]) -> Vec<u8> {
        let rng = &mut self.rng;
        let ty = req.header.kind();
        let want = ty.map_or(0, answer_size);
        let mut p = reply[..HEADER_LEN.min(reply.len())].to_vec();
        if rng.below(2) == 0 || p.len() < HEADER_LEN {
            let e = match rng.below(6) {
                0 => libc::EIO,
                1 => libc::ENOSPC,
                2 => libc::EINVAL,
                3 => libc::ENOMEM,
                4 => MAX_ERRNO,
                _ => rng.range(1, MAX_ERRNO as u64) as i32,
            };
            p.resize(HEADER_LEN, 0);
            put_u32(&mut p, field::ERROR, (-e) as u32);
            put_u32(&mut p, field::DATA_SIZE, 0);
            return p;
        }
        let data: Vec<u8> = if want > 0 {
            (0..want / 8)
                .flat_map(|_| edgy_u64(rng).to_ne_bytes())
                .collect()
        } else if matches!(ty, Some(RequestType::StatusInfo | RequestType::StatusTable)) {
            let n = rng.below(65) as usize;
            rng.bytes(n)
        } else {
            reply[HEADER_LEN..].to_vec()
        };
        if rng.below(4) == 0 {
            // cmirrord's wildcard log id.
            put_u64(&mut p, field::LUID, 0);
        }
        put_u32(&mut p, field::ERROR, 0);
        put_u32(&mut p, field::DATA_SIZE, data.len() as u32);
        p.extend(data);
        p
    }
}

impl BeforeReply for Fuzzer {
    fn before_reply(&mut self, sock: &NetlinkSocket, req: &Request, reply: &[u8]) -> u64 {
        self.stats.requests += 1;
        let mut n = 0;
        // Bursts of 0 to twice the mean, so that the budget spreads over
        // the run and some requests meet long bursts.
        let burst = self.rng.below(2 * u64::from(self.per_request) + 1);
        for _ in 0..burst {
            // Every builder starts from a whole reply header.
            if self.done || reply.len() < HEADER_LEN {
                break;
            }
            let kind = self.pick_kind();
            let m = self.message(kind, sock.port(), req, reply);
            match sock.send_to_kernel(&m) {
                Ok(()) => {
                    self.stats.sent[kind.index()] += 1;
                    n += 1;
                }
                Err(_) => self.stats.refused += 1,
            }
            if self.stats.total() >= self.budget {
                self.done = true;
                println!(
                    "dm-ulog-tool: fuzz budget spent: {} messages before {} replies ({}), {} replies replaced",
                    self.stats.total(),
                    self.stats.requests,
                    self.stats.by_kind(),
                    self.stats.replaced
                );
                let _ = std::io::Write::flush(&mut std::io::stdout());
            }
        }
        if reply.len() >= HEADER_LEN {
            if self.delivered.len() == STALE_KEEP {
                self.delivered.remove(0);
            }
            self.delivered.push(reply.to_vec());
        }
        n
    }

    fn rewrite(&mut self, req: &Request, reply: Vec<u8>) -> Vec<u8> {
        let ty = req.header.kind();
        // Replacement goes on after the budget is spent. The constructor's
        // reply is spared: without it there is no mirror to fuzz.
        if self.replace_every == 0
            || ty == Some(RequestType::Ctr)
            || self.rng.below(self.replace_every) != 0
        {
            return reply;
        }
        self.stats.replaced += 1;
        self.replacement(req, &reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dm_log_shared::ulog::{check_reply, Expected, Header};
    use dm_logd::server::Server;

    /// Requests of every answerable type to one core log, with their
    /// correct replies.
    fn samples() -> Vec<(Request, Vec<u8>)> {
        let mut s = Server::new();
        let luid = 0x1234_5678;
        let ctr = Request::new("u-fuzz", luid, 1, RequestType::Ctr, b"1000 core 8");
        s.handle(&ctr);
        let mut seq = 100;
        let mut out = Vec::new();
        let mut add = |ty: RequestType, data: &[u8]| {
            seq += 1;
            let r = Request::new("u-fuzz", luid, seq, ty, data);
            let reply = s.reply_to(&r);
            out.push((r, reply));
        };
        add(RequestType::Resume, &[]);
        add(RequestType::IsClean, &5u64.to_ne_bytes());
        add(RequestType::InSync, &5u64.to_ne_bytes());
        add(RequestType::MarkRegion, &5u64.to_ne_bytes());
        add(RequestType::Flush, &[]);
        add(RequestType::GetResyncWork, &[]);
        add(RequestType::GetSyncCount, &[]);
        add(RequestType::IsRemoteRecovering, &5u64.to_ne_bytes());
        add(RequestType::StatusInfo, &[]);
        add(RequestType::StatusTable, &[]);
        out
    }

    /// The sequence number the kernel matches `msg` against, or `None`
    /// if the connector or the module drops it before matching (bad
    /// lengths, a payload shorter than a header). With it, whether the
    /// message is an acknowledgement, and its payload.
    fn reaching(msg: &[u8]) -> Option<(u32, &[u8])> {
        // The connector's own checks of the two lengths.
        if msg.len() < PAYLOAD_OFFSET {
            return None;
        }
        let nl_len = u32::from_ne_bytes(msg[0..4].try_into().unwrap()) as usize;
        if nl_len < PAYLOAD_OFFSET || nl_len > msg.len() {
            return None;
        }
        let cn_len = u16::from_ne_bytes(
            msg[PAYLOAD_OFFSET - 4..PAYLOAD_OFFSET - 2]
                .try_into()
                .unwrap(),
        );
        if PAYLOAD_OFFSET + cn_len as usize > nl_len {
            return None;
        }
        let data = &msg[PAYLOAD_OFFSET..PAYLOAD_OFFSET + cn_len as usize];
        if data.is_empty() {
            let cn_seq = u32::from_ne_bytes(
                msg[PAYLOAD_OFFSET - 12..PAYLOAD_OFFSET - 8]
                    .try_into()
                    .unwrap(),
            );
            return Some((cn_seq, data));
        }
        let h = Header::decode(data)?;
        Some((h.seq, data))
    }

    /// Whether some request of any type, of the live request's log, would
    /// take `msg` as its answer if it waited for the sequence number `msg`
    /// reaches.
    fn accepted_by_any(msg: &[u8], live: &Request) -> bool {
        let Some((_, data)) = reaching(msg) else {
            return false;
        };
        if data.is_empty() {
            let ack = u32::from_ne_bytes(
                msg[PAYLOAD_OFFSET - 8..PAYLOAD_OFFSET - 4]
                    .try_into()
                    .unwrap(),
            );
            // An errno acknowledgement completes whatever waits for it.
            return ack <= MAX_ERRNO as u32;
        }
        let Some(h) = Header::decode(data) else {
            return false;
        };
        RequestType::ALL.iter().any(|&t| {
            let expected = Expected {
                request_type: t,
                luid: live.header.luid,
                data: 0..=1024,
            };
            let exact = answer_size(t);
            match check_reply(&expected, &h, data.len() - HEADER_LEN) {
                Ok(dm_log_shared::ulog::Verdict::Data(size)) => exact == 0 || size == exact,
                Ok(dm_log_shared::ulog::Verdict::Failed(_)) => true,
                Err(_) => false,
            }
        })
    }

    /// Every drop-only message is dropped before matching, or reaches the
    /// live request and is rejected, or reaches a sequence number far from
    /// every request in flight: never one near the live one (another
    /// request in flight may hold it, and a rejection marks it).
    #[test]
    fn drop_only_kinds_never_answer_a_live_request() {
        for (req, reply) in samples() {
            let live = req.header.seq;
            let mut f = Fuzzer::new(42, u64::MAX, 0, 0);
            // Some history for the stale kind: replies to earlier requests.
            for (r, p) in samples() {
                if r.header.seq != live {
                    f.delivered.push(p);
                }
            }
            for kind in KINDS {
                for _ in 0..3000 {
                    let m = f.message(kind, 77, &req, &reply);
                    let Some((seq, _)) = reaching(&m) else {
                        continue;
                    };
                    let ty = req.header.kind();
                    let d = seq.wrapping_sub(live);
                    if seq == live {
                        assert!(!accepted_by_any(&m, &req), "{kind:?} answers {ty:?}");
                    } else if d <= 64 || d >= u32::MAX - 63 {
                        // Stale replies go to requests already answered.
                        assert!(
                            kind == Kind::Stale,
                            "{kind:?} to {ty:?} reaches seq distance {d}"
                        );
                    } else if accepted_by_any(&m, &req) {
                        assert!(
                            matches!(
                                kind,
                                Kind::FarSeq | Kind::Stale | Kind::Raw | Kind::RandomPayload
                            ),
                            "{kind:?} to {ty:?} is acceptable at seq distance {d}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn replacements_are_well_formed() {
        for (req, reply) in samples() {
            let mut f = Fuzzer::new(7, u64::MAX, 0, 1);
            for _ in 0..500 {
                let p = f.replacement(&req, &reply);
                let h = Header::decode(&p).expect("a whole header");
                let ty = req.header.kind().unwrap();
                let exact = answer_size(ty);
                let expected = Expected {
                    request_type: ty,
                    luid: req.header.luid,
                    data: if exact > 0 { exact..=exact } else { 0..=1024 },
                };
                assert!(
                    check_reply(&expected, &h, p.len() - HEADER_LEN).is_ok(),
                    "replacement for {ty:?} is rejected: {h:?}"
                );
            }
        }
    }

    #[test]
    fn budget_and_seed() {
        let (req, reply) = samples().remove(1);
        let (mut a, mut b) = (Fuzzer::new(9, 10, 4, 0), Fuzzer::new(9, 10, 4, 0));
        for k in KINDS {
            assert_eq!(a.message(k, 1, &req, &reply), b.message(k, 1, &req, &reply));
        }
        assert!(Fuzzer::new(0, 0, 4, 0).done);
    }
}
