"""queue_order.py: proves that a request arriving while others wait in the pool queue
does not overtake them, even when a backend slot frees in the same batch of events.

  queue_order.py --port FULCRUM_PORT --backend-port P --pid FULCRUM_PID

Runs its own backend on P (the pool must have it as its only backend, max_conns = 1):
it records the order in which request paths arrive and holds the answer to /a until
told. The sequence: A (/a) takes the one slot; B (/b) queues; C opens a keep-alive
connection and stays idle. fulcrum is then stopped (SIGSTOP), C sends /c, the backend
answers /a, and fulcrum continues (SIGCONT): C's request and the freed slot are seen in
one batch of events. B waited first, so the backend must see /a, /b, /c.
Then, three times, with nothing else going on: /hN takes the slot, /wN queues, /hN is
answered; /wN must reach the backend at once (under 300 ms), not at whatever event
next wakes fulcrum's loop (its 1 s housekeeping timer, when idle).
Prints the order and the hand-over times as JSON; exits 1 if either is wrong, 2 on a
set-up failure."""
import argparse
import json
import os
import signal
import socket
import sys
import threading
import time

ORDER = []
ARRIVED = {}
ANSWERED = {}
LOCK = threading.Lock()
HOLD = {}  # path -> Event: the backend answers that path only once the event is set


def read_head(conn):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        buf += chunk
    return buf.split(b"\r\n", 1)[0].decode("latin-1")


def serve_conn(conn):
    with conn:
        while True:
            line = read_head(conn)
            if line is None:
                return
            path = line.split(" ")[1]
            with LOCK:
                ORDER.append(path)
                ARRIVED[path] = time.monotonic()
                hold = HOLD.get(path)
            if hold:
                hold.wait(10)
            with LOCK:
                ANSWERED[path] = time.monotonic()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")


def backend(listener):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()


def send(sock, path):
    sock.sendall(("GET %s HTTP/1.1\r\nHost: q\r\n\r\n" % path).encode())


def read_response(sock):
    sock.settimeout(10)
    buf = b""
    while not buf.endswith(b"ok\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf.split(b"\r\n", 1)[0].decode("latin-1")


def wait_for(stamps, path, seconds=5):
    """Waits until the backend has stamped path in stamps (ARRIVED or ANSWERED)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with LOCK:
            if path in stamps:
                return True
        time.sleep(0.005)
    return False


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--backend-port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    a = ap.parse_args()

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", a.backend_port))
    listener.listen(16)
    threading.Thread(target=backend, args=(listener,), daemon=True).start()

    for p in ["/a"] + ["/h%d" % i for i in range(3)]:
        HOLD[p] = threading.Event()
    ca, cb, cc = connect(a.port), connect(a.port), connect(a.port)
    send(ca, "/a")
    if not wait_for(ARRIVED, "/a"):
        print(json.dumps({"error": "A never reached the backend", "order": ORDER}))
        return 2
    send(cb, "/b")
    time.sleep(0.3)  # B is read and queued behind A's slot
    stopped = False
    try:
        os.kill(a.pid, signal.SIGSTOP)
        stopped = True
        time.sleep(0.1)
        send(cc, "/c")        # C's request waits in the kernel ...
        time.sleep(0.1)
        HOLD["/a"].set()      # ... and so does the answer that frees the slot
        wait_for(ANSWERED, "/a")
        time.sleep(0.2)
    finally:
        if stopped:
            os.kill(a.pid, signal.SIGCONT)
    statuses = [read_response(s) for s in (ca, cb, cc)]
    time.sleep(0.1)
    with LOCK:
        order = list(ORDER)

    handover_ms = []
    for i in range(3):
        h, w = "/h%d" % i, "/w%d" % i
        send(ca, h)
        if not wait_for(ARRIVED, h):
            print(json.dumps({"error": "%s never reached the backend" % h}))
            return 2
        send(cb, w)
        time.sleep(0.3)  # w is read and queued
        HOLD[h].set()
        if not wait_for(ARRIVED, w):
            print(json.dumps({"error": "%s never reached the backend" % w}))
            return 2
        statuses += [read_response(ca), read_response(cb)]
        with LOCK:
            handover_ms.append(round((ARRIVED[w] - ANSWERED[h]) * 1000, 1))
    print(json.dumps({"order": order, "statuses": statuses, "handover_ms": handover_ms}))
    ok = order == ["/a", "/b", "/c"] and max(handover_ms) < 300
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
