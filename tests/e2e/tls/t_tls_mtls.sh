#!/usr/bin/env bash
# t_tls_mtls.sh: mutual TLS. verify_client = "required": a client without a certificate
# and one with a certificate from another CA are refused (logged as no_client_cert and
# unknown_ca), a client with a good certificate gets through and the backend sees its
# subject in X-Client-Cert-Subject (a client-sent one is dropped). "optional": no
# certificate is fine (no header), a good one is passed on. -t checks the CA rules.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
need_fulcrum

ports P_REQ P_OPT P_APP
start_flask web-1 "$P_APP" 2

step "PKI: server CA and certificate, client CA with a client, another CA with a client"
tls_ca ca
tls_cert srv ca ec "/CN=a.test" "DNS:a.test"
tls_ca clientca
tls_cert alice clientca ec "/O=Example Corp/OU=payments/CN=alice"
tls_ca otherca
tls_cert mallory otherca ec "/O=Example Corp/CN=mallory"

cfg=$T/fulcrum.cfg
{
	cfg_common
	cat <<EOF
listeners = (
  { name = "req"; bind = "127.0.0.1:$P_REQ"; mode = "http"; pool = "flask";
    tls = { certificates = ( { cert = "srv.crt"; key = "srv.key"; } );
            client_ca = "clientca.crt"; verify_client = "required"; }; },
  { name = "opt"; bind = "127.0.0.1:$P_OPT"; mode = "http"; pool = "flask";
    tls = { certificates = ( { cert = "srv.crt"; key = "srv.key"; } );
            client_ca = "clientca.crt"; verify_client = "optional"; }; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; max_conns = 4; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_REQ" "$P_OPT"

# get PORT [CURL ARGS...]: prints "<status> <X-Client-Cert-Subject seen by the backend>".
get() {
	local port=$1 out code
	shift
	out=$(curl -s --noproxy '*' --max-time 20 --cacert "$T/ca.crt" --resolve "a.test:$port:127.0.0.1" \
		-w '\n%{http_code}' "$@" "https://a.test:$port/headers" 2>/dev/null || true)
	code=${out##*$'\n'}
	out=${out%$'\n'*}
	if [ "$code" = 200 ]; then
		echo "$code $(json_get "$out" 'dict((k.lower(), v) for k, v in d["headers"]).get("x-client-cert-subject")')"
	else
		echo "${code:-000} -"
	fi
}
ALICE=(--cert "$T/alice.crt" --key "$T/alice.key")
MALLORY=(--cert "$T/mallory.crt" --key "$T/mallory.key")

step "required: no certificate -> refused"
assert_eq "$(get "$P_REQ")" "000 -" "request without a client certificate"
wait_log "listener req: TLS handshake with 127.0.0.1:[0-9]+ failed: no_client_cert" ||
	fail "no no_client_cert line: $(grep -i 'tls' "$T/fulcrum.log" | tail -n 3)"
step "required: certificate from another CA -> refused"
assert_eq "$(get "$P_REQ" "${MALLORY[@]}")" "000 -" "request with a certificate from another CA"
wait_log "listener req: TLS handshake with 127.0.0.1:[0-9]+ failed: unknown_ca: client certificate: " ||
	fail "no unknown_ca line: $(grep -i 'tls' "$T/fulcrum.log" | tail -n 3)"
grep -E "failed: (no_client_cert|unknown_ca)" "$T/fulcrum.log" | sed 's/^/   /'
step "required: good certificate -> 200, subject passed on, a forged header dropped"
out=$(get "$P_REQ" "${ALICE[@]}")
assert_eq "$out" "200 CN=alice,OU=payments,O=Example Corp" "request with alice's certificate"
out=$(get "$P_REQ" "${ALICE[@]}" -H 'X-Client-Cert-Subject: CN=root')
assert_eq "$out" "200 CN=alice,OU=payments,O=Example Corp" "alice claiming another subject"
out=$(sclient "$P_REQ" -servername a.test -cert "$T/alice.crt" -key "$T/alice.key")
assert_contains "$out" "Acceptable client certificate CA names" "CertificateRequest"
assert_contains "$out" "CN = clientca" "the client CA named in the CertificateRequest"

step "optional: no certificate -> 200 without the header; a good one -> its subject"
assert_eq "$(get "$P_OPT" -H 'X-Client-Cert-Subject: CN=root')" "200 None" "no certificate, forged header"
assert_eq "$(get "$P_OPT" "${ALICE[@]}")" "200 CN=alice,OU=payments,O=Example Corp" "optional with alice"
assert_eq "$(get "$P_OPT" "${MALLORY[@]}")" "000 -" "optional with a certificate from another CA"

step "resumed sessions keep the client's identity"
rm -f "$T/sess.pem"
https_request "$P_REQ" -servername a.test -cert "$T/alice.crt" -key "$T/alice.key" -sess_out "$T/sess.pem" >/dev/null
out=$(printf 'GET /headers HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n' |
	timeout 20 openssl s_client -connect "127.0.0.1:$P_REQ" -servername a.test -ign_eof -sess_in "$T/sess.pem" 2>&1 || true)
assert_contains "$out" "Reused, TLSv1.3" "resumption with a client certificate"
assert_contains "$out" '"X-Client-Cert-Subject","CN=alice,OU=payments,O=Example Corp"' "subject after resumption"

step "fulcrum -t: verify_client without client_ca, client_ca without verify_client"
sed 's/client_ca = "clientca.crt"; verify_client = "required";/verify_client = "required";/' "$cfg" >"$T/bad1.cfg"
rc=0
"$FULCRUM" -t -c "$T/bad1.cfg" >"$T/out" 2>&1 || rc=$?
assert_eq "$rc" 1 "-t with verify_client but no client_ca"
assert_contains "$(cat "$T/out")" "listeners.req.tls.client_ca: verify_client = \"required\" needs client_ca" "-t message"
sed 's/client_ca = "clientca.crt"; verify_client = "optional";/client_ca = "clientca.crt";/' "$cfg" >"$T/bad2.cfg"
rc=0
"$FULCRUM" -t -c "$T/bad2.cfg" >"$T/out" 2>&1 || rc=$?
assert_eq "$rc" 1 "-t with client_ca but verify_client none"
assert_contains "$(cat "$T/out")" "listeners.opt.tls.verify_client: client_ca is set but" "-t message"
echo "ok"
