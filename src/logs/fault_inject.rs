// SPDX-License-Identifier: GPL-2.0

//! Fault injection for the tests, in kernels built with
//! `CONFIG_FAULT_INJECTION_DEBUG_FS` (the sanitizer test kernel, `make
//! check-debug`); a kernel without it compiles none of this.
//!
//! `/sys/kernel/debug/dm_log_rs/race_leg_flush` makes the disk log's one
//! timing-dependent failure path happen on demand: a leg flush failing on
//! the delayed work item while kmirrord is inside `clear_region`, between
//! the region's pending bit and its clean bit (review 2026-11, §3). Writing
//! [`ARMED`] to it makes the next `clear_region` that takes a pending bit
//! stop there, make its region due and queue the work item on an unbound
//! worker (so it runs on another CPU), and wait; the work item's leg flush
//! is then treated as failed, and once it has reset the clean bits the
//! clear goes on. The file ends at [`RACED_DIRTY`] (the region left dirty,
//! as the C log leaves every region after a failed leg flush),
//! [`RACED_CLEAN`] (left clean: the defect) or [`TIMED_OUT`] (no flush came;
//! nothing was injected). The knob is the module's, not a log's: while a
//! clear waits, the first cleaning flush of any disk log takes the failure.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::time::Ktime;

/// The state of the race, shown and armed through debugfs.
pub(crate) static RACE_LEG_FLUSH: AtomicU32 = AtomicU32::new(IDLE);

/// Nothing armed.
pub(crate) const IDLE: u32 = 0;
/// Armed by the test: the next clear that takes a pending bit waits.
pub(crate) const ARMED: u32 = 1;
/// A clear waits; the next cleaning flush fails its leg flush.
pub(crate) const CLEAR_WAITS: u32 = 2;
/// That flush failed and reset the clean bits; the clear goes on.
pub(crate) const FLUSH_FAILED: u32 = 3;
/// The clear ended with its region dirty.
pub(crate) const RACED_DIRTY: u32 = 4;
/// The clear ended with its region clean.
pub(crate) const RACED_CLEAN: u32 = 5;
/// No flush failed within [`WAIT_NS`]; the clear went on.
pub(crate) const TIMED_OUT: u32 = 6;

/// How long a clear waits for the flush: well below the soft-lockup and
/// RCU-stall limits (it spins: `clear_region` may not sleep).
const WAIT_NS: i64 = 5_000_000_000;

/// Called by `clear_region` between its pending bit and its clean bit.
/// If armed, runs `start_flush` and spins until a flush has failed (or
/// [`WAIT_NS`]); returns whether this clear is the one that waited.
pub(crate) fn clear_window(start_flush: impl FnOnce()) -> bool {
    if RACE_LEG_FLUSH
        .compare_exchange(ARMED, CLEAR_WAITS, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return false;
    }
    start_flush();
    let start = Ktime::ktime_get().to_ns();
    while RACE_LEG_FLUSH.load(Ordering::Acquire) != FLUSH_FAILED {
        if Ktime::ktime_get().to_ns() - start > WAIT_NS {
            // Unless the failure came just now.
            return RACE_LEG_FLUSH
                .compare_exchange(CLEAR_WAITS, TIMED_OUT, Ordering::AcqRel, Ordering::Acquire)
                .is_err();
        }
        core::hint::spin_loop();
    }
    true
}

/// Called by a cleaning flush before it flushes the legs: whether to take
/// the leg flush as failed (a clear waits for that).
pub(crate) fn leg_flush_fails() -> bool {
    RACE_LEG_FLUSH.load(Ordering::Acquire) == CLEAR_WAITS
}

/// Called by that flush once it has reset the clean bits: lets the clear
/// go on.
pub(crate) fn leg_flush_failed() {
    let _ = RACE_LEG_FLUSH.compare_exchange(
        CLEAR_WAITS,
        FLUSH_FAILED,
        Ordering::AcqRel,
        Ordering::Relaxed,
    );
}

/// Called by the clear that waited, when it is done: records how it left
/// its region.
pub(crate) fn clear_done(region_clean: bool) {
    let end = if region_clean {
        RACED_CLEAN
    } else {
        RACED_DIRTY
    };
    RACE_LEG_FLUSH.store(end, Ordering::Release);
}
