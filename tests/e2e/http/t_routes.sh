#!/usr/bin/env bash
# t_routes.sh: several pools behind one listener (issue 20, the first part). Two
# gunicorn instances, each a pool of its own ("app" and "api"), behind one listener
# whose routes send Host api.test (any case, any port) and /api/ paths to "api", answer
# /robots.txt and /old/ themselves (a fixed answer, never reaching gunicorn), redirect
# every *.secure.test request to https with path and query kept, and leave the rest to
# the listener's pool. A second listener has routes and no pool: 404 for no match. The
# access log names each route. A reload moves a route to the other pool; a reload with
# a broken route is refused and the running routes stay. Canary rules by header, cookie,
# query parameter and path regex (PCRE2) each send their requests to the api instance
# and the near misses to the app; a bad regex is refused by -t with its line. /metrics
# counts each route's requests exactly, by status class, with a latency histogram; GET
# /v1/status lists each listener's routes (conditions, action, requests), new ones after
# a reload. A route's redirect or fixed answer to a request without a body keeps the
# connection (pipelined requests after it are answered); one with a body closes it.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_LB2 P_APP P_API P_CTL
start_flask app "$P_APP" 1
start_flask api "$P_API" 1
cfg=$T/fulcrum.cfg
# write_cfg REPORTS_POOL [EXTRA_ROUTE]: the test's config, /reports/ sent to REPORTS_POOL
write_cfg() {
	{
		cfg_common
		echo "control = { listen = \"127.0.0.1:$P_CTL\"; metrics_public = true; };"
		cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; pool = "app";
  routes = ( { name = "api-host"; host = "api.test"; pool = "api"; },
             { name = "api-path"; path_prefix = "/api/"; pool = "api"; },
             { name = "reports"; path_prefix = "/reports/"; pool = "$1"; },
             { name = "robots"; path = "/robots.txt"; method = "GET";
               respond = { body = "User-agent: *\nDisallow: /private\n"; }; },
             { name = "maint"; path_prefix = "/old/";
               respond = { status = 503; body = "{\"maintenance\":true}"; content_type = "application/json"; }; },
             { name = "to-https"; host = "*.secure.test"; redirect = { scheme = "https"; status = 308; }; },
             { name = "canary"; header = "X-Canary: 1"; pool = "api"; },
             { name = "beta"; cookie = "beta=1"; pool = "api"; },
             { name = "debug"; query = "debug"; method = "GET"; pool = "api"; },
             { name = "avatar"; path_regex = "^/users/[0-9]+/avatar$"; pool = "api"; }
             ${2:-} ); },
  { name = "only"; bind = "127.0.0.1:$P_LB2";
    routes = ( { name = "only-api"; path_prefix = "/api/"; pool = "api"; } ); } );
pools = ( { name = "app"; health = { type = "none"; }; backends = ( { name = "a"; address = "127.0.0.1:$P_APP"; } ); },
          { name = "api"; health = { type = "none"; }; backends = ( { name = "b"; address = "127.0.0.1:$P_API"; } ); } );
EOF
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}
write_cfg app
"$FULCRUM" -t -c "$cfg" >/dev/null || fail "fulcrum -t refuses the test config: $("$FULCRUM" -t -c "$cfg" 2>&1)"
start_fulcrum "$cfg" "$P_LB" "$P_LB2" "$P_CTL"
u=http://127.0.0.1:$P_LB

step "host and path choose the pool"
assert_eq "$(hcurl "$u/")" "ok app" "/ on the listener's pool"
assert_eq "$(hcurl -H 'Host: API.Test:8443' "$u/")" "ok api" "Host api.test (case and port ignored)"
# the Flask app has no /api/ page: its 404 comes from the instance the route chose
code=$(hcurl -o /dev/null -w '%{http_code}' "$u/api/v1/items")
assert_eq "$code" 404 "/api/v1/items (the app's own 404)"
assert_contains "$(tail -n 3 "$T/api.log")" "GET /api/v1/items" "the api instance got /api/v1/items"
assert_eq "$(hcurl -H 'Host: www.api.test' "$u/")" "ok app" "www.api.test is not api.test"

