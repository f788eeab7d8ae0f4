"""tcpecho.py: TCP echo server (optionally reading a PROXY v1/v2 header first) and its
clients, for the L4 tests.
  tcpecho.py server --port P [--proxy]
      echoes every byte; after the client's EOF it closes its side. With --proxy it
      first reads a PROXY header and answers "SRC <ip> <port>\\n" with the source the
      header claims (or "BAD <reason>\\n" and closes), then echoes.
  tcpecho.py client --port P --bytes N [--shut-wr]
      sends N random bytes while reading; with --shut-wr half-closes after sending and
      reads to EOF; prints "sent=N recv=M sent_sha=.. recv_sha=.. match=1|0".
  tcpecho.py proxyclient --port P
      connects, reads the SRC line, sends and checks a short echo; prints
      "local=<ip>:<port> seen=<ip>:<port> echo=1|0"."""
import argparse
import hashlib
import os
import socket
import socketserver
import struct
import sys
import threading
import time

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("eof after %d of %d bytes" % (len(b), n))
        b += c
    return b


def read_proxy(s):
    """Reads a PROXY header from s. Returns (src_ip, src_port, leftover bytes)."""
    first = recv_exact(s, 12)
    if first == V2_SIG:
        hdr = recv_exact(s, 4)
        ver_cmd, fam, ln = hdr[0], hdr[1], struct.unpack("!H", hdr[2:4])[0]
        body = recv_exact(s, ln)
        if ver_cmd >> 4 != 2:
            raise ValueError("v2 version %d" % (ver_cmd >> 4))
        if ver_cmd & 0xF == 0:
            return "LOCAL", 0, b""
        if fam == 0x11:
            ip = socket.inet_ntop(socket.AF_INET, body[0:4])
            port = struct.unpack("!H", body[8:10])[0]
        elif fam == 0x21:
            ip = socket.inet_ntop(socket.AF_INET6, body[0:16])
            port = struct.unpack("!H", body[32:34])[0]
        else:
            raise ValueError("v2 family 0x%02x" % fam)
        return ip, port, b""
    if not first.startswith(b"PROXY "):
        raise ValueError("no PROXY header: %r" % first)
    line = first
    while not line.endswith(b"\r\n"):
        if len(line) > 107:
            raise ValueError("v1 line too long")
        line += recv_exact(s, 1)
    parts = line.decode("ascii").strip().split(" ")
    if parts[1] == "UNKNOWN":
        return "UNKNOWN", 0, b""
    if len(parts) != 6 or parts[1] not in ("TCP4", "TCP6"):
        raise ValueError("bad v1 line %r" % line)
    return parts[2], int(parts[4]), b""


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        if self.server.proxy:
            try:
                ip, port, _ = read_proxy(s)
            except (ValueError, EOFError, OSError) as e:
                try:
                    s.sendall(("BAD %s\n" % e).encode())
                finally:
                    return
            s.sendall(("SRC %s %d\n" % (ip, port)).encode())
        while True:
            try:
                c = s.recv(65536)
            except OSError:
                return
            if not c:
                break
            s.sendall(c)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def cmd_client(a):
    payload = os.urandom(a.bytes)
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    got = bytearray()
    err = []

    def reader():
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                got.extend(c)
                if not a.shut_wr and len(got) >= len(payload):
                    break
        except OSError as e:
            err.append(str(e))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    s.sendall(payload)
    if a.shut_wr:
        s.shutdown(socket.SHUT_WR)
    t.join(a.timeout)
    s.close()
    ss, rs = hashlib.sha256(payload).hexdigest(), hashlib.sha256(bytes(got)).hexdigest()
    print("sent=%d recv=%d sent_sha=%s recv_sha=%s match=%d%s" % (
        len(payload), len(got), ss, rs, 1 if ss == rs else 0,
        (" error=" + err[0].replace(" ", "_")) if err else (" timeout=1" if t.is_alive() else "")))
    return 0


def cmd_proxyclient(a):
    # Sends first: an L4 proxy may connect to the backend only once the client speaks.
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    lip, lport = s.getsockname()[:2]
    lip = "[%s]" % lip if ":" in lip else lip
    s.sendall(b"ping\n")
    data = b""
    deadline = time.monotonic() + a.timeout
    try:
        while data.count(b"\n") < 2 and time.monotonic() < deadline:
            c = s.recv(300)
            if not c:
                break
            data += c
    except OSError:
        pass
    s.close()
    lines = data.decode("latin-1").split("\n")
    parts = lines[0].split()
    if len(parts) == 3 and parts[0] == "SRC":
        seen = "%s:%s" % ("[%s]" % parts[1] if ":" in parts[1] else parts[1], parts[2])
    else:
        seen = lines[0].strip().replace(" ", "_") or "nothing"
    echo = len(lines) > 1 and lines[1] == "ping"
    print("local=%s:%d seen=%s echo=%d" % (lip, lport, seen, 1 if echo else 0))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--proxy", action="store_true")
    for name in ("client", "proxyclient"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--timeout", type=float, default=10.0)
        p.add_argument("--host", default="127.0.0.1")
        if name == "client":
            p.add_argument("--bytes", type=int, default=1 << 20)
            p.add_argument("--shut-wr", action="store_true")
    a = ap.parse_args()
    if a.cmd == "server":
        srv = Server(("127.0.0.1", a.port), Handler)
        srv.proxy = a.proxy
        srv.serve_forever()
        return 0
    return cmd_client(a) if a.cmd == "client" else cmd_proxyclient(a)


if __name__ == "__main__":
    sys.exit(main())
