// SPDX-License-Identifier: GPL-2.0

//! Unit and property tests of the bitmap region engine against a plain model.

use dm_log_shared::engine::{
    words_for, Bitmap, Regions, RegionsError, StartingBits, SyncMode, MAX_REGIONS,
};
use proptest::prelude::*;
use std::sync::atomic::AtomicU64;

fn storage(count: u64) -> Vec<AtomicU64> {
    (0..words_for(count)).map(|_| AtomicU64::new(0)).collect()
}

fn regions(count: u64, mode: SyncMode) -> Regions<Vec<AtomicU64>> {
    Regions::new(count, mode, storage(count), storage(count), storage(count)).unwrap()
}

#[test]
fn words_for_rounds_up() {
    assert_eq!(words_for(0), 0);
    assert_eq!(words_for(1), 1);
    assert_eq!(words_for(64), 1);
    assert_eq!(words_for(65), 2);
    assert_eq!(words_for(MAX_REGIONS), 67_108_864);
}

#[test]
fn sync_keyword_is_exact() {
    assert_eq!(SyncMode::parse(b"sync"), Some(SyncMode::Force));
    assert_eq!(SyncMode::parse(b"nosync"), Some(SyncMode::NoSync));
    assert_eq!(SyncMode::parse(b"SYNC"), None);
    assert_eq!(SyncMode::parse(b"sync "), None);
    assert_eq!(SyncMode::parse(b""), None);
    assert_eq!(SyncMode::Default.keyword(), None);
    assert_eq!(SyncMode::NoSync.keyword(), Some("nosync"));
}

#[test]
fn rejects_bad_storage_and_too_many_regions() {
    assert_eq!(
        Regions::new(
            100,
            SyncMode::Default,
            storage(10),
            storage(100),
            storage(100)
        )
        .err(),
        Some(RegionsError::BadStorage)
    );
    assert_eq!(
        Regions::new(
            MAX_REGIONS + 1,
            SyncMode::Default,
            Vec::new(),
            Vec::new(),
            Vec::new()
        )
        .err(),
        Some(RegionsError::TooManyRegions)
    );
    assert!(Bitmap::new(storage(129), 128).is_none());
}

#[test]
fn initial_state() {
    for mode in [SyncMode::Default, SyncMode::Force] {
        let r = regions(130, mode);
        assert_eq!(r.sync_count(), 0);
        assert!((0..130).all(|i| r.is_clean(i) && !r.in_sync(i) && !r.is_recovering(i)));
    }
    let r = regions(130, SyncMode::NoSync);
    assert_eq!(r.sync_count(), 130);
    assert!((0..130).all(|i| r.is_clean(i) && r.in_sync(i)));
    // No stray bits past the end.
    assert_eq!(r.clean_bits().count_ones(), 130);
    assert!(!r.in_sync(130) && !r.is_clean(130));
}

#[test]
fn mark_and_clear_report_changes() {
    let r = regions(10, SyncMode::Default);
    assert!(r.mark(3));
    assert!(!r.mark(3));
    assert!(!r.is_clean(3));
    assert!(r.clear(3));
    assert!(!r.clear(3));
    assert!(r.is_clean(3));
    // Out of range is ignored.
    assert!(!r.mark(10));
    assert!(!r.clear(10));
}

#[test]
fn resync_hands_out_each_region_once_in_order() {
    let r = regions(200, SyncMode::Default);
    let mut got = Vec::new();
    while let Some(x) = r.next_resync_work() {
        assert!(r.is_recovering(x));
        got.push(x);
    }
    assert_eq!(got, (0..200).collect::<Vec<_>>());
    for x in got {
        r.set_region_sync(x, true);
    }
    assert_eq!(r.sync_count(), 200);
    assert!((0..200).all(|i| !r.is_recovering(i)));
}

#[test]
fn resync_skips_synced_and_recovering() {
    let r = regions(130, SyncMode::Default);
    for i in (0..130).filter(|i| i % 3 != 0) {
        r.set_region_sync(i, true);
    }
    let mut got = Vec::new();
    while let Some(x) = r.next_resync_work() {
        got.push(x);
    }
    assert_eq!(got, (0..130).filter(|i| i % 3 == 0).collect::<Vec<_>>());
}

#[test]
fn failed_region_behind_the_search_waits_for_restart() {
    let r = regions(4, SyncMode::Default);
    assert_eq!(r.next_resync_work(), Some(0));
    r.set_region_sync(0, false);
    assert_eq!(r.next_resync_work(), Some(1));
    r.set_region_sync(1, true);
    assert_eq!(r.next_resync_work(), Some(2));
    r.set_region_sync(2, true);
    assert_eq!(r.next_resync_work(), Some(3));
    r.set_region_sync(3, true);
    assert_eq!(r.next_resync_work(), None);
    r.restart_resync();
    assert_eq!(r.next_resync_work(), Some(0));
}

