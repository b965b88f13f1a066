// SPDX-License-Identifier: GPL-2.0

//! The request dispatcher: many logs keyed by (UUID, luid), one reply per
//! request.
//!
//! Requests for an unknown log get `-ESRCH`; the kernel answers that by
//! sending CTR and RESUME again, which is how a restarted daemon gets its
//! logs back (disk-like logs with their state read from the device).

use std::collections::HashMap;

use crate::ctr::parse_ctr;
use crate::dirtylog::DirtyLog;
use crate::errno;
use crate::error::{Error, Result};
use crate::group::{ClusterLog, Deferred, Transport};
use crate::logging::uuid_tail;
use crate::proto::{self, answer_size, data_rule, DataRule, Request, RequestType};
use dm_log_shared::ulog;
use std::os::fd::RawFd;

/// The outcome of one request: the reply's `error` (0 or a negative
/// errno) and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// 0 or a negative errno.
    pub error: i32,
    /// Reply data.
    pub data: Vec<u8>,
}

impl Response {
    /// Success with `data`.
    pub fn ok(data: Vec<u8>) -> Self {
        Response { error: 0, data }
    }

    /// Failure with positive errno `e`.
    pub fn err(e: i32) -> Self {
        Response {
            error: -e,
            data: Vec::new(),
        }
    }
}

