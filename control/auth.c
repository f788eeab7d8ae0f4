/* auth.c: the control API's bearer tokens: control.token_file (scope admin) and one per
 * file of control.token_dir (scopes from control.tokens), re-read when their files change,
 * the previous value honoured for control.token_overlap_s; checked in constant time. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "array.h"
#include "config-t.h"
#include "ctl_http.h"
#include "fs_private.h"
#include "log.h"

#define TOKEN_MAX 4096
#define TOKENS_MAX 1024              /* files read from token_dir */

/* One token. Only digests are kept: comparing digests of equal length with CRYPTO_memcmp
 * takes the same time whatever the candidate's length or content. */
struct token {
	char name[CTL_TOKEN_NAME_MAX];
	enum token_scope scope;
	char *pools;                     /* backends scope: "a,b"; NULL = all */
	char *path;                      /* the file it is read from */
	struct stat st;                  /* of that file when last read; st_ino 0 = never */
	int has_cur;                     /* cur holds the file's value */
	unsigned char cur[32];
	int has_old;                     /* the value before the last change, until old_until */
	unsigned char old[32];
	double old_until;
	int seen;                        /* still in token_dir at the last scan */
	int bad_logged;                  /* a refused file is logged once per change */
};

static struct {
	int required;                    /* a token_file or token_dir is configured */
	struct token *t;
	size_t n, cap;
	char *dir;                       /* control.token_dir */
	struct stat dir_st;              /* of dir at its last scan */
	struct cfg_token *scopes;        /* copy of control.tokens */
	size_t nscopes;
	double overlap;                  /* control.token_overlap_s */
	uid_t uid;                       /* owner the files must have (or root) */
} auth;

static void digest(const void *buf, size_t len, unsigned char out[32]);
static int read_token(const char *path, unsigned char out[32], char *err, size_t errlen);
static int same_file(const struct stat *a, const struct stat *b);
static struct token *token_add(const char *name, const char *path, enum token_scope scope,
			       const char *pools);
static void token_refresh(struct token *t, double now, int strict, char *err, size_t errlen,
			  int *failed);
static void scan_dir(int strict, char *err, size_t errlen, int *failed);
static const struct cfg_token *scope_of(const char *name);
static void free_all(void);
static void carry_overlaps(const struct token *old, size_t nold, double now);
static int build(const struct config *cfg, uid_t uid, double now, char *err, size_t errlen);

static void digest(const void *buf, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL);
}

/* Reads path's token (surrounding whitespace stripped, not empty) into its digest.
 * 0, or -1 with err. */
