#!/usr/bin/env bash
# t_ctl_put_keeps.sh: a PUT's left-out fields keep their value (issue 17). A re-weight
# of a draining or maint backend (fulcrumctl set --weight, the status page's Weight
# button, a hook) used to set it active again and send it traffic; every field
# (address, weight, max_conns, state, identity, ttl_s) left out on an existing backend
# in every admin state now keeps the backend's value.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_CTL P_A P_B
start_flask web-1 "$P_A" 1
start_flask web-2 "$P_B" 1

cfg=$T/fulcrum.cfg
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = (
              { name = "web-1"; address = "127.0.0.1:$P_A"; weight = 2; max_conns = 4; },
              { name = "web-2"; address = "127.0.0.1:$P_B"; weight = 1; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

# view: "address weight max_conns admin identity lease_ttl_s" of web-1.
view() {
	hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$P_CTL/v1/pools/flask/backends/web-1" |
		"$PY" -c 'import json,sys
b = json.load(sys.stdin)
print(b["address"], b["weight"], b["max_conns"], b["admin"], b.get("identity"), b.get("lease_ttl_s"))'
}
put() {
	local st
	st=$(api PUT /v1/pools/flask/backends/web-1 -d "$1")
	[ "$st" = 200 ] || fail "PUT $1: status $st: $(cat "$T/api.body")"
}

step "the weight alone (as fulcrumctl set --weight and the status page send it)"
for state in draining maint; do
	put "{\"state\":\"$state\"}"
	assert_eq "$(ctl_rc set flask web-1 --weight 3)" 0 "fulcrumctl set --weight 3 on a $state backend"
	assert_eq "$(json_get "$(ctl --json get flask web-1)" 'd["admin"]')" "$state" "admin after the re-weight"
	s=$(for _ in 1 2 3 4 5 6; do hcurl "http://127.0.0.1:$P_WEB/" | awk '{print $2}'; done | sort -u | tr '\n' ' ')
	assert_eq "$s" "web-2 " "traffic while web-1 is $state after the re-weight"
done

for state in draining maint active; do
	step "web-1 $state: each field left out keeps its value"
	put "{\"state\":\"$state\",\"weight\":2,\"max_conns\":4,\"identity\":\"id-$state\",\"ttl_s\":600}"
	assert_eq "$(view)" "127.0.0.1:$P_A 2 4 $state id-$state 600" "web-1 set $state"
	put '{"address":"127.0.0.1:'"$P_A"'","max_conns":5,"identity":"x-'"$state"'","ttl_s":900}'
	assert_eq "$(view)" "127.0.0.1:$P_A 2 5 $state x-$state 900" "weight and state left out"
	put '{"address":"127.0.0.1:'"$P_A"'","weight":3,"max_conns":5,"identity":"x-'"$state"'","ttl_s":900}'
	assert_eq "$(view)" "127.0.0.1:$P_A 3 5 $state x-$state 900" "state left out"
	put '{"weight":4,"max_conns":6,"state":"'"$state"'","identity":"y-'"$state"'","ttl_s":700}'
	assert_eq "$(view)" "127.0.0.1:$P_A 4 6 $state y-$state 700" "address left out"
	put '{"address":"127.0.0.1:'"$P_A"'","weight":5,"state":"'"$state"'","identity":"z-'"$state"'","ttl_s":800}'
	assert_eq "$(view)" "127.0.0.1:$P_A 5 6 $state z-$state 800" "max_conns left out"
	put '{"address":"127.0.0.1:'"$P_A"'","weight":6,"max_conns":7,"state":"'"$state"'","ttl_s":500}'
	assert_eq "$(view)" "127.0.0.1:$P_A 6 7 $state z-$state 500" "identity left out"
	put '{"address":"127.0.0.1:'"$P_A"'","weight":7,"max_conns":8,"state":"'"$state"'","identity":"w-'"$state"'"}'
	assert_eq "$(view)" "127.0.0.1:$P_A 7 8 $state w-$state 500" "ttl_s left out"
	put '{}'
	assert_eq "$(view)" "127.0.0.1:$P_A 7 8 $state w-$state 500" "everything left out"
done
echo "ok"
