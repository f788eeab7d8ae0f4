/* log.c: the error log on stderr and the access log file descriptor.
 * Each line is formatted into a local buffer and written with one write(2). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static atomic_int current_level = LOG_INFO;
static atomic_ullong current_generation;
static atomic_int access_fd = -1;         /* -1 = access log off */
static char access_path[4096];             /* empty for stdout/stderr/off */
static pthread_mutex_t access_lock = PTHREAD_MUTEX_INITIALIZER;  /* open/reopen only */

void log_set_level(enum log_level level) { atomic_store(&current_level, level); }
enum log_level log_get_level(void) { return atomic_load_explicit(&current_level, memory_order_relaxed); }
void log_set_generation(uint64_t gen) { atomic_store(&current_generation, gen); }

static void vlog(enum log_level level, const char *conn, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* A message may quote what a peer sent (a PROXY header, a name, a reason): a control
 * character in it would start a forged line or hide a field, so each becomes '?'. */
static void neutralize_controls(char *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = '?';
}

static void vlog(enum log_level level, const char *conn, const char *fmt, va_list ap)
{
	char line[2048];
	long long ms = clock_wall_ms();
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	int n, m;

	gmtime_r(&secs, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s gen=%llu %s",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, (int)(ms % 1000), level_names[level],
		     (unsigned long long)atomic_load(&current_generation), conn);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;  /* truncated message: keep the newline */
	neutralize_controls(line, n);
	line[n++] = '\n';
	/* stderr is unbuffered in effect; one write keeps lines from threads whole */
	if (write(STDERR_FILENO, line, n) == -1)
		return;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level < log_get_level())
		return;
	va_start(ap, fmt);
	vlog(level, "", fmt, ap);
	va_end(ap);
}

void log_conn_msg(enum log_level level, int worker, uint32_t conn, const char *fmt, ...)
{
	char id[40];
	va_list ap;

	if (level < log_get_level())
		return;
	snprintf(id, sizeof(id), "conn=%d.%u ", worker, conn);
	va_start(ap, fmt);
	vlog(level, id, fmt, ap);
	va_end(ap);
}

static int open_dest(const char *dest)
{
	if (!strcmp(dest, "off"))
		return -1;
	if (!strcmp(dest, "stdout"))
		return dup(STDOUT_FILENO);
	if (!strcmp(dest, "stderr"))
		return dup(STDERR_FILENO);
	return open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int access_log_open(const char *dest)
{
	int fd, old;

	if (!dest || !strcmp(dest, "off")) {
		pthread_mutex_lock(&access_lock);
		old = atomic_exchange(&access_fd, -1);
		access_path[0] = '\0';
		pthread_mutex_unlock(&access_lock);
		/* a worker may be mid-write on old; leaking one fd beats a use-after-close */
		(void)old;
		return 0;
	}
	fd = open_dest(dest);
	if (fd == -1)
		return -1;
	pthread_mutex_lock(&access_lock);
	old = atomic_load(&access_fd);
	if (old == -1) {
		atomic_store(&access_fd, fd);
	} else {
		/* dup2 swaps the file under the same number, so writers never see a gap */
		if (dup2(fd, old) == -1) {
			int e = errno;
			pthread_mutex_unlock(&access_lock);
			close(fd);
			errno = e;
			return -1;
		}
		close(fd);
	}
	if (strcmp(dest, "stdout") && strcmp(dest, "stderr"))
		snprintf(access_path, sizeof(access_path), "%s", dest);
	else
		access_path[0] = '\0';
	pthread_mutex_unlock(&access_lock);
	return 0;
}

int access_log_reopen(void)
{
	char path[sizeof(access_path)];

	pthread_mutex_lock(&access_lock);
	snprintf(path, sizeof(path), "%s", access_path);
	pthread_mutex_unlock(&access_lock);
	if (!path[0])
		return 0;
	return access_log_open(path);
}

int access_log_enabled(void)
{
	return atomic_load_explicit(&access_fd, memory_order_relaxed) != -1;
}

void access_log_write(const char *line, size_t len)
{
	int fd = atomic_load_explicit(&access_fd, memory_order_relaxed);
	ssize_t n;

	while (fd != -1 && len > 0) {
		n = write(fd, line, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;  /* a full disk must not stop proxying */
		}
		line += n;
		len -= (size_t)n;
	}
}
