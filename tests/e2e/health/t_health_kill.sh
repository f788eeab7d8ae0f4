#!/usr/bin/env bash
# t_health_kill.sh: under continuous load through fulcrum, a gunicorn instance is killed
# (SIGKILL to master and workers): no GET fails (requests in flight or refused are
# retried elsewhere; only a response already streaming when the instance died can be
# cut), the instance is marked down within fall*interval (passive detection does it at
# once) and answers nothing more; restarted, it comes back after rise checks and its
# share of the traffic ramps up over slow_start_s instead of jumping to a third.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
. "$(dirname "$0")/../lib/fault_lib.sh"
need_fulcrum

INTERVAL_MS=500
FALL=3
RISE=2
SLOW_S=8
ports P_WEB P1 P2 P3
start_flask web-1 "$P1" 4
start_flask web-2 "$P2" 4
WEB2_PID=$LAST_PID
start_flask web-3 "$P3" 4

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; balance = "wlc"; slow_start_s = $SLOW_S;
            health = { type = "http"; path = "/healthz"; interval_ms = $INTERVAL_MS; timeout_ms = 400;
                       rise = $RISE; fall = $FALL; };
            passive = { eject_ms = 1000; };
            connect_timeout_ms = 1000; response_timeout_ms = 10000; queue_timeout_ms = 10000; retries = 2;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; max_conns = 4; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; max_conns = 4; },
                         { name = "web-3"; address = "127.0.0.1:$P3"; max_conns = 4; } ); } );
CFG
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"

# the load is stopped once the share windows below are covered (60 s only bounds it)
step "continuous load: 8 keep-alive clients on /work until web-2 is back at full weight"
bg load INT "$PY" "$E2E_DIR/hload.py" run --port "$P_WEB" --clients 8 --duration 60 --log "$T/requests.log"
LOAD_PID=$LAST_PID
sleep 3

step "kill web-2 (SIGKILL, master pid $WEB2_PID and its workers)"
t_kill=$(now_s)
kill_instance "$WEB2_PID"
t_down=$(wait_log 'backend flask/web-2 .* down:' 10 "$t_kill")
echo "   marked down $(awk -v a="$t_down" -v b="$t_kill" 'BEGIN {printf "%.2f", a - b}') s after the kill: $(grep -m1 'flask/web-2 .* down:' "$T/fulcrum.log" | cut -d' ' -f4-)"
assert_cmp "$(awk -v a="$t_down" -v b="$t_kill" 'BEGIN {print a - b}')" "<=" \
	"$(awk -v f=$FALL -v i=$INTERVAL_MS 'BEGIN {print f * i / 1000 + 1}')" "seconds from the kill to web-2 marked down (fall*interval + 1 s)"
sleep 3 # the dead window: nothing may reach web-2 in it

step "restart web-2 on the same port"
# start_flask returns only once /healthz answers, by when fulcrum's checks may already
# have brought web-2 back: the dead window ends when the restart begins
t_restart=$(now_s)
start_flask web-2 "$P2" 4
t_listen=$(now_s)
t_up=$(wait_log 'backend flask/web-2 .* up:' 10 "$t_kill")
up_line=$(grep 'flask/web-2 .* up:' "$T/fulcrum.log" | tail -1)
echo "   up $(awk -v a="$t_up" -v b="$t_listen" 'BEGIN {printf "%.2f", a - b}') s after it listened: $(echo "$up_line" | cut -d' ' -f4-)"
assert_contains "$up_line" "$RISE checks passed in a row" "the up line"
assert_contains "$up_line" "warming up over $SLOW_S.0 s" "the up line"
assert_cmp "$(awk -v a="$t_up" -v b="$t_listen" 'BEGIN {print a - b}')" "<=" \
	"$(awk -v r=$RISE -v i=$INTERVAL_MS 'BEGIN {print r * i * 1.1 / 1000 + 1.5}')" "seconds from listening to up (rise*interval + margin)"
wait_log 'backend flask/web-2 .* at full weight' $((SLOW_S + 5)) "$t_up" >/dev/null
t_end=$(awk -v u="$t_up" -v s=$SLOW_S 'BEGIN {printf "%.3f", u + s + 4}')

step "load ends once it covers the share windows (to $SLOW_S + 4 s after web-2 came up)"
sleep_until "$(awk -v e="$t_end" 'BEGIN {printf "%.3f", e + 0.5}')"
load_stop
wait_exit "$LOAD_PID" 30 || fail "load generator did not finish"
out=$(cat "$T/load.log")
echo "   $out"
# A response whose head was already forwarded when the instance died cannot be replayed:
# those (at most the 4 web-2 had in flight) are the only failures allowed.
assert_eq "$(json_get "$out" 'd["fail"] - d["truncated"]')" 0 "failed GETs other than responses cut mid-body (errors: $(json_get "$out" 'd["errors"]'))"
assert_cmp "$(json_get "$out" 'd["truncated"]')" "<=" 4 "responses cut mid-body (web-2 had at most max_conns 4 in flight)"
assert_cmp "$(json_get "$out" 'd["ok"]')" ">" 1000 "successful GETs"

# Nothing was answered by web-2 between fall*interval after the kill and its restart.
late=$(awk -v k="$t_kill" -v l="$t_restart" -v f=$FALL -v i=$INTERVAL_MS \
	'$4 == "web-2" && $1 > k + f * i / 1000 && $1 < l { n++ } END { print n + 0 }' "$T/requests.log")
assert_eq "$late" 0 "requests answered by web-2 while it was dead"

step "web-2's share after it came back (2 s windows; a third is a full share)"
sh=$(hload shares --log "$T/requests.log" --instance web-2 --from "$t_up" --to "$t_end" --step 2)
echo "   $sh"
first=$(json_get "$sh" 'd[0][1]')
last=$(json_get "$sh" 'd[-1][1]')
assert_cmp "$first" "<" 0.2 "web-2's share in the first 2 s of its slow start"
assert_cmp "$first" "<" "$(awk -v l="$last" 'BEGIN {print l * 0.6}')" "first share vs 0.6 x the share at full weight ($last)"
assert_cmp "$last" ">" 0.2 "web-2's share at full weight"
assert_cmp "$(json_get "$sh" 'd[1][1]')" ">" "$first" "the share 2-4 s into the ramp vs the first 2 s"
echo "ok"
