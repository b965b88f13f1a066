// SPDX-License-Identifier: GPL-2.0
/*
 * fail_nth: allocation-failure sweeps of device-mapper ioctls and of a module
 * load, for tests/fail_nth.sh.
 *
 *   fail_nth KIND NAME [options]
 *     load           DM_TABLE_LOAD of --table on a new device NAME
 *     resume         DM_DEV_SUSPEND (resume) of a new device NAME with --table loaded
 *     reload         DM_TABLE_LOAD of --table2 next to the live --table of NAME
 *     reload-resume  the resume that swaps --table2 (then --table, in turn) in
 *     insmod         finit_module of --module (NAME: the module's name; it
 *                    is unloaded after each load that succeeds)
 *   options:
 *     --table T, --table2 T   table lines 'START LEN TYPE ARGS...'
 *     --leg PATH              a leg of the mirror (twice): the write check
 *     --state PATH            a file whose content, or a directory whose
 *                             number of entries, must be the same after
 *                             every step as before the first (repeatable)
 *     --module KO             the module file (insmod)
 *     --max N                 give up after N steps (default 3000)
 *
 * Step N prepares the operation with plain calls, writes N to
 * /proc/thread-self/fail-nth, issues the operation, and reads fail-nth back:
 * the N-th fault-injection site the operation reached (every slab and page
 * allocation once failslab and fail_page_alloc are told not to ignore
 * sleeping allocations) has failed, or the operation passed fewer than N
 * sites, and the sweep ends. Between arming and the operation there is no
 * other system call (and no page fault: mlockall, symbols bound at load
 * time), so the sites are those the operation reaches, including the
 * kernel's own bookkeeping of its allocations (kmemleak and KASAN metadata,
 * where most of the absorbed failures are).
 *
 * After each step:
 *   - a failed operation returned an error and left nothing: the new device
 *     has no inactive table (load), the live table still works (reload,
 *     reload-resume), no module is loaded (insmod);
 *   - an operation that succeeded, with or without the failure (an
 *     allocation with a fallback), works: its status has every region in
 *     sync (the tables use nosync) and both legs and the log alive (a log
 *     that failed is allowed, and counted, only on a step that injected a
 *     failure: the mirror reports it), and it takes a 4 KiB write that both
 *     legs then hold; the module is loaded (and unloads);
 *   - the --state files and directories are as they were.
 *
 * Prints progress every 100 steps and a summary line
 * "sites K: E errors, A absorbed"; exits 0 if every step held, 1 at the
 * first step that did not (with what was wrong), 2 on a usage or setup error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define MAX_STATE 16
#define IOBUF 16384

static int fail_fd = -1, ctl_fd = -1;
static const char *name, *table1, *table2, *module_path, *legs[2];
static const char *state_paths[MAX_STATE];
static int nstate, nlegs;
static unsigned long step, salt, log_failures;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fail_nth: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void cleanup_device(void);

/* A step's invariant does not hold: say which and stop. */
static void broken(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("step %lu: ", step);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	cleanup_device();
	exit(1);
}

static void arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(fail_fd, buf, len, 0) != len)
		die("arming fail-nth: %s", strerror(errno));
}

/* After arm(n) and an operation: 1 if the n-th site failed. */
static int disarm(void)
{
	char buf[16] = "";

	if (pread(fail_fd, buf, sizeof(buf) - 1, 0) <= 0)
		die("reading fail-nth: %s", strerror(errno));
	arm(0);
	return strtol(buf, NULL, 10) == 0;
}

/* --- device-mapper ioctls ------------------------------------------------ */

static struct dm_ioctl *dm_new(size_t extra)
{
	size_t size = sizeof(struct dm_ioctl) + extra;
	struct dm_ioctl *io = calloc(1, size);

	if (!io)
		die("out of memory");
	io->version[0] = DM_VERSION_MAJOR;
	io->data_size = size;
	io->data_start = sizeof(*io);
	snprintf(io->name, sizeof(io->name), "%s", name);
	return io;
}

/* A DM_TABLE_LOAD request for one table line. */
static struct dm_ioctl *dm_load_req(const char *line)
{
	unsigned long long start, len;
	char type[DM_MAX_TYPE_NAME];
	struct dm_target_spec *spec;
	struct dm_ioctl *io;
	size_t plen;
	int off = 0;

	if (sscanf(line, "%llu %llu %15s %n", &start, &len, type, &off) < 3 || !off)
		die("table line '%s': want 'START LEN TYPE ARGS...'", line);
	plen = strlen(line + off) + 1;
	io = dm_new(sizeof(*spec) + ((plen + 7) & ~7UL));
	io->target_count = 1;
	spec = (struct dm_target_spec *)(io + 1);
	spec->sector_start = start;
	spec->length = len;
	strcpy(spec->target_type, type);
	memcpy(spec + 1, line + off, plen);
	spec->next = io->data_size - sizeof(*io);
	return io;
}

