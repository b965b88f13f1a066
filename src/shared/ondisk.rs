// SPDX-License-Identifier: GPL-2.0

//! The disk log's on-disk format: the C `dm-log`'s, byte for byte.
//!
//! The log area starts at sector 0 of the log device:
//!
//! | offset | field |
//! |---|---|
//! | 0 | `u32 magic` ([`MAGIC`], "MiRr"), little endian |
//! | 4 | `u32 version` ([`VERSION`]; version 1 is read as 2) |
//! | 8 | `u64 nr_regions`: the regions the bitmap covers |
//! | 16 | unused up to [`BITMAP_OFFSET`] (kept as read) |
//! | 1024 | the clean bitmap: one bit per region, set when clean, in little-endian 64-bit words |
//!
//! The area ends at the end of the block holding the last bitmap word:
//! [`LogArea`] is that geometry for one log, and [`Runs`] turns a set of
//! changed blocks into the byte ranges a flush writes.
//!
//! # Examples
//!
//! ```
//! use dm_log_shared::ondisk::{Header, LogArea};
//!
//! // 100 regions on a device of 4 KiB blocks: one block.
//! let area = LogArea::new(100, 4096).unwrap();
//! assert_eq!(area.len(), 4096);
//! let mut buf = [0u8; 4096];
//! Header::current(100).encode(&mut buf);
//! LogArea::store_word(&mut buf, 1, 0xf0);
//! assert_eq!(Header::decode(&buf).unwrap().recorded(), Ok(100));
//! assert_eq!(LogArea::load_word(&buf, 1), 0xf0);
//! assert_eq!(area.block_of_region(64), 0);
//! ```

use crate::engine::words_for;
use core::ops::Range;

/// Header magic, "MiRr" (`MIRROR_MAGIC`).
pub const MAGIC: u32 = 0x4D69_5272;
/// The format version written (`MIRROR_DISK_VERSION`).
pub const VERSION: u32 = 2;
/// Bytes of the header that carry fields.
pub const HEADER_LEN: usize = 16;
/// Byte offset of the clean bitmap in the log area.
pub const BITMAP_OFFSET: usize = 1024;
/// The smallest block size of a log device.
pub const MIN_BLOCK_SIZE: usize = 512;

/// The header of a log area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// [`MAGIC`] when the area holds a log.
    pub magic: u32,
    /// Format version.
    pub version: u32,
    /// Regions the bitmap covers.
    pub nr_regions: u64,
}

/// Why a log area's state cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// No magic: a new log.
    NotALog,
    /// A version this format does not know.
    Version(u32),
}

impl Header {
    /// The header written for a log of `nr_regions` regions.
    pub const fn current(nr_regions: u64) -> Header {
        Header {
            magic: MAGIC,
            version: VERSION,
            nr_regions,
        }
    }

    /// Decodes the header at the start of `area`, if it is long enough.
    pub fn decode(area: &[u8]) -> Option<Header> {
        Some(Header {
            magic: u32::from_le_bytes(*area.get(0..4)?.first_chunk()?),
            version: u32::from_le_bytes(*area.get(4..8)?.first_chunk()?),
            nr_regions: u64::from_le_bytes(*area.get(8..16)?.first_chunk()?),
        })
    }

    /// Encodes into the first [`HEADER_LEN`] bytes of `area`; the rest of
    /// the header block is left as it is.
    ///
    /// # Panics
    ///
    /// If `area` is shorter than [`HEADER_LEN`].
    pub fn encode(&self, area: &mut [u8]) {
        area[0..4].copy_from_slice(&self.magic.to_le_bytes());
        area[4..8].copy_from_slice(&self.version.to_le_bytes());
        area[8..16].copy_from_slice(&self.nr_regions.to_le_bytes());
    }

    /// The number of regions whose state the area records, as the C log
    /// reads it: version 1 is read as version 2 (same layout).
    pub fn recorded(&self) -> Result<u64, HeaderError> {
        if self.magic != MAGIC {
            Err(HeaderError::NotALog)
        } else if self.version != 1 && self.version != VERSION {
            Err(HeaderError::Version(self.version))
        } else {
            Ok(self.nr_regions)
        }
    }
}

/// The geometry of one log's area: where each region's clean bit is, and
/// how long the area is, for a given region count and device block size.
///
/// # Invariants
///
/// `block_size` is a power of two, at least [`MIN_BLOCK_SIZE`]; `len` is
/// the bitmap's end rounded up to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogArea {
    regions: u64,
    block_size: usize,
    /// `log2(block_size)`: block numbers by shifting (no division, so no
    /// division-by-zero path in the kernel's code).
    block_shift: u32,
    len: usize,
}

