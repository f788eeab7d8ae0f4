#!/usr/bin/env bash
# t_ctl_rollback.sh: config generations and rollback. API changes make numbered
# generations (listed with their source, diffed key by key); a rollback restores the
# earlier backends and weights as a new generation, traffic follows, and the result
# survives a reload and a restart; a rollback to a generation that no longer validates
# answers 422 and changes nothing.
# e2e: pairs
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_CTL P_A P_B P_C
start_flask web-a "$P_A" 2
start_flask web-b "$P_B" 2
start_flask web-c "$P_C" 2

cfg=$T/fulcrum.cfg
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; balance = "rr"; health = { type = "none"; };
            backends = (
              { name = "web-a"; address = "127.0.0.1:$P_A"; weight = 1; },
              { name = "web-b"; address = "127.0.0.1:$P_B"; weight = 1; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

# shares N: which instances answer N sequential requests, as "web-a=3 web-b=9".
shares() {
	local i
	for ((i = 0; i < $1; i++)); do
		hcurl "http://127.0.0.1:$P_WEB/" | awk '{print $2}'
	done | sort | uniq -c | awk '{printf "%s%s=%s", sep, $2, $1; sep=" "}'
}

gen1=$(pool_summary flask)
assert_eq "$(current_generation)" 1 "first generation"

step "API changes make generations 2, 3, 4"
assert_eq "$(ctl_rc set flask web-b --weight 3)" 0 "set web-b weight 3"
assert_eq "$(ctl_rc set flask web-c --address "127.0.0.1:$P_C" --weight 2)" 0 "add web-c"
assert_eq "$(ctl_rc remove flask web-a)" 0 "remove web-a"
gen4=$(pool_summary flask)
assert_eq "$(current_generation)" 4 "generation after three changes"
s=$(shares 50)
echo "   generation 4 serves: $s"
assert_not_contains "$s" "web-a" "traffic of generation 4"
assert_match "$s" "web-b=30" "web-b's share (3 of 5, rr)"
assert_match "$s" "web-c=20" "web-c's share (2 of 5, rr)"

gens=$(ctl generations)
printf '   %s\n' "${gens//$'\n'/$'\n'   }"
assert_contains "$gens" "api: PUT flask/web-b" "generation list"
assert_contains "$gens" "api: DELETE flask/web-a" "generation list"
assert_eq "$(json_get "$(ctl --json generations)" 'len(d["generations"])')" 4 "generations kept"
assert_eq "$(find "$T/state/generations" -name '*.cfg' | wc -l)" 4 "generation files in state_dir"
# a kept generation is a config file fulcrum -t accepts
"$FULCRUM" -t -c "$T/state/generations/00000002.cfg" >/dev/null || fail "generation 2's file does not check"

diff=$(ctl diff 1 4)
printf '   %s\n' "${diff//$'\n'/$'\n'   }"
assert_contains "$diff" "~ pools.flask.backends.web-b.weight: 1 -> 3" "diff 1 4"
assert_contains "$diff" "- pools.flask.backends.web-a.address" "diff 1 4"
assert_contains "$diff" "+ pools.flask.backends.web-c.weight = 2" "diff 1 4"
assert_not_contains "$diff" "listeners" "diff 1 4"

step "rollback to generation 1 restores its backends and weights as generation 5"
out=$(ctl rollback 1)
echo "   $out"
assert_contains "$out" "generation 5 applied (rollback to generation 1)" "fulcrumctl rollback"
assert_eq "$(pool_summary flask)" "$gen1" "backends after the rollback to 1"
s=$(shares 40)
echo "   generation 5 serves: $s"
assert_eq "$s" "web-a=20 web-b=20" "traffic after the rollback to 1"
assert_contains "$(ctl generations)" "rollback to generation 1" "generation list"
assert_eq "$(ctl diff 1 5 | tail -n +2)" "" "diff between generation 1 and its rollback"

step "rollback to generation 4 (a later one) works the same"
assert_eq "$(ctl_rc rollback 4)" 0 "rollback to 4"
assert_eq "$(pool_summary flask)" "$gen4" "backends after the rollback to 4"

step "a rolled-back state survives a reload and a restart (journal)"
kill -HUP "$FULCRUM_PID"
for _ in $(seq 50); do
	grep -q "generation 7 applied" "$T/fulcrum.log" && break
	sleep 0.1
done
assert_eq "$(current_generation)" 7 "generation after SIGHUP"
assert_eq "$(pool_summary flask)" "$gen4" "backends after SIGHUP"
rc=0
stop_pid "$FULCRUM_PID" TERM 15 || rc=$?
assert_eq "$rc" 0 "fulcrum's exit status"
mv "$T/fulcrum.log" "$T/fulcrum-1.log"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
assert_eq "$(pool_summary flask)" "$gen4" "backends after a restart"
assert_eq "$(current_generation)" 8 "generation ids go on after a restart"
s=$(shares 50)
assert_not_contains "$s" "web-a" "traffic after the restart"

step "a rollback that does not validate: 422 with every error, nothing changes"
g=$T/state/generations/00000002.cfg
sed -i -e 's/^workers = .*/workers = 9999;/' -e 's/^  level = .*/  level = "loud";/' "$g"
before=$(pool_summary flask)
st=$(api POST /v1/config/rollback -d '{"generation":2}')
assert_eq "$st" 422 "rollback to a damaged generation"
assert_eq "$(json_get "$(cat "$T/api.body")" 'len(d["errors"])')" 2 "errors listed"
assert_contains "$(cat "$T/api.body")" "log.level" "422 body"
assert_eq "$(ctl_rc rollback 2)" 6 "fulcrumctl rollback to a damaged generation"
assert_eq "$(current_generation)" 8 "generation after the refused rollback"
assert_eq "$(pool_summary flask)" "$before" "backends after the refused rollback"
echo "ok"
