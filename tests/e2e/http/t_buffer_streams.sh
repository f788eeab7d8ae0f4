#!/usr/bin/env bash
# t_buffer_streams.sh: what response buffering (issue 24) must leave alone. Server-sent
# events (Content-Type text/event-stream) and a response marked X-Accel-Buffering: no
# reach the client as they are made: the first event arrives before the app has made
# the second, 1.5 s later; the X-Accel-Buffering header itself is removed. A WebSocket
# (101 Upgrade) still echoes through fulcrum.
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_LB P_WSL P_BE P_WS
start_flask web "$P_BE" 1
bg ws-echo TERM "$PY" "$E2E_DIR/ws_echo.py" server --port "$P_WS"
wait_listen "$P_WS" "$LAST_PID"
cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_LB"; mode = "http"; pool = "flask"; },
              { name = "ws"; bind = "127.0.0.1:$P_WSL"; mode = "http"; pool = "ws"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "w"; address = "127.0.0.1:$P_BE"; max_conns = 1; } ); },
          { name = "ws"; health = { type = "none"; };
            backends = ( { name = "ws-1"; address = "127.0.0.1:$P_WS"; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_LB" "$P_WSL"

# two_events PATH: prints "HEAD-LINES-JOINED-BY-| LEAD", LEAD being how many seconds
# the first event arrived before the app made the second (negative: it came after).
two_events() {
	"$PY" - "$P_LB" "$1" <<'EOF'
import re, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % sys.argv[2].encode())
data, first_at = b"", None
end = time.monotonic() + 10
while time.monotonic() < end:
    piece = s.recv(65536)
    if not piece:
        break
    data += piece
    if first_at is None and b"data: one" in data:
        first_at = time.time()
m = re.search(rb"data: two ([0-9.]+)", data)
if b"\r\n\r\n" not in data or first_at is None or not m:
    sys.exit("incomplete stream: %r" % data[:400])
head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").replace("\r\n", "|")
print(head, "%.3f" % (float(m.group(1)) - first_at))
EOF
}

step "server-sent events stream through"
out=$(two_events "/sse?ms=1500") || fail "/sse: $out"
echo "   $out"
assert_contains "$out" "HTTP/1.1 200" "/sse head"
assert_cmp "${out##* }" ">" 0.5 "seconds the first event arrived before the second was made (/sse)"

step "X-Accel-Buffering: no streams through, and the header is removed"
out=$(two_events "/nobuf?ms=1500") || fail "/nobuf: $out"
echo "   $out"
assert_contains "$out" "HTTP/1.1 200" "/nobuf head"
assert_cmp "${out##* }" ">" 0.5 "seconds the first event arrived before the second was made (/nobuf)"
assert_not_contains "${out,,}" "x-accel-buffering" "the head the client got from /nobuf"

step "a WebSocket still echoes"
out=$("$PY" "$E2E_DIR/ws_echo.py" client --url "ws://127.0.0.1:$P_WSL/chat" --messages 4) ||
	fail "websocket client through fulcrum: $out"
assert_eq "$out" "ok 4" "websocket client through fulcrum"
echo "ok"
