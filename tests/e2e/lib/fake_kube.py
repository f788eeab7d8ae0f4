"""fake_kube.py: a fake Kubernetes API server for the discovery tests (stdlib only).

  fake_kube.py --port P --ctl-port C --cert F --key F --token T --state FILE
               [--namespace default] [--service flask]

HTTPS on 127.0.0.1:P serves what fulcrum's watcher uses of the API, with the bearer
token T required (401 otherwise):
  GET /apis/discovery.k8s.io/v1/namespaces/NS/endpointslices
      ?labelSelector=kubernetes.io/service-name=SVC                      LIST
      ...&watch=1&resourceVersion=RV[&allowWatchBookmarks=true]           WATCH
A WATCH answers chunked: one JSON event per line (ADDED, MODIFIED, DELETED, BOOKMARK,
ERROR), each event written in two chunks cut at a random byte so the client must join
them. A WATCH from a resourceVersion older than the kept history gets an ERROR 410 event.

Plain HTTP on 127.0.0.1:C scripts it (JSON bodies, answers JSON):
  POST /slice      {"name", "endpoints": [{"ip", "port", "pod", "ready", "serving",
                   "terminating"}], "port_name"?}        ADDED or MODIFIED
  POST /delete     {"name"}                              DELETED
  POST /bump       the resourceVersion moves on without an event for our selector
                   (another Service changed), as between real events
  POST /bookmark                                         a BOOKMARK to open watches
  POST /compact    history dropped; open watches get ERROR 410 and end
  POST /end        open watches end (the stream closes cleanly)
  POST /rotate     {"token"}  the valid token changes; open watches end
  POST /list_mode  {"mode": "ok" | "refuse" | "hang"}  LISTs from now on: answered, refused
                   with 503, or held without an answer until the mode changes (60 s at most)
  POST /silent     {"on": true|false}  while on, open and new watches send nothing more
                   (the head of a new one is sent): a server that holds the connection and
                   says nothing; a watch that saw it stays silent until its client leaves
                   (600 s at most)
  GET  /log        every API request: {"kind", "rv", "status", "t"}
  GET  /state      {"rv", "slices", "watches"}
State (slices, resourceVersion, history) is saved to --state after every change and
read back at start, so a killed server that is started again continues where it was.
Every loop is bounded: a watch ends after its timeoutSeconds (at most 600 s).
"""
import argparse
import json
import os
import random
import ssl
import threading
import time
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from fakehttp import JsonHandler

LOCK = threading.Condition()
S = {"rv": 100, "slices": {}, "history": [], "oldest": 100, "token": "", "epoch": 0,
     "log": [], "watches": 0, "bookmarks": 0, "compacts": 0, "list_mode": "ok", "silent": False}
A = None


def save():
    tmp = A.state + ".tmp"
    with open(tmp, "w") as f:
        json.dump({k: S[k] for k in ("rv", "slices", "history", "oldest", "token")}, f)
    os.replace(tmp, A.state)


def load():
    if os.path.exists(A.state):
        with open(A.state) as f:
            S.update(json.load(f))


def slice_object(name, spec, rv):
    eps = []
    for e in spec.get("endpoints", []):
        cond = {}
        for k in ("ready", "serving", "terminating"):
            if k in e:
                cond[k] = e[k]
        ep = {"addresses": [e["ip"]], "conditions": cond}
        if e.get("pod"):
            ep["targetRef"] = {"kind": "Pod", "namespace": A.namespace, "name": e["pod"]}
        eps.append(ep)
    port = {"name": spec.get("port_name", "http"), "protocol": "TCP",
            "port": spec.get("port", (spec.get("endpoints") or [{"port": 8000}])[0]["port"])}
    return {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"name": name, "namespace": A.namespace, "resourceVersion": str(rv),
                         "labels": {"kubernetes.io/service-name": A.service}},
            "addressType": spec.get("address_type", "IPv4"), "endpoints": eps, "ports": [port]}


def record(kind, rv, status):
    S["log"].append({"kind": kind, "rv": rv, "status": status, "t": time.time()})
    del S["log"][:-2000]


def change(kind, name, spec):
    """Applies one change under LOCK: new resourceVersion, history, save, wake watches."""
    S["rv"] += 1
    obj = slice_object(name, spec, S["rv"])
    if kind == "DELETED":
        S["slices"].pop(name, None)
    else:
        S["slices"][name] = spec
    S["history"].append({"rv": S["rv"], "type": kind, "object": obj})
    del S["history"][:-1000]
    save()
    LOCK.notify_all()


