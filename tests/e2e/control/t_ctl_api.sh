#!/usr/bin/env bash
# t_ctl_api.sh: the control API refuses what it must and changes nothing when it does:
# no token or a wrong one gets 401; malformed JSON, unknown fields, bad addresses, odd
# names, oversized bodies, unknown pools and backends get a 4xx with a JSON error; a
# reload of a broken file gets 422 with every error. Probes need no token; readiness
# fails while stopping; fulcrumctl's exit codes, --version and help; a non-loopback control API without a
# token is refused at start.
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_A P_CTL P_OPEN
start_flask web-1 "$P_A" 2

cfg=$T/fulcrum.cfg
write_cfg() {
	{
		cfg_common
		cfg_control "$P_CTL"
		cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_A"; weight = 2; max_conns = 4; } ); } );
EOF
	} >"$cfg.new"
	mv -f "$cfg.new" "$cfg"
}
write_cfg
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

# snapshot: what must not change when a request is refused.
snapshot() {
	echo "gen=$(current_generation)"
	pool_summary flask
	if [ -e "$T/state/journal" ]; then sha256_file "$T/state/journal"; else echo "no journal"; fi
	ls "$T/state/generations"
}
before=$(snapshot)
unchanged() {
	local now
	now=$(snapshot)
	[ "$now" = "$before" ] || fail "$1 changed something:
before: $before
after:  $now"
}

step "probes need no token; everything else does"
assert_eq "$(http_status "http://127.0.0.1:$P_CTL/healthz")" 200 "/healthz without a token"
assert_eq "$(http_status "http://127.0.0.1:$P_CTL/readyz")" 200 "/readyz without a token"
assert_eq "$(http_status_body "$T/b" "http://127.0.0.1:$P_CTL/v1/status")" 401 "/v1/status without a token"
assert_error_json "$T/b" "401 body"
hdrs=$(curl -s --noproxy '*' -D - -o /dev/null "http://127.0.0.1:$P_CTL/v1/status")
assert_contains "$hdrs" "WWW-Authenticate: Bearer" "401 headers"
assert_eq "$(http_status "http://127.0.0.1:$P_CTL/v1/status" -H "Authorization: Bearer $TOKEN")" 200 "/v1/status with the token"
assert_eq "$(http_status "http://127.0.0.1:$P_CTL/metrics" -H "Authorization: Bearer $TOKEN")" 200 "/metrics with the token"

step "no token or a wrong one: 401 and nothing changes"
body='{"address":"127.0.0.1:'"$P_A"'","weight":9}'
for auth in "" "Authorization: Bearer wrong" "Authorization: Bearer ${TOKEN}x" \
	"Authorization: Bearer ${TOKEN:0:10}" "Authorization: Basic $TOKEN" "Authorization: $TOKEN"; do
	args=(-X PUT -d "$body")
	[ -n "$auth" ] && args+=(-H "$auth")
	st=$(http_status_body "$T/b" "http://127.0.0.1:$P_CTL/v1/pools/flask/backends/web-9" "${args[@]}")
	assert_eq "$st" 401 "PUT with '${auth:-no Authorization}'"
	assert_error_json "$T/b"
	st=$(http_status "http://127.0.0.1:$P_CTL/v1/pools/flask/backends/web-1" -X DELETE ${auth:+-H "$auth"})
	assert_eq "$st" 401 "DELETE with '${auth:-no Authorization}'"
	st=$(http_status "http://127.0.0.1:$P_CTL/v1/config/rollback" -X POST -d '{"generation":1}' ${auth:+-H "$auth"})
	assert_eq "$st" 401 "rollback with '${auth:-no Authorization}'"
done
unchanged "requests without a valid token"
assert_eq "$(rc_of "$FULCRUMCTL" -s "http://127.0.0.1:$P_CTL" status)" 4 "fulcrumctl exit code without a token"

