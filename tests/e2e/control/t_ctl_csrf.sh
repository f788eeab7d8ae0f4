#!/usr/bin/env bash
# t_ctl_csrf.sh: a control API without a token (loopback, as in the demo) refuses what a
# web page could make a browser send (issue 17, item 11): text/plain, form and typeless
# bodies (415), an Origin other than the listener's own and a DNS-rebinding Host (403),
# and changes nothing; fulcrumctl, the status page's own calls and a bodiless curl -X
# POST (a preStop hook) still work.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_A P_CTL
start_flask web-1 "$P_A" 1
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
control = { listen = "127.0.0.1:$P_CTL"; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_A"; },
                         { name = "web-2"; address = "127.0.0.1:$P_A"; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10
U=http://127.0.0.1:$P_CTL
B=/v1/pools/flask/backends
UA="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
EVIL=http://evil.example

# browser METHOD PATH [CURL ARGS...]: a request as a browser sends it; prints the status.
browser() {
	local m=$1 p=$2
	shift 2
	http_status_body "$T/b.body" "$U$p" -X "$m" -A "$UA" -H "Accept: */*" \
		-H "Sec-Fetch-Mode: no-cors" -H "Sec-Fetch-Site: cross-site" "$@"
}
snapshot() {
	echo "gen=$(json_get "$(hcurl "$U/v1/status")" 'd["generation"]["id"]')"
	hcurl "$U$B" | "$PY" -c 'import json,sys
for b in json.load(sys.stdin)["backends"]: print(b["name"], b["admin"], b["weight"])'
}
before=$(snapshot)

step "cross-site requests a page can send without a preflight are refused"
assert_eq "$(browser POST "$B/web-1/drain" -H "Origin: $EVIL" -H "Content-Type: text/plain;charset=UTF-8" -d '{}')" 415 "text/plain drain from another origin"
assert_error_json "$T/b.body" "415 body"
assert_contains "$(cat "$T/b.body")" "application/json" "415 says what is needed"
assert_eq "$(browser POST "$B/web-1/drain" -H "Content-Type: text/plain" -d '{"timeout_s":1}')" 415 "text/plain drain without Origin"
assert_eq "$(browser POST /v1/config/rollback -H "Origin: $EVIL" -H "Content-Type: application/x-www-form-urlencoded" -d 'generation=1')" 415 "form rollback"
assert_eq "$(browser POST /v1/config/rollback -H "Origin: $EVIL" -F 'generation=1')" 415 "multipart rollback"
assert_eq "$(browser POST /v1/config/rollback -H "Content-Type:" --data-binary '{"generation":1}')" 415 "rollback with a body and no type (a Blob)"
assert_eq "$(browser POST "$B/web-1/drain" -H "Origin: $EVIL")" 403 "a bodiless drain from another origin"
assert_error_json "$T/b.body" "403 body"
assert_contains "$(cat "$T/b.body")" "forbidden_origin" "403 error"
assert_eq "$(browser POST /v1/config/reload -H "Origin: null")" 403 "a reload from an opaque origin"
assert_eq "$(browser PUT "$B/web-1" -H "Origin: $EVIL" -H "Content-Type: application/json" -d '{"weight":9}')" 403 "JSON PUT with a foreign Origin"

step "DNS rebinding: a Host that is not the listener's is refused, reads too"
assert_eq "$(browser GET /v1/status -H "Host: evil.example:$P_CTL")" 403 "GET /v1/status with a rebinding Host"
assert_contains "$(cat "$T/b.body")" "forbidden_host" "403 error"
assert_eq "$(browser GET /v1/config/generations/1 -H "Host: evil.example:$P_CTL")" 403 "GET a generation with a rebinding Host"
assert_eq "$(browser POST "$B/web-1/drain" -H "Host: evil.example:$P_CTL" -H "Origin: http://evil.example:$P_CTL")" 403 "drain from a rebinding page"
now=$(snapshot)
[ "$now" = "$before" ] || fail "refused requests changed something:
before: $before
after:  $now"
grep -q "refused: a change from a page of origin 'http://evil.example'" "$T/fulcrum.log" || fail "no log line for the refused Origin"

step "fulcrumctl, same-origin page calls and a bodiless curl POST work"
assert_eq "$(http_status "$U$B/web-1" -X PUT -H "Origin: $U" -H "Content-Type: application/json" -d '{"weight":3}')" 200 "the status page's own PUT"
assert_eq "$(http_status "http://localhost:$P_CTL$B/web-1" -X PUT -H "Origin: http://localhost:$P_CTL" -H "Content-Type: application/json" -d '{"weight":2}')" 200 "the page opened as localhost"
assert_eq "$(rc_of "$FULCRUMCTL" -s "$U" set flask web-2 --weight 4)" 0 "fulcrumctl set"
assert_eq "$(rc_of "$FULCRUMCTL" -s "$U" drain flask web-2)" 0 "fulcrumctl drain"
assert_eq "$(http_status "$U$B/web-1/drain" -X POST)" 200 "curl -X POST without a body (a preStop hook)"
echo ok
