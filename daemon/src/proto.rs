// SPDX-License-Identifier: GPL-2.0

//! The `dm-log-userspace` wire format over the netlink connector.
//!
//! A message is a netlink header (`struct nlmsghdr`, 16 bytes), a connector
//! header (`struct cn_msg`, 20 bytes) and a payload. For the dirty log the
//! payload is a `struct dm_ulog_request` followed by `data_size` bytes of
//! request or reply data: [`dm_log_shared::ulog`], the format the kernel
//! module uses too.
//!
//! Everything received is treated as hostile: [`parse_datagram`] checks every
//! length before it reads, and never panics.

use std::fmt;

use dm_log_shared::ulog::{self, Header};
pub use dm_log_shared::ulog::{
    u64_at, RequestType, CN_IDX_DM, CN_MSG_LEN, CN_VAL_DM_USERSPACE_LOG, DEVICE_NAME_MAX,
    HEADER_LEN, MAX_KERNEL_DATA, UUID_LEN,
};

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Offset of the `dm_ulog_request` in a whole message.
pub const PAYLOAD_OFFSET: usize = NLMSG_HDRLEN + CN_MSG_LEN;
/// `CONNECTOR_MAX_MSG_SIZE`: the kernel drops larger connector messages.
pub const CONNECTOR_MAX_MSG_SIZE: usize = 16384;

/// `NLMSG_NOOP`.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the type connector users put on their messages.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`.
pub const NLMSG_OVERRUN: u16 = 4;

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

/// The payload rule of requests of type `t`. DTR may carry the
/// constructor string (the header says so, the kernel sends none).
pub fn data_rule(t: RequestType) -> DataRule {
    match t {
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

/// The size of the fixed-size answer the kernel expects to a request of
/// type `t` (0 for requests answered with no data or a string).
pub fn answer_size(t: RequestType) -> usize {
    match t {
        RequestType::GetRegionSize
        | RequestType::IsClean
        | RequestType::InSync
        | RequestType::GetSyncCount => 8,
        RequestType::GetResyncWork | RequestType::IsRemoteRecovering => 16,
        _ => 0,
    }
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// The 160-byte `struct dm_ulog_request` header.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// Local unique id of the log (a kernel pointer, opaque).
    pub luid: u64,
    /// The log's UUID, NUL padded.
    pub uuid: [u8; UUID_LEN],
    /// Protocol version, [`ulog::VERSION`].
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
        let n = uuid.len().min(ulog::UUID_MAX);
        u[..n].copy_from_slice(&uuid.as_bytes()[..n]);
        RequestHeader::from_parts(Header::request(luid, seq, ty, data_size), u)
    }

    fn from_parts(h: Header, uuid: [u8; UUID_LEN]) -> Self {
        RequestHeader {
            luid: h.luid,
            uuid,
            version: h.version,
            error: h.error,
            seq: h.seq,
            request_type: h.request_type,
            data_size: h.data_size,
        }
    }

    /// Decodes the first 160 bytes of `b`; `None` if `b` is shorter.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let h = Header::decode(b)?;
        let mut uuid = [0u8; UUID_LEN];
        uuid.copy_from_slice(&b[ulog::field::UUID]);
        Some(RequestHeader::from_parts(h, uuid))
    }

    /// Appends the 160-byte encoding (padding zeroed). The UUID field goes
    /// out as held, all 129 bytes (a test may leave out the NUL).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let at = out.len();
        out.resize(at + HEADER_LEN, 0);
        let h = Header {
            luid: self.luid,
            version: self.version,
            error: self.error,
            seq: self.seq,
            request_type: self.request_type,
            data_size: self.data_size,
        };
        h.encode(&[], &mut out[at..]);
        out[at + ulog::field::UUID.start..at + ulog::field::UUID.end].copy_from_slice(&self.uuid);
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
        u64_at(&self.data, i * 8).unwrap_or(0)
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
            "incomplete request: {cn_len} bytes, expected at least {HEADER_LEN}"
        ));
    };
    let avail = cn_len - HEADER_LEN;
    let data_size = header.data_size as usize;
    if data_size > avail {
        return Incoming::Malformed {
            reason: format!("data_size {data_size} but only {avail} data bytes"),
            header,
        };
    }
    let data = payload[HEADER_LEN..HEADER_LEN + data_size].to_vec();
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
    let mut out = Vec::with_capacity(HEADER_LEN + data.len());
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
        assert_eq!(u64_at(p, 0), Some(0xffff_8880_1234_5678));
        assert_eq!(&p[8..18], b"LVM-abcdef");
        assert_eq!(p[18], 0);
        assert_eq!(u32_at(p, 140), 3);
        assert_eq!(u32_at(p, 148), 42);
        assert_eq!(u32_at(p, 152), 10);
        assert_eq!(u32_at(p, 156), 16);
        assert_eq!(u64_at(p, 168), Some(2));
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
        // xorshift64*: enough randomness for a no-panic check.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        for _ in 0..5000 {
            let n = (next() % 600) as usize;
            let mut b: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            if n >= 36 && next() % 2 == 0 {
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
        for (i, t) in RequestType::ALL.iter().enumerate() {
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