step "bad input: 4xx with a JSON error, nothing changes"
# expect STATUS WHAT METHOD PATH [CURL ARGS...]
expect() {
	local want=$1 what=$2 st
	shift 2
	st=$(api "$@")
	assert_eq "$st" "$want" "$what"
	assert_error_json "$T/api.body" "$what"
	echo "   $st $what: $(cat "$T/api.body")"
}
B=/v1/pools/flask/backends
expect 400 "malformed JSON" PUT "$B/web-9" -d '{"address":'
expect 400 "JSON that is not an object" PUT "$B/web-9" -d '["127.0.0.1:1"]'
expect 400 "unknown field" PUT "$B/web-9" -d '{"address":"127.0.0.1:'"$P_A"'","wieght":2}'
expect 400 "repeated field" PUT "$B/web-9" -d '{"address":"127.0.0.1:'"$P_A"'","weight":1,"weight":2}'
expect 400 "weight as a string" PUT "$B/web-9" -d '{"address":"127.0.0.1:'"$P_A"'","weight":"2"}'
expect 400 "weight out of range" PUT "$B/web-9" -d '{"address":"127.0.0.1:'"$P_A"'","weight":1001}'
expect 400 "address without a port" PUT "$B/web-9" -d '{"address":"127.0.0.1"}'
expect 400 "address with a bad IPv4" PUT "$B/web-9" -d '{"address":"300.1.1.1:80"}'
expect 400 "IPv6 address without brackets" PUT "$B/web-9" -d '{"address":"::1:80"}'
expect 400 "add without an address" PUT "$B/web-9" -d '{"weight":1}'
expect 400 "backend name with a space" PUT "$B/web%209" -d '{"address":"127.0.0.1:'"$P_A"'"}'
expect 400 "backend name with odd characters" PUT "$B/we\$b;x" -d '{"address":"127.0.0.1:'"$P_A"'"}'
expect 400 "pool name with odd characters" GET "/v1/pools/fl%2Fask/backends"
expect 400 "a 64-character name" PUT "$B/$(printf 'a%.0s' $(seq 64))" -d '{"address":"127.0.0.1:'"$P_A"'"}'
expect 400 "wait=bogus" PUT "$B/web-9?wait=bogus" -d '{"address":"127.0.0.1:'"$P_A"'"}'
expect 400 "wait=healthy with weight 0" PUT "$B/web-9?wait=healthy" -d '{"address":"127.0.0.1:'"$P_A"'","weight":0}'
expect 400 "timeout that is not a number" PUT "$B/web-9?timeout=abc" -d '{"address":"127.0.0.1:'"$P_A"'"}'
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big.json"
expect 413 "a 70 kB body" PUT "$B/web-9" --data-binary "@$T/big.json"
expect 411 "a chunked body" PUT "$B/web-9" -H "Transfer-Encoding: chunked" -d '{"address":"127.0.0.1:'"$P_A"'"}'
expect 404 "unknown pool" PUT "/v1/pools/nope/backends/web-9" -d '{"address":"127.0.0.1:'"$P_A"'"}'
expect 404 "drain of a missing backend" POST "$B/web-9/drain"
expect 404 "delete of a missing backend" DELETE "$B/web-9"
expect 404 "get of a missing backend" GET "$B/web-9"
expect 400 "drain with an unknown field" POST "$B/web-1/drain" -d '{"timeout":5}'
expect 400 "drain with ?wait=maybe" POST "$B/web-1/drain?wait=maybe"
expect 405 "wrong method" POST "$B/web-1"
expect 404 "unknown path" GET "/v1/pools/flask"
expect 400 "rollback without a generation" POST /v1/config/rollback -d '{}'
expect 400 "rollback to generation 0" POST /v1/config/rollback -d '{"generation":0}'
expect 404 "rollback to a generation never kept" POST /v1/config/rollback -d '{"generation":999}'
expect 400 "generation that is not a number" GET /v1/config/generations/x1
expect 404 "diff with a generation never kept" GET "/v1/config/diff?from=999"
unchanged "refused requests"

step "fulcrumctl exit codes"
assert_eq "$(ctl_rc backends nope)" 5 "fulcrumctl backends of an unknown pool"
assert_eq "$(ctl_rc drain flask web-9)" 5 "fulcrumctl drain of a missing backend"
assert_eq "$(ctl_rc set flask web-9 --address 127.0.0.1)" 6 "fulcrumctl set with a bad address"
assert_contains "$(cat "$T/ctl.out")" "missing port" "fulcrumctl's message"
assert_eq "$(ctl_rc set flask 'web 9' --address "127.0.0.1:$P_A")" 6 "fulcrumctl set with an odd name"
assert_eq "$(ctl_rc rollback 999)" 5 "fulcrumctl rollback to an unknown generation"
assert_eq "$(ctl_rc rollback abc)" 2 "fulcrumctl rollback abc"
assert_eq "$(ctl_rc frobnicate)" 2 "fulcrumctl unknown command"
assert_eq "$(ctl_rc set flask web-9 --weight 2000)" 2 "fulcrumctl --weight 2000"
assert_eq "$(rc_of "$FULCRUMCTL" -s "http://127.0.0.1:$P_OPEN" status)" 3 "fulcrumctl against a closed port"
assert_eq "$(ctl_rc health)" 0 "fulcrumctl health"
assert_eq "$(ctl_rc ready)" 0 "fulcrumctl ready"
assert_eq "$(ctl_rc status)" 0 "fulcrumctl status"
assert_contains "$(cat "$T/ctl.out")" "flask" "fulcrumctl status output"
ctl --json status >"$T/status.json"
assert_eq "$(rc_of "$FULCRUMCTL" --version)" 0 "fulcrumctl --version"
assert_eq "$(cut -d' ' -f2 "$T/rc.out")" "$("$FULCRUM" --version | cut -d' ' -f2)" "fulcrumctl --version: fulcrum's version"
for h in help -h --help; do
	assert_eq "$(rc_of "$FULCRUMCTL" $h)" 0 "fulcrumctl $h"
	assert_contains "$("$FULCRUMCTL" $h 2>/dev/null)" "usage: fulcrumctl" "fulcrumctl $h prints the usage on stdout"
