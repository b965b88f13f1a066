// SPDX-License-Identifier: GPL-2.0

//! The `dm-log-userspace` wire format over the netlink connector.
//!
//! A message is a netlink header (`struct nlmsghdr`, 16 bytes), a connector
//! header (`struct cn_msg`, 20 bytes) and a payload. For the dirty log the
//! payload is a `struct dm_ulog_request` (160 bytes, host endian) followed by
//! `data_size` bytes of request or reply data:
//!
//! | offset | field |
//! |---|---|
//! | 0 | `u64 luid` |
//! | 8 | `char uuid[129]` |
//! | 137 | `char padding[3]` |
//! | 140 | `u32 version` (3) |
//! | 144 | `s32 error` |
//! | 148 | `u32 seq` |
//! | 152 | `u32 request_type` (low 8 bits) |
//! | 156 | `u32 data_size` |
//! | 160 | `data[]` |
//!
//! Everything received is treated as hostile: [`parse_datagram`] checks every
//! length before it reads, and never panics.

use std::fmt;

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Size of `struct cn_msg`.
pub const CN_MSG_LEN: usize = 20;
/// Size of `struct dm_ulog_request` without its data.
pub const REQ_HDR_LEN: usize = 160;
/// Offset of the `dm_ulog_request` in a whole message.
pub const PAYLOAD_OFFSET: usize = NLMSG_HDRLEN + CN_MSG_LEN;
/// `CN_IDX_DM`: the connector index (and multicast group) of device-mapper.
pub const CN_IDX_DM: u32 = 7;
/// `CN_VAL_DM_USERSPACE_LOG`.
pub const CN_VAL_DM_USERSPACE_LOG: u32 = 1;
/// `DM_ULOG_REQUEST_VERSION`.
pub const DM_ULOG_REQUEST_VERSION: u32 = 3;
/// Size of the `uuid` field (`DM_UUID_LEN`).
pub const UUID_LEN: usize = 129;
/// Largest request payload the kernel can send: its 512-byte preallocated
/// buffer minus `cn_msg` and the request header.
pub const MAX_KERNEL_DATA: usize = 512 - CN_MSG_LEN - REQ_HDR_LEN;
/// `CONNECTOR_MAX_MSG_SIZE`: the kernel drops larger connector messages.
pub const CONNECTOR_MAX_MSG_SIZE: usize = 16384;
/// Capacity of the kernel's reply buffer for the constructor (`DM_NAME_LEN`).
pub const CTR_REPLY_MAX: usize = 128;

/// `NLMSG_NOOP`.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the type connector users put on their messages.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`.
pub const NLMSG_OVERRUN: u16 = 4;

/// The request types of `dm-log-userspace.h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[allow(missing_docs)]
pub enum RequestType {
    Ctr = 1,
    Dtr = 2,
    Presuspend = 3,
    Postsuspend = 4,
    Resume = 5,
    GetRegionSize = 6,
    IsClean = 7,
    InSync = 8,
    Flush = 9,
    MarkRegion = 10,
    ClearRegion = 11,
    GetResyncWork = 12,
    SetRegionSync = 13,
    GetSyncCount = 14,
    StatusInfo = 15,
    StatusTable = 16,
    IsRemoteRecovering = 17,
}

/// Every request type, in numeric order.
pub const ALL_TYPES: [RequestType; 17] = [
    RequestType::Ctr,
    RequestType::Dtr,
    RequestType::Presuspend,
    RequestType::Postsuspend,
    RequestType::Resume,
    RequestType::GetRegionSize,
    RequestType::IsClean,
    RequestType::InSync,
    RequestType::Flush,
    RequestType::MarkRegion,
    RequestType::ClearRegion,
    RequestType::GetResyncWork,
    RequestType::SetRegionSync,
    RequestType::GetSyncCount,
    RequestType::StatusInfo,
    RequestType::StatusTable,
    RequestType::IsRemoteRecovering,
];

