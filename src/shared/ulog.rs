// SPDX-License-Identifier: GPL-2.0

//! The userspace log protocol's wire format: `struct dm_ulog_request` of
//! `include/uapi/linux/dm-log-userspace.h`, and what each request carries.
//!
//! Every message, in both directions, is a connector message on
//! `CN_IDX_DM`/`CN_VAL_DM_USERSPACE_LOG` whose payload is a 160-byte header
//! in host byte order followed by `data_size` bytes of data:
//!
//! | offset | field |
//! |---|---|
//! | 0 | `u64 luid`: the log instance ([`field::LUID`]) |
//! | 8 | `char uuid[129]`: the log's UUID, NUL-terminated ([`field::UUID`]) |
//! | 137 | 3 bytes of padding |
//! | 140 | `u32 version` ([`VERSION`]) |
//! | 144 | `s32 error`: 0 or a negative errno (replies) |
//! | 148 | `u32 seq`: matches a reply to its request |
//! | 152 | `u32 request_type` ([`RequestType`], low 8 bits) |
//! | 156 | `u32 data_size` |
//! | 160 | data |
//!
//! The kernel module checks these offsets against the C structure at build
//! time (bindgen); the daemon and the host tests use the same constants.
//!
//! # Examples
//!
//! ```
//! use dm_log_shared::ulog::{Header, RequestType, HEADER_LEN};
//!
//! let mut msg = [0u8; HEADER_LEN];
//! let h = Header::request(7, 42, RequestType::Flush, 16);
//! h.encode(b"LVM-abc", &mut msg);
//! let back = Header::decode(&msg).unwrap();
//! assert_eq!(back, h);
//! assert_eq!(back.kind(), Some(RequestType::Flush));
//! assert_eq!(Header::uuid(&msg), b"LVM-abc");
//! ```

use core::{fmt, ops::RangeInclusive};

/// The connector index of device-mapper (`CN_IDX_DM`).
pub const CN_IDX_DM: u32 = 7;
/// The connector value of the userspace log (`CN_VAL_DM_USERSPACE_LOG`).
pub const CN_VAL_DM_USERSPACE_LOG: u32 = 1;
/// Size of the connector header (`struct cn_msg`) before the request.
pub const CN_MSG_LEN: usize = 20;

/// The protocol version (`DM_ULOG_REQUEST_VERSION`).
pub const VERSION: u32 = 3;
/// Size of the request header (`sizeof(struct dm_ulog_request)`).
pub const HEADER_LEN: usize = 160;
/// Size of the `uuid` field (`DM_UUID_LEN`).
pub const UUID_LEN: usize = 129;
/// Longest UUID, without its NUL.
pub const UUID_MAX: usize = UUID_LEN - 1;
/// The largest request data the kernel sends: it builds requests in a
/// 512-byte buffer holding both headers, and servers size theirs the same.
pub const MAX_KERNEL_DATA: usize = 512 - CN_MSG_LEN - HEADER_LEN;
/// Regions per mark or clear request (256 bytes of data).
pub const REGIONS_PER_REQUEST: usize = 32;
/// Longest device name a server returns to a constructor (`DM_NAME_LEN`).
pub const DEVICE_NAME_MAX: usize = 128;

/// Byte ranges of the header's fields.
pub mod field {
    use core::ops::Range;

    /// `u64 luid`.
    pub const LUID: Range<usize> = 0..8;
    /// `char uuid[DM_UUID_LEN]`.
    pub const UUID: Range<usize> = 8..8 + super::UUID_LEN;
    /// `u32 version`.
    pub const VERSION: Range<usize> = 140..144;
    /// `s32 error`.
    pub const ERROR: Range<usize> = 144..148;
    /// `u32 seq`.
    pub const SEQ: Range<usize> = 148..152;
    /// `u32 request_type`.
    pub const REQUEST_TYPE: Range<usize> = 152..156;
    /// `u32 data_size`.
    pub const DATA_SIZE: Range<usize> = 156..160;
}

