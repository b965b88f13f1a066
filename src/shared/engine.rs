// SPDX-License-Identifier: GPL-2.0

//! The bitmap region engine shared by every dirty-log type.
//!
//! A mirror is cut into regions of `region_size` sectors. For each region the
//! engine keeps three bits:
//!
//! - **clean**: no write to the region is outstanding or unflushed; a clean
//!   region need not be copied again after a crash. The disk log persists
//!   exactly this bitmap.
//! - **in sync**: the legs hold the same data for the region.
//! - **recovering**: the region has been handed out as resync work and the
//!   mirror has not yet reported the outcome.
//!
//! plus the number of in-sync regions and the resync search position.
//!
//! It depends on `core` only: the kernel module, the userspace log daemon
//! and the host tests (`src/shared/tests/engine.rs`) use the same code.
//!
//! # Concurrency
//!
//! The mirror target calls the log from several contexts at once: `in_sync`
//! from the bio submission and completion paths (lockless, possibly in
//! interrupt context) while its worker marks, clears and resyncs regions. All
//! state is therefore kept in atomics, and every operation is wait-free: no
//! operation sleeps, allocates or takes a lock, so each may be called from any
//! context, and a reader always sees a whole word, old or new.
//!
//! Writers come in two kinds:
//!
//! - The **clean** bitmap has several: the mirror's worker marks and clears,
//!   and a persistent log's flush work (after a failed leg flush) and resume
//!   rewrite it whole. A single bit's update is an atomic read-modify-write;
//!   the whole-bitmap writes are plain stores per word, and the disk log
//!   orders them against its clears itself.
//! - The **resync state** (in-sync and recovering bits, the sync count and
//!   the search position) has one writer at a time:
//!   [`Regions::next_resync_work`] and [`Regions::set_region_sync`] are
//!   called by the mirror's worker, a single work item (kmirrord), and
//!   [`Regions::restart_resync`] and [`Regions::sync_from_clean`] at resume,
//!   while the mirror's recovery is stopped (so the worker makes no resync
//!   call then); the daemon applies requests one at a time. These bits are
//!   updated with a plain load and store (the kernel's non-atomic `__set_bit`
//!   is the C logs' choice for the same reason), which costs a fraction of a
//!   locked read-modify-write. Two concurrent callers could lose an update
//!   there (a logic error, never a memory error), so callers must not make
//!   them. The sync count is moved only when a sync bit actually flips, so it
//!   always equals the number of set sync bits between calls.

use core::ops::Deref;
use core::sync::atomic::{AtomicU64, Ordering};

/// Number of bits in one bitmap word.
pub const WORD_BITS: u64 = 64;

/// Largest region count a log accepts, as the C logs: `UINT_MAX`.
pub const MAX_REGIONS: u64 = u32::MAX as u64;

/// Number of 64-bit words needed for a bitmap of `bits` bits.
pub const fn words_for(bits: u64) -> usize {
    bits.div_ceil(WORD_BITS) as usize
}

/// The initial synchronisation state requested in a log's table line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// No keyword: the legs are assumed out of sync, and a persistent log
    /// keeps what it recorded.
    Default,
    /// `sync`: force a full resync.
    Force,
    /// `nosync`: assume the legs are already in sync.
    NoSync,
}

impl SyncMode {
    /// Parses the optional sync keyword of a log's table line. The match is
    /// exact and case-sensitive, as in the C logs.
    pub fn parse(word: &[u8]) -> Option<Self> {
        match word {
            b"sync" => Some(SyncMode::Force),
            b"nosync" => Some(SyncMode::NoSync),
            _ => None,
        }
    }

    /// The keyword printed back in the table line (`None` for the default).
    pub fn keyword(self) -> Option<&'static str> {
        match self {
            SyncMode::Default => None,
            SyncMode::Force => Some("sync"),
            SyncMode::NoSync => Some("nosync"),
        }
    }
}

/// A fixed-size bitmap of atomic 64-bit words.
///
/// Bit `i` lives in word `i / 64` at position `i % 64`, so serialising each
/// word little-endian yields the byte layout of the kernel's `*_bit_le`
/// bitmaps (bit `i` at byte `i / 8`, bit `i % 8`): the on-disk layout of the
/// disk log.
///
/// # Invariants
///
/// `words.len() == words_for(bits)`, and the bits past `bits` in the last word
/// are always zero.
pub struct Bitmap<S> {
    words: S,
    bits: u64,
}

