"""recbackend.py: a raw HTTP/1.1 backend that appends every byte it receives to a file,
so a test can prove what reached (or never reached) the backend.
  recbackend.py --port P --record FILE [--mode ok|silent|reset|reset-chunked|garbage|close-second|drop|trailers|split]
                [--keep-alive-timeout N]
ok: answers each request it can frame (Content-Length or chunked body) with
    200 and "ok <n>\\n" (n = requests seen by the process), keeping the connection;
    X-Conn: <k> says which accepted connection (1, 2, ...) carried it, and with
    --keep-alive-timeout N the head also says "Keep-Alive: timeout=N".
garbage: answers each request with bytes that are no HTTP response, then closes.
close-second: as ok for the first request of a connection; reads the second whole,
    then closes without answering (a backend that took a request and dropped it).
drop: reads every request whole, then closes without answering.
trailers: as ok, but the body is chunked ("ok <n>\\n" in two chunks) and ends with a
    trailer section: X-Checksum: <n>, Server-Timing: app;dur=1.5 and a Content-Length: 1
    that must not be passed on.
split: as ok, but the head and the body go out in two send() calls on a socket with
    Nagle's rule on (no TCP_NODELAY), as many servers write them: the body waits in the
    kernel until the head is acknowledged, so a proxy that delays its ACK delays it.
silent: accepts and records, never answers (for response timeouts).
reset: answers the first request with a head promising 100000 bytes, sends 1000 of
    them, then resets the connection (RST, SO_LINGER 0); reset-chunked does the same
    in the middle of a chunked body."""
import argparse
import socket
import struct
import time
import socketserver
import threading

LOCK = threading.Lock()
COUNT = [0]
CONNS = [0]


def frame_one(buf):
    """Returns the length of the first complete request in buf, or 0 if incomplete,
    or -1 if it cannot be framed."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return 0
    head = buf[:end].decode("latin-1").split("\r\n")
    cl, chunked = 0, False
    for line in head[1:]:
        if ":" not in line:
            continue
        k, v = line.split(":", 1)
        k = k.strip().lower()
        if k == "content-length":
            try:
                cl = int(v.strip())
            except ValueError:
                return -1
        elif k == "transfer-encoding" and "chunked" in v.lower():
            chunked = True
    pos = end + 4
    if not chunked:
        return pos + cl if len(buf) >= pos + cl else 0
    while True:
        le = buf.find(b"\r\n", pos)
        if le < 0:
            return 0
        try:
            size = int(buf[pos:le].split(b";")[0], 16)
        except ValueError:
            return -1
        if size == 0:
            te = buf.find(b"\r\n\r\n", le)
            return te + 4 if te >= 0 else 0
        pos = le + 2 + size + 2
        if len(buf) < pos:
            return 0


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        buf = b""
        with LOCK:
            CONNS[0] += 1
            conn = CONNS[0]
        served = 0
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            with LOCK:
                with open(self.server.record, "ab") as f:
                    f.write(chunk)
            if self.server.mode == "silent":
                continue
            buf += chunk
            while True:
                n = frame_one(buf)
                if n == 0:
                    break
                if n < 0:
                    s.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                buf = buf[n:]
                if self.server.mode.startswith("reset"):
                    self.reset_mid_response(s)
                    return
                if self.server.mode == "garbage":
                    s.sendall(b"<html>this is not HTTP</html>\r\n\r\n")
                    return
                served += 1
                if self.server.mode == "close-second" and served == 2:
                    return
                if self.server.mode == "drop":
                    return
                if self.server.mode == "trailers":
                    with LOCK:
                        COUNT[0] += 1
                        seq = COUNT[0]
                    body = b"ok %d\n" % seq
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                              b"Trailer: X-Checksum, Server-Timing\r\n\r\n"
                              b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Checksum: %d\r\n"
                              b"Server-Timing: app;dur=1.5 \r\nContent-Length: 1\r\n\r\n"
                              % (2, body[:2], len(body) - 2, body[2:], seq))
                    continue
                with LOCK:
                    COUNT[0] += 1
                    body = b"ok %d\n" % COUNT[0]
                ka = b""
                if self.server.keep_alive_timeout is not None:
                    ka = b"Keep-Alive: timeout=%d\r\n" % self.server.keep_alive_timeout
                head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Conn: %d\r\n%s"
                        b"Content-Length: %d\r\n\r\n" % (conn, ka, len(body)))
                if self.server.mode == "split":
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
                    s.sendall(head)
                    s.sendall(body)
                else:
                    s.sendall(head + body)


    def reset_mid_response(self, s):
        if self.server.mode == "reset":
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"
                      + b"x" * 1000)
        else:
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + b"3e8\r\n" + b"x" * 1000 + b"\r\n3e8\r\n" + b"y" * 500)
        time.sleep(0.2)  # let the bytes go out before the reset
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--record", required=True)
    ap.add_argument("--mode", choices=["ok", "silent", "reset", "reset-chunked", "garbage", "close-second", "drop", "trailers", "split"], default="ok")
    ap.add_argument("--keep-alive-timeout", type=int)
    a = ap.parse_args()
    open(a.record, "ab").close()
    srv = Server((a.host, a.port), Handler)
    srv.record, srv.mode, srv.keep_alive_timeout = a.record, a.mode, a.keep_alive_timeout
    srv.serve_forever()


if __name__ == "__main__":
    main()
