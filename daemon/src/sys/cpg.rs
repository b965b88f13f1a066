// SPDX-License-Identifier: GPL-2.0

//! A thin binding of corosync's closed process groups (`libcpg`, corosync
//! 3): the seven calls cmirrord uses, one connection per log.
//!
//! libcpg reports deliveries and membership changes through callbacks run
//! inside `cpg_dispatch`. Ours copy what they are given into a queue of
//! [`CpgEvent`]s owned by the dispatching thread, which
//! [`Cpg::dispatch`] returns: the rest of the daemon sees plain values.

use std::cell::{Cell, RefCell};
use std::io;
use std::marker::PhantomData;
use std::os::fd::{BorrowedFd, RawFd};

/// `cs_error_t` values used here (`corosync/corotypes.h`).
const CS_OK: i32 = 1;
const CS_ERR_TRY_AGAIN: i32 = 6;
/// `CS_DISPATCH_ALL`.
const CS_DISPATCH_ALL: i32 = 2;
/// `CPG_TYPE_AGREED` (`UNORDERED`, `FIFO`, `AGREED`, `SAFE`): total order.
const CPG_TYPE_AGREED: i32 = 2;
/// `CPG_MAX_NAME_LENGTH`.
pub const CPG_MAX_NAME_LENGTH: usize = 128;

/// `struct cpg_name`.
#[repr(C)]
struct CpgName {
    length: u32,
    value: [u8; CPG_MAX_NAME_LENGTH],
}

/// `struct cpg_address`.
#[repr(C)]
#[derive(Clone, Copy)]
struct CpgAddress {
    nodeid: u32,
    pid: u32,
    reason: u32,
}

type DeliverFn = extern "C" fn(u64, *const CpgName, u32, u32, *mut u8, usize);
type ConfchgFn = extern "C" fn(
    u64,
    *const CpgName,
    *const CpgAddress,
    usize,
    *const CpgAddress,
    usize,
    *const CpgAddress,
    usize,
);

/// `cpg_callbacks_t`.
#[repr(C)]
struct CpgCallbacks {
    deliver: Option<DeliverFn>,
    confchg: Option<ConfchgFn>,
}

#[link(name = "cpg")]
extern "C" {
    fn cpg_initialize(handle: *mut u64, callbacks: *mut CpgCallbacks) -> i32;
    fn cpg_finalize(handle: u64) -> i32;
    fn cpg_fd_get(handle: u64, fd: *mut i32) -> i32;
    fn cpg_local_get(handle: u64, nodeid: *mut u32) -> i32;
    fn cpg_join(handle: u64, group: *const CpgName) -> i32;
    fn cpg_leave(handle: u64, group: *const CpgName) -> i32;
    fn cpg_dispatch(handle: u64, flags: i32) -> i32;
    fn cpg_mcast_joined(handle: u64, guarantee: i32, iov: *const libc::iovec, n: u32) -> i32;
}

/// Why a member left (`CPG_REASON_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaveReason {
    /// `cpg_leave` (a graceful leave).
    Leave,
    /// Its node left the cluster (failed or stopped corosync).
    NodeDown,
    /// Its process died or closed the connection.
    ProcDown,
    /// Anything else corosync may report.
    Other(u32),
}

impl LeaveReason {
    fn from_raw(r: u32) -> Self {
        match r {
            2 => Self::Leave,
            3 => Self::NodeDown,
            5 => Self::ProcDown,
            other => Self::Other(other),
        }
    }
}

/// A member of a group: a process on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    /// The corosync node id.
    pub nodeid: u32,
    /// The process id on that node.
    pub pid: u32,
}

/// What a dispatch delivered, in the group's total order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CpgEvent {
    /// A message multicast by a member (ourselves included).
    Message {
        /// The group (its name's bytes, as joined).
        group: Vec<u8>,
        /// The sender.
        from: Member,
        /// The message.
        data: Vec<u8>,
    },
    /// A membership change.
    Confchg {
        /// The group.
        group: Vec<u8>,
        /// The members after the change.
        members: Vec<Member>,
        /// Who left, and why.
        left: Vec<(Member, LeaveReason)>,
        /// Who joined.
        joined: Vec<Member>,
    },
}

thread_local! {
    static EVENTS: RefCell<Vec<CpgEvent>> = const { RefCell::new(Vec::new()) };
}

