// SPDX-License-Identifier: GPL-2.0

//! The userspace log wire format: field positions and round trips.

use dm_log_shared::ulog::{
    encode_regions, field, u64_at, Header, RequestType, HEADER_LEN, MAX_KERNEL_DATA,
    REGIONS_PER_REQUEST, UUID_LEN, UUID_MAX, VERSION,
};
use proptest::prelude::*;

#[test]
fn field_positions() {
    let h = Header {
        luid: 0x1122_3344_5566_7788,
        version: VERSION,
        error: -28,
        seq: 0xA1B2_C3D4,
        request_type: 9,
        data_size: 16,
    };
    let mut msg = [0xFFu8; HEADER_LEN + 4];
    h.encode(b"LVM-x", &mut msg);
    assert_eq!(&msg[0..8], &0x1122_3344_5566_7788u64.to_ne_bytes());
    assert_eq!(&msg[8..13], b"LVM-x");
    assert!(
        msg[13..140].iter().all(|&b| b == 0),
        "uuid NUL padded, padding zero"
    );
    assert_eq!(&msg[140..144], &3u32.to_ne_bytes());
    assert_eq!(&msg[144..148], &(-28i32).to_ne_bytes());
    assert_eq!(&msg[148..152], &0xA1B2_C3D4u32.to_ne_bytes());
    assert_eq!(&msg[152..156], &9u32.to_ne_bytes());
    assert_eq!(&msg[156..160], &16u32.to_ne_bytes());
    assert_eq!(&msg[160..], &[0xFF; 4], "data left alone");
    assert_eq!(field::DATA_SIZE.end, HEADER_LEN);
    assert_eq!(MAX_KERNEL_DATA, 332);
}

#[test]
fn uuid_cut_and_read_back() {
    let long = [b'a'; 200];
    let mut msg = [0u8; HEADER_LEN];
    Header::request(1, 2, RequestType::Ctr, 0).encode(&long, &mut msg);
    assert_eq!(Header::uuid(&msg), &long[..UUID_MAX]);
    assert_eq!(msg[field::UUID.end - 1], 0, "always NUL-terminated");
    // A peer's UUID without a NUL is read whole, never past the field.
    msg[field::UUID].fill(b'z');
    assert_eq!(Header::uuid(&msg).len(), UUID_LEN);
    assert_eq!(Header::uuid(&msg[..100]), b"");
}

#[test]
fn request_types() {
    for (i, t) in RequestType::ALL.iter().enumerate() {
        assert_eq!(*t as u32, i as u32 + 1);
        assert_eq!(RequestType::from_raw(*t as u32), Some(*t));
        assert_eq!(
            RequestType::from_raw(0xABCD_0000 | *t as u32),
            Some(*t),
            "high bits free"
        );
    }
    assert_eq!(RequestType::from_raw(0), None);
    assert_eq!(RequestType::from_raw(18), None);
    assert_eq!(
        RequestType::IsRemoteRecovering.name(),
        "IS_REMOTE_RECOVERING"
    );
}

#[test]
fn regions_encoding() {
    let mut buf = [0u8; REGIONS_PER_REQUEST * 8];
    let regions: Vec<u64> = (0..REGIONS_PER_REQUEST as u64)
        .map(|r| r * 1000 + 7)
        .collect();
    let data = encode_regions(&regions, &mut buf);
    assert_eq!(data.len(), 256);
    for (i, r) in regions.iter().enumerate() {
        assert_eq!(u64_at(data, i * 8), Some(*r));
    }
    assert_eq!(u64_at(data, 252), None);
    assert_eq!(encode_regions(&[], &mut buf), &[] as &[u8]);
}

proptest! {
    #[test]
    fn header_round_trip(luid: u64, version: u32, error: i32, seq: u32, request_type: u32,
                         data_size: u32, uuid in prop::collection::vec(1u8.., 0..=UUID_MAX)) {
        let h = Header { luid, version, error, seq, request_type, data_size };
        let mut msg = vec![0u8; HEADER_LEN];
        h.encode(&uuid, &mut msg);
        prop_assert_eq!(Header::decode(&msg), Some(h));
        prop_assert_eq!(Header::uuid(&msg), &uuid[..]);
    }

    #[test]
    fn short_messages_have_no_header(n in 0usize..HEADER_LEN) {
        prop_assert_eq!(Header::decode(&vec![0u8; n]), None);
    }
}
