#!/usr/bin/env bash
# t_metrics.sh: GET /metrics and GET /v1/stats after a known mix of requests: N 200s and
# M 404s from two Flask instances, K 503s from a pool whose only backend is dead. The
# counters per backend match what each gunicorn logged itself, per listener what was
# sent, exactly; the exposition passes promtool (when installed) and a strict parser;
# /metrics needs the token unless control.metrics_public; reloads are counted.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum
. "$E2E_DIR/ctl_lib.sh"

N=24 M=7 K=5
ports P_WEB P_DEAD P_CTL P_A1 P_A2 P_GONE
start_flask web-1 "$P_A1" 1
start_flask web-2 "$P_A2" 1

cfg=$T/fulcrum.cfg
write_cfg() {
	{
		cfg_common
		echo "control = { listen = \"127.0.0.1:$P_CTL\"; token_file = \"$T/token\"; metrics_public = $1; };"
		cat <<EOF
listeners = (
  { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "app"; },
  { name = "dead"; bind = "127.0.0.1:$P_DEAD"; mode = "http"; pool = "gone"; } );
pools = (
  { name = "app"; balance = "rr"; health = { type = "none"; };
    backends = ( { name = "web-1"; address = "127.0.0.1:$P_A1"; weight = 1; max_conns = 8; },
                 { name = "web-2"; address = "127.0.0.1:$P_A2"; weight = 1; max_conns = 8; } ); },
  { name = "gone"; health = { type = "none"; }; connect_timeout_ms = 1000;
    passive = { connect_failures = 0; errors = 0; };
    backends = ( { name = "dead-1"; address = "127.0.0.1:$P_GONE"; weight = 1; max_conns = 4; } ); } );
EOF
	} >"$cfg"
}
write_cfg false
start_fulcrum "$cfg" "$P_WEB" "$P_DEAD" "$P_CTL"

# scrape FILE: GET /metrics with the token into FILE; fails unless 200.
scrape() {
	local code
	code=$(http_status_body "$1" "http://127.0.0.1:$P_CTL/metrics" -H "Authorization: Bearer $TOKEN" -D "$1.hdr")
	assert_eq "$code" 200 "GET /metrics ($(head -c 200 "$1"))"
}
# metric JSONFILE 'name{labels}': one sample's value, an integer when whole ("none" if
# absent); the labels may come in any order.
metric() {
	"$PY" -c '
import json, re, sys
d = json.load(open(sys.argv[1]))
name, labels = re.fullmatch(r"([^{]*)\{(.*)\}", sys.argv[2]).groups()
key = name + "{" + ",".join(sorted(re.findall(r"[a-z_]+=\"[^\"]*\"", labels))) + "}"
v = d.get(key)
print("none" if v is None else (int(v) if v == int(v) else v))' "$1" "$2"
}
check_format() {
	"$PY" "$E2E_DIR/promparse.py" check "$1" >"$T/promparse.out" 2>&1 ||
		fail "the strict parser rejects /metrics: $(head -c 1500 "$T/promparse.out")"
	if command -v promtool >/dev/null; then
		promtool check metrics <"$1" >"$T/promtool.out" 2>&1 ||
			fail "promtool check metrics: $(head -c 1500 "$T/promtool.out")"
		echo "   promtool check metrics: ok"
	else
		echo "   promtool not installed: the strict parser alone ($(cat "$T/promparse.out"))"
	fi
}

step "/metrics needs the token unless control.metrics_public"
assert_eq "$(http_status "http://127.0.0.1:$P_CTL/metrics")" 401 "/metrics without a token"
scrape "$T/m0"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/m0.hdr" || fail "content type of /metrics: $(cat "$T/m0.hdr")"
check_format "$T/m0"
"$PY" "$E2E_DIR/promparse.py" json "$T/m0" >"$T/m0.json"
assert_eq "$(metric "$T/m0.json" 'fulcrum_backend_requests_total{backend="web-1",code="2xx",pool="app"}')" 0 "web-1 2xx before any request"
assert_eq "$(metric "$T/m0.json" 'fulcrum_workers{}')" "${E2E_WORKERS:-1}" "fulcrum_workers"