#[test]
fn sync_count_never_drifts() {
    // C increments the count on every set_region_sync(.., 1), even for a
    // region already in sync; the engine counts bits.
    let r = regions(8, SyncMode::Default);
    r.set_region_sync(5, true);
    r.set_region_sync(5, true);
    assert_eq!(r.sync_count(), 1);
    r.set_region_sync(5, false);
    r.set_region_sync(5, false);
    assert_eq!(r.sync_count(), 0);
    r.set_region_sync(100, true);
    assert_eq!(r.sync_count(), 0);
}

#[test]
fn sync_from_clean_copies_and_counts() {
    let r = regions(100, SyncMode::Default);
    r.mark(7);
    r.mark(99);
    r.sync_from_clean();
    assert_eq!(r.sync_count(), 98);
    assert!(!r.in_sync(7) && !r.in_sync(99) && r.in_sync(8));
}

#[test]
fn bitmap_le_layout_and_ranges() {
    let b = Bitmap::new(storage(70), 70).unwrap();
    b.set(0);
    b.set(9);
    b.set(69);
    assert_eq!(b.word(0), 1 | (1 << 9));
    assert_eq!(b.word(1), 1 << 5);
    let bytes = b.word(0).to_le_bytes();
    assert_eq!(bytes[1], 0b10); // bit 9 is byte 1, bit 1
    b.fill_range(60, 200, true);
    assert_eq!(b.count_ones(), 2 + 10);
    b.load_word(1, u64::MAX);
    assert_eq!(b.word(1), (1 << 6) - 1);
    b.fill_range(0, 70, false);
    assert_eq!(b.count_ones(), 0);
}

/// `filled` and `fill` set every valid bit in one pass and never the bits
/// past the end, whatever the storage held before.
#[test]
fn bitmap_filled_keeps_tail_clear() {
    for bits in [0u64, 1, 63, 64, 65, 70, 128, 129] {
        let words: Vec<AtomicU64> = (0..words_for(bits))
            .map(|_| AtomicU64::new(0x5a5a_5a5a_5a5a_5a5a))
            .collect();
        let b = Bitmap::filled(words, bits, true).unwrap();
        assert_eq!(b.count_ones(), bits, "{bits} bits set");
        if bits % 64 != 0 {
            let last = b.word(bits as usize / 64);
            assert_eq!(last >> (bits % 64), 0, "tail of {bits} bits clear");
        }
        b.fill(false);
        assert_eq!(b.count_ones(), 0);
        let b = Bitmap::new(
            storage(bits)
                .into_iter()
                .map(|_| AtomicU64::new(!0))
                .collect::<Vec<_>>(),
            bits,
        )
        .unwrap();
        assert_eq!(b.count_ones(), 0, "new clears {bits} bits");
    }
    assert!(Bitmap::filled(storage(65), 64, true).is_none());
}

/// `prefilled` trusts the words and writes only the tail; `Regions`
/// built either way start the same.
#[test]
fn prefilled_matches_filled() {
    for bits in [0u64, 1, 64, 65, 200] {
        for ones in [false, true] {
            let v = if ones { u64::MAX } else { 0 };
            let words: Vec<AtomicU64> = (0..words_for(bits)).map(|_| AtomicU64::new(v)).collect();
            let b = Bitmap::prefilled(words, bits, ones).unwrap();
            assert_eq!(b.count_ones(), if ones { bits } else { 0 });
        }
        for mode in [SyncMode::Default, SyncMode::Force, SyncMode::NoSync] {
            let start = StartingBits::for_mode(mode);
            let filled = |ones: bool| -> Vec<AtomicU64> {
                let v = if ones { u64::MAX } else { 0 };
                (0..words_for(bits)).map(|_| AtomicU64::new(v)).collect()
            };
            let p = Regions::prefilled(
                bits,
                mode,
                filled(start.clean),
                filled(start.sync),
                filled(start.recovering),
            )
            .unwrap();
            let r = regions(bits, mode);
            assert_eq!(p.sync_count(), r.sync_count());
            for i in 0..bits {
                assert_eq!(p.is_clean(i), r.is_clean(i));
                assert_eq!(p.in_sync(i), r.in_sync(i));
            }
            assert_eq!(p.clean_bits().count_ones(), r.clean_bits().count_ones());
        }
    }
}

