"""slowread.py: a client that asks for a /blob and leaves it unread for a while, then
reads all of it at full speed, as a slow client on a bad network does to a proxy.
  slowread.py --port P --bytes N [--rcvbuf B] [--pause S] [--ready FILE] [--timeout S]
              [--tls CAFILE] [--abandon] [--gzip]
The receive buffer (default 4096; 0 leaves the system's) is set before connect, so the
window stays small from the start.
Once the request is sent it touches FILE (--ready), sleeps S seconds reading nothing,
then reads the response to the end and prints "STATUS-LINE BYTES match|MISMATCH"
(body length and sha256 against blob.py's pattern). Exit 0 when it printed that line.
With --abandon it closes the connection after the pause instead, reading nothing, and
prints "abandoned". With --tls it speaks TLS, verifying the server as a.test by CAFILE.
With --gzip it asks for a text/plain blob with Accept-Encoding: gzip and checks the body
after taking off the chunking and the gzip coding (the status line then ends "gzip")."""
import argparse
import hashlib
import os
import socket
import ssl
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blob import blob_sha256  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bytes", type=int, required=True)
    ap.add_argument("--rcvbuf", type=int, default=4096)
    ap.add_argument("--pause", type=float, default=0)
    ap.add_argument("--ready")
    ap.add_argument("--tag", default="slow")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--abandon", action="store_true")
    ap.add_argument("--tls")
    ap.add_argument("--gzip", action="store_true")
    a = ap.parse_args()
    deadline = time.monotonic() + a.timeout

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if a.rcvbuf > 0:  # 0: the system's default, autotuned
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    s.settimeout(a.timeout)
    s.connect(("127.0.0.1", a.port))
    if a.tls:
        s = ssl.create_default_context(cafile=a.tls).wrap_socket(s, server_hostname="a.test")
    if a.gzip:
        s.sendall(b"GET /blob?bytes=%d&tag=%s&type=text/plain HTTP/1.1\r\nHost: t\r\n"
                  b"Accept-Encoding: gzip\r\nConnection: close\r\n\r\n" % (a.bytes, a.tag.encode()))
    else:
        s.sendall(b"GET /blob?bytes=%d&tag=%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                  % (a.bytes, a.tag.encode()))
    if a.ready:
        open(a.ready, "w").close()
    time.sleep(a.pause)
    if a.abandon:
        s.close()
        print("abandoned")
        return

    data = b""
    while b"\r\n\r\n" not in data:
        if time.monotonic() > deadline:
            sys.exit("no response head within %.0f s (got %r)" % (a.timeout, data[:200]))
        piece = s.recv(65536)
        if not piece:
            sys.exit("connection closed before the response head (got %r)" % data[:200])
        data += piece
    head, body = data.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n")[0].decode("latin-1")
    if a.gzip:
        read_gzip(s, head, body, status, a, deadline)
        return
    h = hashlib.sha256(body)
    got = len(body)
    err = ""
    while time.monotonic() < deadline:
        try:
            piece = s.recv(1 << 20)
        except (OSError, ssl.SSLError) as e:  # a reset, or TLS cut without close_notify
            err = " (%s)" % e
            break
        if not piece:
            break
        h.update(piece)
        got += len(piece)
    ok = got == a.bytes and h.hexdigest() == blob_sha256(a.bytes)
    print(status, got, ("match" if ok else "MISMATCH") + ("" if ok else err))


def read_gzip(s, head, raw, status, a, deadline):
    """The rest of a chunked, gzip-coded answer: prints the status line, the decoded length
    and whether it is the blob, then "gzip"."""
    lines = head.decode("latin-1").lower().split("\r\n")
    if "content-encoding: gzip" not in lines or "transfer-encoding: chunked" not in lines:
        print(status, "not gzip-coded and chunked:", lines[1:])
        return
    while not raw.endswith(b"0\r\n\r\n") and time.monotonic() < deadline:
        piece = s.recv(1 << 20)
        if not piece:
            break
        raw += piece
    dec, pos, out = zlib.decompressobj(16 + zlib.MAX_WBITS), 0, hashlib.sha256()
    got = 0
    while True:
        le = raw.find(b"\r\n", pos)
        size = int(raw[pos:le].split(b";")[0], 16) if le >= 0 else -1
        if size <= 0:
            break
        chunk = dec.decompress(raw[le + 2:le + 2 + size])
        out.update(chunk)
        got += len(chunk)
        pos = le + 2 + size + 2
    tail = dec.flush()
    out.update(tail)
    got += len(tail)
    ok = size == 0 and got == a.bytes and out.hexdigest() == blob_sha256(a.bytes)
    print(status, got, "match" if ok else "MISMATCH", "gzip")


if __name__ == "__main__":
    main()
