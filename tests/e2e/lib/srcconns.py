"""srcconns.py: idle connections from one source address, for t_client_conn_limit.sh.
  srcconns.py hold --port P --source IP --count N --ready FILE --go FILE
      opens N connections from IP (bound before connect), waits until the server has
      closed the ones it refuses (no change for 1 s, at most 15 s), writes
      "open=K closed=M" to READY, then sends GET /healthz on the first open connection
      and appends "request=<status>" (the address's connections that stayed keep
      working). Waits (at most 120 s) until GO exists, closes everything and exits.
  srcconns.py get --port P --source IP
      one GET /healthz from IP; prints the status, "closed" when the server closed or
      reset the connection without a response, or "error: ..."."""
import argparse
import os
import socket
import sys
import time


def connect(source, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def is_open(s):
    """False once the peer closed or reset; the server never sends unasked."""
    s.settimeout(0)  # with a timeout, Python would wait for data before the peek
    try:
        data = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return bool(data)


def get(s):
    """The status of GET /healthz on s, or "closed" when the server closed (a close
    that finds the request unread is a reset, depending on timing)."""
    s.settimeout(10)
    buf = b""
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                return "closed"
            buf += chunk
    except (ConnectionResetError, BrokenPipeError):
        return "closed"
    return buf.split(b" ", 2)[1].decode()


def hold(a):
    conns = [connect(a.source, a.port) for _ in range(a.count)]
    last, stable_since, t0 = None, time.monotonic(), time.monotonic()
    while time.monotonic() - t0 < 15:
        n = sum(1 for s in conns if is_open(s))
        if n != last:
            last, stable_since = n, time.monotonic()
        elif time.monotonic() - stable_since >= 1.0:
            break
        time.sleep(0.1)
    alive = [s for s in conns if is_open(s)]
    with open(a.ready + ".tmp", "w") as f:
        f.write("open=%d closed=%d\n" % (len(alive), len(conns) - len(alive)))
    os.rename(a.ready + ".tmp", a.ready)
    status = get(alive[0]) if alive else "none"
    with open(a.ready, "a") as f:
        f.write("request=%s\n" % status)
    t1 = time.monotonic()
    while not os.path.exists(a.go) and time.monotonic() - t1 < 120:
        time.sleep(0.05)
    for s in conns:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["hold", "get"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--ready")
    ap.add_argument("--go")
    a = ap.parse_args()
    if a.cmd == "hold":
        hold(a)
        return
    try:
        s = connect(a.source, a.port)
        print(get(s))
        s.close()
    except OSError as e:
        print("error: %s" % e)
        sys.exit(0)


if __name__ == "__main__":
    main()
