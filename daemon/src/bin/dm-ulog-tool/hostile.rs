// SPDX-License-Identifier: GPL-2.0

//! Hostile message builders for `dm-ulog-tool`: garbage sent to the kernel
//! on the device-mapper log connector, and malformed replies injected ahead
//! of the correct ones by a serving tool. They exercise the kernel side's
//! validation of what userspace sends.

use std::io;

use crate::rng::Rng;
use dm_logd::proto::{
    self, CnMsg, Request, RequestHeader, RequestType, HEADER_LEN, PAYLOAD_OFFSET,
};
use dm_logd::runloop::BeforeReply;
use dm_logd::sys::NetlinkSocket;

/// How many forged replies [`Mode::Flood`] sends ahead of each real reply.
pub const FLOOD_LEN: usize = 300;

/// The injection modes of `dm-ulog-tool serve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No injection: a plain server.
    None,
    /// A reply with the right seq cut to fewer than 160 bytes.
    Truncated,
    /// The right seq, version 2, garbage data of the right size.
    BadVersion,
    /// The right seq, `data_size` larger than the bytes carried.
    ShortData,
    /// The right seq and 4096 real data bytes.
    TooBig,
    /// A well-formed reply with seq + 1000003.
    UnknownSeq,
    /// [`FLOOD_LEN`] well-formed replies with random unknown seqs and sizes.
    Flood,
    /// No injection; the replies to the requests LVM2's cmirrord routes
    /// through the cluster carry log id 0, as cmirrord's do.
    LuidZero,
    /// No injection; `GET_SYNC_COUNT` is answered with `-ENOSPC` and only
    /// the header, its `data_size` left at 4000, as cmirrord answers when a
    /// reply does not fit.
    Enospc,
}

/// Every mode with its command-line name.
pub const MODES: [(&str, Mode); 9] = [
    ("none", Mode::None),
    ("truncated", Mode::Truncated),
    ("bad-version", Mode::BadVersion),
    ("short-data", Mode::ShortData),
    ("too-big", Mode::TooBig),
    ("unknown-seq", Mode::UnknownSeq),
    ("flood", Mode::Flood),
    ("luid-zero", Mode::LuidZero),
    ("enospc", Mode::Enospc),
];

impl Mode {
    /// Parses a command-line mode name.
    pub fn parse(s: &str) -> Option<Self> {
        MODES.iter().find(|(n, _)| *n == s).map(|(_, m)| *m)
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        MODES
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("?", |(n, _)| n)
    }
}

fn with_header(h: &RequestHeader, f: impl FnOnce(&mut RequestHeader)) -> Vec<u8> {
    let mut h = h.clone();
    f(&mut h);
    let mut out = Vec::with_capacity(HEADER_LEN);
    h.encode_into(&mut out);
    out
}

/// The hostile messages `mode` sends before the correct `reply` (a
/// `dm_ulog_request` payload) to `req`, from netlink port `port`.
pub fn injections(
    mode: Mode,
    port: u32,
    req: &Request,
    reply: &[u8],
    rng: &mut Rng,
) -> Vec<Vec<u8>> {
    let seq = req.header.seq;
    let reply_data_len = reply.len().saturating_sub(HEADER_LEN);
    match mode {
        Mode::None | Mode::LuidZero | Mode::Enospc => Vec::new(),
        Mode::Truncated => {
            let n = rng.range(1, HEADER_LEN as u64 - 1) as usize;
            let cut = &reply[..n.min(reply.len())];
            vec![proto::encode_message(
                port,
                CnMsg::dm(seq, 0, cut.len() as u16),
                cut,
            )]
        }
        Mode::BadVersion => {
            let mut p = with_header(&req.header, |h| {
                h.version = 2;
                h.error = 0;
                h.data_size = reply_data_len as u32;
            });
            p.extend(rng.bytes(reply_data_len));
            vec![proto::encode_reply(port, seq, &p)]
        }
        Mode::ShortData => {
            let claimed = reply_data_len + rng.range(8, 256) as usize;
            let mut p = with_header(&req.header, |h| {
                h.error = 0;
                h.data_size = claimed as u32;
            });
            p.extend_from_slice(&reply[HEADER_LEN.min(reply.len())..]);
            vec![proto::encode_reply(port, seq, &p)]
        }
        Mode::TooBig => {
            let mut p = with_header(&req.header, |h| {
                h.error = 0;
                h.data_size = 4096;
            });
            p.extend(rng.bytes(4096));
            vec![proto::encode_reply(port, seq, &p)]
        }
        Mode::UnknownSeq => {
            let other = seq.wrapping_add(1_000_003);
            let mut p = reply.to_vec();
            p[148..152].copy_from_slice(&other.to_ne_bytes());
            vec![proto::encode_reply(port, other, &p)]
        }
        Mode::Flood => (0..FLOOD_LEN)
            .map(|_| {
                let mut other = rng.next_u32();
                if other == seq {
                    other = other.wrapping_add(1);
                }
                let size = rng.below(513) as usize;
                let mut p = with_header(&req.header, |h| {
                    h.seq = other;
                    h.error = 0;
                    h.data_size = size as u32;
                });
                p.extend(rng.bytes(size));
                proto::encode_reply(port, other, &p)
            })
            .collect(),
    }
}

