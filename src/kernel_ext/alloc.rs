// SPDX-License-Identifier: GPL-2.0

//! Allocation helpers the 6.12 `kernel::alloc` lacks.
//!
//! Mainline has no filled constructor for `Vec` either (`Vec::from_elem`
//! needs `Clone`, which atomics are not, and writes element by element). A
//! bitmap of 2^31 regions is 32 Mi words, and loops of atomic stores (three
//! per bitmap) were most of the core log's constructor time at that size,
//! 2.9-3.5 times C's, whose bitmaps are a `vmalloc` and a `memset` each.

use core::{ptr, sync::atomic::AtomicU64};
use kernel::alloc::{AllocError, Allocator, Flags, Vec};

/// Allocates a vector of `n` atomic words with every bit set to `ones`:
/// the allocation and one `memset`, as C does.
pub(crate) fn vec_filled_atomic_u64<A: Allocator>(
    n: usize,
    ones: bool,
    flags: Flags,
) -> Result<Vec<AtomicU64, A>, AllocError> {
    let mut v = Vec::with_capacity(n, flags)?;
    let byte = if ones { 0xff } else { 0 };
    // SAFETY: `with_capacity` reserved room for `n` elements, so the `n`
    // words from `as_mut_ptr` are valid for writes, and nothing else can
    // see them yet. Any bit pattern is a valid `AtomicU64`, so after the
    // write the first `n` elements are initialised and `n <= capacity`.
    unsafe {
        ptr::write_bytes(v.as_mut_ptr(), byte, n);
        v.set_len(n);
    }
    Ok(v)
}
