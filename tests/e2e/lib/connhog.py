"""connhog.py: many client connections held open at once, for the fault scenarios.
  connhog.py --port P --count N --hold S [--mode idle|slowloris] [--trickle S]
             [--ready FILE] [--connect-timeout S]
idle:      connects N times and keeps every connection open, silent, for S seconds.
slowloris: each connection sends the start of a request head, then one more header
           byte every --trickle seconds, never finishing the head.
Connections are opened in one thread with non-blocking sockets (bounded: N <= 20000, S
<= 300). FILE, when given, is written once every connect has finished (or failed). Prints
JSON {opened, failed, closed_by_peer, open_at_end, closed_after: [min, median, max] s
from connect to the peer's close, statuses: {first response status or "none": n}}.
SIGINT or SIGTERM ends the hold early (the result is still printed)."""
import argparse
import errno
import json
import resource
import selectors
import signal
import socket
import sys
import time

HEAD = b"GET /slow HTTP/1.1\r\nHost: t\r\nX-Slow: "


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--hold", type=float, required=True)
    ap.add_argument("--mode", choices=["idle", "slowloris"], default="idle")
    ap.add_argument("--trickle", type=float, default=1.0)
    ap.add_argument("--ready")
    ap.add_argument("--connect-timeout", type=float, default=5.0)
    a = ap.parse_args()
    count, hold = min(a.count, 20000), min(a.hold, 300.0)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 64), hard))

    sel = selectors.DefaultSelector()
    conns = {}  # fd -> dict(sock, t0, connected, closed_at, status, buf)
    failed = 0
    t_start = time.monotonic()
    pending = 0
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            rc = s.connect_ex(("127.0.0.1", a.port))
        except OSError:
            s.close()
            failed += 1
            continue
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            failed += 1
            continue
        conns[s.fileno()] = {"sock": s, "t0": time.monotonic(), "connected": rc == 0,
                             "closed_at": None, "status": None, "buf": b""}
        sel.register(s, selectors.EVENT_WRITE if rc else selectors.EVENT_READ)
        pending += 1 if rc else 0
        if pending > 500:
            # let the kernel finish some handshakes before piling on more
            pending = poll(sel, conns, a, 0.01)

    deadline = time.monotonic() + a.connect_timeout
    while any(not c["connected"] and c["closed_at"] is None for c in conns.values()) and time.monotonic() < deadline:
        poll(sel, conns, a, 0.05)
    for fd, c in list(conns.items()):
        if not c["connected"] and c["closed_at"] is None:
            sel.unregister(c["sock"])
            c["sock"].close()
            del conns[fd]
            failed += 1
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("%d\n" % len(conns))
    end = [time.monotonic() + hold]

    def stop(signum, frame):
        end[0] = 0

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    next_trickle = time.monotonic() + a.trickle
    while time.monotonic() < end[0]:
        poll(sel, conns, a, 0.1)
        if a.mode == "slowloris" and time.monotonic() >= next_trickle:
            next_trickle += a.trickle
            for c in conns.values():
                if c["closed_at"] is None and c["connected"]:
                    try:
                        c["sock"].send(b"x")
                    except OSError:
                        pass
    closed = sorted(c["closed_at"] - c["t0"] for c in conns.values() if c["closed_at"] is not None)
    statuses = {}
    for c in conns.values():
        k = c["status"] or "none"
        statuses[k] = statuses.get(k, 0) + 1
    res = {"opened": len(conns), "failed": failed, "closed_by_peer": len(closed),
           "open_at_end": len(conns) - len(closed),
           "closed_after": [round(closed[0], 3), round(closed[len(closed) // 2], 3), round(closed[-1], 3)] if closed else [],
           "statuses": statuses, "elapsed": round(time.monotonic() - t_start, 3)}
    for c in conns.values():
        c["sock"].close()
    print(json.dumps(res))
    return 0


def poll(sel, conns, a, timeout):
    """One round of events: connects finish (slowloris sends its head), reads note the
    first status line and the peer's close. Returns the connects still pending."""
    for key, ev in sel.select(timeout):
        c = conns.get(key.fd)
        if c is None or c["closed_at"] is not None:
            continue
        s = c["sock"]
        if not c["connected"]:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                c["closed_at"] = time.monotonic()
                sel.unregister(s)
                continue
            c["connected"] = True
            c["t0"] = time.monotonic()
            sel.modify(s, selectors.EVENT_READ)
            if a.mode == "slowloris":
                try:
                    s.send(HEAD)
                except OSError:
                    pass
            continue
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data:
            c["buf"] += data[:64]
            if c["status"] is None and b" " in c["buf"]:
                c["status"] = c["buf"].split(b" ")[1][:3].decode("latin-1", "replace")
            continue
        c["closed_at"] = time.monotonic()
        sel.unregister(s)
    return sum(1 for c in conns.values() if not c["connected"] and c["closed_at"] is None)


if __name__ == "__main__":
    sys.exit(main())
