"""app.py: the Flask application behind fulcrum in the end-to-end tests and the demo.
Run as: gunicorn -b 127.0.0.1:PORT --chdir tests/e2e/lib app:app
Env: FULCRUM_TEST_INSTANCE names the instance in answers; FULCRUM_TEST_CONC_FILE, when
set, makes /work record in-flight and peak concurrency of this instance (all workers);
FULCRUM_TEST_CTL_DIR, when set, holds switches a test writes while the instance runs:
  health.<instance>  "hang" (/healthz never answers while the file says so), "fail"
                     (500), "drain" (503 with X-Drain: 1), "503" (503 alone); else 200
  slow.<instance>    a factor by which /work sleeps longer (e.g. "10")
  status.<instance>  a status /work answers with instead of 200 (e.g. "500")
and /echo-len appends the tag of each request it begins to arrivals.<instance> there."""
import fcntl
import hashlib
import os
import socket
import time

from flask import Flask, Response, jsonify, request

from blob import blob_chunks

app = Flask(__name__)
INSTANCE = os.environ.get("FULCRUM_TEST_INSTANCE", "unnamed")
CONC_FILE = os.environ.get("FULCRUM_TEST_CONC_FILE")
CTL_DIR = os.environ.get("FULCRUM_TEST_CTL_DIR")


def _switch(name):
    """The content of the test's switch file name.<instance>, stripped; "" when absent."""
    if not CTL_DIR:
        return ""
    try:
        with open(os.path.join(CTL_DIR, "%s.%s" % (name, INSTANCE))) as f:
            return f.read().strip()
    except OSError:
        return ""


def _conc_update(delta):
    """Adds delta to the in-flight count kept in CONC_FILE ("inflight peak total") under
    an exclusive lock shared by all worker processes of this instance."""
    if not CONC_FILE:
        return
    with open(CONC_FILE, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        parts = f.read().split()
        inflight, peak, total = (int(x) for x in parts) if len(parts) == 3 else (0, 0, 0)
        inflight += delta
        if delta > 0:
            total += 1
        peak = max(peak, inflight)
        f.seek(0)
        f.truncate()
        f.write("%d %d %d\n" % (inflight, peak, total))
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)


@app.route("/")
def index():
    return "ok %s\n" % INSTANCE, 200, {"Content-Type": "text/plain"}


@app.route("/healthz")
def healthz():
    mode = _switch("health")
    if mode == "hang":
        # Never answer while the switch says so (bounded: a test that forgets to
        # switch back does not keep a thread forever).
        end = time.monotonic() + 60
        while _switch("health") == "hang" and time.monotonic() < end:
            time.sleep(0.1)
        mode = _switch("health")
    if mode == "fail":
        return "failing\n", 500, {"Content-Type": "text/plain"}
    if mode == "drain":
        return "draining\n", 503, {"Content-Type": "text/plain", "X-Drain": "1"}
    if mode == "503":
        return "unavailable\n", 503, {"Content-Type": "text/plain"}
    # says who answers, for pools with health.identity_header = "X-Pod-Name"
    return "ok\n", 200, {"Content-Type": "text/plain", "X-Pod-Name": INSTANCE}


