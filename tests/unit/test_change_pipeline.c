/* test_change_pipeline.c: unit tests of the control plane's change pipeline (control/
 * state.c with merge, journal, store): how a backend PUT, a drain, a delete, a reload and a
 * rollback each become one journal record and one new generation, or nothing at all. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "config.h"
#include "ctl.h"
#include "ctl_api.h"
#include "ctl_journal.h"
#include "ctl_store.h"
#include "generation.h"
#include "log.h"
#include "worker.h"

/* Fakes below the pipeline (TEST_WRAP_test_change_pipeline in the Makefile): a generation
 * that cannot be built (a bind taken, a certificate gone: here on demand) and a journal
 * whose fdatasync fails (a full or broken disk). Otherwise they call the real ones. */
struct generation *__real_generation_build(struct config *cfg, const struct generation *prev,
					   int nworkers, uint64_t id, char *err, size_t errlen);
struct generation *__wrap_generation_build(struct config *cfg, const struct generation *prev,
					   int nworkers, uint64_t id, char *err, size_t errlen);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

static int fail_build;  /* generation_build refuses */
static int fail_sync;   /* fdatasync fails with EIO */

/* What a test can see of the control plane's state between two changes. */
struct snap {
	uint64_t gen;                    /* the published generation's id */
	uint64_t next_id;
	size_t records;                  /* journal records counted by the journal */
	size_t entries;                  /* journal entries in memory */
	long lines;                      /* records in the journal file (one line each) */
	ssize_t kept;                    /* generations kept for rollback */
	char *flat;                      /* the published config, one key per line */
	const struct config *file;       /* the config the journal is laid over */
};

static char *dir;
static char cfg_path[4096];
static struct ev_loop *loop;

static void write_config(const char *backends_flask);
static void write_config_with(const char *flask_settings, const char *backends_flask);
static void start(void);
static void stop(void);
static struct snap take(void);
static void snap_free(struct snap *s);
static void assert_unchanged(const struct snap *before);
static long journal_lines(void);
static char *flat(const struct config *cfg);
static char *kept_flat(uint64_t id);
static uint64_t gen_id(void);
static const struct cfg_backend *applied(const char *pool, const char *name);
static int put(const char *pool, const char *name, const char *body, uint64_t *gen);
static int drain(const char *pool, const char *name, uint64_t *gen);
static void remove_tree(const char *path);
static int setup(void **state);
static int teardown(void **state);

static void test_put_one_generation_one_record(void **state);
static void test_put_unchanged_makes_nothing(void **state);
static void test_drain_and_delete(void **state);
static void test_refused_changes_change_nothing(void **state);
static void test_reload(void **state);
static void test_rollback_gives_config_of_generation(void **state);
static void test_restart_replays_journal(void **state);

struct generation *__wrap_generation_build(struct config *cfg, const struct generation *prev,
					   int nworkers, uint64_t id, char *err, size_t errlen)
{
	if (fail_build) {
		snprintf(err, errlen, "cannot listen on 127.0.0.1:18480: Address in use (fake)");
		return NULL;
	}
	return __real_generation_build(cfg, prev, nworkers, id, err, errlen);
}

int __wrap_fdatasync(int fd)
{
	if (fail_sync) {
		errno = EIO;
		return -1;
	}
	return __real_fdatasync(fd);
}

#define WEB_1 "{ name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 4; max_conns = 3; }"
#define WEB_2 "{ name = \"web-2\"; address = \"127.0.0.1:8002\"; }"

/* The config file: one listener (never bound: the test runs no workers), pool flask
 * with the given settings and backends, pool other with one backend. */
static void write_config_with(const char *flask_settings, const char *backends_flask)
{
	FILE *f = fopen(cfg_path, "w");

	assert_non_null(f);
	fprintf(f,
		"log = { access = \"off\"; level = \"warn\"; };\n"
		"state_dir = \"%s/state\";\n"
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:18480\"; pool = \"flask\"; } );\n"
		"pools = ( { name = \"flask\"; %s backends = ( %s ); },\n"
		"  { name = \"other\"; backends = ( { name = \"o-1\"; address = \"127.0.0.1:8101\"; } ); } );\n",
		dir, flask_settings, backends_flask);
	assert_int_equal(fclose(f), 0);
}

static void write_config(const char *backends_flask)
{
	write_config_with("", backends_flask);
}