step "a known mix: $N x 200 and $M x 404 on web, $K x 503 on dead"
for ((i = 0; i < N; i++)); do
	code=$(http_status "http://127.0.0.1:$P_WEB/p/ok$i")
	assert_eq "$code" 200 "GET /p/ok$i"
done
for ((i = 0; i < M; i++)); do
	code=$(http_status "http://127.0.0.1:$P_WEB/status/404")
	assert_eq "$code" 404 "GET /status/404 #$i"
done
for ((i = 0; i < K; i++)); do
	code=$(http_status "http://127.0.0.1:$P_DEAD/x$i")
	assert_eq "$code" 503 "GET on the dead pool #$i"
done
alog_wait $((N + M + K))

# What each gunicorn says it answered (its own access log, independent of fulcrum).
g200() { grep -c '"GET /p/ok[0-9]* HTTP/1.1" 200 ' "$T/$1.log" || true; }
g404() { grep -c '"GET /status/404 HTTP/1.1" 404 ' "$T/$1.log" || true; }
w1_200=$(g200 web-1) w2_200=$(g200 web-2) w1_404=$(g404 web-1) w2_404=$(g404 web-2)
echo "   gunicorn logs: web-1 $w1_200 x 200, $w1_404 x 404; web-2 $w2_200 x 200, $w2_404 x 404"
assert_eq "$((w1_200 + w2_200))" "$N" "200s the two instances logged"
assert_eq "$((w1_404 + w2_404))" "$M" "404s the two instances logged"

scrape "$T/m1"
check_format "$T/m1"
"$PY" "$E2E_DIR/promparse.py" json "$T/m1" >"$T/m1.json"
m() { metric "$T/m1.json" "$1"; }
for b in web-1 web-2; do
	if [ $b = web-1 ]; then ok=$w1_200 nf=$w1_404; else ok=$w2_200 nf=$w2_404; fi
	L="backend=\"$b\""
	assert_eq "$(m "fulcrum_backend_requests_total{$L,code=\"2xx\",pool=\"app\"}")" "$ok" "$b 2xx"
	assert_eq "$(m "fulcrum_backend_requests_total{$L,code=\"4xx\",pool=\"app\"}")" "$nf" "$b 4xx"
	assert_eq "$(m "fulcrum_backend_requests_total{$L,code=\"5xx\",pool=\"app\"}")" 0 "$b 5xx"
	assert_eq "$(m "fulcrum_backend_response_seconds_count{$L,phase=\"total\",pool=\"app\"}")" "$((ok + nf))" "$b total-time observations"
	assert_eq "$(m "fulcrum_backend_response_seconds_count{$L,phase=\"first_byte\",pool=\"app\"}")" "$((ok + nf))" "$b first-byte observations"
	assert_eq "$(m "fulcrum_backend_response_seconds_bucket{$L,le=\"+Inf\",phase=\"total\",pool=\"app\"}")" "$((ok + nf))" "$b +Inf bucket"
	assert_eq "$(m "fulcrum_backend_connect_failures_total{$L,pool=\"app\"}")" 0 "$b connect failures"
	assert_eq "$(m "fulcrum_backend_active_requests{$L,pool=\"app\"}")" 0 "$b active requests"
	conns=$(m "fulcrum_backend_connections_total{$L,pool=\"app\"}")
	assert_cmp "$conns" ">=" 1 "$b connections"
	assert_cmp "$conns" "<=" "$((ok + nf))" "$b connections (at most one per request)"
	assert_cmp "$(m "fulcrum_backend_bytes_total{$L,direction=\"sent\",pool=\"app\"}")" ">" "$(((ok + nf) * 30))" "$b bytes sent"
	assert_cmp "$(m "fulcrum_backend_bytes_total{$L,direction=\"received\",pool=\"app\"}")" ">" "$(((ok + nf) * 30))" "$b bytes received"
	assert_eq "$(m "fulcrum_backend_health_state{$L,pool=\"app\",state=\"up\"}")" 1 "$b health up"
	assert_eq "$(m "fulcrum_backend_health_state{$L,pool=\"app\",state=\"down\"}")" 0 "$b health not down"
	assert_eq "$(m "fulcrum_backend_admin_state{$L,pool=\"app\",state=\"active\"}")" 1 "$b admin active"
	assert_eq "$(m "fulcrum_backend_weight{$L,pool=\"app\"}")" 1 "$b weight"
	assert_eq "$(m "fulcrum_backend_effective_weight{$L,pool=\"app\"}")" 1 "$b effective weight"