@app.route("/echo", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def echo():
    """Hashes the request body as it streams in (64 KiB reads); chunked uploads work
    because gunicorn decodes them and sets wsgi.input_terminated. With ms=N, sleeps N ms
    after the body (the upload's ~20 ms of work in bench/slow_clients.sh)."""
    h = hashlib.sha256()
    n = 0
    stream = request.stream
    while True:
        piece = stream.read(65536)
        if not piece:
            break
        h.update(piece)
        n += len(piece)
    time.sleep(int(request.args.get("ms", "0")) / 1000.0)
    return jsonify(sha256=h.hexdigest(), length=n, instance=INSTANCE, method=request.method,
                   chunked="chunked" in request.headers.get("Transfer-Encoding", "").lower())


@app.route("/echo-len", methods=["POST", "PUT"])
def echo_len():
    """Like /echo, and also says which framing headers arrived (Content-Length,
    Transfer-Encoding, Expect). Before it reads the body it appends ?tag= to
    arrivals.<instance> in FULCRUM_TEST_CTL_DIR, so a test sees that the request head
    reached the app even when the body never completes."""
    tag = request.args.get("tag", "-")
    if CTL_DIR:
        with open(os.path.join(CTL_DIR, "arrivals.%s" % INSTANCE), "a") as f:
            f.write(tag + "\n")
    h = hashlib.sha256()
    n = 0
    while True:
        piece = request.stream.read(65536)
        if not piece:
            break
        h.update(piece)
        n += len(piece)
    return jsonify(sha256=h.hexdigest(), length=n, tag=tag, instance=INSTANCE,
                   content_length=request.headers.get("Content-Length"),
                   transfer_encoding=request.headers.get("Transfer-Encoding"),
                   expect=request.headers.get("Expect"))


def _two_events(ms):
    """An event now and one ms later: a stream whose first part must not wait for the
    second."""
    yield "data: one %.3f\n\n" % time.time()
    time.sleep(ms / 1000.0)
    yield "data: two %.3f\n\n" % time.time()


@app.route("/sse")
def sse():
    """Server-sent events: exempt from response buffering by their Content-Type."""
    ms = int(request.args.get("ms", "1500"))
    return Response(_two_events(ms), content_type="text/event-stream",
                    headers={"Cache-Control": "no-cache"})


@app.route("/nobuf")
def nobuf():
    """The same timing as /sse as plain text, exempt from response buffering only by
    X-Accel-Buffering: no (which the client must not see)."""
    ms = int(request.args.get("ms", "1500"))
    return Response(_two_events(ms), content_type="text/plain",
                    headers={"X-Accel-Buffering": "no"})


@app.route("/blob")
def blob():
    """n bytes of blob.py's pattern; with chunked=1 no Content-Length, so gunicorn sends
    them chunked (to HTTP/1.1 clients). With ms=N, sleeps N ms first (the download's
    ~20 ms of work in bench/slow_clients.sh); with sndbuf=N, sets the connection's
    SO_SNDBUF to N first (gunicorn's sync worker), so that the kernel holds little of the
    answer and the worker stays busy until the other side has taken it. With type=T,
    the Content-Type is T (text/plain makes it one a pool's compress takes)."""
    n = int(request.args.get("bytes", "0"))
    time.sleep(int(request.args.get("ms", "0")) / 1000.0)
    sock = request.environ.get("gunicorn.socket")
    if request.args.get("sndbuf") and sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(request.args["sndbuf"]))
    headers = {} if request.args.get("chunked") == "1" else {"Content-Length": str(n)}
    return Response(blob_chunks(n), headers=headers,
                    content_type=request.args.get("type", "application/octet-stream"),
                    direct_passthrough=True)


@app.route("/sleep")
def sleep():
    ms = int(request.args.get("ms", "0"))
    time.sleep(ms / 1000.0)
    return "slept %d %s\n" % (ms, INSTANCE), 200, {"Content-Type": "text/plain"}


@app.route("/work")
def work():
    ms = int(request.args.get("ms", "20"))
    try:
        ms *= float(_switch("slow") or "1")
    except ValueError:
        pass
    _conc_update(+1)
    try:
        time.sleep(ms / 1000.0)
    finally:
        _conc_update(-1)
    status = int(_switch("status") or "200")
    return "work %s\n" % INSTANCE, status, {"Content-Type": "text/plain"}


@app.route("/headers", methods=["GET", "POST"])
def headers():
    # werkzeug's Headers keep repeated fields; a list of pairs shows duplicates.
    resp = jsonify(headers=[[k, v] for k, v in request.headers.items()],
                   remote_addr=request.environ.get("REMOTE_ADDR"),
                   remote_port=request.environ.get("REMOTE_PORT"),
                   instance=INSTANCE)
    if request.args.get("rid"):  # an app that answers with a request id of its own
        resp.headers["X-Request-ID"] = request.args["rid"]
    return resp


@app.route("/proxyfix")
def proxyfix():
    """What an app behind Werkzeug's ProxyFix (trusting one proxy for every header it
    reads) and Flask's access_route make of the forwarded headers."""
    from werkzeug.middleware.proxy_fix import ProxyFix
    seen = {}

    def inner(environ, start_response):
        seen.update(remote_addr=environ.get("REMOTE_ADDR"), scheme=environ.get("wsgi.url_scheme"),
                    host=environ.get("HTTP_HOST"), port=environ.get("SERVER_PORT"),
                    prefix=environ.get("SCRIPT_NAME", ""))
        return []

    ProxyFix(inner, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)(dict(request.environ),
                                                                        lambda *a: None)
    seen["access_route"] = list(request.access_route)
    return jsonify(seen)


@app.route("/whoami")
def whoami():
    """The backend-side view of the connection: which local port fulcrum used."""
    return jsonify(instance=INSTANCE, pid=os.getpid(),
                   remote_port=int(request.environ.get("REMOTE_PORT") or 0))


@app.route("/p/<name>")
def path_echo(name):
    return "path /p/%s %s\n" % (name, INSTANCE), 200, {"Content-Type": "text/plain"}


@app.route("/status/<int:code>")
def status(code):
    body = "" if code in (204, 304) or code < 200 else "status %d\n" % code
    return body, code, {"Content-Type": "text/plain"}
