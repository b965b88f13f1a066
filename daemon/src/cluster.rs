// SPDX-License-Identifier: GPL-2.0

//! The replicated state of a cluster log (`clustered-core`,
//! `clustered-disk`): what every member of the log's CPG group applies, in
//! the group's total order, so that all members hold the same state. The
//! rules are cmirrord's (LVM2 2.03.16, `Documentation/cmirrord-protocol.md`
//! sections 3 and 4), so that dm-logd and cmirrord members can share a
//! group; where a rule is dm-logd's own it says so.
//!
//! On top of a [`DirtyLog`] (the bitmaps and their persistence) a
//! [`Replica`] keeps what only a cluster needs:
//!
//! - which nodes have each region marked: a region is cleaned only when no
//!   node has it marked and it is in sync;
//! - the one region being resynced cluster-wide and the node resyncing it;
//! - the regions another node asked about (`IS_REMOTE_RECOVERING`), resynced
//!   first, newest first;
//! - the resync scan position, which only a group forming starts again;
//! - the local "recovery halted" flag of a presuspended node (kept for
//!   cmirrord's rule; dm-logd answers PRESUSPEND locally and does not set
//!   it);
//! - local: whether every region has been in sync since this node's last
//!   resume, after which IN_SYNC answers "in sync" whatever the bitmap says
//!   (cmirrord's rule, see [`Replica::in_sync`]).
//!
//! A node that leaves the group with regions marked leaves them dirty: see
//! [`Replica::node_left`] for why they are not set out of sync.
//!
//! The group transport (corosync CPG) that feeds it is `group.rs`.

use std::collections::BTreeMap;

use crate::dirtylog::DirtyLog;
use crate::error::{Error, Result};
use dm_log_shared::clog::ext::{self, Ext};
use dm_log_shared::clog::{checkpoint_bitmap_len, Checkpoint};

/// A node of the cluster: its corosync node id.
pub type NodeId = u32;

/// The owner of the marks of nodes that left the group. Corosync node ids
/// start at 1, and no kernel request comes from this one: these marks are
/// never cleared while the group lasts.
pub const LEFT: NodeId = 0;

/// The cluster-only state of one log. All members apply the same calls in
/// the same order, except [`Replica::presuspend`], which is local.
#[derive(Debug, Default)]
pub struct Replica {
    /// The nodes that have each region marked (at least one per entry).
    marks: BTreeMap<u64, Vec<NodeId>>,
    /// The region being resynced and the node resyncing it.
    recovering: Option<(u64, NodeId)>,
    /// Regions asked about by IS_REMOTE_RECOVERING: the last one is taken
    /// first.
    priority: Vec<u64>,
    /// One past the last region the scan handed out.
    sync_search: u64,
    /// Local: this node was presuspended; it reports nothing recovering.
    halted: bool,
    /// Local: every region has been in sync since this node's last resume.
    synced: bool,
}

fn check(log: &DirtyLog, region: u64) -> Result<()> {
    let n = log.regions().count();
    if region < n {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "region {region} past the end of the log ({n} regions)"
        )))
    }
}

impl Replica {
    /// A fresh state: nothing marked, nothing recovering.
    pub fn new() -> Self {
        Self::default()
    }

    /// MARK_REGION from `node`: the first node to mark a region makes it
    /// dirty; marking it again is a no-op.
    pub fn mark(&mut self, log: &mut DirtyLog, node: NodeId, regions: &[u64]) -> Result<()> {
        regions.iter().try_for_each(|&r| check(log, r))?;
        for &r in regions {
            let nodes = self.marks.entry(r).or_default();
            if nodes.contains(&node) {
                continue;
            }
            if nodes.is_empty() {
                log.mark(&[r])?;
            }
            nodes.push(node);
        }
        Ok(())
    }

