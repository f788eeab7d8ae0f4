"""status_browser.py: drives the status page in headless chromium (webdriver.py) the way an
operator would, and checks what it shows and does against the control API itself.

  status_browser.py check --driver URL --profile DIR --page URL --token T --pool P
        --expect N1,N2,.. --drain N [--errors N] [--listener URL] [--hostile NAME]
        [--route LISTENER/ROUTE] [--shot FILE]
      Opens the page, answers the token prompt, waits until every expected backend is
      rendered up and active with traffic figures (requests/s, p99; with --errors, an
      error rate above 0 on that backend), clicks Drain on one and checks through
      GET /v1/pools/P/backends/N that it is draining and out of rotation (with
      --listener, also that no new request reaches it), clicks Enable and checks it is
      back, re-weights it (and a weight out of range is refused), with --refused checks
      that fulcrum's error for a drain is shown, that a refused token asks again, and that
      the browser reported no CSP violation. --hostile: a backend whose name is HTML
      must show as text. --route: that route of that listener is shown in the listener's
      routes table with its conditions and action as GET /v1/status has them, its request
      count above 0 and a request rate (traffic must go through it).
      --shot: a screenshot at the end (also on failure).
  status_browser.py screenshot --driver URL --profile DIR --page URL --token T
        --out FILE [--settle S]
      Opens the page, waits until traffic shows, lets S seconds of sparkline history
      build up, and writes a PNG of the whole page.
Exit status: 0 passed, 1 a check failed, 3 the browser could not be started."""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdriver import Browser, Timeout, WebDriverError, wait_for  # noqa: E402

WAIT = 45          # seconds for anything that depends on a few polls (2 s each)

ROWS_JS = """
var out = {};
document.querySelectorAll('tr[data-backend]').forEach(function (tr) {
  var t = function (c) { var e = tr.querySelector('td.' + c); return e ? e.textContent : null; };
  out[tr.getAttribute('data-pool') + '/' + tr.getAttribute('data-backend')] = {
    admin: tr.getAttribute('data-admin'), health: tr.getAttribute('data-health'),
    rotation: tr.getAttribute('data-in-rotation'), cls: tr.className,
    rps: t('rps'), err: t('err'), p50: t('p50'), p99: t('p99'), name: t('name'),
    imgs: tr.querySelectorAll('img, script, b').length,
    spark: tr.querySelectorAll('td.spark polyline').length };
});
return out;
"""

ROUTES_JS = """
var out = {};
document.querySelectorAll('tr[data-route]').forEach(function (tr) {
  var t = function (c) { var e = tr.querySelector('td.' + c); return e ? e.textContent : null; };
  out[tr.getAttribute('data-listener') + '/' + tr.getAttribute('data-route')] = {
    cond: t('cond'), action: t('action'), req: t('req'), rps: t('rps') };
});
return out;
"""


class CheckFailed(Exception):
    pass


class BrowserUnavailable(Exception):
    pass


def open_browser(a, **kw):
    """A session, or BrowserUnavailable when chromium cannot be started."""
    try:
        return Browser(a.driver, a.profile, binary=a.chromium, **kw)
    except (WebDriverError, OSError) as e:
        raise BrowserUnavailable(str(e)) from None


def log(msg):
    print("-- " + msg, flush=True)


