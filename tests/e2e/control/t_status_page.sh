#!/usr/bin/env bash
# t_status_page.sh: the status page of the real fulcrum, with three Flask backends and
# traffic. GET / serves the page byte for byte from memory without a token, with a CSP
# that allows exactly its own inline blocks (hashes recomputed here), no-cache and
# nosniff. Then, in headless chromium: the page asks for the token, renders the
# backends up with requests/s, error rate (web-3 answers 500s), p99 and history, and
# the listener's routes (the traffic's route "work" with its conditions, action, request
# count and rate, as GET /v1/stats and /v1/status have them);
# clicking Drain on web-2 takes it out of rotation (GET /v1/pools/flask/backends/web-2
# and new requests), Enable brings it back, Weight re-weights it, a refused token asks
# again. Skips the browser part (SKIP, exit 77) only when GET /v1/stats answers 404:
# a build without the metrics branch; t_status_page_stub covers the page then.
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
. "$E2E_DIR/browser_lib.sh"
need_fulcrum

ports P_WEB P_CTL P_A P_B P_C
start_flask web-1 "$P_A" 2
start_flask web-2 "$P_B" 2
start_flask web-3 "$P_C" 2
echo 500 >"$T/status.web-3"   # web-3's /work answers 500: errors for the page to show

cfg=$T/fulcrum.cfg
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
                routes = ( { name = "work"; path_prefix = "/work"; pool = "flask"; },
                           { name = "robots"; path = "/robots.txt"; respond = { status = 200; body = "ok"; }; } ); } );
pools = ( { name = "flask";
            health = { type = "http"; path = "/healthz"; interval_ms = 500; timeout_ms = 2000; rise = 1; fall = 3; };
            passive = { error_status = ""; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_A"; weight = 4; max_conns = 8; },
                         { name = "web-2"; address = "127.0.0.1:$P_B"; weight = 4; max_conns = 8; },
                         { name = "web-3"; address = "127.0.0.1:$P_C"; weight = 2; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
wait_http "http://127.0.0.1:$P_WEB/healthz" 20

step "GET / serves the page from memory, without a token, with its security headers"
hdrs=$(curl -sS --noproxy '*' --max-time 10 -D - -o "$T/page.html" "http://127.0.0.1:$P_CTL/" | tr -d '\r')
assert_match "$(head -1 <<<"$hdrs")" '^HTTP/1.1 200 ' "GET / status line"
cmp -s "$T/page.html" "$REPO_DIR/control/status_page.html" ||
	fail "GET / is not control/status_page.html byte for byte"
assert_contains "$hdrs" $'\nContent-Type: text/html; charset=utf-8\n' "GET / headers"
assert_contains "$hdrs" $'\nCache-Control: no-cache\n' "GET / headers"
assert_not_contains "$hdrs" "no-store" "GET / headers"
assert_contains "$hdrs" $'\nX-Content-Type-Options: nosniff\n' "GET / headers"
csp=$(sed -n 's/^Content-Security-Policy: //p' <<<"$hdrs")
want=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import fake_stats
print(fake_stats.csp_for(open(sys.argv[2], "rb").read()))' "$E2E_DIR" "$REPO_DIR/control/status_page.html")
assert_eq "$csp" "$want" "Content-Security-Policy"
assert_not_contains "$csp" "unsafe" "Content-Security-Policy"
assert_eq "$(http_status "http://127.0.0.1:$P_CTL/" -X POST)" 405 "POST /"

step "GET /v1/stats answers with the backends (the page's data)"
st=$(api GET /v1/stats)
if [ "$st" = 404 ]; then
	skip "GET /v1/stats answers 404: this fulcrum has no metrics yet (branch metrics, issue 7, not merged); GET / was checked, and t_status_page_stub runs the browser checks against a stand-in"
fi
assert_eq "$st" 200 "GET /v1/stats"
"$PY" - "$T/api.body" <<'EOF' || fail "GET /v1/stats does not follow the contract: $(head -c 600 "$T/api.body")"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("now_ms", "generation", "uptime_s", "version", "pools"):
    assert k in d, k
pool = next(p for p in d["pools"] if p["name"] == "flask")
names = sorted(b["name"] for b in pool["backends"])
assert names == ["web-1", "web-2", "web-3"], names
for b in pool["backends"]:
    for k in ("address", "admin", "health", "weight", "effective_weight", "max_conns", "active",
              "open_connections", "requests_total", "errors_total", "latency_buckets_le_s",
              "latency_buckets"):
        assert k in b, (b["name"], k)
    assert len(b["latency_buckets"]) == len(b["latency_buckets_le_s"]) + 1, b["name"]
web = next(l for l in d["listeners"] if l["name"] == "web")
assert [r["name"] for r in web["routes"]] == ["work", "robots"], web
assert web["routes"][0]["match"] == {"path_prefix": "/work"}, web["routes"][0]
assert web["routes"][0]["action"] == "pool" and web["routes"][0]["pool"] == "flask", web["routes"][0]
assert web["routes"][1]["action"] == "respond" and "requests" in web["routes"][1], web["routes"][1]
EOF

step "the page in headless chromium, with traffic"
start_browser
bg hload TERM "$PY" "$E2E_DIR/hload.py" run --port "$P_WEB" --clients 3 --duration 150 --path "/work?ms=5" --pause 0.01
browser_run check --page "http://127.0.0.1:$P_CTL/" --token "$TOKEN" --pool flask \
	--expect web-1,web-2,web-3 --drain web-2 --errors web-3 --route web/work \
	--listener "http://127.0.0.1:$P_WEB" --shot "$T/page.png"

step "the API agrees with what the page did"
assert_eq "$(api GET /v1/pools/flask/backends/web-2)" 200 "GET web-2"
assert_eq "$(json_get "$(cat "$T/api.body")" '[d["admin"], d["in_rotation"], d["weight"]]')" \
	'["active", true, 7]' "web-2 after drain, enable and weight 7"
