#!/usr/bin/env bash
# t_tls_reload.sh: certificates change by reload without dropping connections. A
# keep-alive TLS connection opened on certificate v1 keeps working after SIGHUP swaps in
# v2, while new connections get v2; a key that does not match its certificate, and a
# missing key file, are refused (fulcrum -t too) with a clear error and v2 stays; a
# reload that changes nothing keeps the session cache; tickets survive certificate swaps.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
need_fulcrum

ports P_WEB P_APP
start_flask web-1 "$P_APP" 2

step "PKI: v1 and v2 certificates for a.test, and an unrelated key"
tls_ca ca
tls_cert v1 ca ec "/O=v1/CN=a.test" "DNS:a.test"
tls_cert v2 ca rsa "/O=v2/CN=a.test" "DNS:a.test"
tls_key "$T/other.key" rsa
cp "$T/v1.crt" "$T/site.crt"
cp "$T/v1.key" "$T/site.key"

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
                idle_timeout_ms = 60000;
                tls = { certificates = ( { cert = "site.crt"; key = "site.key"; } ); }; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB"
FP1=$(tls_fp "$T/v1.crt")
FP2=$(tls_fp "$T/v2.crt")
served() { served_fp "$P_WEB" -servername a.test; }
assert_eq "$(served)" "$FP1" "certificate served at start"

# hup_wait PATTERN: SIGHUP, then wait for a log line matching PATTERN after the old ones.
hup_wait() {
	local before
	before=$(wc -l <"$T/fulcrum.log")
	kill -HUP "$FULCRUM_PID"
	for ((i = 0; i < 100; i++)); do
		tail -n +"$((before + 1))" "$T/fulcrum.log" | grep -qE -- "$1" && return 0
		sleep 0.1
	done
	fail "no log line /$1/ after SIGHUP: $(tail -n +"$((before + 1))" "$T/fulcrum.log")"
}

step "a keep-alive connection on v1, then the certificate swapped to v2 by SIGHUP"
bg hold TERM "$PY" "$E2E_DIR/tlsclient.py" hold --port "$P_WEB" --sni a.test --ca "$T/ca.crt" \
	--path /healthz --go "$T/go" --out "$T/hold.out"
HOLD_PID=$LAST_PID
for ((i = 0; i < 100; i++)); do [ -s "$T/hold.out" ] && break; sleep 0.1; done
assert_eq "$(head -n 1 "$T/hold.out" 2>/dev/null)" "cert=$FP1 status=200" "first request on the held connection"
cp "$T/v2.crt" "$T/site.crt.new" && mv -f "$T/site.crt.new" "$T/site.crt"
cp "$T/v2.key" "$T/site.key.new" && mv -f "$T/site.key.new" "$T/site.key"
hup_wait "reload: generation 2 applied"
assert_eq "$(served)" "$FP2" "certificate for a new connection after the reload"
touch "$T/go"
wait_exit "$HOLD_PID" 30 || fail "the held connection's client did not finish"
assert_eq "$(tail -n 1 "$T/hold.out")" "again=200 same_connection=1" "second request on the connection opened before the reload"

step "a key that does not match its certificate: refused, v2 stays"
cp "$T/other.key" "$T/site.key.new" && mv -f "$T/site.key.new" "$T/site.key"
hup_wait "reload refused: .*site.key does not match the certificate in .*site.crt; generation 2 stays"
grep 'reload refused' "$T/fulcrum.log" | tail -n 1 | sed 's/^/   /'
assert_eq "$(served)" "$FP2" "certificate after the refused reload"
rc=0
"$FULCRUM" -t -c "$cfg" >"$T/out" 2>&1 || rc=$?
assert_eq "$rc" 1 "fulcrum -t with the mismatched key"
assert_match "$(cat "$T/out")" "fulcrum.cfg:[0-9]+: listeners.web.tls.certificates.\[0\].key: .*does not match" "fulcrum -t message"

step "a missing key file: refused, v2 stays"
rm -f "$T/site.key"
hup_wait "reload refused: .*listeners.web.tls.certificates.\[0\].key: .*site.key: No such file or directory"
assert_eq "$(served)" "$FP2" "certificate after the second refused reload"
cp "$T/v2.key" "$T/site.key"

step "a reload that changes nothing keeps the session cache (TLS 1.2 session IDs)"
rm -f "$T/s12.pem"
out=$(https_request "$P_WEB" -servername a.test -tls1_2 -no_ticket -sess_out "$T/s12.pem")
assert_contains "$out" "New, TLSv1.2" "first TLS 1.2 handshake"
hup_wait "reload: generation 3 applied"
out=$(https_request "$P_WEB" -servername a.test -tls1_2 -no_ticket -sess_in "$T/s12.pem")
assert_contains "$out" "Reused, TLSv1.2" "session ID resumption across a reload with the same files"

step "tickets survive a certificate swap (keys belong to the listener, not the generation)"
rm -f "$T/t13.pem"
https_request "$P_WEB" -servername a.test -sess_out "$T/t13.pem" >/dev/null
cp "$T/v1.crt" "$T/site.crt" && cp "$T/v1.key" "$T/site.key"
hup_wait "reload: generation 4 applied"
out=$(https_request "$P_WEB" -servername a.test -sess_in "$T/t13.pem")
assert_contains "$out" "Reused, TLSv1.3" "TLS 1.3 ticket resumption after the certificate changed"
assert_eq "$(served)" "$FP1" "certificate after swapping back to v1"
echo "ok"
