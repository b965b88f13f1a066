#!/usr/bin/env bash
# The cluster benchmark: dm-logd --cluster vs LVM2's cmirrord serving one
# clustered mirror on the two-node QEMU cluster of scripts/cluster.sh, in the
# same boot, taking turns (the guest side: tests/cluster_bench_vm.sh).
#   scripts/cluster-bench.sh [rs|c]   (default rs; CLUSTER_LOG=disk|core,
#                                      BENCH_ROUNDS=3, BENCH_SECONDS=10)
#
# Node 1, then node 2 writes 4 KiB blocks at random over the mirror (fio,
# O_DIRECT, one write in flight, then 16) while the other node is a member
# of the log's group. Prints, per writing node and iodepth, each server's
# median IOPS and write latency over the rounds and the ratio
# dm-logd/cmirrord (median of the per-round ratios, with their range);
# every run goes to tests/out/cluster-bench-<impl>-<log>/bench.csv. A
# bench, not a test: it fails only if a run did not complete.
set -uo pipefail
. "$(dirname "$0")/common.sh"

rounds=${BENCH_ROUNDS:-3}
secs=${BENCH_SECONDS:-10}
. "$(dirname "$0")/cluster-lib.sh"
cluster_prereqs "${1:-rs}"
DMLOGD=${DMLOGD:-$DMLOG_ROOT/target/release/dm-logd}
[ -x "$DMLOGD" ] || die "no dm-logd at $DMLOGD: run 'make daemon'"
limit=$((900 + rounds * 2 * (2 * secs + 120)))

out=$DMLOG_ROOT/tests/out/cluster-bench-$impl-$clog
run=$out/run
rm -rf "$out"
mkdir -p "$run"
truncate -s 256M "$out/leg0.img" && truncate -s 256M "$out/leg1.img" &&
	truncate -s 4M "$out/log.img" || die "cannot make the disk images"
cp "$DMLOGD" "$out/dm-logd" || die "cannot copy $DMLOGD"
echo "round,server,node,iodepth,iops,clat_mean_us,clat_p50_us,clat_p99_us" >"$run/bench.csv"

GUEST=$DMLOG_ROOT/tests/cluster_bench_vm.sh
GUEST_ENV="CLUSTER_LOG=$clog CMIRRORD=$CMIRRORD DMLOGD=$out/dm-logd BENCH_ROUNDS=$rounds BENCH_SECONDS=$secs DMLOG_CACHE=$DMLOG_CACHE"
trap cleanup EXIT

t0=$SECONDS
log "cluster bench: LOG_IMPL=$impl, clustered-$clog, $rounds rounds of ${secs}-s runs; results in $out"
boot 1 1
p1=$booted
boot 2 1
p2=$booted
done_runs=0
for p in $p1 $p2; do
	while kill -0 "$p" 2>/dev/null; do
		if [ $((SECONDS - t0)) -ge "$limit" ] || compgen -G "$run/failed.*" >/dev/null; then
			sleep 20
			cleanup
			break
		fi
		n=$(($(wc -l <"$run/bench.csv") - 1))
		if [ "$n" != "$done_runs" ]; then
			done_runs=$n
			log "run $n of $((rounds * 8)): $(tail -n 1 "$run/bench.csv")"
		fi
		sleep 2
	done
	wait "$p" 2>/dev/null
done
cp "$run/bench.csv" "$out/bench.csv"
for n in 1 2; do sed -n '/^KTAP version/,$p' "$out/node$n.ktap" 2>/dev/null | sed "s/^/# node $n: /"; done
python3 - "$out/bench.csv" <<'EOF'
import csv, statistics as st, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("| writer | iodepth | dm-logd IOPS | cmirrord IOPS | ratio (range) | dm-logd latency µs (p99) | cmirrord latency µs (p99) |")
print("|---|---|---|---|---|---|---|")
for n, d in sorted({(r["node"], r["iodepth"]) for r in rows}, key=lambda k: (k[0], int(k[1]))):
    by = {}
    for r in rows:
        if (r["node"], r["iodepth"]) == (n, d):
            by.setdefault(r["server"], {})[r["round"]] = r
    a, b = by.get("dm-logd", {}), by.get("cmirrord", {})
    both = sorted(set(a) & set(b))
    if not both:
        continue
    ratios = [float(a[k]["iops"]) / float(b[k]["iops"]) for k in both]
    med = lambda s, f: st.median(float(s[k][f]) for k in both)
    print("| node %s | %s | %.0f | %.0f | %.2f (%.2f-%.2f) | %.0f (%.0f) | %.0f (%.0f) |" % (
        n, d, med(a, "iops"), med(b, "iops"), st.median(ratios), min(ratios), max(ratios),
        med(a, "clat_mean_us"), med(a, "clat_p99_us"), med(b, "clat_mean_us"), med(b, "clat_p99_us")))
EOF
runs=$(($(wc -l <"$out/bench.csv") - 1))
log "cluster bench took $((SECONDS - t0)) s: $runs of $((rounds * 8)) runs"
[ "$runs" = $((rounds * 8)) ] && ! compgen -G "$run/failed.*" >/dev/null