/// The resync state has one writer (the mirror's worker) while other
/// contexts read it and write the clean bitmap: the count stays exact, the
/// clean bits are not disturbed, and readers never see a count past the
/// region count.
#[test]
fn resync_writer_beside_readers_and_clean_writers_keeps_count_exact() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let r = Arc::new(regions(4096, SyncMode::Default));
    let done = Arc::new(AtomicBool::new(false));
    let others: Vec<_> = (0..3u64)
        .map(|t| {
            let (r, done) = (r.clone(), done.clone());
            std::thread::spawn(move || {
                let mut i = t;
                while !done.load(Ordering::Relaxed) {
                    let region = i % 4096;
                    if t == 0 {
                        assert!(r.sync_count() <= 4096);
                        let _ = r.in_sync(region);
                    } else if region % 3 == t {
                        // The clean bits of regions this thread owns.
                        assert!(r.mark(region));
                        assert!(r.clear(region));
                    }
                    i += 7;
                }
            })
        })
        .collect();
    for round in 0..20u64 {
        while let Some(region) = r.next_resync_work() {
            r.set_region_sync(region, (region + round) % 3 != 0);
        }
        r.restart_resync();
        for i in (round % 5..4096).step_by(5) {
            r.set_region_sync(i, false);
        }
    }
    done.store(true, Ordering::Relaxed);
    for t in others {
        t.join().unwrap();
    }
    let ones = (0..4096).filter(|&i| r.in_sync(i)).count() as u64;
    assert_eq!(r.sync_count(), ones);
    assert!((0..4096).all(|i| r.is_clean(i) && !r.is_recovering(i)));
}

/// The reference model: plain booleans and the C logs' documented behaviour
/// (with the sync-count fix).
#[derive(Clone, Debug)]
struct Model {
    clean: Vec<bool>,
    sync: Vec<bool>,
    recovering: Vec<bool>,
    search: u64,
}

impl Model {
    fn new(count: u64, mode: SyncMode) -> Self {
        let n = count as usize;
        Model {
            clean: vec![true; n],
            sync: vec![mode == SyncMode::NoSync; n],
            recovering: vec![false; n],
            search: 0,
        }
    }

    fn next_resync_work(&mut self) -> Option<u64> {
        let n = self.sync.len() as u64;
        while self.search < n {
            let i = self.search as usize;
            self.search += 1;
            if !self.sync[i] && !self.recovering[i] {
                self.recovering[i] = true;
                return Some(i as u64);
            }
        }
        None
    }
}

#[derive(Clone, Debug)]
enum Op {
    Mark(u64),
    Clear(u64),
    Work,
    SetSync(u64, bool),
    Restart,
    SyncFromClean,
    FillClean(u64, u64, bool),
}

fn op(count: u64) -> impl Strategy<Value = Op> {
    let r = 0..count + 2; // a little past the end too
    prop_oneof![
        3 => r.clone().prop_map(Op::Mark),
        3 => r.clone().prop_map(Op::Clear),
        4 => Just(Op::Work),
        4 => (r.clone(), any::<bool>()).prop_map(|(i, s)| Op::SetSync(i, s)),
        1 => Just(Op::Restart),
        1 => Just(Op::SyncFromClean),
        1 => (r.clone(), r, any::<bool>()).prop_map(|(a, b, v)| Op::FillClean(a, b, v)),
    ]
}

fn mode() -> impl Strategy<Value = SyncMode> {
    prop_oneof![
        Just(SyncMode::Default),
        Just(SyncMode::Force),
        Just(SyncMode::NoSync)
    ]
}

fn case() -> impl Strategy<Value = (u64, SyncMode, Vec<Op>)> {
    (1u64..300, mode()).prop_flat_map(|(count, m)| {
        (
            Just(count),
            Just(m),
            proptest::collection::vec(op(count), 0..400),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn engine_matches_model((count, mode, ops) in case()) {
        let r = regions(count, mode);
        let mut m = Model::new(count, mode);
        let n = count as usize;
        for op in ops {
            match op {
                Op::Mark(i) => {
                    let changed = r.mark(i);
                    let want = (i as usize) < n && m.clean[i as usize];
                    if (i as usize) < n { m.clean[i as usize] = false; }
                    prop_assert_eq!(changed, want);
                }
                Op::Clear(i) => {
                    let changed = r.clear(i);
                    let want = (i as usize) < n && !m.clean[i as usize];
                    if (i as usize) < n { m.clean[i as usize] = true; }
                    prop_assert_eq!(changed, want);
                }
                Op::Work => prop_assert_eq!(r.next_resync_work(), m.next_resync_work()),
                Op::SetSync(i, s) => {
                    r.set_region_sync(i, s);
                    if (i as usize) < n {
                        m.recovering[i as usize] = false;
                        m.sync[i as usize] = s;
                    }
                }
                Op::Restart => { r.restart_resync(); m.search = 0; }
                Op::SyncFromClean => { r.sync_from_clean(); m.sync = m.clean.clone(); }
                Op::FillClean(a, b, v) => {
                    r.clean_bits().fill_range(a, b, v);
                    for i in a..b.min(count) { m.clean[i as usize] = v; }
                }
            }
            prop_assert_eq!(r.sync_count(), m.sync.iter().filter(|&&b| b).count() as u64);
        }
        for i in 0..count + 2 {
            let k = i as usize;
            prop_assert_eq!(r.is_clean(i), k < n && m.clean[k]);
            prop_assert_eq!(r.in_sync(i), k < n && m.sync[k]);
            prop_assert_eq!(r.is_recovering(i), k < n && m.recovering[k]);
        }
        prop_assert_eq!(r.clean_bits().count_ones(), m.clean.iter().filter(|&&b| b).count() as u64);
    }
}