/* What control/main.c does at start, without workers, the health loop or the API:
 * the file with the journal laid over it becomes the first generation. */
static void start(void)
{
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_file(cfg_path, &errs);
	struct generation *g;
	char err[512];

	if (!cfg) {
		config_errors_print(&errs, stderr);
		config_errors_clear(&errs);
		fail_msg("%s does not load", cfg_path);
	}
	ctl_plane = (struct ctl_plane){ .lock_fd = -1, .next_id = 1 };
	assert_int_equal(ctl_init(&cfg, cfg_path, config_load_file), 0);
	g = generation_build(cfg, NULL, proc.nworkers, ctl_next_generation_id(), err, sizeof(err));
	if (!g)
		fail_msg("first generation: %s", err);
	proc.current = g;
	assert_int_equal(ctl_start(loop, g), 0);
}

/* Everything start() took, given back as at shutdown: the state stays in state_dir. */
static void stop(void)
{
	ctl_shutdown();
	generation_unref(proc.current);
	proc.current = NULL;
}

static uint64_t gen_id(void)
{
	return proc.current->id;
}

static char *flat(const struct config *cfg)
{
	char *s = ctl_render(cfg, CONFIG_RENDER_FLAT);

	assert_non_null(s);
	return s;
}

/* The config kept for generation id, loaded and rendered flat. */
static char *kept_flat(uint64_t id)
{
	struct ctl_gen_meta meta;
	struct config_errors errs = { 0 };
	char *text = ctl_store_read(&ctl_plane.store, id, &meta), *out;
	struct config *cfg;

	assert_non_null(text);
	cfg = config_load_string(text, "kept", &errs);
	free(text);
	assert_non_null(cfg);
	out = flat(cfg);
	config_free(cfg);
	return out;
}

