#!/usr/bin/env bash
# t_fault_idle_conns.sh: 5,000 idle client connections held open while load runs. The
# same load (4 keep-alive clients, 8 s) runs once alone and once beside 5,000 silent
# connections: not one GET fails either time, the idle ones are all still open at the
# end (head_timeout_ms is longer than the test), and the throughput beside them is at
# least half of that alone (loose: the machine is shared; they must not slow it down
# in any way that matters).
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
. "$(dirname "$0")/../lib/fault_lib.sh"
need_fulcrum

IDLE=5000
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge $((IDLE + 200)) ] ||
	skip "the hard descriptor limit ($(ulimit -Hn)) is below $IDLE connections"
ports P_WEB P1 P2
start_flask web-1 "$P1" 3
start_flask web-2 "$P2" 3

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
                max_conns_per_client = 0;  # the one test client holds them all
                head_timeout_ms = 120000; idle_timeout_ms = 120000; max_connections = 10000; } );
pools = ( { name = "flask"; health = { type = "none"; };
            connect_timeout_ms = 1000; response_timeout_ms = 10000; queue_timeout_ms = 10000; retries = 1;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; max_conns = 3; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; max_conns = 3; } ); } );
CFG
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"
wait_http "http://127.0.0.1:$P_WEB/healthz" 10

step "load alone: 4 keep-alive clients on /work for 8 s"
load_start alone 4 8
load_check alone 100
alone=$(json_get "$LOAD_RESULT" 'd["ok"]')

step "$IDLE idle connections opened and held"
bg hog INT "$PY" "$E2E_DIR/connhog.py" --port "$P_WEB" --count $IDLE --hold 30 --ready "$T/hog.ready" --connect-timeout 10
HOG_PID=$LAST_PID
for ((i = 0; i < 300; i++)); do
	[ -s "$T/hog.ready" ] && break
	sleep 0.1
done
[ -s "$T/hog.ready" ] || fail "the idle connections were not all opened within 30 s"
assert_eq "$(cat "$T/hog.ready")" $IDLE "idle connections open"
sleep 1
nfd=$(ls "/proc/$FULCRUM_PID/fd" | wc -l)
echo "   fulcrum holds $nfd descriptors"
assert_cmp "$nfd" ">=" $IDLE "descriptors held by fulcrum (the idle connections were accepted)"

step "the same load beside them"
load_start beside 4 8
load_check beside 100
beside=$(json_get "$LOAD_RESULT" 'd["ok"]')
echo "   throughput: $alone requests alone, $beside beside $IDLE idle connections"
assert_cmp "$beside" ">=" "$((alone / 2))" "requests served beside the idle connections (half of $alone alone)"

kill -INT "$HOG_PID"
wait_exit "$HOG_PID" 20 || fail "connection hog did not finish"
hog=$(cat "$T/hog.log")
echo "   hog: $hog"
assert_eq "$(json_get "$hog" 'd["closed_by_peer"]')" 0 "idle connections closed by fulcrum during the test"
echo "ok"
