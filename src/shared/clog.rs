// SPDX-License-Identifier: GPL-2.0

//! The cluster log's group message format: what LVM2's `cmirrord` (2.03.16)
//! multicasts on a corosync CPG group, one group per log, so that a dm-logd
//! node can share a group with it (`Documentation/cmirrord-protocol.md`).
//!
//! A message is a 184-byte header followed by `data_size` bytes of data:
//!
//! | offset | field |
//! |---|---|
//! | 0 | `u64` version, little-endian: [`VERSION`] |
//! | 8 | `u64` version in the sender's byte order: tells its endianness |
//! | 16 | `u32 originator`: the requesting node (the destination of a checkpoint) |
//! | 20 | `u32` the sender's own bookkeeping, not read |
//! | 24 | the userspace log header ([`ulog`]), little-endian |
//! | 184 | data |
//!
//! Only little-endian members are supported: cmirrord leaves the
//! checkpoint's bitmap words and some header fields in host order, so a
//! group mixing byte orders cannot agree on them. A big-endian sender is
//! recognised by its native version word and refused
//! ([`ClogError::BigEndianPeer`]).
//!
//! The `luid` of a group message is always 0: it is each node's kernel's
//! id for the log, meaningless elsewhere, and cmirrord matches a non-zero
//! one against its own.
//!
//! Group input comes from other daemons and is checked as hostile anyway:
//! [`decode`] refuses anything short, oversized, of an unknown or
//! local-only type, or whose length disagrees with its `data_size`.
//!
//! # Examples
//!
//! ```
//! use dm_log_shared::clog::{decode, encode, Kind, HEADER_LEN};
//! use dm_log_shared::ulog::{Header, RequestType};
//!
//! let region = 7u64.to_le_bytes();
//! let h = Header::request(0, 42, RequestType::MarkRegion, 8);
//! let mut buf = [0u8; HEADER_LEN + 8];
//! let n = encode(3, &h, b"LVM-abc", &region, &mut buf).unwrap();
//! let m = decode(&buf[..n]).unwrap();
//! assert_eq!(m.originator, 3);
//! assert_eq!(m.kind, Kind::Request(RequestType::MarkRegion));
//! assert_eq!((m.uuid, m.data), (&b"LVM-abc"[..], &region[..]));
//! ```

use crate::ulog::{self, Header, RequestType, UUID_LEN, UUID_MAX};
use core::{fmt, ops::Range};

/// The one message version cmirrord 2.03.16 sends (`CLOG_TFR_VERSION`).
pub const VERSION: u64 = 5;
/// Size of the group message header.
pub const HEADER_LEN: usize = 184;
/// Where the userspace log header starts in a group message.
pub const ULOG_AT: usize = 24;
/// The most data a request or reply may carry: cmirrord copies them into
/// 1,024-byte buffers, header included. Checkpoints are larger.
pub const MAX_DATA: usize = 1024 - HEADER_LEN;
/// The bit of `request_type` that marks a reply.
pub const RESPONSE: u32 = 0x1000;
/// The request type of a state handover to a joining node.
pub const CHECKPOINT_READY: u32 = 21;
/// Size of the text field closing a checkpoint.
pub const CHECKPOINT_TEXT_LEN: usize = 64;

/// Byte ranges of the group header's own fields.
pub mod field {
    use core::ops::Range;

    /// The little-endian version word.
    pub const VERSION: Range<usize> = 0..8;
    /// The version word in the sender's byte order.
    pub const VERSION_NATIVE: Range<usize> = 8..16;
    /// `u32 originator`.
    pub const ORIGINATOR: Range<usize> = 16..20;
}

/// Whether cmirrord sends requests of type `t` through the group (applied by
/// every member in the same order) rather than answering them on the node
/// that received them from its kernel.
pub fn routed(t: RequestType) -> bool {
    use RequestType::*;
    match t {
        IsClean | Flush | MarkRegion | ClearRegion | GetResyncWork | SetRegionSync | StatusInfo
        | IsRemoteRecovering | Resume | Postsuspend => true,
        Ctr | Dtr | Presuspend | GetRegionSize | InSync | GetSyncCount | StatusTable => false,
    }
}

