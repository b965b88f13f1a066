// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the dirty-log API as another kernel module sees it: the
 * registry (dm_dirty_log_type_register/unregister, dm_dirty_log_create and
 * dm_dirty_log_destroy), and a log type's ops table driven through it (the
 * "core" type: for dm-log-rs, its Rust adapter between the C ops table and
 * the log type). Built against, and run with, either dm-log-rs.ko or the
 * kernel's dm-log.ko: the expectations are the C module's.
 *
 * The suites run when the module loads; tests/module.sh reads their KTAP
 * results from debugfs (/sys/kernel/debug/kunit/<suite>/results).
 */
#include <kunit/test.h>
#include <linux/device-mapper.h>
#include <linux/dm-dirty-log.h>
#include <linux/module.h>
#include <linux/string.h>

/*
 * strict=1 adds the checks the C registry fails (dm-log-rs only): a table is
 * identified by its address, not its name.
 */
static bool strict;
module_param(strict, bool, 0444);
MODULE_PARM_DESC(strict, "also check what only dm-log-rs's registry does");

/* --- the registry, with a type of our own ---------------------------------- */

static int ctr_calls, dtr_calls;
static unsigned int last_argc;
static char last_arg0[32];

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

#define TEST_TYPE(var, type_name)          \
	static struct dm_dirty_log_type var = { \
		.name = type_name,              \
		.module = THIS_MODULE,          \
		.ctr = test_ctr,                \
		.dtr = test_dtr,                \
	}

TEST_TYPE(test_type, "dmlogtest");
TEST_TYPE(dup_type, "dmlogtest");
/* Never registered, under a name nobody registers. */
TEST_TYPE(unregistered_type, "dmlogtest-unregistered");
TEST_TYPE(core_dup, "core");

static int registry_init(struct kunit *test)
{
	ctr_calls = 0;
	dtr_calls = 0;
	return dm_dirty_log_type_register(&test_type);
}

static void registry_exit(struct kunit *test)
{
	dm_dirty_log_type_unregister(&test_type);
}

static void register_refuses_duplicates(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, dm_dirty_log_type_register(&dup_type), -EBUSY);
	KUNIT_EXPECT_EQ(test, dm_dirty_log_type_register(&core_dup), -EBUSY);
	KUNIT_EXPECT_EQ(test, dm_dirty_log_type_unregister(&unregistered_type), -EINVAL);
}

static void unregister_matches_the_table(struct kunit *test)
{
	/*
	 * The C registry matches by name and then unlinks the caller's
	 * (unlinked) list node: this is checked on dm-log-rs only.
	 */
	if (!strict)
		kunit_skip(test, "the C registry identifies a table by its name");
	KUNIT_EXPECT_EQ(test, dm_dirty_log_type_unregister(&dup_type), -EINVAL);
}

static void create_and_destroy(struct kunit *test)
{
	char arg[] = "hello";
	char *argv[] = { arg, arg };
	int base = module_refcount(THIS_MODULE);
	struct dm_dirty_log *log;

	log = dm_dirty_log_create("dmlogtest", NULL, test_flush_cb, 2, argv);
	KUNIT_ASSERT_NOT_NULL(test, log);
	KUNIT_EXPECT_EQ(test, ctr_calls, 1);
	KUNIT_EXPECT_EQ(test, last_argc, 2U);
	KUNIT_EXPECT_STREQ(test, last_arg0, "hello");
	KUNIT_EXPECT_PTR_EQ(test, log->type, &test_type);
	KUNIT_EXPECT_PTR_EQ(test, (void *)log->flush_callback_fn, (void *)test_flush_cb);
	KUNIT_EXPECT_PTR_EQ(test, log->context, (void *)&ctr_calls);
	/* A live log holds a reference on its type's module. */
	KUNIT_EXPECT_EQ(test, module_refcount(THIS_MODULE), base + 1);
	dm_dirty_log_destroy(log);
	KUNIT_EXPECT_EQ(test, dtr_calls, 1);
	KUNIT_EXPECT_EQ(test, module_refcount(THIS_MODULE), base);
}

