#!/usr/bin/env bash
# t_ctl_tokens.sh: scoped control API tokens (issue 17, item 10). control.token_dir holds
# one token per file, control.tokens gives them scopes: a "backends" token limited to
# pool flask drains there but gets 403 on pool other, on reload and on rollback; a
# "read" token (and a file with no entry) reads but gets 403 on PUT; a refused call
# changes nothing; the audit line names the token; fulcrumctl works with a scoped token;
# a rotated token file: old and new both work, the old one stops after the overlap; an
# entry naming a missing file is a config error; token_file still works as admin.
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_A P_B P_CTL
start_flask web-1 "$P_A" 1

mkdir "$T/tokens"
tok() { printf '%s\n' "$2" >"$T/tokens/$1"; chmod 600 "$T/tokens/$1"; }
HOOKS=hooks-$RANDOM$RANDOM
READ=read-$RANDOM$RANDOM
EXTRA=extra-$RANDOM$RANDOM
tok hooks "$HOOKS"
tok grafana "$READ"
tok extra "$EXTRA"

cfg=$T/fulcrum.cfg
write_cfg() { # write_cfg [EXTRA TOKEN ENTRY]
	{
		cfg_common
		cat <<EOF
control = { listen = "127.0.0.1:$P_CTL"; token_file = "$T/token"; token_dir = "$T/tokens";
            tokens = ( { name = "hooks"; scope = "backends"; pools = ( "flask" ); },
                       { name = "grafana"; scope = "read"; } ${1:-} );
            token_overlap_s = 2; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_A"; } ); },
          { name = "other"; health = { type = "none"; };
            backends = ( { name = "b-1"; address = "127.0.0.1:$P_B"; } ); } );
EOF
	} >"$cfg"
}

step "an entry naming a file that is not in token_dir is a config error"
write_cfg ', { name = "ghost"; scope = "admin"; }'
out=$("$FULCRUM" -t -c "$cfg" 2>&1) && fail "fulcrum -t accepted a token entry without a file: $out"
assert_contains "$out" "$cfg:" "the error names the file"
assert_contains "$out" "control.tokens.ghost" "the error names the key"
assert_contains "$out" "no token file" "the error says why"

write_cfg
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

# as TOKEN METHOD PATH [CURL ARGS...]: the API with that token; prints the status.
as() {
	local t=$1 m=$2 p=$3
	shift 3
	http_status_body "$T/as.body" "http://127.0.0.1:$P_CTL$p" -X "$m" \
		-H "Authorization: Bearer $t" -H "Content-Type: application/json" "$@"
}
snapshot() {
	echo "gen=$(current_generation)"
	pool_summary flask
	pool_summary other
	if [ -e "$T/state/journal" ]; then sha256_file "$T/state/journal"; else echo "no journal"; fi
}

step "read scope: GET calls and /metrics; 403 on PUT, nothing changes"
before=$(snapshot)
assert_eq "$(as "$READ" GET /v1/status)" 200 "read token: GET /v1/status"
assert_eq "$(as "$READ" GET /v1/pools/flask/backends)" 200 "read token: GET backends"
assert_eq "$(as "$READ" GET /metrics)" 200 "read token: GET /metrics"
assert_eq "$(as "$READ" PUT /v1/pools/flask/backends/web-1 -d '{"weight":5}')" 403 "read token: PUT"
assert_error_json "$T/as.body" "403 body"
assert_contains "$(cat "$T/as.body")" '"error":"forbidden"' "403 error"
assert_eq "$(as "$READ" POST /v1/pools/flask/backends/web-1/drain)" 403 "read token: drain"
step "a token file without an entry in control.tokens gets scope read"
assert_eq "$(as "$EXTRA" GET /v1/status)" 200 "unlisted token: GET"
assert_eq "$(as "$EXTRA" PUT /v1/pools/flask/backends/web-1 -d '{"weight":5}')" 403 "unlisted token: PUT"
assert_eq "$(as "$EXTRA" POST /v1/config/reload)" 403 "unlisted token: reload"

