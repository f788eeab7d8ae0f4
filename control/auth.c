/* auth.c: the control API's bearer token: read from control.token_file, checked against
 * each request's Authorization header in constant time. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ctl_http.h"
#include "log.h"

#define TOKEN_MAX 4096

/* Only a digest of the token is kept: comparing digests of equal length with
 * CRYPTO_memcmp takes the same time whatever the candidate's length or content. */
static unsigned char token_digest[32];
static int token_set;

static void digest(const void *buf, size_t len, unsigned char out[32]);

static void digest(const void *buf, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL);
}

int ctl_auth_load(const char *path, char *err, size_t errlen)
{
	char buf[TOKEN_MAX + 1];
	size_t len = 0, start = 0;
	struct stat st;
	ssize_t r;
	int fd;

	if (!path) {
		ctl_auth_clear();
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "cannot open control.token_file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		log_warn("control.token_file %s can be read by other users (mode %03o); chmod 600 it",
			 path, (unsigned)(st.st_mode & 0777));
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
		snprintf(err, errlen, "control.token_file %s: token longer than %d bytes", path,
			 TOKEN_MAX);
		goto fail;
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	while (start < len && isspace((unsigned char)buf[start]))
		start++;
	if (start == len) {
		snprintf(err, errlen, "control.token_file %s holds no token", path);
		goto fail;
	}
	digest(buf + start, len - start, token_digest);
	token_set = 1;
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
fail:
	OPENSSL_cleanse(buf, sizeof(buf));
	return -1;
}

int ctl_auth_required(void)
{
	return token_set;
}

void ctl_auth_clear(void)
{
	OPENSSL_cleanse(token_digest, sizeof(token_digest));
	token_set = 0;
}

int ctl_auth_check(const char *value, size_t len)
{
	unsigned char d[32];

	if (!token_set)
		return 1;
	if (!value || len < 7 || strncasecmp(value, "Bearer ", 7))
		return 0;
	value += 7;
	len -= 7;
	while (len > 0 && *value == ' ') {
		value++;
		len--;
	}
	digest(value, len, d);
	return CRYPTO_memcmp(d, token_digest, sizeof(d)) == 0;
}
