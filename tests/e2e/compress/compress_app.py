"""compress_app.py: a Flask app for the compression scenario: large HTML and JSON bodies
(fixed, so a test can compare what it decompresses with them: GET /raw/<name> gives the
same bytes with Cache-Control: no-transform), a body the app gzips itself, a small one,
a PNG-typed one, a chunked stream, and a cacheable page that counts its fetches."""
import base64
import gzip
import json
import random
import threading

from flask import Flask, Response, request

app = Flask(__name__)
_lock = threading.Lock()
_counts = {}

HTML = "".join("<tr><td>row %d</td><td>fulcrum balances load over gunicorn</td></tr>\n" % i
               for i in range(3000)).encode()
JSON = json.dumps([{"id": i, "name": "item %d" % i, "tags": ["a", "b", "c"]} for i in range(2000)]).encode()
# 2 MiB of base64 text: compresses to about 3/4, so the encoder's output outruns a slow
# client and the backend waits
BIG = base64.encodebytes(random.Random(7).randbytes(1536 * 1024))
BODIES = {"page.html": (HTML, "text/html; charset=utf-8"), "data.json": (JSON, "application/json"),
          "big.txt": (BIG, "text/plain")}


@app.route("/healthz")
def healthz():
    return "ok"


@app.route("/body/<name>")
def body(name):
    data, ctype = BODIES[name]
    return Response(data, mimetype=None, content_type=ctype, headers={"ETag": '"v1"', "Accept-Ranges": "bytes"})


@app.route("/raw/<name>")
def raw(name):
    data, ctype = BODIES[name]
    return Response(data, content_type=ctype, headers={"Cache-Control": "no-transform"})


@app.route("/pregz")
def pregz():
    return Response(gzip.compress(HTML), content_type="text/html",
                    headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})


@app.route("/small")
def small():
    return Response(b"x" * 100, content_type="text/plain")


@app.route("/png")
def png():
    return Response(HTML, content_type="image/png")


@app.route("/stream")
def stream():
    def gen():
        for i in range(0, len(HTML), 7000):
            yield HTML[i:i + 7000]
    return Response(gen(), content_type="text/html")


@app.route("/cached")
def cached():
    with _lock:
        _counts["cached"] = _counts.get("cached", 0) + 1
    return Response(HTML, content_type="text/html", headers={"Cache-Control": "max-age=60", "Vary": "Cookie"})


@app.route("/count")
def count():
    with _lock:
        return Response(str(_counts.get("cached", 0)), mimetype="text/plain")