step "fixed answers never reach gunicorn"
# app_hits: requests for robots.txt or /old/ that reached either gunicorn
app_hits() { cat "$T/app.log" "$T/api.log" | grep -c 'robots\|/old/' || true; }
before=$(app_hits)
out=$(hcurl -D "$T/robots.h" "$u/robots.txt")
assert_contains "$out" "Disallow: /private" "robots.txt body"
assert_contains "$(cat "$T/robots.h")" "HTTP/1.1 200" "robots.txt status"
code=$(hcurl -o "$T/maint.out" -w '%{http_code} %{content_type}' "$u/old/page")
assert_eq "$code" "503 application/json" "maintenance answer"
assert_eq "$(cat "$T/maint.out")" '{"maintenance":true}' "maintenance body"
code=$(hcurl -o /dev/null -w '%{http_code}' -X POST "$u/robots.txt")
assert_eq "$code" 404 "POST /robots.txt (the rule is GET only: the app answers)"
after=$(app_hits)
assert_eq "$((after - before))" 1 "gunicorn requests for robots.txt and /old/ (only the POST)"

step "redirect to https keeps path and query"
hcurl -o /dev/null -D "$T/redir.h" -H 'Host: shop.secure.test' "$u/cart/items?id=7&x=%20y"
assert_contains "$(cat "$T/redir.h")" "HTTP/1.1 308" "redirect status"
assert_contains "$(tr -d '\r' <"$T/redir.h")" "Location: https://shop.secure.test/cart/items?id=7&x=%20y" "Location"

step "a listener with routes and no pool: 404 when none matches"
code=$(hcurl -o "$T/none.out" -w '%{http_code}' "http://127.0.0.1:$P_LB2/elsewhere")
assert_eq "$code" 404 "no route"
assert_contains "$(cat "$T/none.out")" no_route "404 body"
code=$(hcurl -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_LB2/api/x")
assert_eq "$code" 404 "/api/x through the route (the app's own 404)"
assert_contains "$(tail -n 3 "$T/api.log")" "/api/x" "the api instance got /api/x"

step "the access log names the route"
alog_wait 12
assert_eq "$(alog count route=robots)" 1 "robots lines"
assert_eq "$(alog count route=to-https status=308)" 1 "redirect lines"
assert_eq "$(alog count route=api-host pool=api)" 1 "api-host lines"
assert_eq "$(alog count termination=no_route status=404)" 1 "no_route lines"
assert_eq "$(alog count route= pool=app path=/)" 2 "unrouted lines on the listener's pool (/ and www.api.test)"

step "header, cookie, query and regex rules choose the other instance"
assert_eq "$(hcurl -H 'X-Canary: 1' "$u/")" "ok api" "X-Canary: 1"
assert_eq "$(hcurl -H 'x-canary: 1' "$u/")" "ok api" "x-canary: 1 (name any case)"
assert_eq "$(hcurl -H 'X-Canary: 2' "$u/")" "ok app" "X-Canary: 2"
assert_eq "$(hcurl -H 'Cookie: session=x; beta=1' "$u/")" "ok api" "cookie beta=1"
assert_eq "$(hcurl -H 'Cookie: beta=10; xbeta=1' "$u/")" "ok app" "cookie beta=10"
assert_eq "$(hcurl "$u/?a=1&debug")" "ok api" "query parameter debug"
assert_eq "$(hcurl "$u/?debugger=1")" "ok app" "query parameter debugger"
code=$(hcurl -o /dev/null -w '%{http_code}' "$u/users/42/avatar")
assert_eq "$code" 404 "/users/42/avatar (the api's own 404)"
assert_contains "$(tail -n 2 "$T/api.log")" "GET /users/42/avatar" "the api instance got /users/42/avatar"
hcurl -o /dev/null "$u/users/42/avatar.png"
assert_contains "$(tail -n 2 "$T/app.log")" "GET /users/42/avatar.png" "the app got /users/42/avatar.png"
alog_wait 21
assert_eq "$(alog count route=canary pool=api)" 2 "canary lines"
assert_eq "$(alog count route=avatar pool=api)" 1 "avatar lines"

step "per-route metrics are exact"
# sample 'name{labels}': one sample's value from a fresh scrape ("none" if absent)
sample() {
	hcurl -o "$T/metrics" "http://127.0.0.1:$P_CTL/metrics" || fail "GET /metrics"
	awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "none" }' "$T/metrics"
}
# sample_wait 'name{labels}' N: waits up to 5 s for the sample to reach N (a request is
# counted as its exchange ends, a moment after the client has the answer)
sample_wait() {
	local i v
	for ((i = 0; i < 50; i++)); do
		v=$(sample "$1")
		[ "$v" = "$2" ] && return 0
		sleep 0.1
	done
	fail "$1 is $v, expected $2"
}
c_ok='fulcrum_route_requests_total{listener="web",route="canary",code_class="2xx"}'
h_cnt='fulcrum_route_request_duration_seconds_count{listener="web",route="canary"}'
sample_wait "$c_ok" 2
assert_eq "$(sample "$h_cnt")" 2 "canary latency count before"
for ((i = 0; i < 25; i++)); do
	hcurl -o /dev/null -H 'X-Canary: 1' "$u/" || fail "canary request $i"
