#!/usr/bin/env bash
# `make bench`: C dm-log vs dm-log-rs, same devices, same VM boot (see
# tests/bench_vm.sh): log devices of four profiles (ram, hdd, sata, nvme),
# mirrors of 1 GiB and 1 TiB, one and 16 writes in flight, and the core log
# beside them. Prints a progress line per run, then tables of ratios Rust/C,
# each figure the median over the rounds with its spread. Not part of
# `make check`: numbers, not pass/fail.
# Keeps the guest's lines in tests/out/bench.log (bench-legs-PROFILE.log
# with BENCH_LEGS, and so on), every run in
# tests/out/bench.csv and the plots (gnuplot, SVG) in tests/out/bench-*.svg.
# BENCH_SECONDS=N sets the length of each fio run (default 10),
# BENCH_ROUNDS=N the number of turns each implementation takes (default 3),
# BENCH_PROFILES="ram hdd sata nvme" the log devices, BENCH_LEGS=hdd|sata|nvme
# legs of that profile instead of fast ones (files named bench-legs-PROFILE*).
set -euo pipefail
. "$(dirname "$0")/common.sh"
KDIR=${KDIR:-$("$DMLOG_ROOT/scripts/kernel.sh" --print)}
kvm=(--disable-kvm)
[ "${DMLOG_KVM:-0}" = 1 ] && kvm=()
out="$DMLOG_ROOT/tests/out"
mkdir -p "$out"
rounds=${BENCH_ROUNDS:-3}
profiles=${BENCH_PROFILES:-ram hdd sata nvme}
legs=${BENCH_LEGS:-fast}
case $legs in
fast) name=bench ;;
hdd | sata | nvme) name=bench-legs-$legs ;;
*) die "BENCH_LEGS=$legs: expected fast, hdd, sata or nvme" ;;
esac
# Runs per turn: 4 with the core log (first), the userspace log, 4 per profile.
total=$((2 * rounds * (1 + 4 * $(wc -w <<<"$profiles") + 4)))
log "legs: $legs; $total runs of ${BENCH_SECONDS:-10} s; the whole bench takes about $((total * (${BENCH_SECONDS:-10} + 3) / 60 + 2)) minutes"
{
	"$(find_vng)" --run "$KDIR" "${kvm[@]}" --user root --cpus 2 --memory 3G \
		--exec "BENCH_SECONDS=${BENCH_SECONDS:-10} BENCH_ROUNDS=$rounds BENCH_PROFILES='$profiles' BENCH_LEGS=$legs $DMLOG_ROOT/tests/bench_vm.sh" \
		</dev/null 2>&1 || true
} | tee "$out/$name.log" | {
	n=0
	while read -r line; do
		case $line in
		BENCH*) n=$((n + 1)); log "$n/$total $line" ;;
		esac
	done
}
grep -q '^BENCH' "$out/$name.log" || { cat "$out/$name.log"; die "benchmark produced no results"; }
! grep -q '^BENCH error' "$out/$name.log" || die "some runs failed: see $out/$name.log"
python3 - "$out" "$name" "$legs" <<'PY'
import os, subprocess, sys
from statistics import median
out, name, legs = sys.argv[1:4]
runs, users = {}, {}
for line in open(f"{out}/{name}.log"):
    f = line.split()
    if len(f) == 7 and f[0] == "BENCH":
        _, impl, log, label, iops, nbytes, flushes = f
        size, _, qd = label.partition("-qd")
        runs.setdefault((log, size, int(qd or 16), impl), []).append((int(iops), int(nbytes), int(flushes)))
    elif len(f) == 4 and f[0] == "BENCHU":
        users.setdefault(f[1], []).append((int(f[2]), int(f[3])))
with open(f"{out}/{name}.csv", "w") as csv:
    csv.write("impl,log,mirror,iodepth,round,iops,log_bytes,dirty_flushes,status_us\n")
    for (log, size, qd, impl), v in sorted(runs.items()):
        for i, (iops, nbytes, flushes) in enumerate(v):
            csv.write(f"{impl},{log},{size},{qd},{i + 1},{iops},{nbytes},{flushes},\n")
    for impl, v in sorted(users.items()):
        for i, (iops, us) in enumerate(v):
            csv.write(f"{impl},userspace,1GiB,16,{i + 1},{iops},,,{us}\n")

# Per configuration: median IOPS with min and max, and the log bytes per
# dirtying flush over all rounds.
def stat(k):
    v = runs.get(k)
    if not v:
        return None
    b, fl = sum(x[1] for x in v), sum(x[2] for x in v)
    return {"iops": median(x[0] for x in v), "lo": min(x[0] for x in v),
            "hi": max(x[0] for x in v), "bpf": b / fl if fl else float("nan")}