def api(base, token, method, path, body=None):
    """A control API call with the token: (status, parsed JSON body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def css_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def row_sel(pool, name):
    return "tr[data-pool=%s][data-backend=%s]" % (css_str(pool), css_str(name))


def login(b, page, token):
    """Opens the page, which must ask for the token, and gives it."""
    b.get(page)
    wait_for("the token prompt", lambda: b.js("return document.getElementById('login').open"), WAIT)
    b.type("#login-token", token)
    b.click("#login-submit")
    wait_for("the prompt to close", lambda: not b.js("return document.getElementById('login').open"), 10)
    stored = b.js("return sessionStorage.getItem('fulcrum.token')")
    if stored != token:
        raise CheckFailed("the token is not kept in sessionStorage (got %r)" % stored)


MATH_JS = """
var m = window.fulcrumStatusMath, le = [0.001, 0.01, 0.1];
var a = { t: 1000, req: 10, err: 1, buckets: [1, 5, 10, 10], le: le };
var b = { t: 3000, req: 30, err: 2, buckets: [3, 15, 30, 30], le: le };
var c = { t: 3000, req: 40, err: 2, buckets: [3, 15, 30, 40], le: le };
var d = m.diff(a, b), f = m.figures(d);
var two = m.figures(m.sumDiffs([d, m.diff(a, c)]));
return {
  median: m.quantile(0.5, le, [0, 10, 10, 10]),
  p99: m.quantile(0.99, le, [50, 90, 100, 100]),
  inf: m.quantile(0.99, le, [0, 0, 0, 10]),
  none: m.quantile(0.5, le, [0, 0, 0, 0]),
  step: d, rps: f.rps, err: f.err, p50: f.p50,
  reset: m.diff(b, a),
  sum_rps: two.rps, sum_p99: two.p99
};
"""


def check_math(b):
    """The page's rate and percentile arithmetic on counters worked out by hand."""
    r = b.js(MATH_JS)

    def near(x, want):
        return x is not None and abs(x - want) < 1e-9
    problems = []
    if not near(r["median"]["seconds"], 0.0055) or r["median"]["over"]:
        problems.append("median of 10 in (1 ms, 10 ms]: %r, want 5.5 ms" % r["median"])
    if not near(r["p99"]["seconds"], 0.091):
        problems.append("p99 with rank 99 in (10 ms, 100 ms] holding 90..100: %r, want 91 ms" % r["p99"])
    if not (near(r["inf"]["seconds"], 0.1) and r["inf"]["over"]):
        problems.append("p99 in the +Inf bucket: %r, want > 100 ms" % r["inf"])
    if r["none"] is not None:
        problems.append("a quantile of no requests: %r, want none" % r["none"])
    if r["step"] != {"dt": 2, "req": 20, "err": 1, "buckets": [2, 10, 20, 20], "le": [0.001, 0.01, 0.1]}:
        problems.append("difference of two polls: %r" % r["step"])
    if not near(r["rps"], 10) or not near(r["err"], 0.05):
        problems.append("rate and error ratio: %r %r, want 10/s and 5%%" % (r["rps"], r["err"]))
    # 20 requests at 2 s: rank 10 is the 10th of 10 in (1 ms, 10 ms]: the bucket's top
    if not near(r["p50"]["seconds"], 0.01):
        problems.append("p50 of the difference: %r, want 10 ms" % r["p50"])
    if r["reset"] is not None:
        problems.append("a counter that went back gave %r, want no figure" % r["reset"])
    # two backends: 20 + 30 requests in 2 s; 10 of the second's in +Inf: rank 49.5 of 50
    if not near(r["sum_rps"], 25) or not r["sum_p99"]["over"]:
        problems.append("summed backends: %r req/s p99 %r, want 25/s and > 100 ms" % (r["sum_rps"], r["sum_p99"]))
    if problems:
        raise CheckFailed("; ".join(problems))


def rows(b):
    return b.js(ROWS_JS)


def backend(a, pool, name):
    st, body = api(a.page, a.token, "GET", "/v1/pools/%s/backends/%s" % (pool, name))
    if st != 200:
        raise CheckFailed("GET backend %s/%s answered %s: %r" % (pool, name, st, body))
    return body


def instances_answering(listener, n):
    """Which backends answer n fresh requests to the listener's / ("ok NAME")."""
    seen = {}
    for _ in range(n):
        with urllib.request.urlopen(listener.rstrip("/") + "/", timeout=15) as r:
            name = r.read().decode().split()[-1]
        seen[name] = seen.get(name, 0) + 1
    return seen


def check_route(a, b):
    """The route a.route ("listener/route") in the page as GET /v1/status has it."""
    lname, rname = a.route.split("/", 1)
    st, status = api(a.page, a.token, "GET", "/v1/status")
    if st != 200:
        raise CheckFailed("GET /v1/status answered %s" % st)
    want = next((r for l in status.get("listeners", []) if l["name"] == lname
                 for r in l.get("routes", []) if r["name"] == rname), None)
    if want is None:
        raise CheckFailed("GET /v1/status has no route %s" % a.route)

    def shown():
        x = b.js(ROUTES_JS).get(a.route)
        if not x or x["rps"] in ("\u2013", "0.0"):
            return None
        return x if int(x["req"].replace(",", "")) > 0 else None
    x = wait_for("route %s shown with requests and a rate" % a.route, shown, WAIT)
    log("  %s: %s" % (a.route, x))
    for k, v in want.get("match", {}).items():
        if "%s %s" % (k, v) not in x["cond"]:
            raise CheckFailed("route %s: conditions %r lack %s %s" % (a.route, x["cond"], k, v))
    if want.get("action") == "pool" and x["action"] != "pool " + want["pool"]:
        raise CheckFailed("route %s: action %r, want pool %s" % (a.route, x["action"], want["pool"]))


