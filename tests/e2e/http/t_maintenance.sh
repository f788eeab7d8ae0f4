#!/usr/bin/env bash
# t_maintenance.sh: maintenance through the control API (issue 20). `fulcrumctl maint on
# app` answers every request for the pool "app" (through a route or the listener's
# default) 503 with Retry-After and the route's or listener's 503 page, and gunicorn
# sees none of them; the access log says termination maintenance; /metrics and
# /v1/status show it; `maint off` brings 200 back. A route in maintenance affects only
# that route. Maintenance survives POST /v1/config/reload and a restart on the same
# state_dir. Bad calls (unknown name, a name that is both a pool and a route, bad body)
# get JSON errors and change nothing. A reload that removes a route in maintenance keeps
# the entry unapplied; the route's return brings the maintenance back.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_LB P_APP P_CTL
start_flask app "$P_APP" 1
mkdir -p "$T/errors"
echo '<html>down for maintenance</html>' >"$T/errors/maint.html"
echo '<html>api maintenance</html>' >"$T/errors/api.html"
cfg=$T/fulcrum.cfg
# write_cfg [HELLO_ROUTE]: the config; the route "hello" unless told "no"
write_cfg() {
	{
		cfg_common
		cfg_control "$P_CTL"
		cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; pool = "app";
  error_pages = ( { status = "503"; file = "$T/errors/maint.html"; } );
  routes = ( { name = "api"; path_prefix = "/api/"; strip_prefix = "/api"; pool = "app";
               error_pages = ( { status = "503"; file = "$T/errors/api.html"; } ); },
             { name = "both"; path_prefix = "/both/"; strip_prefix = "/both"; pool = "both"; },
             { name = "hello${1:+-$1}"; path = "/hello"; respond = { body = "hi"; }; } ); } );
pools = ( { name = "app"; health = { type = "none"; }; backends = ( { name = "a"; address = "127.0.0.1:$P_APP"; } ); },
          { name = "both"; health = { type = "none"; }; backends = ( { name = "b"; address = "127.0.0.1:$P_APP"; } ); } );