spread = lambda s: f"{s['iops']:.0f} ({s['lo']}-{s['hi']})"
nrounds = max((len(v) for v in runs.values()), default=0)
logs = [l for l in ("ram", "hdd", "sata", "nvme", "ssd") if any(k[0] == l for k in runs)]
configs = [(s, q) for s in ("1GiB", "1TiB") for q in (1, 16)]
print(f"\nlegs: {legs}. {nrounds} round(s). IOPS: median (min-max), 4 KiB random writes; log bytes/flush: log bytes")
print("written per mirror flush that made newly dirty regions durable, over all rounds.\n")
print("| log device | mirror | writes in flight | C IOPS | Rust IOPS | IOPS Rust/C | C log bytes/flush | Rust log bytes/flush |")
print("|---|---|---|---|---|---|---|---|")
rows = []
for log in logs:
    for size, qd in configs:
        c, rs = stat((log, size, qd, "c")), stat((log, size, qd, "rs"))
        if not c or not rs:
            continue
        rows.append((log, size, qd, c, rs))
        print(f"| {log} | {size} | {qd} | {spread(c)} | {spread(rs)} | **{rs['iops'] / c['iops']:.2f}** | {c['bpf']:.0f} | {rs['bpf']:.0f} |")
print("\nWhat persistence costs: disk-log IOPS / core-log IOPS of the same implementation,")
print("same legs, size and depth (1.00: the log costs nothing).\n")
print("| log device | mirror | writes in flight | C disk/core | Rust disk/core |")
print("|---|---|---|---|---|")
for log, size, qd, c, rs in rows:
    cc, rc = stat(("none", size, qd, "c")), stat(("none", size, qd, "rs"))
    if cc and rc:
        print(f"| {log} | {size} | {qd} | {c['iops'] / cc['iops']:.2f} | {rs['iops'] / rc['iops']:.2f} |")
print("\n| core log (no log I/O) | writes in flight | C IOPS | Rust IOPS | IOPS Rust/C |")
print("|---|---|---|---|---|")
for size, qd in configs:
    c, rs = stat(("none", size, qd, "c")), stat(("none", size, qd, "rs"))
    if c and rs:
        print(f"| {size} | {qd} | {spread(c)} | {spread(rs)} | {rs['iops'] / c['iops']:.2f} |")
u = {k: (median(x[0] for x in v), median(x[1] for x in v)) for k, v in users.items()}
if "c" in u and "rs" in u:
    c, rs = u["c"], u["rs"]
    print("\n| userspace log (dm-logd) | C | Rust | Rust/C |")
    print("|---|---|---|---|")
    print(f"| mirror IOPS, 1 GiB, 4 KiB random writes, qd16 | {c[0]:.0f} | {rs[0]:.0f} | {rs[0] / c[0]:.2f} |")
    print(f"| one status ioctl = 2 server round trips (us, lower is better) | {c[1]:.0f} | {rs[1]:.0f} | {rs[1] / c[1]:.2f} |")

# The plots: IOPS (log scale, bars to the min and max) and bytes per flush
# (log scale), C and Rust side by side for every row.
with open(f"{out}/{name}-plot.dat", "w") as d:
    d.write("# row c_iops c_lo c_hi rs_iops rs_lo rs_hi c_bpf rs_bpf\n")
    for log, size, qd, c, rs in rows:
        d.write(f'"{log} {size} qd{qd}" {c["iops"]} {c["lo"]} {c["hi"]} {rs["iops"]} {rs["lo"]} {rs["hi"]} {c["bpf"]:.1f} {rs["bpf"]:.1f}\n')
plot = f"""
set terminal svg size 1100,520 dynamic noenhanced font 'sans,11' background '#ffffff'
set rmargin 8
set style data histogram
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -40 nomirror
set grid ytics
set logscale y
set key top right
set output '{out}/{name}-iops.svg'
set title 'Mirror IOPS, 4 KiB random writes, {legs} legs ({nrounds} rounds: median, bars to min and max)'
set ylabel 'IOPS'
set style histogram errorbars gap 1 lw 1
plot '{out}/{name}-plot.dat' using 2:3:4:xtic(1) title 'C dm-log' lc rgb '#8c8c8c', \\
     '' using 5:6:7 title 'dm-log-rs' lc rgb '#d9622b'
set output '{out}/{name}-bytes.svg'
set title 'Log bytes written per flush that made regions dirty (log scale)'
set ylabel 'bytes'
set style histogram clustered gap 1
plot '{out}/{name}-plot.dat' using 8:xtic(1) title 'C dm-log' lc rgb '#8c8c8c', \\
     '' using 9 title 'dm-log-rs' lc rgb '#d9622b'
"""
try:
    subprocess.run(["gnuplot"], input=plot, text=True, check=True)
    print(f"\nplots: {out}/{name}-iops.svg, {out}/{name}-bytes.svg; every run: {out}/{name}.csv")
except (OSError, subprocess.CalledProcessError) as e:
    print(f"\nno plots ({e}): gnuplot-nox is installed by make setup; every run: {out}/{name}.csv")
PY