/// The request types cmirrord answers from the cluster, with log id 0
/// (everything but what `do_local_work` answers itself).
const CLUSTER_ROUTED: [RequestType; 8] = [
    RequestType::IsClean,
    RequestType::Flush,
    RequestType::MarkRegion,
    RequestType::GetResyncWork,
    RequestType::SetRegionSync,
    RequestType::IsRemoteRecovering,
    RequestType::Resume,
    RequestType::Postsuspend,
];

/// The reply `mode` sends in place of the correct `reply` to `req`.
pub fn rewrite(mode: Mode, req: &Request, mut reply: Vec<u8>) -> Vec<u8> {
    let ty = RequestType::from_raw(req.header.request_type);
    match mode {
        Mode::LuidZero if ty.is_some_and(|t| CLUSTER_ROUTED.contains(&t)) => {
            reply[0..8].fill(0);
            reply
        }
        Mode::Enospc if ty == Some(RequestType::GetSyncCount) => with_header(&req.header, |h| {
            h.error = -libc::ENOSPC;
            h.data_size = 4000;
        }),
        _ => reply,
    }
}

/// A [`BeforeReply`] hook that sends the injections of a mode before the
/// first `limit` replies.
pub struct Injector {
    /// The mode.
    pub mode: Mode,
    /// Requests still to be preceded by an injection (`None` = all).
    pub limit: Option<u64>,
    /// Requests seen.
    pub requests: u64,
    /// Hostile messages sent.
    pub sent: u64,
    /// Hostile messages the kernel refused.
    pub refused: u64,
    rng: Rng,
}

impl Injector {
    /// An injector for `mode` before the first `limit` replies.
    pub fn new(mode: Mode, limit: Option<u64>, seed: u64) -> Self {
        Injector {
            mode,
            limit,
            requests: 0,
            sent: 0,
            refused: 0,
            rng: Rng::new(seed),
        }
    }
}

impl BeforeReply for Injector {
    fn before_reply(&mut self, sock: &NetlinkSocket, req: &Request, reply: &[u8]) -> u64 {
        self.requests += 1;
        if self.limit.is_some_and(|l| self.requests > l) {
            return 0;
        }
        let mut n = 0;
        for m in injections(self.mode, sock.port(), req, reply, &mut self.rng) {
            match sock.send_to_kernel(&m) {
                Ok(()) => n += 1,
                Err(_) => self.refused += 1,
            }
        }
        self.sent += n;
        n
    }

    fn rewrite(&mut self, req: &Request, reply: Vec<u8>) -> Vec<u8> {
        rewrite(self.mode, req, reply)
    }
}

