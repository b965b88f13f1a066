// SPDX-License-Identifier: GPL-2.0

//! Status truncation: what device-mapper's `DMEMIT` keeps.

use core::fmt::Write;
use dm_log_shared::status::StatusWriter;
use proptest::prelude::*;

#[test]
fn edges() {
    let mut empty: [u8; 0] = [];
    let mut out = StatusWriter::new(&mut empty);
    write!(out, "anything").unwrap();
    assert_eq!(out.written(), 0);

    let mut one = [0xFFu8; 1];
    let mut out = StatusWriter::new(&mut one);
    write!(out, "x").unwrap();
    assert_eq!((out.written(), one), (0, [0]));

    let mut buf = [0xFFu8; 6];
    let mut out = StatusWriter::new(&mut buf);
    out.write_bytes(b"ab\0cd");
    out.write_str("xyz").unwrap();
    out.write_str("more").unwrap();
    assert_eq!(out.as_bytes(), b"abxyz");
    assert_eq!(&buf, b"abxyz\0");
}

proptest! {
    /// Whatever is written in whatever pieces, the buffer holds the first
    /// `len - 1` bytes of the whole, then a NUL.
    #[test]
    fn prefix_then_nul(pieces in prop::collection::vec("[a-z0-9 ]{0,20}", 0..10), len in 0usize..64) {
        let mut buf = vec![0xFFu8; len];
        let mut out = StatusWriter::new(&mut buf);
        let mut whole = String::new();
        for (i, p) in pieces.iter().enumerate() {
            if i % 2 == 0 {
                out.write_str(p).unwrap();
            } else {
                out.write_bytes(p.as_bytes());
            }
            whole.push_str(p);
        }
        let n = whole.len().min(len.saturating_sub(1));
        prop_assert_eq!(out.written(), n);
        prop_assert_eq!(&buf[..n], &whole.as_bytes()[..n]);
        if len > 0 {
            prop_assert_eq!(buf[n], 0);
        }
    }
}
