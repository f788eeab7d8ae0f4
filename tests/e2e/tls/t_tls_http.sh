#!/usr/bin/env bash
# t_tls_http.sh: TLS termination on http and tcp listeners. SNI picks the certificate
# (exact name, one-label wildcard, unknown names and no SNI get the first one); RSA and
# ECDSA for the same names side by side (ECDSA for clients that support it); ALPN
# negotiates h2 (on by default) or http/1.1; TLS 1.0 and 1.1 are refused; bodies of 0 B..64 MiB go both ways
# intact over TLS with keep-alive; backends see X-Forwarded-Proto https and Forwarded
# proto=https; WebSocket upgrades tunnel over TLS; tcp mode relays over TLS with
# half-close carried both ways; a PROXY v1 header in the same segment as the
# ClientHello is honoured.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
need_fulcrum

ports P_WEB P_L4 P_PX P_WSS P_APP P_ECHO P_WS
start_flask web-1 "$P_APP" 2
bg echo TERM "$PY" "$E2E_DIR/tcpecho.py" server --port "$P_ECHO"
wait_listen "$P_ECHO" "$LAST_PID"
bg ws-echo TERM "$PY" "$E2E_DIR/ws_echo.py" server --port "$P_WS"
wait_listen "$P_WS" "$LAST_PID"

step "test PKI: a CA; RSA and ECDSA certificates for a.test + *.w.test; RSA for b.test"
tls_ca ca
tls_cert a-rsa ca rsa "/O=a-rsa/CN=a.test" "DNS:a.test,DNS:*.w.test"
tls_cert a-ec ca ec "/O=a-ec/CN=a.test" "DNS:a.test,DNS:*.w.test"
tls_cert b-rsa ca rsa "/O=b-rsa/CN=b.test"

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = (
  { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
    idle_timeout_ms = 10000;
    tls = { certificates = ( { cert = "a-rsa.crt"; key = "a-rsa.key"; },
                             { cert = "a-ec.crt"; key = "a-ec.key"; },
                             { cert = "$T/b-rsa.crt"; key = "$T/b-rsa.key"; } ); }; },
  { name = "l4"; bind = "127.0.0.1:$P_L4"; mode = "tcp"; pool = "echo";
    tls = { certificates = ( { cert = "b-rsa.crt"; key = "b-rsa.key"; } ); }; },
  { name = "px"; bind = "127.0.0.1:$P_PX"; mode = "http"; pool = "flask";
    accept_proxy = true; proxy_trusted = ( "127.0.0.0/8" );
    tls = { certificates = ( { cert = "a-ec.crt"; key = "a-ec.key"; } ); }; },
  { name = "wss"; bind = "127.0.0.1:$P_WSS"; mode = "http"; pool = "ws";
    tls = { certificates = ( { cert = "a-rsa.crt"; key = "a-rsa.key"; } ); }; } );
pools = (
  { name = "ws"; health = { type = "none"; };
    backends = ( { name = "ws-1"; address = "127.0.0.1:$P_WS"; } ); },
  { name = "flask"; health = { type = "none"; }; response_timeout_ms = 30000;
    backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; max_conns = 8; } ); },
  { name = "echo"; health = { type = "none"; };
    backends = ( { name = "echo-1"; address = "127.0.0.1:$P_ECHO"; } ); } );
EOF
} >"$cfg"
# relative certificate paths resolve against the config file's directory, not the cwd
(cd / && "$FULCRUM" -t -c "$cfg") >"$T/check.out" 2>&1 || fail "fulcrum -t: $(cat "$T/check.out")"
start_fulcrum "$cfg" "$P_WEB" "$P_L4" "$P_PX" "$P_WSS"
URL=https://a.test:$P_WEB
CURL_TLS=(--cacert "$T/ca.crt" --resolve "a.test:$P_WEB:127.0.0.1" --resolve "b.test:$P_WEB:127.0.0.1"
	--resolve "x.w.test:$P_WEB:127.0.0.1")

