#!/usr/bin/env bash
# `make bench-ops`: the CPU cost of each dirty-log operation, C dm-log vs
# dm-log-rs in one VM boot (tests/opbench_vm.sh, tests/modules/dm_log_opbench.c).
# Prints a table: per operation and log size, the median ns/op of each
# (min-max over the rounds) and the ratio C/Rust (above 1: Rust is faster).
# Keeps the raw lines in tests/out/opbench.log and a CSV in tests/out/opbench.csv.
# BENCH_ROUNDS=N (default 3), OPBENCH_SIZES="regions ...", OPBENCH_ITERS=N.
# Numbers, not pass/fail.
set -euo pipefail
. "$(dirname "$0")/common.sh"
KDIR=${KDIR:-$("$DMLOG_ROOT/scripts/kernel.sh" --print)}
kvm=(--disable-kvm)
[ "${DMLOG_KVM:-0}" = 1 ] && kvm=()
out="$DMLOG_ROOT/tests/out"
mkdir -p "$out"
env="BENCH_ROUNDS=${BENCH_ROUNDS:-3} OPBENCH_ITERS=${OPBENCH_ITERS:-1048576}"
[ -n "${OPBENCH_SIZES:-}" ] && env="$env OPBENCH_SIZES='$OPBENCH_SIZES'"
"$(find_vng)" --run "$KDIR" "${kvm[@]}" --user root --cpus 2 --memory 2G \
	--exec "$env $DMLOG_ROOT/tests/opbench_vm.sh" </dev/null >"$out/opbench.log" 2>&1 || true
grep -q '^OPBENCH [a-z]' "$out/opbench.log" || { cat "$out/opbench.log"; die "no results"; }
! grep -q '^OPBENCH error' "$out/opbench.log" || die "some runs failed: see $out/opbench.log"
python3 - "$out/opbench.log" "$out/opbench.csv" <<'PY'
import sys
from statistics import median
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 6 and f[0] == "OPBENCH" and f[1] != "error":
        _, impl, op, cpus, regions, ns100 = f
        runs.setdefault((op, int(cpus), int(regions), impl), []).append(int(ns100) / 100)
with open(sys.argv[2], "w") as csv:
    csv.write("op,cpus,regions,impl,round,ns_per_op\n")
    for (op, cpus, regions, impl), v in sorted(runs.items()):
        for i, x in enumerate(v):
            csv.write(f"{op},{cpus},{regions},{impl},{i + 1},{x:.2f}\n")
keys = sorted({k[:3] for k in runs}, key=lambda k: (k[2], k[1], k[0]))
# Regions of 512 KiB.
size = lambda r: f"{r // 2048} GiB" if r < 2048 * 1024 else f"{r // (2048 * 1024)} TiB"
n = max(len(v) for v in runs.values())
print(f"\n{n} round(s); ns per operation: median (min-max); C/Rust above 1 means Rust is faster.\n")
print("| operation | CPUs | log size | C ns/op | Rust ns/op | C/Rust |")
print("|---|---|---|---|---|---|")
for op, cpus, regions in keys:
    c, rs = runs.get((op, cpus, regions, "c")), runs.get((op, cpus, regions, "rs"))
    if not c or not rs:
        continue
    fmt = lambda v: f"{median(v):.1f} ({min(v):.1f}-{max(v):.1f})"
    print(f"| {op} | {cpus} | {size(regions)} | {fmt(c)} | {fmt(rs)} | {median(c) / median(rs):.2f} |")
# The plot: ns/op (log scale, bars to the min and max), C and Rust side by
# side for every operation, CPU count and size.
import subprocess
dat = sys.argv[2].replace(".csv", "-plot.dat")
svg = sys.argv[2].replace(".csv", ".svg")
with open(dat, "w") as d:
    for op, cpus, regions in keys:
        c, rs = runs.get((op, cpus, regions, "c")), runs.get((op, cpus, regions, "rs"))
        if c and rs:
            d.write(f'"{op} {cpus}cpu {size(regions).replace(" ", "")}" '
                    f"{median(c)} {min(c)} {max(c)} {median(rs)} {min(rs)} {max(rs)}\n")
plot = f"""
set terminal svg size 1200,520 dynamic noenhanced font 'sans,11' background '#ffffff'
set rmargin 8
set output '{svg}'
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -40 nomirror
set grid ytics
set logscale y
set key top left
set title 'CPU cost per log operation ({n} rounds: median, bars to min and max; lower is better)'
set ylabel 'ns per operation'
plot '{dat}' using 2:3:4:xtic(1) title 'C dm-log' lc rgb '#8c8c8c', \\
     '' using 5:6:7 title 'dm-log-rs' lc rgb '#d9622b'
"""
try:
    subprocess.run(["gnuplot"], input=plot, text=True, check=True)
    print(f"\nplot: {svg}; every round: {sys.argv[2]}")
except (OSError, subprocess.CalledProcessError) as e:
    print(f"\nno plot ({e}): gnuplot-nox is installed by make setup; every round: {sys.argv[2]}")
PY