/// What a group message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A request of a routed type.
    Request(RequestType),
    /// The server's reply to one.
    Reply(RequestType),
    /// A checkpoint for a joining node.
    CheckpointReady,
}

/// A decoded group message, borrowing from the received bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The requesting node, or a checkpoint's destination.
    pub originator: u32,
    /// The userspace log header (luid, version, error, seq, type, size).
    pub header: Header,
    /// What the message is.
    pub kind: Kind,
    /// The log's UUID, without its NUL.
    pub uuid: &'a [u8],
    /// The data, exactly `header.data_size` bytes.
    pub data: &'a [u8],
}

/// Why a group message was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClogError {
    /// Shorter than the header.
    Short(usize),
    /// The native version word is [`VERSION`] big-endian: a big-endian
    /// member.
    BigEndianPeer,
    /// Another version.
    Version(u64),
    /// `data_size` disagrees with the message's length.
    Length {
        /// The header's `data_size`.
        data_size: u32,
        /// The bytes after the header.
        got: usize,
    },
    /// More data than a request or reply may carry ([`MAX_DATA`]).
    TooMuchData(u32),
    /// A type that is neither a known request, a reply, nor a checkpoint.
    UnknownType(u32),
    /// A type cmirrord never sends through the group.
    LocalType(RequestType),
    /// The UUID field has no NUL.
    UuidNotTerminated,
    /// The output buffer is too small, or the UUID too long (encoding).
    NoRoom,
}

impl fmt::Display for ClogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClogError::Short(n) => write!(f, "{} bytes, shorter than a header", n),
            ClogError::BigEndianPeer => f.write_str("a big-endian member (unsupported)"),
            ClogError::Version(v) => write!(f, "version {} (expected {})", v, VERSION),
            ClogError::Length { data_size, got } => {
                write!(f, "data_size {} but {} bytes of data", data_size, got)
            }
            ClogError::TooMuchData(n) => write!(f, "{} bytes of data (at most {})", n, MAX_DATA),
            ClogError::UnknownType(t) => write!(f, "unknown request type {:#x}", t),
            ClogError::LocalType(t) => write!(f, "{} is never sent to the group", t.name()),
            ClogError::UuidNotTerminated => f.write_str("UUID without a NUL"),
            ClogError::NoRoom => f.write_str("message does not fit"),
        }
    }
}

fn u32_le(b: &[u8], r: Range<usize>) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[r]);
    u32::from_le_bytes(w)
}

fn u64_le(b: &[u8], r: Range<usize>) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[r]);
    u64::from_le_bytes(w)
}

/// The range of userspace log field `r` inside a group message.
fn at(r: Range<usize>) -> Range<usize> {
    r.start + ULOG_AT..r.end + ULOG_AT
}

/// Decodes and checks a group message.
pub fn decode(msg: &[u8]) -> Result<Message<'_>, ClogError> {
    if msg.len() < HEADER_LEN {
        return Err(ClogError::Short(msg.len()));
    }
    let version = u64_le(msg, field::VERSION);
    if version != VERSION {
        return Err(ClogError::Version(version));
    }
    // cmirrord writes the first word little-endian on every host and the
    // second in its own byte order.
    let native = u64_le(msg, field::VERSION_NATIVE);
    if native != VERSION {
        return Err(if native == VERSION.swap_bytes() {
            ClogError::BigEndianPeer
        } else {
            ClogError::Version(native)
        });
    }
    let header = Header {
        luid: u64_le(msg, at(ulog::field::LUID)),
        version: u32_le(msg, at(ulog::field::VERSION)),
        // CAST: the field is an `s32` on the wire.
        error: u32_le(msg, at(ulog::field::ERROR)) as i32,
        seq: u32_le(msg, at(ulog::field::SEQ)),
        request_type: u32_le(msg, at(ulog::field::REQUEST_TYPE)),
        data_size: u32_le(msg, at(ulog::field::DATA_SIZE)),
    };
    let data = &msg[HEADER_LEN..];
    if usize::try_from(header.data_size).ok() != Some(data.len()) {
        return Err(ClogError::Length {
            data_size: header.data_size,
            got: data.len(),
        });
    }
    let raw = header.request_type;
    let kind = if raw == CHECKPOINT_READY {
        Kind::CheckpointReady
    } else {
        let t = RequestType::from_raw(raw & !RESPONSE)
            .filter(|t| *t as u32 == raw & !RESPONSE)
            .ok_or(ClogError::UnknownType(raw))?;
        if !routed(t) {
            return Err(ClogError::LocalType(t));
        }
        if raw & RESPONSE != 0 {
            Kind::Reply(t)
        } else {
            Kind::Request(t)
        }
    };
    if kind != Kind::CheckpointReady && data.len() > MAX_DATA {
        return Err(ClogError::TooMuchData(header.data_size));
    }
    let raw_uuid = &msg[at(ulog::field::UUID)];
    let end = raw_uuid
        .iter()
        .position(|&c| c == 0)
        .ok_or(ClogError::UuidNotTerminated)?;
    Ok(Message {
        originator: u32_le(msg, field::ORIGINATOR),
        header,
        kind,
        uuid: &raw_uuid[..end],
        data,
    })
}