/// The `garbage` message set: `count` hostile messages for the kernel.
pub fn garbage_messages(count: usize, seed: u64, port: u32) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|i| {
            let seq = rng.next_u32();
            match i % 8 {
                // Random bytes of random length, netlink framing included.
                0 => {
                    let n = rng.below(2001) as usize;
                    rng.bytes(n)
                }
                // Valid framing, random payload (cn len truthful).
                1 => {
                    let n = rng.below(2001 - PAYLOAD_OFFSET as u64) as usize;
                    let p = rng.bytes(n);
                    proto::encode_message(port, CnMsg::dm(seq, rng.next_u32(), n as u16), &p)
                }
                // cn_msg.len = 0: the acknowledgement path, random ack.
                2 => proto::encode_message(port, CnMsg::dm(seq, rng.next_u32(), 0), &[]),
                // Truncated request header.
                3 => {
                    let n = rng.range(1, HEADER_LEN as u64 - 1) as usize;
                    let p = rng.bytes(n);
                    proto::encode_message(port, CnMsg::dm(seq, 0, n as u16), &p)
                }
                // Full header, version 2.
                4 => {
                    let mut h = RequestHeader::new(
                        "garbage",
                        rng.next_u64(),
                        seq,
                        proto::RequestType::GetSyncCount,
                        8,
                    );
                    h.version = 2;
                    let mut p = Vec::new();
                    h.encode_into(&mut p);
                    p.extend(rng.bytes(8));
                    proto::encode_reply(port, seq, &p)
                }
                // data_size larger than the bytes that follow.
                5 => {
                    let h =
                        RequestHeader::new("garbage", 0, seq, proto::RequestType::GetSyncCount, 64);
                    let mut p = Vec::new();
                    h.encode_into(&mut p);
                    let n = rng.below(64) as usize;
                    p.extend(rng.bytes(n));
                    proto::encode_reply(port, seq, &p)
                }
                // data_size = 100000.
                6 => {
                    let h = RequestHeader::new(
                        "garbage",
                        0,
                        seq,
                        proto::RequestType::StatusInfo,
                        100_000,
                    );
                    let mut p = Vec::new();
                    h.encode_into(&mut p);
                    p.extend(rng.bytes(16));
                    proto::encode_reply(port, seq, &p)
                }
                // Well-formed reply with a random seq and random data.
                _ => {
                    let size = rng.below(333) as usize;
                    let h = RequestHeader::new(
                        "garbage",
                        rng.next_u64(),
                        seq,
                        proto::RequestType::Flush,
                        size as u32,
                    );
                    let mut p = Vec::new();
                    h.encode_into(&mut p);
                    p.extend(rng.bytes(size));
                    proto::encode_reply(port, seq, &p)
                }
            }
        })
        .collect()
}

/// The `unprivileged-send` set: `count` messages of a truncated 20-byte
/// payload each.
pub fn unprivileged_messages(count: usize, seed: u64, port: u32) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            let p = rng.bytes(20);
            proto::encode_message(port, CnMsg::dm(rng.next_u32(), 0, 20), &p)
        })
        .collect()
}

/// Counts of a send campaign.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendStats {
    /// Messages accepted by `sendto`.
    pub sent: u64,
    /// Refused with `EPERM`/`EACCES`.
    pub refused: u64,
    /// Failed otherwise.
    pub failed: u64,
    /// The first error other than a refusal.
    pub first_error: Option<i32>,
}

/// Sends every message to the kernel, counting outcomes.
pub fn send_all(sock: &NetlinkSocket, msgs: &[Vec<u8>]) -> SendStats {
    let mut s = SendStats::default();
    for m in msgs {
        match sock.send_to_kernel(m) {
            Ok(()) => s.sent += 1,
            Err(e) => match e.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => s.refused += 1,
                other => {
                    s.failed += 1;
                    s.first_error.get_or_insert(other.unwrap_or(libc::EIO));
                }
            },
        }
    }
    s
}