    /// CLEAR_REGION from `node`: drops its mark; the region becomes clean
    /// when no other node has it marked and it is in sync.
    pub fn clear(&mut self, log: &mut DirtyLog, node: NodeId, regions: &[u64]) -> Result<()> {
        regions.iter().try_for_each(|&r| check(log, r))?;
        for &r in regions {
            let others = match self.marks.get_mut(&r) {
                Some(nodes) => {
                    nodes.retain(|&n| n != node);
                    !nodes.is_empty()
                }
                None => false,
            };
            if !others {
                self.marks.remove(&r);
                if log.in_sync(r)? {
                    log.clear(&[r])?;
                }
            }
        }
        Ok(())
    }

    /// Whether `node` has `region` marked.
    pub fn is_marked_by(&self, region: u64, node: NodeId) -> bool {
        self.marks.get(&region).is_some_and(|n| n.contains(&node))
    }

    /// GET_RESYNC_WORK from `node`: one region at a time cluster-wide. The
    /// node resyncing a region gets it again; the others get nothing until
    /// it is done. Then the regions asked about, newest first, then the scan.
    pub fn resync_work(&mut self, log: &mut DirtyLog, node: NodeId) -> Option<u64> {
        let count = log.regions().count();
        if self.sync_search >= count {
            return None;
        }
        if let Some((r, owner)) = self.recovering {
            return (owner == node).then_some(r);
        }
        while let Some(r) = self.priority.pop() {
            if !log.regions().in_sync(r) {
                self.recovering = Some((r, node));
                return Some(r);
            }
        }
        let mut r = self.sync_search;
        while r < count && log.regions().in_sync(r) {
            r += 1;
        }
        if r >= count {
            self.sync_search = count + 1;
            return None;
        }
        self.sync_search = r + 1;
        self.recovering = Some((r, node));
        Some(r)
    }

    /// SET_REGION_SYNC: ends the current resync, whoever sends it.
    pub fn set_region_sync(
        &mut self,
        log: &mut DirtyLog,
        region: u64,
        in_sync: bool,
    ) -> Result<()> {
        check(log, region)?;
        self.recovering = None;
        log.set_region_sync(region, in_sync)?;
        self.note_synced(log);
        Ok(())
    }

    fn note_synced(&mut self, log: &DirtyLog) {
        if log.sync_count() == log.regions().count() {
            self.synced = true;
        }
    }

    /// IN_SYNC, answered by each node from its own state: the bitmap, but
    /// "in sync" for every region once all have been in sync since this
    /// node's last resume (cmirrord's rule, but for one difference:
    /// cmirrord starts counting only at the next SET_REGION_SYNC that
    /// completes the sync, so a node resumed on a mirror already in sync
    /// answers from its bitmap; here it answers "in sync" at once). A region that goes out of sync
    /// later (a mirror marks one on a leg's write error) would have every
    /// other node's kernel send its writes to one leg only, from then until
    /// its table is reloaded: the kernel keeps such a region's state in its
    /// region hash even after another node has resynced it.
    pub fn in_sync(&self, log: &DirtyLog, region: u64) -> Result<bool> {
        Ok(log.in_sync(region)? || self.synced)
    }

    /// Whether `region` is being resynced or will be: out of sync, and
    /// being resynced or ahead of the scan. One the scan has passed (a
    /// failed resync, a leg's write error) waits for the group to form
    /// again ([`Replica::resume`]): "no", or the kernel would hold its
    /// writes to it until then.
    pub fn pending(&self, log: &DirtyLog, region: u64) -> bool {
        let count = log.regions().count();
        !log.regions().in_sync(region)
            && (self.recovering.map(|(r, _)| r) == Some(region)
                || (region >= self.sync_search && self.sync_search < count))
    }

    /// IS_REMOTE_RECOVERING: whether `region` is still to be resynced
    /// ([`Replica::pending`]), and the scan position as the in-sync hint. A
    /// region asked about goes to the front of the resync queue. A
    /// presuspended node answers "no, none" and queues nothing.
    pub fn is_remote_recovering(&mut self, log: &DirtyLog, region: u64) -> Result<(bool, u64)> {
        check(log, region)?;
        if self.halted {
            return Ok((false, log.regions().count()));
        }
        let pending = self.pending(log, region);
        if pending
            && self.recovering.map(|(r, _)| r) != Some(region)
            && !self.priority.contains(&region)
        {
            self.priority.push(region);
        }
        Ok((pending, self.sync_search.saturating_sub(1)))
    }