impl<S: Deref<Target = [AtomicU64]>> Bitmap<S> {
    /// Wraps `words` as a bitmap of `bits` bits, all cleared. Returns `None`
    /// if `words` does not have exactly [`words_for`]`(bits)` words.
    pub fn new(words: S, bits: u64) -> Option<Self> {
        Self::filled(words, bits, false)
    }

    /// Wraps `words` as a bitmap of `bits` bits, all set to `value`: one
    /// pass over the words. Returns `None` if `words` does not have exactly
    /// [`words_for`]`(bits)` words.
    pub fn filled(words: S, bits: u64, value: bool) -> Option<Self> {
        if words.len() != words_for(bits) {
            return None;
        }
        // INVARIANT: the length was checked above and `fill` clears the tail.
        let map = Bitmap { words, bits };
        map.fill(value);
        Some(map)
    }

    /// Number of bits.
    pub fn len(&self) -> u64 {
        self.bits
    }

    /// Whether the bitmap has no bits.
    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }

    fn locate(i: u64) -> (usize, u64) {
        ((i / WORD_BITS) as usize, 1u64 << (i % WORD_BITS))
    }

    /// Whether bit `i` is set; `false` past the end.
    pub fn test(&self, i: u64) -> bool {
        // The bits past the end of the last word are zero (the type's
        // invariant), and a word past the end reads as zero: one bounds
        // check for both, the cost of C's unchecked `test_bit`. (Not
        // `Bitmap::word`: its `map_or` compiles to a join and a jump, one
        // more block on the bio path under QEMU.)
        let (w, mask) = Self::locate(i);
        match self.words.get(w) {
            Some(word) => word.load(Ordering::Relaxed) & mask != 0,
            None => false,
        }
    }

    /// Sets bit `i`; returns whether it was set before. Ignored (returns
    /// `true`) past the end.
    pub fn set(&self, i: u64) -> bool {
        if i >= self.bits {
            return true;
        }
        let (w, mask) = Self::locate(i);
        self.words[w].fetch_or(mask, Ordering::Relaxed) & mask != 0
    }

    /// Clears bit `i`; returns whether it was set before. Ignored (returns
    /// `false`) past the end.
    pub fn clear(&self, i: u64) -> bool {
        if i >= self.bits {
            return false;
        }
        let (w, mask) = Self::locate(i);
        self.words[w].fetch_and(!mask, Ordering::Relaxed) & mask != 0
    }

    /// Word `w` itself, for an update the caller makes with a plain load
    /// and store (one writer at a time: a concurrent update of the same
    /// word may be lost; readers see the word before or after).
    fn word_ref(&self, w: usize) -> Option<&AtomicU64> {
        self.words.get(w)
    }

    /// Mask of the valid bits of word `w`.
    fn valid_mask(&self, w: usize) -> u64 {
        let first = w as u64 * WORD_BITS;
        let valid = self.bits - first;
        if valid >= WORD_BITS {
            u64::MAX
        } else {
            (1u64 << valid) - 1
        }
    }

    /// Sets bit `i` with release ordering: whoever takes the bit with
    /// [`Bitmap::take_word`] afterwards sees every write this thread made
    /// before. Used to flag changed parts of another bitmap.
    pub fn set_release(&self, i: u64) {
        if i < self.bits {
            let (w, mask) = Self::locate(i);
            self.words[w].fetch_or(mask, Ordering::Release);
        }
    }

    /// Clears word `w` and returns what it held, with acquire ordering
    /// (pairs with [`Bitmap::set_release`]).
    pub fn take_word(&self, w: usize) -> u64 {
        self.words
            .get(w)
            .map_or(0, |x| x.swap(0, Ordering::Acquire))
    }

    /// Wraps `words`, which already hold `value` in every bit (all-zero or
    /// all-one words, as a `memset` at allocation leaves them), as a bitmap
    /// of `bits` bits: only the last word is written, to clear the bits past
    /// the end. Returns `None` if `words` does not have exactly
    /// [`words_for`]`(bits)` words. Storage holding anything else gives a
    /// bitmap with those bits (a debug build checks).
    pub fn prefilled(words: S, bits: u64, value: bool) -> Option<Self> {
        if words.len() != words_for(bits) {
            return None;
        }
        let v = if value { u64::MAX } else { 0 };
        debug_assert!(words.iter().all(|w| w.load(Ordering::Relaxed) == v));
        // INVARIANT: the length was checked above and the tail is cleared
        // below.
        let map = Bitmap { words, bits };
        if let Some(last) = map.words.last() {
            let tail = if value {
                map.valid_mask(map.words.len() - 1)
            } else {
                0
            };
            last.store(tail, Ordering::Relaxed);
        }
        Some(map)
    }

    /// Sets (or clears) every bit.
    pub fn fill(&self, value: bool) {
        let Some((last, full)) = self.words.split_last() else {
            return;
        };
        // Every word but the last is wholly valid: one plain store each.
        let v = if value { u64::MAX } else { 0 };
        for word in full {
            word.store(v, Ordering::Relaxed);
        }
        let tail = if value {
            self.valid_mask(full.len())
        } else {
            0
        };
        last.store(tail, Ordering::Relaxed);
    }

    /// Sets (or clears) bits `[from, to)`, clamped to the bitmap, a word at a
    /// time.
    pub fn fill_range(&self, from: u64, to: u64, value: bool) {
        let to = to.min(self.bits);
        let mut i = from;
        while i < to {
            let (w, _) = Self::locate(i);
            let lo = i % WORD_BITS;
            let n = (to - i).min(WORD_BITS - lo);
            let mask = if n == WORD_BITS {
                u64::MAX
            } else {
                ((1u64 << n) - 1) << lo
            };
            if value {
                self.words[w].fetch_or(mask, Ordering::Relaxed);
            } else {
                self.words[w].fetch_and(!mask, Ordering::Relaxed);
            }
            i += n;
        }
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> u64 {
        self.words
            .iter()
            .map(|w| u64::from(w.load(Ordering::Relaxed).count_ones()))
            .sum()
    }

    /// Makes this bitmap a copy of `other` (same length required; a shorter
    /// `other` copies what it has).
    pub fn copy_from<T: Deref<Target = [AtomicU64]>>(&self, other: &Bitmap<T>) {
        for (w, (dst, src)) in self.words.iter().zip(other.words.iter()).enumerate() {
            dst.store(
                src.load(Ordering::Relaxed) & self.valid_mask(w),
                Ordering::Relaxed,
            );
        }
    }

    /// Loads word `w` from its little-endian serialised form, masking bits
    /// past the end. Used when reading a persistent log.
    pub fn load_word(&self, w: usize, value: u64) {
        if w < self.words.len() {
            self.words[w].store(value & self.valid_mask(w), Ordering::Relaxed);
        }
    }

    /// Word `w` (zero past the end).
    pub fn word(&self, w: usize) -> u64 {
        self.words.get(w).map_or(0, |x| x.load(Ordering::Relaxed))
    }

    /// The first word at or after `from` with a bit clear (bits past the
    /// end are clear), and its value.
    fn first_not_full(&self, from: usize) -> Option<(usize, u64)> {
        self.words
            .get(from..)?
            .iter()
            .map(|x| x.load(Ordering::Relaxed))
            .enumerate()
            .find(|&(_, v)| v != u64::MAX)
            .map(|(i, v)| (from + i, v))
    }
}

