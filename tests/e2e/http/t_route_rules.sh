#!/usr/bin/env bash
# t_route_rules.sh: what a route changes on the way (issue 20): strip_prefix, request and
# response header edits with variables, on a TLS listener with HSTS. The app (gunicorn)
# echoes the head it got: /api/headers reaches it as /headers, the client's X-Debug is
# gone, X-App is the route's and X-Trace carries the request id; the response loses the
# app's Server field and gets the route's Cache-Control and X-Served. Every response,
# the app's and fulcrum's own (a fixed answer), carries Strict-Transport-Security. A
# route's response_timeout_ms and body_max_bytes apply to its requests only. A
# plain listener with HSTS, and an edit of a framing field, are refused by -t. Routes in
# DESIGN.md's form (`match = { scheme = "http"; }`, `match = { header = { name; value; }; }`):
# the same first route redirects a plain listener's requests to https and lets the TLS
# listener's through; a header-matched canary answers only its header's value.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
need_fulcrum

ports P_TLS P_APP P_PLAIN
start_flask app "$P_APP" 1
tls_ca ca
tls_cert site ca ec "/CN=a.test" "DNS:a.test"
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_TLS"; pool = "app";
                tls = { certificates = ( { cert = "$T/site.crt"; key = "$T/site.key"; } ); };
                hsts_max_age_s = 31536000; hsts_include_subdomains = true;
  routes = ( { name = "to-https"; match = { scheme = "http"; }; redirect = { scheme = "https"; status = 308; }; },
             { name = "canary"; match = { header = { name = "X-Canary"; value = "1"; }; }; respond = { body = "canary"; }; },
             { name = "api"; path_prefix = "/api/"; strip_prefix = "/api"; pool = "app";
               request_headers = ( { remove = "X-Debug"; }, { set = "X-App: api"; },
                                   { add = "X-Trace: \$request_id \$path \$host" ; } );
               response_headers = ( { remove = "Server"; }, { set = "Cache-Control: no-store"; },
                                    { add = "X-Served: api \$path"; } ); },
             { name = "slow"; path_prefix = "/sleep"; pool = "app"; response_timeout_ms = 700; },
             { name = "upload"; path_prefix = "/echo"; pool = "app"; body_max_bytes = 1000; },
             { name = "ping"; path = "/ping"; respond = { body = "pong"; };
               response_headers = ( { add = "Cache-Control: max-age=5"; } ); } ); },
              { name = "plain"; bind = "127.0.0.1:$P_PLAIN"; pool = "app";
  routes = ( { name = "to-https"; match = { scheme = "http"; }; redirect = { scheme = "https"; status = 308; }; } ); } );
