/* store.c: the generations directory in state_dir: each applied config written as a
 * numbered, hashed file (loadable with fulcrum -t -c), listed, read back, pruned. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "array.h"
#include "config.h"
#include "ctl_store.h"
#include "log.h"

static char *file_path(const struct ctl_store *s, uint64_t id);
static int parse_header(const char *text, struct ctl_gen_meta *meta);
static int id_of_name(const char *name, uint64_t *id);
static int cmp_meta(const void *a, const void *b);
static void prune(struct ctl_store *s, uint64_t keep_id, double now);

char *ctl_render(const struct config *cfg, int style)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (config_render(cfg, f, (enum config_render_style)style) == -1) {
		fclose(f);
		free(buf);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void ctl_sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

/* Generation files are named by a zero-padded id so that ls lists them in order. */
static char *file_path(const struct ctl_store *s, uint64_t id)
{
	char *p;

	if (asprintf(&p, "%s/%08" PRIu64 ".cfg", s->dir, id) == -1)
		return NULL;
	return p;
}

static int id_of_name(const char *name, uint64_t *id)
{
	char *end;
	unsigned long long v;

	if (name[0] < '0' || name[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(name, &end, 10);
	if (errno || strcmp(end, ".cfg") || v == 0)
		return -1;
	*id = v;
	return 0;
}

int ctl_store_open(struct ctl_store *s, const char *state_dir, uint32_t keep, char *err,
		   size_t errlen)
{
	struct dirent *de;
	DIR *d;

	memset(s, 0, sizeof(*s));
	s->keep = keep ? keep : 1;
	if (asprintf(&s->dir, "%s/generations", state_dir) == -1) {
		s->dir = NULL;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (mkdir(s->dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", s->dir, strerror(errno));
		goto fail;
	}
	d = opendir(s->dir);
	if (!d) {
		snprintf(err, errlen, "cannot read %s: %s", s->dir, strerror(errno));
		goto fail;
	}
	while ((de = readdir(d)) != NULL) {
		uint64_t id;

		if (id_of_name(de->d_name, &id) == 0 && id > s->max_id)
			s->max_id = id;
	}
	closedir(d);
	return 0;
fail:
	free(s->dir);
	s->dir = NULL;
	return -1;
}

void ctl_store_close(struct ctl_store *s)
{
	free(s->dir);
	s->dir = NULL;
}

int ctl_store_save(struct ctl_store *s, const struct config *cfg, struct ctl_gen_meta *meta,
		   char *err, size_t errlen)
{
	char *text = NULL, *path = NULL, *tmp = NULL, when[32];
	struct tm tm;
	time_t t = (time_t)meta->time;
	FILE *f = NULL;
	int rc = -1;
	size_t i;

	if (!s->dir) {
		snprintf(err, errlen, "generations are not kept (state_dir unusable)");
		return -1;
	}
	text = ctl_render(cfg, 0);
	path = file_path(s, meta->id);
	if (!text || !path || asprintf(&tmp, "%s.tmp", path) == -1) {
		tmp = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ctl_sha256_hex(text, strlen(text), meta->sha256);
	/* the source is one header line: no line breaks in it */
	for (i = 0; meta->source[i]; i++)
		if (meta->source[i] == '\n' || meta->source[i] == '\r')
			meta->source[i] = ' ';
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	f = fopen(tmp, "we");
	if (!f) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fprintf(f, "# fulcrum generation %" PRIu64 "\n# time %.3f %s\n# source %s\n# sha256 %s\n%s",
		meta->id, meta->time, when, meta->source, meta->sha256, text);
	if (fflush(f) != 0 || fsync(fileno(f)) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (meta->id > s->max_id)
		s->max_id = meta->id;
	prune(s, meta->id, meta->time);
	rc = 0;
out:
	if (f) {
		fclose(f);
		unlink(tmp);
	}
	free(text);
	free(path);
	free(tmp);
	return rc;
}

int ctl_store_is_file_source(const char *source)
{
	return !strncmp(source, "start: ", 7) || strstr(source, "reload of ") != NULL;
}

/* Removes the oldest files beyond keep, and those older than keep_days (seen from now,
 * the time of the generation just saved). Never removed: keep_id (the one just saved)
 * and the newest generation read from the file, the operator's last rollback target
 * even after many rollbacks. */
static void prune(struct ctl_store *s, uint64_t keep_id, double now)
{
	struct ctl_gen_meta *list = NULL;
	ssize_t n = ctl_store_list(s, &list), i, left = n;
	uint64_t newest_file = 0;

	for (i = 0; i < n; i++)
		if (ctl_store_is_file_source(list[i].source))
			newest_file = list[i].id;
	for (i = 0; i < n; i++) {
		int too_many = left > (ssize_t)s->keep;
		int too_old = s->keep_days && now - list[i].time > s->keep_days * 86400.0;
		char *p;

		if (list[i].id == keep_id || list[i].id == newest_file || (!too_many && !too_old))
			continue;
		p = file_path(s, list[i].id);
		if (p && unlink(p) == -1 && errno != ENOENT)
			log_warn("cannot remove old generation %s: %s", p, strerror(errno));
		else
			left--;
		free(p);
	}
	free(list);
}

/* Reads the four header lines; 0 when they are all there. */
static int parse_header(const char *text, struct ctl_gen_meta *meta)
{
	unsigned long long id;
	const char *p = text, *nl;
	char src[CTL_SOURCE_MAX];
	double t;

	memset(meta, 0, sizeof(*meta));
	if (sscanf(p, "# fulcrum generation %llu", &id) != 1)
		return -1;
	meta->id = id;
	if (!(nl = strchr(p, '\n')) || sscanf(p = nl + 1, "# time %lf", &t) != 1)
		return -1;
	meta->time = t;
	if (!(nl = strchr(p, '\n')) || strncmp(p = nl + 1, "# source ", 9))
		return -1;
	nl = strchr(p, '\n');
	if (!nl)
		return -1;
	snprintf(src, sizeof(src), "%.*s", (int)(nl - p - 9), p + 9);
	memcpy(meta->source, src, sizeof(src));
	p = nl + 1;
	if (sscanf(p, "# sha256 %64[0-9a-f]", meta->sha256) != 1)
		return -1;
	return 0;
}

static int cmp_meta(const void *a, const void *b)
{
	const struct ctl_gen_meta *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

ssize_t ctl_store_list(const struct ctl_store *s, struct ctl_gen_meta **out)
{
	struct ctl_gen_meta *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	if (!s->dir || !(d = opendir(s->dir)))
		return s->dir ? -1 : 0;
	while ((de = readdir(d)) != NULL) {
		char *path, head[1024];
		uint64_t id;
		FILE *f;
		size_t got;

		if (id_of_name(de->d_name, &id) == -1)
			continue;
		path = file_path(s, id);
		f = path ? fopen(path, "re") : NULL;
		free(path);
		if (!f)
			continue;
		got = fread(head, 1, sizeof(head) - 1, f);
		fclose(f);
		head[got] = '\0';
		if (ARRAY_GROW(&list, &cap, n + 1, 32) == -1) {
			free(list);
			closedir(d);
			return -1;
		}
		/* a file without its header (edited by hand) is still listed, by id */
		if (parse_header(head, &list[n]) == -1 || list[n].id != id) {
			memset(&list[n], 0, sizeof(list[n]));
			list[n].id = id;
			snprintf(list[n].source, sizeof(list[n].source), "(no header)");
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(list, n, sizeof(*list), cmp_meta);
	*out = list;
	return (ssize_t)n;
}

char *ctl_store_read(const struct ctl_store *s, uint64_t id, struct ctl_gen_meta *meta)
{
	char *path, *buf = NULL;
	struct stat st;
	FILE *f;

	if (!s->dir) {
		errno = ENOENT;
		return NULL;
	}
	path = file_path(s, id);
	if (!path)
		return NULL;
	f = fopen(path, "re");
	free(path);
	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) == -1 || st.st_size > 64 * 1024 * 1024)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[st.st_size] = '\0';
	if (parse_header(buf, meta) == -1) {
		memset(meta, 0, sizeof(*meta));
		meta->id = id;
	}
out:
	fclose(f);
	if (!buf && errno == 0)
		errno = EIO;
	return buf;
}
