// SPDX-License-Identifier: GPL-2.0

//! The userspace log wire format: field positions and round trips.

use dm_log_shared::ulog::{
    check_reply, encode_regions, field, u64_at, Expected, Header, Rejection, RequestType, Verdict,
    HEADER_LEN, MAX_ERRNO, MAX_KERNEL_DATA, REGIONS_PER_REQUEST, UUID_LEN, UUID_MAX, VERSION,
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

fn sync_count_request() -> Expected {
    Expected {
        request_type: RequestType::GetSyncCount,
        luid: 7,
        data: 8..=8,
    }
}

fn reply(luid: u64, error: i32, request_type: u32, data_size: u32) -> Header {
    Header {
        luid,
        version: VERSION,
        error,
        seq: 1,
        request_type,
        data_size,
    }
}

#[test]
fn replies_accepted() {
    let e = sync_count_request();
    let t = RequestType::GetSyncCount as u32;
    assert_eq!(check_reply(&e, &reply(7, 0, t, 8), 8), Ok(Verdict::Data(8)));
    // cmirrord answers with log id 0, its wildcard; bits above the low 8 of
    // the type are the server's.
    assert_eq!(
        check_reply(&e, &reply(0, 0, t | 0x100, 8), 100),
        Ok(Verdict::Data(8))
    );
    // An error reply completes at once, whatever its size says (cmirrord's
    // -ENOSPC comes with data_size 4000 and no data).
    assert_eq!(
        check_reply(&e, &reply(7, -28, t, 4000), 0),
        Ok(Verdict::Failed(-28))
    );
    assert_eq!(
        check_reply(&e, &reply(7, -MAX_ERRNO, t, 0), 0),
        Ok(Verdict::Failed(-MAX_ERRNO))
    );
}

#[test]
fn replies_rejected_in_order_with_the_kernel_log_text() {
    let e = sync_count_request();
    let t = RequestType::GetSyncCount as u32;
    let mut h = reply(7, 0, t, 8);
    h.version = 2;
    let r = check_reply(&e, &h, 8).unwrap_err();
    assert_eq!(r.to_string(), "version 2, expected 3");
    // Version first, then type and log id, then the errno, then the size.
    h.version = VERSION;
    h.luid = 9;
    h.error = 5;
    let r = check_reply(&e, &h, 8).unwrap_err();
    assert_eq!(
        r.to_string(),
        "answers request type 14 of log 9, but it was type 14 of log 7"
    );
    h.luid = 7;
    let r = check_reply(&e, &h, 8).unwrap_err();
    assert_eq!(r, Rejection::BadErrno(5));
    assert_eq!(r.to_string(), "error 5 is not a negative errno");
    h.error = -MAX_ERRNO - 1;
    assert_eq!(check_reply(&e, &h, 8), Err(Rejection::BadErrno(-4096)));
    h.error = 0;
    let r = check_reply(&e, &h, 4).unwrap_err();
    assert_eq!(
        r.to_string(),
        "data size 8 but only 4 bytes follow the header"
    );
    assert!(!r.too_much_data());
    h.data_size = 16;
    let r = check_reply(&e, &h, 16).unwrap_err();
    assert_eq!(r.to_string(), "16 bytes of reply data, expected 8 to 8");
    assert!(r.too_much_data(), "the C module's ENOSPC");
    h.data_size = 4;
    let r = check_reply(&e, &h, 16).unwrap_err();
    assert!(!r.too_much_data(), "too little: EIO");
    h.request_type = RequestType::Flush as u32;
    h.data_size = 8;
    assert!(matches!(
        check_reply(&e, &h, 8),
        Err(Rejection::Mismatch { .. })
    ));
}

proptest! {
    /// Whatever a peer sends, the verdict follows the rules: a valid reply
    /// is one whose every field passes, and data never comes from beyond
    /// what was received.
    #[test]
    fn any_reply(luid in prop_oneof![Just(0u64), Just(7u64), any::<u64>()],
                 version in prop_oneof![Just(VERSION), any::<u32>()],
                 error in prop_oneof![Just(0i32), -5000i32..5000, any::<i32>()],
                 request_type in prop_oneof![Just(14u32), any::<u32>()],
                 data_size in prop_oneof![Just(8u32), 0u32..64, any::<u32>()],
                 available in 0usize..64) {
        let e = sync_count_request();
        let h = Header { luid, version, error, seq: 1, request_type, data_size };
        match check_reply(&e, &h, available) {
            Ok(Verdict::Data(n)) => {
                prop_assert!(error == 0 && version == VERSION && n == 8 && n <= available);
                prop_assert!(luid == 0 || luid == 7);
                prop_assert_eq!(request_type & 0xff, 14);
            }
            Ok(Verdict::Failed(err)) => prop_assert!((-MAX_ERRNO..0).contains(&err) && err == error),
            Err(_) => {}
        }
    }


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
