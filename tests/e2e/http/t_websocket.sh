#!/usr/bin/env bash
# t_websocket.sh: a WebSocket upgrade through fulcrum is answered 101 by the backend and
# then tunnelled both ways: a client exchanges text and binary messages with an echo
# server behind fulcrum, several clients at once, and the access log records the 101.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_WS
bg ws-echo TERM "$PY" "$E2E_DIR/ws_echo.py" server --port "$P_WS"
wait_listen "$P_WS" "$LAST_PID"

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "ws";
                head_timeout_ms = 3000; idle_timeout_ms = 10000; } );
pools = ( { name = "ws"; health = { type = "none"; }; connect_timeout_ms = 1000; response_timeout_ms = 5000;
            backends = ( { name = "ws-1"; address = "127.0.0.1:$P_WS"; weight = 1; max_conns = 0; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"

step "direct to the echo server (proves the client)"
out=$("$PY" "$E2E_DIR/ws_echo.py" client --url "ws://127.0.0.1:$P_WS/chat" --messages 3) ||
	fail "direct client failed: $out"

step "three messages through fulcrum"
out=$("$PY" "$E2E_DIR/ws_echo.py" client --url "ws://127.0.0.1:$P_WEB/chat" --messages 3) ||
	fail "client through fulcrum: $out"
assert_eq "$out" "ok 3" "websocket client through fulcrum"

step "four clients at once, 6 messages each (up to ~420 KB)"
pids=()
for i in 1 2 3 4; do
	bg "client$i" TERM "$PY" "$E2E_DIR/ws_echo.py" client --url "ws://127.0.0.1:$P_WEB/c$i" --messages 6
	pids+=("$LAST_PID")
done
for i in 1 2 3 4; do
	rc=0
	wait_exit "${pids[$((i - 1))]}" 30 || rc=$?
	[ $rc = 0 ] || fail "concurrent client $i (exit $rc): $(cat "$T/client$i.log")"
	assert_eq "$(cat "$T/client$i.log")" "ok 6" "concurrent client $i"
done

step "access log records the upgraded connections"
alog_wait 5 status=101
assert_eq "$(alog count status=101)" 5 "access-log entries with status 101 (one per connection through fulcrum)"
echo "ok"