static int dm_call(unsigned long req, struct dm_ioctl *io)
{
	int rc = ioctl(ctl_fd, req, io);

	return rc ? -errno : 0;
}

static int dm_simple(unsigned long req, uint32_t flags)
{
	struct dm_ioctl *io = dm_new(0);
	int rc;

	io->flags = flags;
	rc = dm_call(req, io);
	free(io);
	return rc;
}

static void must(int rc, const char *what)
{
	if (rc)
		broken("%s: %s", what, strerror(-rc));
}

static int dm_load(const char *line)
{
	struct dm_ioctl *io = dm_load_req(line);
	int rc = dm_call(DM_TABLE_LOAD, io);

	free(io);
	return rc;
}

/* The device's flags (DM_*_PRESENT_FLAG, DM_SUSPEND_FLAG) and number. */
static uint32_t dm_status(uint64_t *dev)
{
	struct dm_ioctl *io = dm_new(0);
	uint32_t flags;

	must(dm_call(DM_DEV_STATUS, io), "DM_DEV_STATUS");
	flags = io->flags;
	if (dev)
		*dev = io->dev;
	free(io);
	return flags;
}

static void dm_remove(void)
{
	int i, rc = 0;

	/* A device just resumed may still be opened by the kernel briefly. */
	for (i = 0; i < 100; i++) {
		rc = dm_simple(DM_DEV_REMOVE, 0);
		if (rc != -EBUSY)
			break;
		usleep(100000);
	}
	must(rc, "DM_DEV_REMOVE");
}

/* After a broken step: the device away, so that the sweeps after this one
 * do not fail for its sake (resumed first if it is suspended). */
static void cleanup_device(void)
{
	if (ctl_fd < 0)
		return;
	dm_simple(DM_TABLE_CLEAR, 0);
	dm_simple(DM_DEV_SUSPEND, 0);
	dm_simple(DM_DEV_REMOVE, 0);
}

/* --- checks ---------------------------------------------------------------- */

/*
 * The mirror's status: every region in sync (the tables use nosync) and both
 * legs alive, and, for a disk log, the log device alive ('A'). A log that
 * failed (an allocation of its resume made to fail: the mirror only warns)
 * is counted, and allowed only if the step injected a failure.
 */
static void check_mirror_status(int injected)
{
	struct dm_ioctl *io = dm_new(IOBUF);
	char *st, *last;
	unsigned long long in_sync, total;
	char health[8];

	must(dm_call(DM_TABLE_STATUS, io), "DM_TABLE_STATUS");
	if (io->flags & DM_BUFFER_FULL_FLAG || io->target_count != 1)
		broken("unexpected status reply");
	st = (char *)io + io->data_start + sizeof(struct dm_target_spec);
	if (sscanf(st, "2 %*s %*s %llu/%llu 1 %7s", &in_sync, &total, health) != 3)
		broken("status '%s' does not parse", st);
	if (in_sync != total || strcmp(health, "AA"))
		broken("status '%s': not every region in sync or a leg failed", st);
	last = strrchr(st, ' ');
	if (strstr(st, " disk ") && last && strcmp(last, " A")) {
		if (!injected)
			broken("status '%s': the log failed with no failure injected", st);
		log_failures++;
	}
	free(io);
}

/* The mirror NAME takes a 4 KiB write and both legs then hold it. */
static void check_mirror_works(void)
{
	static char *buf, *back;
	char node[64];
	uint64_t dev;
	off_t off = 1 << 20;
	int fd, i;

	if (!buf && (posix_memalign((void **)&buf, 4096, 4096) ||
		     posix_memalign((void **)&back, 4096, 4096)))
		die("out of memory");
	if (!(dm_status(&dev) & DM_ACTIVE_PRESENT_FLAG))
		broken("the mirror has no live table");
	snprintf(node, sizeof(node), "/tmp/fail_nth-%d.node", getpid());
	unlink(node);
	if (mknod(node, S_IFBLK | 0600, makedev(major(dev), minor(dev))))
		die("mknod %s: %s", node, strerror(errno));
	/* Step and run in the pattern: what an earlier step or sweep left on
	 * the legs at this offset never matches. */
	for (i = 0; i < 4096; i++)
		buf[i] = (char)(step * 131 + salt * 7 + i);
	fd = open(node, O_RDWR | O_DIRECT);
	if (fd < 0 || pwrite(fd, buf, 4096, off) != 4096 || fsync(fd))
		broken("writing to the mirror: %s", strerror(errno));
	close(fd);
	unlink(node);
	for (i = 0; i < nlegs; i++) {
		fd = open(legs[i], O_RDONLY | O_DIRECT);
		if (fd < 0 || pread(fd, back, 4096, off) != 4096)
			die("reading %s: %s", legs[i], strerror(errno));
		close(fd);
		if (memcmp(buf, back, 4096))
			broken("leg %d lacks the write made through the mirror", i);
	}
}