static void failed_ctr_leaves_nothing(struct kunit *test)
{
	char arg[] = "fail";
	char *argv[] = { arg };
	int base = module_refcount(THIS_MODULE);

	KUNIT_EXPECT_NULL(test, dm_dirty_log_create("dmlogtest", NULL, NULL, 1, argv));
	KUNIT_EXPECT_EQ(test, ctr_calls, 1);
	KUNIT_EXPECT_EQ(test, dtr_calls, 0);
	KUNIT_EXPECT_EQ(test, module_refcount(THIS_MODULE), base);
}

static void unknown_and_unregistered_types(struct kunit *test)
{
	char arg[] = "hello";
	char *argv[] = { arg };

	KUNIT_EXPECT_NULL(test, dm_dirty_log_create("dmlogtest-no-such-type", NULL, NULL, 0, NULL));
	KUNIT_EXPECT_EQ(test, ctr_calls, 0);
	KUNIT_EXPECT_EQ(test, dm_dirty_log_type_unregister(&test_type), 0);
	KUNIT_EXPECT_EQ(test, dm_dirty_log_type_unregister(&test_type), -EINVAL);
	KUNIT_EXPECT_NULL(test, dm_dirty_log_create("dmlogtest", NULL, NULL, 1, argv));
	KUNIT_EXPECT_EQ(test, ctr_calls, 0);
	/* registry_exit's unregister now fails, harmlessly. */
}

static struct kunit_case registry_cases[] = {
	KUNIT_CASE(register_refuses_duplicates),
	KUNIT_CASE(unregister_matches_the_table),
	KUNIT_CASE(create_and_destroy),
	KUNIT_CASE(failed_ctr_leaves_nothing),
	KUNIT_CASE(unknown_and_unregistered_types),
	{}
};

static struct kunit_suite registry_suite = {
	.name = "dm_log_registry",
	.init = registry_init,
	.exit = registry_exit,
	.test_cases = registry_cases,
};

/* --- the "core" type's ops table, through the registry --------------------- */

#define NREGIONS 100
#define REGION_SIZE 1024

/* The core log reads only the target's length. */
static struct dm_target core_ti = { .len = NREGIONS * REGION_SIZE };

static struct dm_dirty_log *new_core(struct kunit *test, const char *sync)
{
	char size[] = "1024", word[16];
	char *argv[] = { size, word };
	struct dm_dirty_log *log;

	strscpy(word, sync ? sync : "", sizeof(word));
	log = dm_dirty_log_create("core", &core_ti, NULL, sync ? 2 : 1, argv);
	KUNIT_ASSERT_NOT_NULL(test, log);
	return log;
}

