#!/usr/bin/env bash
# t_health_busy.sh: a busy backend is not marked down by checks that wait behind its real
# requests. Two gunicorns with one sync worker each and max_conns = workers (the README's
# advice), four clients on 3 s requests: a check waits in gunicorn's backlog until the
# worker frees, mostly longer than timeout_ms (1 s). (With two workers and 2 s requests
# the checks fell into step with the requests, each arriving as a worker freed, and the
# scenario proved nothing one run in three.) While the backend has requests in
# flight that complete (one within interval + timeout), such a timeout is excused
# (logged once) and no backend goes down (regression: fall timeouts in a row took a
# healthy backend out at peak, halving capacity). A hung backend (SIGSTOP: requests in
# flight that never complete) still goes down on its timed-out checks.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/health_lib.sh"
. "$(dirname "$0")/../lib/fault_lib.sh"
need_fulcrum

INTERVAL_MS=1500
TIMEOUT_MS=1000
FALL=2
ports P_WEB P1 P2
start_flask web-1 "$P1" 1
start_flask web-2 "$P2" 1
WEB2_PID=$LAST_PID

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<CFG
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask";
            health = { type = "http"; path = "/healthz"; interval_ms = $INTERVAL_MS; timeout_ms = $TIMEOUT_MS;
                       rise = 2; fall = $FALL; };
            connect_timeout_ms = 1000; response_timeout_ms = 30000; queue_timeout_ms = 20000;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P1"; max_conns = 1; },
                         { name = "web-2"; address = "127.0.0.1:$P2"; max_conns = 1; } ); } );
CFG
} >"$cfg"
t0=$(now_s)
start_fulcrum "$cfg" "$P_WEB"
wait_http "http://127.0.0.1:$P_WEB/" 10

step "4 clients on 3 s requests for 12 s: checks wait behind them, nothing goes down"
load_start busy 4 12 --path "/work?ms=3000" --timeout 30
load_check busy 8
downs=$(grep -E 'backend flask/web-[12] .* down:' "$T/fulcrum.log" || true)
[ -z "$downs" ] || fail "a serving backend was taken out: $downs"
n=$(grep -cE 'backend flask/web-[12] .*: a check timed out .* not counted as a failure' "$T/fulcrum.log" || true)
line=$(grep -m1 -E 'backend flask/web-[12] .*: a check timed out' "$T/fulcrum.log" || true)
echo "   ${line#* gen=1 }"
assert_cmp "$n" ">=" 1 "excused timeouts logged (checks did wait longer than timeout_ms)"
# once per busy period: one per backend, a second if a check found a gap (a counted
# timeout ends the period), never one per excused check
assert_cmp "$n" "<=" 4 "excused-timeout lines (logged once per backend while it stays busy)"

step "web-2 hangs (SIGSTOP) with requests in flight: its timed-out checks count again"
load_start hung 4 8 --path "/work?ms=3000" --timeout 30
sleep 3.5
kids=$(pgrep -P "$WEB2_PID" || true)
t_stop=$(now_s)
# shellcheck disable=SC2086
kill -STOP "$WEB2_PID" $kids
t_down=$(wait_log 'backend flask/web-2 .* down:' 20 "$t_stop")
line=$(grep 'backend flask/web-2 .* down:' "$T/fulcrum.log" | tail -1)
echo "   down $(awk -v a="$t_down" -v b="$t_stop" 'BEGIN {printf "%.2f", a - b}') s after the stop: ${line#* gen=1 }"
assert_contains "$line" "$FALL checks failed in a row (last: no answer within $TIMEOUT_MS ms)" "web-2's down line"
# excused for at most interval + timeout after its last response, then fall checks
assert_cmp "$(awk -v a="$t_down" -v b="$t_stop" 'BEGIN {print a - b}')" "<=" \
	"$(awk -v i=$INTERVAL_MS -v t=$TIMEOUT_MS -v f=$FALL 'BEGIN {print ((i + t) + f * (i * 1.1 + t)) / 1000 + 3}')" \
	"seconds from the stop to web-2 down"
kill_instance "$WEB2_PID"
wait_exit "$LOAD_PID" 60 || fail "load generator hung did not finish"
echo "ok"