/// What the payload of a request type must look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataRule {
    /// Exactly this many bytes.
    Exact(usize),
    /// Between the two bounds, inclusive.
    Between(usize, usize),
    /// An array of `u64` (a multiple of 8 bytes).
    Regions,
}

impl DataRule {
    /// Whether `len` payload bytes satisfy the rule.
    pub fn accepts(self, len: usize) -> bool {
        match self {
            DataRule::Exact(n) => len == n,
            DataRule::Between(lo, hi) => (lo..=hi).contains(&len),
            DataRule::Regions => len.is_multiple_of(8),
        }
    }
}

impl RequestType {
    /// The type of a raw `request_type` field (only its low 8 bits count).
    pub fn from_raw(raw: u32) -> Option<Self> {
        let code = raw & 0xFF;
        ALL_TYPES.get((code as usize).wrapping_sub(1)).copied()
    }

    /// The `DM_ULOG_*` name without the prefix.
    pub fn name(self) -> &'static str {
        match self {
            RequestType::Ctr => "CTR",
            RequestType::Dtr => "DTR",
            RequestType::Presuspend => "PRESUSPEND",
            RequestType::Postsuspend => "POSTSUSPEND",
            RequestType::Resume => "RESUME",
            RequestType::GetRegionSize => "GET_REGION_SIZE",
            RequestType::IsClean => "IS_CLEAN",
            RequestType::InSync => "IN_SYNC",
            RequestType::Flush => "FLUSH",
            RequestType::MarkRegion => "MARK_REGION",
            RequestType::ClearRegion => "CLEAR_REGION",
            RequestType::GetResyncWork => "GET_RESYNC_WORK",
            RequestType::SetRegionSync => "SET_REGION_SYNC",
            RequestType::GetSyncCount => "GET_SYNC_COUNT",
            RequestType::StatusInfo => "STATUS_INFO",
            RequestType::StatusTable => "STATUS_TABLE",
            RequestType::IsRemoteRecovering => "IS_REMOTE_RECOVERING",
        }
    }

    /// The payload rule of requests of this type. DTR may carry the
    /// constructor string (the header says so, the kernel sends none).
    pub fn data_rule(self) -> DataRule {
        match self {
            RequestType::Ctr => DataRule::Between(1, MAX_KERNEL_DATA),
            RequestType::Dtr => DataRule::Between(0, MAX_KERNEL_DATA),
            RequestType::IsClean | RequestType::InSync | RequestType::IsRemoteRecovering => {
                DataRule::Exact(8)
            }
            RequestType::SetRegionSync => DataRule::Exact(16),
            RequestType::Flush | RequestType::MarkRegion | RequestType::ClearRegion => {
                DataRule::Regions
            }
            RequestType::Presuspend
            | RequestType::Postsuspend
            | RequestType::Resume
            | RequestType::GetRegionSize
            | RequestType::GetResyncWork
            | RequestType::GetSyncCount
            | RequestType::StatusInfo
            | RequestType::StatusTable => DataRule::Exact(0),
        }
    }
}

impl RequestType {
    /// The size of the fixed-size answer the kernel expects to a request of
    /// this type (0 for requests answered with no data or a string).
    pub fn answer_size(self) -> usize {
        match self {
            RequestType::GetRegionSize
            | RequestType::IsClean
            | RequestType::InSync
            | RequestType::GetSyncCount => 8,
            RequestType::GetResyncWork | RequestType::IsRemoteRecovering => 16,
            _ => 0,
        }
    }
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Reads a host-endian `u64` at `off` (caller checked the length).
pub fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_ne_bytes(w)
}

/// The 160-byte `struct dm_ulog_request` header.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// Local unique id of the log (a kernel pointer, opaque).
    pub luid: u64,
    /// The log's UUID, NUL padded.
    pub uuid: [u8; UUID_LEN],
    /// Protocol version, [`DM_ULOG_REQUEST_VERSION`].
    pub version: u32,
    /// Reply status: 0 or a negative errno.
    pub error: i32,
    /// Sequence number, echoed in the reply.
    pub seq: u32,
    /// Request type (low 8 bits count).
    pub request_type: u32,
    /// Number of data bytes following the header.
    pub data_size: u32,
}

