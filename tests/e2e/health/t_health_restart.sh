#!/usr/bin/env bash
# t_health_restart.sh: a restarted backend does not wait out its passive ejection. Under
# load, a gunicorn is killed (SIGKILL) and ejected at once by passive detection
# (connection refused; eject_ms 30 s, longer than any restart here, where the default is
# 10 s) and restarted on the same port a second later: rise checks that pass after the ejection bring it back (warming up)
# within rise * interval of listening, long before the hold would end (regression: it
# stayed out for the whole hold while its checks passed, so a rolling restart ran short
# of capacity for no reason). No GET fails.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
. "$(dirname "$0")/../lib/fault_lib.sh"
need_fulcrum

INTERVAL_MS=500
RISE=2
ports P_WEB P1 P2
start_flask web-1 "$P1" 3
start_flask web-2 "$P2" 3
WEB2_PID=$LAST_PID

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; slow_start_s = 2;
            health = { type = "http"; path = "/healthz"; interval_ms = $INTERVAL_MS; timeout_ms = 1000;
                       rise = $RISE; fall = 3; };
            passive = { eject_ms = 30000; };
            connect_timeout_ms = 1000; response_timeout_ms = 10000; queue_timeout_ms = 10000; retries = 2;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; max_conns = 3; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; max_conns = 3; } ); } );
CFG
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"
wait_http "http://127.0.0.1:$P_WEB/" 10

# the load ends 5 s after web-2 is up again (60 s only bounds it)
step "load: 4 clients on /work; web-2 killed after 2 s"
load_start load 4 60
sleep 2
t_kill=$(now_s)
kill_instance "$WEB2_PID"
wait_log 'backend flask/web-2 .* down:' 5 "$t_kill" >/dev/null
line=$(grep 'backend flask/web-2 .* down:' "$T/fulcrum.log" | tail -1)
echo "   ${line#* gen=1 }"
assert_contains "$line" "live traffic" "web-2's down line (a passive ejection)"
assert_contains "$line" "ejected until $RISE checks pass in a row (ejection 1 in a row)" "web-2's down line"

step "restart web-2 a second later: back after $RISE passed checks, not after the 30 s hold"
sleep 1
start_flask web-2 "$P2" 3
t_listen=$(now_s)
t_up=$(wait_log 'backend flask/web-2 .* up:' 10 "$t_kill")
line=$(grep 'backend flask/web-2 .* up:' "$T/fulcrum.log" | tail -1)
echo "   up $(awk -v a="$t_up" -v b="$t_kill" 'BEGIN {printf "%.2f", a - b}') s after the kill, $(awk -v a="$t_up" -v b="$t_listen" 'BEGIN {printf "%.2f", a - b}') s after it answered: ${line#* gen=1 }"
assert_contains "$line" "$RISE checks passed in a row" "web-2's up line"
assert_contains "$line" "warming up over 2.0 s" "web-2's up line"
# start_flask returns once /healthz answers; the checks then need rise passes
assert_cmp "$(awk -v a="$t_up" -v b="$t_listen" 'BEGIN {print a - b}')" "<=" \
	"$(awk -v r=$RISE -v i=$INTERVAL_MS 'BEGIN {print r * i * 1.1 / 1000 + 1.5}')" "seconds from web-2 answering to up"
assert_cmp "$(awk -v a="$t_up" -v b="$t_kill" 'BEGIN {print a - b}')" "<" 15 "seconds from the kill to web-2 up (the hold is 30 s)"
sleep_until "$(awk -v u="$t_up" 'BEGIN {printf "%.3f", u + 5}')"
load_stop
load_check load 100
late=$(awk -v u="$t_up" '$4 == "web-2" && $1 > u + 1 { n++ } END { print n + 0 }' "$T/load.req")
assert_cmp "$late" ">" 0 "requests web-2 answered after it came back"
echo "ok"