/// The request types (`DM_ULOG_*`).
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

impl RequestType {
    /// Every request type, in numeric order.
    pub const ALL: [RequestType; 17] = [
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

    /// The type of a raw `request_type` field (only its low 8 bits count:
    /// the upper ones are free for a server's own use).
    pub fn from_raw(raw: u32) -> Option<Self> {
        let code = raw & 0xFF;
        Self::ALL.get((code as usize).wrapping_sub(1)).copied()
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
}

/// The fixed fields of a message's header (the UUID is read and written
/// apart: [`Header::uuid`], [`Header::encode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The log instance: an id the kernel picks, opaque to servers.
    pub luid: u64,
    /// Protocol version, [`VERSION`].
    pub version: u32,
    /// 0, or a negative errno in a reply.
    pub error: i32,
    /// Sequence number; a reply echoes its request's.
    pub seq: u32,
    /// Raw request type ([`Header::kind`]).
    pub request_type: u32,
    /// Bytes of data after the header.
    pub data_size: u32,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_ne_bytes(w)
}

/// Reads the host-endian `u64` at `at` of `b`, if `b` is long enough.
pub fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(*b.get(at..)?.first_chunk()?))
}

impl Header {
    /// The header of a request of the current version.
    pub fn request(luid: u64, seq: u32, request_type: RequestType, data_size: u32) -> Header {
        Header {
            luid,
            version: VERSION,
            error: 0,
            seq,
            request_type: request_type as u32,
            data_size,
        }
    }

    /// Decodes the header at the start of `msg`, if `msg` holds one.
    pub fn decode(msg: &[u8]) -> Option<Header> {
        if msg.len() < HEADER_LEN {
            return None;
        }
        Some(Header {
            luid: u64_at(msg, field::LUID.start)?,
            version: u32_at(msg, field::VERSION.start),
            // CAST: the field is an `s32` on the wire.
            error: u32_at(msg, field::ERROR.start) as i32,
            seq: u32_at(msg, field::SEQ.start),
            request_type: u32_at(msg, field::REQUEST_TYPE.start),
            data_size: u32_at(msg, field::DATA_SIZE.start),
        })
    }

    /// The UUID of the header at the start of `msg`: its bytes up to the
    /// first NUL (all [`UUID_LEN`] if none); empty if `msg` is too short.
    pub fn uuid(msg: &[u8]) -> &[u8] {
        let Some(raw) = msg.get(field::UUID) else {
            return &[];
        };
        let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
        &raw[..end]
    }

    /// Encodes the header with `uuid` (cut to [`UUID_MAX`] bytes, NUL
    /// padded) into the first [`HEADER_LEN`] bytes of `out`, padding zeroed.
    ///
    /// # Panics
    ///
    /// If `out` is shorter than [`HEADER_LEN`].
    pub fn encode(&self, uuid: &[u8], out: &mut [u8]) {
        let out = &mut out[..HEADER_LEN];
        out.fill(0);
        out[field::LUID].copy_from_slice(&self.luid.to_ne_bytes());
        let n = uuid.len().min(UUID_MAX);
        out[field::UUID.start..field::UUID.start + n].copy_from_slice(&uuid[..n]);
        out[field::VERSION].copy_from_slice(&self.version.to_ne_bytes());
        out[field::ERROR].copy_from_slice(&self.error.to_ne_bytes());
        out[field::SEQ].copy_from_slice(&self.seq.to_ne_bytes());
        out[field::REQUEST_TYPE].copy_from_slice(&self.request_type.to_ne_bytes());
        out[field::DATA_SIZE].copy_from_slice(&self.data_size.to_ne_bytes());
    }

    /// The request type, if known.
    pub fn kind(&self) -> Option<RequestType> {
        RequestType::from_raw(self.request_type)
    }
}

/// The largest errno a reply may carry (`MAX_ERRNO`).
pub const MAX_ERRNO: i32 = 4095;

/// What a request waiting for its reply expects of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The request's type.
    pub request_type: RequestType,
    /// The request's log id.
    pub luid: u64,
    /// How many bytes of data a successful reply may carry.
    pub data: RangeInclusive<usize>,
}

