"""fake_docker.py: a fake Docker Engine API on a unix socket, for t_docker_watch.sh.

  fake_docker.py --api SOCK --control SOCK

The API socket serves exactly what `fulcrumctl docker-watch` uses:
  GET [/vX.Y]/containers/json?filters={"label":[...]}   running containers with the labels
  GET [/vX.Y]/containers/{id}/json                      inspect (404 when unknown)
  GET [/vX.Y]/events?filters={"type":[...],"label":[...]}
                                                        200, chunked, one JSON event per line,
                                                        held open until an outage or the end
The control socket (plain HTTP, POST unless noted) lets the test play Docker:
  /start?id=&name=&port=[&pool=flask][&weight=][&health=starting][&ip=127.0.0.1][&quiet=1]
        creates the container if new and starts it; health=starting gives it a healthcheck
  /health?id=&status=healthy|unhealthy     a health_status event
  /kill?id=[&signal=15]                    a kill event (the container keeps running)
  /die?id=   /stop?id=   /destroy?id=      die (stops it), stop, destroy (forgets it)
  /outage?seconds=S                        closes every event stream and the API socket
                                           (the file goes away) for S seconds
  GET /stats                               {"lists": N, "streams": N, "inspects": N}
quiet=1 on any call changes the state without an event (what happens while nobody
listens). Every loop is bounded: a stream ends after 600 s at most."""
import argparse
import json
import os
import queue
import socketserver
import sys
import threading
import time
import urllib.parse

from fakehttp import JsonHandler

LOCK = threading.Lock()
CONTAINERS = {}          # id -> dict
SUBSCRIBERS = []         # (queue, filters) of open event streams
STATS = {"lists": 0, "streams": 0, "inspects": 0}
STREAM_EPOCH = [0]       # bumped by an outage: streams of older epochs end
API = {}                 # "server", "path", "thread"


def labels_match(c, filters):
    for want in filters.get("label", []):
        k, _, v = want.partition("=")
        if k not in c["labels"] or (v and c["labels"][k] != v):
            return False
    return True


def inspect_doc(c):
    state = {"Status": "running" if c["running"] else "exited", "Running": c["running"],
             "Paused": False, "Pid": 4242 if c["running"] else 0}
    if c["health"] is not None:
        state["Health"] = {"Status": c["health"], "FailingStreak": 0, "Log": []}
    return {"Id": c["id"], "Name": "/" + c["name"], "State": state,
            "Config": {"Labels": dict(c["labels"]), "Image": "flask-example"},
            "NetworkSettings": {"IPAddress": "",
                                "Networks": {"appnet": {"IPAddress": c["ip"], "NetworkID": "n1"}}}}


def emit(c, action, extra=None):
    attrs = dict(c["labels"])
    attrs["name"] = c["name"]
    attrs["image"] = "flask-example"
    attrs.update(extra or {})
    now = time.time()
    ev = {"status": action, "id": c["id"], "from": "flask-example", "Type": "container",
          "Action": action, "Actor": {"ID": c["id"], "Attributes": attrs}, "scope": "local",
          "time": int(now), "timeNano": int(now * 1e9)}
    for q, filters in list(SUBSCRIBERS):
        if "container" in filters.get("type", ["container"]) and labels_match(c, filters):
            q.put(ev)


