#!/usr/bin/env bash
# t_ctl_tls.sh: the control API over TLS with verify_client = "required". fulcrumctl
# with a client certificate from client_ca gets through (and still needs the token when
# one is configured); a client without a certificate, or with one from another CA, is
# refused at the handshake (logged); a client that does not trust the server's CA
# fails. A non-loopback control API is accepted without a token only when TLS requires
# client certificates.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_A P_CTL P_OPEN
start_flask web-1 "$P_A" 2

step "PKI: server CA and certificate, client CA with a client, another CA with a client"
tls_ca ca
tls_cert srv ca ec "/CN=localhost" "IP:127.0.0.1,DNS:localhost"
tls_ca clientca
tls_cert admin clientca ec "/O=Example Corp/CN=admin"
tls_ca otherca
tls_cert mallory otherca ec "/O=Example Corp/CN=mallory"

# write_cfg TOKEN_LINE: the config, with or without token_file.
cfg=$T/fulcrum.cfg
write_cfg() {
	{
		cfg_common
		cat <<EOF
control = { listen = "127.0.0.1:$P_CTL"; $1
            tls = { certificates = ( { cert = "srv.crt"; key = "srv.key"; } );
                    client_ca = "clientca.crt"; verify_client = "required";
                    handshake_timeout_ms = 2000; }; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_A"; max_conns = 4; } ); } );
EOF
	} >"$cfg"
}
write_cfg ""
"$FULCRUM" -t -c "$cfg" >"$T/t.out" 2>&1 || fail "fulcrum -t: $(cat "$T/t.out")"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
wait_log "control API on 127.0.0.1:$P_CTL .*client certificate required" ||
	fail "no start-up line for the TLS control API: $(grep control "$T/fulcrum.log")"

URL=https://127.0.0.1:$P_CTL
ADMIN=(--cacert "$T/ca.crt" --cert "$T/admin.crt" --key "$T/admin.key")

step "fulcrumctl with a valid client certificate"
assert_eq "$(rc_of "$FULCRUMCTL" -s "$URL" "${ADMIN[@]}" status)" 0 "fulcrumctl status over TLS"
assert_contains "$(cat "$T/rc.out")" "flask" "fulcrumctl status over TLS"
assert_eq "$(rc_of "$FULCRUMCTL" -s "$URL" "${ADMIN[@]}" backends flask)" 0 "fulcrumctl backends over TLS"
assert_contains "$(cat "$T/rc.out")" "web-1" "fulcrumctl backends over TLS"
assert_eq "$(rc_of "$FULCRUMCTL" -s "$URL" "${ADMIN[@]}" set flask web-2 --address "127.0.0.1:$P_A")" 0 \
	"a change over TLS"
assert_eq "$(http_status "$URL/v1/pools/flask/backends" "${ADMIN[@]}")" 200 "curl with the certificate"
# keep-alive: several requests on one TLS connection
out=$(hcurl "${ADMIN[@]}" -w '%{http_code} %{num_connects}\n' -o /dev/null "$URL/healthz" \
	-o /dev/null "$URL/v1/status" -o /dev/null "$URL/readyz")
assert_eq "$(echo "$out" | tr '\n' ' ')" "200 1 200 0 200 0 " "three requests on one connection"

step "no client certificate -> refused at the handshake"
rc=0
hcurl --cacert "$T/ca.crt" -o /dev/null "$URL/healthz" 2>"$T/curl.err" || rc=$?
[ "$rc" != 0 ] || fail "curl without a client certificate got through"
wait_log "control: TLS handshake with 127.0.0.1:[0-9]+ failed: no_client_cert" ||
	fail "no no_client_cert line: $(grep -i tls "$T/fulcrum.log" | tail -n 3)"
assert_eq "$(rc_of "$FULCRUMCTL" -s "$URL" --cacert "$T/ca.crt" status)" 3 "fulcrumctl without a certificate"

step "client certificate from another CA -> refused"
assert_eq "$(http_status "$URL/healthz" --cacert "$T/ca.crt" --cert "$T/mallory.crt" --key "$T/mallory.key")" 000 \
	"curl with a certificate from another CA"
wait_log "control: TLS handshake with 127.0.0.1:[0-9]+ failed: unknown_ca" ||
	fail "no unknown_ca line: $(grep -i tls "$T/fulcrum.log" | tail -n 3)"

step "client that does not trust the server's CA -> fails"
assert_eq "$(rc_of "$FULCRUMCTL" -s "$URL" --cacert "$T/otherca.crt" --cert "$T/admin.crt" --key "$T/admin.key" status)" 3 \
	"fulcrumctl with the wrong CA for the server"

step "plain HTTP on the TLS port -> refused"
assert_eq "$(http_status "http://127.0.0.1:$P_CTL/healthz")" 000 "plain HTTP to the TLS control port"

step "a silent client is dropped after handshake_timeout_ms"
exec 3<>"/dev/tcp/127.0.0.1/$P_CTL"
wait_log "control: TLS handshake with 127.0.0.1:[0-9]+ failed: timeout" 6 ||
	fail "no timeout line: $(grep -i tls "$T/fulcrum.log" | tail -n 3)"
exec 3>&-
assert_eq "$(rc_of "$FULCRUMCTL" -s "$URL" "${ADMIN[@]}" status)" 0 "fulcrumctl still served"

rc=0
stop_pid "$FULCRUM_PID" TERM 15 || rc=$?
assert_eq "$rc" 0 "fulcrum's exit status"

step "with a token configured, the certificate alone is not enough"
write_cfg "token_file = \"$T/token\";"
mv "$T/fulcrum.log" "$T/fulcrum-1.log"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"
assert_eq "$(rc_of "$FULCRUMCTL" -s "$URL" "${ADMIN[@]}" status)" 4 "fulcrumctl with a certificate, no token"
assert_eq "$(rc_of "$FULCRUMCTL" -s "$URL" "${ADMIN[@]}" --token-file "$T/token" status)" 0 \
	"fulcrumctl with a certificate and the token"
assert_eq "$(http_status "$URL/healthz" --cacert "$T/ca.crt")" 000 "the token does not replace the certificate"
rc=0
stop_pid "$FULCRUM_PID" TERM 15 || rc=$?
assert_eq "$rc" 0 "fulcrum's exit status"

step "non-loopback: TLS with required client certificates stands in for the token"
open_cfg() {
	{
		cfg_common
		cat <<EOF
control = { listen = "0.0.0.0:$P_OPEN";
            tls = { certificates = ( { cert = "srv.crt"; key = "srv.key"; } );
                    client_ca = "clientca.crt"; verify_client = "$1"; }; };
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; pool = "flask"; } );
pools = ( { name = "flask"; } );
EOF
	} >"$T/open.cfg"
}
open_cfg optional
rc=0
"$FULCRUM" -t -c "$T/open.cfg" >"$T/open.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "fulcrum -t: non-loopback, optional client certificates, no token"
assert_contains "$(cat "$T/open.out")" "token_file" "fulcrum's complaint"
open_cfg required
rc=0
"$FULCRUM" -t -c "$T/open.cfg" >"$T/open.out" 2>&1 || rc=$?
assert_eq "$rc" 0 "fulcrum -t: non-loopback, required client certificates ($(cat "$T/open.out"))"

step "a broken control.tls is reported by -t"
sed 's/srv.key/missing.key/' "$cfg" >"$T/bad.cfg"
rc=0
"$FULCRUM" -t -c "$T/bad.cfg" >"$T/bad.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "fulcrum -t with a missing control key"
assert_contains "$(cat "$T/bad.out")" "control.tls.certificates" "fulcrum -t's complaint"
echo "ok"
