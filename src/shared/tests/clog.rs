// SPDX-License-Identifier: GPL-2.0

//! The cluster log's group messages: field positions as cmirrord lays them
//! out, refusal of malformed input, checkpoint round trips.

use dm_log_shared::clog::{
    checkpoint_bitmap_len, decode, encode, routed, Checkpoint, CheckpointError, ClogError, Kind,
    CHECKPOINT_READY, HEADER_LEN, MAX_DATA, RESPONSE, VERSION,
};
use dm_log_shared::ulog::{Header, RequestType};
use proptest::prelude::*;

fn msg(t: u32, data: &[u8]) -> Vec<u8> {
    let mut h = Header::request(0x1122_3344_5566_7788, 0xA1B2_C3D4, RequestType::Flush, 0);
    h.request_type = t;
    h.error = -5;
    let mut out = vec![0u8; HEADER_LEN + data.len()];
    let n = encode(2, &h, b"LVM-uuid", data, &mut out).unwrap();
    assert_eq!(n, out.len());
    out
}

/// The offsets cmirrord's `struct clog_request` has on x86_64
/// (`Documentation/cmirrord-protocol.md`, 1.2), all little-endian.
#[test]
fn field_positions() {
    let m = msg(RequestType::MarkRegion as u32, &9u64.to_le_bytes());
    assert_eq!(&m[0..8], &VERSION.to_le_bytes());
    assert_eq!(&m[8..16], &VERSION.to_le_bytes());
    assert_eq!(&m[16..20], &2u32.to_le_bytes());
    assert_eq!(&m[20..24], &[0; 4]);
    assert_eq!(&m[24..32], &[0; 8], "luid always 0 on the wire");
    assert_eq!(&m[32..40], b"LVM-uuid");
    assert!(m[40..164].iter().all(|&b| b == 0));
    assert_eq!(&m[164..168], &3u32.to_le_bytes());
    assert_eq!(&m[168..172], &(-5i32).to_le_bytes());
    assert_eq!(&m[172..176], &0xA1B2_C3D4u32.to_le_bytes());
    assert_eq!(&m[176..180], &10u32.to_le_bytes());
    assert_eq!(&m[180..184], &8u32.to_le_bytes());
    assert_eq!(&m[184..], &9u64.to_le_bytes());
    let d = decode(&m).unwrap();
    assert_eq!(d.kind, Kind::Request(RequestType::MarkRegion));
    assert_eq!(
        (d.originator, d.header.seq, d.header.error),
        (2, 0xA1B2_C3D4, -5)
    );
    assert_eq!(d.uuid, b"LVM-uuid");
}

#[test]
fn routing_follows_cmirrord() {
    use RequestType::*;
    for t in RequestType::ALL {
        let local = matches!(
            t,
            Ctr | Dtr | Presuspend | GetRegionSize | InSync | GetSyncCount | StatusTable
        );
        assert_eq!(routed(t), !local, "{}", t.name());
    }
}

#[test]
fn replies_and_checkpoints() {
    let r = msg(RESPONSE | RequestType::GetResyncWork as u32, &[0; 16]);
    assert_eq!(
        decode(&r).unwrap().kind,
        Kind::Reply(RequestType::GetResyncWork)
    );
    let c = msg(CHECKPOINT_READY, &vec![0; 2000]);
    assert_eq!(decode(&c).unwrap().kind, Kind::CheckpointReady);
}

#[test]
fn refuses_malformed_messages() {
    let good = msg(RequestType::Flush as u32, &[]);
    assert_eq!(decode(&good[..183]), Err(ClogError::Short(183)));
    // A big-endian cmirrord: the first word little-endian, the second its own.
    let mut be = good.clone();
    be[8..16].copy_from_slice(&VERSION.to_be_bytes());
    assert_eq!(decode(&be), Err(ClogError::BigEndianPeer));
    let mut odd = good.clone();
    odd[8..16].copy_from_slice(&6u64.to_le_bytes());
    assert_eq!(decode(&odd), Err(ClogError::Version(6)));
    let mut v4 = good.clone();
    v4[0..8].copy_from_slice(&4u64.to_le_bytes());
    assert_eq!(decode(&v4), Err(ClogError::Version(4)));
    let mut long = good.clone();
    long.push(0);
    assert_eq!(
        decode(&long),
        Err(ClogError::Length {
            data_size: 0,
            got: 1
        })
    );
    let mut lying = good.clone();
    lying[180..184].copy_from_slice(&8u32.to_le_bytes());
    assert_eq!(
        decode(&lying),
        Err(ClogError::Length {
            data_size: 8,
            got: 0
        })
    );
    assert_eq!(
        decode(&msg(RequestType::MarkRegion as u32, &vec![0; MAX_DATA + 8])),
        Err(ClogError::TooMuchData((MAX_DATA + 8) as u32))
    );
    for t in [0, 18, 22, 0x0100 | 10, 0x2000 | 10] {
        assert_eq!(
            decode(&msg(t, &[])),
            Err(ClogError::UnknownType(t)),
            "{t:#x}"
        );
    }
    assert_eq!(
        decode(&msg(RequestType::Ctr as u32, &[])),
        Err(ClogError::LocalType(RequestType::Ctr))
    );
    let mut no_nul = good.clone();
    no_nul[32..161].fill(b'x');
    assert_eq!(decode(&no_nul), Err(ClogError::UuidNotTerminated));
    let h = Header::request(0, 0, RequestType::Flush, 0);
    assert_eq!(
        encode(1, &h, &[b'u'; 129], &[], &mut [0; 200]),
        Err(ClogError::NoRoom)
    );
    assert_eq!(
        encode(1, &h, b"u", &[0; 17], &mut [0; 200]),
        Err(ClogError::NoRoom)
    );
}