class Api(JsonHandler):
    def address_string(self):
        return "unix"

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        parts = [p for p in u.path.split("/") if p]
        if parts and parts[0].startswith("v1."):
            parts = parts[1:]
        q = urllib.parse.parse_qs(u.query)
        filters = json.loads(q["filters"][0]) if "filters" in q else {}
        if parts == ["containers", "json"]:
            with LOCK:
                STATS["lists"] += 1
                out = [{"Id": c["id"], "Names": ["/" + c["name"]], "Labels": dict(c["labels"]),
                        "State": "running"} for c in CONTAINERS.values()
                       if c["running"] and labels_match(c, filters)]
            return self.send_json(200, out)
        if len(parts) == 3 and parts[0] == "containers" and parts[2] == "json":
            with LOCK:
                STATS["inspects"] += 1
                c = CONTAINERS.get(parts[1])
                doc = inspect_doc(c) if c else None
            if not doc:
                return self.send_json(404, {"message": "No such container: " + parts[1]})
            return self.send_json(200, doc)
        if parts == ["events"]:
            return self.events(filters)
        return self.send_json(404, {"message": "page not found"})

    def events(self, filters):
        q = queue.Queue()
        with LOCK:
            STATS["streams"] += 1
            epoch = STREAM_EPOCH[0]
            SUBSCRIBERS.append((q, filters))
        try:
            self.start_chunked()
            end = time.monotonic() + 600
            while time.monotonic() < end and STREAM_EPOCH[0] == epoch:
                try:
                    ev = q.get(timeout=0.2)
                except queue.Empty:
                    continue
                self.chunk((json.dumps(ev) + "\n").encode())
            if STREAM_EPOCH[0] == epoch:
                self.chunk(b"")
        except OSError:
            pass
        finally:
            with LOCK:
                SUBSCRIBERS[:] = [s for s in SUBSCRIBERS if s[0] is not q]
            self.close_connection = True


class Control(JsonHandler):
    log_prefix = "control"

    def address_string(self):
        return "unix"

    def do_GET(self):
        if self.path == "/stats":
            with LOCK:
                return self.send_json(200, dict(STATS))
        return self.send_json(404, {"error": "no such page"})

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        quiet = q.get("quiet") == "1"
        op = u.path.strip("/")
        if op == "outage":
            threading.Thread(target=outage, args=(float(q["seconds"]),), daemon=True).start()
            return self.send_json(200, {"outage": q["seconds"]})
        with LOCK:
            c = CONTAINERS.get(q.get("id", ""))
            if op == "start":
                if not c:
                    labels = {"fulcrum.pool": q.get("pool", "flask"), "fulcrum.port": q["port"]}
                    if "weight" in q:
                        labels["fulcrum.weight"] = q["weight"]
                    c = {"id": q["id"], "name": q["name"], "labels": labels,
                         "ip": q.get("ip", "127.0.0.1"), "running": False, "health": None,
                         "has_check": q.get("health") == "starting"}
                    CONTAINERS[c["id"]] = c
                c["running"] = True
                c["health"] = "starting" if c["has_check"] else None
                if not quiet:
                    emit(c, "start")
            elif not c:
                return self.send_json(404, {"error": "no such container"})
            elif op == "health":
                c["health"] = q["status"]
                if not quiet:
                    emit(c, "health_status: " + q["status"])
            elif op == "kill":
                if not quiet:
                    emit(c, "kill", {"signal": q.get("signal", "15")})
            elif op == "die":
                c["running"] = False
                if not quiet:
                    emit(c, "die", {"exitCode": "0"})
            elif op == "stop":
                c["running"] = False
                if not quiet:
                    emit(c, "stop")
            elif op == "destroy":
                del CONTAINERS[c["id"]]
                if not quiet:
                    emit(c, "destroy")
            else:
                return self.send_json(404, {"error": "unknown operation " + op})
        return self.send_json(200, {"ok": op})


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve_api():
    if os.path.exists(API["path"]):
        os.unlink(API["path"])
    srv = Server(API["path"], Api)
    API["server"] = srv
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()


def outage(seconds):
    srv = API["server"]
    STREAM_EPOCH[0] += 1
    srv.shutdown()
    srv.server_close()
    os.unlink(API["path"])
    sys.stderr.write("outage: API socket gone for %.1f s\n" % seconds)
    time.sleep(seconds)
    serve_api()
    sys.stderr.write("outage: API socket back\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--control", required=True)
    a = ap.parse_args()
    API["path"] = a.api
    serve_api()
    if os.path.exists(a.control):
        os.unlink(a.control)
    ctl = Server(a.control, Control)
    ctl.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
