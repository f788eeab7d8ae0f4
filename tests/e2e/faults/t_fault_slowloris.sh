#!/usr/bin/env bash
# t_fault_slowloris.sh: 300 slowloris clients, each sending the start of a request head
# and then one more byte every 300 ms, never finishing it. head_timeout_ms = 2000 cuts
# every one of them about 2 s after it connected (a 408 or a plain close: the trickle
# does not extend the deadline), while continuous load from normal clients goes on
# without a single failure. (t_timeouts.sh checks one slowloris client in detail.)
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
. "$(dirname "$0")/../lib/fault_lib.sh"
need_fulcrum

SLOW=300
ports P_WEB P1 P2
start_flask web-1 "$P1" 3
start_flask web-2 "$P2" 3

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
                max_conns_per_client = 0;  # the one test client holds them all
                head_timeout_ms = 2000; idle_timeout_ms = 30000; } );
pools = ( { name = "flask"; health = { type = "none"; };
            connect_timeout_ms = 1000; response_timeout_ms = 10000; queue_timeout_ms = 10000; retries = 1;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; max_conns = 3; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; max_conns = 3; } ); } );
CFG
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

step "continuous load: 4 keep-alive clients on /work for 10 s; $SLOW slowloris clients"
load_start load 4 10
sleep 1
bg slow INT "$PY" "$E2E_DIR/connhog.py" --port "$P_WEB" --count $SLOW --hold 7 --mode slowloris --trickle 0.3
SLOW_PID=$LAST_PID
load_check load 100
wait_exit "$SLOW_PID" 30 || fail "slowloris clients did not finish"
res=$(cat "$T/slow.log")
echo "   slowloris: $res"
assert_eq "$(json_get "$res" 'd["opened"]')" $SLOW "slowloris connections opened"
assert_eq "$(json_get "$res" 'd["closed_by_peer"]')" $SLOW "slowloris connections cut by fulcrum"
assert_cmp "$(json_get "$res" 'd["closed_after"][0]')" ">=" 1.8 "earliest cut (s after connect; head_timeout_ms 2000)"
assert_cmp "$(json_get "$res" 'd["closed_after"][2]')" "<=" 4.5 "latest cut (s after connect; head_timeout_ms 2000)"
assert_eq "$(json_get "$res" 'sorted(k for k in d["statuses"] if k not in ("408", "none"))')" "[]" "answers to the slowloris clients other than 408 or a plain close"
echo "ok"
