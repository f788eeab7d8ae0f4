/* test_ctl_auth.c: unit tests of control/auth.c on real files in a temp dir: token_file
 * is admin, token_dir files get their scope from control.tokens (read without an entry,
 * dot files skipped), a rotated file's old value works for the overlap and no longer,
 * a removed file likewise, a reload keeps an overlap running, files another user could
 * write are refused (the previous tokens stay), and a Secret volume's link swap rotates. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-t.h"
#include "ctl_http.h"

static char dir[256], tdir[300], tfile[300];
static struct cfg_token scopes[2];
static struct config cfg;

static void put(const char *path, const char *text, mode_t mode);
static const char *in_dir(const char *name);
static const char *who(const char *token, double now);
static int setup(void **state);
static int teardown(void **state);

static void test_scopes(void **state);
static void test_rotation(void **state);
static void test_removed(void **state);
static void test_reload_keeps_overlap(void **state);
static void test_refused_files(void **state);
static void test_secret_volume(void **state);

static void put(const char *path, const char *text, mode_t mode)
{
	char tmp[400];
	FILE *f;

	/* written aside and renamed: a new inode, as a Secret volume update makes */
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(tmp, mode), 0);
	assert_int_equal(rename(tmp, path), 0);
}

/* tdir/name, in a static buffer. */
static const char *in_dir(const char *name)
{
	static char path[400];

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	return path;
}

/* "name/scope" of the token, or "-" when it is refused. */
static const char *who(const char *token, double now)
{
	static char out[128];
	struct ctl_principal p;
	char hdr[256];

	snprintf(hdr, sizeof(hdr), "Bearer %s", token);
	ctl_auth_refresh(now);
	if (!ctl_auth_identify(hdr, strlen(hdr), now, &p))
		return "-";
	snprintf(out, sizeof(out), "%s/%s%s%s", p.name, ctl_scope_name(p.scope),
		 p.pools ? ":" : "", p.pools ? p.pools : "");
	return out;
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_ctl_auth.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(tdir, sizeof(tdir), "%s/tokens", dir);
	snprintf(tfile, sizeof(tfile), "%s/admin.token", dir);
	assert_int_equal(mkdir(tdir, 0700), 0);
	put(tfile, "root-secret\n", 0600);
	put(in_dir("hooks"), "  hook-1\n", 0600);
	put(in_dir("grafana"), "graf-1", 0600);
	put(in_dir("extra"), "extra-1\n", 0600);
	put(in_dir("..data"), "dot-1\n", 0600);
	memset(&cfg, 0, sizeof(cfg));
	scopes[0] = (struct cfg_token){ .name = "hooks", .scope = TOKEN_SCOPE_BACKENDS,
					.pools = "flask,api" };
	scopes[1] = (struct cfg_token){ .name = "grafana", .scope = TOKEN_SCOPE_READ };
	cfg.control.token_file = tfile;
	cfg.control.token_dir = tdir;
	cfg.control.tokens = scopes;
	cfg.control.ntokens = 2;
	cfg.control.token_overlap_s = 5;
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];

	ctl_auth_clear();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_scopes(void **state)
{
	char err[512] = "";

	assert_int_equal(ctl_auth_load(&cfg, 100, err, sizeof(err)), 0);
	assert_true(ctl_auth_required());
	assert_string_equal(who("root-secret", 100), "token_file/admin");
	assert_string_equal(who("hook-1", 100), "hooks/backends:flask,api");
	assert_string_equal(who("graf-1", 100), "grafana/read");
	assert_string_equal(who("extra-1", 100), "extra/read");  /* no entry: read, never more */
	assert_string_equal(who("dot-1", 100), "-");             /* ..data is not a token */
	assert_string_equal(who("hook-", 100), "-");
	assert_string_equal(who("", 100), "-");
}