def check(a):
    pool, victim = a.pool, a.drain
    expect = [n for n in a.expect.split(",") if n]
    with open_browser(a) as b:
        try:
            log("open the page and give the token")
            login(b, a.page, a.token)

            log("the page's arithmetic on known counters")
            check_math(b)

            log("wait for %s to be rendered up and active, with traffic figures" % ", ".join(expect))

            def rendered():
                r = rows(b)
                for n in expect:
                    x = r.get(pool + "/" + n)
                    if not x or x["health"] != "up" or x["admin"] != "active" or x["rotation"] != "1":
                        return None
                    if x["rps"] in ("\u2013", "0.0") or x["p99"] == "\u2013" or not x["spark"]:
                        return None
                if a.errors and r[pool + "/" + a.errors]["err"] in ("\u2013", "0%"):
                    return None
                return r
            r = wait_for("backends rendered with requests/s, p99 and history", rendered, WAIT * 2)
            for n in expect:
                log("  %s: %s" % (n, {k: r[pool + "/" + n][k] for k in ("health", "admin", "rps", "err", "p50", "p99")}))
            total = b.text("#sum-rps")
            if total in ("\u2013", "0.0"):
                raise CheckFailed("the summary shows no requests/s: %r" % total)

            if a.route:
                log("the route %s in its listener's routes table" % a.route)
                check_route(a, b)

            if a.cluster:
                log("the cluster line: every replica, the ones behind the latest revision marked")
                want = [x.split(":") for x in a.cluster.split(",")]

                def cluster_line():
                    if b.js("return document.getElementById('cluster').hidden"):
                        return None
                    facts = b.js("""return Array.prototype.map.call(
  document.querySelectorAll('#cluster-facts span'), function (s) { return s.textContent; });""")
                    for w in want:
                        f = [x for x in facts if x.startswith(w[0] + " ")]
                        if not f or (len(w) > 1) != ("behind" in f[0]):
                            return None
                    return facts
                log("  %s" % " | ".join(wait_for("the cluster line", cluster_line, WAIT)))

            if a.hostile:
                log("a backend named with HTML shows as text")
                x = r.get(pool + "/" + a.hostile) or wait_for(
                    "the hostile row", lambda: rows(b).get(pool + "/" + a.hostile), WAIT)
                if a.hostile not in x["name"] or x["imgs"]:
                    raise CheckFailed("the hostile name was not rendered as text: %r" % x)
                if b.js("return document.title") != "fulcrum status":
                    raise CheckFailed("markup from the data ran in the page")

            if a.states:
                log("backends in other states: %s" % a.states)
                want = dict(x.split("=", 1) for x in a.states.split(","))
                wait_for("rows in states %s" % a.states, lambda: all(
                    (rows(b).get(k) or {}).get("health") == v and "s-" + v in rows(b)[k]["cls"]
                    for k, v in want.items()), WAIT)

            log("click Drain on %s" % victim)
            b.click(row_sel(pool, victim) + " button.drain")
            got = wait_for("%s draining through the API" % victim,
                           lambda: (lambda x: x if x.get("admin") == "draining" else None)(backend(a, pool, victim)), WAIT)
            if got.get("in_rotation") is not False:
                raise CheckFailed("%s is draining but still in rotation: %r" % (victim, got))
            wait_for("the page showing %s draining" % victim,
                     lambda: rows(b)[pool + "/" + victim]["admin"] == "draining" and
                     "s-draining" in rows(b)[pool + "/" + victim]["cls"], WAIT)
            # each state is visibly different: the row's edge colour and background
            looks = b.js("""
var out = {};
document.querySelectorAll('tr[data-backend]').forEach(function (tr) {
  var cs = getComputedStyle(tr);
  out[tr.className] = cs.boxShadow + ' / ' + cs.backgroundColor;
});
return out;""")
            distinct = set(looks.values())
            if len(distinct) != len(looks) or "s-draining" not in looks or "s-up" not in looks:
                raise CheckFailed("row states do not look different: %r" % looks)
            log("  %d states, each its own look: %s" % (len(looks), ", ".join(sorted(looks))))
            if a.listener:
                seen = instances_answering(a.listener, 30)
                log("  30 new requests went to %s" % seen)
                if victim in seen:
                    raise CheckFailed("%s still gets new requests after the drain: %r" % (victim, seen))

            log("click Enable on %s" % victim)
            b.click(row_sel(pool, victim) + " button.enable")
            got = wait_for("%s active again through the API" % victim,
                           lambda: (lambda x: x if x.get("admin") == "active" and x.get("in_rotation") else None)(backend(a, pool, victim)), WAIT)
            wait_for("the page showing %s active" % victim,
                     lambda: rows(b)[pool + "/" + victim]["admin"] == "active", WAIT)
            if a.listener:
                seen = wait_for("%s answering again" % victim,
                                lambda: (lambda s: s if victim in s else None)(instances_answering(a.listener, 30)), WAIT)
                log("  30 new requests went to %s" % seen)

            log("re-weight %s to 7" % victim)
            b.click(row_sel(pool, victim) + " button.weight")
            wait_for("the weight dialog", lambda: b.js("return document.getElementById('weight').open"), 10)
            b.clear("#weight-value")
            b.type("#weight-value", "7")
            b.click("#weight-apply")
            wait_for("weight 7 through the API", lambda: backend(a, pool, victim).get("weight") == 7, WAIT)
            wait_for("the dialog to close", lambda: not b.js("return document.getElementById('weight').open"), 10)

            log("a weight out of range is refused in the dialog")
            b.click(row_sel(pool, victim) + " button.weight")
            wait_for("the weight dialog", lambda: b.js("return document.getElementById('weight').open"), 10)
            b.clear("#weight-value")
            b.type("#weight-value", "5000")
            b.click("#weight-apply")
            wait_for("the range error", lambda: "0 to 1000" in b.text("#weight-error"), 10)
            b.click("#weight-cancel")
            if backend(a, pool, victim).get("weight") != 7:
                raise CheckFailed("a refused weight changed the backend")

            if a.refused:
                log("an action fulcrum refuses shows its error")
                rp, rn = a.refused.split("/", 1)
                b.click(row_sel(rp, rn) + " button.drain")
                toast = wait_for("an error notice", lambda: b.js(
                    "var t = document.querySelectorAll('#toasts .toast.error');"
                    "return t.length ? t[t.length - 1].textContent : null"), WAIT)
                if rn not in toast or "conflict" not in toast:
                    raise CheckFailed("the error notice does not say what went wrong: %r" % toast)
                log("  notice: %s" % toast)

            log("a refused token brings the prompt back")
            b.js("sessionStorage.setItem('fulcrum.token', 'not-the-token')")
            b.get(a.page)
            wait_for("the prompt after a 401", lambda: b.js("return document.getElementById('login').open"), WAIT)
            msg = b.text("#login-error")
            if "refused" not in msg:
                raise CheckFailed("the prompt does not say the token was refused: %r" % msg)
            b.type("#login-token", a.token)
            b.click("#login-submit")
            wait_for("rows again with the right token",
                     lambda: rows(b).get(pool + "/" + victim, {}).get("health") == "up", WAIT)

            csp = [m for m in b.console() if "Content Security Policy" in str(m.get("message", ""))]
            if csp:
                raise CheckFailed("the browser reported CSP violations: %r" % csp[:3])
        finally:
            if a.shot:
                try:
                    with open(a.shot, "wb") as f:
                        f.write(b.screenshot())
                except (WebDriverError, OSError) as e:
                    print("no screenshot: %s" % e, file=sys.stderr)
    return 0


