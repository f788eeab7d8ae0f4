#!/usr/bin/env bash
# t_signals.sh: graceful stop. SIGTERM while a 1.5 s request is in flight: the request
# completes with 200, new connections are refused right after the signal, an idle
# keep-alive connection is closed, and fulcrum exits 0 soon after the last request.
# SIGINT stops an idle fulcrum with 0. A request longer than shutdown_timeout_s is cut
# at the deadline and fulcrum still exits 0.
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_APP
start_flask web-1 "$P_APP" 4
URL=http://127.0.0.1:$P_WEB

# write_cfg SHUTDOWN_S
write_cfg() {
	{
		E2E_SHUTDOWN_S=$1 cfg_common
		cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; idle_timeout_ms = 30000; } );
pools = ( { name = "flask"; health = { type = "none"; }; connect_timeout_ms = 1000; response_timeout_ms = 20000;
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; weight = 1; max_conns = 4; } ); } );
EOF
	} >"$T/fulcrum.cfg"
}

step "SIGTERM with a slow request in flight and an idle keep-alive connection"
write_cfg 5
start_fulcrum "$T/fulcrum.cfg" "$P_WEB"
wait_http "$URL/healthz" 10
bg idle TERM "$PY" "$E2E_DIR/rawhttp.py" send --port "$P_WEB" --timeout 8 --summary \
	--data 'GET /p/idle HTTP/1.1\r\nHost: t\r\n\r\n'
IDLE_PID=$LAST_PID
bg slow TERM curl -sS --noproxy '*' --max-time 20 -o "$T/slow.body" -w '%{http_code}' "$URL/work?ms=1500"
SLOW_PID=$LAST_PID
# both clients must be in before the signal (a loaded machine starts Python slowly): the
# idle one's request answered, the slow one in the app (it counts /work in flight in
# conc.web-1, "inflight peak total")
for ((i = 0; i < 100; i++)); do
	grep -q '/p/idle' "$T/access.log" 2>/dev/null && [ "$(cut -d' ' -f1 "$T/conc.web-1" 2>/dev/null)" = 1 ] && break
	sleep 0.05
done
grep -q '/p/idle' "$T/access.log" || fail "the idle client's request was not answered before the signal"
[ "$(cut -d' ' -f1 "$T/conc.web-1" 2>/dev/null)" = 1 ] || fail "the slow request did not reach gunicorn"
t_sig=$(now_ms)
kill -TERM "$FULCRUM_PID"
sleep 0.3
rc=0
curl -sS --noproxy '*' --max-time 2 -o /dev/null "$URL/p/after-signal" 2>"$T/after.err" || rc=$?
assert_eq "$rc" 7 "curl exit status for a new connection after SIGTERM (7 = refused; $(cat "$T/after.err"))"

rc=0
wait_exit "$SLOW_PID" 15 || rc=$?
assert_eq "$rc" 0 "in-flight curl exit status ($(cat "$T/slow.log"))"
assert_eq "$(cat "$T/slow.log")" 200 "status of the in-flight request"
assert_contains "$(cat "$T/slow.body")" "work web-1" "body of the in-flight request"

rc=0
wait_exit "$FULCRUM_PID" 10 || rc=$?
t_exit=$(now_ms)
assert_eq "$rc" 0 "fulcrum exit status after SIGTERM"
echo "   fulcrum exited $((t_exit - t_sig)) ms after SIGTERM"
assert_cmp "$((t_exit - t_sig))" ">=" 800 "ms from SIGTERM to exit (the slow request had ~1.1 s left)"
assert_cmp "$((t_exit - t_sig))" "<" 4000 "ms from SIGTERM to exit (deadline 5 s; idle connections must not hold it)"
wait_exit "$IDLE_PID" 10 || true
assert_eq "$(cat "$T/idle.log")" "statuses=200 closed=1" "idle keep-alive connection at shutdown"
wait_unlisten "$P_WEB" 2 || fail "port $P_WEB still listening after exit"
mv "$T/fulcrum.log" "$T/fulcrum-term.log"

step "SIGINT on an idle fulcrum"
start_fulcrum "$T/fulcrum.cfg" "$P_WEB"
wait_http "$URL/healthz" 10
t_sig=$(now_ms)
rc=0
stop_pid "$FULCRUM_PID" INT 5 || rc=$?
assert_eq "$rc" 0 "fulcrum exit status after SIGINT"
assert_cmp "$(($(now_ms) - t_sig))" "<" 2000 "ms from SIGINT to exit with nothing in flight"
mv "$T/fulcrum.log" "$T/fulcrum-int.log"

step "a request longer than shutdown_timeout_s is cut at the deadline"
write_cfg 2
start_fulcrum "$T/fulcrum.cfg" "$P_WEB"
wait_http "$URL/healthz" 10
bg slow2 TERM curl -sS --noproxy '*' --max-time 20 -o /dev/null -w '%{http_code}' "$URL/sleep?ms=8000"
SLOW_PID=$LAST_PID
sleep 0.4
t_sig=$(now_ms)
kill -TERM "$FULCRUM_PID"
rc=0
wait_exit "$FULCRUM_PID" 10 || rc=$?
t_exit=$(now_ms)
assert_eq "$rc" 0 "fulcrum exit status after the shutdown deadline"
echo "   fulcrum exited $((t_exit - t_sig)) ms after SIGTERM (deadline 2 s)"
assert_cmp "$((t_exit - t_sig))" ">=" 1800 "ms from SIGTERM to exit (waits for the deadline)"
assert_cmp "$((t_exit - t_sig))" "<" 3500 "ms from SIGTERM to exit (deadline 2 s)"
wait_exit "$SLOW_PID" 10 || true
echo "   the cut request: $(cat "$T/slow2.log")"
echo "ok"
