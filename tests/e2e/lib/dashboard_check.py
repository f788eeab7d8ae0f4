"""dashboard_check.py: checks deploy/grafana/fulcrum-dashboard.json against the metrics
fulcrum exports, so that a renamed metric or label cannot leave a panel silently empty.

  dashboard_check.py static DASHBOARD [--docs docs/metrics.md]
      The JSON parses; it has the datasource, instance, pool and backend variables and
      every query uses ${datasource}; panel ids are unique; every metric a query names
      is in the metrics contract (below) and, when the docs file exists, documented
      there; the labels it selects on belong to that metric; rate/increase only over
      counters and histogram series, histogram_quantile only over _bucket; parentheses
      balance. With promtool on PATH, every expression is also parsed by promtool.
  dashboard_check.py live DASHBOARD METRICS_TEXT
      Every metric the dashboard uses appears in a real scrape of GET /metrics, with the
      labels its queries select on.
Prints what is wrong and exits 1; 0 when all is well."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# The contract between the metrics and the status page work (issue 7): name -> (type,
# labels). Histograms also have _bucket (with le), _sum and _count.
CONTRACT = {
    "fulcrum_backend_requests_total": ("counter", {"pool", "backend", "code"}),
    "fulcrum_backend_active_requests": ("gauge", {"pool", "backend"}),
    "fulcrum_backend_connections_total": ("counter", {"pool", "backend"}),
    "fulcrum_backend_open_connections": ("gauge", {"pool", "backend"}),
    "fulcrum_backend_connect_failures_total": ("counter", {"pool", "backend"}),
    "fulcrum_backend_response_seconds": ("histogram", {"pool", "backend", "phase"}),
    "fulcrum_backend_bytes_total": ("counter", {"pool", "backend", "direction"}),
    "fulcrum_backend_health_state": ("gauge", {"pool", "backend", "state"}),
    "fulcrum_backend_admin_state": ("gauge", {"pool", "backend", "state"}),
    "fulcrum_backend_effective_weight": ("gauge", {"pool", "backend"}),
    "fulcrum_backend_weight": ("gauge", {"pool", "backend"}),
    "fulcrum_backend_health_checks_total": ("counter", {"pool", "backend", "result"}),
    "fulcrum_backend_health_check_duration_seconds": ("histogram", {"pool", "backend"}),
    "fulcrum_backend_ejections_total": ("counter", {"pool", "backend"}),
    "fulcrum_pool_queued_requests": ("gauge", {"pool"}),
    "fulcrum_pool_queue_timeouts_total": ("counter", {"pool"}),
    "fulcrum_pool_no_backend_total": ("counter", {"pool"}),
    "fulcrum_listener_connections_accepted_total": ("counter", {"listener"}),
    "fulcrum_listener_active_connections": ("gauge", {"listener"}),
    "fulcrum_listener_requests_total": ("counter", {"listener", "code"}),
    "fulcrum_listener_tls_handshakes_total": ("counter", {"listener"}),
    "fulcrum_listener_tls_handshake_failures_total": ("counter", {"listener", "reason"}),
    "process_cpu_seconds_total": ("counter", set()),
    "process_resident_memory_bytes": ("gauge", set()),
    "process_open_fds": ("gauge", set()),
    "process_max_fds": ("gauge", set()),
    "process_start_time_seconds": ("gauge", set()),
    "fulcrum_config_generation": ("gauge", set()),
    "fulcrum_reloads_total": ("counter", {"result"}),
    "fulcrum_uptime_seconds": ("gauge", set()),
    "fulcrum_build_info": ("gauge", {"version", "openssl"}),
    "fulcrum_workers": ("gauge", set()),
}
# Labels Prometheus adds at scrape time, usable on every series.
TARGET_LABELS = {"instance", "job", "namespace", "pod", "service", "container", "endpoint"}
# Grafana's variables, replaced by something PromQL parses.
GRAFANA_VARS = [("$__rate_interval", "1m"), ("$__interval", "1m"), ("$__range", "1h"),
                ("$instance", ".*"), ("$pool", ".*"), ("$backend", ".*")]
NAME = re.compile(r"\b((?:fulcrum|process)_[a-zA-Z0-9_]+)\b")
SELECTOR = re.compile(r"\b((?:fulcrum|process)_[a-zA-Z0-9_]+)\s*\{([^}]*)\}")
MATCHER = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*\"(?:[^\"\\]|\\.)*\"\s*(?:,|$)")


def base_of(name):
    """(contract name, suffix) of a series name: histogram series map to their base."""
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and CONTRACT.get(name[:-len(suffix)], ("",))[0] == "histogram":
            return name[:-len(suffix)], suffix
    return name, ""


def queries(dash):
    """(where, expr) of every PromQL expression: panel targets, variables, annotations."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append(("panel %r target %s" % (p.get("title"), t.get("refId")), t.get("expr", "")))
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            out.append(("variable %s" % v["name"], q.get("query") if isinstance(q, dict) else q))
    for a in dash.get("annotations", {}).get("list", []):
        if a.get("expr"):
            out.append(("annotation %r" % a.get("name"), a["expr"]))
    return out


def documented_names(path):
    with open(path) as f:
        return set(NAME.findall(f.read()))


