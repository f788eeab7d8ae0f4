"""cache_app.py: the backend of bench/cache.sh, a Flask app under gunicorn (sync workers,
started with --preload so that every worker shares the counter made here).

  /item/<n>   n in 0..999: ~BENCH_CACHE_WORK_MS (6) ms of work, then a 2 KiB page with
              Cache-Control: max-age=1, stale-while-revalidate=10 (the cacheable scenario)
  /hot/<n>    the same page with Cache-Control: max-age=3600 (the hit-path phase: once
              warm, nothing reaches the app)
  /count      the requests the app answered on /item and /hot since it started, all workers
              together (Cache-Control: no-store; asked directly, not through a proxy)
"""
import multiprocessing
import os
import time

from flask import Flask, Response, abort

app = Flask(__name__)
# a shared-memory counter made before gunicorn forks its workers (--preload)
_served = multiprocessing.Value("Q", 0)
_work_s = float(os.environ.get("BENCH_CACHE_WORK_MS", "6")) / 1000.0
_filler = "x" * 2000


def _page(n, cache_control):
    if not 0 <= n < 1000:
        abort(404)
    # the work an app does to build the page (the Flask scenario's /work sleeps too: the
    # backend shares its CPU with the load generator, so the wait must not burn CPU)
    time.sleep(_work_s)
    with _served.get_lock():
        _served.value += 1
    return Response("item %d %.6f\n%s\n" % (n, time.time(), _filler), mimetype="text/plain",
                    headers={"Cache-Control": cache_control})


@app.route("/item/<int:n>")
def item(n):
    return _page(n, "max-age=1, stale-while-revalidate=10")


@app.route("/hot/<int:n>")
def hot(n):
    return _page(n, "max-age=3600")


@app.route("/count")
def count():
    return Response("%d\n" % _served.value, mimetype="text/plain",
                    headers={"Cache-Control": "no-store"})


@app.route("/healthz")
def healthz():
    return Response("ok\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})
