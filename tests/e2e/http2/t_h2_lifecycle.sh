#!/usr/bin/env bash
# t_h2_lifecycle.sh: an HTTP/2 connection across a reload and a graceful stop (issue 21).
# A stream in flight during a reload (SIGHUP) finishes, and the same connection's next
# streams use the new generation (a route added by the reload answers). At shutdown
# (SIGTERM) the client gets GOAWAY with NO_ERROR and its stream in flight still
# completes.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
need_fulcrum

ports P_WEB P_APP
start_flask web-1 "$P_APP" 4
tls_ca ca
tls_cert srv ca rsa "/CN=a.test" "DNS:a.test"
write_cfg() {
	{
		E2E_SHUTDOWN_S=10 cfg_common
		cat <<EOF2
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; http2 = true;
                routes = ( $1 );
                tls = { certificates = ( { cert = "srv.crt"; key = "srv.key"; } ); }; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; max_conns = 4; } ); } );
EOF2
	} >"$T/fulcrum.cfg"
}
write_cfg '{ name = "old"; path = "/where"; respond = { status = 200; body = "old\n"; }; }'
start_fulcrum "$T/fulcrum.cfg" "$P_WEB"

# One connection: stream 1 sleeps 1.5 s; meanwhile the test reloads (or stops) fulcrum;
# then stream 3 asks /where. Prints what each got and any GOAWAY.
run_client() {
	"$PY" - "$P_WEB" "$T/ca.crt" "$1" <<'PY'
import socket, ssl, sys, time
import h2.connection, h2.config, h2.events
port, ca, flag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["h2"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20), server_hostname="a.test")
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
def get(sid, path):
    c.send_headers(sid, [(":method", "GET"), (":scheme", "https"), (":authority", "a.test"), (":path", path)], end_stream=True)
    s.sendall(c.data_to_send())
get(1, "/sleep?ms=1500")
open(flag, "w").close()        # the test acts now (reload or stop)
time.sleep(0.7)
sent3 = True
try:
    get(3, "/where")
except Exception:
    sent3 = False
out, body, goaway, done, end = {}, {}, None, set(), time.monotonic() + 20
while time.monotonic() < end and len(done) < (2 if sent3 else 1):
    try:
        data = s.recv(65536)
        events = c.receive_data(data) if data else None
    except Exception:  # after GOAWAY h2 refuses what follows: the connection is over
        break
    if not data:
        break
    for e in events:
        if isinstance(e, h2.events.ResponseReceived):
            out[e.stream_id] = dict(e.headers)[b":status"].decode()
        elif isinstance(e, h2.events.DataReceived):
            body[e.stream_id] = body.get(e.stream_id, b"") + e.data
            c.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        elif isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)):
            done.add(e.stream_id)
        elif isinstance(e, h2.events.ConnectionTerminated):
            goaway = e.error_code
    try:
        s.sendall(c.data_to_send())
    except OSError:
        break
print("s1=%s s3=%s body3=%s goaway=%s" % (out.get(1, "-"), out.get(3, "-"),
      body.get(3, b"").decode().strip() or "-", "-" if goaway is None else goaway))
PY
}

step "a reload with a stream in flight: it finishes, the next stream sees the new routes"
rm -f "$T/go1"
run_client "$T/go1" >"$T/r1" &
cl=$!
for _ in $(seq 1 100); do [ -e "$T/go1" ] && break; sleep 0.05; done
write_cfg '{ name = "new"; path = "/where"; respond = { status = 200; body = "new\n"; }; }'
kill -HUP "$FULCRUM_PID"
wait "$cl"
assert_match "$(cat "$T/r1")" '^s1=200 s3=200 body3=new goaway=-$' "stream in flight 200; the next stream on the new generation"

step "a graceful stop with a stream in flight: GOAWAY NO_ERROR, the stream completes"
# (nghttp: python-h2 closes its side at GOAWAY and would not see the stream finish)
nghttp -v -t 20 "https://127.0.0.1:$P_WEB/sleep?ms=1500" >"$T/r2" 2>&1 &
cl=$!
for _ in $(seq 1 100); do grep -q "GET /sleep" "$T/web-1.log" 2>/dev/null && [ "$(grep -c 'GET /sleep' "$T/web-1.log")" -ge 1 ] && break; sleep 0.05; done
sleep 0.3
kill -TERM "$FULCRUM_PID"
wait "$cl" || true
grep -q "recv GOAWAY frame" "$T/r2" || fail "no GOAWAY: $(tail -n 5 "$T/r2")"
assert_contains "$(grep -A2 'recv GOAWAY' "$T/r2")" "error_code=NO_ERROR" "GOAWAY NO_ERROR"
assert_contains "$(cat "$T/r2")" ":status: 200" "the stream in flight completed with 200"
assert_contains "$(cat "$T/r2")" "slept 1500" "with its body"
wait_exit "$FULCRUM_PID" 15 || fail "fulcrum did not stop"