EOF
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}
write_cfg
start_fulcrum "$cfg" "$P_LB" "$P_CTL"
u=http://127.0.0.1:$P_LB
# app_hits: requests gunicorn logged for the probe path
app_hits() { grep -c 'GET /p/probe' "$T/app.log" || true; }
metric() { hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/metrics" | grep "^fulcrum_maintenance{" | sort | tr '\n' ' '; }

assert_eq "$(http_status "$u/p/probe")" 200 "before maintenance"
assert_eq "$(app_hits)" 1 "gunicorn saw the first request"

step "maint on a pool: 503, Retry-After, the page; no request reaches gunicorn"
assert_eq "$(ctl_rc maint on app --retry-after 120)" 0 "fulcrumctl maint on app"
assert_contains "$(cat "$T/ctl.out")" "pool app: maintenance on" "fulcrumctl's summary"
out=$(hcurl -D "$T/h1" -H 'Accept: text/html' "$u/p/probe")
assert_contains "$(head -n 1 "$T/h1")" " 503" "default pool in maintenance"
assert_contains "$(tr -d '\r' <"$T/h1")" "Retry-After: 120" "Retry-After"
assert_eq "$out" "<html>down for maintenance</html>" "the listener's page"
out=$(hcurl -D "$T/h2" "$u/api/p/probe")
assert_contains "$(head -n 1 "$T/h2")" " 503" "the same pool through a route"
assert_eq "$out" "<html>api maintenance</html>" "the route's page"
assert_eq "$(http_status "$u/both/p/probe")" 200 "another pool is served"
assert_eq "$(http_status "$u/hello")" 200 "a fixed answer is served"
hits_before=$(app_hits)
for i in 1 2 3; do hcurl -o /dev/null "$u/p/probe"; done
sleep 0.5
assert_eq "$(app_hits)" "$hits_before" "gunicorn saw none of the maintenance requests"
alog_wait 5 termination=maintenance
assert_eq "$(alog count termination=maintenance status=503)" 5 "access log: termination maintenance"
assert_eq "$(alog count termination=maintenance route=api)" 1 "access log names the route"
assert_eq "$(alog count termination=maintenance pool=app)" 5 "access log names the pool"
assert_eq "$(metric)" 'fulcrum_maintenance{kind="pool",name="app"} 1 ' "/metrics"
st=$(hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/v1/status")
assert_eq "$(json_get "$st" '[(m["kind"], m["name"], m["retry_after_s"], m["applies"]) for m in d["maintenance"]]')" \
	'[["pool", "app", 120, true]]' "/v1/status"
assert_eq "$(ctl_rc maint)" 0 "fulcrumctl maint (list)"
assert_contains "$(cat "$T/ctl.out")" "app" "the list names the pool"
assert_eq "$(ctl_rc status)" 0 "fulcrumctl status"
assert_contains "$(cat "$T/ctl.out")" "maintenance: pool app (503, Retry-After 120 s)" "fulcrumctl status shows it"

step "it survives POST /v1/config/reload and a restart on the same state_dir"
assert_eq "$(api POST /v1/config/reload)" 200 "reload"
assert_eq "$(http_status "$u/p/probe")" 503 "after the reload"
stop_pid "$FULCRUM_PID" TERM 20 || true
mv "$T/fulcrum.log" "$T/fulcrum-1.log"
start_fulcrum "$cfg" "$P_LB" "$P_CTL"
hcurl -D "$T/h3" -o /dev/null "$u/p/probe"
assert_contains "$(head -n 1 "$T/h3")" " 503" "after the restart"
assert_contains "$(tr -d '\r' <"$T/h3")" "Retry-After: 120" "Retry-After after the restart"

step "maint off: served again"
assert_eq "$(ctl_rc maint off app)" 0 "fulcrumctl maint off app"
hits_before=$(app_hits)
assert_eq "$(http_status "$u/p/probe")" 200 "out of maintenance"
assert_eq "$(app_hits)" $((hits_before + 1)) "gunicorn sees it again"
assert_eq "$(metric)" "" "/metrics: nothing in maintenance"

step "a route in maintenance: only that route"
assert_eq "$(api POST /v1/maintenance -d '{"route": "hello", "on": true}')" 200 "route hello on"
hcurl -D "$T/h4" -o /dev/null "$u/hello"
assert_contains "$(head -n 1 "$T/h4")" " 503" "the route"
assert_contains "$(tr -d '\r' <"$T/h4")" "Retry-After: 60" "the default Retry-After"
assert_eq "$(http_status "$u/p/probe")" 200 "the pool's other requests"
assert_eq "$(http_status "$u/api/p/probe")" 200 "another route of the same pool"
assert_eq "$(metric)" 'fulcrum_maintenance{kind="route",name="hello"} 1 ' "/metrics names the route"

step "bad calls change nothing"
gen=$(current_generation)
assert_eq "$(api POST /v1/maintenance -d '{"name": "nope", "on": true}')" 404 "unknown name"
assert_error_json "$T/api.body"
assert_eq "$(api POST /v1/maintenance -d '{"name": "both", "on": true}')" 409 "a pool and a route"
assert_error_json "$T/api.body"
assert_contains "$(cat "$T/api.body")" "both a pool and a route" "409 says why"
assert_eq "$(api POST /v1/maintenance -d '{"pool": "app"}')" 400 "no on"
assert_eq "$(api POST /v1/maintenance -d '{"pool": "app", "route": "api", "on": true}')" 400 "two names"
assert_eq "$(api POST /v1/maintenance -d '{"pool": "app", "on": true, "retry_after_s": 86401}')" 400 "retry_after_s too large"
assert_eq "$(api POST /v1/maintenance -d '{"pool": "app", "on": "yes"}')" 400 "on not a boolean"
assert_eq "$(api POST /v1/maintenance -d '{"pool": "app", "on": true, "x": 1}')" 400 "unknown field"
assert_error_json "$T/api.body"
assert_eq "$(ctl_rc maint on nope)" 5 "fulcrumctl: not found"
assert_eq "$(current_generation)" "$gen" "no new generation"
assert_eq "$(http_status "$u/p/probe")" 200 "the pool is still served"
assert_eq "$(json_get "$(hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/v1/maintenance")" \
	'[m["name"] for m in d["maintenance"]]')" '["hello"]' "GET /v1/maintenance"
assert_eq "$(api POST /v1/maintenance -d '{"route": "both", "on": true}')" 200 "explicit kind resolves the clash"
assert_eq "$(http_status "$u/both/x")" 503 "route both in maintenance"

step "a reload that removes the route: it stops applying, and comes back with the route"
write_cfg no
assert_eq "$(api POST /v1/config/reload)" 200 "reload without route hello"
assert_eq "$(http_status "$u/hello")" 200 "the renamed route is served"
assert_eq "$(json_get "$(hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/v1/maintenance")" \
	'[(m["name"], m["applies"]) for m in d["maintenance"]]')" '[["hello", false], ["both", true]]' "kept, not applied"
assert_eq "$(metric)" 'fulcrum_maintenance{kind="route",name="both"} 1 ' "/metrics: only what applies"
write_cfg
assert_eq "$(api POST /v1/config/reload)" 200 "reload with route hello again"
assert_eq "$(http_status "$u/hello")" 503 "its maintenance is back"
echo ok