/// Copies a `cpg_name` (length clamped to the array).
///
/// # Safety
/// `name` is null or points to a valid `cpg_name`.
unsafe fn name_bytes(name: *const CpgName) -> Vec<u8> {
    // SAFETY: the caller's contract.
    match unsafe { name.as_ref() } {
        Some(n) => n.value[..(n.length as usize).min(CPG_MAX_NAME_LENGTH)].to_vec(),
        None => Vec::new(),
    }
}

/// Copies `n` addresses.
///
/// # Safety
/// `list` points to `n` valid `cpg_address` entries (or `n` is 0).
unsafe fn addresses(list: *const CpgAddress, n: usize) -> Vec<CpgAddress> {
    if list.is_null() || n == 0 {
        return Vec::new();
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(list, n) }.to_vec()
}

extern "C" fn on_deliver(
    _handle: u64,
    group: *const CpgName,
    nodeid: u32,
    pid: u32,
    msg: *mut u8,
    len: usize,
) {
    // SAFETY: libcpg passes its group name and `len` bytes at `msg`, valid
    // for the duration of the callback.
    let (group, data) = unsafe {
        let data = if msg.is_null() || len == 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(msg, len).to_vec()
        };
        (name_bytes(group), data)
    };
    EVENTS.with(|e| {
        e.borrow_mut().push(CpgEvent::Message {
            group,
            from: Member { nodeid, pid },
            data,
        })
    });
}

#[allow(clippy::too_many_arguments)]
extern "C" fn on_confchg(
    _handle: u64,
    group: *const CpgName,
    members: *const CpgAddress,
    n_members: usize,
    left: *const CpgAddress,
    n_left: usize,
    joined: *const CpgAddress,
    n_joined: usize,
) {
    // SAFETY: libcpg passes its group name and three arrays of the given
    // lengths, valid for the duration of the callback.
    let (group, members, left, joined) = unsafe {
        (
            name_bytes(group),
            addresses(members, n_members),
            addresses(left, n_left),
            addresses(joined, n_joined),
        )
    };
    let member = |a: &CpgAddress| Member {
        nodeid: a.nodeid,
        pid: a.pid,
    };
    EVENTS.with(|e| {
        e.borrow_mut().push(CpgEvent::Confchg {
            group,
            members: members.iter().map(member).collect(),
            left: left
                .iter()
                .map(|a| (member(a), LeaveReason::from_raw(a.reason)))
                .collect(),
            joined: joined.iter().map(member).collect(),
        })
    });
}

/// A corosync error as an `io::Error` naming it.
fn cs_error(call: &str, e: i32) -> io::Error {
    let name = match e {
        2 => "CS_ERR_LIBRARY (is corosync running?)",
        6 => "CS_ERR_TRY_AGAIN",
        9 => "CS_ERR_BAD_HANDLE",
        11 => "CS_ERR_ACCESS",
        12 => "CS_ERR_NOT_EXIST",
        14 => "CS_ERR_EXIST",
        _ => "",
    };
    io::Error::other(format!("{call}: corosync error {e} {name}"))
}

fn cs_check(call: &str, e: i32) -> io::Result<()> {
    if e == CS_OK {
        Ok(())
    } else {
        Err(cs_error(call, e))
    }
}

fn cpg_name(name: &[u8]) -> io::Result<CpgName> {
    if name.len() > CPG_MAX_NAME_LENGTH {
        return Err(io::Error::other("CPG group name longer than 128 bytes"));
    }
    let mut n = CpgName {
        length: name.len() as u32,
        value: [0; CPG_MAX_NAME_LENGTH],
    };
    n.value[..name.len()].copy_from_slice(name);
    Ok(n)
}

/// How often a join or leave answered `CS_ERR_TRY_AGAIN` is retried (every
/// 10 ms; cmirrord does not retry at all).
const TRY_AGAIN_LIMIT: u32 = 300;

fn retrying(call: &str, mut f: impl FnMut() -> i32) -> io::Result<()> {
    for _ in 0..TRY_AGAIN_LIMIT {
        match f() {
            CS_ERR_TRY_AGAIN => std::thread::sleep(std::time::Duration::from_millis(10)),
            e => return cs_check(call, e),
        }
    }
    Err(cs_error(call, CS_ERR_TRY_AGAIN))
}

