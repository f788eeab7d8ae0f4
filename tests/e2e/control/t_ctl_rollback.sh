#!/usr/bin/env bash
# t_ctl_rollback.sh: config generations and rollback. API membership changes are
# published as runtime generations that are not kept (the journal holds them); the
# operator's configs (start, reload, rollback) are kept, listed with their source and
# diffed key by key. A rollback restores the earlier backends and weights as a new
# generation, traffic follows, and the result survives a reload and a restart; hook
# churn and many rollbacks never evict the newest config read from the file (issue 17);
# a rollback to a generation that no longer validates answers 422 and changes nothing.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_CTL P_A P_B P_C
start_flask web-a "$P_A" 2
start_flask web-b "$P_B" 2
start_flask web-c "$P_C" 2

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
control = { listen = "127.0.0.1:$P_CTL"; token_file = "$T/token"; generations_keep = 3; };
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

step "API changes are runtime generations 2, 3, 4: published, not kept"
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
st=$(hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/v1/status")
assert_eq "$(json_get "$st" 'd["generation"]["kept"]')" false "status: generation 4 kept"
assert_eq "$(json_get "$st" 'd["generation"]["config_generation"]')" 1 "status: built on"
assert_contains "$(json_get "$st" 'd["generation"]["source"]')" "api: DELETE flask/web-a" "status: source"
assert_eq "$(json_get "$(ctl --json generations)" 'len(d["generations"])')" 1 "generations kept"
assert_contains "$(ctl status)" "built on kept generation 1" "fulcrumctl status"
# the running config is diffed against, kept or not
diff=$(ctl diff 1)
assert_contains "$diff" "~ pools.flask.backends.web-b.weight: 1 -> 3" "diff 1 (running)"

step "a reload keeps the operator's config with the journal laid over it: generation 5"
assert_eq "$(api POST /v1/config/reload)" 200 "reload"
assert_eq "$(current_generation)" 5 "generation after the reload"
gens=$(ctl generations)
printf '   %s\n' "${gens//$'\n'/$'\n'   }"
assert_contains "$gens" "reload of" "generation list"
assert_not_contains "$gens" "api: PUT" "generation list"
assert_eq "$(find "$T/state/generations" -name '*.cfg' | wc -l)" 2 "generation files in state_dir"
# a kept generation is a config file fulcrum -t accepts
"$FULCRUM" -t -c "$T/state/generations/00000005.cfg" >/dev/null || fail "generation 5's file does not check"

diff=$(ctl diff 1 5)
printf '   %s\n' "${diff//$'\n'/$'\n'   }"
assert_contains "$diff" "~ pools.flask.backends.web-b.weight: 1 -> 3" "diff 1 5"
assert_contains "$diff" "- pools.flask.backends.web-a.address" "diff 1 5"
assert_contains "$diff" "+ pools.flask.backends.web-c.weight = 2" "diff 1 5"
assert_not_contains "$diff" "listeners" "diff 1 5"

step "hook churn (10 changes, generations_keep = 3) evicts no rollback target"
for i in $(seq 10); do
	assert_eq "$(ctl_rc set flask web-b --weight $((3 + i % 2)))" 0 "churn $i"
done
assert_eq "$(current_generation)" 15 "generation after the churn"
assert_eq "$(json_get "$(ctl --json generations)" '[g["id"] for g in d["generations"]]')" "[1, 5]" "kept after the churn"
assert_eq "$(pool_summary flask)" "$gen4" "backends after the churn (web-b at weight 3)"

step "rollback to generation 1 restores its backends and weights as generation 16"
out=$(ctl rollback 1)
echo "   $out"
assert_contains "$out" "generation 16 applied (rollback to generation 1)" "fulcrumctl rollback"
assert_eq "$(pool_summary flask)" "$gen1" "backends after the rollback to 1"
s=$(shares 40)
echo "   generation 16 serves: $s"
assert_eq "$s" "web-a=20 web-b=20" "traffic after the rollback to 1"
assert_contains "$(ctl generations)" "rollback to generation 1" "generation list"
assert_eq "$(ctl diff 1 16 | tail -n +2)" "" "diff between generation 1 and its rollback"

step "rollback to generation 5 (a later one) works the same"
assert_eq "$(ctl_rc rollback 5)" 0 "rollback to 5"
assert_eq "$(pool_summary flask)" "$gen4" "backends after the rollback to 5"

step "more rollbacks than generations_keep: the newest file generation stays"
assert_eq "$(ctl_rc rollback 16)" 0 "rollback to 16 (generation 1's backends)"
assert_eq "$(ctl_rc rollback 17)" 0 "rollback to 17 (generation 5's backends)"
kept=$(json_get "$(ctl --json generations)" '[g["id"] for g in d["generations"]]')
assert_eq "$kept" "[5, 18, 19]" "kept after four rollbacks"
assert_eq "$(pool_summary flask)" "$gen4" "backends after the rollbacks"

step "a rolled-back state survives a reload and a restart (journal)"
kill -HUP "$FULCRUM_PID"
for _ in $(seq 50); do
	grep -q "generation 20 applied" "$T/fulcrum.log" && break
	sleep 0.1
done
assert_eq "$(current_generation)" 20 "generation after SIGHUP"
assert_eq "$(pool_summary flask)" "$gen4" "backends after SIGHUP"
assert_eq "$(ctl_rc set flask web-b --weight 3)" 0 "an unchanged set (no generation)"
assert_eq "$(ctl_rc set flask web-b --weight 4)" 0 "one more runtime generation"
assert_eq "$(ctl_rc set flask web-b --weight 3)" 0 "and back"
assert_eq "$(current_generation)" 22 "runtime generations after SIGHUP"
rc=0
stop_pid "$FULCRUM_PID" TERM 15 || rc=$?
assert_eq "$rc" 0 "fulcrum's exit status"
mv "$T/fulcrum.log" "$T/fulcrum-1.log"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
assert_eq "$(pool_summary flask)" "$gen4" "backends after a restart"
# the last ids were runtime ones, not kept: the journal remembers them
assert_eq "$(current_generation)" 23 "generation ids go on after a restart"
s=$(shares 50)
assert_not_contains "$s" "web-a" "traffic after the restart"

step "a rollback that does not validate: 422 with every error, nothing changes"
assert_eq "$(json_get "$(ctl --json generations)" '[g["id"] for g in d["generations"]]')" "[19, 20, 23]" "kept after the restart"
g=$T/state/generations/00000019.cfg
sed -i -e 's/^workers = .*/workers = 9999;/' -e 's/^  level = .*/  level = "loud";/' "$g"
before=$(pool_summary flask)
st=$(api POST /v1/config/rollback -d '{"generation":19}')
assert_eq "$st" 422 "rollback to a damaged generation"
assert_eq "$(json_get "$(cat "$T/api.body")" 'len(d["errors"])')" 2 "errors listed"
assert_contains "$(cat "$T/api.body")" "log.level" "422 body"
assert_eq "$(ctl_rc rollback 19)" 6 "fulcrumctl rollback to a damaged generation"
assert_eq "$(current_generation)" 23 "generation after the refused rollback"
assert_eq "$(pool_summary flask)" "$before" "backends after the refused rollback"
echo "ok"