/* The --state paths: file contents, numbers of directory entries. */
static char *state(void)
{
	char *s = calloc(1, IOBUF * MAX_STATE);
	size_t used = 0;
	int i;

	if (!s)
		die("out of memory");
	for (i = 0; i < nstate; i++) {
		DIR *d = opendir(state_paths[i]);
		int fd;
		ssize_t n;

		used += snprintf(s + used, 128, "== %s\n", state_paths[i]);
		if (d) {
			int entries = 0;

			while (readdir(d))
				entries++;
			closedir(d);
			used += snprintf(s + used, 64, "%d entries\n", entries);
			continue;
		}
		fd = open(state_paths[i], O_RDONLY);
		if (fd < 0) {
			used += snprintf(s + used, 64, "absent\n");
			continue;
		}
		n = read(fd, s + used, IOBUF - 256);
		close(fd);
		if (n > 0)
			used += n;
	}
	return s;
}

static int module_loaded(void)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

/* --- one step of each kind -------------------------------------------------- */

enum kind { LOAD, RESUME, RELOAD, RELOAD_RESUME, INSMOD };

static int run_armed(unsigned int n, unsigned long req, struct dm_ioctl *io, int modfd,
		     int *injected)
{
	int rc;

	arm(n);
	if (io)
		rc = ioctl(ctl_fd, req, io);
	else
		rc = syscall(SYS_finit_module, modfd, "", 0);
	rc = rc ? -errno : 0;
	*injected = disarm();
	return rc;
}

