# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The kernel-log check of a test VM run (tests/run_vm.sh, tests/cluster_vm.sh):
# what must never appear, and the kernel log of the run ($KLOG, from the
# "dmlog-test-mark run-start" line on) less the reports that are expected.

# What must never appear in the kernel log during the run.
BAD_LOG='WARNING:|BUG:|ODEBUG|Oops|general protection|kernel BUG|Call Trace|RIP:|possible recursive locking|possible circular locking|inconsistent lock state|lock held when returning|sleeping function called from invalid context|scheduling while atomic|list_add corruption|list_del corruption|UBSAN|panicked at|rust_panic|blocked for more than|unreferenced object|kmemleak'

# The kernel log of the run, less two kinds of report that are expected:
#  - LOG_IMPL=c: a bug of the C reference module that its runs always
#    trigger: dm-log-userspace's mark_region takes a GFP_NOIO mempool
#    allocation, which may sleep, under the region hash's spinlock
#    ("sleeping function called from invalid context");
#  - between fail_nth.sh's marks: the report a page, vmalloc or percpu
#    allocation, or a slab cache creation, prints when it fails, as the
#    injected failures make them.
# Each report dropped is counted on stderr ("KIND COUNT"); any other stays.
run_log() {
	sed -n '/dmlog-test-mark run-start$/,$p' "$KLOG" | awk -v c="$([ "$LOG_IMPL" = c ] && echo 1 || echo 0)" '
		{ line[NR] = $0 }
		END {
			for (i = 1; i <= NR; i++) {
				if (line[i] ~ /dmlog-test-mark fail-nth-begin$/) fn = 1
				if (line[i] ~ /dmlog-test-mark fail-nth-end$/) fn = 0
				if (c && line[i] ~ /BUG: sleeping function called from invalid context/) {
					known = 0
					for (j = i + 1; j <= NR && j <= i + 60; j++) {
						if (line[j] ~ /userspace_mark_region\+.*\[dm_log_userspace\]/) known = 1
						if (line[j] ~ /<\/TASK>/) break
					}
					if (known && j <= NR && j <= i + 60) { dropped++; i = j; continue }
				}
				# An allocation of kmemleak itself failing under fail_nth.sh: it
				# scans the whole object instead (one line, no trace).
				if (fn && line[i] ~ /kmemleak: Cannot allocate a scan area, scanning the full object/) { injected++; continue }
				# The summary of a scan: its objects are judged, less the
				# known SLUB leak, by the kmemleak test itself.
				if (line[i] ~ /kmemleak: [0-9]+ new suspected memory leaks/) { summaries++; continue }
				if (fn && line[i] ~ /(page allocation failure: order:|vmalloc error: size|percpu: allocation failed|__kmem_cache_create_args\(.*\) failed with error)/) {
					for (j = i + 1; j <= NR && j <= i + 80; j++)
						if (line[j] ~ /<\/TASK>/) break
					if (j <= NR && j <= i + 80) { injected++; i = j; continue }
				}
				print line[i]
			}
			if (dropped) printf "sleeping-alloc %d\n", dropped > "/dev/stderr"
			if (injected) printf "injected-alloc-failure %d\n", injected > "/dev/stderr"
			if (summaries) printf "kmemleak-summary %d\n", summaries > "/dev/stderr"
		}'
}
