#!/usr/bin/env bash
# t_fault_drain.sh: a drain and re-add cycle through the control API under continuous
# load, twice: fulcrumctl drain web-2 --wait returns once web-2 has nothing in flight;
# no request starts towards web-2 from the drain's acknowledgement until it is set
# active again (fulcrumctl set --state active --wait-healthy), after which it gets
# traffic again. Not one GET fails. (t_ctl_rolling.sh covers drain + remove + add of
# new instances; this is the same instance going out and coming back.)
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
. "$(dirname "$0")/../lib/fault_lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_CTL P1 P2 P3
start_flask web-1 "$P1" 3
start_flask web-2 "$P2" 3
start_flask web-3 "$P3" 3

cfg=$T/fulcrum.cfg
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "http"; path = "/healthz"; interval_ms = 300; timeout_ms = 1000; rise = 1; };
            connect_timeout_ms = 1000; response_timeout_ms = 10000; queue_timeout_ms = 10000; retries = 1;
            drain_timeout_s = 15;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; max_conns = 3; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; max_conns = 3; },
                         { name = "web-3"; address = "127.0.0.1:$P3"; max_conns = 3; } ); } );
CFG
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

# the load ends after the second round (60 s only bounds it)
step "continuous load: 6 keep-alive clients on /work (?ms=50)"
load_start load 6 60 --path '/work?ms=50'
sleep 2
: >"$T/windows"
for round in 1 2; do
	step "round $round: drain web-2 and wait, then set it active again"
	rc=$(ctl_rc drain flask web-2)
	assert_eq "$rc" 0 "fulcrumctl drain web-2 ($(cat "$T/ctl.out"))"
	t_drain=$(now_s)
	rc=$(ctl_rc drain flask web-2 --wait --wait-timeout 15)
	assert_eq "$rc" 0 "fulcrumctl drain web-2 --wait ($(cat "$T/ctl.out"))"
	echo "   $(cat "$T/ctl.out")"
	sleep 3
	t_back=$(now_s)
	rc=$(ctl_rc set flask web-2 --state active --wait-healthy --wait-timeout 15)
	assert_eq "$rc" 0 "fulcrumctl set web-2 --state active ($(cat "$T/ctl.out"))"
	echo "$t_drain $t_back" >>"$T/windows"
	sleep 3
done
load_stop
load_check load 200

res=$("$PY" - "$T/windows" "$T/load.req" <<'PYEOF'
import json, sys
wins = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
reqs = [l.split() for l in open(sys.argv[2])]
late = [r for r in reqs if r[3] == "web-2" and any(a < float(r[0]) < b for a, b in wins)]
back = [sum(1 for r in reqs if r[3] == "web-2" and b + 0.5 < float(r[0]) < b + 2.5) for a, b in wins]
print(json.dumps({"started_on_web2_while_drained": len(late), "web2_after_readd": back}))
PYEOF
)
echo "   $res"
assert_eq "$(json_get "$res" 'd["started_on_web2_while_drained"]')" 0 "requests started towards web-2 while it was drained"
assert_cmp "$(json_get "$res" 'min(d["web2_after_readd"])')" ">" 5 "requests web-2 served in the 2 s after each re-add"
echo "ok"
