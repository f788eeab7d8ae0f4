"""listeners.py: many cheap HTTP backends in one process, for the health tests.

  listeners.py --ports-file F --record R --ready Y [--hang-every N] [--close]
               [--max-seconds S]
      Listens on 127.0.0.1 on every port of F (one per line) and answers any request
      with "200 ok" and a close, except on every N-th port (index % N == N - 1), where a
      request is read and never answered (the connection stays open until the peer
      closes it). With --close every request is read and the connection closed without
      an answer. Every request head that arrives is recorded in R as a line
      "wall-clock-seconds port". Y is written once every port listens. Ends on
      SIGTERM/SIGINT or after S seconds (default 300).
"""
import argparse
import selectors
import signal
import socket
import sys
import time

RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
            b"Connection: close\r\n\r\nok\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports-file", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--hang-every", type=int, default=0)
    ap.add_argument("--close", action="store_true")
    ap.add_argument("--max-seconds", type=float, default=300.0)
    a = ap.parse_args()

    ports = [int(x) for x in open(a.ports_file).read().split()]
    sel = selectors.DefaultSelector()
    for i, port in enumerate(ports):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", port))
        ls.listen(256)
        ls.setblocking(False)
        hang = a.hang_every > 0 and i % a.hang_every == a.hang_every - 1
        sel.register(ls, selectors.EVENT_READ, ("listen", port, hang))

    stop = [False]

    def on_signal(signum, frame):
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    record = open(a.record, "a", buffering=1)
    with open(a.ready, "w") as f:
        f.write("%d\n" % len(ports))
    end = time.monotonic() + a.max_seconds
    bufs = {}
    while not stop[0] and time.monotonic() < end:
        for key, _ in sel.select(timeout=0.2):
            kind, port, hang = key.data
            s = key.fileobj
            if kind == "listen":
                for _ in range(64):
                    try:
                        c, _addr = s.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    c.setblocking(False)
                    bufs[c] = b""
                    sel.register(c, selectors.EVENT_READ, ("conn", port, hang))
                continue
            try:
                data = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                bufs.pop(s, None)
                s.close()
                continue
            if bufs.get(s) is None:
                continue  # answered or hanging already: ignore more bytes
            bufs[s] += data
            if b"\r\n\r\n" not in bufs[s]:
                continue
            record.write("%.4f %d\n" % (time.time(), port))
            bufs[s] = None
            if hang:
                continue
            try:
                if not a.close:
                    s.send(RESPONSE)
            except OSError:
                pass
            sel.unregister(s)
            bufs.pop(s, None)
            s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
