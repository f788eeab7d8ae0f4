#!/usr/bin/env bash
# t_tls_mtls_resume.sh: a TLS session never carries an identity across a change of who
# may connect. A session (ticket) taken while verify_client was off does not resume after
# a reload turns it on; a session whose client certificate came from a CA since removed
# from client_ca does not resume, and its subject never reaches the backend again. A
# reload that keeps the client policy (here: a new server certificate) still resumes.
# Both TLS 1.3 and TLS 1.2 tickets.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
need_fulcrum

ports P_WEB P_APP
start_flask web-1 "$P_APP" 2

step "PKI: server CA and certificate, client CAs A and B with a client each"
tls_ca ca
tls_cert srv ca ec "/CN=a.test" "DNS:a.test"
tls_ca caa
tls_cert alice caa ec "/O=Example Corp/CN=alice"
tls_ca cab
tls_cert bob cab ec "/O=Example Corp/CN=bob"

cfg=$T/fulcrum.cfg
# write_cfg TLS-EXTRA: the config with extra keys in the listener's tls group.
write_cfg() {
	{
		cfg_common
		cat <<EOF
listeners = (
  { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask";
    tls = { certificates = ( { cert = "srv.crt"; key = "srv.key"; } ); $1 }; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; max_conns = 4; } ); } );
EOF
	} >"$cfg"
}
write_cfg ""
start_fulcrum "$cfg" "$P_WEB"

# hup_wait PATTERN: SIGHUP, then wait for a log line matching PATTERN after the old ones.
hup_wait() {
	local before i
	before=$(wc -l <"$T/fulcrum.log")
	kill -HUP "$FULCRUM_PID"
	for ((i = 0; i < 100; i++)); do
		tail -n +"$((before + 1))" "$T/fulcrum.log" | grep -qE -- "$1" && return 0
		sleep 0.1
	done
	fail "no log line /$1/ after SIGHUP: $(tail -n +"$((before + 1))" "$T/fulcrum.log")"
}

# req [S_CLIENT ARGS...]: GET /headers through s_client, reading to the end (so TLS 1.3
# tickets arrive before it exits); prints s_client's output.
req() {
	printf 'GET /headers HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n' |
		timeout 20 openssl s_client -connect "127.0.0.1:$P_WEB" -servername a.test -ign_eof "$@" 2>&1 || true
}
# backend_hits: requests for /headers the backend has answered so far.
backend_hits() { grep -c 'GET /headers' "$T/web-1.log" || true; }
ALICE=(-cert "$T/alice.crt" -key "$T/alice.key")
BOB=(-cert "$T/bob.crt" -key "$T/bob.key")

step "verify_client off: sessions taken (TLS 1.3 and TLS 1.2 tickets)"
for v in 13 12; do
	out=$(req "-tls1_${v#1}" -sess_out "$T/open$v.pem")
	assert_contains "$out" "HTTP/1.1 200" "request with verify_client off (TLS $v)"
	out=$(req "-tls1_${v#1}" -sess_in "$T/open$v.pem" -sess_out "$T/open$v.pem")
	assert_contains "$out" "Reused, TLSv1." "resumption with the policy unchanged (TLS $v)"
done

step "(1) reload with verify_client = required: the old sessions do not get through"
write_cfg 'client_ca = "caa.crt"; verify_client = "required";'
hup_wait "reload: generation 2 applied"
hits=$(backend_hits)
for v in 13 12; do
	out=$(req "-tls1_${v#1}" -sess_in "$T/open$v.pem")
	assert_not_contains "$out" "Reused, TLSv1." "resumption of a session from before mTLS (TLS $v)"
	assert_not_contains "$out" "HTTP/1.1 200" "request on a session from before mTLS (TLS $v)"
done
assert_eq "$(backend_hits)" "$hits" "requests reaching the backend without a client certificate"
out=$(req "${ALICE[@]}")
assert_contains "$out" '"X-Client-Cert-Subject","CN=alice,O=Example Corp"' "a full handshake with alice's certificate"

step "(3) mTLS with CA A: alice's sessions resume across a reload that keeps the client policy"
for v in 13 12; do
	out=$(req "-tls1_${v#1}" "${ALICE[@]}" -sess_out "$T/alice$v.pem")
	assert_contains "$out" '"X-Client-Cert-Subject","CN=alice,O=Example Corp"' "alice (TLS $v)"
done
tls_cert srv ca ec "/CN=a.test" "DNS:a.test"   # a new server certificate: a new context
hup_wait "reload: generation 3 applied"
for v in 13 12; do
	out=$(req "-tls1_${v#1}" -sess_in "$T/alice$v.pem" -sess_out "$T/alice$v.pem")
	assert_contains "$out" "Reused, TLSv1." "alice's session after a reload keeping the policy (TLS $v)"
	assert_contains "$out" '"X-Client-Cert-Subject","CN=alice,O=Example Corp"' "alice's subject after resumption (TLS $v)"
done

step "(2) reload with client_ca = CA B only: alice's sessions are refused, her subject stays out"
write_cfg 'client_ca = "cab.crt"; verify_client = "required";'
tls_cert srv ca ec "/CN=a.test" "DNS:a.test"
hup_wait "reload: generation 4 applied"
hits=$(backend_hits)
for v in 13 12; do
	out=$(req "-tls1_${v#1}" -sess_in "$T/alice$v.pem")
	assert_not_contains "$out" "Reused, TLSv1." "resumption of alice's session (TLS $v)"
	assert_not_contains "$out" "HTTP/1.1 200" "request on alice's session (TLS $v)"
	out=$(req "-tls1_${v#1}" -sess_in "$T/alice$v.pem" "${ALICE[@]}")
	assert_not_contains "$out" "HTTP/1.1 200" "request on alice's session, her certificate offered again (TLS $v)"
done
assert_eq "$(backend_hits)" "$hits" "requests reaching the backend on alice's sessions"
grep -E "TLS handshake .* failed" "$T/fulcrum.log" | tail -n 2 | sed 's/^/   /'
out=$(req "${BOB[@]}")
assert_contains "$out" '"X-Client-Cert-Subject","CN=bob,O=Example Corp"' "bob from CA B"
echo "ok"
