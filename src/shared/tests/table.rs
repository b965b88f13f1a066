// SPDX-License-Identifier: GPL-2.0

//! Region arguments: the C logs' rules, checked against a plain model.

use dm_log_shared::engine::{SyncMode, MAX_REGIONS};
use dm_log_shared::table::{parse_decimal, ArgError, RegionArgs};
use proptest::prelude::*;

#[test]
fn decimal_is_strict() {
    assert_eq!(parse_decimal(b"0"), Some(0));
    assert_eq!(parse_decimal(b"0042"), Some(42));
    assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
    for bad in [
        &b""[..],
        b"18446744073709551616",
        b"+1",
        b"-1",
        b"0x10",
        b"1 ",
        b" 1",
        b"1k",
    ] {
        assert_eq!(
            parse_decimal(bad),
            None,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn c_order_and_limits() {
    // The sync word is checked before the region size.
    assert_eq!(
        RegionArgs::parse(100, b"x", Some(b"SYNC")),
        Err(ArgError::SyncWord)
    );
    assert_eq!(
        RegionArgs::parse(100, b"3", None),
        Err(ArgError::RegionSize)
    );
    assert_eq!(
        RegionArgs::parse(100, b"1", None),
        Err(ArgError::RegionSize)
    );
    assert_eq!(
        RegionArgs::parse(100, b"128", None),
        Err(ArgError::RegionSize),
        "past the target"
    );
    assert_eq!(
        RegionArgs::parse(u64::MAX, b"4294967296", None),
        Err(ArgError::RegionSize),
        "past u32"
    );
    let a = RegionArgs::parse(100, b"64", Some(b"sync")).unwrap();
    assert_eq!(
        (a.region_size, a.region_count, a.sync),
        (64, 2, SyncMode::Force)
    );
    // 2^32 regions of 2 sectors: one more than the limit.
    assert_eq!(
        RegionArgs::parse(1 << 33, b"2", None),
        Err(ArgError::TooManyRegions {
            region_size: 2,
            count: 1 << 32
        })
    );
    assert_eq!(
        RegionArgs::parse((1 << 33) - 2, b"2", None)
            .unwrap()
            .region_count,
        MAX_REGIONS
    );
}

proptest! {
    #[test]
    fn decimal_round_trip(v: u64) {
        prop_assert_eq!(parse_decimal(v.to_string().as_bytes()), Some(v));
    }

    #[test]
    fn region_args_model(target_len in 1u64..1 << 44, shift in 0u32..40, word in 0usize..4) {
        let size = 1u64 << shift;
        let sync = [None, Some(&b"sync"[..]), Some(&b"nosync"[..]), Some(&b"bogus"[..])][word];
        let got = RegionArgs::parse(target_len, size.to_string().as_bytes(), sync);
        let want = if word == 3 {
            Err(ArgError::SyncWord)
        } else if size < 2 || size > target_len || size > u64::from(u32::MAX) {
            Err(ArgError::RegionSize)
        } else if target_len.div_ceil(size) > MAX_REGIONS {
            Err(ArgError::TooManyRegions { region_size: size as u32, count: target_len.div_ceil(size) })
        } else {
            Ok((size, target_len.div_ceil(size)))
        };
        prop_assert_eq!(got.map(|a| (u64::from(a.region_size), a.region_count)), want);
    }
}
