"""tlsclient.py: TLS clients for the TLS end-to-end tests (Python's ssl module).
  tlsclient.py echo --port P --bytes N [--ca F] [--sni NAME] [--proxy-v1 SRC_IP]
      TLS to a tcp-mode listener in front of tcpecho.py: sends N random bytes while
      reading the echo; prints "sent=N recv=M match=1|0 version=V".
  tlsclient.py halfclose --port P --bytes N [--ca F] [--sni NAME]
      sends N random bytes, then close_notify + FIN (half-close), then reads the echo to
      its end (the server's close_notify); prints "sent=N recv=M match=1|0 clean=1|0".
  tlsclient.py get --port P --path PATH [--ca F] [--sni NAME] [--proxy-v1 SRC_IP]
      one HTTP/1.1 GET; prints the status line's code and the body. With --proxy-v1 a
      PROXY v1 header claiming SRC_IP goes out in the same segment as the ClientHello.
  tlsclient.py hold --port P --go FILE --out FILE [--ca F] [--sni NAME] [--path PATH]
      one keep-alive connection: a request, then "cert=<sha256> status=<code>" to OUT;
      waits (at most 60 s) until GO exists, sends a second request on the same
      connection and appends "again=<code> same_connection=1|0".
  tlsclient.py chain --port P --count N [--tls12] [--ca F] [--sni NAME]
      N connections in a row, each offering the session (newest ticket) of the one
      before, as browsers and curl do; prints "reused=K of N-1"."""
import argparse
import hashlib
import http.client
import os
import select
import socket
import ssl
import sys
import time


def context(a):
    if a.ca:
        ctx = ssl.create_default_context(cafile=a.ca)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def proxy_line(src, port):
    return ("PROXY TCP4 %s 127.0.0.1 40000 %d\r\n" % (src, port)).encode()


def handshake(a):
    """A connected, handshaken SSLObject over a raw socket, so that a PROXY header can
    share the first segment with the ClientHello."""
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context(a).wrap_bio(inc, out, server_hostname=a.sni)
    prefix = proxy_line(a.proxy_v1, a.port) if a.proxy_v1 else b""
    while True:
        try:
            obj.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            done = False
        data = out.read()
        if data or prefix:
            sock.sendall(prefix + data)
            prefix = b""
        if done:
            return sock, obj, inc, out
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed during the handshake")
        inc.write(chunk)


def bio_send(sock, obj, out, data):
    obj.write(data)
    sock.sendall(out.read())


def bio_recv_all(sock, obj, inc, out):
    """Reads until the server closes (Connection: close)."""
    buf = bytearray()
    while True:
        try:
            piece = obj.read(65536)
            if not piece:
                break
            buf += piece
            continue
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            break
        pending = out.read()
        if pending:
            sock.sendall(pending)
        chunk = sock.recv(65536)
        if not chunk:
            break
        inc.write(chunk)
    return bytes(buf)


def cmd_halfclose(a):
    sock, obj, inc, out = handshake(a)
    data = os.urandom(a.bytes)
    got = bytearray()
    sock.settimeout(a.timeout)
    # while sending, drain what comes back so neither side's buffers fill up
    for off in range(0, len(data), 16384):
        obj.write(data[off:off + 16384])
        sock.sendall(out.read())
        sock.setblocking(False)
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                inc.write(chunk)
        except BlockingIOError:
            pass
        sock.settimeout(a.timeout)
        try:
            while True:
                got += obj.read(65536)
        except ssl.SSLWantReadError:
            pass
    try:
        obj.unwrap()  # sends our close_notify; the peer's has not come yet
    except ssl.SSLWantReadError:
        pass
    sock.sendall(out.read())
    sock.shutdown(socket.SHUT_WR)
    clean = 0
    while True:
        try:
            piece = obj.read(65536)
            if not piece:
                clean = 1
                break
            got += piece
            continue
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            clean = 1
            break
        chunk = sock.recv(65536)
        if not chunk:
            break
        inc.write(chunk)
    sock.close()
    match = int(hashlib.sha256(data).digest() == hashlib.sha256(bytes(got)).digest())
    print("sent=%d recv=%d match=%d clean=%d" % (len(data), len(got), match, clean))
    return 0 if match else 1