step "SNI: exact names, the one-label wildcard, unknown names and no SNI"
check_subject() {
	local want=$1 got
	shift
	got=$(served_subject "$P_WEB" "$@")
	assert_contains "$got" "$want" "certificate for s_client $*"
	echo "   $* -> $got"
}
check_subject "O = b-rsa" -servername b.test
check_subject "O = b-rsa" -servername B.TEST
check_subject "CN = a.test" -servername a.test
check_subject "CN = a.test" -servername x.w.test
check_subject "CN = a.test" -servername nobody.example  # unknown: the first certificate
check_subject "CN = a.test" -noservername
# the wildcard covers exactly one label: deeper names fall back to the default too
check_subject "CN = a.test" -servername a.b.w.test
out=$(sclient "$P_WEB" -servername b.test -verify_return_error -CAfile "$T/ca.crt" -verify_hostname b.test)
assert_contains "$out" "Verify return code: 0 (ok)" "b.test verifies against the test CA"

step "RSA and ECDSA side by side: ECDSA when the client supports it"
check_subject "O = a-ec" -servername a.test
check_subject "O = a-rsa" -servername a.test -sigalgs "RSA-PSS+SHA256:RSA+SHA256"
check_subject "O = a-ec" -servername a.test -tls1_2
check_subject "O = a-rsa" -servername a.test -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256

step "ALPN: h2 is negotiated by default, http/1.1 with a client that offers only it"
out=$(sclient "$P_WEB" -servername a.test -alpn h2,http/1.1)
assert_contains "$out" "ALPN protocol: h2" "s_client -alpn h2,http/1.1"
out=$(sclient "$P_WEB" -servername a.test -alpn http/1.1)
assert_contains "$out" "ALPN protocol: http/1.1" "s_client -alpn http/1.1"
out=$(sclient "$P_WEB" -servername a.test -alpn spdy/3)
assert_contains "$out" "No ALPN negotiated" "s_client -alpn spdy/3"
v=$(hcurl "${CURL_TLS[@]}" -v -o /dev/null "$URL/healthz" 2>&1 | grep -i 'ALPN: server accepted' || true)
assert_contains "$v" "h2" "curl's ALPN"

step "protocol versions: TLS 1.2 and 1.3 accepted, 1.0 and 1.1 refused"
for v in tls1_2 tls1_3; do
	out=$(sclient "$P_WEB" -servername a.test "-$v")
	assert_match "$out" "New, TLSv1\\.[23], Cipher is" "s_client -$v"
done
for v in tls1 tls1_1; do
	# the client must be allowed to offer them first (OpenSSL 3 refuses by default)
	out=$(sclient "$P_WEB" -servername a.test "-$v" -cipher 'DEFAULT:@SECLEVEL=0')
	assert_not_contains "$out" "Cipher is ECDHE" "s_client -$v"
	assert_contains "$out" "alert protocol version" "s_client -$v"
done
wait_log "listener web: TLS handshake with 127.0.0.1:[0-9]+ failed: protocol_version: .* \(2 so far\)" ||
	fail "no log line counting the second protocol_version failure: $(grep -i tls "$T/fulcrum.log" | tail -n 5)"
grep -E "failed: protocol_version" "$T/fulcrum.log" | tail -n 1 | sed 's/^/   /'

step "HTTP over TLS: forwarding headers say https"
h=$(hcurl "${CURL_TLS[@]}" "$URL/headers") || fail "GET /headers over TLS failed"
hdr() { json_get "$h" 'dict((k.lower(), v) for k, v in d["headers"]).get(sys.argv[3])' "$1"; }
assert_eq "$(hdr x-forwarded-proto)" "https" "X-Forwarded-Proto"
assert_match "$(hdr forwarded)" "proto=https" "Forwarded"
assert_eq "$(hdr x-client-cert-subject)" "None" "X-Client-Cert-Subject without mutual TLS"
h=$(hcurl "${CURL_TLS[@]}" -H 'X-Forwarded-Proto: http' -H 'X-Client-Cert-Subject: CN=admin' "$URL/headers")
assert_eq "$(hdr x-forwarded-proto)" "https" "X-Forwarded-Proto claimed by the client is replaced"
assert_eq "$(hdr x-client-cert-subject)" "None" "X-Client-Cert-Subject claimed by the client is dropped"