/// The per-region state of one dirty log: clean, in-sync and recovering bits,
/// the sync count and the resync search position.
///
/// # Invariants
///
/// The three bitmaps have `count` bits each, and `sync_count` equals the
/// number of set bits in `sync` whenever no update is in flight.
pub struct Regions<S> {
    count: u64,
    clean: Bitmap<S>,
    sync: Bitmap<S>,
    recovering: Bitmap<S>,
    sync_count: AtomicU64,
    /// First region the next resync search looks at.
    sync_search: AtomicU64,
}

/// The value every bit of each bitmap of a new [`Regions`] starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartingBits {
    /// The clean bitmap: every region starts clean.
    pub clean: bool,
    /// The in-sync bitmap: in sync only with [`SyncMode::NoSync`].
    pub sync: bool,
    /// The recovering bitmap: nothing is being recovered.
    pub recovering: bool,
}

impl StartingBits {
    /// The starting bits of regions created with `mode`.
    pub fn for_mode(mode: SyncMode) -> Self {
        StartingBits {
            clean: true,
            sync: mode == SyncMode::NoSync,
            recovering: false,
        }
    }
}

/// Why [`Regions::new`] refused its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionsError {
    /// More regions than [`MAX_REGIONS`].
    TooManyRegions,
    /// A storage slice does not have [`words_for`]`(count)` words.
    BadStorage,
}