def check_static(dash, docs):
    errs = []
    names = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    if names.get("datasource", {}).get("type") != "datasource" or names["datasource"].get("query") != "prometheus":
        errs.append("no Prometheus datasource variable named datasource")
    for v in ("instance", "pool", "backend"):
        if names.get(v, {}).get("type") != "query":
            errs.append("no query variable %s" % v)
    ids = []

    def walk(panels):
        for p in panels:
            ids.append(p.get("id"))
            if p.get("type") != "row":
                for t in [p] + p.get("targets", []):
                    if t.get("datasource", {}).get("uid") != "${datasource}":
                        errs.append("panel %r: datasource is not ${datasource}" % p.get("title"))
                if not p.get("gridPos"):
                    errs.append("panel %r has no gridPos" % p.get("title"))
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    if len(ids) != len(set(ids)):
        errs.append("panel ids are not unique: %r" % ids)
    documented = documented_names(docs) if docs and os.path.exists(docs) else None
    exprs = queries(dash)
    if len(exprs) < 20:
        errs.append("only %d queries: the dashboard lost its panels?" % len(exprs))
    for where, expr in exprs:
        if not expr:
            errs.append("%s: empty expression" % where)
            continue
        if expr.count("(") != expr.count(")") or expr.count("{") != expr.count("}"):
            errs.append("%s: unbalanced brackets in %s" % (where, expr))
        used = NAME.findall(expr)
        if not used:
            errs.append("%s: names no fulcrum metric: %s" % (where, expr))
        for n in used:
            base, suffix = base_of(n)
            if base not in CONTRACT:
                errs.append("%s: %s is not a metric of the contract" % (where, n))
                continue
            kind = CONTRACT[base][0]
            if kind == "histogram" and not suffix:
                errs.append("%s: %s is a histogram: use _bucket, _sum or _count" % (where, n))
            if documented is not None and base not in documented and n not in documented:
                errs.append("%s: %s is not in %s" % (where, n, docs))
        for n, body in SELECTOR.findall(expr):
            base, suffix = base_of(n)
            allowed = CONTRACT.get(base, ("", set()))[1] | TARGET_LABELS | ({"le"} if suffix == "_bucket" else set())
            pos = 0
            while pos < len(body.strip()):
                m = MATCHER.match(body.strip(), pos)
                if not m:
                    errs.append("%s: cannot read the matchers of %s{%s}" % (where, n, body))
                    break
                if m.group(1) not in allowed:
                    errs.append("%s: %s has no label %s" % (where, n, m.group(1)))
                pos = m.end()
        for fn, n in re.findall(r"\b(rate|increase|irate)\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)", expr):
            base, suffix = base_of(n)
            if CONTRACT.get(base, ("",))[0] != "counter" and suffix not in ("_bucket", "_sum", "_count"):
                errs.append("%s: %s() over %s, which is not a counter" % (where, fn, n))
        for inner in re.findall(r"histogram_quantile\([^,]+,(.*)", expr):
            hist = [x for x in NAME.findall(inner) if base_of(x)[1]]
            if not hist or not all(x.endswith("_bucket") for x in hist[:1]):
                errs.append("%s: histogram_quantile over no _bucket series" % where)
    promtool = shutil.which("promtool")
    if promtool:
        rules = {"groups": [{"name": "dashboard", "rules": []}]}
        for i, (where, expr) in enumerate(exprs):
            if expr.startswith("label_values("):
                continue
            for var, val in GRAFANA_VARS:
                expr = expr.replace(var, val)
            rules["groups"][0]["rules"].append({"record": "dashboard:q%d" % i, "expr": expr})
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            json.dump(rules, f)  # JSON is YAML
        r = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True, timeout=60)
        os.unlink(f.name)
        if r.returncode != 0:
            errs.append("promtool does not parse every query:\n" + r.stdout + r.stderr)
        else:
            print("promtool parsed %d queries" % len(rules["groups"][0]["rules"]))
    return errs, len(exprs)


def check_live(dash, text):
    have = {}  # series name -> label names seen on it
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = re.split(r"[{ ]", line, 1)[0]
            labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', line.split("}", 1)[0])) if "{" in line else set()
            have.setdefault(name, set()).update(labels)
    errs = []
    for where, expr in queries(dash):
        for n in NAME.findall(expr):
            if n not in have:
                errs.append("%s: %s is not in GET /metrics" % (where, n))
        for n, body in SELECTOR.findall(expr):
            for label, _op in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)", body):
                if n in have and label not in have[n] | TARGET_LABELS:
                    errs.append("%s: %s has no label %s in GET /metrics" % (where, n, label))
    return errs


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("static", "live"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[2]) as f:
        dash = json.load(f)
    if sys.argv[1] == "static":
        docs = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--docs" else None
        errs, n = check_static(dash, docs)
        what = "%d queries checked against the contract%s" % (
            n, " and %s" % docs if docs and os.path.exists(docs) else "")
    else:
        with open(sys.argv[3]) as f:
            errs = check_live(dash, f.read())
        what = "every metric the dashboard uses is in GET /metrics"
    for e in sorted(set(errs)):
        print("dashboard: " + e)
    if errs:
        return 1
    print("dashboard: " + what)
    return 0


if __name__ == "__main__":
    sys.exit(main())
