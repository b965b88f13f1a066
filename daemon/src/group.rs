// SPDX-License-Identifier: GPL-2.0

//! A cluster log in its corosync CPG group: dm-logd's cluster mode
//! (`dm-logd --cluster`) for `clustered-core` and `clustered-disk` logs.
//!
//! Every node that has the mirror active joins the log's group (named after
//! the UUID with its NUL, as cmirrord does) at RESUME and leaves it at
//! POSTSUSPEND. Requests that read or change shared state
//! ([`clog::routed`]) are multicast in the group's total order and applied
//! by every member to its copy of the state ([`Replica`] over a
//! [`DirtyLog`]), so all copies stay equal; each node then answers its own
//! kernel from its own copy when its request comes back. The one exception
//! is FLUSH of a disk log: only the *writer* (the member that has held the
//! state longest) writes the shared log device, and a FLUSH is answered
//! when the writer's reply says the write is done.
//!
//! Membership (confchg events, ordered with the messages):
//!
//! - the first node of a group (or all nodes of a group forming at once)
//!   starts from its own state: a disk log is read from the device (a
//!   "master resume");
//! - a node joining a live group waits: every member holding the state
//!   sends it a checkpoint of the state *at the join* (cmirrord's layout and
//!   dm-logd's extension, [`clog::ext`]); it queues what is delivered
//!   meanwhile, takes the first checkpoint and replays the queue. If every
//!   holder leaves first, it starts from its own state and hands it to the
//!   nodes that joined after it (their checkpoint says how much of their
//!   queue it already includes);
//! - a node that leaves or fails: the regions it had marked may differ
//!   between the legs; they stay dirty, in sync, and marked by nobody who
//!   can clear them, until the group forms again from the log device
//!   ([`Replica::node_left`] says why not out of sync at once);
//! - when the writer changes, the new one writes the whole log at its next
//!   flush.
//!
//! Group input is checked ([`clog::decode`]); a malformed message is
//! logged and dropped. Everything here is deterministic and without I/O but
//! through [`Transport`] and the log device, so that tests drive several
//! members in one process.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use crate::cluster::{NodeId, Replica};
use crate::dirtylog::DirtyLog;
use crate::error::Result;
use crate::logging::uuid_tail;
use crate::proto::{Request, RequestHeader, RequestType};
use crate::server::{nul_terminated, words, Response};
use crate::sys::cpg::{Cpg, CpgEvent, Member};
use dm_log_shared::clog::{self, ext::Ext, Checkpoint, Kind, CHECKPOINT_READY, RESPONSE};
use dm_log_shared::ulog::Header;

/// The group of one log, as the daemon's CPG connection for it.
pub trait Transport {
    /// This node's id.
    fn local_node(&self) -> NodeId;
    /// Multicasts `msg` in total order (delivered to this node too).
    fn send(&mut self, msg: &[u8]) -> io::Result<()>;
    /// Leaves the group.
    fn leave(&mut self) -> io::Result<()>;
    /// The descriptor to poll for events (none for in-process groups).
    fn fd(&self) -> Option<RawFd> {
        None
    }
    /// The events pending on [`Transport::fd`].
    fn dispatch(&mut self) -> io::Result<Vec<GroupEvent>> {
        Ok(Vec::new())
    }
}

/// What the group delivered, in its total order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupEvent {
    /// A message from a member.
    Message(NodeId, Vec<u8>),
    /// A membership change.
    Confchg(Confchg),
}

/// A membership change of the group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Confchg {
    /// The members after the change.
    pub members: Vec<NodeId>,
    /// Who left (gracefully or not).
    pub left: Vec<NodeId>,
    /// Who joined.
    pub joined: Vec<NodeId>,
}

/// A kernel request answered later: its header and the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deferred {
    /// The request's header.
    pub header: RequestHeader,
    /// The answer.
    pub response: Response,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Not in the group (before RESUME, after POSTSUSPEND).
    Out,
    /// Joined, our join not delivered yet.
    Joining,
    /// Joined a live group: waiting for a checkpoint.
    Waiting,
    /// Holding the state.
    Valid,
}

/// What was delivered while waiting for a checkpoint.
enum Queued {
    Message(NodeId, Vec<u8>),
    /// A membership change: who left.
    Left(Vec<NodeId>),
    /// Another joiner got its first checkpoint.
    Valid(NodeId),
}

/// A clustered log on this node.
pub struct ClusterLog {
    uuid: String,
    log: DirtyLog,
    replica: Replica,
    group: Option<Box<dyn Transport>>,
    me: NodeId,
    phase: Phase,
    /// Members holding the state, in the order they got it: the first
    /// one (the oldest) writes the device, so a join never moves that job.
    valid: Vec<NodeId>,
    /// The group's members, from the last membership change.
    members: Vec<NodeId>,
    /// Delivered while [`Phase::Waiting`].
    queue: Vec<Queued>,
    /// Our kernel's requests in the group, not answered yet, and whether
    /// each has been delivered back.
    in_flight: Vec<(RequestHeader, bool)>,
    /// Messages refused as malformed.
    pub refused: u64,
    /// This node was in the group before (a core log's own state is stale
    /// when it starts a group again).
    was_member: bool,
    /// The group connection failed: routed requests fail until RESUME.
    broken: bool,
    /// Group messages delivered since this node joined (checkpoints not
    /// counted), and that count when each other member joined: what a
    /// checkpoint sent late already includes.
    seen: u64,
    joined_at: BTreeMap<NodeId, u64>,
    /// Messages corosync could not take yet (`CS_ERR_TRY_AGAIN`), in order;
    /// a checkpoint with its destination.
    outbox: VecDeque<(Option<NodeId>, Vec<u8>)>,
    /// Answers (`EIO`) to the requests that were waiting when the
    /// connection was lost, for [`ClusterLog::take_failed`].
    failed: Vec<Deferred>,
}

fn u64_item(data: &[u8], i: usize) -> u64 {
    data.get(i * 8..i * 8 + 8)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
}

fn unit(r: Result<()>) -> Response {
    match r {
        Ok(()) => Response::ok(Vec::new()),
        Err(e) => Response::err(e.errno()),
    }
}

impl ClusterLog {
    /// A clustered log, not in its group yet.
    pub fn new(uuid: &str, log: DirtyLog) -> Self {
        ClusterLog {
            uuid: uuid.to_string(),
            log,
            replica: Replica::new(),
            group: None,
            me: 0,
            phase: Phase::Out,
            valid: Vec::new(),
            members: Vec::new(),
            queue: Vec::new(),
            in_flight: Vec::new(),
            refused: 0,
            was_member: false,
            broken: false,
            outbox: VecDeque::new(),
            failed: Vec::new(),
            seen: 0,
            joined_at: BTreeMap::new(),
        }
    }

    /// Whether this node is in the group.
    pub fn joined(&self) -> bool {
        self.group.is_some()
    }

    /// Whether this node holds the state.
    pub fn is_valid(&self) -> bool {
        self.phase == Phase::Valid
    }

    /// The group's name: the UUID with its NUL, cut to 127 characters
    /// (as cmirrord does: a name holds at most 128 bytes).
    pub fn group_name(&self) -> Vec<u8> {
        let u = self.uuid.as_bytes();
        let mut n = u[..u.len().min(127)].to_vec();
        n.push(0);
        n
    }

    fn server(&self) -> Option<NodeId> {
        self.valid.first().copied()
    }

    /// `node` holds the state from now on (if it is still a member).
    fn add_valid(&mut self, node: NodeId) {
        if self.members.contains(&node) && !self.valid.contains(&node) {
            self.valid.push(node);
        }
    }

    fn is_server(&self) -> bool {
        self.phase == Phase::Valid && self.server() == Some(self.me)
    }

    fn tail(&self) -> String {
        uuid_tail(&self.uuid)
    }