/// `s` with a NUL, as the kernel reads text replies.
pub(crate) fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// 64-bit answer words in the kernel's (native) byte order.
pub(crate) fn words(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// Key of a log.
pub type LogKey = (String, u64);

/// Joins the CPG group of a cluster log (given the group's name).
pub type JoinGroup = Box<dyn FnMut(&[u8]) -> std::io::Result<Box<dyn Transport>>>;

/// All logs served by one daemon.
#[derive(Default)]
pub struct Server {
    logs: HashMap<LogKey, DirtyLog>,
    /// Cluster logs (`clustered-*` types with cluster mode on).
    clusters: HashMap<LogKey, ClusterLog>,
    /// Cluster mode: how to join a log's group.
    join: Option<JoinGroup>,
    requests: u64,
}

/// Kernel reply payloads (with their sequence numbers) of answers a
/// cluster log gave later.
fn replies(answers: Vec<Deferred>) -> Vec<(u32, Vec<u8>)> {
    answers
        .into_iter()
        .map(|d| {
            let payload = proto::reply_payload(&d.header, d.response.error, &d.response.data);
            (d.header.seq, payload)
        })
        .collect()
}

impl Server {
    /// A server with no logs.
    pub fn new() -> Self {
        Self::default()
    }

    /// A server in cluster mode: `clustered-core` and `clustered-disk` logs
    /// are served through their CPG group, joined with `join`.
    pub fn with_cluster(join: JoinGroup) -> Self {
        Server {
            join: Some(join),
            ..Self::default()
        }
    }

    /// Number of live logs.
    pub fn log_count(&self) -> usize {
        self.logs.len() + self.clusters.len()
    }

    /// The descriptors of the groups joined, to poll.
    pub fn group_fds(&self) -> Vec<(LogKey, RawFd)> {
        self.clusters
            .iter()
            .filter_map(|(k, c)| c.fd().map(|fd| (k.clone(), fd)))
            .collect()
    }

    /// Runs the events of log `key`'s group; returns the kernel replies
    /// they complete (sequence number and payload).
    pub fn group_ready(&mut self, key: &LogKey) -> Vec<(u32, Vec<u8>)> {
        let Some(c) = self.clusters.get_mut(key) else {
            return Vec::new();
        };
        replies(c.dispatch())
    }

    /// Sends the group messages corosync could not take before. Returns
    /// whether some still wait (poll again soon), and the kernel replies of
    /// requests that failed with a group's connection.
    pub fn pump_groups(&mut self) -> (bool, Vec<(u32, Vec<u8>)>) {
        let mut waiting = false;
        let mut failed = Vec::new();
        for (k, c) in self.clusters.iter_mut() {
            if let Err(e) = c.pump() {
                log_error!("log {}: cannot send to the group: {e}", uuid_tail(&k.0));
            }
            waiting |= c.has_outbox();
            failed.extend(c.take_failed());
        }
        (waiting, replies(failed))
    }

    /// Handles one request: its reply payload now, or `None` when a
    /// cluster log answers it later ([`Server::group_ready`]).
    pub fn submit(&mut self, req: &Request) -> Option<Vec<u8>> {
        let r = self.handle_inner(req)?;
        Some(proto::reply_payload(&req.header, r.error, &r.data))
    }

    /// Number of requests handled.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The log `(uuid, luid)`, if it exists.
    pub fn log(&self, uuid: &str, luid: u64) -> Option<&DirtyLog> {
        self.logs.get(&(uuid.to_string(), luid))
    }

    /// Handles one request and builds its reply payload (the
    /// `dm_ulog_request` echoed back with the result).
    pub fn reply_to(&mut self, req: &Request) -> Vec<u8> {
        let r = self.handle(req);
        proto::reply_payload(&req.header, r.error, &r.data)
    }

    /// Handles one request (a cluster log's deferred answer reads as
    /// `EAGAIN`: for tests and tools without cluster mode).
    pub fn handle(&mut self, req: &Request) -> Response {
        self.handle_inner(req)
            .unwrap_or_else(|| Response::err(libc::EAGAIN))
    }

    fn handle_inner(&mut self, req: &Request) -> Option<Response> {
        self.requests += 1;
        let h = &req.header;
        let uuid = h.uuid_string();
        let tail = uuid_tail(&uuid);
        if h.version != ulog::VERSION {
            log_warn!(
                "log {tail}: request seq {} has version {} (expected {}): EINVAL",
                h.seq,
                h.version,
                ulog::VERSION
            );
            return Some(Response::err(libc::EINVAL));
        }
        let Some(ty) = h.kind() else {
            log_warn!(
                "log {tail}: unknown request type {} (seq {}): EINVAL",
                h.request_type & 0xFF,
                h.seq
            );
            return Some(Response::err(libc::EINVAL));
        };
        if !data_rule(ty).accepts(req.data.len()) {
            log_warn!(
                "log {tail}: {} request seq {} with a {}-byte payload ({:?} expected): EINVAL",
                ty.name(),
                h.seq,
                req.data.len(),
                data_rule(ty)
            );
            return Some(Response::err(libc::EINVAL));
        }
        let key: LogKey = (uuid.clone(), h.luid);
        if self.clusters.contains_key(&key) && ty != RequestType::Ctr {
            return self.cluster_request(&key, ty, req, &tail);
        }
        let resp = self.dispatch(ty, req, &uuid, &tail);
        if resp.error != 0 {
            log_debug!(
                "log {tail}: {} seq {} -> {}",
                ty.name(),
                h.seq,
                errno::name(resp.error)
            );
        } else {
            log_debug!(
                "log {tail}: {} seq {} ({} bytes) -> ok ({} bytes)",
                ty.name(),
                h.seq,
                req.data.len(),
                resp.data.len()
            );
        }
        Some(resp)
    }

    fn cluster_request(
        &mut self,
        key: &LogKey,
        ty: RequestType,
        req: &Request,
        tail: &str,
    ) -> Option<Response> {
        let c = self.clusters.get_mut(key)?;
        match ty {
            RequestType::Dtr => {
                c.destroy();
                self.clusters.remove(key);
                log_info!("log {tail} destroyed");
                Some(Response::ok(Vec::new()))
            }
            RequestType::Resume if !c.joined() => {
                let join = self.join.as_mut()?;
                match join(&c.group_name()) {
                    Ok(g) => {
                        log_info!("log {tail}: joined its CPG group");
                        c.resume(g, req)
                    }
                    Err(e) => {
                        log_error!(
                            "log {tail}: cannot join the log's CPG group (is corosync running?): {e}; its writes fail until a resume joins"
                        );
                        Some(Response::err(libc::EIO))
                    }
                }
            }
            _ => c.request(req),
        }
    }

    fn dispatch(&mut self, ty: RequestType, req: &Request, uuid: &str, tail: &str) -> Response {
        let key: LogKey = (uuid.to_string(), req.header.luid);
        if ty == RequestType::Ctr {
            return self.construct(key, &req.data, tail);
        }
        let Some(log) = self.logs.get_mut(&key) else {
            log_debug!(
                "log {tail}: {} for an unknown log: ESRCH (the kernel will re-send CTR)",
                ty.name()
            );
            // The reply carries as many (zero) data bytes as the request's
            // answer would: the C module takes the data size of any reply
            // as the room it has for the answer when it retries after the
            // reconnect, and with 0 it fails that retry with ENOSPC (an
            // IN_SYNC failed that way reads as "not in sync", and the
            // mirror then writes one leg only).
            return Response {
                error: -libc::ESRCH,
                data: vec![0; answer_size(ty)],
            };
        };
        let regions: Vec<u64> = if DataRule::Regions == data_rule(ty) {
            (0..req.data.len() / 8).map(|i| req.u64_item(i)).collect()
        } else {
            Vec::new()
        };
        let unit = |r: Result<()>| match r {
            Ok(()) => Response::ok(Vec::new()),
            Err(e) => Response::err(e.errno()),
        };
        let boolean = |r: Result<bool>| match r {
            Ok(b) => Response::ok(words(&[u64::from(b)])),
            Err(e) => Response::err(e.errno()),
        };
        match ty {
            RequestType::Ctr => unreachable!("handled above"),
            RequestType::Dtr => {
                self.logs.remove(&key);
                log_info!("log {tail} destroyed");
                Response::ok(Vec::new())
            }
            RequestType::Presuspend => Response::ok(Vec::new()),
            RequestType::Postsuspend | RequestType::Flush => match log.flush(&regions) {
                Ok(_) => Response::ok(Vec::new()),
                Err(e @ Error::Invalid(_)) => Response::err(e.errno()),
                Err(e) => {
                    log_error!(
                        "log {tail}: {} failed: {e}; status {}",
                        ty.name(),
                        log.status_info()
                    );
                    // The kernel's C log fails a flush with EIO whatever
                    // the device said.
                    Response::err(libc::EIO)
                }
            },
            RequestType::Resume => match log.resume() {
                Ok(()) => {
                    log_info!(
                        "log {tail} resumed: {}, {} of {} regions in sync",
                        log.describe(),
                        log.sync_count(),
                        log.regions().count()
                    );
                    Response::ok(Vec::new())
                }
                Err(e) => {
                    log_error!(
                        "log {tail}: resume failed: {e}; status {}",
                        log.status_info()
                    );
                    Response::err(e.errno())
                }
            },
            RequestType::GetRegionSize => Response::ok(words(&[log.config().region_size])),
            RequestType::IsClean => boolean(log.is_clean(req.u64_item(0))),
            RequestType::InSync => boolean(log.in_sync(req.u64_item(0))),
            RequestType::MarkRegion => unit(log.mark(&regions)),
            RequestType::ClearRegion => unit(log.clear(&regions)),
            RequestType::GetResyncWork => {
                let (i, r) = match log.resync_work() {
                    Some(r) => (1, r),
                    None => (0, 0),
                };
                Response::ok(words(&[i, r]))
            }
            RequestType::SetRegionSync => {
                unit(log.set_region_sync(req.u64_item(0), req.u64_item(1) != 0))
            }
            RequestType::GetSyncCount => Response::ok(words(&[log.sync_count()])),
            RequestType::StatusInfo => Response::ok(nul_terminated(&log.status_info())),
            RequestType::StatusTable => Response::ok(nul_terminated(&log.status_table())),
            RequestType::IsRemoteRecovering => {
                let hint = log.in_sync_hint();
                Response::ok(words(&[0, hint]))
            }
        }
    }

    fn construct(&mut self, key: LogKey, data: &[u8], tail: &str) -> Response {
        let created = parse_ctr(data).and_then(DirtyLog::create);
        match created {
            Ok(log) => {
                // The C module's reconnect path sends the constructor string
                // with its NUL and gives the reply no room: a device name in
                // that reply fails the reconnect with ENOSPC, and the C
                // module then retries for ever. Its first constructor, and
                // every one of dm-log-rs, has no NUL; the kernel already
                // holds the device on a reconnect, so the name can go.
                let reply = if data.last() == Some(&0) {
                    Vec::new()
                } else {
                    log.ctr_reply()
                };
                log_info!("log {tail} created: {}", log.describe());
                let replaced = if self.join.is_some() && log.config().clustered() {
                    let uuid = key.0.clone();
                    let old = self.logs.remove(&key).is_some();
                    if let Some(mut c) = self.clusters.insert(key, ClusterLog::new(&uuid, log)) {
                        c.destroy();
                        true
                    } else {
                        old
                    }
                } else {
                    let old = self
                        .clusters
                        .remove(&key)
                        .map(|mut c| c.destroy())
                        .is_some();
                    self.logs.insert(key, log).is_some() || old
                };
                if replaced {
                    log_warn!("log {tail}: constructor for an existing log: replaced it");
                }
                Response::ok(reply)
            }
            Err(e) => {
                log_error!(
                    "log {tail}: constructor {:?} refused: {e}: {}",
                    String::from_utf8_lossy(data).trim_end_matches('\0'),
                    errno::name(e.errno())
                );
                Response::err(e.errno())
            }
        }
    }

    /// Flushes every disk-like log (at shutdown). Returns the number of
    /// failures.
    pub fn flush_all(&mut self) -> usize {
        // Cluster logs: the group goes on without this node (its marks
        // stay, dirty, until the group forms again).
        for c in self.clusters.values_mut() {
            c.destroy();
        }
        let mut failures = 0;
        for ((uuid, _), log) in self.logs.iter_mut() {
            if !log.is_disk() {
                continue;
            }
            if let Err(e) = log.flush(&[]) {
                log_error!("log {}: final flush failed: {e}", uuid_tail(uuid));
                failures += 1;
            }
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Incoming, RequestHeader};

    const UUID: &str = "LVM-test0000000000000000000000000000000000000000000000000000000000000001";

    fn req(seq: u32, ty: RequestType, data: &[u8]) -> Request {
        Request::new(UUID, 0xffff_8880_0000_1000, seq, ty, data)
    }

    fn u64s(v: &[u64]) -> Vec<u8> {
        words(v)
    }

    fn val(r: &Response, i: usize) -> u64 {
        proto::u64_at(&r.data, i * 8).unwrap_or(0)
    }

    #[test]
    fn unknown_log_is_esrch_and_ctr_recovers() {
        let mut s = Server::new();
        let r = s.handle(&req(1, RequestType::GetSyncCount, &[]));
        assert_eq!(r.error, -libc::ESRCH);
        let r = s.handle(&req(2, RequestType::Ctr, b"2097152 core 1024 nosync"));
        assert_eq!(r, Response::ok(vec![]));
        assert_eq!(s.handle(&req(3, RequestType::Resume, &[])).error, 0);
        let r = s.handle(&req(4, RequestType::GetSyncCount, &[]));
        assert_eq!(val(&r, 0), 2048);
        // Same uuid, other luid: another log.
        let other = Request::new(UUID, 7, 5, RequestType::GetSyncCount, &[]);
        assert_eq!(s.handle(&other).error, -libc::ESRCH);
        // CTR over an existing log replaces it.
        let r = s.handle(&req(6, RequestType::Ctr, b"1000 core 8\0"));
        assert_eq!(r.error, 0);
        assert_eq!(s.log_count(), 1);
        let r = s.handle(&req(7, RequestType::GetRegionSize, &[]));
        assert_eq!(r.data, 8u64.to_ne_bytes());
        assert_eq!(s.handle(&req(8, RequestType::Dtr, &[])).error, 0);
        assert_eq!(s.log_count(), 0);
    }

    #[test]
    fn core_protocol() {
        let mut s = Server::new();
        assert_eq!(s.handle(&req(1, RequestType::Ctr, b"1000 core 8")).error, 0);
        assert_eq!(s.handle(&req(2, RequestType::Resume, &[])).error, 0);
        let r = s.handle(&req(3, RequestType::MarkRegion, &u64s(&[3, 4])));
        assert_eq!(r, Response::ok(vec![]));
        let r = s.handle(&req(4, RequestType::IsClean, &u64s(&[3])));
        assert_eq!(r.data, 0i64.to_ne_bytes());
        let r = s.handle(&req(5, RequestType::ClearRegion, &u64s(&[3])));
        assert_eq!(r.error, 0);
        let r = s.handle(&req(6, RequestType::IsClean, &u64s(&[3])));
        assert_eq!(r.data, 1i64.to_ne_bytes());
        let r = s.handle(&req(7, RequestType::GetResyncWork, &[]));
        assert_eq!((val(&r, 0), val(&r, 1)), (1, 0));
        let r = s.handle(&req(8, RequestType::SetRegionSync, &u64s(&[0, 1])));
        assert_eq!(r.error, 0);
        let r = s.handle(&req(9, RequestType::GetSyncCount, &[]));
        assert_eq!(val(&r, 0), 1);
        let r = s.handle(&req(10, RequestType::IsRemoteRecovering, &u64s(&[50])));
        assert_eq!((val(&r, 0), val(&r, 1)), (0, 1));
        let r = s.handle(&req(11, RequestType::InSync, &u64s(&[0])));
        assert_eq!(r.data, 1i64.to_ne_bytes());
        let r = s.handle(&req(12, RequestType::StatusInfo, &[]));
        assert_eq!(r.data, b"1 core\0");
        let r = s.handle(&req(13, RequestType::StatusTable, &[]));
        assert_eq!(r.data, b"core 8\0");
        let r = s.handle(&req(14, RequestType::Flush, &u64s(&[9])));
        assert_eq!(r.error, 0);
        assert!(!s
            .log(UUID, 0xffff_8880_0000_1000)
            .unwrap()
            .regions()
            .is_clean(9));
        for t in [RequestType::Presuspend, RequestType::Postsuspend] {
            assert_eq!(s.handle(&req(15, t, &[])).error, 0);
        }
        // Resync all, then the hint is the region count and no work is left.
        for r in 0..125u64 {
            s.handle(&req(16, RequestType::SetRegionSync, &u64s(&[r, 1])));
        }
        let r = s.handle(&req(17, RequestType::IsRemoteRecovering, &u64s(&[0])));
        assert_eq!(val(&r, 1), 125);
        let r = s.handle(&req(18, RequestType::GetResyncWork, &[]));
        assert_eq!(val(&r, 0), 0);
    }

    #[test]
    fn invalid_requests() {
        let mut s = Server::new();
        assert_eq!(s.handle(&req(1, RequestType::Ctr, b"1000 core 8")).error, 0);
        let mut bad = req(2, RequestType::GetSyncCount, &[]);
        bad.header.version = 2;
        assert_eq!(s.handle(&bad).error, -libc::EINVAL);
        let mut bad = req(3, RequestType::GetSyncCount, &[]);
        bad.header.request_type = 18;
        assert_eq!(s.handle(&bad).error, -libc::EINVAL);
        bad.header.request_type = 0;
        assert_eq!(s.handle(&bad).error, -libc::EINVAL);
        let cases: &[(RequestType, &[u8])] = &[
            (RequestType::Ctr, b""),
            (RequestType::Ctr, &[b'1'; 400]),
            (RequestType::IsClean, &[0; 4]),
            (RequestType::InSync, &[0; 16]),
            (RequestType::MarkRegion, &[0; 12]),
            (RequestType::ClearRegion, &[0; 1]),
            (RequestType::Flush, &[0; 7]),
            (RequestType::SetRegionSync, &[0; 8]),
            (RequestType::IsRemoteRecovering, &[]),
            (RequestType::GetSyncCount, &[0; 8]),
            (RequestType::Resume, &[1]),
        ];
        for (t, d) in cases {
            assert_eq!(
                s.handle(&req(4, *t, d)).error,
                -libc::EINVAL,
                "{t:?} {}",
                d.len()
            );
        }
        // Out-of-range regions.
        let big = u64s(&[125]);
        for t in [
            RequestType::IsClean,
            RequestType::InSync,
            RequestType::MarkRegion,
            RequestType::ClearRegion,
            RequestType::Flush,
        ] {
            assert_eq!(s.handle(&req(5, t, &big)).error, -libc::EINVAL, "{t:?}");
        }
        let r = s.handle(&req(6, RequestType::SetRegionSync, &u64s(&[u64::MAX, 1])));
        assert_eq!(r.error, -libc::EINVAL);
        // Bad constructors.
        for ctr in [
            &b"1000 core 7"[..],
            b"1000 foo 8",
            b"x",
            b"1000 disk /nonexistent/x 8",
        ] {
            let r = s.handle(&req(7, RequestType::Ctr, ctr));
            assert!(r.error < 0, "{}", String::from_utf8_lossy(ctr));
        }
        let r = s.handle(&req(7, RequestType::Ctr, b"1000 disk /nonexistent/x 8"));
        assert_eq!(r.error, -libc::ENOENT);
    }

    #[test]
    fn reply_bytes_through_the_wire() {
        let mut s = Server::new();
        let ctr = req(77, RequestType::Ctr, b"1000 core 8 nosync");
        let m = proto::encode_request(&ctr);
        let Incoming::Request(parsed) = &proto::parse_datagram(&m)[0] else {
            panic!()
        };
        let payload = s.reply_to(parsed);
        let h = RequestHeader::decode(&payload).unwrap();
        assert_eq!(h.seq, 77);
        assert_eq!(h.error, 0);
        assert_eq!(h.data_size, 0);
        assert_eq!(h.request_type, RequestType::Ctr as u32);
        assert_eq!(h.uuid_string(), UUID);
        let st = s.reply_to(&req(78, RequestType::StatusInfo, &[]));
        assert_eq!(&st[160..], b"1 core\0");
        assert_eq!(RequestHeader::decode(&st).unwrap().data_size, 7);
    }

    #[test]
    fn disk_log_through_the_server() {
        let path = std::env::temp_dir().join(format!("dm-logd-srv-{}", std::process::id()));
        std::fs::write(&path, b"").unwrap();
        let table = format!("2048 disk {} 16", path.display());
        let mut s = Server::new();
        let r = s.handle(&req(1, RequestType::Ctr, table.as_bytes()));
        assert_eq!(r, Response::ok(vec![]), "a file is not held by the kernel");
        assert_eq!(s.handle(&req(2, RequestType::Resume, &[])).error, 0);
        let r = s.handle(&req(3, RequestType::StatusInfo, &[]));
        assert_eq!(
            r.data,
            format!("3 disk {} A\0", path.display()).into_bytes()
        );
        s.handle(&req(
            4,
            RequestType::ClearRegion,
            &u64s(&(0..128).collect::<Vec<_>>()),
        ));
        s.handle(&req(5, RequestType::Flush, &u64s(&[3])));
        assert_eq!(s.handle(&req(6, RequestType::Postsuspend, &[])).error, 0);
        drop(s);
        // A restarted daemon: ESRCH, then CTR + RESUME read the state back.
        let mut s = Server::new();
        let r = s.handle(&req(7, RequestType::InSync, &u64s(&[3])));
        assert_eq!(r.error, -libc::ESRCH);
        assert_eq!(r.data, vec![0; 8], "room for the C module's retry");
        // The C module's reconnect constructor (with a NUL) works too.
        let mut again = table.clone().into_bytes();
        again.push(0);
        assert_eq!(s.handle(&req(7, RequestType::Ctr, &again)).error, 0);
        s.handle(&req(8, RequestType::Ctr, table.as_bytes()));
        s.handle(&req(9, RequestType::Resume, &[]));
        let r = s.handle(&req(10, RequestType::GetSyncCount, &[]));
        assert_eq!(val(&r, 0), 127);
        let r = s.handle(&req(11, RequestType::GetResyncWork, &[]));
        assert_eq!((val(&r, 0), val(&r, 1)), (1, 3));
        assert_eq!(s.flush_all(), 0);
        std::fs::remove_file(&path).unwrap();
    }
}