impl fmt::Debug for RequestHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHeader")
            .field("luid", &self.luid)
            .field("uuid", &self.uuid_string())
            .field("version", &self.version)
            .field("error", &self.error)
            .field("seq", &self.seq)
            .field("request_type", &self.request_type)
            .field("data_size", &self.data_size)
            .finish()
    }
}

impl RequestHeader {
    /// A header for `uuid` (truncated to 128 bytes) of the current version.
    pub fn new(uuid: &str, luid: u64, seq: u32, ty: RequestType, data_size: u32) -> Self {
        let mut u = [0u8; UUID_LEN];
        let n = uuid.len().min(UUID_LEN - 1);
        u[..n].copy_from_slice(&uuid.as_bytes()[..n]);
        RequestHeader {
            luid,
            uuid: u,
            version: DM_ULOG_REQUEST_VERSION,
            error: 0,
            seq,
            request_type: ty as u32,
            data_size,
        }
    }

    /// Decodes the first 160 bytes of `b`; `None` if `b` is shorter.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < REQ_HDR_LEN {
            return None;
        }
        let mut uuid = [0u8; UUID_LEN];
        uuid.copy_from_slice(&b[8..8 + UUID_LEN]);
        Some(RequestHeader {
            luid: u64_at(b, 0),
            uuid,
            version: u32_at(b, 140),
            error: u32_at(b, 144) as i32,
            seq: u32_at(b, 148),
            request_type: u32_at(b, 152),
            data_size: u32_at(b, 156),
        })
    }

    /// Appends the 160-byte encoding (padding zeroed).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.luid.to_ne_bytes());
        out.extend_from_slice(&self.uuid);
        out.extend_from_slice(&[0u8; 3]);
        out.extend_from_slice(&self.version.to_ne_bytes());
        out.extend_from_slice(&self.error.to_ne_bytes());
        out.extend_from_slice(&self.seq.to_ne_bytes());
        out.extend_from_slice(&self.request_type.to_ne_bytes());
        out.extend_from_slice(&self.data_size.to_ne_bytes());
    }

    /// The UUID up to its first NUL, with invalid UTF-8 replaced.
    pub fn uuid_string(&self) -> String {
        let end = self.uuid.iter().position(|&c| c == 0).unwrap_or(UUID_LEN);
        String::from_utf8_lossy(&self.uuid[..end]).into_owned()
    }

    /// The request type, if known.
    pub fn kind(&self) -> Option<RequestType> {
        RequestType::from_raw(self.request_type)
    }
}

/// A well-framed request: its header and exactly `data_size` data bytes.
/// The version, type and payload size are checked by the server, which
/// replies `-EINVAL` to bad ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The request header.
    pub header: RequestHeader,
    /// The request data.
    pub data: Vec<u8>,
}

impl Request {
    /// A request of the current version (for tests and tools).
    pub fn new(uuid: &str, luid: u64, seq: u32, ty: RequestType, data: &[u8]) -> Self {
        Request {
            header: RequestHeader::new(uuid, luid, seq, ty, data.len() as u32),
            data: data.to_vec(),
        }
    }

    /// The `u64` at index `i` of the data (caller checked the size).
    pub fn u64_item(&self, i: usize) -> u64 {
        u64_at(&self.data, i * 8)
    }
}

/// One message found in a received datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A well-framed request, to be answered.
    Request(Request),
    /// A request whose header could be read but whose framing is wrong
    /// (`data_size` larger than what follows): answer `-EINVAL`.
    Malformed {
        /// The header, to echo.
        header: RequestHeader,
        /// What is wrong.
        reason: String,
    },
    /// Nothing that can be answered; logged and dropped.
    Dropped(String),
}