impl<S: Deref<Target = [AtomicU64]>> Regions<S> {
    /// Creates the state of `count` regions over three storage slices of
    /// [`words_for`]`(count)` words each.
    ///
    /// Every region starts clean. With [`SyncMode::NoSync`] every region
    /// starts in sync; otherwise none does.
    pub fn new(
        count: u64,
        mode: SyncMode,
        clean: S,
        sync: S,
        recovering: S,
    ) -> Result<Self, RegionsError> {
        // One pass per bitmap: a huge log's constructor is these stores.
        Self::build(count, mode, [clean, sync, recovering], Bitmap::filled)
    }

    /// As [`Regions::new`], over storage that already holds the
    /// [`StartingBits`] of `mode` in every word (filled by the allocator,
    /// with `memset`): no pass over the words, which at 2^31 regions is most
    /// of a constructor's time.
    ///
    /// Storage filled otherwise keeps its bits, and the sync count no longer
    /// matches the sync bitmap: the caller's contract (a debug build checks
    /// every word, [`Bitmap::prefilled`]).
    pub fn prefilled(
        count: u64,
        mode: SyncMode,
        clean: S,
        sync: S,
        recovering: S,
    ) -> Result<Self, RegionsError> {
        Self::build(count, mode, [clean, sync, recovering], Bitmap::prefilled)
    }

    /// The regions over `[clean, sync, recovering]` storage, each bitmap
    /// made by `bitmap(storage, count, starting value)`.
    fn build(
        count: u64,
        mode: SyncMode,
        [clean, sync, recovering]: [S; 3],
        bitmap: fn(S, u64, bool) -> Option<Bitmap<S>>,
    ) -> Result<Self, RegionsError> {
        if count > MAX_REGIONS {
            return Err(RegionsError::TooManyRegions);
        }
        let bits = StartingBits::for_mode(mode);
        let make = |words, value| bitmap(words, count, value).ok_or(RegionsError::BadStorage);
        let sync_count = if bits.sync { count } else { 0 };
        Ok(Regions {
            count,
            clean: make(clean, bits.clean)?,
            sync: make(sync, bits.sync)?,
            recovering: make(recovering, bits.recovering)?,
            sync_count: AtomicU64::new(sync_count),
            sync_search: AtomicU64::new(0),
        })
    }

    /// Number of regions.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The clean bitmap (what a persistent log stores).
    pub fn clean_bits(&self) -> &Bitmap<S> {
        &self.clean
    }

    /// Whether `region` is clean. Regions past the end are not.
    pub fn is_clean(&self, region: u64) -> bool {
        self.clean.test(region)
    }

    /// Whether `region` is in sync. Regions past the end are not.
    pub fn in_sync(&self, region: u64) -> bool {
        self.sync.test(region)
    }

    /// Whether `region` is currently handed out as resync work.
    pub fn is_recovering(&self, region: u64) -> bool {
        self.recovering.test(region)
    }

    /// Marks `region` dirty (a write is about to start). Returns whether the
    /// state changed.
    pub fn mark(&self, region: u64) -> bool {
        self.clean.clear(region)
    }

    /// Marks `region` clean (all writes finished). Returns whether the state
    /// changed.
    pub fn clear(&self, region: u64) -> bool {
        region < self.count && !self.clean.set(region)
    }

    /// Hands out the next region that is neither in sync nor being
    /// recovered, marking it recovering, or `None` when the search has
    /// reached the end.
    ///
    /// Regions are handed out in ascending order, and the search only moves
    /// forward: a region whose recovery failed (set back out of sync) behind
    /// the search position is handed out again only after
    /// [`Regions::restart_resync`], i.e. at the next resume, so a region that
    /// keeps failing cannot make the mirror spin.
    ///
    /// One caller of the resync operations at a time (see the module's
    /// concurrency notes).
    pub fn next_resync_work(&self) -> Option<u64> {
        let (region, recovering) = self.find_unsynced(self.sync_search.load(Ordering::Relaxed))?;
        // `region < count <= u32::MAX`: no overflow.
        self.sync_search.store(region + 1, Ordering::Relaxed);
        // The search skips recovering regions, so the bit was clear. One
        // writer: a plain load and store, as C's `__set_bit`.
        let bit = 1u64 << (region % WORD_BITS);
        recovering.store(recovering.load(Ordering::Relaxed) | bit, Ordering::Relaxed);
        Some(region)
    }

