"""rawhttp.py: HTTP/1.1 clients for the end-to-end tests that need byte-level control
(smuggling vectors, pipelining, slowloris, PROXY headers) or many requests without a
process per request (keep-alive loops, concurrent load). Loopback only.

  send      --port P (--data S | --file F) [--proxy-v1 SRC:PORT | --proxy-v2 SRC:PORT]
            [--shut-wr] [--timeout S] [--summary]
            writes the bytes in one send (S takes Python escapes: \\r \\n \\x00), reads
            responses until the server closes or the timeout passes; prints JSON
            {statuses, bodies, headers, closed, error} or, with --summary,
            "statuses=400 closed=1".
  pipeline  --port P PATH...   all GETs in one write; prints one line per response:
            "<status> <first line of body>"
  slowloris --port P --data S --max-wait S [--trickle S]   sends a partial head (and
            with --trickle one more byte every S seconds) and waits for the server to
            end the connection; prints "closed_after=1.02 status=408|none" or
            "closed_after=never". With a complete request it measures the idle timeout.
  loop      --port P --count N --interval S [--path /] [--reconnect-every K] [--log F]
            [--stop-file F]  (ends early, after a whole request, once F exists)
            sequential keep-alive GETs; prints JSON {ok, fail, retried, instances, errors}
  load      --port P --clients C --requests N [--path /work]
            C threads with a keep-alive connection each share N GETs; prints the same JSON
"""
import argparse
import codecs
import http.client
import json
import os
import socket
import struct
import sys
import threading
import time


def unescape(s):
    return codecs.escape_decode(s.encode("utf-8"))[0]


def proxy_header(version, src, dst):
    """PROXY protocol header claiming src ("ip:port") towards dst ((ip, port))."""
    sip, sport = src.rsplit(":", 1)
    dip, dport = dst
    if version == 1:
        return ("PROXY TCP4 %s %s %s %d\r\n" % (sip, dip, sport, dport)).encode()
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    addrs = socket.inet_aton(sip) + socket.inet_aton(dip) + struct.pack("!HH", int(sport), dport)
    return sig + bytes([0x21, 0x11]) + struct.pack("!H", len(addrs)) + addrs


class Parsed:
    def __init__(self):
        self.responses = []   # (status, headers dict lower-case, body bytes)
        self.rest = b""