/// The fields of `struct cn_msg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CnMsg {
    /// `id.idx`.
    pub idx: u32,
    /// `id.val`.
    pub val: u32,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledge number.
    pub ack: u32,
    /// Payload length.
    pub len: u16,
    /// Flags.
    pub flags: u16,
}

impl CnMsg {
    /// A header for the device-mapper log connector.
    pub fn dm(seq: u32, ack: u32, len: u16) -> Self {
        CnMsg {
            idx: CN_IDX_DM,
            val: CN_VAL_DM_USERSPACE_LOG,
            seq,
            ack,
            len,
            flags: 0,
        }
    }
}

/// Splits a received datagram into its netlink messages and decodes each.
/// Never panics, whatever the bytes.
pub fn parse_datagram(buf: &[u8]) -> Vec<Incoming> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < buf.len() {
        let rest = &buf[off..];
        if rest.len() < NLMSG_HDRLEN {
            out.push(Incoming::Dropped(format!(
                "{} trailing bytes too short for a netlink header",
                rest.len()
            )));
            break;
        }
        let nl_len = u32_at(rest, 0) as usize;
        if nl_len < NLMSG_HDRLEN || nl_len > rest.len() {
            out.push(Incoming::Dropped(format!(
                "netlink length {nl_len} invalid ({} bytes left)",
                rest.len()
            )));
            break;
        }
        out.push(parse_message(&rest[..nl_len]));
        // NLMSG_ALIGN
        let step = (nl_len + 3) & !3;
        off = off.saturating_add(step);
    }
    out
}

/// Decodes one netlink message (`nlmsg_len` bytes exactly).
pub fn parse_message(msg: &[u8]) -> Incoming {
    if msg.len() < NLMSG_HDRLEN {
        return Incoming::Dropped(format!("message of {} bytes", msg.len()));
    }
    let nl_type = u16_at(msg, 4);
    if matches!(nl_type, NLMSG_NOOP | NLMSG_ERROR | NLMSG_OVERRUN) {
        return Incoming::Dropped(format!("netlink control message type {nl_type}"));
    }
    let body = &msg[NLMSG_HDRLEN..];
    if body.len() < CN_MSG_LEN {
        return Incoming::Dropped(format!("connector header truncated ({} bytes)", body.len()));
    }
    let (idx, val) = (u32_at(body, 0), u32_at(body, 4));
    if (idx, val) != (CN_IDX_DM, CN_VAL_DM_USERSPACE_LOG) {
        return Incoming::Dropped(format!("connector id {idx}:{val} is not ours"));
    }
    let cn_len = usize::from(u16_at(body, 16));
    let payload = &body[CN_MSG_LEN..];
    if cn_len > payload.len() {
        return Incoming::Dropped(format!(
            "connector length {cn_len} exceeds the {} bytes received",
            payload.len()
        ));
    }
    if cn_len > CONNECTOR_MAX_MSG_SIZE {
        return Incoming::Dropped(format!("connector length {cn_len} too large"));
    }
    let payload = &payload[..cn_len];
    let Some(header) = RequestHeader::decode(payload) else {
        return Incoming::Dropped(format!(
            "incomplete request: {cn_len} bytes, expected at least {REQ_HDR_LEN}"
        ));
    };
    let avail = cn_len - REQ_HDR_LEN;
    let data_size = header.data_size as usize;
    if data_size > avail {
        return Incoming::Malformed {
            reason: format!("data_size {data_size} but only {avail} data bytes"),
            header,
        };
    }
    let data = payload[REQ_HDR_LEN..REQ_HDR_LEN + data_size].to_vec();
    Incoming::Request(Request { header, data })
}

