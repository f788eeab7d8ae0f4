"""app.py: the Flask application behind fulcrum in the end-to-end tests and the demo.
Run as: gunicorn -b 127.0.0.1:PORT --chdir tests/e2e app:app
Env: FULCRUM_TEST_INSTANCE names the instance in answers; FULCRUM_TEST_CONC_FILE, when
set, makes /work record in-flight and peak concurrency of this instance (all workers)."""
import fcntl
import hashlib
import os
import time

from flask import Flask, Response, jsonify, request

from blob import blob_chunks

app = Flask(__name__)
INSTANCE = os.environ.get("FULCRUM_TEST_INSTANCE", "unnamed")
CONC_FILE = os.environ.get("FULCRUM_TEST_CONC_FILE")


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
    return "ok\n", 200, {"Content-Type": "text/plain"}


@app.route("/echo", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def echo():
    """Hashes the request body as it streams in (64 KiB reads); chunked uploads work
    because gunicorn decodes them and sets wsgi.input_terminated."""
    h = hashlib.sha256()
    n = 0
    stream = request.stream
    while True:
        piece = stream.read(65536)
        if not piece:
            break
        h.update(piece)
        n += len(piece)
    return jsonify(sha256=h.hexdigest(), length=n, instance=INSTANCE, method=request.method,
                   chunked="chunked" in request.headers.get("Transfer-Encoding", "").lower())


@app.route("/blob")
def blob():
    n = int(request.args.get("bytes", "0"))
    return Response(blob_chunks(n), headers={"Content-Length": str(n)},
                    content_type="application/octet-stream", direct_passthrough=True)


@app.route("/sleep")
def sleep():
    ms = int(request.args.get("ms", "0"))
    time.sleep(ms / 1000.0)
    return "slept %d %s\n" % (ms, INSTANCE), 200, {"Content-Type": "text/plain"}


@app.route("/work")
def work():
    _conc_update(+1)
    try:
        time.sleep(0.020)
    finally:
        _conc_update(-1)
    return "work %s\n" % INSTANCE, 200, {"Content-Type": "text/plain"}


@app.route("/headers", methods=["GET", "POST"])
def headers():
    # werkzeug's Headers keep repeated fields; a list of pairs shows duplicates.
    return jsonify(headers=[[k, v] for k, v in request.headers.items()],
                   remote_addr=request.environ.get("REMOTE_ADDR"),
                   remote_port=request.environ.get("REMOTE_PORT"),
                   instance=INSTANCE)


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
