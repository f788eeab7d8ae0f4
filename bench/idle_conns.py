"""idle_conns.py HOST PORT COUNT [--tls]: opens COUNT keep-alive connections to HOST:PORT,
sends one GET / on each and reads its response (so every connection has been through a
full request and is now an idle keep-alive connection, as a browser leaves it), prints
"ready N" and then holds them until stdin closes or a line arrives. With --tls each
connection does a full handshake (no session is offered for resumption).

Used by bench/run.sh to measure a proxy's resident memory per idle connection. Raises
its own open-file limit to the hard limit and stops with an error if COUNT does not fit.
Bounded: every socket operation has a 10 s timeout; the whole run has a 300 s budget."""
import resource
import socket
import ssl
import sys
import time


def read_response(s):
    """Reads one HTTP/1.1 response with a Content-Length body; returns its status."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("connection closed before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("connection closed in the response body")
        body += chunk
    return status


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: idle_conns.py HOST PORT COUNT [--tls]")
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    use_tls = "--tls" in sys.argv[4:]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count + 64:
        sys.exit("idle_conns: the open-file hard limit %d is below %d connections" % (hard, count))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = None
    if use_tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    conns = []
    deadline = time.monotonic() + 300
    for i in range(count):
        if time.monotonic() > deadline:
            sys.exit("idle_conns: only %d of %d connections within 300 s" % (i, count))
        s = socket.create_connection((host, port), timeout=10)
        if ctx:
            s = ctx.wrap_socket(s, server_hostname="bench.test")
        s.sendall(request)
        status = read_response(s)
        if status != 200:
            sys.exit("idle_conns: connection %d got status %d" % (i, status))
        conns.append(s)
    print("ready %d" % len(conns), flush=True)
    sys.stdin.readline()
    for s in conns:
        s.close()


if __name__ == "__main__":
    main()