def parse_responses(data, final):
    """Splits data into complete responses. When final (the server closed), a response
    without length ends at the end of data. Returns Parsed."""
    p = Parsed()
    buf = data
    while buf:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            break
        head = buf[:end].decode("latin-1").split("\r\n")
        try:
            status = int(head[0].split(" ")[1])
        except (IndexError, ValueError):
            status = -1
        hdrs = {}
        for line in head[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs.setdefault(k.strip().lower(), v.strip())
        pos = end + 4
        if 100 <= status < 200 or status in (204, 304):
            p.responses.append((status, hdrs, b""))
            buf = buf[pos:]
            continue
        if "transfer-encoding" in hdrs and "chunked" in hdrs["transfer-encoding"].lower():
            body = b""
            ok = False
            while True:
                le = buf.find(b"\r\n", pos)
                if le < 0:
                    break
                try:
                    size = int(buf[pos:le].split(b";")[0], 16)
                except ValueError:
                    break
                if size == 0:
                    te = buf.find(b"\r\n\r\n", le)
                    if te < 0 and buf[le:le + 4] != b"\r\n\r\n":
                        break
                    pos = (le + 4) if buf[le:le + 4] == b"\r\n\r\n" else te + 4
                    ok = True
                    break
                if len(buf) < le + 2 + size + 2:
                    break
                body += buf[le + 2:le + 2 + size]
                pos = le + 2 + size + 2
            if not ok:
                break
            p.responses.append((status, hdrs, body))
            buf = buf[pos:]
        elif "content-length" in hdrs:
            n = int(hdrs["content-length"])
            if len(buf) - pos < n:
                break
            p.responses.append((status, hdrs, buf[pos:pos + n]))
            buf = buf[pos + n:]
        else:
            if not final:
                break
            p.responses.append((status, hdrs, buf[pos:]))
            buf = b""
    p.rest = buf
    return p


def connect(port, host="127.0.0.1", timeout=5.0):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def cmd_send(a):
    payload = open(a.file, "rb").read() if a.file else unescape(a.data)
    out = {"statuses": [], "bodies": [], "headers": [], "closed": False, "error": None}
    try:
        s = connect(a.port, a.host, a.timeout)
    except OSError as e:
        out["error"] = "connect: %s" % e
        return finish_send(a, out)
    if a.proxy_v1 or a.proxy_v2:
        payload = proxy_header(1 if a.proxy_v1 else 2, a.proxy_v1 or a.proxy_v2,
                               s.getpeername()[:2]) + payload
    data = b""
    deadline = time.monotonic() + a.timeout
    try:
        s.sendall(payload)
        if a.shut_wr:
            s.shutdown(socket.SHUT_WR)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                out["closed"] = True
                break
            data += chunk
    except ConnectionResetError as e:
        out["closed"] = True
        out["error"] = "reset: %s" % e
    except OSError as e:
        out["error"] = str(e)
    finally:
        s.close()
    p = parse_responses(data, out["closed"])
    for st, h, b in p.responses:
        out["statuses"].append(st)
        out["headers"].append(h)
        out["bodies"].append(b[:4000].decode("latin-1"))
    if p.rest:
        out["unparsed"] = p.rest[:200].decode("latin-1")
    return finish_send(a, out)


def finish_send(a, out):
    if a.summary:
        line = "statuses=%s closed=%d" % (",".join(str(x) for x in out["statuses"]),
                                          1 if out["closed"] else 0)
        if out["error"]:
            line += " error=%s" % out["error"].replace(" ", "_")
        print(line)
    else:
        print(json.dumps(out))
    return 0


def cmd_pipeline(a):
    s = connect(a.port, a.host, a.timeout)
    req = b"".join(("GET %s HTTP/1.1\r\nHost: pipeline.test\r\n\r\n" % p).encode()
                   for p in a.paths)
    s.sendall(req)
    data = b""
    deadline = time.monotonic() + a.timeout
    closed = False
    while time.monotonic() < deadline:
        p = parse_responses(data, False)
        if len(p.responses) >= len(a.paths):
            break
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            closed = True
            break
        data += chunk
    s.close()
    p = parse_responses(data, closed)
    for st, h, b in p.responses:
        first = b.decode("latin-1").split("\n")[0].strip()
        first = "".join(ch if " " <= ch <= "~" else "." for ch in first[:200])
        print("%d %s" % (st, first))
    return 0 if len(p.responses) == len(a.paths) else 1


def cmd_slowloris(a):
    s = connect(a.port, a.host, a.timeout)
    s.sendall(unescape(a.data))
    t0 = time.monotonic()
    data = b""
    closed = False
    next_trickle = t0 + a.trickle if a.trickle else None
    while time.monotonic() - t0 < a.max_wait:
        wait = a.max_wait - (time.monotonic() - t0)
        if next_trickle:
            wait = min(wait, next_trickle - time.monotonic())
        s.settimeout(max(0.01, wait))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            if next_trickle and time.monotonic() >= next_trickle:
                try:
                    s.sendall(b"a")  # one more byte of a header value that never ends
                except OSError:
                    closed = True
                    break
                next_trickle += a.trickle
            continue
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    elapsed = time.monotonic() - t0
    s.close()
    if not closed:
        print("closed_after=never bytes=%d" % len(data))
        return 0
    p = parse_responses(data, True)
    st = ",".join(str(r[0]) for r in p.responses) or "none"
    print("closed_after=%.2f status=%s" % (elapsed, st))
    return 0


def instance_of(body):
    words = body.decode("latin-1").split()
    return words[-1] if words else "?"


class Client:
    """A keep-alive HTTP/1.1 connection that reconnects when needed. A request that
    fails on a reused connection before any response byte is retried once on a fresh
    connection, as curl and browsers do (the keep-alive close race)."""

    def __init__(self, host, port, timeout):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = None
        self.used = 0

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None
        self.used = 0

    def get(self, path):
        """Returns (status, body, retried); raises on failure."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            reused = self.used > 0
            try:
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                body = r.read()
                self.used += 1
                if r.will_close:
                    self.close()
                return r.status, body, attempt == 1
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                self.close()
                if not reused or attempt == 1:
                    raise
        raise RuntimeError("unreachable")


def cmd_loop(a):
    res = {"ok": 0, "fail": 0, "retried": 0, "instances": {}, "errors": []}
    log = open(a.log, "a") if a.log else None
    c = Client(a.host, a.port, a.timeout)
    t_next = time.monotonic()
    for i in range(a.count):
        if a.stop_file and os.path.exists(a.stop_file):
            break
        if a.reconnect_every and i % a.reconnect_every == 0:
            c.close()
        t0 = time.time()
        try:
            st, body, retried = c.get(a.path)
            inst = instance_of(body)
            res["retried"] += 1 if retried else 0
            if st == 200:
                res["ok"] += 1
                res["instances"][inst] = res["instances"].get(inst, 0) + 1
            else:
                res["fail"] += 1
                if len(res["errors"]) < 10:
                    res["errors"].append("#%d status %d %r" % (i, st, body[:200]))
            line = "%.3f %d %d %s" % (t0, i, st, inst)
        except Exception as e:  # noqa: BLE001 - every failure counts
            c.close()
            res["fail"] += 1
            if len(res["errors"]) < 10:
                res["errors"].append("#%d %s: %s" % (i, type(e).__name__, e))
            line = "%.3f %d ERR %s" % (t0, i, type(e).__name__)
        if log:
            log.write(line + "\n")
            log.flush()
        t_next += a.interval
        delay = t_next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    c.close()
    print(json.dumps(res))
    return 0


def cmd_load(a):
    res = {"ok": 0, "fail": 0, "retried": 0, "instances": {}, "errors": []}
    lock = threading.Lock()
    todo = [a.requests]

    def worker():
        c = Client(a.host, a.port, a.timeout)
        while True:
            with lock:
                if todo[0] <= 0:
                    break
                todo[0] -= 1
            try:
                st, body, retried = c.get(a.path)
                err = None if st == 200 else "status %d %r" % (st, body[:200])
                inst = instance_of(body)
            except Exception as e:  # noqa: BLE001
                c.close()
                st, err, retried, inst = 0, "%s: %s" % (type(e).__name__, e), False, None
            with lock:
                res["retried"] += 1 if retried else 0
                if err:
                    res["fail"] += 1
                    if len(res["errors"]) < 10:
                        res["errors"].append(err)
                else:
                    res["ok"] += 1
                    res["instances"][inst] = res["instances"].get(inst, 0) + 1
        c.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, a.deadline - (time.monotonic() - t0)))
    res["elapsed"] = round(time.monotonic() - t0, 3)
    if any(t.is_alive() for t in threads):
        res["errors"].append("deadline of %ss passed with clients still running" % a.deadline)
        res["fail"] += 1
    print(json.dumps(res))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--timeout", type=float, default=5.0)

    p = sub.add_parser("send")
    common(p)
    p.add_argument("--data")
    p.add_argument("--file")
    p.add_argument("--proxy-v1")
    p.add_argument("--proxy-v2")
    p.add_argument("--shut-wr", action="store_true")
    p.add_argument("--summary", action="store_true")
    p = sub.add_parser("pipeline")
    common(p)
    p.add_argument("paths", nargs="+")
    p = sub.add_parser("slowloris")
    common(p)
    p.add_argument("--data", required=True)
    p.add_argument("--max-wait", type=float, default=10.0)
    p.add_argument("--trickle", type=float, default=0.0,
                   help="send one more byte every TRICKLE seconds while waiting")
    p = sub.add_parser("loop")
    common(p)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--path", default="/")
    p.add_argument("--reconnect-every", type=int, default=0)
    p.add_argument("--log")
    p.add_argument("--stop-file")
    p = sub.add_parser("load")
    common(p)
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--requests", type=int, required=True)
    p.add_argument("--path", default="/work")
    p.add_argument("--deadline", type=float, default=120.0)
    a = ap.parse_args()
    return {"send": cmd_send, "pipeline": cmd_pipeline, "slowloris": cmd_slowloris,
            "loop": cmd_loop, "load": cmd_load}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