    /// PRESUSPEND, local to this node.
    pub fn presuspend(&mut self) {
        self.halted = true;
    }

    /// RESUME (every member applies every node's). `own`: this node's; its
    /// recovery is no longer halted, and "all in sync since the last
    /// resume" starts over.
    ///
    /// The resync scan does not start again (it does when a group forms):
    /// a region it has passed is one the other nodes' kernels no longer ask
    /// about (their in-sync hint, from IS_REMOTE_RECOVERING, is past it), so
    /// resyncing it now would race their writes to it. Such a region (a
    /// failed resync, a leg's write error) waits for the group to form
    /// again, as on cmirrord, where a node's RESUME moves only its own scan
    /// and the server's answers.
    pub fn resume(&mut self, log: &DirtyLog, own: bool) {
        if own {
            self.halted = false;
            self.synced = false;
            self.note_synced(log);
        }
    }

    /// `node` left the group (failed, or its daemon or corosync stopped)
    /// with regions marked: where its writes were cut, their legs may
    /// differ. Its marks pass to [`LEFT`]: the regions stay dirty (on a disk
    /// log, on the device) and keep their sync bits, as with cmirrord, until
    /// the group forms again and its first member reads the log back (a
    /// disk log: the dirty regions out of sync and resynced; a core log:
    /// everything, as its table says). A resync it was doing is given up.
    /// Returns how many regions it had marked.
    ///
    /// Setting them out of sync here instead is not safe: a kernel whose
    /// mirror was in sync asks for resync work and about remote recovery
    /// only after its next resume, so a survivor writing such a region
    /// sends its writes to one leg only and keeps the region in that state
    /// (in its region hash) until it resyncs the region itself; if another
    /// node resyncs it first, the log says "in sync" while that survivor
    /// goes on writing one leg.
    pub fn node_left(&mut self, node: NodeId) -> u64 {
        let mut lost = 0;
        for nodes in self.marks.values_mut() {
            if let Some(i) = nodes.iter().position(|&n| n == node) {
                nodes.remove(i);
                lost += 1;
                if !nodes.contains(&LEFT) {
                    nodes.push(LEFT);
                }
            }
        }
        if let Some((r, owner)) = self.recovering {
            if owner == node {
                self.recovering = None;
                self.sync_search = self.sync_search.min(r);
            }
        }
        lost
    }

    /// The state handed to a joining node, in cmirrord's checkpoint form:
    /// the in-sync and clean bitmaps as [`checkpoint_bitmap_len`] bytes each
    /// and the region being resynced.
    pub fn export(&self, log: &DirtyLog) -> (Vec<u8>, Vec<u8>, Option<(u64, NodeId)>) {
        let regions = log.regions();
        let len = checkpoint_bitmap_len(regions.count()).unwrap_or(0);
        let bytes = |word: &dyn Fn(usize) -> u64| {
            let mut out = vec![0u8; len];
            for (w, chunk) in out.chunks_mut(8).enumerate() {
                let b = word(w).to_le_bytes();
                chunk.copy_from_slice(&b[..chunk.len()]);
            }
            out
        };
        let sync = bytes(&|w| regions.sync_word(w));
        let clean = bytes(&|w| regions.clean_bits().word(w));
        (sync, clean, self.recovering)
    }

    /// dm-logd's checkpoint extension ([`dm_log_shared::clog::ext`]): the
    /// marks, the priority list and the scan position, with `valid` (the
    /// members holding the state, oldest first) and `included` (messages
    /// since the joiner's join already applied), encoded.
    pub fn export_ext(&self, valid: &[NodeId], included: u64) -> Vec<u8> {
        let marks: Vec<(NodeId, u64)> = self
            .marks
            .iter()
            .flat_map(|(&r, nodes)| nodes.iter().map(move |&n| (n, r)))
            .collect();
        let mut out =
            vec![0u8; ext::len(marks.len(), self.priority.len(), valid.len()).unwrap_or(0)];
        let n = ext::encode(
            marks.into_iter(),
            &self.priority,
            valid,
            self.sync_search,
            included,
            &mut out,
        )
        .unwrap_or(0);
        out.truncate(n);
        out
    }

