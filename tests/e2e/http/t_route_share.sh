#!/usr/bin/env bash
# t_route_share.sh: a route's share of its pool (issue 20, per-route admission). One
# gunicorn (4 sync workers, max_conns = 4) serves a slow endpoint (/work, 1 s) and a
# fast one (/); the route "slow" has max_share = 25, so its requests hold at most one
# of the 4 slots. 6 clients flood /work while 12 requests to / are timed: each must
# come back fast (a slow route without a share fills all 4 slots and the fast ones wait
# a second behind it), the backend never sees 2 /work at once, fulcrum_route_inflight
# of the slow route never shows more than 1 and fulcrum_route_limit shows 1, and the
# slow route is still served (its waiters keep their places; none gets a 503). Two
# workers: the count is shared by both, and they take turns at the free place. A
# route with adaptive_limit learns its limit from its own requests, under its max_share.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum
. "$E2E_DIR/ctl_lib.sh"

ports P_LB P_BE P_CTL
start_flask flask "$P_BE" 4
cfg=$T/fulcrum.cfg
{
	E2E_WORKERS=2 cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; pool = "flask";
  routes = ( { name = "slow"; path_prefix = "/work"; pool = "flask"; max_share = 25;
               queue_timeout_ms = 30000; },
             { name = "learn"; path_prefix = "/echo"; pool = "flask"; max_share = 50;
               adaptive_limit = true; } ); } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "f"; address = "127.0.0.1:$P_BE"; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_LB" "$P_CTL"

step "6 clients flood /work (1 s each) while 12 requests to / are timed"
timeout 60 "$PY" - "$P_LB" "$P_CTL" "$TOKEN" >"$T/share.out" 2>"$T/share.err" <<'PYEOF' ||
import http.client, json, re, sys, threading, time
port, ctl, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
stop = threading.Event()
slow_status, inflight, limits = [], [], set()
pat = re.compile(r'^fulcrum_route_(inflight|limit)\{listener="web",route="slow",pool="flask"\} (\S+)$')

def slow():
    # one keep-alive connection per client: it stays on its fulcrum worker
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=40)
    while not stop.is_set():
        try:
            c.request("GET", "/work?ms=1000")
            r = c.getresponse()
            r.read()
            slow_status.append(r.status)
        except (OSError, http.client.HTTPException) as e:
            slow_status.append(str(e))
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=40)

def scrape():
    while not stop.is_set():
        c = http.client.HTTPConnection("127.0.0.1", ctl, timeout=10)
        try:
            c.request("GET", "/metrics", headers={"Authorization": "Bearer " + token})
            for line in c.getresponse().read().decode().splitlines():
                m = pat.match(line)
                if m and m.group(1) == "inflight":
                    inflight.append(int(m.group(2)))
                elif m:
                    limits.add(m.group(2))
        except OSError:
            pass
        c.close()
        time.sleep(0.05)

for f in [slow] * 6 + [scrape]:
    threading.Thread(target=f, daemon=True).start()
time.sleep(2.0)  # the 6 slow requests are in: 1 at the backend (4 without a share), the rest queued
fast = []
for i in range(12):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    t0 = time.monotonic()
    c.request("GET", "/")
    r = c.getresponse()
    r.read()
    fast.append((r.status, round((time.monotonic() - t0) * 1000)))
    c.close()
    time.sleep(0.25)
stop.set()
print(json.dumps({"fast": fast, "slow": list(slow_status), "inflight_max": max(inflight, default=-1),
                  "inflight_samples": len(inflight), "limits": sorted(limits)}))
PYEOF
	fail "the load driver failed: $(cat "$T/share.out" "$T/share.err")"
out=$(cat "$T/share.out")
echo "   $out"
echo "   backend /work (inflight peak total): $(cat "$T/conc.flask")"
assert_eq "$(json_get "$out" '" ".join(str(s) for s, ms in d["fast"])')" \
	"$(printf '200 %.0s' $(seq 12) | sed 's/ $//')" "statuses of the fast requests"
slowest=$(json_get "$out" 'max(ms for s, ms in d["fast"])')
assert_cmp "$slowest" "<" 500 "the slowest fast request (ms) while /work is flooded"
assert_eq "$(cut -d' ' -f2 "$T/conc.flask")" 1 "peak of /work at the backend"
assert_eq "$(json_get "$out" 'd["inflight_max"]')" 1 "largest fulcrum_route_inflight of the slow route"
assert_cmp "$(json_get "$out" 'd["inflight_samples"]')" ">" 5 "scrapes that showed the slow route"
assert_eq "$(json_get "$out" '" ".join(d["limits"])')" 1 "fulcrum_route_limit of the slow route"
assert_cmp "$(json_get "$out" 'd["slow"].count(200)')" ">=" 3 "slow requests served meanwhile"
assert_eq "$(json_get "$out" 'len([s for s in d["slow"] if s != 200])')" 0 "slow requests that failed"

# the workers take turns at the slow route's place: a worker whose /work request waited
# over 2.5 s (two places freed meanwhile) got one of them for a request of its own
starved=$("$PY" - "$T/access.log" <<'PYEOF'
import json, sys
waited, served = set(), set()
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("route") != "slow":
        continue
    w = d["connection"].split(".")[0]
    if d["status"] == 200:
        served.add(w)
    if d["queue_ms"] > 2500:
        waited.add(w)
print(" ".join(sorted(waited - served)) or "none")
PYEOF
)
assert_eq "$starved" none "workers whose slow requests waited over 2.5 s and got no place"

step "GET /v1/status shows the route's share"
assert_eq "$(api GET /v1/status)" 200 "GET /v1/status"
assert_eq "$(json_get "$(cat "$T/api.body")" \
	'[r for l in d["listeners"] if l["name"] == "web" for r in l["routes"] if r["name"] == "slow"][0]["shares"][0]["limit"]')" \
	1 "the slow route's limit in the status"
step "adaptive_limit: the route \"learn\" learns its limit from its latency, up to its share (2 of 4)"
# metric NAME ROUTE: one sample of the route's share gauge
metric() {
	hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/metrics" |
		sed -n "s/^$1{listener=\"web\",route=\"$2\",pool=\"flask\"} //p"
}
assert_eq "$(metric fulcrum_route_limit learn)" 1 "the learned limit before any request"
timeout 60 "$PY" - "$P_LB" >"$T/learn.out" 2>&1 <<'PYEOF' || fail "the learn driver failed: $(cat "$T/learn.out")"
import http.client, sys, threading
port = int(sys.argv[1])
bad = []
def loop():
    for i in range(24):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        c.request("GET", "/echo?ms=50")
        r = c.getresponse()
        r.read()
        if r.status != 200:
            bad.append(r.status)
        c.close()
ts = [threading.Thread(target=loop) for _ in range(2)]
[t.start() for t in ts]
[t.join() for t in ts]
print("bad=%d" % len(bad))
PYEOF
assert_eq "$(cat "$T/learn.out")" "bad=0" "requests of the learning route"
assert_eq "$(metric fulcrum_route_limit learn)" 2 "the learned limit after 48 requests, 2 at a time"
assert_eq "$(metric fulcrum_route_inflight learn)" 0 "requests of the learning route in flight at the end"
hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/metrics" >"$T/metrics.txt"
"$PY" "$E2E_DIR/promparse.py" check "$T/metrics.txt" >"$T/promparse.out" 2>&1 ||
	fail "the strict parser rejects /metrics: $(head -c 1500 "$T/promparse.out")"
echo ok