class Api(JsonHandler):
    def status_obj(self, code, reason, msg):
        return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": msg,
                "reason": reason, "code": code}

    def send_event(self, ev):
        line = (json.dumps(ev) + "\n").encode()
        cut = random.randint(1, len(line) - 1)
        self.chunk(line[:cut])
        time.sleep(0.005)
        self.chunk(line[cut:])

    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        want = "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % A.namespace
        watch = q.get("watch", [""])[0] in ("1", "true")
        rv = q.get("resourceVersion", [""])[0]
        kind = "watch" if watch else "list"
        with LOCK:
            if self.headers.get("Authorization") != "Bearer " + S["token"]:
                record(kind, rv, 401)
                self.send_json(401, self.status_obj(401, "Unauthorized", "Unauthorized"))
                return
            if u.path != want or q.get("labelSelector") != ["kubernetes.io/service-name=" + A.service]:
                record(kind, rv, 404)
                self.send_json(404, self.status_obj(404, "NotFound", "no such path or selector: " + self.path))
                return
            if not watch and S["list_mode"] == "hang":
                deadline = time.monotonic() + 60
                while S["list_mode"] == "hang" and time.monotonic() < deadline:
                    LOCK.wait(0.5)
            if not watch and S["list_mode"] == "refuse":
                record(kind, rv, 503)
                self.send_json(503, self.status_obj(503, "ServiceUnavailable", "LIST refused (test)"))
                return
            if not watch:
                record(kind, rv, 200)
                items = [slice_object(n, s, S["rv"]) for n, s in sorted(S["slices"].items())]
                obj = {"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
                       "metadata": {"resourceVersion": str(S["rv"])}, "items": items}
                self.send_json(200, obj)
                return
            try:
                since = int(rv)
            except ValueError:
                since = -1
            record(kind, rv, 200)
            S["watches"] += 1
            epoch = S["epoch"]
        timeout = min(int(q.get("timeoutSeconds", ["600"])[0] or 600), 600)
        self.start_chunked()
        end = time.monotonic() + timeout
        sent_bookmarks = S["bookmarks"]
        compacts = S["compacts"]
        try:
            if since < S["oldest"]:
                self.send_event({"type": "ERROR", "object": self.status_obj(
                    410, "Expired", "too old resource version: %s (%d)" % (rv, S["oldest"]))})
                self.chunk(b"")
                return
            silent = False
            while time.monotonic() < end or silent:
                with LOCK:
                    silent = silent or S["silent"]
                    if silent:
                        if time.monotonic() > end + 600:
                            break
                        LOCK.wait(0.5)
                        continue
                    if S["compacts"] != compacts:
                        pending = [{"type": "ERROR", "object": self.status_obj(
                            410, "Expired", "too old resource version: %d" % since)}]
                        stop = True
                    else:
                        pending = [h for h in S["history"] if h["rv"] > since]
                        stop = S["epoch"] != epoch
                        if not pending and not stop and S["bookmarks"] == sent_bookmarks:
                            LOCK.wait(0.5)
                            continue
                        if S["bookmarks"] != sent_bookmarks:
                            sent_bookmarks = S["bookmarks"]
                            pending = pending + [{"type": "BOOKMARK", "object": {
                                "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
                                "metadata": {"resourceVersion": str(S["rv"])}}}]
                for ev in pending:
                    self.send_event({"type": ev["type"], "object": ev["object"]})
                    if ev["type"] != "BOOKMARK" and "rv" in ev:
                        since = ev["rv"]
                if stop:
                    break
            self.chunk(b"")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        finally:
            self.close_connection = True
            with LOCK:
                S["watches"] -= 1


class Ctl(JsonHandler):
    log_prefix = "ctl"

    def do_GET(self):
        with LOCK:
            if self.path == "/log":
                self.send_json(200, S["log"])
            elif self.path == "/state":
                self.send_json(200, {"rv": S["rv"], "slices": S["slices"], "watches": S["watches"],
                             "oldest": S["oldest"]})
            else:
                self.send_json(404, {"error": "no such path"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}") if n else {}
        with LOCK:
            if self.path == "/slice":
                kind = "MODIFIED" if body["name"] in S["slices"] else "ADDED"
                change(kind, body["name"], body)
            elif self.path == "/delete":
                change("DELETED", body["name"], S["slices"].get(body["name"], {"endpoints": []}))
            elif self.path == "/bump":
                S["rv"] += 1
                save()
            elif self.path == "/bookmark":
                S["bookmarks"] += 1
                LOCK.notify_all()
            elif self.path == "/compact":
                S["oldest"] = S["rv"]
                S["history"] = []
                S["compacts"] += 1
                save()
                LOCK.notify_all()
            elif self.path == "/end":
                S["epoch"] += 1
                LOCK.notify_all()
            elif self.path == "/list_mode":
                S["list_mode"] = body["mode"]
                LOCK.notify_all()
            elif self.path == "/silent":
                S["silent"] = bool(body["on"])
                LOCK.notify_all()
            elif self.path == "/rotate":
                S["token"] = body["token"]
                S["epoch"] += 1
                save()
                LOCK.notify_all()
            else:
                self.send_json(404, {"error": "no such path"})
                return
            self.send_json(200, {"rv": S["rv"]})


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ctl-port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--namespace", default="default")
    ap.add_argument("--service", default="flask")
    A = ap.parse_args()
    S["token"] = A.token
    load()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(A.cert, A.key)
    api = ThreadingHTTPServer(("127.0.0.1", A.port), Api)
    api.daemon_threads = True
    api.socket = ctx.wrap_socket(api.socket, server_side=True)
    ctl = ThreadingHTTPServer(("127.0.0.1", A.ctl_port), Ctl)
    ctl.daemon_threads = True
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    print("fake_kube: API on https://127.0.0.1:%d, control on http://127.0.0.1:%d"
          % (A.port, A.ctl_port), flush=True)
    api.serve_forever()


if __name__ == "__main__":
    main()
