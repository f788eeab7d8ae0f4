#!/usr/bin/env bash
# t_tls_failures.sh: failed handshakes are logged with a precise reason and counted per
# listener: no shared cipher, protocol version, plain HTTP on the TLS port, a client
# that does not trust our certificate (unknown CA), and handshake_timeout_ms for a
# client that sends nothing or half a ClientHello. A client that connects and closes
# is counted but not logged at info level; the listener keeps serving throughout.
# /metrics shows the same counts by reason.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
need_fulcrum

ports P_WEB P_APP P_CTL
start_flask web-1 "$P_APP" 2
tls_ca ca
tls_cert srv ca rsa "/CN=a.test" "DNS:a.test"

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
control = { listen = "127.0.0.1:$P_CTL"; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
                tls = { certificates = ( { cert = "srv.crt"; key = "srv.key"; } );
                        handshake_timeout_ms = 600; }; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"

# expect_fail REASON COUNT DETAIL: waits for the COUNT-th "failed: REASON: DETAIL" line.
expect_fail() {
	wait_log "listener web: TLS handshake with 127.0.0.1:[0-9]+ failed: $1: $3 \($2 so far\)" 5 ||
		fail "no log line for failure #$2 '$1' ($3): $(grep 'TLS handshake' "$T/fulcrum.log" | tail -n 3)"
	grep -E "failed: $1: .*\($2 so far\)" "$T/fulcrum.log" | tail -n 1 | sed 's/^.* gen=[0-9]* /   /'
}

step "no shared cipher (TLS 1.2 client offering only AES-CBC)"
sclient "$P_WEB" -tls1_2 -cipher AES128-SHA >/dev/null
expect_fail no_shared_cipher 1 "no shared cipher"
sclient "$P_WEB" -tls1_2 -cipher AES256-SHA256 >/dev/null
expect_fail no_shared_cipher 2 "no shared cipher"

step "protocol version (TLS 1.1 only)"
sclient "$P_WEB" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' >/dev/null
expect_fail protocol_version 1 "the client offers at most TLSv1.1"

step "plain HTTP on the TLS port"
assert_eq "$(http_status "http://127.0.0.1:$P_WEB/")" "000" "plain HTTP request status"
expect_fail not_tls 1 "a plain HTTP request on a TLS listener"

step "the client does not trust our certificate (unknown CA)"
sclient "$P_WEB" -servername a.test -verify_return_error >/dev/null
expect_fail unknown_ca 1 'the client sent alert "unknown CA"'

step "handshake_timeout_ms: nothing sent, then half a ClientHello"
t0=$(now_ms)
out=$("$PY" - "$P_WEB" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t = time.monotonic()
print("eof" if s.recv(100) == b"" else "data", round(time.monotonic() - t, 2))
EOF
)
assert_match "$out" "^eof " "an idle connection is closed"
assert_cmp "$(($(now_ms) - t0))" "<" 5000 "time until the idle handshake was cut (ms)"
expect_fail timeout 1 "handshake not complete within handshake_timeout_ms"
out=$("$PY" - "$P_WEB" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(bytes.fromhex("160301020001"))  # a record header announcing a ClientHello, then silence
print("eof" if s.recv(100) == b"" else "data")
EOF
)
assert_eq "$out" "eof" "a half ClientHello is closed"
expect_fail timeout 2 "handshake not complete within handshake_timeout_ms"

step "connect and close: counted, not logged at info"
"$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$P_WEB"
sleep 0.3
if grep -q "failed: closed" "$T/fulcrum.log"; then
	fail "a connect-and-close was logged at info: $(grep 'failed: closed' "$T/fulcrum.log")"
fi

step "the listener still serves"
assert_eq "$(http_status "https://a.test:$P_WEB/healthz" --cacert "$T/ca.crt" --resolve "a.test:$P_WEB:127.0.0.1")" 200 "GET after the failures"

step "/metrics counts the handshakes and failures by reason"
assert_eq "$(http_status_body "$T/metrics" "http://127.0.0.1:$P_CTL/metrics")" 200 "GET /metrics"
"$PY" "$E2E_DIR/promparse.py" check "$T/metrics" >/dev/null || fail "/metrics is malformed"
for want in 'reason="no_shared_cipher"} 2' 'reason="protocol_version"} 1' 'reason="not_tls"} 1' \
	'reason="unknown_ca"} 1' 'reason="timeout"} 2' 'reason="closed"} 1' 'reason="no_client_cert"} 0'; do
	grep -qF "fulcrum_listener_tls_handshake_failures_total{listener=\"web\",$want" "$T/metrics" ||
		fail "no '$want' in: $(grep tls_handshake_failures "$T/metrics")"
done
grep -qx 'fulcrum_listener_tls_handshakes_total{listener="web"} 1' "$T/metrics" ||
	fail "handshakes: $(grep tls_handshakes_total "$T/metrics")"
grep -qx 'fulcrum_listener_connections_accepted_total{listener="web"} 9' "$T/metrics" ||
	fail "accepted connections (8 failed handshakes + 1): $(grep accepted_total "$T/metrics")"
grep -qx 'fulcrum_listener_requests_total{listener="web",code="2xx"} 1' "$T/metrics" ||
	fail "requests: $(grep listener_requests_total "$T/metrics")"
echo "ok"