    fn send(&mut self, originator: NodeId, header: &Header, data: &[u8]) -> io::Result<()> {
        let mut buf = vec![0u8; clog::HEADER_LEN + data.len()];
        let n = clog::encode(originator, header, self.uuid.as_bytes(), data, &mut buf)
            .map_err(|e| io::Error::other(format!("cannot encode a group message: {e:?}")))?;
        buf.truncate(n);
        if self.group.is_none() {
            return Err(io::Error::other("not in the group"));
        }
        // Behind messages still waiting, in order.
        let to = (header.request_type == CHECKPOINT_READY).then_some(originator);
        self.outbox.push_back((to, buf));
        self.pump()
    }

    /// Sends what corosync could not take before; `Ok` also when some must
    /// still wait ([`ClusterLog::has_outbox`]).
    pub fn pump(&mut self) -> io::Result<()> {
        let Some(g) = self.group.as_mut() else {
            self.outbox.clear();
            return Ok(());
        };
        while let Some((_, msg)) = self.outbox.front() {
            match g.send(msg) {
                Ok(()) => {
                    self.outbox.pop_front();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => {
                    self.connection_lost(&e);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Whether messages wait for corosync to take them.
    pub fn has_outbox(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// The answers to requests that failed with the connection.
    pub fn take_failed(&mut self) -> Vec<Deferred> {
        std::mem::take(&mut self.failed)
    }

    /// The connection to corosync failed (corosync stopped): out of the
    /// group, the requests waiting on it fail with `EIO`, and so do later
    /// ones until the kernel resumes the log again, which joins anew.
    fn connection_lost(&mut self, e: &io::Error) {
        log_error!(
            "log {}: the CPG connection failed: {e}; the log's requests fail until it is resumed again",
            self.tail()
        );
        self.group = None;
        self.phase = Phase::Out;
        self.valid.clear();
        self.members.clear();
        self.queue.clear();
        self.outbox.clear();
        self.broken = true;
        for (header, _) in std::mem::take(&mut self.in_flight) {
            self.failed.push(Deferred {
                header,
                response: Response::err(libc::EIO),
            });
        }
    }

    /// RESUME from the kernel with `group` just joined (its name is
    /// [`ClusterLog::group_name`]): the answer comes when this node holds
    /// the state and its RESUME is delivered.
    pub fn resume(&mut self, group: Box<dyn Transport>, req: &Request) -> Option<Response> {
        self.me = group.local_node();
        self.group = Some(group);
        self.broken = false;
        self.phase = Phase::Joining;
        self.valid.clear();
        self.members.clear();
        self.queue.clear();
        self.outbox.clear();
        self.in_flight.clear();
        self.seen = 0;
        self.joined_at.clear();
        self.route(req)
    }

    /// A kernel request for this log; `None` when the answer comes later
    /// (see [`ClusterLog::deliver`]).
    pub fn request(&mut self, req: &Request) -> Option<Response> {
        let ty = req.header.kind()?;
        if !clog::routed(ty) {
            return Some(self.local(ty, req));
        }
        if self.broken {
            return Some(Response::err(libc::EIO));
        }
        if self.group.is_none() {
            // Not in the group (suspended, never resumed, or the join
            // failed): what only reads is answered from this node's copy;
            // what would change the shared state cannot be done.
            return Some(match ty {
                RequestType::IsClean | RequestType::StatusInfo => {
                    let me = self.me;
                    self.apply(me, ty, &req.data, false)
                }
                _ => Response::err(libc::EIO),
            });
        }
        self.route(req)
    }

    fn route(&mut self, req: &Request) -> Option<Response> {
        let ty = req.header.kind()?;
        let h = Header::request(0, req.header.seq, ty, 0);
        if let Err(e) = self.send(self.me, &h, &req.data) {
            log_error!(
                "log {}: cannot send {} to the group: {e}",
                self.tail(),
                ty.name()
            );
            return Some(Response::err(libc::EIO));
        }
        if ty == RequestType::ClearRegion {
            // Acknowledged at once, as cmirrord does: nothing waits on it.
            return Some(Response::ok(Vec::new()));
        }
        self.in_flight.push((req.header.clone(), false));
        None
    }

    fn local(&mut self, ty: RequestType, req: &Request) -> Response {
        let log = &mut self.log;
        let b = |r: Result<bool>| match r {
            Ok(v) => Response::ok(words(&[u64::from(v)])),
            Err(e) => Response::err(e.errno()),
        };
        match ty {
            RequestType::InSync => b(self.replica.in_sync(log, req.u64_item(0))),
            RequestType::GetSyncCount => Response::ok(words(&[log.sync_count()])),
            RequestType::GetRegionSize => Response::ok(words(&[log.config().region_size])),
            RequestType::StatusTable => Response::ok(nul_terminated(&log.status_table())),
            // Recovery is not halted here: every member must answer
            // IS_REMOTE_RECOVERING alike.
            _ => Response::ok(Vec::new()),
        }
    }

    /// Applies a routed request from `from`; `write` says whether this node
    /// writes the log device. Returns the answer.
    fn apply(&mut self, from: NodeId, ty: RequestType, data: &[u8], write: bool) -> Response {
        let n = data.len() / 8;
        let regions: Vec<u64> = (0..n).map(|i| u64_item(data, i)).collect();
        let own = from == self.me;
        let (log, rep) = (&mut self.log, &mut self.replica);
        match ty {
            RequestType::MarkRegion => unit(rep.mark(log, from, &regions)),
            RequestType::ClearRegion => unit(rep.clear(log, from, &regions)),
            RequestType::Flush => {
                if let Err(e) = rep.mark(log, from, &regions) {
                    return Response::err(e.errno());
                }
                if !write {
                    return Response::ok(Vec::new());
                }
                match log.flush(&[]) {
                    Ok(_) => Response::ok(Vec::new()),
                    Err(e) => {
                        log_error!("log {}: flush failed: {e}", uuid_tail(&self.uuid));
                        Response::err(libc::EIO)
                    }
                }
            }
            RequestType::IsClean => match log.is_clean(u64_item(data, 0)) {
                Ok(v) => Response::ok(words(&[u64::from(v)])),
                Err(e) => Response::err(e.errno()),
            },
            RequestType::GetResyncWork => match rep.resync_work(log, from) {
                Some(r) => Response::ok(words(&[1, r])),
                None => Response::ok(words(&[0, 0])),
            },
            RequestType::SetRegionSync => {
                unit(rep.set_region_sync(log, u64_item(data, 0), u64_item(data, 1) != 0))
            }
            RequestType::StatusInfo => Response::ok(nul_terminated(&log.status_info())),
            RequestType::IsRemoteRecovering => {
                match rep.is_remote_recovering(log, u64_item(data, 0)) {
                    Ok((p, hint)) => Response::ok(words(&[u64::from(p), hint])),
                    Err(e) => Response::err(e.errno()),
                }
            }
            RequestType::Resume => {
                rep.resume(log, own);
                Response::ok(Vec::new())
            }
            _ => Response::ok(Vec::new()),
        }
    }

    fn answer(&mut self, seq: u32, response: Response, out: &mut Vec<Deferred>) {
        if let Some(i) = self.in_flight.iter().position(|(h, _)| h.seq == seq) {
            let (header, _) = self.in_flight.remove(i);
            out.push(Deferred { header, response });
        }
    }

    /// A message delivered by the group from `from`. Returns the kernel
    /// requests it answers.
    pub fn deliver(&mut self, from: NodeId, msg: &[u8]) -> Vec<Deferred> {
        let mut out = Vec::new();
        self.deliver_into(from, msg, &mut out, true);
        out
    }

    /// `live`: delivered now (not replayed from the queue).
    fn deliver_into(&mut self, from: NodeId, msg: &[u8], out: &mut Vec<Deferred>, live: bool) {
        let m = match clog::decode(msg) {
            Ok(m) if m.uuid == self.uuid.as_bytes() => m,
            Ok(m) => {
                self.refused += 1;
                log_warn!(
                    "log {}: dropped a message from node {from} for another log ({})",
                    self.tail(),
                    String::from_utf8_lossy(m.uuid)
                );
                return;
            }
            Err(e) => {
                self.refused += 1;
                log_warn!(
                    "log {}: dropped a malformed message from node {from}: {e:?}",
                    self.tail()
                );
                return;
            }
        };
        if live && self.phase != Phase::Out && m.kind != Kind::CheckpointReady {
            self.seen += 1;
        }
        match self.phase {
            Phase::Out => return,
            Phase::Joining | Phase::Waiting if m.kind != Kind::CheckpointReady => {
                self.queue.push(Queued::Message(from, msg.to_vec()));
                return;
            }
            _ => {}
        }
        match m.kind {
            Kind::CheckpointReady => self.checkpoint(from, m.originator, m.data, out),
            Kind::Reply(ty) => {
                // Only FLUSH waits for the node that writes the device, and
                // only the requester cares. Only a node that wrote replies
                // (the writer may have changed since).
                if ty == RequestType::Flush && m.originator == self.me {
                    let r = Response {
                        error: m.header.error,
                        data: Vec::new(),
                    };
                    self.answer(m.header.seq, r, out);
                }
            }
            Kind::Request(ty) => {
                let mine = from == self.me;
                if mine {
                    if let Some(f) = self
                        .in_flight
                        .iter_mut()
                        .find(|(h, _)| h.seq == m.header.seq)
                    {
                        f.1 = true;
                    }
                }
                if ty == RequestType::Postsuspend {
                    if mine {
                        self.leave();
                        self.answer(m.header.seq, Response::ok(Vec::new()), out);
                    }
                    return;
                }
                let write = self.is_server();
                let r = self.apply(from, ty, m.data, write);
                log_debug!(
                    "log {}: node {from} {} seq {} ({} bytes) applied: {}",
                    self.tail(),
                    ty.name(),
                    m.header.seq,
                    m.data.len(),
                    r.error
                );
                if ty == RequestType::Flush && write && !mine {
                    let h = Header {
                        request_type: RequestType::Flush as u32 | RESPONSE,
                        error: r.error,
                        ..Header::request(0, m.header.seq, ty, 0)
                    };
                    if let Err(e) = self.send(from, &h, &[]) {
                        log_error!("log {}: cannot send a flush reply: {e}", self.tail());
                    }
                }
                if mine && (write || ty != RequestType::Flush) {
                    self.answer(m.header.seq, r, out);
                }
            }
        }
    }

    fn checkpoint(&mut self, from: NodeId, to: NodeId, data: &[u8], out: &mut Vec<Deferred>) {
        if to != self.me {
            // Another joiner's: it holds the state from its first one on.
            match self.phase {
                Phase::Valid => self.add_valid(to),
                Phase::Joining | Phase::Waiting => self.queue.push(Queued::Valid(to)),
                Phase::Out => {}
            }
            return;
        }
        if self.phase != Phase::Waiting {
            return;
        }
        let count = self.log.regions().count();
        let base = Checkpoint::data_len(count).unwrap_or(usize::MAX);
        let (cp, x) = match data
            .get(..base)
            .map(|d| (Checkpoint::decode(count, d), &data[base..]))
        {
            Some((Ok(cp), x)) => match Ext::decode(x, count) {
                Some(e) => (cp, e),
                None => {
                    self.refused += 1;
                    log_error!(
                        "log {}: the checkpoint from node {from} has no dm-logd extension (a cmirrord member?): groups with cmirrord are not supported; still waiting",
                        self.tail()
                    );
                    return;
                }
            },
            _ => {
                self.refused += 1;
                log_error!(
                    "log {}: refused a checkpoint of {} bytes from node {from} ({} regions here)",
                    self.tail(),
                    data.len(),
                    count
                );
                return;
            }
        };
        self.replica.import(&mut self.log, &cp);
        self.replica.import_ext(&x);
        self.replica.imported(&self.log);
        self.was_member = true;
        self.phase = Phase::Valid;
        // The holders as the sender saw them at our join; what changed
        // them since is in the queue, and we hold the state from this
        // checkpoint's place in it on.
        self.valid.clear();
        for n in x.valid() {
            self.add_valid(n);
        }
        // Messages the sender had already applied when it took the state;
        // our own among them are answered from the state.
        let mut skip = x.included;
        let mut skipped = Vec::new();
        self.queue.retain(|q| match q {
            Queued::Message(f, msg) if skip > 0 => {
                skip -= 1;
                skipped.push((*f, msg.clone()));
                false
            }
            _ => true,
        });
        for (f, msg) in skipped {
            if f == self.me {
                self.answer_applied(&msg, out);
            }
        }
        self.queue.push(Queued::Valid(self.me));
        log_info!(
            "log {}: state from node {from}: {} of {} regions in sync, nodes marking (0: nodes that left): {:?}",
            self.tail(),
            self.log.sync_count(),
            count,
            self.replica.marking_nodes()
        );
        self.server_check();
        self.replay(out);
    }

    /// Applies what was delivered while waiting, in order.
    fn replay(&mut self, out: &mut Vec<Deferred>) {
        for q in std::mem::take(&mut self.queue) {
            match q {
                Queued::Message(f, msg) => self.deliver_into(f, &msg, out, false),
                Queued::Left(left) => self.members_left(&left, out),
                Queued::Valid(n) => self.add_valid(n),
            }
        }
    }

    /// Answers our own request `msg`, which the sender of our checkpoint
    /// applied before taking it: from the state, changing nothing. A FLUSH
    /// waits for the writer's reply as usual; resync work is "none" (the
    /// kernel asks again).
    fn answer_applied(&mut self, msg: &[u8], out: &mut Vec<Deferred>) {
        let Ok(m) = clog::decode(msg) else {
            return;
        };
        let Kind::Request(ty) = m.kind else {
            return;
        };
        let region = u64_item(m.data, 0);
        let r = match ty {
            RequestType::Flush => return,
            RequestType::IsClean => match self.log.is_clean(region) {
                Ok(v) => Response::ok(words(&[u64::from(v)])),
                Err(e) => Response::err(e.errno()),
            },
            RequestType::IsRemoteRecovering => match self.log.in_sync(region) {
                Ok(_) => Response::ok(words(&[
                    u64::from(self.replica.pending(&self.log, region)),
                    0,
                ])),
                Err(e) => Response::err(e.errno()),
            },
            RequestType::GetResyncWork => Response::ok(words(&[0, 0])),
            RequestType::StatusInfo => Response::ok(nul_terminated(&self.log.status_info())),
            _ => Response::ok(Vec::new()),
        };
        self.answer(m.header.seq, r, out);
    }

    /// Which node writes the device changed to this one: write it whole.
    fn server_check(&mut self) {
        if self.is_server() {
            self.log.take_over_device();
        }
    }

    fn leave(&mut self) {
        if let Some(mut g) = self.group.take() {
            if let Err(e) = g.leave() {
                log_warn!("log {}: leaving the group: {e}", self.tail());
            }
        }
        self.phase = Phase::Out;
        self.valid.clear();
        self.members.clear();
        self.queue.clear();
        self.outbox.clear();
        log_info!("log {}: left the group", self.tail());
    }

    /// A membership change. Returns the kernel requests it answers.
    pub fn confchg(&mut self, c: &Confchg) -> Vec<Deferred> {
        let mut out = Vec::new();
        match self.phase {
            Phase::Out => {}
            Phase::Joining if c.joined.contains(&self.me) => {
                self.members = c.members.clone();
                let old: Vec<NodeId> = c
                    .members
                    .iter()
                    .filter(|n| !c.joined.contains(n))
                    .copied()
                    .collect();
                // Delivered before our join: not ours to apply.
                self.queue.clear();
                if old.is_empty() {
                    // First in the group (with whoever joined at once, in
                    // node id order): start from this node's own state.
                    let mut first = c.joined.clone();
                    first.sort_unstable();
                    self.valid = first;
                    self.phase = Phase::Valid;
                    self.start_alone(&mut out);
                } else {
                    // Until the state comes, `valid` holds who may send it.
                    self.valid = old;
                    self.phase = Phase::Waiting;
                    log_info!(
                        "log {}: joined, waiting for the state from one of {:?}",
                        self.tail(),
                        self.valid
                    );
                }
            }
            Phase::Joining => {}
            Phase::Waiting => {
                self.members = c.members.clone();
                for &j in &c.joined {
                    self.joined_at.insert(j, self.seen);
                }
                if !c.left.is_empty() {
                    self.queue.push(Queued::Left(c.left.clone()));
                    self.valid.retain(|n| !c.left.contains(n));
                    if self.valid.is_empty() {
                        // Everyone who could send the state is gone.
                        log_warn!(
                            "log {}: every member holding the state left before sending it: starting from this node's own",
                            self.tail()
                        );
                        self.valid.push(self.me);
                        self.phase = Phase::Valid;
                        // What was delivered since our join, our RESUME
                        // among it, applies to our own state.
                        let queued = std::mem::take(&mut self.queue);
                        self.start_alone(&mut out);
                        self.queue = queued
                            .into_iter()
                            .filter(|q| matches!(q, Queued::Message(..)))
                            .collect();
                        self.replay(&mut out);
                        // Members that joined after us wait for the state
                        // from us now.
                        let waiting: Vec<NodeId> = self
                            .members
                            .iter()
                            .filter(|m| !self.valid.contains(m))
                            .copied()
                            .collect();
                        for j in waiting {
                            self.send_checkpoint(j);
                        }
                    }
                }
            }
            Phase::Valid => {
                self.members = c.members.clone();
                self.members_left(&c.left, &mut out);
                let me = self.me;
                for &j in c.joined.iter().filter(|&&j| j != me) {
                    self.joined_at.insert(j, self.seen);
                    self.send_checkpoint(j);
                }
            }
        }
        out
    }

    fn start_alone(&mut self, out: &mut Vec<Deferred>) {
        if self.was_member && !self.log.is_disk() {
            // Nodes that held the group since may have left regions
            // dirty: a core log starts over as its table says (a full
            // resync unless nosync), as cmirrord's does.
            match DirtyLog::create(self.log.config().clone()) {
                Ok(fresh) => self.log = fresh,
                Err(e) => log_error!("log {}: cannot reset the log: {e}", self.tail()),
            }
        }
        self.was_member = true;
        // Marks, resync owner and scan position of a group that is gone.
        self.replica = Replica::new();
        let r = self.log.resume();
        self.replica.resume(&self.log, true);
        if let Err(e) = &r {
            log_error!("log {}: resume failed: {e}", self.tail());
        }
        log_info!(
            "log {}: first in the group: {} of {} regions in sync",
            self.tail(),
            self.log.sync_count(),
            self.log.regions().count()
        );
        self.server_check();
        if let Err(e) = r {
            // Our RESUME, when delivered, is answered with the error.
            if let Some((h, _)) = self
                .in_flight
                .iter()
                .find(|(h, _)| h.kind() == Some(RequestType::Resume))
            {
                let header = h.clone();
                self.in_flight.retain(|(x, _)| x.seq != header.seq);
                out.push(Deferred {
                    header,
                    response: Response::err(e.errno()),
                });
            }
        }
    }

    fn members_left(&mut self, left: &[NodeId], out: &mut Vec<Deferred>) {
        let old_server = self.server();
        for &n in left {
            self.valid.retain(|&v| v != n);
            // A checkpoint still waiting for corosync must not reach the
            // node's next incarnation, which joins after this.
            self.outbox.retain(|(to, _)| *to != Some(n));
            match self.replica.node_left(n) {
                0 => log_info!("log {}: node {n} left", self.tail()),
                k => log_warn!(
                    "log {}: node {n} left with {k} regions marked: they stay dirty until the mirror has been suspended on every node and is resumed",
                    self.tail()
                ),
            }
        }
        if self.server() != old_server {
            match self.server() {
                Some(n) => log_info!(
                    "log {}: the log device is now written by node {n}",
                    self.tail()
                ),
                None => log_info!("log {}: no member holds the state", self.tail()),
            }
            self.server_check();
            // FLUSHes the old server applied but did not answer: answered
            // here if this node writes now, else sent again for the new
            // writer. One not delivered yet is applied by the new writer
            // when it comes.
            let flushes: Vec<RequestHeader> = self
                .in_flight
                .iter()
                .filter(|(h, delivered)| *delivered && h.kind() == Some(RequestType::Flush))
                .map(|(h, _)| h.clone())
                .collect();
            for h in flushes {
                if self.is_server() {
                    let r = match self.log.flush(&[]) {
                        Ok(_) => Response::ok(Vec::new()),
                        Err(_) => Response::err(libc::EIO),
                    };
                    self.answer(h.seq, r, out);
                } else {
                    let hdr = Header::request(0, h.seq, RequestType::Flush, 0);
                    if let Err(e) = self.send(self.me, &hdr, &[]) {
                        log_error!("log {}: cannot resend a flush: {e}", self.tail());
                    }
                }
            }
        }
    }

    fn send_checkpoint(&mut self, to: NodeId) {
        let count = self.log.regions().count();
        let (sync, clean, recovering) = self.replica.export(&self.log);
        let cp = Checkpoint {
            sync: &sync,
            clean: &clean,
            recovering,
        };
        let included = self.seen - self.joined_at.get(&to).copied().unwrap_or(self.seen);
        let x = self.replica.export_ext(&self.valid, included);
        let mut data = vec![0u8; Checkpoint::data_len(count).unwrap_or(0) + x.len()];
        let Some(n) = cp.encode(&mut data) else {
            log_error!("log {}: cannot encode a checkpoint", self.tail());
            return;
        };
        data[n..n + x.len()].copy_from_slice(&x);
        let h = Header {
            request_type: CHECKPOINT_READY,
            version: 0,
            // cmirrord puts the sender's id in `seq`.
            ..Header::request(0, self.me, RequestType::Resume, 0)
        };
        match self.send(to, &h, &data) {
            Ok(()) => log_info!("log {}: sent the state to node {to}", self.tail()),
            Err(e) => log_error!(
                "log {}: cannot send the state to node {to}: {e}",
                self.tail()
            ),
        }
    }

    /// The descriptor of the group connection, to poll.
    pub fn fd(&self) -> Option<RawFd> {
        self.group.as_ref()?.fd()
    }

    /// Runs what the group connection has pending; returns the kernel
    /// requests answered. If the connection failed (corosync stopped), the
    /// requests waiting on it fail with `EIO`, and so do later ones until
    /// the kernel resumes the log again.
    pub fn dispatch(&mut self) -> Vec<Deferred> {
        let mut out = self.take_failed();
        let Some(g) = self.group.as_mut() else {
            return out;
        };
        match g.dispatch() {
            Ok(events) => {
                for e in events {
                    match e {
                        GroupEvent::Message(from, data) => {
                            self.deliver_into(from, &data, &mut out, true)
                        }
                        GroupEvent::Confchg(c) => out.extend(self.confchg(&c)),
                    }
                }
            }
            Err(e) => {
                self.connection_lost(&e);
                out.append(&mut self.failed);
            }
        }
        out
    }

    /// DTR: leaves the group if still in it.
    pub fn destroy(&mut self) {
        if self.group.is_some() {
            self.leave();
        }
    }
}

/// A log's group on the node's corosync: one CPG connection per log.
pub struct CpgGroup {
    cpg: Cpg,
    name: Vec<u8>,
    me: NodeId,
}

impl CpgGroup {
    /// Connects to corosync and joins group `name`.
    pub fn join(name: &[u8]) -> io::Result<Self> {
        let cpg = Cpg::new()?;
        let me = cpg.local_nodeid()?;
        cpg.join(name)?;
        Ok(CpgGroup {
            cpg,
            name: name.to_vec(),
            me,
        })
    }
}

impl Transport for CpgGroup {
    fn local_node(&self) -> NodeId {
        self.me
    }

    fn send(&mut self, msg: &[u8]) -> io::Result<()> {
        self.cpg.send(msg)
    }

    fn leave(&mut self) -> io::Result<()> {
        self.cpg.leave(&self.name)
    }

    fn fd(&self) -> Option<RawFd> {
        Some(self.cpg.fd().as_raw_fd())
    }

    fn dispatch(&mut self) -> io::Result<Vec<GroupEvent>> {
        let ids = |v: &[Member]| v.iter().map(|m| m.nodeid).collect::<Vec<_>>();
        Ok(self
            .cpg
            .dispatch()?
            .into_iter()
            .filter_map(|e| match e {
                CpgEvent::Message { group, from, data } if group == self.name => {
                    Some(GroupEvent::Message(from.nodeid, data))
                }
                CpgEvent::Confchg {
                    group,
                    members,
                    left,
                    joined,
                } if group == self.name => Some(GroupEvent::Confchg(Confchg {
                    members: ids(&members),
                    left: left.iter().map(|(m, _)| m.nodeid).collect(),
                    joined: ids(&joined),
                })),
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctr::parse_ctr;
    use crate::device::LogDevice;
    use crate::store::testing::MemStore;
    use std::cell::RefCell;
    use std::collections::{BTreeMap, BTreeSet};
    use std::rc::Rc;

    const UUID: &str = "LVM-clusterTest0000000000000000000000000000000000000000000000000001";
    type Bus = Rc<RefCell<Vec<(NodeId, Vec<u8>)>>>;

    struct Fake {
        me: NodeId,
        bus: Bus,
        /// Sends refused with `WouldBlock` before the next one is taken.
        busy: Rc<std::cell::Cell<u32>>,
        /// corosync is gone: sends fail.
        down: Rc<std::cell::Cell<bool>>,
    }

    impl Transport for Fake {
        fn local_node(&self) -> NodeId {
            self.me
        }
        fn send(&mut self, msg: &[u8]) -> io::Result<()> {
            if self.down.get() {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            if self.busy.get() > 0 {
                self.busy.set(self.busy.get() - 1);
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.bus.borrow_mut().push((self.me, msg.to_vec()));
            Ok(())
        }
        fn leave(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Nodes of one log, a totally ordered bus, the members, and what
    /// each node's kernel got back.
    struct Sim {
        nodes: BTreeMap<NodeId, ClusterLog>,
        bus: Bus,
        members: Vec<NodeId>,
        answers: BTreeMap<NodeId, Vec<Deferred>>,
        seq: u32,
        busy: Rc<std::cell::Cell<u32>>,
        down: Rc<std::cell::Cell<bool>>,
    }

    impl Sim {
        fn new(table: &str, ids: &[NodeId], store: Option<&MemStore>) -> Self {
            let nodes = ids
                .iter()
                .map(|&id| {
                    let cfg = parse_ctr(table.as_bytes()).unwrap();
                    let dev = store.map(|s| LogDevice {
                        store: Box::new(s.clone()),
                        name: "7:3".into(),
                        hold: None,
                    });
                    (
                        id,
                        ClusterLog::new(UUID, DirtyLog::with_device(cfg, dev).unwrap()),
                    )
                })
                .collect();
            Sim {
                nodes,
                bus: Bus::default(),
                members: Vec::new(),
                answers: BTreeMap::new(),
                seq: 0,
                busy: Rc::default(),
                down: Rc::default(),
            }
        }

        fn req(&mut self, ty: RequestType, data: &[u8]) -> Request {
            self.seq += 1;
            Request::new(UUID, 0, self.seq, ty, data)
        }

        /// A kernel request on `id`: the immediate answer, if any.
        fn kernel(&mut self, id: NodeId, ty: RequestType, data: &[u8]) -> (u32, Option<Response>) {
            let r = self.req(ty, data);
            let n = self.nodes.get_mut(&id).unwrap();
            let a = if ty == RequestType::Resume && !n.joined() {
                let t = Fake {
                    me: id,
                    bus: self.bus.clone(),
                    busy: self.busy.clone(),
                    down: self.down.clone(),
                };
                // What was sent before the join is delivered before it;
                // our RESUME after it.
                let held = std::mem::take(&mut *self.bus.borrow_mut());
                let n = self.nodes.get_mut(&id).unwrap();
                let a = n.resume(Box::new(t), &r);
                let ours = std::mem::replace(&mut *self.bus.borrow_mut(), held);
                self.confchg(&[id], &[]);
                self.bus.borrow_mut().extend(ours);
                a
            } else {
                n.request(&r)
            };
            (r.header.seq, a)
        }

        fn confchg(&mut self, joined: &[NodeId], left: &[NodeId]) {
            self.deliver();
            self.members.retain(|m| !left.contains(m));
            self.members.extend_from_slice(joined);
            let c = Confchg {
                members: self.members.clone(),
                left: left.to_vec(),
                joined: joined.to_vec(),
            };
            for &m in &self.members.clone() {
                let out = self.nodes.get_mut(&m).unwrap().confchg(&c);
                self.answers.entry(m).or_default().extend(out);
            }
        }

        /// Delivers everything on the bus to the members, in order.
        fn deliver(&mut self) {
            loop {
                let next = {
                    let mut b = self.bus.borrow_mut();
                    if b.is_empty() {
                        break;
                    }
                    b.remove(0)
                };
                for &m in &self.members.clone() {
                    let out = self.nodes.get_mut(&m).unwrap().deliver(next.0, &next.1);
                    self.answers.entry(m).or_default().extend(out);
                }
            }
        }

        /// The answer `id`'s kernel got for request `seq`.
        fn answer(&mut self, id: NodeId, seq: u32) -> Option<Response> {
            self.deliver();
            let a = self.answers.entry(id).or_default();
            let i = a.iter().position(|d| d.header.seq == seq)?;
            Some(a.remove(i).response)
        }

        /// A kernel request on `id` and its answer once the bus is quiet.
        fn call(&mut self, id: NodeId, ty: RequestType, data: &[u8]) -> Response {
            match self.kernel(id, ty, data) {
                (_, Some(r)) => r,
                (seq, None) => self.answer(id, seq).expect("no answer"),
            }
        }

        fn u64s(r: &Response) -> Vec<u64> {
            r.data
                .chunks(8)
                .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
                .collect()
        }

        fn same_state(&self) {
            let mut it = self.members.iter().map(|m| &self.nodes[m]);
            let first = it.next().unwrap();
            for n in it {
                let (a, b) = (first.log.regions(), n.log.regions());
                for w in 0..a.count().div_ceil(64) as usize {
                    assert_eq!(a.sync_word(w), b.sync_word(w), "sync word {w}");
                    assert_eq!(
                        a.clean_bits().word(w),
                        b.clean_bits().word(w),
                        "clean word {w}"
                    );
                }
                assert_eq!(
                    first.replica.export_ext(&first.valid, 0),
                    n.replica.export_ext(&n.valid, 0)
                );
            }
        }
    }

    fn r(v: u64) -> Vec<u8> {
        v.to_ne_bytes().to_vec()
    }

    const A: NodeId = 1;
    const B: NodeId = 2;
    const C: NodeId = 3;

    #[test]
    fn a_joiner_gets_the_state_and_both_apply_the_same() {
        let mut s = Sim::new("1000 clustered-core 8 nosync", &[A, B], None);
        assert_eq!(s.call(A, RequestType::Resume, &[]).error, 0);
        assert!(s.nodes[&A].is_valid());
        s.call(A, RequestType::MarkRegion, &r(3));
        // B joins: it waits for A's checkpoint, then answers its RESUME.
        let (seq, now) = s.kernel(B, RequestType::Resume, &[]);
        assert!(now.is_none());
        assert!(!s.nodes[&B].is_valid());
        assert_eq!(s.answer(B, seq).unwrap().error, 0);
        assert!(s.nodes[&B].is_valid());
        assert!(s.nodes[&B].replica.is_marked_by(3, A), "marks handed over");
        s.same_state();
        // A region both have marked stays dirty until both clear it.
        s.call(B, RequestType::MarkRegion, &r(3));
        assert_eq!(
            s.kernel(A, RequestType::ClearRegion, &r(3)).1,
            Some(Response::ok(vec![]))
        );
        let c = s.call(B, RequestType::IsClean, &r(3));
        assert_eq!(Sim::u64s(&c), vec![0]);
        s.call(B, RequestType::ClearRegion, &r(3));
        assert_eq!(Sim::u64s(&s.call(A, RequestType::IsClean, &r(3))), vec![1]);
        s.same_state();
        // Local requests stay local.
        let n = s.call(B, RequestType::GetSyncCount, &[]);
        assert_eq!(Sim::u64s(&n), vec![125]);
        assert!(s.bus.borrow().is_empty());
    }

    #[test]
    fn one_resync_at_a_time_across_nodes() {
        let mut s = Sim::new("1000 clustered-core 8", &[A, B], None);
        s.call(A, RequestType::Resume, &[]);
        s.call(B, RequestType::Resume, &[]);
        let w = s.call(A, RequestType::GetResyncWork, &[]);
        assert_eq!(Sim::u64s(&w), vec![1, 0]);
        assert_eq!(
            Sim::u64s(&s.call(B, RequestType::GetResyncWork, &[])),
            vec![0, 0]
        );
        let rec = s.call(B, RequestType::IsRemoteRecovering, &r(0));
        assert_eq!(Sim::u64s(&rec)[0], 1);
        let mut set = r(0);
        set.extend(r(1));
        s.call(A, RequestType::SetRegionSync, &set);
        assert_eq!(
            Sim::u64s(&s.call(B, RequestType::GetResyncWork, &[])),
            vec![1, 1]
        );
        s.same_state();
    }

    /// A node fails with regions marked (flushed: dirty on the device). The
    /// survivor keeps them dirty and in sync; they are out of sync, and
    /// resynced, when the group forms again from the device.
    #[test]
    fn a_failed_nodes_regions_are_resynced_when_the_group_forms_again() {
        // With nosync too: a clustered-disk log is read back whatever the
        // table says (cmirrord's rule).
        for table in [
            "1000 clustered-disk 7:3 8",
            "1000 clustered-disk 7:3 8 nosync",
        ] {
            failed_nodes_regions_resynced(table);
        }
    }

    fn failed_nodes_regions_resynced(table: &str) {
        let store = MemStore::new(4096);
        let mut s = Sim::new(table, &[A, B], Some(&store));
        let clean_on_disk = |st: &MemStore, region: usize| {
            st.0.borrow().data[1024 + region / 8] & (1 << (region % 8)) != 0
        };
        s.call(A, RequestType::Resume, &[]);
        s.call(B, RequestType::Resume, &[]);
        // The initial resync (a new log), by A.
        loop {
            let w = Sim::u64s(&s.call(A, RequestType::GetResyncWork, &[]));
            if w[0] == 0 {
                break;
            }
            let mut set = r(w[1]);
            set.extend(r(1));
            s.call(A, RequestType::SetRegionSync, &set);
        }
        // Cleared as the kernel does, at most 32 regions a request.
        for first in (0..125).step_by(32) {
            let some: Vec<u8> = (first..125.min(first + 32)).flat_map(r).collect();
            s.call(A, RequestType::ClearRegion, &some);
        }
        s.call(B, RequestType::MarkRegion, &r(7));
        assert_eq!(s.call(B, RequestType::Flush, &[]).error, 0);
        s.confchg(&[], &[B]);
        assert_eq!(Sim::u64s(&s.call(A, RequestType::InSync, &r(7))), vec![1]);
        assert_eq!(
            Sim::u64s(&s.call(A, RequestType::GetSyncCount, &[])),
            vec![125]
        );
        assert_eq!(
            Sim::u64s(&s.call(A, RequestType::GetResyncWork, &[])),
            vec![0, 0]
        );
        // A writes region 7 too: it stays dirty on the device.
        s.call(A, RequestType::MarkRegion, &r(7));
        s.call(A, RequestType::ClearRegion, &r(7));
        assert_eq!(s.call(A, RequestType::Flush, &[]).error, 0);
        assert!(!clean_on_disk(&store, 7));
        assert!(clean_on_disk(&store, 6) && clean_on_disk(&store, 8));
        // The group empties and forms again: 7 is out of sync and resynced.
        assert_eq!(s.call(A, RequestType::Postsuspend, &[]).error, 0);
        s.confchg(&[], &[A]);
        assert_eq!(s.call(A, RequestType::Resume, &[]).error, 0);
        assert_eq!(
            Sim::u64s(&s.call(A, RequestType::GetSyncCount, &[])),
            vec![124]
        );
        assert_eq!(Sim::u64s(&s.call(A, RequestType::InSync, &r(7))), vec![0]);
        assert_eq!(
            Sim::u64s(&s.call(A, RequestType::GetResyncWork, &[])),
            vec![1, 7]
        );
    }

    /// corosync goes away under a send: the log leaves the group, the
    /// request waiting fails with EIO, and so do later ones until a RESUME
    /// joins again.
    #[test]
    fn a_lost_connection_fails_requests_until_a_resume_joins_again() {
        let mut s = Sim::new("1000 clustered-core 8 nosync", &[A], None);
        assert_eq!(s.call(A, RequestType::Resume, &[]).error, 0);
        let (seq, now) = s.kernel(A, RequestType::Flush, &[]);
        assert!(now.is_none());
        s.down.set(true);
        s.bus.borrow_mut().clear();
        assert_eq!(s.call(A, RequestType::MarkRegion, &r(1)).error, -libc::EIO);
        assert!(!s.nodes[&A].joined());
        let failed = s.nodes.get_mut(&A).unwrap().take_failed();
        assert_eq!(failed.len(), 1);
        assert_eq!(
            (failed[0].header.seq, failed[0].response.error),
            (seq, -libc::EIO)
        );
        s.members.clear();
        assert_eq!(s.call(A, RequestType::GetResyncWork, &[]).error, -libc::EIO);
        s.down.set(false);
        assert_eq!(s.call(A, RequestType::Resume, &[]).error, 0);
        assert_eq!(s.call(A, RequestType::MarkRegion, &r(1)).error, 0);
        assert_eq!(s.call(A, RequestType::Flush, &[]).error, 0);
    }

    #[test]
    fn only_the_server_writes_and_flushes_wait_for_it() {
        let store = MemStore::new(4096);
        let mut s = Sim::new("1000 clustered-disk 7:3 8", &[A, B], Some(&store));
        s.call(A, RequestType::Resume, &[]);
        s.call(B, RequestType::Resume, &[]);
        let clean_on_disk = |st: &MemStore, region: usize| {
            st.0.borrow().data[1024 + region / 8] & (1 << (region % 8)) != 0
        };
        // All out of sync and dirty on a new log; resync region 5.
        let mut set = r(5);
        set.extend(r(1));
        s.call(A, RequestType::SetRegionSync, &set);
        s.call(B, RequestType::ClearRegion, &r(5));
        // B's flush: answered once A (the server) wrote the device.
        let (seq, now) = s.kernel(B, RequestType::Flush, &[]);
        assert!(now.is_none());
        assert_eq!(s.answer(B, seq).unwrap().error, 0);
        assert!(clean_on_disk(&store, 5));
        // B marks 5; A fails before B flushes: B is the server now and
        // writes the whole log.
        s.call(B, RequestType::MarkRegion, &r(5));
        s.confchg(&[], &[A]);
        store.0.borrow_mut().data[1024..1100].fill(0xFF);
        assert_eq!(s.call(B, RequestType::Flush, &[]).error, 0);
        assert!(!clean_on_disk(&store, 5), "B's mark is on the device");
        assert!(!clean_on_disk(&store, 6), "the whole log was written");
    }

    #[test]
    fn a_pending_flush_is_sent_again_when_the_server_fails() {
        let store = MemStore::new(4096);
        let mut s = Sim::new("1000 clustered-disk 7:3 8", &[A, B, C], Some(&store));
        for n in [A, B, C] {
            s.call(n, RequestType::Resume, &[]);
        }
        // C's flush is delivered; A fails before its reply goes out.
        let (seq, now) = s.kernel(C, RequestType::Flush, &[]);
        assert!(now.is_none());
        let msg = s.bus.borrow_mut().remove(0);
        for m in [B, C] {
            let out = s.nodes.get_mut(&m).unwrap().deliver(msg.0, &msg.1);
            assert!(out.is_empty());
        }
        s.bus.borrow_mut().clear(); // A's reply, lost with A
        s.members.retain(|&m| m != A);
        s.confchg(&[], &[A]);
        assert_eq!(
            s.answer(C, seq).map(|r| r.error),
            Some(0),
            "B answered the resent flush"
        );
    }

    #[test]
    fn malformed_group_input_is_dropped() {
        let mut s = Sim::new("1000 clustered-core 8 nosync", &[A], None);
        s.call(A, RequestType::Resume, &[]);
        let n = s.nodes.get_mut(&A).unwrap();
        for bad in [&[][..], &[0u8; 100][..], &[0xFFu8; 300][..]] {
            assert!(n.deliver(B, bad).is_empty());
        }
        // A checkpoint for this node while it holds the state: ignored.
        let mut other = vec![0u8; clog::HEADER_LEN];
        let h = Header::request(0, 1, RequestType::MarkRegion, 0);
        clog::encode(A, &h, b"LVM-other", &[], &mut other).unwrap();
        assert!(n.deliver(B, &other).is_empty());
        assert_eq!(n.refused, 4);
        assert_eq!(
            Sim::u64s(&s.call(A, RequestType::GetSyncCount, &[])),
            vec![125]
        );
    }

    #[test]
    fn leaving_and_rejoining_a_group_that_went_on() {
        let mut s = Sim::new("1000 clustered-core 8 nosync", &[A, B], None);
        s.call(A, RequestType::Resume, &[]);
        s.call(B, RequestType::Resume, &[]);
        // B suspends: answered when its POSTSUSPEND comes back; it leaves.
        assert_eq!(s.call(B, RequestType::Postsuspend, &[]).error, 0);
        assert!(!s.nodes[&B].joined());
        s.confchg(&[], &[B]);
        s.call(A, RequestType::MarkRegion, &r(11));
        // B resumes again: state from A, A's mark included.
        s.call(B, RequestType::Resume, &[]);
        assert!(s.nodes[&B].replica.is_marked_by(11, A));
        s.same_state();
    }

    #[test]
    fn messages_corosync_refuses_wait_in_order() {
        let mut s = Sim::new("1000 clustered-core 8 nosync", &[A], None);
        s.call(A, RequestType::Resume, &[]);
        s.busy.set(3);
        let (m, now) = s.kernel(A, RequestType::MarkRegion, &r(4));
        assert!(now.is_none());
        let (c, _) = s.kernel(A, RequestType::IsClean, &r(4));
        assert!(s.bus.borrow().is_empty(), "corosync took nothing yet");
        let n = s.nodes.get_mut(&A).unwrap();
        assert!(n.has_outbox());
        for _ in 0..3 {
            n.pump().unwrap();
        }
        assert!(!n.has_outbox());
        assert_eq!(s.answer(A, m).unwrap().error, 0);
        assert_eq!(Sim::u64s(&s.answer(A, c).unwrap()), vec![0], "marked first");
    }

    #[test]
    fn the_oldest_holder_writes_and_two_joiners_agree_on_it() {
        let store = MemStore::new(4096);
        let mut s = Sim::new("1000 clustered-disk 7:3 8", &[A, B, C], Some(&store));
        s.call(C, RequestType::Resume, &[]);
        // A and B join in one membership change.
        let (ra, _) = {
            let held = std::mem::take(&mut *s.bus.borrow_mut());
            let mut sent = Vec::new();
            for id in [A, B] {
                let r = s.req(RequestType::Resume, &[]);
                let t = Fake {
                    me: id,
                    bus: s.bus.clone(),
                    busy: s.busy.clone(),
                    down: s.down.clone(),
                };
                assert!(s
                    .nodes
                    .get_mut(&id)
                    .unwrap()
                    .resume(Box::new(t), &r)
                    .is_none());
                sent.push(r.header.seq);
            }
            let ours = std::mem::replace(&mut *s.bus.borrow_mut(), held);
            s.confchg(&[A, B], &[]);
            s.bus.borrow_mut().extend(ours);
            (sent[0], sent[1])
        };
        assert_eq!(s.answer(A, ra).map(|r| r.error), Some(0));
        for n in [A, B, C] {
            assert_eq!(s.nodes[&n].server(), Some(C), "node {n}");
        }
        s.same_state();
        // C leaves: the next oldest writes, for everyone alike.
        s.confchg(&[], &[C]);
        let w: Vec<_> = [A, B].iter().map(|n| s.nodes[n].server()).collect();
        assert_eq!(w[0], w[1]);
        assert_eq!(s.call(B, RequestType::Flush, &[]).error, 0);
    }

    #[test]
    fn a_checkpoint_for_a_joiner_that_left_makes_nobody_valid() {
        let mut s = Sim::new("1000 clustered-core 8 nosync", &[A, B], None);
        s.call(B, RequestType::Resume, &[]);
        // A joins; B's checkpoint for it is ordered after A's departure.
        let r = s.req(RequestType::Resume, &[]);
        let t = Fake {
            me: A,
            bus: s.bus.clone(),
            busy: s.busy.clone(),
            down: s.down.clone(),
        };
        s.nodes.get_mut(&A).unwrap().resume(Box::new(t), &r);
        s.bus.borrow_mut().clear();
        s.members.push(A);
        let c = Confchg {
            members: vec![B, A],
            left: vec![],
            joined: vec![A],
        };
        s.nodes.get_mut(&B).unwrap().confchg(&c);
        let cp = s.bus.borrow_mut().remove(0);
        let gone = Confchg {
            members: vec![B],
            left: vec![A],
            joined: vec![],
        };
        let b = s.nodes.get_mut(&B).unwrap();
        b.confchg(&gone);
        b.deliver(cp.0, &cp.1);
        assert_eq!(b.valid, vec![B], "the departed joiner is not a holder");
    }

    #[test]
    fn starting_alone_forgets_the_old_groups_resync() {
        let mut s = Sim::new("1000 clustered-core 8", &[A, B], None);
        s.call(A, RequestType::Resume, &[]);
        s.call(B, RequestType::Resume, &[]);
        assert_eq!(
            Sim::u64s(&s.call(B, RequestType::GetResyncWork, &[])),
            vec![1, 0]
        );
        for n in [B, A] {
            s.call(n, RequestType::Postsuspend, &[]);
            s.confchg(&[], &[n]);
        }
        s.call(A, RequestType::Resume, &[]);
        assert_eq!(
            Sim::u64s(&s.call(A, RequestType::GetResyncWork, &[])),
            vec![1, 0]
        );
    }

    #[test]
    fn out_of_the_group_nothing_changes_the_shared_state() {
        let mut s = Sim::new("1000 clustered-core 8 nosync", &[A], None);
        assert_eq!(s.call(A, RequestType::MarkRegion, &r(1)).error, -libc::EIO);
        assert_eq!(s.call(A, RequestType::Flush, &[]).error, -libc::EIO);
        assert_eq!(s.call(A, RequestType::IsClean, &r(1)).error, 0);
    }

    /// A small xorshift generator: the random test replays from its seed.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// Random runs of three nodes: joins, leaves, failures (the daemon
    /// restarted with a fresh log), marks, clears, flushes, resync work and
    /// recovery questions, the bus drained after each step. After each
    /// step: every member holds the state and all hold the same; every
    /// answered request of a live node was answered once; and every region
    /// a live node marked and then flushed is dirty on the shared device.
    #[test]
    fn random_membership_and_requests_keep_replicas_equal_and_marks_on_disk() {
        const TABLE: &str = "1000 clustered-disk 7:3 8";
        for seed in 1..=40u64 {
            let store = MemStore::new(4096);
            let mut s = Sim::new(TABLE, &[A, B, C], Some(&store));
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            // Per node: regions marked, and those of them flushed since.
            let mut marked: BTreeMap<NodeId, BTreeSet<u64>> = BTreeMap::new();
            let mut flushed: BTreeMap<NodeId, BTreeSet<u64>> = BTreeMap::new();
            // Flushed marks of nodes that failed: dirty on the device while
            // the group lasts.
            let mut orphaned: BTreeSet<u64> = BTreeSet::new();
            for step in 0..120 {
                let n = [A, B, C][rng.below(3) as usize];
                let member = s.members.contains(&n);
                let what = rng.below(10);
                let ctx = format!("seed {seed} step {step} node {n} op {what}");
                if !member {
                    if s.nodes[&n].joined() {
                        continue;
                    }
                    assert_eq!(s.call(n, RequestType::Resume, &[]).error, 0, "{ctx}");
                    continue;
                }
                let r = rng.below(12);
                match what {
                    0..=2 => {
                        assert_eq!(
                            s.call(n, RequestType::MarkRegion, &super::tests::r(r))
                                .error,
                            0,
                            "{ctx}"
                        );
                        marked.entry(n).or_default().insert(r);
                    }
                    3 => {
                        if let Some(&m) = marked.get(&n).and_then(|m| m.iter().next()) {
                            s.call(n, RequestType::ClearRegion, &super::tests::r(m));
                            marked.get_mut(&n).unwrap().remove(&m);
                            flushed.entry(n).or_default().remove(&m);
                        }
                    }
                    4 | 5 => {
                        assert_eq!(s.call(n, RequestType::Flush, &[]).error, 0, "{ctx}");
                        let m = marked.get(&n).cloned().unwrap_or_default();
                        flushed.insert(n, m);
                    }
                    6 => {
                        let w = Sim::u64s(&s.call(n, RequestType::GetResyncWork, &[]));
                        if w[0] == 1 {
                            let mut set = super::tests::r(w[1]);
                            set.extend(super::tests::r(1));
                            assert_eq!(
                                s.call(n, RequestType::SetRegionSync, &set).error,
                                0,
                                "{ctx}"
                            );
                        }
                    }
                    7 => {
                        s.call(n, RequestType::IsRemoteRecovering, &super::tests::r(r));
                    }
                    8 => {
                        // A graceful leave: the kernel cleared and flushed
                        // its regions first.
                        for m in marked.remove(&n).unwrap_or_default() {
                            s.call(n, RequestType::ClearRegion, &super::tests::r(m));
                        }
                        s.call(n, RequestType::Flush, &[]);
                        flushed.remove(&n);
                        assert_eq!(s.call(n, RequestType::Postsuspend, &[]).error, 0, "{ctx}");
                        s.confchg(&[], &[n]);
                    }
                    _ => {
                        // Failure: the node is gone; its daemon starts over.
                        s.deliver();
                        s.bus.borrow_mut().retain(|(from, _)| *from != n);
                        s.members.retain(|&m| m != n);
                        let c = Confchg {
                            members: s.members.clone(),
                            left: vec![n],
                            joined: vec![],
                        };
                        for &m in &s.members.clone() {
                            let out = s.nodes.get_mut(&m).unwrap().confchg(&c);
                            s.answers.entry(m).or_default().extend(out);
                        }
                        let cfg = parse_ctr(TABLE.as_bytes()).unwrap();
                        let dev = LogDevice {
                            store: Box::new(store.clone()),
                            name: "7:3".into(),
                            hold: None,
                        };
                        let fresh = DirtyLog::with_device(cfg, Some(dev)).unwrap();
                        s.nodes.insert(n, ClusterLog::new(UUID, fresh));
                        s.answers.remove(&n);
                        marked.remove(&n);
                        orphaned.extend(flushed.remove(&n).unwrap_or_default());
                    }
                }
                s.deliver();
                for m in &s.members {
                    assert!(s.nodes[m].is_valid(), "{ctx}: node {m} has no state");
                }
                if s.members.is_empty() {
                    orphaned.clear();
                } else {
                    s.same_state();
                }
                for &g in &orphaned {
                    let clean = store.0.borrow().data[1024 + g as usize / 8] & (1 << (g % 8)) != 0;
                    assert!(
                        !clean,
                        "{ctx}: a failed node's flushed mark of region {g} was cleaned"
                    );
                }
                for (node, regions) in &flushed {
                    if !s.members.contains(node) {
                        continue;
                    }
                    for &g in regions {
                        let clean =
                            store.0.borrow().data[1024 + g as usize / 8] & (1 << (g % 8)) != 0;
                        assert!(
                            !clean,
                            "{ctx}: node {node}'s flushed mark of region {g} not on disk"
                        );
                    }
                }
                for (node, a) in &s.answers {
                    assert!(a.is_empty(), "{ctx}: node {node} got unasked answers {a:?}");
                }
            }
        }
    }

    /// A holder fails before its checkpoints go out while two nodes wait:
    /// the first waiter starts alone and hands the state to the second,
    /// which skips what the state already includes.
    #[test]
    fn a_waiter_that_starts_alone_hands_the_state_on() {
        let mut s = Sim::new("1000 clustered-core 8 nosync", &[A, B, C], None);
        s.call(A, RequestType::Resume, &[]);
        s.call(A, RequestType::MarkRegion, &r(1));
        let (rb, _) = s.kernel(B, RequestType::Resume, &[]);
        s.bus.borrow_mut().retain(|(from, _)| *from != A); // A's checkpoint: never sent
        let (rc, _) = s.kernel(C, RequestType::Resume, &[]);
        s.bus.borrow_mut().retain(|(from, _)| *from != A);
        let (mb, _) = s.kernel(B, RequestType::MarkRegion, &r(5));
        let (mc, _) = s.kernel(C, RequestType::MarkRegion, &r(6));
        s.confchg(&[], &[A]);
        s.deliver();
        for (n, seq) in [(B, rb), (B, mb), (C, rc), (C, mc)] {
            assert_eq!(
                s.answer(n, seq).map(|r| r.error),
                Some(0),
                "node {n} seq {seq}"
            );
        }
        assert!(s.nodes[&B].is_valid() && s.nodes[&C].is_valid());
        s.same_state();
        assert!(s.nodes[&C].replica.is_marked_by(5, B));
        assert!(s.nodes[&B].replica.is_marked_by(6, C));
        assert!(
            !s.nodes[&C].replica.is_marked_by(1, A),
            "A's marks went with A"
        );
    }
}