/// Encodes a group message into `out`: `header` (its `data_size` replaced
/// by `data.len()`, its `luid` by 0) from `originator` for the log `uuid`.
/// Returns the message's length.
pub fn encode(
    originator: u32,
    header: &Header,
    uuid: &[u8],
    data: &[u8],
    out: &mut [u8],
) -> Result<usize, ClogError> {
    let len = HEADER_LEN + data.len();
    let data_size = u32::try_from(data.len()).map_err(|_| ClogError::NoRoom)?;
    if uuid.len() > UUID_MAX || out.len() < len {
        return Err(ClogError::NoRoom);
    }
    let out = &mut out[..len];
    out.fill(0);
    out[field::VERSION].copy_from_slice(&VERSION.to_le_bytes());
    out[field::VERSION_NATIVE].copy_from_slice(&VERSION.to_le_bytes());
    out[field::ORIGINATOR].copy_from_slice(&originator.to_le_bytes());
    let u = ULOG_AT + ulog::field::UUID.start;
    out[u..u + uuid.len()].copy_from_slice(uuid);
    let fields: [(Range<usize>, u32); 5] = [
        (ulog::field::VERSION, header.version),
        // CAST: the field is an `s32` on the wire.
        (ulog::field::ERROR, header.error as u32),
        (ulog::field::SEQ, header.seq),
        (ulog::field::REQUEST_TYPE, header.request_type),
        (ulog::field::DATA_SIZE, data_size),
    ];
    for (r, v) in fields {
        out[at(r)].copy_from_slice(&v.to_le_bytes());
    }
    out[HEADER_LEN..].copy_from_slice(data);
    debug_assert!(UUID_LEN == ulog::field::UUID.len());
    Ok(len)
}

/// Bytes of each bitmap in a checkpoint of `regions` regions: 32-bit
/// words, with one spare word when 32 divides the count (cmirrord's
/// sizing, which it checks exactly).
pub fn checkpoint_bitmap_len(regions: u64) -> Option<usize> {
    usize::try_from((regions / 32 + 1).checked_mul(4)?).ok()
}

/// A state handover to a joining node, borrowing the bitmaps.
///
/// The bitmaps use the kernel's little-endian bit order (bit `i` at byte
/// `i / 8`, bit `i % 8`), which is what cmirrord's host-order 32-bit words
/// are on a little-endian host. Bits past the last region may be set
/// (cmirrord fills whole words, the spare one included, for `nosync`): an
/// importer masks them, as [`crate::engine::Bitmap::load_word`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint<'a> {
    /// The in-sync bitmap.
    pub sync: &'a [u8],
    /// The clean bitmap.
    pub clean: &'a [u8],
    /// The region being resynced and the node resyncing it, if any.
    pub recovering: Option<(u64, u32)>,
}

/// Why a checkpoint was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointError {
    /// The bitmaps are not the size this log's region count gives.
    Size {
        /// Bytes per bitmap expected.
        expected: usize,
        /// The message's data size.
        data_size: usize,
    },
    /// The text field is not `"<region> <node>"` in decimal, or names a
    /// region past the end.
    Text,
}