/* Returns the operation's result; *injected says whether site n failed. */
static int one_step(enum kind kind, unsigned int n, int *injected)
{
	struct dm_ioctl *io;
	int rc, fd;
	static int which;
	const char *next;

	switch (kind) {
	case LOAD:
		must(dm_simple(DM_DEV_CREATE, 0), "DM_DEV_CREATE");
		io = dm_load_req(table1);
		rc = run_armed(n, DM_TABLE_LOAD, io, -1, injected);
		free(io);
		if (rc == 0) {
			must(dm_simple(DM_DEV_SUSPEND, 0), "resuming the loaded table");
			check_mirror_status(*injected);
			check_mirror_works();
		} else if (dm_status(NULL) & DM_INACTIVE_PRESENT_FLAG) {
			broken("a failed load left an inactive table");
		}
		dm_remove();
		return rc;
	case RESUME:
		must(dm_simple(DM_DEV_CREATE, 0), "DM_DEV_CREATE");
		must(dm_load(table1), "DM_TABLE_LOAD");
		io = dm_new(0);
		rc = run_armed(n, DM_DEV_SUSPEND, io, -1, injected);
		free(io);
		if (rc == 0 || (dm_status(NULL) & DM_ACTIVE_PRESENT_FLAG)) {
			/* Resumed, or the table is live but the device
			 * suspended: resuming again must work. */
			if (rc)
				must(dm_simple(DM_DEV_SUSPEND, 0), "resuming after a failed resume");
			check_mirror_status(*injected);
			check_mirror_works();
		}
		dm_remove();
		return rc;
	case RELOAD:
		io = dm_load_req(table2);
		rc = run_armed(n, DM_TABLE_LOAD, io, -1, injected);
		free(io);
		if (rc == 0)
			must(dm_simple(DM_TABLE_CLEAR, 0), "DM_TABLE_CLEAR");
		else if (dm_status(NULL) & DM_INACTIVE_PRESENT_FLAG)
			broken("a failed reload left an inactive table");
		check_mirror_status(*injected);
		check_mirror_works();
		return rc;
	case RELOAD_RESUME:
		next = which ? table1 : table2;
		must(dm_simple(DM_DEV_SUSPEND, DM_SUSPEND_FLAG), "suspending");
		must(dm_load(next), "DM_TABLE_LOAD");
		io = dm_new(0);
		rc = run_armed(n, DM_DEV_SUSPEND, io, -1, injected);
		free(io);
		if (rc == 0)
			which = !which;
		else
			/* The old table (swap failed) or the new one (its
			 * resume failed) is live and suspended. */
			must(dm_simple(DM_DEV_SUSPEND, 0), "resuming after a failed resume");
		if (dm_status(NULL) & DM_INACTIVE_PRESENT_FLAG)
			must(dm_simple(DM_TABLE_CLEAR, 0), "DM_TABLE_CLEAR");
		check_mirror_status(*injected);
		check_mirror_works();
		return rc;
	case INSMOD:
		if (module_loaded())
			broken("module %s loaded before the step", name);
		fd = open(module_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("%s: %s", module_path, strerror(errno));
		rc = run_armed(n, 0, NULL, fd, injected);
		close(fd);
		if (rc == 0 && !module_loaded())
			broken("module load succeeded but %s is not loaded", name);
		if (rc && module_loaded())
			broken("a failed module load left %s loaded", name);
		/* A module loaded is unloaded again, for the next step and
		 * for the state to compare (the caller loads it once more). */
		if (rc == 0 && syscall(SYS_delete_module, name, O_NONBLOCK))
			broken("unloading %s: %s", name, strerror(errno));
		return rc;
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	enum kind kind;
	const char *kinds[] = { "load", "resume", "reload", "reload-resume", "insmod" };
	unsigned long max = 3000, errors = 0, absorbed = 0;
	char *base, *now;
	time_t t0 = time(NULL);
	int i, rc, injected;

	if (argc < 3)
		die("usage: fail_nth load|resume|reload|reload-resume|insmod NAME [options]");
	for (kind = LOAD; kind <= INSMOD; kind++)
		if (!strcmp(argv[1], kinds[kind]))
			break;
	if (kind > INSMOD)
		die("unknown kind '%s'", argv[1]);
	name = argv[2];
	if (strlen(name) >= DM_NAME_LEN)
		die("name too long");
	for (i = 3; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val)
			die("%s needs a value", opt);
		i++;
		if (!strcmp(opt, "--table"))
			table1 = val;
		else if (!strcmp(opt, "--table2"))
			table2 = val;
		else if (!strcmp(opt, "--module"))
			module_path = val;
		else if (!strcmp(opt, "--max"))
			max = strtoul(val, NULL, 10);
		else if (!strcmp(opt, "--leg") && nlegs < 2)
			legs[nlegs++] = val;
		else if (!strcmp(opt, "--state") && nstate < MAX_STATE)
			state_paths[nstate++] = val;
		else
			die("bad option %s", opt);
	}
	if (kind == INSMOD ? !module_path : (!table1 || nlegs != 2 ||
					      (kind >= RELOAD && !table2)))
		die("missing --table/--table2/--leg/--module for %s", kinds[kind]);

	/* No page fault or lazy binding between arming and the operation. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		die("mlockall: %s", strerror(errno));
	salt = (unsigned long)getpid() ^ (unsigned long)time(NULL);
	fail_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (fail_fd < 0)
		die("/proc/thread-self/fail-nth: %s (CONFIG_FAULT_INJECTION)", strerror(errno));
	if (kind != INSMOD) {
		ctl_fd = open("/dev/mapper/control", O_RDWR);
		if (ctl_fd < 0)
			die("/dev/mapper/control: %s", strerror(errno));
	}
	if (kind == RELOAD || kind == RELOAD_RESUME) {
		/* The live mirror the reloads go to. */
		must(dm_simple(DM_DEV_CREATE, 0), "DM_DEV_CREATE");
		must(dm_load(table1), "DM_TABLE_LOAD");
		must(dm_simple(DM_DEV_SUSPEND, 0), "DM_DEV_SUSPEND");
	}
	base = state();

	for (step = 1; step <= max; step++) {
		rc = one_step(kind, step, &injected);
		if (!injected && rc)
			broken("%s fails with no failure injected: %s", kinds[kind], strerror(-rc));
		if (injected && rc)
			errors++;
		else if (injected)
			absorbed++;
		now = state();
		if (strcmp(base, now))
			broken("the state differs:\n-- before\n%s-- after\n%s", base, now);
		free(now);
		if (!injected && step == 1)
			broken("no allocation site counted: is fault injection on for sleeping allocations?");
		if (!injected)
			break;
		if (step % 100 == 0) {
			fprintf(stderr, "# fail_nth %s: step %lu, %ld s\n", kinds[kind], step,
				(long)(time(NULL) - t0));
		}
	}
	if (step > max) {
		printf("more than %lu sites\n", max);
		return 1;
	}
	if (kind == RELOAD || kind == RELOAD_RESUME)
		dm_remove();
	printf("sites %lu: %lu errors, %lu absorbed (%lu of them a log failure reported), %ld s\n",
	       step - 1, errors, absorbed, log_failures, (long)(time(NULL) - t0));
	return 0;
}