def screenshot(a):
    with open_browser(a, width=a.width, height=900) as b:
        login(b, a.page, a.token)
        log("wait for traffic on the page")
        wait_for("requests/s in the summary",
                 lambda: b.text("#sum-rps") not in ("\u2013", "0.0"), WAIT * 2)
        log("let %d s of history build up" % a.settle)
        time.sleep(a.settle)
        # the window's own frame counts in its height: add it to the page's height
        height = b.js("return Math.ceil(document.documentElement.scrollHeight"
                      " + window.outerHeight - window.innerHeight)")
        b.set_size(a.width, min(max(int(height), 600), 4000))
        time.sleep(2.5)  # one more poll at the new size
        png = b.screenshot()
        if png[:8] != b"\x89PNG\r\n\x1a\n":
            raise CheckFailed("the screenshot is not a PNG")
        with open(a.out, "wb") as f:
            f.write(png)
        log("wrote %s (%d bytes)" % (a.out, len(png)))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("check", "screenshot"):
        p = sub.add_parser(name)
        p.add_argument("--driver", required=True)
        p.add_argument("--profile", required=True)
        p.add_argument("--page", required=True)
        p.add_argument("--token", required=True)
        p.add_argument("--chromium", default="/usr/bin/chromium")
    p = sub.choices["check"]
    p.add_argument("--pool", required=True)
    p.add_argument("--expect", required=True)
    p.add_argument("--drain", required=True)
    p.add_argument("--errors")
    p.add_argument("--listener")
    p.add_argument("--hostile")
    p.add_argument("--route", help="listener/route that traffic goes through")
    p.add_argument("--cluster", help="replica ids the cluster line shows, ID:behind for one behind the latest")
    p.add_argument("--refused", help="pool/backend whose drain fulcrum refuses")
    p.add_argument("--states", help="pool/backend=health,...: rows expected in those states")
    p.add_argument("--shot")
    p = sub.choices["screenshot"]
    p.add_argument("--out", required=True)
    p.add_argument("--settle", type=int, default=60)
    p.add_argument("--width", type=int, default=1440)
    a = ap.parse_args()
    try:
        return check(a) if a.cmd == "check" else screenshot(a)
    except BrowserUnavailable as e:
        print("BROWSER: chromium could not be started: %s" % e, file=sys.stderr)
        return 3
    except WebDriverError as e:
        print("FAIL: webdriver: %s" % e, file=sys.stderr)
        return 1
    except (CheckFailed, Timeout) as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
