"""idle_conns.py HOST PORT COUNT [--tls | --h2]: opens COUNT keep-alive connections to
HOST:PORT, sends one GET / on each and reads its response (so every connection has been
through a full request and is now an idle keep-alive connection, as a browser leaves it),
prints "ready N" and then holds them until stdin closes or a line arrives. With --tls each
connection does a full handshake (no session is offered for resumption). With --h2 the
same over TLS with ALPN h2 (refused if the server picks anything else): the connection
preface and an empty SETTINGS, the server's SETTINGS acknowledged and ours acknowledged
by it, one GET / as stream 1 (HEADERS with END_STREAM) read to its END_STREAM; PINGs
are answered while waiting. No HTTP/2 library: the few frames are built and read here.

Used by bench/run.sh (plain, --tls) and bench/h2.sh (--h2) to measure a proxy's resident
memory per idle connection. Raises its own open-file limit to the hard limit and stops
with an error if COUNT does not fit.
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


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_DATA, H2_HEADERS, H2_RST_STREAM, H2_SETTINGS, H2_PING, H2_GOAWAY = 0, 1, 3, 4, 6, 7
H2_ACK = H2_END_STREAM = 0x1
H2_END_HEADERS, H2_PADDED, H2_PRIORITY = 0x4, 0x8, 0x20


def h2_frame(ftype, flags, stream, payload=b""):
    """One HTTP/2 frame: the 9-byte header (length, type, flags, stream id) and payload."""
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + stream.to_bytes(4, "big") + payload


def h2_request(authority):
    """GET / on stream 1 as one HEADERS frame (END_STREAM, END_HEADERS): HPACK static-table
    entries for :method GET (2), :scheme https (7), :path / (4), and :authority as a
    literal without indexing whose name is static entry 1."""
    block = bytes([0x82, 0x87, 0x84, 0x01, len(authority)]) + authority
    return h2_frame(H2_HEADERS, H2_END_STREAM | H2_END_HEADERS, 1, block)


def h2_exchange(s, authority=b"bench.test"):
    """Preface, SETTINGS both ways, one GET / on stream 1; returns its status (200 when the
    response's first header field is the static entry :status 200, else 0)."""
    s.sendall(H2_PREFACE + h2_frame(H2_SETTINGS, 0, 0) + h2_request(authority))
    buf = b""
    peer_settings = settings_acked = done = False
    status = 0
    while not (peer_settings and settings_acked and done):
        while len(buf) < 9:
            chunk = s.recv(16384)
            if not chunk:
                raise OSError("h2: connection closed before the exchange finished")
            buf += chunk
        length = int.from_bytes(buf[0:3], "big")
        ftype, flags, stream = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
        while len(buf) < 9 + length:
            chunk = s.recv(16384)
            if not chunk:
                raise OSError("h2: connection closed inside a frame")
            buf += chunk
        payload, buf = buf[9:9 + length], buf[9 + length:]
        if ftype == H2_SETTINGS:
            if flags & H2_ACK:
                settings_acked = True
            else:
                peer_settings = True
                s.sendall(h2_frame(H2_SETTINGS, H2_ACK, 0))
        elif ftype == H2_PING and not flags & H2_ACK:
            s.sendall(h2_frame(H2_PING, H2_ACK, 0, payload))
        elif ftype in (H2_GOAWAY, H2_RST_STREAM):
            raise OSError("h2: %s %r" % ("GOAWAY" if ftype == H2_GOAWAY else "RST_STREAM", payload))
        elif ftype in (H2_HEADERS, H2_DATA) and stream == 1:
            if ftype == H2_HEADERS and not status:
                skip = (1 if flags & H2_PADDED else 0) + (5 if flags & H2_PRIORITY else 0)
                status = 200 if payload[skip:skip + 1] == b"\x88" else 0
            done = done or bool(flags & H2_END_STREAM)
    return status


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: idle_conns.py HOST PORT COUNT [--tls | --h2]")
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    use_h2 = "--h2" in sys.argv[4:]
    use_tls = use_h2 or "--tls" in sys.argv[4:]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count + 64:
        sys.exit("idle_conns: the open-file hard limit %d is below %d connections" % (hard, count))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = None
    if use_tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if use_h2:
            ctx.set_alpn_protocols(["h2"])
    request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    conns = []
    deadline = time.monotonic() + 300
    for i in range(count):
        if time.monotonic() > deadline:
            sys.exit("idle_conns: only %d of %d connections within 300 s" % (i, count))
        s = socket.create_connection((host, port), timeout=10)
        if ctx:
            s = ctx.wrap_socket(s, server_hostname="bench.test")
        if use_h2:
            if s.selected_alpn_protocol() != "h2":
                sys.exit("idle_conns: connection %d: ALPN chose %r, not h2" % (i, s.selected_alpn_protocol()))
            status = h2_exchange(s)
        else:
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
