// SPDX-License-Identifier: GPL-2.0

//! The on-disk format: header round trips, the area geometry against a
//! plain model, and run coalescing against a naive one.

use dm_log_shared::ondisk::{
    Header, HeaderError, LogArea, Runs, BITMAP_OFFSET, HEADER_LEN, MAGIC, VERSION,
};
use proptest::prelude::*;

#[test]
fn header_bytes_are_the_c_logs() {
    let mut area = [0xEEu8; 32];
    Header::current(0x0102_0304_0506_0708).encode(&mut area);
    assert_eq!(&area[0..4], b"rRiM", "MiRr, little endian");
    assert_eq!(&area[4..8], &[2, 0, 0, 0]);
    assert_eq!(&area[8..16], &[8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(&area[16..], &[0xEE; 16], "bytes after the header kept");
    assert_eq!(MAGIC, 0x4D69_5272);
    assert_eq!((HEADER_LEN, BITMAP_OFFSET, VERSION), (16, 1024, 2));
}

#[test]
fn header_versions() {
    let h = |magic, version| Header {
        magic,
        version,
        nr_regions: 9,
    };
    assert_eq!(h(MAGIC, 2).recorded(), Ok(9));
    assert_eq!(h(MAGIC, 1).recorded(), Ok(9), "version 1 is read as 2");
    assert_eq!(h(MAGIC, 3).recorded(), Err(HeaderError::Version(3)));
    assert_eq!(h(MAGIC, 0).recorded(), Err(HeaderError::Version(0)));
    assert_eq!(h(0, 2).recorded(), Err(HeaderError::NotALog));
    assert_eq!(Header::decode(&[0; 15]), None);
}

#[test]
fn area_geometry() {
    // 0 regions: the header block only, at 512 and at 4096.
    assert_eq!(LogArea::new(0, 512).unwrap().len(), 1024);
    assert_eq!(LogArea::new(0, 4096).unwrap().len(), 4096);
    assert_eq!(LogArea::new(1, 512).unwrap().len(), 1536);
    assert_eq!(LogArea::new(4096, 512).unwrap().len(), 1536);
    assert_eq!(LogArea::new(4097, 512).unwrap().len(), 2048);
    // 1 TiB in 512 KiB regions: 2 Mi regions, 256 KiB of bitmap.
    let a = LogArea::new(2 << 20, 4096).unwrap();
    assert_eq!(a.len(), 4096 + 256 * 1024);
    assert_eq!(a.blocks(), 65);
    assert_eq!(
        a.block_of_region(0),
        0,
        "first words share the header block"
    );
    assert_eq!(a.block_of_region(3 * 4096 * 8), 3);
    for bs in [0, 1, 256, 511, 513, 1000, 3 * 512] {
        assert_eq!(LogArea::new(10, bs), None, "block size {bs}");
    }
}

#[test]
fn words_in_blocks() {
    let a = LogArea::new(10_000, 512).unwrap();
    // Block 1 holds bytes 512..1024: header only.
    assert_eq!(a.words_in(0..2), 0..0);
    assert_eq!(a.words_in(2..3), 0..64);
    assert_eq!(a.words_in(3..4), 64..128);
    // The last block: words 128..157 of the bitmap and its padding to 192.
    assert_eq!(a.words(), 157);
    assert_eq!(a.blocks(), 5);
    assert_eq!(a.words_in(4..5), 128..192);
    assert_eq!(a.words_in(0..a.blocks()), 0..192);
    assert_eq!(a.words_in(5..9), 0..0, "past the end");
}

/// The byte ranges of runs of set blocks, found one block at a time.
fn naive_runs(words: &[u64], bs: usize) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for b in 0..words.len() * 64 {
        if words[b / 64] & (1 << (b % 64)) != 0 {
            match out.last_mut() {
                Some(r) if r.end == b * bs => r.end += bs,
                _ => out.push(b * bs..(b + 1) * bs),
            }
        }
    }
    out
}

proptest! {
    #[test]
    fn header_round_trip(magic: u32, version: u32, nr_regions: u64) {
        let h = Header { magic, version, nr_regions };
        let mut area = [0u8; 1024];
        h.encode(&mut area);
        prop_assert_eq!(Header::decode(&area), Some(h));
    }

    #[test]
    fn bitmap_words_round_trip(words in prop::collection::vec(any::<u64>(), 0..200)) {
        let a = LogArea::new(words.len() as u64 * 64, 512).unwrap();
        let mut area = vec![0u8; a.len()];
        for (w, &bits) in words.iter().enumerate() {
            LogArea::store_word(&mut area, w, bits);
        }
        for (w, &bits) in words.iter().enumerate() {
            prop_assert_eq!(LogArea::load_word(&area, w), bits);
            // Bit i of region r is at byte r / 8, bit r % 8: the C layout.
            for i in 0..64 {
                let r = w * 64 + i;
                let byte = area[BITMAP_OFFSET + r / 8];
                prop_assert_eq!(byte >> (r % 8) & 1 == 1, bits >> i & 1 == 1);
            }
        }
    }

    #[test]
    fn region_blocks_hold_their_words(regions in 1u64..1 << 24, shift in 9u32..13, r: u64) {
        let a = LogArea::new(regions, 1 << shift).unwrap();
        let r = r % regions;
        let b = a.block_of_region(r);
        prop_assert!(b < a.blocks());
        prop_assert!(a.words_in(b..b + 1).contains(&((r / 64) as usize)));
        prop_assert!(a.words_in(0..a.blocks()).end >= a.words());
    }

    #[test]
    fn runs_match_the_naive_ones(words in prop::collection::vec(
        prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()], 0..12), shift in 9u32..13) {
        let bs = 1usize << shift;
        let got: Vec<_> = Runs::new(&words, bs).collect();
        prop_assert_eq!(got, naive_runs(&words, bs));
    }
}