impl LogArea {
    /// The area of a log of `regions` regions on a device of `block_size`
    /// byte blocks; `None` for a block size that is not a power of two of
    /// at least 512 or an area too large to address.
    pub fn new(regions: u64, block_size: usize) -> Option<LogArea> {
        if block_size < MIN_BLOCK_SIZE || !block_size.is_power_of_two() {
            return None;
        }
        let bitmap = words_for(regions).checked_mul(8)?;
        let len = BITMAP_OFFSET
            .checked_add(bitmap)?
            .checked_next_multiple_of(block_size)?;
        Some(LogArea {
            regions,
            block_size,
            block_shift: block_size.trailing_zeros(),
            len,
        })
    }

    /// The regions it covers.
    pub fn regions(&self) -> u64 {
        self.regions
    }

    /// Its block size in bytes.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// Its length in bytes: the header and the bitmap, in whole blocks.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never: the header takes a block).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of blocks it spans.
    pub fn blocks(&self) -> usize {
        self.len >> self.block_shift
    }

    /// The number of bitmap words.
    pub fn words(&self) -> usize {
        words_for(self.regions)
    }

    /// The byte offset of bitmap word `word`.
    pub fn word_offset(word: usize) -> usize {
        BITMAP_OFFSET + word * 8
    }

    /// The bitmap word a byte offset of the bitmap falls in.
    pub fn word_at(offset: usize) -> usize {
        (offset - BITMAP_OFFSET) / 8
    }

    /// The block holding the clean bit of `region`.
    pub fn block_of_region(&self, region: u64) -> usize {
        // CAST: a word index of a log area fits in `usize` (`new` checked).
        self.block_of_word((region / 64) as usize)
    }

    /// The block holding bitmap word `word`.
    pub fn block_of_word(&self, word: usize) -> usize {
        Self::word_offset(word) >> self.block_shift
    }

    /// The bitmap words in blocks `blocks` of the area (none in the
    /// header's), the padding after the last word to the end of its block
    /// included: a log writes the padding as zero words.
    pub fn words_in(&self, blocks: Range<usize>) -> Range<usize> {
        let from = (blocks.start << self.block_shift).max(BITMAP_OFFSET);
        let to = (blocks.end << self.block_shift).min(self.len);
        if to <= from {
            return 0..0;
        }
        Self::word_at(from)..Self::word_at(to)
    }

    /// Reads bitmap word `word` of `area`.
    ///
    /// # Panics
    ///
    /// If `area` does not hold the word.
    pub fn load_word(area: &[u8], word: usize) -> u64 {
        let at = Self::word_offset(word);
        let mut w = [0u8; 8];
        w.copy_from_slice(&area[at..at + 8]);
        u64::from_le_bytes(w)
    }

    /// Writes bitmap word `word` of `area`.
    ///
    /// # Panics
    ///
    /// If `area` does not hold the word.
    pub fn store_word(area: &mut [u8], word: usize, bits: u64) {
        let at = Self::word_offset(word);
        area[at..at + 8].copy_from_slice(&bits.to_le_bytes());
    }
}

/// The runs of adjacent set bits of a bitmap of blocks, as byte ranges of
/// `block_size` blocks: what a flush writes, one request per run.
///
/// # Examples
///
/// ```
/// use dm_log_shared::ondisk::Runs;
///
/// // Blocks 4, 5, 7, 127 and 128 changed.
/// let changed = [0b1011_0000u64, 1 << 63, 1];
/// let runs: Vec<_> = Runs::new(&changed, 512).collect();
/// assert_eq!(runs, [2048..3072, 3584..4096, 65024..66048]);
/// ```
pub struct Runs<'a> {
    words: &'a [u64],
    /// First block not yet looked at.
    next: usize,
    block_size: usize,
}

impl<'a> Runs<'a> {
    /// The runs of `words`, a bitmap of blocks of `block_size` bytes.
    pub fn new(words: &'a [u64], block_size: usize) -> Self {
        Runs {
            words,
            next: 0,
            block_size,
        }
    }

    fn is_set(&self, block: usize) -> bool {
        self.words
            .get(block / 64)
            .is_some_and(|w| w & (1 << (block % 64)) != 0)
    }
}

impl Iterator for Runs<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let end = self.words.len() * 64;
        let mut b = self.next;
        while b < end && !self.is_set(b) {
            // Skip empty words whole.
            if b & 63 == 0 && self.words[b / 64] == 0 {
                b += 64;
            } else {
                b += 1;
            }
        }
        if b >= end {
            self.next = end;
            return None;
        }
        let first = b;
        while b < end && self.is_set(b) {
            b += 1;
        }
        self.next = b;
        Some(first * self.block_size..b * self.block_size)
    }
}
