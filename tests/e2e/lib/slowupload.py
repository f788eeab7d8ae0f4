"""slowupload.py: a client that sends a request body in two parts with a pause between,
or gives up in the pause, as a slow or vanished uploader does to a proxy.
  slowupload.py --port P --path PATH --length N [--first K] [--pause S] [--ready FILE]
                [--close]
Sends a POST head with Content-Length: N and the first K bytes of a deterministic body,
touches FILE (--ready), sleeps S seconds; with --close it then closes the connection and
prints "closed"; else it sends the other N-K bytes and prints the status line, then
"sent LENGTH SHA256", then the response body. Exit 0 when it got a whole response."""
import argparse
import hashlib
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--length", type=int, required=True)
    ap.add_argument("--first", type=int, default=1000)
    ap.add_argument("--pause", type=float, default=0)
    ap.add_argument("--ready")
    ap.add_argument("--close", action="store_true")
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    body = (hashlib.sha256(b"slowupload").digest() * (a.length // 32 + 1))[:a.length]

    s = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (a.path.encode(), a.length))
    s.sendall(body[:a.first])
    if a.ready:
        open(a.ready, "w").close()
    time.sleep(a.pause)
    if a.close:
        s.close()
        print("closed")
        return
    s.sendall(body[a.first:])
    data = b""
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        piece = s.recv(65536)
        if not piece:
            break
        data += piece
    if b"\r\n\r\n" not in data:
        sys.exit("no whole response (got %r)" % data[:300])
    head, rbody = data.split(b"\r\n\r\n", 1)
    print(head.split(b"\r\n")[0].decode("latin-1"))
    print("sent", a.length, hashlib.sha256(body).hexdigest())
    print(rbody.decode("utf-8", "replace").strip())


if __name__ == "__main__":
    main()