static void test_rotation(void **state)
{
	char err[512] = "", path[400];

	assert_int_equal(ctl_auth_load(&cfg, 100, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/hooks", tdir);
	put(path, "hook-2\n", 0600);
	assert_string_equal(who("hook-2", 101), "hooks/backends:flask,api");
	assert_string_equal(who("hook-1", 101), "hooks/backends:flask,api");
	assert_string_equal(who("hook-1", 105.9), "hooks/backends:flask,api");
	assert_string_equal(who("hook-1", 106.1), "-");
	assert_string_equal(who("hook-2", 106.1), "hooks/backends:flask,api");
	/* token_file rotates the same way */
	put(tfile, "root-2", 0600);
	assert_string_equal(who("root-2", 200), "token_file/admin");
	assert_string_equal(who("root-secret", 204), "token_file/admin");
	assert_string_equal(who("root-secret", 205.5), "-");
	/* a new file in token_dir is a token at once */
	snprintf(path, sizeof(path), "%s/late", tdir);
	put(path, "late-1", 0600);
	assert_string_equal(who("late-1", 300), "late/read");
}

static void test_removed(void **state)
{
	char err[512] = "", path[400];

	assert_int_equal(ctl_auth_load(&cfg, 100, err, sizeof(err)), 0);
	assert_string_equal(who("graf-1", 100), "grafana/read");
	snprintf(path, sizeof(path), "%s/grafana", tdir);
	assert_int_equal(unlink(path), 0);
	assert_string_equal(who("graf-1", 102), "grafana/read");
	assert_string_equal(who("graf-1", 110), "-");
}

static void test_reload_keeps_overlap(void **state)
{
	char err[512] = "", path[400];

	assert_int_equal(ctl_auth_load(&cfg, 100, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/hooks", tdir);
	put(path, "hook-3\n", 0600);
	/* the change is first seen by the reload itself */
	assert_int_equal(ctl_auth_load(&cfg, 101, err, sizeof(err)), 0);
	assert_string_equal(who("hook-1", 102), "hooks/backends:flask,api");
	assert_string_equal(who("hook-3", 102), "hooks/backends:flask,api");
	assert_int_equal(ctl_auth_load(&cfg, 103, err, sizeof(err)), 0);
	assert_string_equal(who("hook-1", 105), "hooks/backends:flask,api");
	assert_string_equal(who("hook-1", 106.5), "-");
}

static void test_refused_files(void **state)
{
	char err[512] = "", path[400];

	assert_int_equal(ctl_auth_load(&cfg, 100, err, sizeof(err)), 0);
	/* a token file others can write: refused at load, the running tokens stay */
	snprintf(path, sizeof(path), "%s/grafana", tdir);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(ctl_auth_load(&cfg, 101, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable by others"));
	assert_string_equal(who("hook-1", 101), "hooks/backends:flask,api");
	/* at run time a changed file that fails the check keeps the current value */
	put(path, "graf-evil", 0666);
	assert_string_equal(who("graf-evil", 102), "-");
	assert_string_equal(who("graf-1", 102), "grafana/read");
	/* a group-writable token_dir is refused too */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chmod(tdir, 0770), 0);
	assert_int_equal(ctl_auth_load(&cfg, 103, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable by its group"));
	assert_int_equal(chmod(tdir, 0700), 0);
	/* no token configured: everyone is "-" with scope admin */
	cfg.control.token_file = NULL;
	cfg.control.token_dir = NULL;
	cfg.control.ntokens = 0;
	assert_int_equal(ctl_auth_load(&cfg, 104, err, sizeof(err)), 0);
	assert_false(ctl_auth_required());
	assert_string_equal(who("anything", 104), "-/admin");
}

/* A Kubernetes Secret volume: NAME -> ..data/NAME, ..data -> ..<timestamp>; an update
 * writes a new timestamped directory and swaps the ..data link. */
static void test_secret_volume(void **state)
{
	char err[512] = "", a[400], b[400], link[400], tmp[420];

	snprintf(a, sizeof(a), "%s/..2026_a", tdir);
	snprintf(b, sizeof(b), "%s/..2026_b", tdir);
	assert_int_equal(mkdir(a, 0755), 0);
	assert_int_equal(mkdir(b, 0755), 0);
	snprintf(tmp, sizeof(tmp), "%s/vol", a);
	put(tmp, "vol-1\n", 0644);
	snprintf(tmp, sizeof(tmp), "%s/vol", b);
	put(tmp, "vol-2\n", 0644);
	assert_int_equal(unlink(in_dir("..data")), 0);
	assert_int_equal(symlink("..2026_a", in_dir("..data")), 0);
	assert_int_equal(symlink("..data/vol", in_dir("vol")), 0);
	assert_int_equal(ctl_auth_load(&cfg, 100, err, sizeof(err)), 0);
	assert_string_equal(who("vol-1", 100), "vol/read");
	/* the swap: a new link renamed over ..data */
	snprintf(link, sizeof(link), "%s/..data_tmp", tdir);
	assert_int_equal(symlink("..2026_b", link), 0);
	assert_int_equal(rename(link, in_dir("..data")), 0);
	assert_string_equal(who("vol-2", 101), "vol/read");
	assert_string_equal(who("vol-1", 101), "vol/read");
	assert_string_equal(who("vol-1", 106.5), "-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_keeps_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_volume, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