step "bodies over TLS: 0 B, 1 MiB, 64 MiB up (length and chunked), down, sha256 compared"
: >"$T/b0"
head -c 1048576 /dev/urandom >"$T/b1m"
head -c 67108864 /dev/urandom >"$T/b64m"
check_echo() {
	local label=$1 file=$2 out
	shift 2
	out=$(CURL_MAX_TIME=120 hcurl "${CURL_TLS[@]}" -f "$@" "$URL/echo") || fail "$label: curl failed: $out"
	assert_eq "$(json_get "$out" 'd["length"]')" "$(stat -c %s "$file")" "$label: length seen by Flask"
	assert_eq "$(json_get "$out" 'd["sha256"]')" "$(sha256_file "$file")" "$label: sha256 seen by Flask"
	echo "   $label ok"
}
check_echo "POST 0 B" "$T/b0" -X POST --data-binary @"$T/b0"
for f in b1m b64m; do
	check_echo "POST $f" "$T/$f" -X POST --data-binary @"$T/$f" -H 'Content-Type: application/octet-stream'
	check_echo "POST chunked $f" "$T/$f" -X POST -H 'Transfer-Encoding: chunked' \
		-H 'Content-Type: application/octet-stream' --data-binary @"$T/$f"
done
for n in 0 1 1000001 67108864; do
	rm -f "$T/got"
	CURL_MAX_TIME=120 hcurl "${CURL_TLS[@]}" -f -o "$T/got" "$URL/blob?bytes=$n" || fail "GET /blob?bytes=$n over TLS"
	assert_eq "$(sha256_file "$T/got")" "$("$PY" "$E2E_DIR/blob.py" "$n" --sha256)" "/blob?bytes=$n: sha256"
	echo "   GET /blob?bytes=$n ok"
done

step "keep-alive: 20 requests over one TLS connection"
args=()
for i in $(seq 1 20); do args+=("$URL/p/r$i"); done
out=$(hcurl "${CURL_TLS[@]}" -w '%{http_code} %{num_connects}\n' -o /dev/null "${args[@]}")
assert_eq "$(echo "$out" | awk '$1 == 200' | wc -l)" 20 "keep-alive answers"
assert_eq "$(echo "$out" | awk '{s += $2} END {print s}')" 1 "TCP connections curl opened for 20 requests"

step "tcp mode over TLS: 1 B and 4 MiB relayed intact"
for n in 1 4194304; do
	out=$("$PY" "$E2E_DIR/tlsclient.py" echo --port "$P_L4" --bytes "$n" --ca "$T/ca.crt" --sni b.test) ||
		fail "tcp over TLS, $n bytes: $out"
	echo "   $out"
	assert_match "$out" "^sent=$n recv=$n match=1 version=TLSv1.3$" "tcp over TLS, $n bytes"
done

step "tcp mode over TLS: half-close (close_notify + FIN), the echo still arrives whole"
for n in 0 1048576; do
	out=$("$PY" "$E2E_DIR/tlsclient.py" halfclose --port "$P_L4" --bytes "$n" --ca "$T/ca.crt" --sni b.test) ||
		fail "half-close over TLS, $n bytes: $out"
	echo "   $out"
	assert_eq "$out" "sent=$n recv=$n match=1 clean=1" "half-close over TLS, $n bytes (clean = the server's close_notify came)"
done

step "WebSocket over TLS: upgrade, then ~200 KB each way through the tunnel"
out=$("$PY" "$E2E_DIR/ws_echo.py" client --url "wss://127.0.0.1:$P_WSS/chat" --messages 4 \
	--ca "$T/ca.crt" --sni a.test) || fail "wss client: $out"
assert_eq "$out" "ok 4" "WebSocket client over TLS"

step "PROXY v1 header in the same segment as the ClientHello"
out=$("$PY" "$E2E_DIR/tlsclient.py" get --port "$P_PX" --path /headers --proxy-v1 203.0.113.7 --sni a.test)
assert_match "$out" "^200 " "GET through PROXY + TLS"
h=${out#200 }
assert_eq "$(hdr x-forwarded-for)" "203.0.113.7" "X-Forwarded-For from the PROXY header"
assert_eq "$(hdr x-forwarded-proto)" "https" "X-Forwarded-Proto behind PROXY + TLS"

step "access log: https requests logged as usual"
alog_wait 30
assert_cmp "$(alog count status=200)" ">=" 30 "access-log lines with status 200"
echo "ok"