done
assert_eq "$(json_get "$(cat "$T/status.json")" 'd["pools"][0]["name"]')" flask "fulcrumctl --json status"
unchanged "fulcrumctl's refused calls"

step "reload of a broken file: 422 with every error, nothing changes"
good=$(cat "$cfg")
printf '%s\n' "$good" | sed -e 's/weight = 2;/weight = 2000;/' -e 's/max_conns = 4;/max_conns = 4; colour = "red";/' >"$cfg"
st=$(api POST /v1/config/reload)
assert_eq "$st" 422 "reload of a file with two errors"
assert_eq "$(json_get "$(cat "$T/api.body")" 'len(d["errors"])')" 2 "errors listed"
assert_contains "$(cat "$T/api.body")" "pools.flask.backends.web-1.weight" "422 body"
assert_contains "$(cat "$T/api.body")" "unknown key 'colour'" "422 body"
assert_eq "$(ctl_rc reload)" 6 "fulcrumctl reload of a broken file"
assert_contains "$(cat "$T/ctl.out")" "colour" "fulcrumctl reload's errors"
unchanged "a refused reload"
printf '%s\n' "$good" >"$cfg"
assert_eq "$(api POST /v1/config/reload)" 200 "reload of the good file"
assert_eq "$(current_generation)" 2 "generation after a good reload"
assert_eq "$(http_status "http://127.0.0.1:$P_WEB/")" 200 "traffic after the reload"

step "a change with a valid token works (and HTTP keep-alive carries several calls)"
out=$(curl -s --noproxy '*' -H "Authorization: Bearer $TOKEN" -X PUT -H "Content-Type: application/json" -d '{"weight":3}' \
	"http://127.0.0.1:$P_CTL$B/web-1" --next -H "Authorization: Bearer $TOKEN" \
	"http://127.0.0.1:$P_CTL$B/web-1")
assert_contains "$out" '"changed":true' "PUT answer"
assert_contains "$out" '"weight":3' "GET after PUT on the same connection"

step "readiness fails while stopping"
hcurl -o /dev/null "http://127.0.0.1:$P_WEB/sleep?ms=2500" &
slow=$!
sleep 0.5
kill -TERM "$FULCRUM_PID"
sleep 0.3
assert_eq "$(http_status "http://127.0.0.1:$P_CTL/readyz")" 503 "/readyz while stopping"
assert_eq "$(http_status "http://127.0.0.1:$P_CTL/healthz")" 200 "/healthz while stopping"
assert_eq "$(ctl_rc set flask web-1 --weight 5)" 8 "fulcrumctl set while stopping"
wait "$slow" || true
rc=0
wait_exit "$FULCRUM_PID" 15 || rc=$?
assert_eq "$rc" 0 "fulcrum's exit status after SIGTERM"

step "a non-loopback control API without a token is refused at start"
{
	cfg_common
	cat <<EOF
control = { listen = "0.0.0.0:$P_OPEN"; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; pool = "flask"; } );
pools = ( { name = "flask"; } );
EOF
} >"$T/open.cfg"
rc=0
timeout 10 "$FULCRUM" -c "$T/open.cfg" >"$T/open.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "fulcrum's exit status with an open control API"
assert_contains "$(cat "$T/open.out")" "control.listen" "fulcrum's complaint"
assert_contains "$(cat "$T/open.out")" "token_file" "fulcrum's complaint"
rc=0
"$FULCRUM" -t -c "$T/open.cfg" >"$T/open.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "fulcrum -t with an open control API"

step "control API on a unix socket"
sock=$T/control.sock
sed "s|listen = \"127.0.0.1:$P_CTL\"|listen = \"unix:$sock\"|" "$cfg" >"$T/unix.cfg"
mv "$T/fulcrum.log" "$T/fulcrum-tcp.log"
start_fulcrum "$T/unix.cfg" "$P_WEB"
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "no control socket at $sock"
assert_eq "$(stat -c %a "$sock")" 600 "mode of the control socket"
assert_eq "$(rc_of "$FULCRUMCTL" -s "unix:$sock" --token-file "$T/token" backends flask)" 0 "fulcrumctl over the unix socket"
assert_contains "$(cat "$T/rc.out")" "web-1" "fulcrumctl backends over the unix socket"
assert_eq "$(rc_of "$FULCRUMCTL" -s "unix:$sock" status)" 4 "fulcrumctl over the unix socket without the token"
rc=0
stop_pid "$FULCRUM_PID" TERM 15 || rc=$?
assert_eq "$rc" 0 "fulcrum's exit status"
[ ! -e "$sock" ] || fail "the control socket is left behind after a stop"
echo "ok"