impl<'a> Checkpoint<'a> {
    /// The data size of a checkpoint of a log of `regions` regions.
    pub fn data_len(regions: u64) -> Option<usize> {
        checkpoint_bitmap_len(regions)?
            .checked_mul(2)?
            .checked_add(CHECKPOINT_TEXT_LEN)
    }

    /// Decodes the data of a checkpoint for a log of `regions` regions.
    pub fn decode(regions: u64, data: &'a [u8]) -> Result<Self, CheckpointError> {
        let b = checkpoint_bitmap_len(regions).unwrap_or(usize::MAX);
        if Self::data_len(regions) != Some(data.len()) {
            return Err(CheckpointError::Size {
                expected: b,
                data_size: data.len(),
            });
        }
        let (sync, rest) = data.split_at(b);
        let (clean, text) = rest.split_at(b);
        let end = text.iter().position(|&c| c == 0).unwrap_or(text.len());
        let s = core::str::from_utf8(&text[..end]).map_err(|_| CheckpointError::Text)?;
        let mut words = s.split(' ');
        let (Some(r), Some(n), None) = (words.next(), words.next(), words.next()) else {
            return Err(CheckpointError::Text);
        };
        let region: u64 = r.parse().map_err(|_| CheckpointError::Text)?;
        let node: u32 = n.parse().map_err(|_| CheckpointError::Text)?;
        // cmirrord writes (u64)-1 for "nobody", with whatever node last
        // recovered. A region past the end is refused: cmirrord would take
        // it as busy, which no node can agree to.
        let recovering = match region {
            u64::MAX => None,
            r if r < regions => Some((r, node)),
            _ => return Err(CheckpointError::Text),
        };
        Ok(Checkpoint {
            sync,
            clean,
            recovering,
        })
    }

    /// Encodes the checkpoint into `out`; returns the data size. The
    /// bitmaps must be [`checkpoint_bitmap_len`] bytes each.
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let b = self.sync.len();
        let len = b.checked_mul(2)?.checked_add(CHECKPOINT_TEXT_LEN)?;
        if self.clean.len() != b || out.len() < len {
            return None;
        }
        out[..b].copy_from_slice(self.sync);
        out[b..2 * b].copy_from_slice(self.clean);
        let text = &mut out[2 * b..len];
        text.fill(0);
        let (region, node) = self.recovering.unwrap_or((u64::MAX, u32::MAX));
        let mut w = TextWriter { buf: text, at: 0 };
        fmt::write(&mut w, format_args!("{} {}", region, node)).ok()?;
        Some(len)
    }
}

/// Writes formatted text into a fixed buffer, refusing what does not fit
/// with a NUL after it.
struct TextWriter<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl fmt::Write for TextWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.at + s.len();
        if end >= self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.at..end].copy_from_slice(s.as_bytes());
        self.at = end;
        Ok(())
    }
}

/// dm-logd's extension of a checkpoint: the replicated state cmirrord does
/// not hand over, appended after cmirrord's layout. Without it a joiner
/// knows no node's marks, so it may clean a region another node is writing
/// and, on a node failure, not know which regions to resync; and its resync
/// scan and priority list start afresh while the other members' do not, so
/// it would answer GET_RESYNC_WORK differently. A checkpoint with the
/// extension is longer than cmirrord's layout, which cmirrord refuses:
/// groups with cmirrord members are not supported.
///
/// It also carries the members holding the state, in the order they got it
/// (the first one writes a shared log device), and how many of the group
/// messages delivered since the joiner joined the state already includes
/// (0 when it was taken at the join; more when a member that was itself
/// waiting sends it later).
///
/// Layout, all little-endian: [`MAGIC`](ext::MAGIC), `u32` marks, `u32`
/// priority regions, `u32` members, `u64` resync scan position, `u64`
/// messages included, then the
/// marks (`u32` node, `u64` region each), the priority list (`u64` each,
/// the last one taken first) and the members (`u32` node ids).
pub mod ext {
    /// The first bytes of the extension.
    pub const MAGIC: [u8; 8] = *b"DMLOGDx3";
    /// Bytes before the entries.
    pub const HEAD_LEN: usize = 36;
    /// Bytes per mark.
    pub const MARK_LEN: usize = 12;