/// A valid reply: what its request completes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// An error (a negative errno): the reply's data is not read, whatever
    /// its size (cmirrord sends `-ENOSPC` with only the header).
    Failed(i32),
    /// Success, with this many bytes of data.
    Data(usize),
}

/// Why a reply matched to its request (by `seq`) is not valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Another protocol version.
    Version(u32),
    /// It answers another request type, or another log (log id 0 is
    /// cmirrord's wildcard and answers any).
    Mismatch {
        /// The reply's request type.
        request_type: u32,
        /// The reply's log id.
        luid: u64,
        /// The request's type.
        expected_type: RequestType,
        /// The request's log id.
        expected_luid: u64,
    },
    /// Its error is neither 0 nor a negative errno.
    BadErrno(i32),
    /// `data_size` says more than the message holds.
    Truncated {
        /// `data_size`.
        size: usize,
        /// The bytes after the header.
        available: usize,
    },
    /// A data size the request does not take.
    Size {
        /// `data_size`.
        size: usize,
        /// What the request takes.
        expect: RangeInclusive<usize>,
    },
}

impl Rejection {
    /// Whether the reply carried more data than the request takes (the C
    /// module fails such a request with `ENOSPC`, any other with `EIO`).
    pub fn too_much_data(&self) -> bool {
        matches!(self, Rejection::Size { size, expect } if size > expect.end())
    }
}

/// What is wrong, for the kernel log.
impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Version(v) => write!(f, "version {v}, expected {VERSION}"),
            Rejection::Mismatch {
                request_type,
                luid,
                expected_type,
                expected_luid,
            } => write!(
                f,
                "answers request type {request_type} of log {luid}, but it was type {} of log {expected_luid}",
                *expected_type as u32
            ),
            Rejection::BadErrno(e) => write!(f, "error {e} is not a negative errno"),
            Rejection::Truncated { size, available } => write!(
                f,
                "data size {size} but only {available} bytes follow the header"
            ),
            Rejection::Size { size, expect } => write!(
                f,
                "{size} bytes of reply data, expected {} to {}",
                expect.start(),
                expect.end()
            ),
        }
    }
}

/// Checks a reply with header `h` and `available` bytes after it against
/// the request it answers, in the order the kernel module checks: version,
/// request type and log id, error, then data size.
pub fn check_reply(
    expected: &Expected,
    h: &Header,
    available: usize,
) -> Result<Verdict, Rejection> {
    if h.version != VERSION {
        return Err(Rejection::Version(h.version));
    }
    if expected.request_type as u32 != h.request_type & 0xff
        || (h.luid != 0 && h.luid != expected.luid)
    {
        return Err(Rejection::Mismatch {
            request_type: h.request_type,
            luid: h.luid,
            expected_type: expected.request_type,
            expected_luid: expected.luid,
        });
    }
    if h.error > 0 || h.error < -MAX_ERRNO {
        return Err(Rejection::BadErrno(h.error));
    }
    if h.error != 0 {
        return Ok(Verdict::Failed(h.error));
    }
    // CAST: `u32` fits `usize` on every kernel target.
    let size = h.data_size as usize;
    if size > available {
        return Err(Rejection::Truncated { size, available });
    }
    if !expected.data.contains(&size) {
        return Err(Rejection::Size {
            size,
            expect: expected.data.clone(),
        });
    }
    Ok(Verdict::Data(size))
}

/// Encodes `regions` as the data of a mark, clear or flush request into
/// `buf`, returning the bytes used.
///
/// # Panics
///
/// If `buf` is shorter than 8 bytes a region.
pub fn encode_regions<'a>(regions: &[u64], buf: &'a mut [u8]) -> &'a [u8] {
    for (r, out) in regions.iter().zip(buf.chunks_exact_mut(8)) {
        out.copy_from_slice(&r.to_ne_bytes());
    }
    &buf[..regions.len() * 8]
}