def cmd_get(a):
    sock, obj, inc, out = handshake(a)
    req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (a.path, a.sni or "x")
    bio_send(sock, obj, out, req.encode())
    resp = bio_recv_all(sock, obj, inc, out)
    sock.close()
    head, _, body = resp.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/1.") else "000"
    sys.stdout.write("%s %s" % (status, body.decode(errors="replace")))
    return 0


def cmd_echo(a):
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    if a.proxy_v1:
        sock.sendall(proxy_line(a.proxy_v1, a.port))
    s = context(a).wrap_socket(sock, server_hostname=a.sni)
    s.setblocking(False)
    data = os.urandom(a.bytes)
    sent, got = 0, bytearray()
    deadline = time.monotonic() + a.timeout
    while len(got) < a.bytes and time.monotonic() < deadline:
        r, w, _ = select.select([s], [s] if sent < a.bytes else [], [], 0.5)
        if w and sent < a.bytes:
            try:
                sent += s.send(data[sent:sent + 16384])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
        if r or s.pending():
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        deadline = 0
                        break
                    got += chunk
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
    version = s.version()
    s.close()
    match = int(hashlib.sha256(data).digest() == hashlib.sha256(bytes(got)).digest())
    print("sent=%d recv=%d match=%d version=%s" % (sent, len(got), match, version))
    return 0 if match else 1


def cmd_hold(a):
    conn = http.client.HTTPSConnection("127.0.0.1", a.port, timeout=a.timeout, context=context(a))
    if a.sni:
        conn.host = a.sni  # the name sent as SNI and Host
        conn._create_connection = lambda addr, timeout=None, source_address=None: \
            socket.create_connection(("127.0.0.1", a.port), timeout)
    conn.request("GET", a.path)
    r = conn.getresponse()
    r.read()
    sock = conn.sock
    cert = hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()
    with open(a.out, "w") as f:
        f.write("cert=%s status=%d\n" % (cert, r.status))
    end = time.monotonic() + 60
    while not os.path.exists(a.go) and time.monotonic() < end:
        time.sleep(0.05)
    conn.request("GET", a.path)
    r2 = conn.getresponse()
    r2.read()
    with open(a.out, "a") as f:
        f.write("again=%d same_connection=%d\n" % (r2.status, int(conn.sock is sock)))
    conn.close()
    return 0


def cmd_chain(a):
    ctx = context(a)
    if a.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    sess, reused = None, 0
    for i in range(a.count):
        sock = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
        s = ctx.wrap_socket(sock, server_hostname=a.sni, session=sess)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        while s.recv(65536):  # to the end: TLS 1.3 tickets arrive after the handshake
            pass
        if i > 0 and s.session_reused:
            reused += 1
        sess = s.session
        s.close()
    print("reused=%d of %d" % (reused, a.count - 1))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--ca")
        p.add_argument("--sni")
        p.add_argument("--timeout", type=float, default=20.0)

    p = sub.add_parser("echo")
    common(p)
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--proxy-v1")
    p = sub.add_parser("halfclose")
    common(p)
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--proxy-v1")
    p = sub.add_parser("get")
    common(p)
    p.add_argument("--path", default="/")
    p.add_argument("--proxy-v1")
    p = sub.add_parser("hold")
    common(p)
    p.add_argument("--path", default="/")
    p.add_argument("--go", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("chain")
    common(p)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--tls12", action="store_true")
    a = ap.parse_args()
    return {"echo": cmd_echo, "get": cmd_get, "hold": cmd_hold, "chain": cmd_chain,
            "halfclose": cmd_halfclose}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