done
sample_wait "$c_ok" 27
assert_eq "$(sample "$h_cnt")" 27 "canary latency count after 25 more"
assert_eq "$(sample 'fulcrum_route_request_duration_seconds_bucket{listener="web",route="canary",le="+Inf"}')" 27 "+Inf bucket"
assert_eq "$(sample 'fulcrum_route_requests_total{listener="web",route="to-https",code_class="3xx"}')" 1 "redirects"
assert_eq "$(sample 'fulcrum_route_requests_total{listener="web",route="maint",code_class="5xx"}')" 1 "maintenance answers"
assert_eq "$(sample 'fulcrum_route_requests_total{listener="web",route="avatar",code_class="4xx"}')" 1 "avatar 404s"
assert_eq "$(sample 'fulcrum_route_requests_total{listener="only",route="only-api",code_class="4xx"}')" 1 "only-api 404s"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/metrics" >"$T/promtool.out" 2>&1 ||
		fail "promtool check metrics: $(head -c 1500 "$T/promtool.out")"
fi

step "GET /v1/status shows the routes"
# status_routes: "listener route action target match requests" per route, one a line
status_routes() {
	hcurl -o "$T/status.json" "http://127.0.0.1:$P_CTL/v1/status" || fail "GET /v1/status"
	"$PY" -c '
import json, sys
for l in json.load(open(sys.argv[1]))["listeners"]:
    for r in l["routes"]:
        t = r.get("pool") or json.dumps(r.get("redirect") or r.get("respond"), sort_keys=True)
        m = ",".join("%s=%s" % kv for kv in sorted(r["match"].items()))
        print(l["name"], r["name"], r["action"], t, m or "-", r["requests"])' "$T/status.json"
}
status_routes >"$T/routes.txt"
assert_eq "$(wc -l <"$T/routes.txt")" 11 "routes listed ($(cat "$T/routes.txt"))"
assert_eq "$(sed -n 1p "$T/routes.txt")" "web api-host pool api host=api.test 1" "first route"
assert_eq "$(grep ' reports ' "$T/routes.txt")" "web reports pool app path_prefix=/reports/ 0" "reports route"
assert_eq "$(grep ' to-https ' "$T/routes.txt")" 'web to-https redirect {"scheme": "https", "status": 308} host=*.secure.test 1' "redirect route"
assert_eq "$(grep ' maint ' "$T/routes.txt")" 'web maint respond {"body_bytes": 20, "content_type": "application/json", "status": 503} path_prefix=/old/ 1' "respond route"
assert_eq "$(grep ' canary ' "$T/routes.txt")" "web canary pool api header=X-Canary: 1 27" "canary route"
assert_eq "$(grep ' beta ' "$T/routes.txt")" "web beta pool api cookie=beta=1 1" "cookie route"
assert_eq "$(grep ' debug ' "$T/routes.txt")" "web debug pool api method=GET,query=debug 1" "query route"
assert_eq "$(grep ' avatar ' "$T/routes.txt")" 'web avatar pool api path_regex=^/users/[0-9]+/avatar$ 1' "regex route"
assert_eq "$(grep '^only ' "$T/routes.txt")" "only only-api pool api path_prefix=/api/ 1" "the second listener's route"