#[test]
fn checkpoint_sizes_and_text() {
    // One spare word when 32 divides the count, as cmirrord sizes it.
    assert_eq!(checkpoint_bitmap_len(31), Some(4));
    assert_eq!(checkpoint_bitmap_len(32), Some(8));
    assert_eq!(checkpoint_bitmap_len(2048), Some(260));
    let sync = [0xAAu8; 8];
    let clean = [0x55u8; 8];
    let mut out = [0xFFu8; 80];
    let cp = Checkpoint {
        sync: &sync,
        clean: &clean,
        recovering: Some((7, 4)),
    };
    assert_eq!(cp.encode(&mut out), Some(80));
    assert_eq!(&out[16..20], b"7 4\0");
    assert_eq!(Checkpoint::decode(32, &out), Ok(cp));
    let none = Checkpoint {
        recovering: None,
        ..cp
    };
    none.encode(&mut out).unwrap();
    assert_eq!(&out[16..47], b"18446744073709551615 4294967295");
    assert_eq!(Checkpoint::decode(32, &out).unwrap().recovering, None);
    assert_eq!(
        Checkpoint::decode(64, &out),
        Err(CheckpointError::Size {
            expected: 12,
            data_size: 80
        })
    );
    for text in [&b"33"[..], b"33 4 5", b"x 4", b"33 -1", b"\xff 1"] {
        let mut bad = out;
        bad[16..].fill(0);
        bad[16..16 + text.len()].copy_from_slice(text);
        assert_eq!(Checkpoint::decode(32, &bad), Err(CheckpointError::Text));
    }
    // A recovering region past the end is refused.
    let mut past = out;
    past[16..].fill(0);
    past[16..21].copy_from_slice(b"999 1");
    assert_eq!(Checkpoint::decode(32, &past), Err(CheckpointError::Text));
}

proptest! {
    /// Whatever the bytes, decoding returns (never panics), and a message
    /// that decodes re-encodes to the same bytes but for the unread fields.
    #[test]
    fn decode_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..600), flip in 0usize..600) {
        let _ = decode(&bytes);
        let mut m = msg(RequestType::IsRemoteRecovering as u32, &[1; 8]);
        let i = flip % m.len();
        m[i] ^= 0x5A;
        if let Ok(d) = decode(&m) {
            let mut out = vec![0u8; m.len()];
            let n = encode(d.originator, &d.header, d.uuid, d.data, &mut out).unwrap();
            prop_assert_eq!(n, m.len());
            // The bookkeeping word, the luid, the bytes after the UUID's
            // NUL and the padding are not carried.
            prop_assert!((20..32).contains(&i) || (32..164).contains(&i) || out == m);
        }
        let _ = Checkpoint::decode(64, &bytes);
    }
}

#[test]
fn checkpoint_extension_round_trips_and_refuses_garbage() {
    use dm_log_shared::clog::ext::{self, Ext};
    let marks = [(1u32, 0u64), (2, 99), (2, 7)];
    let prio = [5u64, 60];
    let valid = [3u32, 1];
    let mut buf = vec![0u8; ext::len(3, 2, 2).unwrap()];
    let n = ext::encode(marks.iter().copied(), &prio, &valid, 42, 7, &mut buf).unwrap();
    assert_eq!(n, 36 + 36 + 16 + 8);
    let e = Ext::decode(&buf, 100).unwrap();
    assert_eq!(e.marks().collect::<Vec<_>>(), marks);
    assert_eq!(e.priority().collect::<Vec<_>>(), prio);
    assert_eq!(e.valid().collect::<Vec<_>>(), valid);
    assert_eq!(e.sync_search, 42);
    assert_eq!(e.included, 7);
    // A region past the end, wrong counts, a wrong magic, truncation.
    assert!(Ext::decode(&buf, 99).is_none());
    assert!(Ext::decode(&buf, 60).is_none(), "priority region 60 of 60");
    for (at, v) in [(8, 4u8), (12, 3), (16, 3), (0, b'x')] {
        let mut bad = buf.clone();
        bad[at] = v;
        assert!(Ext::decode(&bad, 100).is_none(), "byte {at}");
    }
    let mut bad = buf.clone();
    bad[20..28].copy_from_slice(&102u64.to_le_bytes());
    assert!(Ext::decode(&bad, 100).is_none(), "scan past the end");
    assert!(Ext::decode(&buf[..n - 1], 100).is_none());
    assert!(Ext::decode(&buf[..4], 100).is_none());
    assert!(ext::encode(marks.iter().copied(), &prio, &valid, 0, 0, &mut buf[..30]).is_none());
}
