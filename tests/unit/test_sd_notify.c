/* test_sd_notify.c: unit tests of util/sd_notify.c: no NOTIFY_SOCKET is a quiet no-op;
 * a path socket and an abstract ('@') socket each get the message as one datagram; a
 * socket nobody holds fails without blocking; WATCHDOG_USEC counts only for the process
 * WATCHDOG_PID names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sd_notify.h"

/* Binds a datagram socket at name ('@' = abstract) and points NOTIFY_SOCKET at it. */
static int listen_at(const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	memcpy(a.sun_path, name, len);
	if (name[0] == '@')
		a.sun_path[0] = '\0';
	else
		unlink(name);
	assert_int_equal(bind(fd, (struct sockaddr *)&a,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	return fd;
}

static void expect_datagram(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_unset(void **state)
{
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sd_notify_send("READY=1"), 0);
	assert_int_equal(sd_notify_enabled(), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(sd_notify_send("READY=1"), 0);
}

static void test_path_socket(void **state)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_sd_notify.%d", (int)getpid());
	fd = listen_at(path);
	assert_int_equal(sd_notify_enabled(), 1);
	assert_int_equal(sd_notify_send("READY=1\nSTATUS=generation 1"), 1);
	expect_datagram(fd, "READY=1\nSTATUS=generation 1");
	assert_int_equal(sd_notify_sendf("RELOADING=1\nMONOTONIC_USEC=%d", 42), 1);
	expect_datagram(fd, "RELOADING=1\nMONOTONIC_USEC=42");
	close(fd);
	unlink(path);
	/* nobody holds it any more: an error, at once */
	assert_int_equal(sd_notify_send("WATCHDOG=1"), -1);
}

static void test_abstract_socket(void **state)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@test_sd_notify.%d", (int)getpid());
	fd = listen_at(name);
	assert_int_equal(sd_notify_send("STOPPING=1"), 1);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_not_a_socket_address(void **state)
{
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(sd_notify_send("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog(void **state)
{
	char pid[32];

	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	assert_int_equal(sd_notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "500000", 1);
	assert_int_equal(sd_notify_watchdog_usec(), 500000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(sd_notify_watchdog_usec(), 500000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(sd_notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "5s", 1);
	assert_int_equal(sd_notify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "0", 1);
	assert_int_equal(sd_notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unset),
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_not_a_socket_address),
		cmocka_unit_test(test_watchdog),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