done
L='backend="dead-1",pool="gone"'
assert_eq "$(m "fulcrum_backend_requests_total{$L,code=\"5xx\"}")" "$K" "dead-1 5xx"
assert_eq "$(m "fulcrum_backend_requests_total{$L,code=\"2xx\"}")" 0 "dead-1 2xx"
# a refused connect is retried while attempts <= backends in the pool, and a one-backend
# pool picks its only (failed) backend again: 2 attempts per request
assert_eq "$(m "fulcrum_backend_connect_failures_total{$L}")" "$((2 * K))" "dead-1 connect failures (2 attempts per request)"
assert_eq "$(m "fulcrum_backend_connections_total{$L}")" 0 "dead-1 connections"
assert_eq "$(m "fulcrum_backend_response_seconds_count{$L,phase=\"connect\"}")" 0 "dead-1 connect observations (it never connected)"
assert_eq "$(m "fulcrum_backend_response_seconds_count{$L,phase=\"total\"}")" "$K" "dead-1 total observations"
assert_eq "$(m 'fulcrum_pool_no_backend_total{pool="gone"}')" 0 "no-backend 503s (the backend stays eligible)"
assert_eq "$(m 'fulcrum_pool_queued_requests{pool="app"}')" 0 "queued requests"
assert_eq "$(m 'fulcrum_listener_requests_total{code="2xx",listener="web"}')" "$N" "web listener 2xx"
assert_eq "$(m 'fulcrum_listener_requests_total{code="4xx",listener="web"}')" "$M" "web listener 4xx"
assert_eq "$(m 'fulcrum_listener_requests_total{code="5xx",listener="web"}')" 0 "web listener 5xx"
assert_eq "$(m 'fulcrum_listener_requests_total{code="5xx",listener="dead"}')" "$K" "dead listener 5xx"
assert_eq "$(m 'fulcrum_listener_connections_accepted_total{listener="web"}')" "$((N + M))" "web connections accepted (one curl each)"
assert_eq "$(m 'fulcrum_listener_connections_accepted_total{listener="dead"}')" "$K" "dead connections accepted"
assert_eq "$(m 'fulcrum_config_generation{}')" 1 "config generation"
assert_eq "$(m 'fulcrum_reloads_total{result="success"}')" 0 "reloads before any"
assert_cmp "$(m 'process_resident_memory_bytes{}')" ">" 1000000 "resident memory"
assert_cmp "$(m 'process_open_fds{}')" ">" 5 "open fds"
grep -q '^fulcrum_build_info{version="[0-9.]*",openssl="OpenSSL [^"]*"} 1$' "$T/m1" || fail "fulcrum_build_info: $(grep build_info "$T/m1")"

step "/v1/stats has the shape of the contract and the same counts"
code=$(api GET /v1/stats)
assert_eq "$code" 200 "GET /v1/stats ($(head -c 200 "$T/api.body"))"
"$PY" - "$T/api.body" "$T/m1.json" "$K" <<'EOF' || fail "/v1/stats: see above"
import json, sys
d = json.load(open(sys.argv[1])); m = json.load(open(sys.argv[2])); K = int(sys.argv[3])
def need(cond, what):
    if not cond:
        sys.exit("/v1/stats: %s: %s" % (what, json.dumps(d)[:800]))
