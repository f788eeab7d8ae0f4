/* sd_notify.c: readiness, reload and watchdog datagrams to the service manager over
 * $NOTIFY_SOCKET, as systemd documents the protocol (sd_notify(3)); no libsystemd. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sd_notify.h"

static int notify_open(void);
static void notify_warn_once(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct {
	char env[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];  /* NOTIFY_SOCKET as last seen */
	struct sockaddr_un addr;
	socklen_t addrlen;       /* 0 = no usable socket named */
	int fd;                  /* -1 until the first message */
	int warned;              /* an error was logged: later ones are not */
} sdn = { .fd = -1 };

/* Logs one warning for the process's lifetime: a service manager that cannot be
 * reached once is unlikely to become reachable, and the log must not fill up with it. */
static void notify_warn_once(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (sdn.warned)
		return;
	sdn.warned = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("sd_notify: %s (further notification errors are not logged)", msg);
}

/* Reads NOTIFY_SOCKET again when it changed since the last call (it does not, in a
 * service; tests set it more than once) and opens the datagram socket on first use.
 * Returns 1 usable, 0 not set (or a form this code does not speak), -1 error. */
static int notify_open(void)
{
	const char *env = getenv("NOTIFY_SOCKET");
	size_t len;

	if (!env || !*env) {
		sdn.env[0] = '\0';
		sdn.addrlen = 0;
		return 0;
	}
	if (strcmp(env, sdn.env) != 0) {
		len = strlen(env);
		sdn.addrlen = 0;
		snprintf(sdn.env, sizeof(sdn.env), "%s", env);
		if (len >= sizeof(sdn.env)) {
			notify_warn_once("NOTIFY_SOCKET is longer than a unix socket path can be");
			return -1;
		}
		if (env[0] != '/' && env[0] != '@') {
			/* vsock: and other forms of newer systemd versions */
			notify_warn_once("NOTIFY_SOCKET=%s is neither a path nor an abstract socket", env);
			return 0;
		}
		/* a path needs room for its NUL; an abstract name is counted, not terminated */
		if (len < 2 || len + (env[0] == '/') > sizeof(sdn.addr.sun_path)) {
			notify_warn_once("NOTIFY_SOCKET=%s is not a usable socket address", env);
			return -1;
		}
		memset(&sdn.addr, 0, sizeof(sdn.addr));
		sdn.addr.sun_family = AF_UNIX;
		memcpy(sdn.addr.sun_path, env, len);
		if (env[0] == '@')
			sdn.addr.sun_path[0] = '\0';  /* abstract: the name is exactly len bytes */
		sdn.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
					  (env[0] == '/' ? 1 : 0));
	}
	if (!sdn.addrlen)
		return -1;
	if (sdn.fd == -1) {
		sdn.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (sdn.fd == -1) {
			notify_warn_once("socket: %s", strerror(errno));
			return -1;
		}
	}
	return 1;
}

int sd_notify_send(const char *msg)
{
	int st = notify_open();

	if (st <= 0)
		return st;
	/* non-blocking: a service manager that does not read must not stall the loop */
	if (sendto(sdn.fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&sdn.addr,
		   sdn.addrlen) == -1) {
		notify_warn_once("cannot send to NOTIFY_SOCKET %s: %s", sdn.env, strerror(errno));
		return -1;
	}
	return 1;
}

int sd_notify_sendf(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sd_notify_send(msg);
}

int sd_notify_enabled(void)
{
	return notify_open() == 1;
}

uint64_t sd_notify_watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (!usec || !*usec)
		return 0;
	if (pid && *pid) {
		errno = 0;
		v = strtoull(pid, &end, 10);
		if (errno || *end || v != (unsigned long long)getpid())
			return 0;  /* meant for another process */
	}
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || *end || v == 0)
		return 0;
	return (uint64_t)v;
}