/// One connection to corosync's CPG service. Not `Sync`: libcpg does not
/// promise that one connection may be used from two threads at once.
pub struct Cpg {
    handle: u64,
    fd: RawFd,
    _not_sync: PhantomData<Cell<()>>,
}

impl Cpg {
    /// Connects (`cpg_initialize`).
    pub fn new() -> io::Result<Self> {
        let mut callbacks = CpgCallbacks {
            deliver: Some(on_deliver),
            confchg: Some(on_confchg),
        };
        let mut handle = 0u64;
        // SAFETY: both pointers are live for the call; libcpg copies the
        // callbacks structure.
        cs_check("cpg_initialize", unsafe {
            cpg_initialize(&mut handle, &mut callbacks)
        })?;
        let mut fd = -1;
        // SAFETY: `handle` is the live handle just made; `fd` is live.
        if let Err(e) = cs_check("cpg_fd_get", unsafe { cpg_fd_get(handle, &mut fd) }) {
            // SAFETY: the handle is live and not used again.
            unsafe { cpg_finalize(handle) };
            return Err(e);
        }
        Ok(Cpg {
            handle,
            fd,
            _not_sync: PhantomData,
        })
    }

    /// This node's corosync node id.
    pub fn local_nodeid(&self) -> io::Result<u32> {
        let mut id = 0u32;
        // SAFETY: a live handle and a live output.
        cs_check("cpg_local_get", unsafe {
            cpg_local_get(self.handle, &mut id)
        })?;
        Ok(id)
    }

    /// Joins group `name` (its bytes, at most 128).
    pub fn join(&self, name: &[u8]) -> io::Result<()> {
        let n = cpg_name(name)?;
        // SAFETY: a live handle; `n` is live for the call.
        retrying("cpg_join", || unsafe { cpg_join(self.handle, &n) })
    }

    /// Leaves group `name`.
    pub fn leave(&self, name: &[u8]) -> io::Result<()> {
        let n = cpg_name(name)?;
        // SAFETY: a live handle; `n` is live for the call.
        retrying("cpg_leave", || unsafe { cpg_leave(self.handle, &n) })
    }

    /// Multicasts `msg` to the joined group in total order
    /// (`CPG_TYPE_AGREED`). While corosync is busy (a membership change,
    /// flow control) it answers `CS_ERR_TRY_AGAIN`, returned as
    /// [`io::ErrorKind::WouldBlock`]: send again later, after dispatching.
    pub fn send(&self, msg: &[u8]) -> io::Result<()> {
        let iov = libc::iovec {
            iov_base: msg.as_ptr() as *mut libc::c_void,
            iov_len: msg.len(),
        };
        // SAFETY: a live handle; `iov` describes `msg`, live for the call
        // and only read.
        match unsafe { cpg_mcast_joined(self.handle, CPG_TYPE_AGREED, &iov, 1) } {
            CS_ERR_TRY_AGAIN => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "cpg_mcast_joined: CS_ERR_TRY_AGAIN",
            )),
            e => cs_check("cpg_mcast_joined", e),
        }
    }

    /// Runs the callbacks of everything pending (`CS_DISPATCH_ALL`) and
    /// returns what they delivered, in order.
    pub fn dispatch(&self) -> io::Result<Vec<CpgEvent>> {
        // SAFETY: a live handle; the callbacks only push to EVENTS.
        let r = unsafe { cpg_dispatch(self.handle, CS_DISPATCH_ALL) };
        let events = EVENTS.with(|e| std::mem::take(&mut *e.borrow_mut()));
        if r != CS_OK && r != CS_ERR_TRY_AGAIN {
            return Err(cs_error("cpg_dispatch", r));
        }
        // Nothing delivered and the descriptor hung up: corosync closed it
        // (libcpg may still say CS_OK); polling it again would spin.
        if events.is_empty() && super::hung_up(self.fd) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "cpg_dispatch: corosync closed the connection",
            ));
        }
        Ok(events)
    }

    /// The descriptor to poll for pending events.
    pub fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: libcpg keeps the descriptor open until cpg_finalize in
        // Drop, which the borrow of `self` outlives.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }
}

impl Drop for Cpg {
    fn drop(&mut self) {
        // SAFETY: the handle is live and not used after this.
        unsafe { cpg_finalize(self.handle) };
    }
}
