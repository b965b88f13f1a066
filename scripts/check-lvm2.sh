#!/usr/bin/env bash
# `make check-lvm2`: LVM2's own test suite (its mirror, mirror-log and pvmove
# tests) against dm-log-rs and against the kernel's C dm-log, in the test VM,
# with LVM2 built from Debian's source package (scripts/lvm2.sh).
#
#   scripts/check-lvm2.sh                  every test of tests/lvm2-mirror-tests
#   scripts/check-lvm2.sh --subset         the tests of tests/lvm2-check-subset
#   T="lvcreate-mirror lvchange-mirror"    these tests (names without shell/, .sh)
#   IMPL="rs c"                            implementations (default both)
#   TIMEOUT=900                            seconds per test
#
# One VM boot per implementation runs its tests in a batch. Results are kept
# per test in tests/out/lvm2/<impl>/results (name<TAB>result<TAB>seconds) with
# each test's log as <name>.txt; a later run replaces the results of the
# tests it runs and keeps the others, so a long run can be done in parts.
# Prints a table of this run's tests; tests/out/lvm2/table.md has every
# test recorded.
# Exit status: non-zero iff a test of this run that passes with the C logs
# does not pass with dm-log-rs (or a VM run failed, or rs was asked for and
# dm-log-rs.ko is not built). The baseline is what passes with C on
# this kernel; a test that skips itself is reported as skipped, never passed.
set -uo pipefail
. "$(dirname "$0")/common.sh"

list="$DMLOG_ROOT/tests/lvm2-mirror-tests"
[ "${1:-}" = --subset ] && list="$DMLOG_ROOT/tests/lvm2-check-subset"
tests=${T:-$(sed -e 's/#.*//' "$list" | awk 'NF { print $1 }')}
tests=$(echo $tests | tr ' ' '\n' | sed -e 's,^shell/,,' -e 's,\.sh$,,' | awk 'NF' | tr '\n' ' ')
impls=${IMPL:-rs c}
per_test=${TIMEOUT:-${LVM2_TIMEOUT:-900}}
[ -n "$tests" ] || die "no tests selected"

KDIR=${KDIR:-$("$DMLOG_ROOT/scripts/kernel.sh" --print)}
[ -f "$KDIR/arch/x86/boot/bzImage" ] || die "no kernel at $KDIR: run 'make kernel'"
LVM2_DIR=$("$DMLOG_ROOT/scripts/lvm2.sh") || die "LVM2 build failed"
VNG=$(find_vng)
[ -n "$VNG" ] || die "vng not found: run scripts/setup.sh"
kvm=(--disable-kvm)
[ "${DMLOG_KVM:-0}" = 1 ] && kvm=()

out="$DMLOG_ROOT/tests/out/lvm2"
ntests=$(echo $tests | wc -w)
rc=0
for impl in $impls; do
	case "$impl" in rs | c) ;; *) die "IMPL must be rs and/or c, not '$impl'" ;; esac
	if [ "$impl" = rs ] && [ ! -f "$DMLOG_ROOT/dm-log-rs.ko" ]; then
		log "dm-log-rs.ko not built (make module): skipping IMPL=rs"
		rc=1
		continue
	fi
	dir="$out/$impl"
	run="$dir/run.$$"
	rm -rf "$run"
	mkdir -p "$run"
	log "LOG_IMPL=$impl: $ntests LVM2 test(s) in one VM boot (up to $per_test s each)"
	t0=$(date +%s)
	timeout --foreground -k 10 $((ntests * (per_test + 90) + 300)) \
		"$VNG" --run "$KDIR" "${kvm[@]}" --user root --cpus 2 --memory 2G --rwdir="$run" \
		--exec "LOG_IMPL=$impl LVM2_DIR=$LVM2_DIR LVM2_OUT=$run LVM2_TIMEOUT=$per_test LVM2_TESTS='$tests' $DMLOG_ROOT/tests/lvm2_vm.sh" \
		</dev/null 2>&1 | tee "$run/console.log" | grep --line-buffered '^# '
	log "LOG_IMPL=$impl: VM run took $(($(date +%s) - t0)) s"
	# Merge: this run's results replace earlier ones of the same tests; a
	# selected test the guest never reported (VM died) counts as failed.
	# Runs may go on in parallel (two VMs, two lists): one merge at a time.
	exec 9>"$out/.merge.lock"
	flock 9
	touch "$dir/results"
	for t in $tests; do
		line=$(awk -F'\t' -v t="$t" '$1 == t' "$run/results" 2>/dev/null | tail -n 1)
		if [ -z "$line" ]; then
			line=$(printf '%s\tfailed\t0\tno result: the VM run ended early (see console.log)' "$t")
			rc=1
		fi
		awk -F'\t' -v t="$t" '$1 != t' "$dir/results" >"$dir/results.tmp"
		printf '%s\n' "$line" >>"$dir/results.tmp"
		mv "$dir/results.tmp" "$dir/results"
		if [ -f "$run/$t.txt" ]; then mv "$run/$t.txt" "$dir/$t.txt"; else rm -f "$dir/$t.txt"; fi
	done
	sort -o "$dir/results" "$dir/results"
	mv "$run/console.log" "$dir/console.log"
	rm -rf "$run"
	flock -u 9
