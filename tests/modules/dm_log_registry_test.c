// SPDX-License-Identifier: GPL-2.0
/*
 * Exercises the dirty-log registry API exactly as another kernel module
 * sees it: dm_dirty_log_type_register/unregister, dm_dirty_log_create and
 * dm_dirty_log_destroy. Loads only if every check passes (init returns
 * -EINVAL otherwise, and the kernel log lists the failed checks). Built
 * against, and run with, either dm-log-rs.ko or the kernel's dm-log.ko.
 */
#include <linux/module.h>
#include <linux/dm-dirty-log.h>
#include <linux/string.h>

/*
 * strict=1 adds the checks the C registry fails (dm-log-rs only): a table is
 * identified by its address, not its name.
 */
static bool strict;
module_param(strict, bool, 0444);

static int failures;
static int ctr_calls, dtr_calls;
static unsigned int last_argc;
static char last_arg0[32];

#define CHECK(cond, fmt, ...)                                              \
	do {                                                               \
		if (!(cond)) {                                             \
			failures++;                                        \
			pr_err("dm_log_registry_test: FAIL %s: " fmt "\n", \
			       #cond, ##__VA_ARGS__);                      \
		}                                                          \
	} while (0)

static int test_ctr(struct dm_dirty_log *log, struct dm_target *ti,
		    unsigned int argc, char **argv)
{
	ctr_calls++;
	last_argc = argc;
	last_arg0[0] = '\0';
	if (argc)
		strscpy(last_arg0, argv[0], sizeof(last_arg0));
	if (argc && !strcmp(argv[0], "fail"))
		return -EINVAL;
	log->context = &ctr_calls;
	return 0;
}

static void test_dtr(struct dm_dirty_log *log)
{
	dtr_calls++;
}

static int test_flush_cb(struct dm_target *ti)
{
	return 0;
}

static struct dm_dirty_log_type test_type = {
	.name = "dmlogtest",
	.module = THIS_MODULE,
	.ctr = test_ctr,
	.dtr = test_dtr,
};

static struct dm_dirty_log_type dup_type = {
	.name = "dmlogtest",
	.module = THIS_MODULE,
	.ctr = test_ctr,
	.dtr = test_dtr,
};

/*
 * Never registered, under a name nobody registers. (Unregistering a table
 * whose *name* is registered by another table is not tested: the C registry
 * matches by name and then unlinks the caller's unlinked list node.)
 */
static struct dm_dirty_log_type unregistered_type = {
	.name = "dmlogtest-unregistered",
	.module = THIS_MODULE,
	.ctr = test_ctr,
	.dtr = test_dtr,
};

static struct dm_dirty_log_type core_dup = {
	.name = "core",
	.module = THIS_MODULE,
	.ctr = test_ctr,
	.dtr = test_dtr,
};

static int __init registry_test_init(void)
{
	char arg_ok[] = "hello", arg_fail[] = "fail";
	char *argv_ok[] = { arg_ok, arg_ok }, *argv_fail[] = { arg_fail };
	struct dm_dirty_log *log;
	int base, r;

	r = dm_dirty_log_type_register(&test_type);
	CHECK(r == 0, "register returned %d", r);
	r = dm_dirty_log_type_register(&dup_type);
	CHECK(r == -EBUSY, "duplicate name returned %d", r);
	r = dm_dirty_log_type_register(&core_dup);
	CHECK(r == -EBUSY, "duplicate of \"core\" returned %d", r);
	r = dm_dirty_log_type_unregister(&unregistered_type);
	CHECK(r == -EINVAL, "unregistering an unknown type returned %d", r);
	if (strict) {
		r = dm_dirty_log_type_unregister(&dup_type);
		CHECK(r == -EINVAL, "unregistering an unregistered table of a registered name returned %d", r);
	}

	base = module_refcount(THIS_MODULE);
	log = dm_dirty_log_create("dmlogtest", NULL, test_flush_cb, 2, argv_ok);
	CHECK(log != NULL, "create failed");
	CHECK(ctr_calls == 1 && last_argc == 2 && !strcmp(last_arg0, "hello"),
	      "ctr saw %d calls, argc %u, argv[0] \"%s\"", ctr_calls, last_argc,
	      last_arg0);
	if (log) {
		CHECK(log->type == &test_type, "log->type is not our type");
		CHECK(log->flush_callback_fn == test_flush_cb,
		      "flush callback not stored");
		CHECK(log->context == &ctr_calls, "context not kept");
		CHECK(module_refcount(THIS_MODULE) == base + 1,
		      "refcount %d with a live log, want %d",
		      module_refcount(THIS_MODULE), base + 1);
		dm_dirty_log_destroy(log);
		CHECK(dtr_calls == 1, "dtr called %d times", dtr_calls);
	}
	CHECK(module_refcount(THIS_MODULE) == base,
	      "refcount %d after destroy, want %d",
	      module_refcount(THIS_MODULE), base);

	log = dm_dirty_log_create("dmlogtest", NULL, NULL, 1, argv_fail);
	CHECK(log == NULL, "create succeeded although ctr failed");
	CHECK(ctr_calls == 2, "ctr called %d times", ctr_calls);
	CHECK(dtr_calls == 1, "dtr called after a failed ctr");
	CHECK(module_refcount(THIS_MODULE) == base,
	      "refcount %d after failed create, want %d",
	      module_refcount(THIS_MODULE), base);

	log = dm_dirty_log_create("dmlogtest-no-such-type", NULL, NULL, 0, NULL);
	CHECK(log == NULL, "create of an unknown type succeeded");
	CHECK(ctr_calls == 2, "unknown type reached our ctr");

	r = dm_dirty_log_type_unregister(&test_type);
	CHECK(r == 0, "unregister returned %d", r);
	r = dm_dirty_log_type_unregister(&test_type);
	CHECK(r == -EINVAL, "second unregister returned %d", r);
	log = dm_dirty_log_create("dmlogtest", NULL, NULL, 1, argv_ok);
	CHECK(log == NULL, "create of an unregistered type succeeded");

	if (failures) {
		pr_err("dm_log_registry_test: %d check(s) failed\n", failures);
		return -EINVAL;
	}
	pr_info("dm_log_registry_test: all checks passed\n");
	return 0;
}

static void __exit registry_test_exit(void)
{
}

module_init(registry_test_init);
module_exit(registry_test_exit);
MODULE_DESCRIPTION("dm-log-rs registry API test");
MODULE_LICENSE("GPL");
