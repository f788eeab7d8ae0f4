"""cache_app.py: a Flask app for the cache scenarios: it counts the requests it gets per
path (GET /count/<path> tells, uncacheable) and answers with the Cache-Control the path
asks for. Run with one gthread worker, so the counts are one process's."""
import threading
import time

from flask import Flask, Response, request

app = Flask(__name__)
_lock = threading.Lock()
_counts = {}
_fail = [False]


def _count(path):
    with _lock:
        _counts[path] = _counts.get(path, 0) + 1
        return _counts[path]


@app.route("/count/<path:p>")
def count(p):
    with _lock:
        return Response(str(_counts.get("/" + p, 0)), mimetype="text/plain")


@app.route("/healthz")
def healthz():
    return "ok"


@app.route("/slow/<name>")
def slow(name):
    # a cold URL that takes a while: a herd of requests arrives while it is fetched
    n = _count(request.path)
    time.sleep(float(request.args.get("s", "1")))
    return Response("slow %s %d\n" % (name, n) + "x" * 3000, mimetype="text/plain",
                    headers={"Cache-Control": "max-age=30"})


@app.route("/setfail/<int:on>")
def setfail(on):
    # while on, /cc/ answers 500 (a failing app behind a stale entry)
    _fail[0] = bool(on)
    return Response("fail %d\n" % on, mimetype="text/plain")


@app.route("/cc/<name>")
def cc(name):
    # the Cache-Control the test asks for (cc=...), and a body that changes each time;
    # delay=...: seconds to take
    n = _count(request.path)
    time.sleep(float(request.args.get("delay", "0")))
    if request.args.get("s"):
        time.sleep(float(request.args["s"]))
    if _fail[0]:
        return Response("failing\n", status=500, mimetype="text/plain")
    headers = {}
    if request.args.get("cc"):
        headers["Cache-Control"] = request.args["cc"]
    if request.args.get("cookie"):
        headers["Set-Cookie"] = "s=1"
    if request.args.get("etag"):
        headers["ETag"] = '"%s"' % request.args["etag"]
    r = Response("%s %d\n" % (name, n), mimetype="text/plain", headers=headers)
    if request.args.get("cond"):
        r = r.make_conditional(request)  # 304 to a matching If-None-Match
    return r


@app.route("/vary/<name>")
def vary(name):
    n = _count(request.path)
    lang = request.headers.get("Accept-Language", "none")
    return Response("%s %s %d\n" % (name, lang, n), mimetype="text/plain",
                    headers={"Cache-Control": "max-age=30", "Vary": "Accept-Language"})


@app.route("/vary-ae/<name>")
def vary_ae(name):
    n = _count(request.path)
    return Response("%s %s %d\n" % (name, request.headers.get("Accept-Encoding", "none"), n),
                    mimetype="text/plain",
                    headers={"Cache-Control": "max-age=30", "Vary": "Accept-Encoding"})


@app.route("/chunked/<name>")
def chunked(name):
    n = _count(request.path)

    def gen():
        yield "chunked %s %d\n" % (name, n)
        yield "y" * 5000

    return Response(gen(), mimetype="text/plain", headers={"Cache-Control": "max-age=30"})


@app.route("/tag/<name>")
def tagged(name):
    n = _count(request.path)
    return Response("%s %d\n" % (name, n), mimetype="text/plain",
                    headers={"Cache-Control": "max-age=300", "Cache-Tag": request.args.get("tag", "")})


@app.route("/big/<int:kb>")
def big(kb):
    # kb KiB of a pattern, with its request number first: big bodies cross many reads
    n = _count(request.path)
    head = b"big %d %d\n" % (kb, n)
    body = head + bytes(range(256)) * (kb * 4)
    return Response(body[: kb * 1024], mimetype="application/octet-stream",
                    headers={"Cache-Control": "max-age=30"})


@app.route("/drip/<name>")
def drip(name):
    # a body of known length (parts= parts of 1000 bytes) that comes slowly: the head
    # and the first part after first= seconds, each next part gap= seconds later; die=1
    # breaks the connection after the first part (a backend that fails mid-body);
    # chunked=1 sends it without a Content-Length
    n = _count(request.path)
    parts = int(request.args.get("parts", "4"))
    gap = float(request.args.get("gap", "0.5"))
    time.sleep(float(request.args.get("first", "0")))
    part = ("%s %d " % (name, n)).ljust(999, "y") + "\n"
    die = bool(request.args.get("die"))

    def gen():
        yield part
        for _ in range(parts - 1):
            time.sleep(gap)
            if die:
                raise RuntimeError("dying mid-body, as asked")
            yield part

    headers = {"Cache-Control": "max-age=30"}
    if not request.args.get("chunked"):  # chunked=1: no length, gunicorn sends chunks
        headers["Content-Length"] = str(parts * 1000)
    return Response(gen(), mimetype="text/plain", headers=headers)
