// SPDX-License-Identifier: GPL-2.0

//! Thin wrappers around the libc calls the daemon needs: the netlink
//! connector socket, `signalfd` and `poll`; and, in [`cpg`], corosync's
//! closed process groups for cluster logs.
//!
//! This is the only module of the crate with `unsafe` code. Every block is a
//! single system call on a descriptor owned by the wrapper, with buffers and
//! lengths taken from live Rust objects.

use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use crate::proto::CN_IDX_DM;

pub mod cpg;

/// `NETLINK_CONNECTOR`.
pub const NETLINK_CONNECTOR: i32 = 11;
/// Receive buffer size asked for.
pub const RCVBUF_BYTES: i32 = 4 << 20;

/// Turns a `-1` return into the current `errno`.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn sockaddr_nl(pid: u32, groups: u32) -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is a plain C struct for which all-zero bytes are a
    // valid value (it has a private padding field, hence no literal).
    let mut addr: libc::sockaddr_nl = unsafe { mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_pid = pid;
    addr.nl_groups = groups;
    addr
}

fn setsockopt_int(fd: &OwnedFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` lives for the call and its exact size is passed.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            mem::size_of::<i32>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// One received datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes stored in the buffer.
    pub len: usize,
    /// Netlink port of the sender (0 = the kernel).
    pub sender: u32,
    /// The datagram was larger than the buffer.
    pub truncated: bool,
}

/// A netlink connector socket.
pub struct NetlinkSocket {
    fd: OwnedFd,
    port: u32,
}

impl NetlinkSocket {
    /// Opens a `NETLINK_CONNECTOR` datagram socket bound to a port the
    /// kernel assigns. With `join_dm_group`, joins multicast group
    /// `CN_IDX_DM` (needs `CAP_NET_ADMIN`) and enlarges the receive buffer.
    pub fn open(join_dm_group: bool) -> io::Result<Self> {
        // SAFETY: a plain syscall with constant arguments.
        let raw = check(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                NETLINK_CONNECTOR,
            )
        })?;
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let addr = sockaddr_nl(0, 0);
        // SAFETY: `addr` is a valid sockaddr_nl and its size is passed.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        if join_dm_group {
            setsockopt_int(
                &fd,
                libc::SOL_NETLINK,
                libc::NETLINK_ADD_MEMBERSHIP,
                CN_IDX_DM as i32,
            )?;
            if setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RCVBUF_BYTES).is_err() {
                // Without CAP_NET_ADMIN the limit is net.core.rmem_max.
                let _ = setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF_BYTES);
            }
        }
        let mut bound = sockaddr_nl(0, 0);
        let mut len = mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `bound` and `len` are live and `len` is its size.
        check(unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                (&mut bound as *mut libc::sockaddr_nl).cast(),
                &mut len,
            )
        })?;
        Ok(NetlinkSocket {
            fd,
            port: bound.nl_pid,
        })
    }

    /// The port the kernel assigned (used as `nlmsg_pid`).
    pub fn port(&self) -> u32 {
        self.port
    }

    /// Receives one datagram without blocking (`EAGAIN` when none is
    /// queued, `ENOBUFS` when the kernel dropped messages).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        let mut from = sockaddr_nl(0, 0);
        let mut len = mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `buf`, `from` and `len` are live for the call, and the
        // lengths passed are theirs.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
                (&mut from as *mut libc::sockaddr_nl).cast(),
                &mut len,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        Ok(Received {
            len: n.min(buf.len()),
            sender: from.nl_pid,
            truncated: n > buf.len(),
        })
    }

    /// Sends one datagram to the kernel (port 0, no group).
    pub fn send_to_kernel(&self, msg: &[u8]) -> io::Result<()> {
        let to = sockaddr_nl(0, 0);
        // SAFETY: `msg` and `to` are live for the call with their sizes.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&to as *const libc::sockaddr_nl).cast(),
                mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

impl AsFd for NetlinkSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A `signalfd` for a set of signals, which are blocked for normal
/// delivery while it exists (they are never unblocked: the process exits).
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// Blocks `signals` and opens a non-blocking signalfd for them.
    pub fn new(signals: &[i32]) -> io::Result<Self> {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it.
        let mut set: libc::sigset_t = unsafe { mem::zeroed() };
        // SAFETY: `set` is a live sigset_t.
        check(unsafe { libc::sigemptyset(&mut set) })?;
        for &s in signals {
            // SAFETY: `set` is a live, initialised sigset_t.
            check(unsafe { libc::sigaddset(&mut set, s) })?;
        }
        // SAFETY: `set` is initialised; the old mask is not wanted.
        check(unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) })?;
        // SAFETY: -1 asks for a new descriptor; `set` is initialised.
        let raw =
            check(unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) })?;
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        Ok(SignalFd {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        })
    }

    /// The next pending signal number, if any.
    pub fn read(&self) -> io::Result<Option<i32>> {
        // SAFETY: signalfd_siginfo is plain data.
        let mut info: libc::signalfd_siginfo = unsafe { mem::zeroed() };
        let size = mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: `info` is live and `size` is its size.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EAGAIN) => Ok(None),
                _ => Err(e),
            };
        }
        Ok((n as usize == size).then_some(info.ssi_signo as i32))
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Waits until one of `fds` is readable (or `timeout_ms`, -1 = forever);
/// returns which are. `EINTR` gives all false.
pub fn poll_readable(fds: &[BorrowedFd<'_>], timeout_ms: i32) -> io::Result<Vec<bool>> {
    let raw: Vec<RawFd> = fds.iter().map(|fd| fd.as_raw_fd()).collect();
    poll_raw(&raw, timeout_ms)
}

/// [`poll_readable`] on raw descriptors (those libraries own, such as a
/// CPG connection's); a closed one reads as ready (`POLLNVAL`).
pub fn poll_raw(fds: &[RawFd], timeout_ms: i32) -> io::Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `pfds` is a live array of `pfds.len()` pollfd structures.
    let r = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EINTR) {
            return Ok(vec![false; fds.len()]);
        }
        return Err(e);
    }
    Ok(pfds
        .iter()
        .map(|p| p.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0)
        .collect())
}

/// Whether the peer of `fd` has gone (`POLLHUP`, `POLLERR` or `POLLNVAL`
/// now, without waiting).
pub fn hung_up(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    };
    // SAFETY: `p` is one live pollfd structure; a zero timeout.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    r > 0 && p.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0
}

/// Drops the clean page-cache pages of `file` (`POSIX_FADV_DONTNEED`), so
/// that reads go to the device; dirty pages are written back first.
pub fn drop_page_cache(file: &std::fs::File) -> io::Result<()> {
    file.sync_data()?;
    // SAFETY: a plain syscall on a descriptor `file` owns, for the whole
    // file (offset 0, length 0 = to the end).
    let e = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if e == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(e))
    }
}

/// `CAP_NET_ADMIN`: needed to join the connector group (in principle; see
/// [`missing_capabilities`]).
pub const CAP_NET_ADMIN: u32 = 12;
/// `CAP_SYS_ADMIN`: the kernel silently ignores log replies from a sender
/// without it (`cn_ulog_callback`).
pub const CAP_SYS_ADMIN: u32 = 21;

/// The effective capability set, from `/proc/self/status` (`None` if it
/// cannot be read).
pub fn effective_capabilities() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// Names of the capabilities a log server needs and lacks. The kernel's
/// `cn_bind` lets any user join group 7 (it tests bit 0 of the group
/// *number*, meant for `CN_IDX_PROC`), so a successful bind proves nothing:
/// without `CAP_SYS_ADMIN` every reply would be dropped silently.
pub fn missing_capabilities() -> Vec<&'static str> {
    let Some(caps) = effective_capabilities() else {
        return Vec::new();
    };
    [
        (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
        (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
    ]
    .iter()
    .filter(|(bit, _)| caps & (1u64 << bit) == 0)
    .map(|(_, name)| *name)
    .collect()
}

/// The real user id of the process.
pub fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Name of a signal for log lines.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGHUP => "SIGHUP".into(),
        other => format!("signal {other}"),
    }
}