/// Opens a socket for sending only (works for any user).
pub fn open_sender() -> io::Result<NetlinkSocket> {
    NetlinkSocket::open(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dm_logd::proto::{parse_datagram, Incoming, RequestType};
    use dm_logd::server::Server;

    fn sample() -> (Request, Vec<u8>) {
        let mut s = Server::new();
        let ctr = Request::new("u-hostile", 9, 1, RequestType::Ctr, b"1000 core 8");
        s.handle(&ctr);
        let req = Request::new("u-hostile", 9, 500, RequestType::GetResyncWork, &[]);
        let reply = s.reply_to(&req);
        (req, reply)
    }

    #[test]
    fn modes_parse() {
        for (n, m) in MODES {
            assert_eq!(Mode::parse(n), Some(m));
            assert_eq!(m.name(), n);
        }
        assert_eq!(Mode::parse("bogus"), None);
    }

    #[test]
    fn injections_are_what_they_claim() {
        let (req, reply) = sample();
        let mut rng = Rng::new(3);
        assert!(injections(Mode::None, 1, &req, &reply, &mut rng).is_empty());
        for _ in 0..50 {
            let t = injections(Mode::Truncated, 1, &req, &reply, &mut rng);
            assert!(matches!(parse_datagram(&t[0])[0], Incoming::Dropped(_)));
        }
        let b = injections(Mode::BadVersion, 1, &req, &reply, &mut rng);
        match &parse_datagram(&b[0])[0] {
            Incoming::Request(r) => {
                assert_eq!(r.header.version, 2);
                assert_eq!(r.header.seq, 500);
                assert_eq!(r.data.len(), 16);
            }
            o => panic!("{o:?}"),
        }
        let s = injections(Mode::ShortData, 1, &req, &reply, &mut rng);
        match &parse_datagram(&s[0])[0] {
            Incoming::Malformed { header, .. } => assert_eq!(header.seq, 500),
            o => panic!("{o:?}"),
        }
        let t = injections(Mode::TooBig, 1, &req, &reply, &mut rng);
        assert_eq!(t[0].len(), PAYLOAD_OFFSET + 160 + 4096);
        match &parse_datagram(&t[0])[0] {
            Incoming::Request(r) => assert_eq!(r.data.len(), 4096),
            o => panic!("{o:?}"),
        }
        let u = injections(Mode::UnknownSeq, 1, &req, &reply, &mut rng);
        match &parse_datagram(&u[0])[0] {
            Incoming::Request(r) => {
                assert_eq!(r.header.seq, 500 + 1_000_003);
                assert_eq!(r.data, reply[160..]);
            }
            o => panic!("{o:?}"),
        }
        let f = injections(Mode::Flood, 1, &req, &reply, &mut rng);
        assert_eq!(f.len(), FLOOD_LEN);
        for m in &f {
            match &parse_datagram(m)[0] {
                Incoming::Request(r) => assert_ne!(r.header.seq, 500),
                o => panic!("{o:?}"),
            }
        }
    }

    #[test]
    fn rewrites_imitate_cmirrord() {
        let (req, reply) = sample();
        let z = rewrite(Mode::LuidZero, &req, reply.clone());
        assert_eq!(
            &z[0..8],
            &[0; 8],
            "GET_RESYNC_WORK goes through the cluster"
        );
        assert_eq!(z[8..], reply[8..]);
        let local = Request::new("u-hostile", 9, 501, RequestType::GetRegionSize, &[]);
        assert_eq!(rewrite(Mode::LuidZero, &local, reply.clone()), reply);
        let count = Request::new("u-hostile", 9, 502, RequestType::GetSyncCount, &[]);
        let e = rewrite(Mode::Enospc, &count, reply.clone());
        assert_eq!(e.len(), HEADER_LEN, "header only");
        let h = RequestHeader::decode(&e).unwrap();
        assert_eq!((h.error, h.data_size, h.seq), (-libc::ENOSPC, 4000, 502));
        assert_eq!(rewrite(Mode::Enospc, &req, reply.clone()), reply);
    }

    #[test]
    fn garbage_set() {
        let a = garbage_messages(200, 5, 77);
        assert_eq!(a, garbage_messages(200, 5, 77), "deterministic per seed");
        assert_eq!(a.len(), 200);
        assert!(a.iter().all(|m| m.len() <= 2000));
        // Every kind is present: unanswerable, malformed, version 2.
        let parsed: Vec<Incoming> = a.iter().flat_map(|m| parse_datagram(m)).collect();
        assert!(parsed.iter().any(|i| matches!(i, Incoming::Dropped(_))));
        assert!(parsed
            .iter()
            .any(|i| matches!(i, Incoming::Malformed { .. })));
        assert!(parsed
            .iter()
            .any(|i| matches!(i, Incoming::Request(r) if r.header.version == 2)));
        assert!(a.iter().any(|m| m.len() == PAYLOAD_OFFSET), "cn len 0");
        let u = unprivileged_messages(10, 1, 77);
        assert_eq!(u.len(), 10);
        for m in &u {
            assert_eq!(m.len(), PAYLOAD_OFFSET + 20);
            assert!(matches!(parse_datagram(m)[0], Incoming::Dropped(_)));
        }
    }
}