    /// Bytes of an extension with `marks` marks, `priority` regions and
    /// `valid` members.
    pub fn len(marks: usize, priority: usize, valid: usize) -> Option<usize> {
        marks
            .checked_mul(MARK_LEN)?
            .checked_add(priority.checked_mul(8)?)?
            .checked_add(valid.checked_mul(4)?)?
            .checked_add(HEAD_LEN)
    }

    /// The decoded extension, borrowing the entries.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Ext<'a> {
        marks: &'a [u8],
        priority: &'a [u8],
        valid: &'a [u8],
        /// One past the last region the resync scan handed out.
        pub sync_search: u64,
        /// Messages delivered since the joiner joined that the state
        /// already includes.
        pub included: u64,
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    fn u64_at(b: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(w)
    }

    impl<'a> Ext<'a> {
        /// The marks: (node, region).
        pub fn marks(&self) -> impl Iterator<Item = (u32, u64)> + 'a {
            let b = self.marks;
            (0..b.len() / MARK_LEN).map(move |i| {
                let at = i * MARK_LEN;
                (u32_at(b, at), u64_at(b, at + 4))
            })
        }

        /// The priority list, in stored order.
        pub fn priority(&self) -> impl Iterator<Item = u64> + 'a {
            let b = self.priority;
            (0..b.len() / 8).map(move |i| u64_at(b, i * 8))
        }

        /// The members holding the state, oldest first.
        pub fn valid(&self) -> impl Iterator<Item = u32> + 'a {
            let b = self.valid;
            (0..b.len() / 4).map(move |i| u32_at(b, i * 4))
        }

        /// Decodes an extension whose regions are all below `regions`;
        /// `None` if it is malformed.
        pub fn decode(data: &'a [u8], regions: u64) -> Option<Self> {
            if data.len() < HEAD_LEN || data[..8] != MAGIC {
                return None;
            }
            let n_marks = u32_at(data, 8) as usize;
            let n_prio = u32_at(data, 12) as usize;
            let n_valid = u32_at(data, 16) as usize;
            if len(n_marks, n_prio, n_valid)? != data.len() {
                return None;
            }
            let split = HEAD_LEN + n_marks * MARK_LEN;
            let split2 = split + n_prio * 8;
            let ext = Ext {
                marks: &data[HEAD_LEN..split],
                priority: &data[split..split2],
                valid: &data[split2..],
                sync_search: u64_at(data, 20),
                included: u64_at(data, 28),
            };
            let in_range = |r: u64| r < regions;
            if !ext.marks().all(|(_, r)| in_range(r)) || !ext.priority().all(in_range) {
                return None;
            }
            // The scan position may be one past the end ("done").
            (ext.sync_search <= regions.saturating_add(1)).then_some(ext)
        }
    }

    /// Encodes an extension into `out`; returns its length.
    pub fn encode(
        marks: impl ExactSizeIterator<Item = (u32, u64)>,
        priority: &[u64],
        valid: &[u32],
        sync_search: u64,
        included: u64,
        out: &mut [u8],
    ) -> Option<usize> {
        let n = marks.len();
        let total = len(n, priority.len(), valid.len())?;
        if out.len() < total {
            return None;
        }
        out[..8].copy_from_slice(&MAGIC);
        out[8..12].copy_from_slice(&u32::try_from(n).ok()?.to_le_bytes());
        out[12..16].copy_from_slice(&u32::try_from(priority.len()).ok()?.to_le_bytes());
        out[16..20].copy_from_slice(&u32::try_from(valid.len()).ok()?.to_le_bytes());
        out[20..28].copy_from_slice(&sync_search.to_le_bytes());
        out[28..36].copy_from_slice(&included.to_le_bytes());
        for (i, (node, region)) in marks.enumerate() {
            let at = HEAD_LEN + i * MARK_LEN;
            out[at..at + 4].copy_from_slice(&node.to_le_bytes());
            out[at + 4..at + 12].copy_from_slice(&region.to_le_bytes());
        }
        let base = HEAD_LEN + n * MARK_LEN;
        for (i, r) in priority.iter().enumerate() {
            out[base + i * 8..base + i * 8 + 8].copy_from_slice(&r.to_le_bytes());
        }
        let base = base + priority.len() * 8;
        for (i, v) in valid.iter().enumerate() {
            out[base + i * 4..base + i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        Some(total)
    }
}