/// Encodes a whole message: netlink header (type [`NLMSG_DONE`], length
/// covering everything, port `pid`), the connector header `cn` as given (its
/// `len` may lie, for hostile tests) and `payload`.
pub fn encode_message(pid: u32, cn: CnMsg, payload: &[u8]) -> Vec<u8> {
    let total = PAYLOAD_OFFSET + payload.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_ne_bytes());
    out.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    out.extend_from_slice(&0u16.to_ne_bytes()); // flags
    out.extend_from_slice(&cn.seq.to_ne_bytes()); // nlmsg_seq
    out.extend_from_slice(&pid.to_ne_bytes());
    out.extend_from_slice(&cn.idx.to_ne_bytes());
    out.extend_from_slice(&cn.val.to_ne_bytes());
    out.extend_from_slice(&cn.seq.to_ne_bytes());
    out.extend_from_slice(&cn.ack.to_ne_bytes());
    out.extend_from_slice(&cn.len.to_ne_bytes());
    out.extend_from_slice(&cn.flags.to_ne_bytes());
    out.extend_from_slice(payload);
    out
}

/// The `dm_ulog_request` bytes of a reply: `header` echoed with `error`,
/// `data_size = data.len()`, then `data`.
pub fn reply_payload(header: &RequestHeader, error: i32, data: &[u8]) -> Vec<u8> {
    let mut h = header.clone();
    h.error = error;
    h.data_size = data.len() as u32;
    let mut out = Vec::with_capacity(REQ_HDR_LEN + data.len());
    h.encode_into(&mut out);
    out.extend_from_slice(data);
    out
}

/// A whole, well-formed message carrying `payload` (a `dm_ulog_request`)
/// with connector sequence `seq`, as the daemon sends its replies.
pub fn encode_reply(pid: u32, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    encode_message(pid, CnMsg::dm(seq, 0, len), payload)
}

