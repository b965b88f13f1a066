// SPDX-License-Identifier: GPL-2.0

//! The wire format of the userspace log protocol.
//!
//! UAPI header: [`include/uapi/linux/dm-log-userspace.h`](srctree/include/uapi/linux/dm-log-userspace.h)
//!
//! Every message, in both directions, is a connector message on
//! [`CN_ID`] whose payload is a 160-byte request header in host byte order
//! followed by `data_size` bytes of data:
//!
//! | offset | field |
//! |---|---|
//! | 0 | `u64 luid`: the log instance |
//! | 8 | `char uuid[129]`: the log's UUID, NUL-terminated |
//! | 137 | 3 bytes of padding |
//! | 140 | `u32 version` ([`VERSION`]) |
//! | 144 | `s32 error`: 0 or a negative errno (replies) |
//! | 148 | `u32 seq`: matches a reply to its request |
//! | 152 | `u32 request_type` ([`RequestType`], low 8 bits) |
//! | 156 | `u32 data_size` |
//! | 160 | data |

use crate::connector::{self, CbId};

/// The connector id of the userspace log service (`CN_IDX_DM`,
/// `CN_VAL_DM_USERSPACE_LOG`).
pub(crate) const CN_ID: CbId = CbId { idx: 0x7, val: 0x1 };

/// The protocol version this module speaks (`DM_ULOG_REQUEST_VERSION`).
pub(crate) const VERSION: u32 = 3;

/// Size of the request header.
pub(crate) const HEADER_LEN: usize = 160;

/// Longest UUID, without its NUL (`DM_UUID_LEN - 1`).
pub(crate) const UUID_MAX: usize = 128;

/// The largest request data: the C module sends from a 512-byte buffer
/// holding both headers, and servers may size their buffers the same way.
pub(crate) const MAX_DATA: usize = 512 - connector::HEADER_LEN - HEADER_LEN;

/// Regions sent per mark or clear request (256 bytes of data).
pub(crate) const REGIONS_PER_REQUEST: usize = 32;

/// The requests of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum RequestType {
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
    IsRemoteRecovering = 17,
}

impl RequestType {
    /// The name used in log messages.
    pub(crate) fn name(self) -> &'static str {
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
            RequestType::IsRemoteRecovering => "IS_REMOTE_RECOVERING",
        }
    }
}

/// The fixed part of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) luid: u64,
    pub(crate) version: u32,
    pub(crate) error: i32,
    pub(crate) seq: u32,
    pub(crate) request_type: u32,
    pub(crate) data_size: u32,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_ne_bytes(w)
}

/// Reads a native-endian `u64` at `at` of `b`, if it is long enough.
pub(crate) fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let mut w = [0u8; 8];
    w.copy_from_slice(b.get(at..at + 8)?);
    Some(u64::from_ne_bytes(w))
}

impl Header {
    /// Decodes the header at the start of `msg`, if `msg` holds one.
    pub(crate) fn decode(msg: &[u8]) -> Option<Header> {
        if msg.len() < HEADER_LEN {
            return None;
        }
        Some(Header {
            luid: u64_at(msg, 0)?,
            version: u32_at(msg, 140),
            error: u32_at(msg, 144) as i32,
            seq: u32_at(msg, 148),
            request_type: u32_at(msg, 152),
            data_size: u32_at(msg, 156),
        })
    }

    /// Encodes a request header with `uuid` (at most [`UUID_MAX`] bytes)
    /// into the start of `out` (at least [`HEADER_LEN`] bytes).
    pub(crate) fn encode(&self, uuid: &[u8], out: &mut [u8]) {
        let out = &mut out[..HEADER_LEN];
        out.fill(0);
        out[0..8].copy_from_slice(&self.luid.to_ne_bytes());
        let n = uuid.len().min(UUID_MAX);
        out[8..8 + n].copy_from_slice(&uuid[..n]);
        out[140..144].copy_from_slice(&self.version.to_ne_bytes());
        out[144..148].copy_from_slice(&self.error.to_ne_bytes());
        out[148..152].copy_from_slice(&self.seq.to_ne_bytes());
        out[152..156].copy_from_slice(&self.request_type.to_ne_bytes());
        out[156..160].copy_from_slice(&self.data_size.to_ne_bytes());
    }
}
