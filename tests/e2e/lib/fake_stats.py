"""fake_stats.py: a stand-in for fulcrum's control listener, for developing and testing
the status page without the data plane: serves control/status_page.html at / with the
same headers fulcrum sends (the CSP hashes computed here independently of control/page.c)
and a GET /v1/stats that follows docs' contract, with counters that grow over time as
if traffic flowed. The page's actions work on its in-memory state, as fulcrum's would:
  POST /v1/pools/P/backends/N/drain     admin -> draining (out of rotation); api-2: 409
  PUT  /v1/pools/P/backends/N           {"state": ..., "weight": ...}
  GET  /v1/pools/P/backends/N           the backend, with in_rotation
Every /v1 call needs "Authorization: Bearer TOKEN" (401 otherwise), as fulcrum's do.

  fake_stats.py --port P --token T [--page FILE] [--hostile]
--hostile adds a backend whose name and health reason are HTML, to check that the page
shows them as text. Binds 127.0.0.1 only; stops on SIGTERM/SIGINT."""
import argparse
import base64
import hashlib
import json
import math
import os
import random
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

LE = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
REFUSE_DRAIN = "api-2"   # its drain answers 409, for the page's error notice
HOSTILE_NAME = '<img src=x onerror="document.title=1">web-x'


def csp_for(html):
    """The CSP fulcrum sends with the page: the SHA-256 of each inline block."""
    def hashes(tag):
        found = re.findall(rb"<%s>(.*?)</%s>" % (tag, tag), html, re.S)
        if not found:
            return " 'none'"
        return "".join(" 'sha256-%s'" % base64.b64encode(hashlib.sha256(b).digest()).decode()
                       for b in found)
    return ("default-src 'none'; script-src%s; style-src%s; connect-src 'self'; img-src data:; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            % (hashes(b"script"), hashes(b"style")))


class Backend:
    def __init__(self, name, port, weight, rate, median_ms, err_ratio, health="up",
                 reason="check passed"):
        self.name, self.address = name, "127.0.0.1:%d" % port
        self.weight, self.effective_weight, self.max_conns = weight, weight, weight * 2
        self.admin, self.health, self.reason = "active", health, reason
        self.rate, self.median, self.err_ratio = rate, median_ms / 1000.0, err_ratio
        self.requests = self.errors = 0
        self.buckets = [0] * (len(LE) + 1)
        self.active = self.open = 0

    def in_rotation(self):
        return self.admin == "active" and self.health in ("up", "warming")

    def advance(self, dt, rnd):
        """Traffic for dt seconds: a Poisson-ish count with log-normal latencies."""
        if not self.in_rotation():
            self.active = 0
            self.open = max(0, self.open - 1)
            return
        share = self.effective_weight / float(self.weight or 1)
        wobble = 1 + 0.35 * math.sin(time.time() / 23.0 + len(self.name))
        n = int(rnd.gauss(self.rate * share * wobble * dt, math.sqrt(self.rate * dt + 1)))
        for _ in range(max(0, n)):
            lat = rnd.lognormvariate(math.log(self.median), 0.6)
            if rnd.random() < 0.005:
                lat *= 20  # the slow tail that p99 should show
            i = next((k for k, le in enumerate(LE) if lat <= le), len(LE))
            for k in range(i, len(LE) + 1):
                self.buckets[k] += 1
            self.requests += 1
            if rnd.random() < self.err_ratio:
                self.errors += 1
        self.active = max(0, int(rnd.gauss(self.rate * self.median * 2, 1)))
        self.open = self.active + 2

    def stats(self):
        return {"name": self.name, "address": self.address, "admin": self.admin,
                "health": self.health, "health_reason": self.reason, "weight": self.weight,
                "effective_weight": self.effective_weight, "max_conns": self.max_conns,
                "active": self.active, "open_connections": self.open,
                "requests_total": self.requests, "errors_total": self.errors,
                "latency_buckets_le_s": LE, "latency_buckets": list(self.buckets)}

    def view(self, pool):
        return {"name": self.name, "pool": pool, "address": self.address, "weight": self.weight,
                "max_conns": self.max_conns, "admin": self.admin, "health": self.health,
                "in_rotation": self.in_rotation(), "active": self.active}


class World:
    def __init__(self, hostile):
        self.lock = threading.Lock()
        self.rnd = random.Random(7)
        self.started = time.time()
        self.last = time.time()
        self.generation = 3
        self.actions = []
        self.pools = {
            "flask": [Backend("web-1", 8001, 4, 40, 12, 0.002),
                      Backend("web-2", 8002, 4, 38, 14, 0.004),
                      Backend("web-3", 8003, 2, 18, 30, 0.03)],
            "api": [Backend("api-1", 9001, 1, 12, 4, 0.0),
                    Backend("api-3", 9003, 4, 12, 4, 0.0, "warming", "check passed; slow start"),
                    Backend("api-2", 9002, 1, 0, 4, 0.0, "down", "connect: connection refused")],
        }
        if hostile:
            self.pools["flask"].append(Backend(HOSTILE_NAME, 8009, 1, 3, 8, 0.0, "up",
                                               "<b>bold</b> & <script>x()</script>"))

    def tick(self):
        now = time.time()
        dt, self.last = now - self.last, now
        for backends in self.pools.values():
            for b in backends:
                if b.health == "warming":  # slow start over 10 minutes, from 1
                    b.effective_weight = max(1, min(b.weight, int(b.weight * (now - self.started) / 600)))
                b.advance(dt, self.rnd)

    def find(self, pool, name):
        return next((b for b in self.pools.get(pool, []) if b.name == name), None)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-fulcrum"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))

    def send(self, status, body, ctype="application/json", headers=()):
        if not isinstance(body, bytes):
            body = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        if not any(k.lower() == "cache-control" for k, _ in headers):
            self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, error, detail):
        self.send(status, {"error": error, "detail": detail})

    def authorized(self):
        if self.headers.get("Authorization", "") == "Bearer " + self.server.token:
            return True
        self.send(401, {"error": "unauthorized",
                        "detail": "this call needs Authorization: Bearer <token>"},
                  headers=[("WWW-Authenticate", 'Bearer realm="fulcrum"')])
        return False

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            o = json.loads(raw or b"{}")
        except ValueError as e:
            self.error(400, "invalid_json", str(e))
            return None
        if not isinstance(o, dict):
            self.error(400, "invalid_json", "the body must be a JSON object")
            return None
        return o

    def backend(self, parts):
        """parts = ["v1", "pools", P, "backends", N, ...]: the backend, or None (answered)."""
        pool, name = unquote(parts[2]), unquote(parts[4])
        w = self.server.world
        if pool not in w.pools:
            self.error(404, "unknown_pool", "there is no pool '%s'" % pool)
            return None, pool
        b = w.find(pool, name)
        if not b:
            self.error(404, "unknown_backend", "there is no backend '%s' in pool '%s'" % (name, pool))
        return b, pool

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/":
            html = self.server.page
            self.send(200, html, "text/html; charset=utf-8", [
                ("Cache-Control", "no-cache"), ("Content-Security-Policy", csp_for(html)),
                ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                ("Referrer-Policy", "no-referrer")])
            return
        if not self.authorized():
            return
        w = self.server.world
        parts = path.strip("/").split("/")
        with w.lock:
            if path == "/v1/stats":
                w.tick()
                self.send(200, {
                    "now_ms": int(time.time() * 1000), "generation": w.generation,
                    "uptime_s": round(time.time() - w.started + 3600 * 26 + 754, 1),
                    "version": "0.1.0",
                    # cluster mode's view (GET /v1/cluster): r3 has not applied the latest
                    "cluster": {"cluster": "edge", "self": "r1",
                                "store": {"kind": "etcd", "state": "up", "revision": 131},
                                "latest_revision": 128,
                                "replicas": [
                                    {"id": "r1", "self": True, "applied_revision": 128, "latest": True, "ready": True},
                                    {"id": "r2", "self": False, "applied_revision": 128, "latest": True, "ready": True},
                                    {"id": "r3", "self": False, "applied_revision": 120, "latest": False, "ready": True}]},
                    "pools": [{"name": p, "queued": 0, "backends": [b.stats() for b in bs]}
                              for p, bs in w.pools.items()]})
            elif path == "/v1/actions":
                self.send(200, {"actions": w.actions})
            elif len(parts) == 5 and parts[:2] == ["v1", "pools"] and parts[3] == "backends":
                b, pool = self.backend(parts)
                if b:
                    self.send(200, b.view(pool))
            else:
                self.error(404, "not_found", "no endpoint %s" % path)

    def do_POST(self):
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if not self.authorized():
            return
        o = self.body()
        if o is None:
            return
        w = self.server.world
        with w.lock:
            if len(parts) == 6 and parts[:2] == ["v1", "pools"] and parts[5] == "drain":
                b, pool = self.backend(parts)
                if not b:
                    return
                if b.name == REFUSE_DRAIN:
                    self.error(409, "conflict", "%s cannot be drained here (the stand-in refuses, "
                               "so that the page's error path is seen)" % b.name)
                    return
                if set(o) - {"timeout_s"}:
                    self.error(400, "invalid_body", "unknown field")
                    return
                b.admin = "draining"
                w.actions.append(["drain", pool, b.name])
                self.send(202, b.view(pool))
            else:
                self.error(404, "not_found", "no endpoint %s" % self.path)

    def do_PUT(self):
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if not self.authorized():
            return
        o = self.body()
        if o is None:
            return
        w = self.server.world
        with w.lock:
            if not (len(parts) == 5 and parts[:2] == ["v1", "pools"] and parts[3] == "backends"):
                self.error(404, "not_found", "no endpoint %s" % self.path)
                return
            b, pool = self.backend(parts)
            if not b:
                return
            if set(o) - {"address", "weight", "max_conns", "state"}:
                self.error(400, "invalid_body", "unknown field")
                return
            if "weight" in o and not (isinstance(o["weight"], int) and 0 <= o["weight"] <= 1000):
                self.error(400, "invalid_body", "'weight' must be an integer from 0 to 1000")
                return
            if "state" in o and o["state"] not in ("active", "draining", "maint"):
                self.error(400, "invalid_body", "'state' must be \"active\", \"draining\" or \"maint\"")
                return
            if "weight" in o:
                b.weight = b.effective_weight = o["weight"]
            if "state" in o:
                b.admin = o["state"]
            w.actions.append(["put", pool, b.name, o])
            self.send(200, b.view(pool))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--page", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "..", "..", "..", "control", "status_page.html"))
    ap.add_argument("--hostile", action="store_true")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.token = a.token
    with open(a.page, "rb") as f:
        srv.page = f.read()
    srv.world = World(a.hostile)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
