#!/usr/bin/env bash
# t_etcd_store_tls.sh: the cluster store's etcd client over https (control/store_etcd.c):
# one etcd member that requires client certificates. With the CA and a client
# certificate and key, a put and a list go through; without the client certificate, or
# with a CA that did not sign the member's certificate, the call fails (an error, not a
# hang), and an http:// endpoint before the https one is failed over.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"

command -v etcd >/dev/null || skip "etcd is not installed (Debian: etcd-server)"
command -v openssl >/dev/null || skip "openssl is needed for the certificates"
TOOL=${ETCD_STORE_TOOL:-$(dirname "$FULCRUM")/tests/tools/etcd_store_tool}
[ -x "$TOOL" ] || fail "no test driver at $TOOL (make e2e-tools builds it)"

ports C P DOWN
# cert NAME SUBJ [EXT]: a key and a certificate signed by the test CA.
cert() {
	openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$T/$1.key" -out "$T/$1.csr" \
		>>"$T/openssl.log" 2>&1 || fail "openssl req $1"
	openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
		-days 2 ${3:+-extfile "$3"} -out "$T/$1.crt" >>"$T/openssl.log" 2>&1 || fail "openssl x509 $1"
}
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=e2e etcd CA" \
	-keyout "$T/ca.key" -out "$T/ca.crt" >>"$T/openssl.log" 2>&1 || fail "openssl CA"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
	-keyout "$T/other.key" -out "$T/other.crt" >>"$T/openssl.log" 2>&1 || fail "openssl other CA"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$T/server.ext"
printf 'extendedKeyUsage=clientAuth\n' >"$T/client.ext"
cert server "/CN=etcd" "$T/server.ext"
cert client "/CN=fulcrum" "$T/client.ext"

step "one etcd member on https://127.0.0.1:$C, client certificates required"
bg etcd TERM etcd --name m0 --data-dir "$T/etcd" --logger zap \
	--listen-client-urls "https://127.0.0.1:$C" --advertise-client-urls "https://127.0.0.1:$C" \
	--listen-peer-urls "http://127.0.0.1:$P" --initial-advertise-peer-urls "http://127.0.0.1:$P" \
	--initial-cluster "m0=http://127.0.0.1:$P" \
	--cert-file "$T/server.crt" --key-file "$T/server.key" \
	--trusted-ca-file "$T/ca.crt" --client-cert-auth
wait_listen "$C" "$LAST_PID" 20

st() { timeout 30 "$TOOL" -t 3000 "$@"; }
TLS=(--ca "$T/ca.crt" --cert "$T/client.crt" --key "$T/client.key")
ok=
for ((i = 0; i < 40; i++)); do
	if out=$(st -e "https://127.0.0.1:$C" "${TLS[@]}" put /tls/a 00ff); then
		ok=1
		break
	fi
	sleep 0.25
done
[ -n "$ok" ] || fail "put over https: $out"

step "with a client certificate: put and list; an http:// member that is down is passed over"
out=$(st -e "http://127.0.0.1:$DOWN,https://127.0.0.1:$C" "${TLS[@]}" list /tls/) ||
	fail "list over https after a dead member: $out"
assert_match "$out" $'^rev [0-9]+\nkv /tls/a 00ff [0-9]+ 0$' "list over https"

step "without the client certificate, or trusting another CA: an error"
rc=0
out=$(st -e "https://127.0.0.1:$C" --ca "$T/ca.crt" list /tls/) || rc=$?
assert_eq "$rc" 2 "exit without a client certificate ($out)"
assert_match "$out" "^(unavailable|error) " "a list without a client certificate"
rc=0
out=$(st -e "https://127.0.0.1:$C" --ca "$T/other.crt" --cert "$T/client.crt" --key "$T/client.key" list /tls/) || rc=$?
assert_eq "$rc" 2 "exit trusting another CA ($out)"
assert_contains "$out" "certificate" "a list trusting another CA"
echo PASS