static int read_token(const char *path, unsigned char out[32], char *err, size_t errlen)
{
	char buf[TOKEN_MAX + 1];
	size_t len = 0, start = 0;
	ssize_t r;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "cannot open token file %s: %s", path, strerror(errno));
		return -1;
	}
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len > TOKEN_MAX) {
		snprintf(err, errlen, "token file %s: token longer than %d bytes", path, TOKEN_MAX);
		goto out;
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	while (start < len && isspace((unsigned char)buf[start]))
		start++;
	if (start == len) {
		snprintf(err, errlen, "token file %s holds no token", path);
		goto out;
	}
	digest(buf + start, len - start, out);
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* The same file, unchanged: a rewrite changes mtime/ctime/size, a rename (Kubernetes
 * swaps a Secret volume's ..data link) the inode. */
static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static struct token *token_add(const char *name, const char *path, enum token_scope scope,
			       const char *pools)
{
	struct token *t;

	if (auth.n >= TOKENS_MAX)
		return NULL;
	if (ARRAY_GROW(&auth.t, &auth.cap, auth.n + 1, 8) == -1)
		return NULL;
	t = &auth.t[auth.n];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->scope = scope;
	t->path = strdup(path);
	t->pools = pools ? strdup(pools) : NULL;
	if (!t->path || (pools && !t->pools)) {
		free(t->path);
		free(t->pools);
		return NULL;
	}
	auth.n++;
	return t;
}

/* Re-reads t's file when it changed. A new value replaces the current one, which then
 * still works for the overlap; a file that is gone ends the current value the same way.
 * A file that cannot be read or is not private keeps the current value (strict: at start
 * and reload, where that is an error: *failed set, err says why). */
static void token_refresh(struct token *t, double now, int strict, char *err, size_t errlen,
			  int *failed)
{
	unsigned char d[32];
	char why[512];
	struct stat st;

	if (stat(t->path, &st) == -1) {
		if (strict) {
			snprintf(err, errlen, "token file %s: %s", t->path, strerror(errno));
			*failed = 1;
			return;
		}
		if (errno == ENOENT && t->st.st_ino != 0) {
			/* removed: what it held lasts the overlap, as after a change */
			memset(&t->st, 0, sizeof(t->st));
			if (t->has_cur) {
				memcpy(t->old, t->cur, sizeof(d));
				t->has_old = 1;
				t->old_until = now + auth.overlap;
				t->has_cur = 0;
				log_info("control: token %s: %s removed; its value works for %.0f s more",
					 t->name, t->path, auth.overlap);
			}
		}
		return;
	}
	if (t->st.st_ino != 0 && same_file(&st, &t->st))
		return;
	if (fs_check_private("token file", t->path, S_IFREG, auth.uid, why, sizeof(why)) == -1 ||
	    read_token(t->path, d, why, sizeof(why)) == -1) {
		if (strict) {
			snprintf(err, errlen, "%s", why);
			*failed = 1;
		} else if (!t->bad_logged) {
			log_error("control: token %s: %s (its current value stays)", t->name, why);
		}
		t->bad_logged = 1;
		/* not remembered as read: tried again on the next request */
		return;
	}
	t->bad_logged = 0;
	t->st = st;
	if (t->has_cur && CRYPTO_memcmp(d, t->cur, sizeof(d)) == 0)
		return;  /* touched, same value */
	if (t->has_cur) {
		memcpy(t->old, t->cur, sizeof(d));
		t->has_old = 1;
		t->old_until = now + auth.overlap;
		log_info("control: token %s rotated (%s changed); the old value works for %.0f s more",
			 t->name, t->path, auth.overlap);
	}
	memcpy(t->cur, d, sizeof(d));
	t->has_cur = 1;
	OPENSSL_cleanse(d, sizeof(d));
}

static const struct cfg_token *scope_of(const char *name)
{
	size_t i;

	for (i = 0; i < auth.nscopes; i++)
		if (!strcmp(auth.scopes[i].name, name))
			return &auth.scopes[i];
	return NULL;
}

/* Finds token_dir's files when the directory changed: each regular file whose name is a
 * valid token name (dot files, such as a Secret volume's ..data, are not tokens) is a
 * token; a file that left is handled by token_refresh. */
static void scan_dir(int strict, char *err, size_t errlen, int *failed)
{
	struct dirent *de;
	struct stat st;
	char why[512];
	size_t i;
	DIR *d;

	if (stat(auth.dir, &st) == -1) {
		if (strict) {
			snprintf(err, errlen, "control.token_dir %s: %s", auth.dir, strerror(errno));
			*failed = 1;
		}
		return;
	}
	if (auth.dir_st.st_ino != 0 && same_file(&st, &auth.dir_st))
		return;
	if (fs_check_private("control.token_dir", auth.dir, S_IFDIR, auth.uid, why,
			     sizeof(why)) == -1) {
		if (strict) {
			snprintf(err, errlen, "%s", why);
			*failed = 1;
		} else {
			log_error("control: %s (no new token files are taken from it)", why);
		}
		auth.dir_st = st;  /* logged once per change */
		return;
	}
	d = opendir(auth.dir);
	if (!d) {
		if (strict) {
			snprintf(err, errlen, "control.token_dir %s: %s", auth.dir, strerror(errno));
			*failed = 1;
		}
		return;
	}
	auth.dir_st = st;
	while ((de = readdir(d)) != NULL) {
		char path[4200];
		struct stat fst;
		const struct cfg_token *sc;
		struct token *t = NULL;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= CTL_TOKEN_NAME_MAX ||
		    strspn(de->d_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789._-") != strlen(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", auth.dir, de->d_name);
		if (stat(path, &fst) == -1 || !S_ISREG(fst.st_mode))
			continue;
		for (i = 0; i < auth.n; i++)
			if (!strcmp(auth.t[i].path, path))
				t = &auth.t[i];
		if (t)
			continue;
		sc = scope_of(de->d_name);
		t = token_add(de->d_name, path, sc ? sc->scope : TOKEN_SCOPE_READ,
			      sc ? sc->pools : NULL);
		if (!t) {
			log_error("control: token_dir %s: too many token files or out of memory; "
				  "%s ignored", auth.dir, de->d_name);
			continue;
		}
		if (!sc)
			log_info("control: token %s (%s) has no entry in control.tokens: scope read",
				 t->name, path);
	}
	closedir(d);
}

static void free_all(void)
{
	size_t i;

	for (i = 0; i < auth.n; i++) {
		OPENSSL_cleanse(auth.t[i].cur, sizeof(auth.t[i].cur));
		OPENSSL_cleanse(auth.t[i].old, sizeof(auth.t[i].old));
		free(auth.t[i].path);
		free(auth.t[i].pools);
	}
	for (i = 0; i < auth.nscopes; i++) {
		free(auth.scopes[i].name);
		free(auth.scopes[i].pools);
	}
	free(auth.t);
	free(auth.scopes);
	free(auth.dir);
	memset(&auth, 0, sizeof(auth));
}

/* Carries rotations in progress from the running set old over to the new one (a reload
 * must not cut an overlap short), by file path. */
static void carry_overlaps(const struct token *old, size_t nold, double now)
{
	size_t i, j;

	for (i = 0; i < auth.n; i++) {
		struct token *t = &auth.t[i];

		for (j = 0; j < nold; j++) {
			const struct token *o = &old[j];

			if (strcmp(o->path, t->path))
				continue;
			if (o->has_cur && (!t->has_cur || CRYPTO_memcmp(o->cur, t->cur, 32))) {
				memcpy(t->old, o->cur, 32);
				t->has_old = 1;
				t->old_until = now + auth.overlap;
			} else if (o->has_old && o->old_until > now) {
				memcpy(t->old, o->old, 32);
				t->has_old = 1;
				t->old_until = o->old_until;
			}
		}
	}
}

/* Builds the token set of cc into auth (which must be empty). 0, or -1 with err. */
static int build(const struct config *cfg, uid_t uid, double now, char *err, size_t errlen)
{
	const struct cfg_control *cc = &cfg->control;
	int failed = 0;
	size_t i;

	auth.uid = uid;
	auth.overlap = cc->token_overlap_s;
	auth.required = cc->token_file || cc->token_dir;
	if (cc->ntokens && !(auth.scopes = calloc(cc->ntokens, sizeof(*auth.scopes))))
		goto oom;
	for (i = 0; i < cc->ntokens; i++) {
		struct cfg_token *sc = &auth.scopes[auth.nscopes++];

		sc->name = strdup(cc->tokens[i].name);
		sc->scope = cc->tokens[i].scope;
		sc->pools = cc->tokens[i].pools ? strdup(cc->tokens[i].pools) : NULL;
		if (!sc->name || (cc->tokens[i].pools && !sc->pools))
			goto oom;
	}
	if (cc->token_file && !token_add("token_file", cc->token_file, TOKEN_SCOPE_ADMIN, NULL))
		goto oom;
	if (cc->token_dir) {
		if (!(auth.dir = strdup(cc->token_dir)))
			goto oom;
		scan_dir(1, err, errlen, &failed);
	}
	for (i = 0; !failed && i < auth.n; i++)
		token_refresh(&auth.t[i], now, 1, err, errlen, &failed);
	if (!failed && cc->token_file) {
		struct stat st;

		if (stat(cc->token_file, &st) == 0 && (st.st_mode & 077))
			log_warn("control.token_file %s can be read by other users (mode %03o); "
				 "chmod 600 it", cc->token_file, (unsigned)(st.st_mode & 0777));
	}
	return failed ? -1 : 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int ctl_auth_load(const struct config *cfg, double now, char *err, size_t errlen)
{
	uid_t uid = fs_run_uid(cfg->user);
	__typeof__(auth) old = auth, fresh;

	if (uid == (uid_t)-1) {
		snprintf(err, errlen, "user %s does not exist", cfg->user);
		return -1;
	}
	/* the new set is built aside: the running one stays whole if it fails */
	memset(&auth, 0, sizeof(auth));
	if (build(cfg, uid, now, err, errlen) == -1) {
		free_all();
		auth = old;
		return -1;
	}
	carry_overlaps(old.t, old.n, now);
	fresh = auth;
	auth = old;
	free_all();
	auth = fresh;
	return 0;
}

int ctl_auth_required(void)
{
	return auth.required;
}

void ctl_auth_clear(void)
{
	free_all();
}

void ctl_auth_refresh(double now)
{
	int failed = 0;
	size_t i;

	if (auth.dir)
		scan_dir(0, NULL, 0, &failed);
	for (i = 0; i < auth.n; i++)
		token_refresh(&auth.t[i], now, 0, NULL, 0, &failed);
}

int ctl_auth_identify(const char *value, size_t len, double now, struct ctl_principal *p)
{
	unsigned char d[32];
	struct token *hit = NULL;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (!auth.required) {
		snprintf(p->name, sizeof(p->name), "-");
		p->scope = TOKEN_SCOPE_ADMIN;
		return 1;
	}
	if (!value || len < 7 || strncasecmp(value, "Bearer ", 7))
		return 0;
	value += 7;
	len -= 7;
	while (len > 0 && *value == ' ') {
		value++;
		len--;
	}
	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	digest(value, len, d);
	/* every token is compared, whichever matches: the time does not tell which */
	for (i = 0; i < auth.n; i++) {
		struct token *t = &auth.t[i];
		int cur = t->has_cur && CRYPTO_memcmp(d, t->cur, sizeof(d)) == 0;
		int old = t->has_old && t->old_until > now && CRYPTO_memcmp(d, t->old, sizeof(d)) == 0;

		if ((cur || old) && !hit)
			hit = t;
	}
	OPENSSL_cleanse(d, sizeof(d));
	if (!hit)
		return 0;
	snprintf(p->name, sizeof(p->name), "%s", hit->name);
	p->scope = hit->scope;
	p->pools = hit->pools;
	return 1;
}
