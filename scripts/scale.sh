#!/usr/bin/env bash
# `make bench-scale`: how C dm-log and dm-log-rs scale with the number of
# regions, core and disk logs, in one VM boot (tests/scale_vm.sh): the
# table-load and first-resume ioctls' times and memory, from 2,048 regions (1 GiB) to 2^31 + 1.
# Prints a table (median (min-max) over the rounds, ratio Rust/C), keeps the
# guest's lines in tests/out/scale.log, every measurement in
# tests/out/scale.csv and the plot in tests/out/scale.svg.
# BENCH_ROUNDS=N (default 3); SCALE_SIZES="sectors region_sectors, ..." other
# mirrors; SCALE_IMPLS="c rs" the implementations; SCALE_TYPES="core disk"
# the log types. Numbers, not pass/fail.
set -euo pipefail
. "$(dirname "$0")/common.sh"
KDIR=${KDIR:-$("$DMLOG_ROOT/scripts/kernel.sh" --print)}
kvm=(--disable-kvm)
[ "${DMLOG_KVM:-0}" = 1 ] && kvm=()
out="$DMLOG_ROOT/tests/out"
mkdir -p "$out"
env="BENCH_ROUNDS=${BENCH_ROUNDS:-3}"
[ -n "${SCALE_SIZES:-}" ] && env="$env SCALE_SIZES='$SCALE_SIZES'"
[ -n "${SCALE_IMPLS:-}" ] && env="$env SCALE_IMPLS='$SCALE_IMPLS'"
[ -n "${SCALE_TYPES:-}" ] && env="$env SCALE_TYPES='$SCALE_TYPES'"
log "scale bench: mirrors of each size with a core and a disk log, C and Rust, ${BENCH_ROUNDS:-3} round(s)"
{
	"$(find_vng)" --run "$KDIR" "${kvm[@]}" --user root --cpus 2 --memory 4G \
		--exec "$env $DMLOG_ROOT/tests/scale_vm.sh" </dev/null 2>&1 || true
} | tee "$out/scale.log" | {
	n=0
	while read -r line; do
		case $line in
		SCALE*) n=$((n + 1)); log "$n: $line" ;;
		esac
	done
}
grep -q '^SCALE [a-z]' "$out/scale.log" || { cat "$out/scale.log"; die "no results"; }
python3 - "$out" <<'PY'
import subprocess, sys
from statistics import median
out = sys.argv[1]
runs = {}
for line in open(f"{out}/scale.log"):
    f = line.split()
    if len(f) == 8 and f[0] == "SCALE" and not f[1].startswith("error"):
        _, impl, typ, regions, rs, load, resume, mem = f
        runs.setdefault((typ, int(regions), int(rs), impl), []).append((float(load), float(resume), int(mem)))
with open(f"{out}/scale.csv", "w") as csv:
    csv.write("impl,log,regions,region_sectors,round,load_ms,resume_ms,memory_kib\n")
    for (typ, regions, rs, impl), v in sorted(runs.items()):
        for i, x in enumerate(v):
            csv.write(f"{impl},{typ},{regions},{rs},{i + 1},{x[0]},{x[1]},{x[2]}\n")
def size(regions, rs):
    b = regions * rs * 512
    for unit, div in (("TiB", 1 << 40), ("GiB", 1 << 30)):
        if b >= div:
            return f"{b / div:g} {unit}"
med = lambda v, i: median(x[i] for x in v)
def fmt(v, i):
    p = ".1f" if i < 2 else ".0f"
    return f"{med(v, i):{p}} ({min(x[i] for x in v):{p}}-{max(x[i] for x in v):{p}})"
ratio = lambda a, b: f"{a / b:.2f}" if b else "-"
n = max(len(v) for v in runs.values())
print(f"\n{n} round(s): median (min-max); Rust/C below 1 means Rust is faster or smaller.\n")
print("| log | regions (size) | C load ms | Rust load ms | C resume ms | Rust resume ms | C memory KiB | Rust memory KiB | memory Rust/C |")
print("|---|---|---|---|---|---|---|---|---|")
keys = sorted({k[:3] for k in runs})
for typ, regions, rs in keys:
    c, r = runs.get((typ, regions, rs, "c")), runs.get((typ, regions, rs, "rs"))
    f = lambda v, i: fmt(v, i) if v else "—"
    mem = ratio(med(r, 2), med(c, 2)) if c and r else "-"
    print(f"| {typ} | {regions:,} ({size(regions, rs)}) | {f(c, 0)} | {f(r, 0)} | {f(c, 1)} | {f(r, 1)} "
          f"| {f(c, 2)} | {f(r, 2)} | {mem} |")
with open(f"{out}/scale-plot.dat", "w") as d:
    for typ in ("core", "disk"):
        for impl in ("c", "rs"):
            d.write(f"# {typ} {impl}: regions load_ms resume_ms memory_kib\n")
            for t, regions, rs in keys:
                v = runs.get((t, regions, rs, impl))
                if t == typ and v:
                    d.write(f"{regions} {med(v, 0)} {med(v, 1)} {med(v, 2)}\n")
            d.write("\n\n")
plot = f"""
set terminal svg size 1100,460 dynamic noenhanced font 'sans,11' background '#ffffff'
set output '{out}/scale.svg'
set multiplot layout 1,2 title 'Scale: median over {n} rounds, log-log'
set logscale xy
set grid
set key top left
set xlabel 'regions'
set ylabel 'KiB held by the mirror and its log'
set title 'memory'
plot '{out}/scale-plot.dat' index 0 using 1:4 with linespoints title 'C core' lc rgb '#8c8c8c' dt 2, \\
     '' index 1 using 1:4 with linespoints title 'Rust core' lc rgb '#d9622b' dt 2, \\
     '' index 2 using 1:4 with linespoints title 'C disk' lc rgb '#8c8c8c', \\
     '' index 3 using 1:4 with linespoints title 'Rust disk' lc rgb '#d9622b'
set ylabel 'ms'
set title 'table load + first resume'
plot '{out}/scale-plot.dat' index 0 using 1:($2+$3) with linespoints title 'C core' lc rgb '#8c8c8c' dt 2, \\
     '' index 1 using 1:($2+$3) with linespoints title 'Rust core' lc rgb '#d9622b' dt 2, \\
     '' index 2 using 1:($2+$3) with linespoints title 'C disk' lc rgb '#8c8c8c', \\
     '' index 3 using 1:($2+$3) with linespoints title 'Rust disk' lc rgb '#d9622b'
unset multiplot
"""
try:
    subprocess.run(["gnuplot"], input=plot, text=True, check=True)
    print(f"\nplot: {out}/scale.svg; every measurement: {out}/scale.csv")
except (OSError, subprocess.CalledProcessError) as e:
    print(f"\nno plot ({e}): gnuplot-nox is installed by make setup; every measurement: {out}/scale.csv")
PY
# What was measured is shown above even when a step failed.
! grep -q '^SCALE error' "$out/scale.log" || {
	grep '^SCALE error' "$out/scale.log" >&2
	die "some steps failed: see $out/scale.log (the kernel log's end follows each)"
}
grep -q '^# scale done' "$out/scale.log" || die "the guest stopped early: see $out/scale.log"