static long journal_lines(void)
{
	char path[4200];
	long n = 0;
	FILE *f;
	int c;

	snprintf(path, sizeof(path), "%s/state/journal", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static struct snap take(void)
{
	struct ctl_gen_meta *list = NULL;
	struct snap s;

	s.gen = gen_id();
	s.next_id = ctl_plane.next_id;
	s.records = ctl_plane.journal.records;
	s.entries = ctl_plane.journal.n;
	s.lines = journal_lines();
	s.kept = ctl_store_list(&ctl_plane.store, &list);
	free(list);
	s.flat = flat(proc.current->cfg);
	s.file = ctl_base();
	return s;
}

static void snap_free(struct snap *s)
{
	free(s->flat);
	s->flat = NULL;
}

/* Nothing of what runs or what is kept moved since before was taken. */
static void assert_unchanged(const struct snap *before)
{
	struct snap now = take();

	assert_int_equal(now.gen, before->gen);
	assert_int_equal(now.next_id, before->next_id);
	assert_int_equal(now.records, before->records);
	assert_int_equal(now.entries, before->entries);
	assert_int_equal(now.lines, before->lines);
	assert_int_equal(now.kept, before->kept);
	assert_string_equal(now.flat, before->flat);
	assert_ptr_equal(now.file, before->file);
	snap_free(&now);
}

/* The backend as the published generation's config has it, or NULL. */
static const struct cfg_backend *applied(const char *pool, const char *name)
{
	return ctl_config_backend(proc.current->cfg, pool, name);
}

/* The path of PUT /v1/pools/{pool}/backends/{name} (control/api.c, put_backend) below
 * the HTTP layer: the body validated, the entry made from the applied config, then the
 * change. Returns 0 (*gen set when a generation was made, else left as is), 400 when
 * the body is refused, or what ctl_change_backend returned. */
static int put(const char *pool, const char *name, const char *body, uint64_t *gen)
{
	struct ctl_backend_put p;
	struct ctl_jentry e;
	enum ctl_put_outcome out;
	char err[512];
	int rc;

	if (ctl_parse_backend_put(body, strlen(body), &p, err, sizeof(err)) == -1)
		return 400;
	memset(&e, 0, sizeof(e));
	snprintf(e.pool, sizeof(e.pool), "%s", pool);
	snprintf(e.name, sizeof(e.name), "%s", name);
	out = ctl_put_entry(applied(pool, name), ctl_journal_find(&ctl_plane.journal, pool, name),
			    &p, 0, 1.0e9, &e);
	if (out == CTL_PUT_INVALID)
		return 400;
	if (out != CTL_PUT_CHANGE)
		return 0;
	rc = ctl_change_backend(&e, "api: PUT (test)", gen, err, sizeof(err));
	if (rc)
		assert_true(err[0] != '\0');
	return rc;
}

/* The path of POST .../drain (control/api.c, start_drain): the backend as applied, now
 * draining. */
static int drain(const char *pool, const char *name, uint64_t *gen)
{
	const struct cfg_backend *cur = applied(pool, name);
	struct ctl_jentry e;
	char err[512];

	assert_non_null(cur);
	memset(&e, 0, sizeof(e));
	snprintf(e.pool, sizeof(e.pool), "%s", pool);
	snprintf(e.name, sizeof(e.name), "%s", name);
	ctl_entry_of(cur, ctl_journal_find(&ctl_plane.journal, pool, name), &e);
	e.state = ADMIN_DRAINING;
	return ctl_change_backend(&e, "api: drain (test)", gen, err, sizeof(err));
}

static void remove_tree(const char *path)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	while (d && (de = readdir(d)) != NULL) {
		char *p;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		assert_true(asprintf(&p, "%s/%s", path, de->d_name) > 0);
		remove_tree(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

static int setup(void **state)
{
	dir = strdup("/tmp/fulcrum-test-pipeline.XXXXXX");
	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	snprintf(cfg_path, sizeof(cfg_path), "%s/fulcrum.cfg", dir);
	write_config(WEB_1 ", " WEB_2);
	fail_build = fail_sync = 0;
	loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(loop);
	start();
	return 0;
}

static int teardown(void **state)
{
	stop();
	ev_loop_destroy(loop);
	loop = NULL;
	remove_tree(dir);
	free(dir);
	dir = NULL;
	return 0;
}

/* A PUT that adds a backend: one record (fsync'd before the generation), one runtime
 * generation with the backend in it, not kept for rollback; the backends that stay are
 * the same live objects. */
static void test_put_one_generation_one_record(void **state)
{
	struct snap before = take();
	struct backend *web1 = ctl_live_backend(proc.current, "flask", "web-1");
	const struct ctl_jentry *e;
	uint64_t gen = 0;

	assert_int_equal(before.gen, 1);
	assert_int_equal(before.kept, 1);
	atomic_store(&web1->active, 2);

	assert_int_equal(put("flask", "web-3", "{\"address\": \"127.0.0.1:8003\", \"weight\": 2}", &gen),
			 0);
	assert_int_equal(gen, before.gen + 1);
	assert_int_equal(gen_id(), gen);
	assert_int_equal(journal_lines(), before.lines + 1);
	assert_int_equal(ctl_plane.journal.records, before.records + 1);
	e = ctl_journal_find(&ctl_plane.journal, "flask", "web-3");
	assert_non_null(e);
	assert_int_equal(e->op, CTL_JOP_SET);
	assert_int_equal(e->weight, 2);
	assert_int_equal(e->gen, gen);
	assert_non_null(applied("flask", "web-3"));
	assert_int_equal(applied("flask", "web-3")->weight, 2);
	assert_non_null(ctl_live_backend(proc.current, "flask", "web-3"));
	assert_ptr_equal(ctl_live_backend(proc.current, "flask", "web-1"), web1);
	assert_int_equal(atomic_load(&web1->active), 2);
	{
		struct snap after = take();

		assert_int_equal(after.kept, before.kept);
		assert_ptr_equal(after.file, before.file);
		snap_free(&after);
	}

	/* a change of a file's backend: one more of each, the live object the same */
	assert_int_equal(put("flask", "web-1", "{\"weight\": 9}", &gen), 0);
	assert_int_equal(gen_id(), before.gen + 2);
	assert_int_equal(journal_lines(), before.lines + 2);
	assert_int_equal(applied("flask", "web-1")->weight, 9);
	assert_int_equal(applied("flask", "web-1")->max_conns, 3);
	assert_ptr_equal(ctl_live_backend(proc.current, "flask", "web-1"), web1);
	assert_int_equal(atomic_load(&web1->weight), 9);
	assert_int_equal(atomic_load(&web1->active), 2);
	atomic_store(&web1->active, 0);
	snap_free(&before);
}

/* A PUT that says what is already applied is no change: no record, no generation (a
 * hook may retry it freely). */
static void test_put_unchanged_makes_nothing(void **state)
{
	struct snap before;
	uint64_t gen = 0;

	assert_int_equal(put("flask", "web-3", "{\"address\": \"127.0.0.1:8003\"}", &gen), 0);
	before = take();
	gen = 0;
	assert_int_equal(put("flask", "web-3", "{\"address\": \"127.0.0.1:8003\"}", &gen), 0);
	assert_int_equal(put("flask", "web-1", "{\"weight\": 4, \"max_conns\": 3}", &gen), 0);
	assert_int_equal(gen, 0);
	assert_unchanged(&before);
	snap_free(&before);
}

/* A drain and a delete: one record and one generation each, and what they say is in the
 * applied config and on the live backend. */
static void test_drain_and_delete(void **state)
{
	struct snap before = take();
	struct backend *web1 = ctl_live_backend(proc.current, "flask", "web-1");
	const struct ctl_jentry *e;
	char err[512];
	uint64_t gen = 0;

	assert_int_equal(drain("flask", "web-1", &gen), 0);
	assert_int_equal(gen, before.gen + 1);
	assert_int_equal(journal_lines(), before.lines + 1);
	assert_int_equal(applied("flask", "web-1")->state, ADMIN_DRAINING);
	/* the rest of it stays as it was */
	assert_int_equal(applied("flask", "web-1")->weight, 4);
	assert_ptr_equal(ctl_live_backend(proc.current, "flask", "web-1"), web1);
	assert_int_equal(atomic_load(&web1->admin), ADMIN_DRAINING);

	assert_int_equal(ctl_delete_backend("flask", "web-2", "api: DELETE (test)", &gen, err,
					    sizeof(err)), 0);
	assert_int_equal(gen, before.gen + 2);
	assert_int_equal(gen_id(), gen);
	assert_int_equal(journal_lines(), before.lines + 2);
	assert_null(applied("flask", "web-2"));
	assert_null(ctl_live_backend(proc.current, "flask", "web-2"));
	/* the file has web-2: the journal must say it is gone, or a restart brings it back */
	e = ctl_journal_find(&ctl_plane.journal, "flask", "web-2");
	assert_non_null(e);
	assert_int_equal(e->op, CTL_JOP_DELETE);
	/* the other pool is untouched */
	assert_non_null(applied("other", "o-1"));
	snap_free(&before);
}

/* Every refused change leaves everything as it was: the generation, the journal in memory
 * and on disk, the kept generations, the applied config; and says why. */
static void test_refused_changes_change_nothing(void **state)
{
	struct config_errors errs = { 0 }, warnings = { 0 };
	struct snap before;
	char err[512];
	uint64_t gen = 0;

	assert_int_equal(put("flask", "web-3", "{\"address\": \"127.0.0.1:8003\"}", &gen), 0);
	before = take();

	/* bodies the API refuses before the pipeline */
	assert_int_equal(put("flask", "web-1", "{\"weight\": 100000}", &gen), 400);
	assert_int_equal(put("flask", "web-1", "{\"color\": \"red\"}", &gen), 400);
	assert_int_equal(put("flask", "web-9", "{\"weight\": 2}", &gen), 400);
	assert_unchanged(&before);

	/* the generation cannot be built: the record already written is taken back */
	fail_build = 1;
	assert_int_equal(put("flask", "web-4", "{\"address\": \"127.0.0.1:8004\"}", &gen), 500);
	assert_int_equal(put("flask", "web-3", "{\"weight\": 7}", &gen), 500);
	assert_int_equal(drain("flask", "web-1", &gen), 500);
	assert_int_equal(ctl_delete_backend("flask", "web-2", "api: DELETE (test)", &gen, err,
					    sizeof(err)), 500);
	assert_non_null(strstr(err, "(fake)"));
	fail_build = 0;
	assert_null(ctl_journal_find(&ctl_plane.journal, "flask", "web-4"));
	assert_int_equal(ctl_journal_find(&ctl_plane.journal, "flask", "web-3")->weight, 1);
	assert_null(ctl_journal_find(&ctl_plane.journal, "flask", "web-1"));
	assert_unchanged(&before);

	/* the journal cannot be written */
	fail_sync = 1;
	assert_int_equal(put("flask", "web-4", "{\"address\": \"127.0.0.1:8004\"}", &gen), 503);
	assert_int_equal(drain("flask", "web-1", &gen), 503);
	fail_sync = 0;
	assert_unchanged(&before);

	/* a reload of a file with errors */
	write_config(WEB_1 ", { name = \"web-2\"; address = \"127.0.0.1:8002\"; weight = 5000; }");
	assert_int_equal(ctl_reload("test", &gen, &errs, &warnings, err, sizeof(err)), 422);
	assert_true(errs.count > 0);
	config_errors_clear(&errs);
	config_errors_clear(&warnings);
	assert_unchanged(&before);
	/* a good file whose generation cannot be built */
	write_config(WEB_1);
	fail_build = 1;
	assert_int_equal(ctl_reload("test", &gen, &errs, &warnings, err, sizeof(err)), 500);
	fail_build = 0;
	config_errors_clear(&warnings);
	assert_unchanged(&before);

	/* a rollback to a generation that is not kept (2 was the PUT's: runtime) */
	assert_int_equal(ctl_rollback(2, &gen, &errs, err, sizeof(err)), 404);
	assert_int_equal(ctl_rollback(99, &gen, &errs, err, sizeof(err)), 404);
	/* or that cannot be built */
	fail_build = 1;
	assert_int_equal(ctl_rollback(1, &gen, &errs, err, sizeof(err)), 500);
	fail_build = 0;
	assert_unchanged(&before);
	assert_int_equal(ctl_journal_find(&ctl_plane.journal, "flask", "web-3")->op, CTL_JOP_SET);

	/* stopping: no more changes */
	ctl_set_stopping();
	assert_int_equal(put("flask", "web-4", "{\"address\": \"127.0.0.1:8004\"}", &gen), 503);
	assert_int_equal(ctl_reload("test", &gen, &errs, &warnings, err, sizeof(err)), 503);
	assert_int_equal(ctl_rollback(1, &gen, &errs, err, sizeof(err)), 503);
	assert_unchanged(&before);
	snap_free(&before);
}

/* A reload reads the file again and lays the journal over it: one generation, kept,
 * no journal record; the file's own edit of a backend overtakes what the API said. */
static void test_reload(void **state)
{
	struct config_errors errs = { 0 }, warnings = { 0 };
	struct snap before;
	char err[512];
	uint64_t gen = 0;

	assert_int_equal(put("flask", "web-3", "{\"address\": \"127.0.0.1:8003\"}", &gen), 0);
	assert_int_equal(drain("flask", "web-2", &gen), 0);
	assert_int_equal(drain("flask", "web-1", &gen), 0);
	before = take();

	/* web-1 edited in the file, web-2 as it was */
	write_config("{ name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 6; }, " WEB_2);
	assert_int_equal(ctl_reload("test reload", &gen, &errs, &warnings, err, sizeof(err)), 0);
	config_errors_clear(&warnings);
	assert_int_equal(gen, before.gen + 1);
	assert_int_equal(gen_id(), gen);
	/* no record for a reload; web-1's entry is dropped, the journal rewritten without it */
	assert_int_equal(ctl_plane.journal.n, before.entries - 1);
	assert_int_equal(journal_lines(), before.lines - 1);
	{
		struct snap after = take();

		assert_int_equal(after.kept, before.kept + 1);
		assert_ptr_not_equal(after.file, before.file);
		snap_free(&after);
	}
	assert_int_equal(applied("flask", "web-1")->weight, 6);
	assert_int_equal(applied("flask", "web-1")->state, ADMIN_ACTIVE);
	assert_null(ctl_journal_find(&ctl_plane.journal, "flask", "web-1"));
	assert_int_equal(applied("flask", "web-2")->state, ADMIN_DRAINING);
	assert_non_null(applied("flask", "web-3"));
	{
		char *k = kept_flat(gen), *now = flat(proc.current->cfg);

		assert_string_equal(k, now);
		free(k);
		free(now);
	}
	snap_free(&before);
}

/* A rollback to kept generation N publishes N's config as a new generation, and the
 * journal is rewritten so that a reload or a restart keeps N's backends; N's other
 * settings hold for API changes until the next reload. */
static void test_rollback_gives_config_of_generation(void **state)
{
	struct config_errors errs = { 0 }, warnings = { 0 };
	char err[512], *want1, *want3, *now;
	uint64_t gen = 0;

	want1 = kept_flat(1);
	assert_int_equal(put("flask", "web-3", "{\"address\": \"127.0.0.1:8003\"}", &gen), 0);
	assert_int_equal(gen, 2);
	/* generation 3: a pool setting changed, web-1 re-weighted and web-2 gone in the file */
	write_config_with("drain_timeout_s = 45; slow_start_s = 3;",
			  "{ name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 9; }");
	assert_int_equal(ctl_reload("test reload", &gen, &errs, &warnings, err, sizeof(err)), 0);
	config_errors_clear(&warnings);
	assert_int_equal(gen, 3);
	assert_null(applied("flask", "web-2"));
	assert_non_null(applied("flask", "web-3"));
	want3 = kept_flat(3);
	assert_string_not_equal(want1, want3);

	assert_int_equal(ctl_rollback(1, &gen, &errs, err, sizeof(err)), 0);
	assert_int_equal(gen, 4);
	assert_int_equal(gen_id(), 4);
	now = flat(proc.current->cfg);
	assert_string_equal(now, want1);
	free(now);
	assert_int_equal(applied("flask", "web-1")->weight, 4);
	assert_non_null(applied("flask", "web-2"));
	assert_null(applied("flask", "web-3"));
	assert_int_equal(config_find_pool(proc.current->cfg, "flask")->drain_timeout_s, 30);
	/* an operator config again: kept, a rollback target itself */
	{
		struct ctl_gen_meta *list = NULL;
		ssize_t n = ctl_store_list(&ctl_plane.store, &list);

		assert_int_equal(n, 3);
		assert_int_equal(list[2].id, 4);
		assert_non_null(strstr(list[2].source, "rollback to generation 1"));
		free(list);
	}

	/* an API change now is laid over generation 1's config, not over the file's */
	assert_int_equal(put("flask", "web-2", "{\"weight\": 2}", &gen), 0);
	assert_int_equal(gen, 5);
	assert_int_equal(applied("flask", "web-2")->weight, 2);
	assert_int_equal(config_find_pool(proc.current->cfg, "flask")->drain_timeout_s, 30);
	assert_int_equal(config_find_pool(proc.current->cfg, "flask")->slow_start_s, 0);

	/* and forward again */
	assert_int_equal(ctl_rollback(3, &gen, &errs, err, sizeof(err)), 0);
	assert_int_equal(gen, 6);
	now = flat(proc.current->cfg);
	assert_string_equal(now, want3);
	free(now);
	free(want1);
	free(want3);
}

/* What the journal says comes back after a restart: the same config, and generation
 * ids go on from where they were. The same after a rollback. */
static void test_restart_replays_journal(void **state)
{
	struct config_errors errs = { 0 }, warnings = { 0 };
	char err[512], *want, *now;
	uint64_t gen = 0, last;
	size_t entries;

	assert_int_equal(put("flask", "web-3", "{\"address\": \"127.0.0.1:8003\"}", &gen), 0);
	assert_int_equal(drain("flask", "web-1", &gen), 0);
	assert_int_equal(ctl_delete_backend("flask", "web-2", "api: DELETE (test)", &gen, err,
					    sizeof(err)), 0);
	assert_int_equal(put("flask", "web-4", "{\"address\": \"127.0.0.1:8004\", \"weight\": 3}", &gen),
			 0);
	assert_int_equal(put("flask", "web-4", "{\"weight\": 5, \"max_conns\": 8}", &gen), 0);
	assert_int_equal(put("other", "o-2", "{\"address\": \"127.0.0.1:8102\"}", &gen), 0);
	want = flat(proc.current->cfg);
	last = gen_id();
	entries = ctl_plane.journal.n;

	stop();
	start();
	now = flat(proc.current->cfg);
	assert_string_equal(now, want);
	free(now);
	assert_int_equal(ctl_plane.journal.n, entries);
	assert_int_equal(gen_id(), last + 1);
	assert_int_equal(applied("flask", "web-4")->weight, 5);
	assert_int_equal(applied("flask", "web-4")->max_conns, 8);
	assert_int_equal(applied("flask", "web-1")->state, ADMIN_DRAINING);
	assert_null(applied("flask", "web-2"));
	free(want);

	/* a rollback to the first generation, then a restart */
	assert_int_equal(ctl_rollback(1, &gen, &errs, err, sizeof(err)), 0);
	want = flat(proc.current->cfg);
	last = gen_id();
	stop();
	start();
	now = flat(proc.current->cfg);
	assert_string_equal(now, want);
	assert_int_equal(gen_id(), last + 1);
	free(now);
	free(want);
	config_errors_clear(&errs);
	config_errors_clear(&warnings);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_one_generation_one_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_unchanged_makes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_changes_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_gives_config_of_generation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restart_replays_journal, setup, teardown),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