step "backends scope in pool flask: 403 on pool other, reload and rollback"
assert_eq "$(as "$HOOKS" PUT /v1/pools/other/backends/b-1 -d '{"weight":5}')" 403 "hooks: PUT in pool other"
assert_contains "$(cat "$T/as.body")" "only in pools flask" "403 detail names the pools"
assert_eq "$(as "$HOOKS" POST /v1/pools/other/backends/b-1/drain)" 403 "hooks: drain in pool other"
assert_eq "$(as "$HOOKS" DELETE /v1/pools/other/backends/b-1?force=1)" 403 "hooks: DELETE in pool other"
assert_eq "$(as "$HOOKS" POST /v1/config/reload)" 403 "hooks: reload"
assert_eq "$(as "$HOOKS" POST /v1/config/rollback -d '{"generation":1}')" 403 "hooks: rollback"
now=$(snapshot)
[ "$now" = "$before" ] || fail "refused calls changed something:
before: $before
after:  $now"

step "backends scope in its pool: PUT, drain, DELETE work; the audit line names the token"
assert_eq "$(as "$HOOKS" PUT /v1/pools/flask/backends/web-2 -d "{\"address\":\"127.0.0.1:$P_A\"}")" 201 "hooks: PUT web-2 in flask"
assert_eq "$(as "$HOOKS" POST /v1/pools/flask/backends/web-2/drain -d '{"timeout_s":1}')" 200 "hooks: drain in flask"
assert_eq "$(as "$HOOKS" DELETE /v1/pools/flask/backends/web-2?force=1)" 200 "hooks: DELETE in flask"
grep -q 'POST /v1/pools/flask/backends/web-2/drain -> 200 token=hooks' "$T/fulcrum.log" ||
	fail "no audit line naming token hooks for the drain"
grep -q 'PUT /v1/pools/other/backends/b-1 -> 403 token=hooks' "$T/fulcrum.log" ||
	fail "no audit line naming token hooks for the refused PUT"
printf '%s\n' "$HOOKS" >"$T/hooks.tok"
assert_eq "$(rc_of "$FULCRUMCTL" -s "http://127.0.0.1:$P_CTL" --token-file "$T/hooks.tok" drain flask web-1 --wait --wait-timeout 5)" 0 "fulcrumctl drain --wait with the hooks token"
assert_eq "$(rc_of "$FULCRUMCTL" -s "http://127.0.0.1:$P_CTL" --token-file "$T/hooks.tok" rollback 1)" 4 "fulcrumctl rollback with the hooks token"
assert_eq "$(rc_of "$FULCRUMCTL" -s "http://127.0.0.1:$P_CTL" --token-file "$T/hooks.tok" drain other b-1)" 4 "fulcrumctl drain in pool other with the hooks token"

step "token_file is scope admin"
assert_eq "$(as "$TOKEN" PUT /v1/pools/other/backends/b-1 -d '{"weight":3}')" 200 "admin: PUT in pool other"
assert_eq "$(as "$TOKEN" POST /v1/config/reload)" 200 "admin: reload"
grep -q 'POST /v1/config/reload -> 200 token=token_file' "$T/fulcrum.log" ||
	fail "no audit line naming token_file for the reload"

step "rotation: old and new both work, the old one stops after token_overlap_s (2 s)"
NEW=hooks-new-$RANDOM$RANDOM
tok hooks "$NEW"
t0=$(now_ms)
assert_eq "$(as "$NEW" GET /v1/status)" 200 "the new hooks token right after the change"
assert_eq "$(as "$HOOKS" GET /v1/status)" 200 "the old hooks token right after the change"
assert_eq "$(as "$HOOKS" PUT /v1/pools/flask/backends/web-1 -d '{"state":"active"}')" 200 "the old hooks token keeps its scope"
ok=0
for _ in $(seq 1 80); do
	if [ "$(as "$HOOKS" GET /v1/status)" = 401 ]; then ok=1; break; fi
	sleep 0.1
done
[ "$ok" = 1 ] || fail "the old hooks token still works 8 s after the change"
elapsed=$(($(now_ms) - t0))
[ "$elapsed" -ge 1500 ] || fail "the old token stopped after ${elapsed} ms, before the 2 s overlap"
assert_eq "$(as "$NEW" GET /v1/status)" 200 "the new hooks token after the overlap"
assert_eq "$(as "$NEW" POST /v1/config/reload)" 403 "the new hooks token has the same scope"
step "a token file added to token_dir works at once (scope read)"
tok late "late-$RANDOM"
assert_eq "$(as "$(cat "$T/tokens/late")" GET /v1/status)" 200 "a token file added at run time"
echo "ok"