    /// Takes dm-logd's checkpoint extension, after [`Replica::import`].
    pub fn import_ext(&mut self, e: &Ext<'_>) {
        self.marks.clear();
        for (node, r) in e.marks() {
            let nodes = self.marks.entry(r).or_default();
            if !nodes.contains(&node) {
                nodes.push(node);
            }
        }
        self.priority = e.priority().collect();
        self.sync_search = e.sync_search;
    }

    /// After a checkpoint, which is this node's resume (its RESUME may be
    /// among what the checkpoint already includes): recovery not halted,
    /// and "in sync since the last resume" starts from this state.
    pub fn imported(&mut self, log: &DirtyLog) {
        self.halted = false;
        self.synced = false;
        self.note_synced(log);
    }

    /// The nodes that have some region marked.
    pub fn marking_nodes(&self) -> Vec<NodeId> {
        let mut v: Vec<NodeId> = self.marks.values().flatten().copied().collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Takes a checkpoint for this log: the bitmaps (bits past the end
    /// dropped) and the region being resynced. Marks are not handed over
    /// (cmirrord's rule): a joiner starts with none, unless dm-logd's
    /// extension follows ([`Replica::import_ext`]).
    pub fn import(&mut self, log: &mut DirtyLog, cp: &Checkpoint<'_>) {
        let word = |b: &[u8], w: usize| {
            let mut x = [0u8; 8];
            let from = (w * 8).min(b.len());
            let to = (w * 8 + 8).min(b.len());
            x[..to - from].copy_from_slice(&b[from..to]);
            u64::from_le_bytes(x)
        };
        log.import_state(|w| word(cp.clean, w), |w| word(cp.sync, w));
        self.marks.clear();
        self.priority.clear();
        self.recovering = cp.recovering;
        self.sync_search = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctr::parse_ctr;

    const A: NodeId = 1;
    const B: NodeId = 2;

    /// A resumed clustered-core log of 125 regions.
    fn log(args: &str) -> DirtyLog {
        let mut l = DirtyLog::create(parse_ctr(args.as_bytes()).unwrap()).unwrap();
        l.resume().unwrap();
        l
    }

    fn synced() -> DirtyLog {
        log("1000 clustered-core 8 nosync")
    }

    #[test]
    fn a_region_is_clean_when_no_node_has_it_marked() {
        let (mut l, mut r) = (synced(), Replica::new());
        r.mark(&mut l, A, &[3]).unwrap();
        r.mark(&mut l, B, &[3]).unwrap();
        r.mark(&mut l, B, &[3]).unwrap();
        assert!(r.is_marked_by(3, A) && r.is_marked_by(3, B));
        r.clear(&mut l, A, &[3]).unwrap();
        assert_eq!(l.is_clean(3), Ok(false), "B still has it marked");
        r.clear(&mut l, B, &[3]).unwrap();
        assert_eq!(l.is_clean(3), Ok(true));
        assert!(!r.is_marked_by(3, B));
        // Nothing is marked on an out-of-range request.
        assert!(r.mark(&mut l, A, &[4, 125]).is_err());
        assert!(!r.is_marked_by(4, A) && l.is_clean(4) == Ok(true));
    }

    #[test]
    fn an_unsynced_region_stays_dirty() {
        let (mut l, mut r) = (log("1000 clustered-core 8"), Replica::new());
        r.mark(&mut l, A, &[5]).unwrap();
        r.clear(&mut l, A, &[5]).unwrap();
        assert_eq!(l.is_clean(5), Ok(false));
    }

    #[test]
    fn one_resync_at_a_time_cluster_wide() {
        let (mut l, mut r) = (log("1000 clustered-core 8"), Replica::new());
        assert_eq!(r.resync_work(&mut l, A), Some(0));
        assert_eq!(r.resync_work(&mut l, B), None, "A is resyncing 0");
        assert_eq!(r.resync_work(&mut l, A), Some(0), "handed again to A");
        r.set_region_sync(&mut l, 0, true).unwrap();
        assert_eq!(r.resync_work(&mut l, B), Some(1));
        // A region asked about goes first, and is not handed twice.
        assert_eq!(r.is_remote_recovering(&l, 9).unwrap(), (true, 1));
        assert_eq!(r.is_remote_recovering(&l, 9).unwrap(), (true, 1));
        r.set_region_sync(&mut l, 1, true).unwrap();
        assert_eq!(r.resync_work(&mut l, A), Some(9));
        r.set_region_sync(&mut l, 9, true).unwrap();
        assert_eq!(r.resync_work(&mut l, A), Some(2));
        r.set_region_sync(&mut l, 2, true).unwrap();
        assert_eq!(r.is_remote_recovering(&l, 9).unwrap(), (false, 2));
        r.presuspend();
        assert_eq!(r.is_remote_recovering(&l, 50).unwrap(), (false, 125));
        r.resume(&l, true);
        assert_eq!(r.is_remote_recovering(&l, 50).unwrap(), (true, 2));
        // Region 50 first, then the scan on over what is left.
        let mut order = Vec::new();
        while let Some(got) = r.resync_work(&mut l, B) {
            r.set_region_sync(&mut l, got, true).unwrap();
            order.push(got);
        }
        assert_eq!(order[0], 50);
        assert!(order[1..].windows(2).all(|w| w[0] < w[1]));
        assert_eq!(order.len(), 125 - 4);
        assert_eq!(l.sync_count(), 125);
        // A region the scan passed goes out of sync: not handed out again,
        // whoever resumes, until a group forms.
        r.set_region_sync(&mut l, 5, false).unwrap();
        r.resume(&l, true);
        r.resume(&l, false);
        assert_eq!(r.resync_work(&mut l, A), None);
        assert_eq!(r.is_remote_recovering(&l, 5).unwrap(), (false, 124));
        let mut formed = Replica::new();
        assert_eq!(formed.resync_work(&mut l, A), Some(5));
    }

    #[test]
    fn a_departed_nodes_regions_stay_dirty_and_in_sync() {
        let (mut l, mut r) = (synced(), Replica::new());
        r.resume(&l, true);
        r.mark(&mut l, A, &[3, 7]).unwrap();
        r.mark(&mut l, B, &[7, 8]).unwrap();
        assert_eq!(r.node_left(A), 2);
        assert_eq!(l.sync_count(), 125, "sync bits untouched");
        assert_eq!(r.resync_work(&mut l, B), None, "nothing to resync");
        assert!(!r.is_marked_by(3, A) && r.is_marked_by(3, LEFT));
        // Nobody live can clear them; A back under the same id neither.
        r.mark(&mut l, A, &[3]).unwrap();
        r.clear(&mut l, A, &[3]).unwrap();
        r.clear(&mut l, B, &[7, 8]).unwrap();
        assert_eq!(l.is_clean(3), Ok(false));
        assert_eq!(l.is_clean(7), Ok(false));
        assert_eq!(l.is_clean(8), Ok(true));
        r.mark(&mut l, A, &[3]).unwrap();
        assert_eq!(r.node_left(A), 1, "its new mark of 3");
        assert_eq!(r.marks.get(&3), Some(&vec![LEFT]));
    }

    #[test]
    fn in_sync_once_all_were_since_the_last_resume() {
        let (mut l, mut r) = (log("1000 clustered-core 8"), Replica::new());
        r.resume(&l, true);
        assert_eq!(r.in_sync(&l, 0), Ok(false));
        while let Some(got) = r.resync_work(&mut l, A) {
            r.set_region_sync(&mut l, got, true).unwrap();
        }
        // A leg's write error marks a region out of sync: still "in sync"
        // to this node's kernel, whose writes go on to every leg.
        r.set_region_sync(&mut l, 5, false).unwrap();
        assert_eq!(l.sync_count(), 124);
        assert_eq!(r.in_sync(&l, 5), Ok(true));
        assert!(r.in_sync(&l, 125).is_err());
        // Another node's resume changes nothing here; this node's does.
        r.resume(&l, false);
        assert_eq!(r.in_sync(&l, 5), Ok(true));
        r.resume(&l, true);
        assert_eq!(r.in_sync(&l, 5), Ok(false));
    }

    #[test]
    fn a_failed_resyncer_hands_its_region_back() {
        let (mut l, mut r) = (log("1000 clustered-core 8"), Replica::new());
        assert_eq!(r.resync_work(&mut l, A), Some(0));
        assert_eq!(r.node_left(A), 0);
        assert_eq!(r.resync_work(&mut l, B), Some(0));
    }

    #[test]
    fn checkpoints_carry_bitmaps_and_the_resync() {
        let (mut l, mut r) = (log("1000 clustered-core 8"), Replica::new());
        for i in 0..64 {
            let got = r.resync_work(&mut l, A).unwrap();
            r.set_region_sync(&mut l, got, true).unwrap();
            assert_eq!(got, i);
        }
        r.mark(&mut l, A, &[2, 100]).unwrap();
        assert_eq!(r.resync_work(&mut l, B), Some(64));
        let (sync, clean, rec) = r.export(&l);
        assert_eq!(sync.len(), checkpoint_bitmap_len(125).unwrap());
        let cp = Checkpoint {
            sync: &sync,
            clean: &clean,
            recovering: rec,
        };
        let mut buf = vec![0u8; Checkpoint::data_len(125).unwrap()];
        let n = cp.encode(&mut buf).unwrap();
        let back = Checkpoint::decode(125, &buf[..n]).unwrap();
        let (mut j, mut jr) = (log("1000 clustered-core 8"), Replica::new());
        jr.import(&mut j, &back);
        assert_eq!(j.sync_count(), 64);
        for i in 0..125 {
            assert_eq!(j.in_sync(i), l.in_sync(i), "sync {i}");
            assert_eq!(j.is_clean(i), l.is_clean(i), "clean {i}");
        }
        assert_eq!(jr.resync_work(&mut j, A), None, "B is resyncing 64");
        assert_eq!(jr.resync_work(&mut j, B), Some(64));
        assert!(!jr.is_marked_by(2, A), "marks are not handed over");
        // dm-logd's extension hands them over, with the scan state.
        r.is_remote_recovering(&l, 120).unwrap();
        let x = r.export_ext(&[A], 0);
        let e = Ext::decode(&x, 125).unwrap();
        jr.import_ext(&e);
        assert!(jr.is_marked_by(2, A) && jr.is_marked_by(100, A));
        assert_eq!(jr.marking_nodes(), vec![A]);
        r.set_region_sync(&mut l, 64, true).unwrap();
        jr.set_region_sync(&mut j, 64, true).unwrap();
        for n in [A, B, A] {
            let (a, b) = (r.resync_work(&mut l, n), jr.resync_work(&mut j, n));
            assert_eq!(a, b);
            if let Some(x) = a {
                r.set_region_sync(&mut l, x, true).unwrap();
                jr.set_region_sync(&mut j, x, true).unwrap();
            }
        }
    }

    /// cmirrord's nosync checkpoint sets every bit of its words, the spare
    /// ones past the end included: they are dropped.
    #[test]
    fn spare_bits_of_a_checkpoint_are_dropped() {
        let len = checkpoint_bitmap_len(125).unwrap();
        let ones = vec![0xFFu8; len];
        let cp = Checkpoint {
            sync: &ones,
            clean: &ones,
            recovering: None,
        };
        let (mut j, mut jr) = (log("1000 clustered-core 8"), Replica::new());
        jr.import(&mut j, &cp);
        assert_eq!(j.sync_count(), 125);
        assert_eq!(j.regions().clean_bits().count_ones(), 125);
    }
}