static void core_regions(struct kunit *test)
{
	struct dm_dirty_log *log = new_core(test, NULL);
	const struct dm_dirty_log_type *t = log->type;
	region_t r = ~0;

	KUNIT_EXPECT_EQ(test, t->get_region_size(log), (u32)REGION_SIZE);
	/* New: every region clean, none in sync. */
	KUNIT_EXPECT_EQ(test, t->is_clean(log, 0), 1);
	KUNIT_EXPECT_EQ(test, t->in_sync(log, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, t->get_sync_count(log), (region_t)0);
	t->mark_region(log, 5);
	KUNIT_EXPECT_EQ(test, t->is_clean(log, 5), 0);
	KUNIT_EXPECT_EQ(test, t->is_clean(log, 6), 1);
	t->clear_region(log, 5);
	KUNIT_EXPECT_EQ(test, t->is_clean(log, 5), 1);
	/* Resync work in ascending order; an outcome moves the sync count. */
	KUNIT_EXPECT_EQ(test, t->get_resync_work(log, &r), 1);
	KUNIT_EXPECT_EQ(test, r, (region_t)0);
	KUNIT_EXPECT_EQ(test, t->get_resync_work(log, &r), 1);
	KUNIT_EXPECT_EQ(test, r, (region_t)1);
	t->set_region_sync(log, 0, 1);
	KUNIT_EXPECT_EQ(test, t->in_sync(log, 0, 0), 1);
	KUNIT_EXPECT_EQ(test, t->get_sync_count(log), (region_t)1);
	t->set_region_sync(log, 1, 0);
	KUNIT_EXPECT_EQ(test, t->in_sync(log, 1, 1), 0);
	KUNIT_EXPECT_EQ(test, t->get_sync_count(log), (region_t)1);
	KUNIT_EXPECT_EQ(test, t->flush(log), 0);
	dm_dirty_log_destroy(log);
}

static void core_nosync(struct kunit *test)
{
	struct dm_dirty_log *log = new_core(test, "nosync");
	region_t r = ~0;

	KUNIT_EXPECT_EQ(test, log->type->get_sync_count(log), (region_t)NREGIONS);
	KUNIT_EXPECT_EQ(test, log->type->in_sync(log, NREGIONS - 1, 0), 1);
	KUNIT_EXPECT_EQ(test, log->type->get_resync_work(log, &r), 0);
	dm_dirty_log_destroy(log);
}

/* Status output: DMEMIT's, truncated to maxlen - 1 characters. */
static void core_status(struct kunit *test)
{
	static const char table[] = "core 2 1024 nosync ";
	struct dm_dirty_log *log = new_core(test, "nosync");
	char buf[64];
	unsigned int maxlen;
	int n;

	n = log->type->status(log, STATUSTYPE_INFO, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "1 core");
	KUNIT_EXPECT_EQ(test, n, 6);
	n = log->type->status(log, STATUSTYPE_TABLE, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, table);
	KUNIT_EXPECT_EQ(test, n, (int)strlen(table));
	for (maxlen = 1; maxlen <= sizeof(table); maxlen++) {
		memset(buf, 'X', sizeof(buf));
		n = log->type->status(log, STATUSTYPE_TABLE, buf, maxlen);
		KUNIT_EXPECT_EQ_MSG(test, n, (int)maxlen - 1, "maxlen %u", maxlen);
		KUNIT_EXPECT_EQ_MSG(test, buf[maxlen - 1], '\0', "maxlen %u", maxlen);
		KUNIT_EXPECT_EQ_MSG(test, memcmp(buf, table, maxlen - 1), 0, "maxlen %u", maxlen);
		KUNIT_EXPECT_EQ_MSG(test, buf[maxlen], 'X', "wrote past maxlen %u", maxlen);
	}
	dm_dirty_log_destroy(log);
}

static void core_refuses_bad_arguments(struct kunit *test)
{
	char odd[] = "1000", size[] = "1024", huge[] = "4294967296", bogus[] = "bogus";
	char *args_odd[] = { odd }, *args_bogus[] = { size, bogus }, *args_huge[] = { huge };
	char *args_many[] = { size, size, size };

	KUNIT_EXPECT_NULL(test, dm_dirty_log_create("core", &core_ti, NULL, 1, args_odd));
	KUNIT_EXPECT_NULL(test, dm_dirty_log_create("core", &core_ti, NULL, 2, args_bogus));
	KUNIT_EXPECT_NULL(test, dm_dirty_log_create("core", &core_ti, NULL, 0, args_odd));
	KUNIT_EXPECT_NULL(test, dm_dirty_log_create("core", &core_ti, NULL, 3, args_many));
	/* Past the target length (and, for C, past 32 bits: it wraps to 0). */
	KUNIT_EXPECT_NULL(test, dm_dirty_log_create("core", &core_ti, NULL, 1, args_huge));
}

static struct kunit_case core_cases[] = {
	KUNIT_CASE(core_regions),
	KUNIT_CASE(core_nosync),
	KUNIT_CASE(core_status),
	KUNIT_CASE(core_refuses_bad_arguments),
	{}
};

static struct kunit_suite core_suite = {
	.name = "dm_log_core_ops",
	.test_cases = core_cases,
};

kunit_test_suites(&registry_suite, &core_suite);

MODULE_DESCRIPTION("KUnit tests of the dirty-log registry and the core log's ops table");
MODULE_LICENSE("GPL");