step "reload moves /reports/ to the api pool; a broken route is refused"
hcurl -o /dev/null "$u/reports/x" || true
assert_contains "$(tail -n 2 "$T/app.log")" "/reports/x" "before the reload: app"
write_cfg api
kill -HUP "$FULCRUM_PID"
for ((i = 0; i < 50; i++)); do
	hcurl -o /dev/null "$u/reports/y$i" || true
	grep -q "/reports/y$i" "$T/api.log" && break
	sleep 0.1
done
grep -q "/reports/y" "$T/api.log" || fail "after the reload /reports/ did not reach the api pool"
status_routes >"$T/routes2.txt"
assert_contains "$(grep ' reports ' "$T/routes2.txt")" "web reports pool api path_prefix=/reports/" "GET /v1/status after the reload"
write_cfg api ', { name = "bad"; pool = "missing"; }'
"$FULCRUM" -t -c "$cfg" >"$T/t.out" 2>&1 && fail "fulcrum -t accepted a route to a missing pool"
assert_contains "$(cat "$T/t.out")" "listeners.web.routes.bad.pool: no pool named 'missing'" "-t error"
write_cfg api ', { name = "bad-re"; path_regex = "^/a(b"; pool = "api"; }'
"$FULCRUM" -t -c "$cfg" >"$T/t.out" 2>&1 && fail "fulcrum -t accepted a bad regex"
assert_contains "$(cat "$T/t.out")" "fulcrum.cfg:$(grep -n 'bad-re' "$cfg" | cut -d: -f1): listeners.web.routes.bad-re.path_regex: bad regex at offset 5" "-t regex error"
kill -HUP "$FULCRUM_PID"
sleep 1
kill -0 "$FULCRUM_PID" || fail "fulcrum died on a broken reload"
assert_eq "$(hcurl -H 'Host: api.test' "$u/")" "ok api" "routes still served after the refused reload"

step "a route's redirect or fixed answer keeps the connection; after a body it closes"
# three requests written at once on one connection: a redirect, a fixed answer and a
# proxied one, each answered in turn on it (before, the redirect closed it)
out=$("$PY" - "$P_LB" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /a?b=1 HTTP/1.1\r\nHost: x.secure.test\r\n\r\n"
          b"GET /robots.txt HTTP/1.1\r\nHost: t\r\n\r\n"
          b"GET / HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n")
data = b""
while True:
    piece = s.recv(65536)
    if not piece:
        break
    data += piece
import re
print(" ".join(m.decode() for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)),
      data.count(b"Connection: close"), data.endswith(b"ok api\n"))
PYEOF
)
assert_eq "$out" "308 200 200 1 True" "statuses of three pipelined requests, Connection: close lines (the last one's), the last body"
hdr=$(curl -s --noproxy '*' -D - -o /dev/null -H 'Host: x.secure.test' --data-binary 'abc' "$u/p" | tr -d '\r')
assert_contains "$hdr" "Connection: close" "a redirect of a request with a body closes the connection"
echo ok
