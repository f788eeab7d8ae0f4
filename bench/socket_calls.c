/* socket_calls.c: what one proxy hop costs in the kernel with each flavour of system
 * call, on loopback TCP with TCP_NODELAY like the proxy's sockets. A 70-byte message
 * goes A -> P1, and the "proxy" moves it P1 -> P2 (then B drains it, outside the
 * measurement) with read+write, recv+send, writev / sendmsg of two pieces, or splice(2)
 * through a pipe. Thread CPU time around the two calls (two clock reads included, the
 * same for every flavour); the flavours take turns message by message, 40 rounds of
 * 10,000 messages each; the median and minimum of the rounds' means. Loopback only.
 *
 *     cc -O2 -o /tmp/socket_calls bench/socket_calls.c && taskset -c 0 /tmp/socket_calls
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 40
#define MESSAGES 10000
#define MSG_LEN 70

enum flavour { READ_WRITE, RECV_SEND, READ_WRITEV, RECV_SENDMSG, SPLICE_PIPE, NFLAVOURS };

static const char *const names[NFLAVOURS] = {
	"read + write", "recv + send", "read + writev (2 pieces)", "recv + sendmsg (2 pieces)",
	"splice x2 through a pipe",
};

static double cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static void connected_pair(int l, const struct sockaddr_in *a, int *x, int *y)
{
	int one = 1;

	*x = socket(AF_INET, SOCK_STREAM, 0);
	if (*x == -1 || connect(*x, (const struct sockaddr *)a, sizeof(*a)) == -1 ||
	    (*y = accept(l, NULL, NULL)) == -1) {
		perror("loopback connection");
		exit(1);
	}
	setsockopt(*x, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*y, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* One hop P1 -> P2 of what is waiting on P1. */
static void hop(enum flavour f, int p1, int p2, const int pipefd[2], char *buf, size_t cap)
{
	struct iovec iov[2];
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	switch (f) {
	case READ_WRITE:
		n = read(p1, buf, cap);
		n = write(p2, buf, (size_t)n);
		break;
	case RECV_SEND:
		n = recv(p1, buf, cap, 0);
		n = send(p2, buf, (size_t)n, MSG_NOSIGNAL);
		break;
	case READ_WRITEV:
	case RECV_SENDMSG:
		n = f == READ_WRITEV ? read(p1, buf, cap) : recv(p1, buf, cap, 0);
		iov[0] = (struct iovec){ buf, (size_t)n / 2 };
		iov[1] = (struct iovec){ buf + n / 2, (size_t)n - (size_t)n / 2 };
		n = f == READ_WRITEV ? writev(p2, iov, 2) : sendmsg(p2, &m, MSG_NOSIGNAL);
		break;
	default:
		n = splice(p1, NULL, pipefd[1], NULL, cap, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		n = splice(pipefd[0], NULL, p2, NULL, (size_t)n, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		break;
	}
	if (n != MSG_LEN) {
		fprintf(stderr, "%s moved %zd bytes, not %d\n", names[f], n, MSG_LEN);
		exit(1);
	}
}

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	static char msg[MSG_LEN], buf[16384];
	static double per_round[NFLAVOURS][ROUNDS];
	int l, sa, p1, p2, sb, pipefd[2], r, i, f;

	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l == -1 || bind(l, (struct sockaddr *)&a, sizeof(a)) == -1 || listen(l, 4) == -1 ||
	    getsockname(l, (struct sockaddr *)&a, &alen) == -1 || pipe(pipefd) == -1) {
		perror("setup");
		return 1;
	}
	connected_pair(l, &a, &sa, &p1);
	connected_pair(l, &a, &p2, &sb);
	for (r = 0; r < ROUNDS; r++) {
		double spent[NFLAVOURS] = { 0 }, t0;

		/* the flavours take turns message by message, so a disturbance of the
		 * machine falls on all of them alike */
		for (i = 0; i < MESSAGES; i++) {
			for (f = 0; f < NFLAVOURS; f++) {
				if (write(sa, msg, sizeof(msg)) != sizeof(msg))
					return 1;
				t0 = cpu_now();
				hop((enum flavour)f, p1, p2, pipefd, buf, sizeof(buf));
				spent[f] += cpu_now() - t0;
				if (read(sb, buf, sizeof(buf)) != sizeof(msg))
					return 1;
			}
		}
		for (f = 0; f < NFLAVOURS; f++)
			per_round[f][r] = spent[f] / MESSAGES;
	}
	for (f = 0; f < NFLAVOURS; f++) {
		qsort(per_round[f], ROUNDS, sizeof(double), cmp_double);
		printf("%-28s median %5.0f ns, min %5.0f ns per hop\n", names[f],
		       per_round[f][ROUNDS / 2] * 1e9, per_round[f][0] * 1e9);
	}
	return 0;
}