pools = ( { name = "app"; health = { type = "none"; }; retries = 0; response_timeout_ms = 5000;
            backends = ( { name = "a"; address = "127.0.0.1:$P_APP"; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_TLS"
u=https://a.test:$P_TLS
tcurl() { hcurl --cacert "$T/ca.crt" --resolve "a.test:$P_TLS:127.0.0.1" "$@"; }

step "strip_prefix and request edits"
body=$(tcurl -D "$T/h1" -H 'X-Debug: 1' -H 'X-App: client' -H 'X-Request-ID: rid-42' "$u/api/headers?z=1")
echo "   $(printf '%s' "$body" | head -c 400)"
assert_eq "$(json_get "$body" 'd["instance"]')" app "the app answered /api/headers (as /headers)"
hdr() { json_get "$body" "[v for k, v in d['headers'] if k.lower() == '$1']"; }
assert_eq "$(hdr x-debug)" "[]" "X-Debug removed"
assert_eq "$(hdr x-app)" '["api"]' "X-App set by the route, the client's gone"
assert_eq "$(hdr x-trace)" "[\"rid-42 /api/headers a.test:$P_TLS\"]" "X-Trace expanded"
grep -q "GET /headers?z=1 " "$T/app.log" || fail "gunicorn did not get /headers?z=1: $(tail -n 3 "$T/app.log")"

step "match groups: scheme and header"
hcurl -o /dev/null -D "$T/h0" "http://a.test:$P_PLAIN/x/y?q=1" --resolve "a.test:$P_PLAIN:127.0.0.1"
assert_contains "$(head -n 1 "$T/h0")" " 308" "a plain request is redirected"
assert_contains "$(tr -d '\r' <"$T/h0")" "Location: https://a.test:$P_PLAIN/x/y?q=1" "to https, path and query kept"
assert_eq "$(tcurl -H 'X-Canary: 1' "$u/x")" "canary" "the header's value takes the canary"
assert_not_contains "$(tcurl -H 'X-Canary: 2' "$u/")" "canary" "another value does not"

step "response edits and HSTS"
h=$(tr -d '\r' <"$T/h1" | tr '[:upper:]' '[:lower:]')  # names in lower case over h2
assert_not_contains "$h" "server:" "the app's Server field"
assert_contains "$h" "cache-control: no-store" "the route's Cache-Control"
assert_contains "$h" "x-served: api /api/headers" "the route's X-Served"
assert_contains "$h" "strict-transport-security: max-age=31536000; includesubdomains" "HSTS on a proxied answer"
tcurl -o /dev/null -D "$T/h2" "$u/"
assert_contains "$(tr -d '\r' <"$T/h2" | tr '[:upper:]' '[:lower:]')" "strict-transport-security: max-age=31536000; includesubdomains" \
	"HSTS on an unrouted answer"
assert_not_contains "$(tr -d '\r' <"$T/h2" | tr '[:upper:]' '[:lower:]')" "x-served" "no route edits off the route"
out=$(tcurl -D "$T/h3" "$u/ping")
assert_eq "$out" pong "fixed answer"
h=$(tr -d '\r' <"$T/h3" | tr '[:upper:]' '[:lower:]')
assert_contains "$h" "strict-transport-security: max-age=31536000" "HSTS on fulcrum's own answer"
assert_contains "$h" "cache-control: max-age=5" "the route's edit on its fixed answer"

step "a route's own timeout and body limit"
t0=$(now_ms)
code=$(tcurl -o /dev/null -w '%{http_code}' "$u/sleep?ms=2500")
t1=$(now_ms)
assert_eq "$code" 504 "/sleep?ms=2500 on a route with response_timeout_ms = 700"
assert_cmp "$((t1 - t0))" "<" 2300 "ms until the 504 (the pool's timeout is 5000)"
code=$(tcurl -o /dev/null -w '%{http_code}' "$u/headers?sleep=no")
assert_eq "$code" 200 "the pool's other requests"
head -c 2000 /dev/zero >"$T/2k"
code=$(tcurl -o /dev/null -w '%{http_code}' --data-binary @"$T/2k" "$u/echo")
assert_eq "$code" 413 "2000 bytes to /echo (route body_max_bytes = 1000)"
code=$(tcurl -o /dev/null -w '%{http_code}' --data-binary @"$T/2k" "$u/headers")
assert_eq "$code" 200 "2000 bytes elsewhere (the listener has no limit)"

step "-t refuses HSTS on a plain listener and edits of framing fields"
cat >"$T/bad.cfg" <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:1"; pool = "app"; hsts_max_age_s = 600;
  routes = ( { name = "x"; pool = "app"; request_headers = ( { set = "Content-Length: 0"; } ); } ); } );
pools = ( { name = "app"; backends = ( { name = "a"; address = "127.0.0.1:2"; } ); } );
EOF
"$FULCRUM" -t -c "$T/bad.cfg" >"$T/bad.out" 2>&1 && fail "-t accepted bad.cfg"
assert_contains "$(cat "$T/bad.out")" "HSTS needs a TLS listener" "-t on HSTS over plain http"
assert_contains "$(cat "$T/bad.out")" "Content-Length is fulcrum's to set" "-t on a framing edit"
echo ok