/// A whole request message as the kernel sends it (for tests).
pub fn encode_request(req: &Request) -> Vec<u8> {
    let mut p = Vec::new();
    req.header.encode_into(&mut p);
    p.extend_from_slice(&req.data);
    encode_reply(0, req.header.seq, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Request {
        Request::new(
            "LVM-abcdef",
            0xffff_8880_1234_5678,
            42,
            RequestType::MarkRegion,
            &[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0],
        )
    }

    #[test]
    fn header_layout() {
        let req = sample();
        let msg = encode_request(&req);
        assert_eq!(msg.len(), 16 + 20 + 160 + 16);
        assert_eq!(u32_at(&msg, 0) as usize, msg.len());
        assert_eq!(u16_at(&msg, 4), NLMSG_DONE);
        let cn = &msg[16..];
        assert_eq!(u32_at(cn, 0), 7);
        assert_eq!(u32_at(cn, 4), 1);
        assert_eq!(u32_at(cn, 8), 42);
        assert_eq!(u16_at(cn, 16), 176);
        let p = &msg[36..];
        assert_eq!(u64_at(p, 0), 0xffff_8880_1234_5678);
        assert_eq!(&p[8..18], b"LVM-abcdef");
        assert_eq!(p[18], 0);
        assert_eq!(u32_at(p, 140), 3);
        assert_eq!(u32_at(p, 148), 42);
        assert_eq!(u32_at(p, 152), 10);
        assert_eq!(u32_at(p, 156), 16);
        assert_eq!(u64_at(p, 168), 2);
    }

    #[test]
    fn round_trip() {
        let req = sample();
        let got = parse_datagram(&encode_request(&req));
        assert_eq!(got, vec![Incoming::Request(req)]);
    }

    #[test]
    fn two_messages_in_one_datagram() {
        let mut a = encode_request(&sample());
        while !a.len().is_multiple_of(4) {
            a.push(0);
        }
        let b = encode_request(&Request::new("u", 1, 2, RequestType::Resume, &[]));
        a.extend_from_slice(&b);
        let got = parse_datagram(&a);
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|m| matches!(m, Incoming::Request(_))));
    }

    #[test]
    fn truncated_messages_are_dropped() {
        let full = encode_request(&sample());
        for n in 0..full.len() {
            // Fix nlmsg_len and cn len to the truncated size, as a lying but
            // self-consistent sender would.
            let mut m = full[..n].to_vec();
            if n >= 4 {
                m[0..4].copy_from_slice(&(n as u32).to_ne_bytes());
            }
            if n >= 36 {
                m[32..34].copy_from_slice(&((n - 36) as u16).to_ne_bytes());
            }
            for inc in parse_datagram(&m) {
                match inc {
                    Incoming::Request(_) => panic!("accepted a {n}-byte truncation"),
                    Incoming::Malformed { .. } => assert!(n >= 196),
                    Incoming::Dropped(_) => {}
                }
            }
            // And the raw cut, lengths not fixed.
            for inc in parse_datagram(&full[..n]) {
                assert!(matches!(inc, Incoming::Dropped(_)), "{n}");
            }
        }
    }

    #[test]
    fn cn_len_larger_than_message() {
        let mut m = encode_request(&sample());
        m[32..34].copy_from_slice(&1000u16.to_ne_bytes());
        assert!(matches!(parse_datagram(&m)[0], Incoming::Dropped(_)));
        // cn len below the request header.
        m[32..34].copy_from_slice(&20u16.to_ne_bytes());
        assert!(matches!(parse_datagram(&m)[0], Incoming::Dropped(_)));
    }

    #[test]
    fn data_size_beyond_payload_is_malformed() {
        let mut req = sample();
        req.header.data_size = 100_000;
        let mut p = Vec::new();
        req.header.encode_into(&mut p);
        p.extend_from_slice(&req.data);
        let m = encode_reply(0, 42, &p);
        match &parse_datagram(&m)[0] {
            Incoming::Malformed { header, .. } => assert_eq!(header.seq, 42),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn foreign_connector_ids_and_control_messages() {
        let mut m = encode_request(&sample());
        m[16..20].copy_from_slice(&1u32.to_ne_bytes());
        assert!(matches!(parse_datagram(&m)[0], Incoming::Dropped(_)));
        let mut m = encode_request(&sample());
        m[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        assert!(matches!(parse_datagram(&m)[0], Incoming::Dropped(_)));
    }

    #[test]
    fn nlmsg_len_lies() {
        let mut m = encode_request(&sample());
        m[0..4].copy_from_slice(&5000u32.to_ne_bytes());
        assert!(matches!(parse_datagram(&m)[0], Incoming::Dropped(_)));
        m[0..4].copy_from_slice(&3u32.to_ne_bytes());
        assert!(matches!(parse_datagram(&m)[0], Incoming::Dropped(_)));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = crate::rng::Rng::new(1);
        for _ in 0..5000 {
            let n = rng.below(600) as usize;
            let mut b = rng.bytes(n);
            if n >= 36 && rng.below(2) == 0 {
                b[0..4].copy_from_slice(&(n as u32).to_ne_bytes());
                b[16..20].copy_from_slice(&7u32.to_ne_bytes());
                b[20..24].copy_from_slice(&1u32.to_ne_bytes());
            }
            let _ = parse_datagram(&b);
        }
    }

    #[test]
    fn request_types() {
        assert_eq!(RequestType::from_raw(1), Some(RequestType::Ctr));
        assert_eq!(
            RequestType::from_raw(17),
            Some(RequestType::IsRemoteRecovering)
        );
        assert_eq!(
            RequestType::from_raw(0x1_0000 | 9),
            Some(RequestType::Flush)
        );
        assert_eq!(RequestType::from_raw(0), None);
        assert_eq!(RequestType::from_raw(18), None);
        assert_eq!(RequestType::from_raw(255), None);
        for (i, t) in ALL_TYPES.iter().enumerate() {
            assert_eq!(*t as u32, i as u32 + 1);
        }
    }

    #[test]
    fn reply_echoes_header() {
        let req = sample();
        let p = reply_payload(&req.header, -22, &[9; 8]);
        let h = RequestHeader::decode(&p).unwrap();
        assert_eq!(h.error, -22);
        assert_eq!(h.data_size, 8);
        assert_eq!(h.seq, 42);
        assert_eq!(h.luid, req.header.luid);
        assert_eq!(h.uuid, req.header.uuid);
        assert_eq!(&p[160..], &[9; 8]);
    }
}