need(set(d) == {"now_ms", "generation", "uptime_s", "version", "h2", "pools", "listeners"}, "top-level keys")
need(d["listeners"] == [], "listeners: only those with routes, and this one has none")
need(d["generation"] == 1 and d["uptime_s"] > 0 and d["now_ms"] > 1.7e12, "generation, uptime, now")
pools = {p["name"]: p for p in d["pools"]}
need(set(pools) == {"app", "gone"} and all(set(p) == {"name", "queued", "backends"} for p in pools.values()), "pools")
keys = {"name", "address", "admin", "health", "health_reason", "weight", "effective_weight", "max_conns",
        "active", "open_connections", "requests_total", "errors_total", "latency_buckets_le_s", "latency_buckets"}
les = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
for p in pools.values():
    for b in p["backends"]:
        need(set(b) == keys, "keys of backend %s" % b.get("name"))
        need(b["latency_buckets_le_s"] == les, "bucket bounds")
        c = b["latency_buckets"]
        need(len(c) == 15 and all(c[i] <= c[i + 1] for i in range(14)), "cumulative buckets of %s" % b["name"])
        total = sum(m['fulcrum_backend_requests_total{backend="%s",code="%s",pool="%s"}' % (b["name"], k, p["name"])]
                    for k in ("2xx", "3xx", "4xx", "5xx", "other"))
        need(b["requests_total"] == total and c[-1] == total, "requests_total of %s = %s" % (b["name"], total))
        need(b["admin"] == "active" and b["health"] == "up" and b["weight"] == 1, "state of %s" % b["name"])
web = {b["name"]: b for b in pools["app"]["backends"]}
need(web["web-1"]["errors_total"] == 0 and web["web-1"]["address"].startswith("127.0.0.1:"), "web-1")
need(pools["gone"]["backends"][0]["errors_total"] == K, "errors_total of dead-1")
print("   /v1/stats: shape and counts match")
EOF

step "the backend JSON shows health state, reason, weights and the last check"
code=$(api GET /v1/pools/app/backends/web-1)
assert_eq "$code" 200 "GET backend web-1"
for f in '"state":"up"' '"reason":' '"since_s":' '"effective_weight":1' '"slow_start_permille":1000' '"ejections_total":0' '"last_check":{"result":"none"' '"health":"up"' '"active":0'; do
	assert_contains "$(cat "$T/api.body")" "$f" "backend JSON"
done

step "reloads are counted; metrics_public opens /metrics without the token"
write_cfg true
assert_eq "$(api POST /v1/config/reload)" 200 "reload with metrics_public = true ($(cat "$T/api.body"))"
assert_eq "$(http_status_body "$T/m2" "http://127.0.0.1:$P_CTL/metrics")" 200 "/metrics without a token now"
assert_eq "$(http_status "http://127.0.0.1:$P_CTL/v1/stats")" 401 "/v1/stats still needs the token"
echo 'this is = not a config' >"$cfg"
assert_eq "$(api POST /v1/config/reload)" 422 "reload of a broken file"
"$PY" "$E2E_DIR/promparse.py" json "$T/m2" >"$T/m2.json"
scrape "$T/m3"
"$PY" "$E2E_DIR/promparse.py" json "$T/m3" >"$T/m3.json"
assert_eq "$(metric "$T/m3.json" 'fulcrum_reloads_total{result="success"}')" 1 "successful reloads"
assert_eq "$(metric "$T/m3.json" 'fulcrum_reloads_total{result="failure"}')" 1 "failed reloads"
assert_eq "$(metric "$T/m3.json" 'fulcrum_config_generation{}')" 2 "generation after the reload"
step "counters of backends kept across the reload stay"
assert_eq "$(metric "$T/m3.json" 'fulcrum_backend_requests_total{backend="web-1",code="2xx",pool="app"}')" "$w1_200" "web-1 2xx after the reload"
assert_eq "$(metric "$T/m3.json" 'fulcrum_listener_requests_total{code="2xx",listener="web"}')" "$N" "web 2xx after the reload"
assert_eq "$(metric "$T/m3.json" 'fulcrum_listener_active_connections{listener="web"}')" 0 "open client connections"
check_format "$T/m3"
echo "PASS"