    /// First region at or after `start` that is neither in sync nor
    /// recovering, and the recovering word that holds its bit. It scans the
    /// in-sync words, looking at the recovering bits only of a word with a
    /// region out of sync (as C scans its sync bits alone). Moves the
    /// search position to the end when there is none.
    ///
    /// This is the resync's hot path: every word is read once, through one
    /// bounds check, and the end of the log is one comparison of the region
    /// found (the bits past the end read as free, so the first free bit of
    /// the last word is past the end only if no region of it is free).
    fn find_unsynced(&self, start: u64) -> Option<(u64, &AtomicU64)> {
        if start < self.count {
            let first = (start / WORD_BITS) as usize;
            // Bits below `start` in its word are not candidates.
            let below = (1u64 << (start % WORD_BITS)) - 1;
            let mut next = Some((first, self.sync.word(first) | below));
            while let Some((at, sync)) = next {
                let Some(recovering) = self.recovering.word_ref(at) else {
                    break;
                };
                let taken = sync | recovering.load(Ordering::Relaxed);
                if taken != u64::MAX {
                    // `at < 2^58`: the shift loses nothing, and the low bits are
                    // free for the bit's index.
                    let r = (at as u64) << WORD_BITS.trailing_zeros()
                        | u64::from(taken.trailing_ones());
                    if r >= self.count {
                        // Only the last word's tail is past the end.
                        break;
                    }
                    return Some((r, recovering));
                }
                next = self.sync.first_not_full(at + 1);
            }
        }
        self.sync_search.store(self.count, Ordering::Relaxed);
        None
    }

    /// Records the outcome of resync work on `region` (or a failure that
    /// takes it out of sync): clears its recovering bit and sets its sync
    /// bit, moving the sync count only if the bit changed. One caller of the
    /// resync operations at a time.
    pub fn set_region_sync(&self, region: u64, in_sync: bool) {
        if region >= self.count {
            return;
        }
        let w = (region / WORD_BITS) as usize;
        let bit = 1u64 << (region % WORD_BITS);
        let (Some(recovering), Some(sync)) = (self.recovering.word_ref(w), self.sync.word_ref(w))
        else {
            return;
        };
        // One writer: plain loads and stores, as C's `__clear_bit` and
        // `__set_bit`.
        recovering.store(recovering.load(Ordering::Relaxed) & !bit, Ordering::Relaxed);
        let old = sync.load(Ordering::Relaxed);
        let new = if in_sync { old | bit } else { old & !bit };
        if new != old {
            sync.store(new, Ordering::Relaxed);
            // Saturating: a caller that broke the one-writer rule gets a
            // wrong count, never a wrapped one.
            let n = self.sync_count.load(Ordering::Relaxed);
            let n = if in_sync {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            };
            self.sync_count.store(n, Ordering::Relaxed);
        }
    }

    /// Number of regions in sync.
    pub fn sync_count(&self) -> u64 {
        self.sync_count.load(Ordering::Relaxed)
    }

    /// Starts the resync search again from region 0 (at resume).
    pub fn restart_resync(&self) {
        self.sync_search.store(0, Ordering::Relaxed);
    }

    /// Takes the in-sync state from the clean bitmap: what a persistent log
    /// does at resume, since a region left dirty by a crash may differ
    /// between the legs.
    pub fn sync_from_clean(&self) {
        self.sync.copy_from(&self.clean);
        self.sync_count
            .store(self.sync.count_ones(), Ordering::Relaxed);
    }

    /// Marks every region clean (`true`) or dirty (`false`).
    pub fn set_all_clean(&self, clean: bool) {
        self.clean.fill(clean);
    }

    /// Word `w` of the in-sync bitmap (zero past the end).
    pub fn sync_word(&self, w: usize) -> u64 {
        self.sync.word(w)
    }

    /// Takes the clean and in-sync bitmaps from another copy of this state,
    /// word by word (`clean(w)`, `sync(w)`; bits past the end dropped),
    /// recounts the regions in sync and restarts the resync search: a
    /// cluster log's state handed to a joining node. One writer at a time.
    pub fn import(&self, mut clean: impl FnMut(usize) -> u64, mut sync: impl FnMut(usize) -> u64) {
        for w in 0..words_for(self.count) {
            self.clean.load_word(w, clean(w));
            self.sync.load_word(w, sync(w));
        }
        self.sync_count
            .store(self.sync.count_ones(), Ordering::Relaxed);
        self.recovering.fill(false);
        self.restart_resync();
    }
}
