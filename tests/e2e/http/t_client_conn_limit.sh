#!/usr/bin/env bash
# t_client_conn_limit.sh: max_conns_per_client. One client address (127.0.0.2) opens 40
# idle connections against a limit of 20: 20 stay open and keep working, 20 are closed
# at once (counted in /metrics, logged); another address (127.0.0.3) is still served;
# once the first address lets go it is served again. Behind a PROXY header the limit
# applies to the client address the header names, not to the balancer's.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
need_fulcrum

ports P_WEB P_PX P_CTL P_APP
start_flask web-1 "$P_APP" 2
"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
	skip "cannot bind 127.0.0.2 (no 127.0.0.0/8 on lo)"

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
control = { listen = "127.0.0.1:$P_CTL"; metrics_public = true; };
listeners = (
  { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
    max_conns_per_client = 20; head_timeout_ms = 60000; idle_timeout_ms = 60000; },
  { name = "px"; bind = "127.0.0.1:$P_PX"; mode = "http"; pool = "flask";
    accept_proxy = true; proxy_trusted = ( "127.0.0.0/8" );
    max_conns_per_client = 2; head_timeout_ms = 60000; idle_timeout_ms = 60000; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_PX" "$P_CTL"

src() { "$PY" "$E2E_DIR/srcconns.py" "$@"; }
# refused LISTENER: fulcrum_listener_connections_refused_per_client_total for it.
refused() {
	hcurl "http://127.0.0.1:$P_CTL/metrics" |
		sed -n "s/^fulcrum_listener_connections_refused_per_client_total{listener=\"$1\"} //p"
}
assert_eq "$(refused web)" 0 "refused before the test"

step "127.0.0.2 opens 40 idle connections against max_conns_per_client = 20"
bg hog INT "$PY" "$E2E_DIR/srcconns.py" hold --port "$P_WEB" --source 127.0.0.2 --count 40 \
	--ready "$T/hog.ready" --go "$T/hog.go"
HOG=$LAST_PID
for ((i = 0; i < 300; i++)); do
	grep -q '^request=' "$T/hog.ready" 2>/dev/null && break
	kill -0 "$HOG" 2>/dev/null || fail "the connection holder ended early: $(cat "$T/hog.log")"
	sleep 0.1
done
sed 's/^/   /' "$T/hog.ready"
assert_eq "$(head -n 1 "$T/hog.ready")" "open=20 closed=20" "connections of 127.0.0.2 that stayed open"
assert_eq "$(sed -n 's/^request=//p' "$T/hog.ready")" 200 "a request on one of the 20 connections that stayed"
assert_eq "$(refused web)" 20 "connections refused (metrics)"
grep -q "listener web: 127.0.0.2 already has max_conns_per_client = 20 connections open" "$T/fulcrum.log" ||
	fail "no log line for the refused connections: $(tail -n 5 "$T/fulcrum.log")"
# at most one line a second: 20 refusals in a burst make one line, two if it spans a tick
assert_cmp "$(grep -c 'max_conns_per_client = 20' "$T/fulcrum.log")" "<=" 2 "log lines for 20 refusals"

step "another address is served; 127.0.0.2 is still at its limit"
assert_eq "$(src get --port "$P_WEB" --source 127.0.0.3)" 200 "request from 127.0.0.3"
assert_eq "$(src get --port "$P_WEB" --source 127.0.0.2)" closed "a 41st connection from 127.0.0.2"
assert_eq "$(refused web)" 21 "connections refused (metrics)"

step "127.0.0.2 closes its connections and is served again"
touch "$T/hog.go"
wait_exit "$HOG" 20 || fail "the connection holder did not exit"
out=closed
for ((i = 0; i < 50; i++)); do
	out=$(src get --port "$P_WEB" --source 127.0.0.2)
	[ "$out" = 200 ] && break
	sleep 0.1
done
assert_eq "$out" 200 "request from 127.0.0.2 after its connections closed"

step "behind PROXY headers from one balancer, each named client has its own count"
out=$("$PY" - "$P_PX" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
def conn(client, request=b""):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"PROXY TCP4 %s 127.0.0.1 40000 %d\r\n" % (client.encode(), port) + request)
    return s
def state(s):
    s.settimeout(0)  # with a timeout, Python would wait for data before the peek
    try:
        return "open" if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) else "closed"
    except BlockingIOError:
        return "open"
    except OSError:
        return "closed"
held = [conn("192.0.2.1") for _ in range(3)]
time.sleep(1.5)
other = conn("192.0.2.2", b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
status = other.recv(100).split(b" ")[1].decode()
print(" ".join(sorted(state(s) for s in held)), status)
EOF
)
assert_eq "$out" "closed open open 200" "three connections for 192.0.2.1 (limit 2), then one for 192.0.2.2"
assert_eq "$(refused px)" 1 "connections refused on the PROXY listener"
echo "ok"