done

# The table of this run's tests (tests/out/lvm2/table.md: of every test
# recorded, runs in parts merged) and the verdict on this run's tests.
python3 - "$out" $tests <<'PY' || rc=1
import os, sys
out, selected = sys.argv[1], sys.argv[2:]
res = {}
for impl in ("c", "rs"):
    p = os.path.join(out, impl, "results")
    res[impl] = {}
    if os.path.exists(p):
        for line in open(p):
            f = line.rstrip("\n").split("\t")
            if len(f) >= 3:
                res[impl][f[0]] = (f[1], f[2], f[3] if len(f) > 3 else "")
ok = ("passed", "warnings")

def row(n):
    c = res["c"].get(n, ("-", "", ""))
    r = res["rs"].get(n, ("-", "", ""))
    if c[0] in ok and r[0] not in ok and r[0] != "-":
        verdict = "REGRESSION"
    elif c[0] in ok and r[0] in ok:
        verdict = "ok"
    elif c[0] == "skipped" and r[0] == "skipped":
        verdict = "skipped"
    elif r[0] in ok and c[0] not in ok and c[0] != "-":
        verdict = "rs only"
    elif c[0] == "-" or r[0] == "-":
        verdict = "incomplete"
    else:
        verdict = "fails with both"
    note = "; ".join(x for x in (c[2] and "C: " + c[2], r[2] and "rs: " + r[2]) if x)
    return (n, c[0], c[1] and c[1] + " s", r[0], r[1] and r[1] + " s", verdict, note)

hdr = ("test", "C", "C time", "rs", "rs time", "verdict", "note")

def summary(rows):
    counts = {}
    for x in rows:
        counts[x[5]] = counts.get(x[5], 0) + 1
    return "%d test(s): %s" % (len(rows), ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items())) or "none")

rows = [row(n) for n in selected]
w = [max(len(str(x[i])) for x in rows + [hdr]) for i in range(6)]
print()
for x in [hdr] + rows:
    print("  ".join(str(x[i]).ljust(w[i]) for i in range(6)) + ("  " + x[6] if x[6] else ""))
print("\nLVM2 suite, this run: " + summary(rows))
every = [row(n) for n in sorted(set(res["c"]) | set(res["rs"]))]
with open(os.path.join(out, "table.md"), "w") as f:
    f.write("| " + " | ".join(hdr) + " |\n|" + "---|" * len(hdr) + "\n")
    for x in every:
        f.write("| " + " | ".join(str(v) for v in x) + " |\n")
    f.write("\nAll recorded results: " + summary(every) + "\n")
regress = [x[0] for x in rows if x[5] == "REGRESSION"]
if regress:
    print("pass with C but not with dm-log-rs: " + " ".join(regress))
    sys.exit(1)
PY
exit "$rc"
