// SPDX-License-Identifier: GPL-2.0

//! The single-threaded poll loop shared by `dm-logd` and
//! `dm-ulog-tool serve`: wait on the netlink socket, a signalfd and the CPG
//! connections of cluster logs, answer every request from the kernel
//! (a cluster log's once its group applied it), return on SIGTERM/SIGINT.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use crate::errno;
use crate::proto::{self, Incoming, Request};
use crate::server::Server;
use crate::sys::{poll_raw, signal_name, NetlinkSocket, SignalFd};

/// Receive buffer size: a connector message is at most 16 KiB.
pub const RECV_BUFFER: usize = 64 * 1024;

/// What a run of the loop did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// Requests answered (including `-EINVAL` answers).
    pub served: u64,
    /// Messages dropped as unanswerable or not from the kernel.
    pub dropped: u64,
    /// Times the kernel reported lost messages (`ENOBUFS`).
    pub overruns: u64,
    /// Replies that could not be sent.
    pub send_errors: u64,
    /// Requests of cluster logs answered after their group applied them.
    pub deferred: u64,
    /// The signal that ended the loop.
    pub signal: Option<i32>,
}

/// Called before each reply is sent, with the request and the reply
/// payload; returns how many extra messages it sent. Used by the test tool
/// to inject hostile messages.
pub trait BeforeReply {
    /// See the trait documentation.
    fn before_reply(&mut self, sock: &NetlinkSocket, req: &Request, reply: &[u8]) -> u64;

    /// May change the reply itself before it is sent (the test tool's
    /// imitations of other servers' quirks). The default sends it as is.
    fn rewrite(&mut self, _req: &Request, reply: Vec<u8>) -> Vec<u8> {
        reply
    }
}

/// No injection.
pub struct Plain;

impl BeforeReply for Plain {
    fn before_reply(&mut self, _: &NetlinkSocket, _: &Request, _: &[u8]) -> u64 {
        0
    }
}

fn send_reply(sock: &NetlinkSocket, stats: &mut LoopStats, seq: u32, payload: &[u8]) {
    let msg = proto::encode_reply(sock.port(), seq, payload);
    if let Err(e) = sock.send_to_kernel(&msg) {
        stats.send_errors += 1;
        log_error!("cannot send reply seq {seq}: {}", errno::describe(&e));
    }
}

fn handle_datagram(
    sock: &NetlinkSocket,
    server: &mut Server,
    hook: &mut dyn BeforeReply,
    stats: &mut LoopStats,
    buf: &[u8],
) {
    for inc in proto::parse_datagram(buf) {
        match inc {
            Incoming::Request(req) => {
                // A cluster log answers when its group has applied the
                // request (see the group events in `run`).
                let Some(reply) = server.submit(&req) else {
                    stats.deferred += 1;
                    continue;
                };
                let payload = hook.rewrite(&req, reply);
                hook.before_reply(sock, &req, &payload);
                send_reply(sock, stats, req.header.seq, &payload);
                stats.served += 1;
            }
            Incoming::Malformed { header, reason } => {
                log_warn!(
                    "malformed request seq {} from the kernel: {reason}: replying EINVAL",
                    header.seq
                );
                let payload = proto::reply_payload(&header, -libc::EINVAL, &[]);
                send_reply(sock, stats, header.seq, &payload);
                stats.served += 1;
            }
            Incoming::Dropped(reason) => {
                stats.dropped += 1;
                log_warn!("dropped a message from the kernel: {reason}");
            }
        }
    }
}

/// Runs the loop until SIGTERM/SIGINT (returned in the stats) or a fatal
/// socket error.
pub fn run(
    sock: &NetlinkSocket,
    signals: &SignalFd,
    server: &mut Server,
    hook: &mut dyn BeforeReply,
) -> io::Result<LoopStats> {
    let mut stats = LoopStats::default();
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        let groups = server.group_fds();
        let mut fds = vec![sock.as_fd().as_raw_fd(), signals.as_fd().as_raw_fd()];
        fds.extend(groups.iter().map(|(_, fd)| *fd));
        // Messages corosync refused for now: try again in 10 ms.
        let (waiting, failed) = server.pump_groups();
        for (seq, payload) in failed {
            send_reply(sock, &mut stats, seq, &payload);
            stats.served += 1;
        }
        let timeout = if waiting { 10 } else { -1 };
        let ready = poll_raw(&fds, timeout)?;
        for (i, (key, _)) in groups.iter().enumerate() {
            if ready[2 + i] {
                for (seq, payload) in server.group_ready(key) {
                    send_reply(sock, &mut stats, seq, &payload);
                    stats.served += 1;
                }
            }
        }
        if ready[1] {
            if let Some(sig) = signals.read()? {
                log_info!("caught {}", signal_name(sig));
                stats.signal = Some(sig);
                return Ok(stats);
            }
        }
        if !ready[0] {
            continue;
        }
        loop {
            match sock.recv(&mut buf) {
                Ok(r) if r.sender != 0 => {
                    stats.dropped += 1;
                    if stats.dropped % 1000 == 1 {
                        log_warn!(
                            "ignoring a message from netlink port {} (not the kernel)",
                            r.sender
                        );
                    }
                }
                Ok(r) if r.truncated => {
                    stats.dropped += 1;
                    log_warn!("dropped an oversized datagram from the kernel");
                }
                Ok(r) => handle_datagram(sock, server, hook, &mut stats, &buf[..r.len]),
                Err(e) => match e.raw_os_error() {
                    Some(libc::EAGAIN) => break,
                    Some(libc::EINTR) => continue,
                    Some(libc::ENOBUFS) => {
                        stats.overruns += 1;
                        log_warn!(
                            "receive buffer overrun: requests were lost (the kernel retries them after 15 s)"
                        );
                    }
                    _ => return Err(e),
                },
            }
        }
    }
}
