// SPDX-License-Identifier: GPL-2.0

//! The wire format of the userspace log protocol, as this module uses it.
//!
//! The format itself (header fields, request types, sizes) is
//! [`dm_log_shared::ulog`], shared with the daemon and checked against the
//! C structure at build time (`src/kernel_ext/bindings.rs`); what is here is what the
//! kernel side adds: the connector id and the limits of its buffers.

use crate::kernel_ext::connector::{self, CbId};
pub(crate) use dm_log_shared::ulog::{
    check_reply, encode_regions, u64_at, Expected, Header, RequestType, Verdict, DEVICE_NAME_MAX,
    HEADER_LEN, MAX_ERRNO, REGIONS_PER_REQUEST, UUID_MAX,
};
use dm_log_shared::ulog::{CN_IDX_DM, CN_VAL_DM_USERSPACE_LOG};

/// The connector id of the userspace log service.
pub(crate) const CN_ID: CbId = CbId {
    idx: CN_IDX_DM,
    val: CN_VAL_DM_USERSPACE_LOG,
};

/// The largest request data: the C module sends from a 512-byte buffer
/// holding both headers, and servers may size their buffers the same way.
pub(crate) const MAX_DATA: usize = 512 - connector::HEADER_LEN - HEADER_LEN;
