#!/usr/bin/env bash
# t_tls_sessions.sh: session resumption. With two workers, TLS 1.3 tickets, TLS 1.2
# tickets and TLS 1.2 session IDs (the cache) all resume on whichever worker accepts
# the connection, and a client that uses each TLS 1.3 ticket once (as browsers do) gets
# a fresh one on every resumption; with session_tickets = false TLS 1.2 gets no ticket and still resumes
# from the cache. Two fulcrum instances sharing ticket_key_file resume each other's
# tickets; without the file they do not.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/tls_lib.sh"
need_fulcrum

ports P_A P_NT P_B P_APP
start_flask web-1 "$P_APP" 2

tls_ca ca
tls_cert srv ca ec "/CN=a.test" "DNS:a.test"
openssl rand -hex 80 >"$T/ticket.keys"
openssl rand -hex 80 >>"$T/ticket.keys"
chmod 600 "$T/ticket.keys"

# instance CFG LISTENERS: writes a config with one pool and the given listeners.
instance() {
	cat <<EOF
workers = 2;
state_dir = "$T/state";
shutdown_timeout_s = 5;
log = { level = "info"; access = "off"; };
listeners = ( $2 );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_APP"; max_conns = 4; } ); } );
EOF
}
CERTS='certificates = ( { cert = "srv.crt"; key = "srv.key"; } );'
instance a "{ name = \"web\"; bind = \"127.0.0.1:$P_A\"; pool = \"flask\";
              tls = { $CERTS ticket_key_file = \"ticket.keys\"; }; },
            { name = \"nt\"; bind = \"127.0.0.1:$P_NT\"; pool = \"flask\";
              tls = { $CERTS session_tickets = false; }; }" >"$T/a.cfg"
instance b "{ name = \"web\"; bind = \"127.0.0.1:$P_B\"; pool = \"flask\";
              tls = { $CERTS ticket_key_file = \"ticket.keys\"; }; }" >"$T/b.cfg"
start_fulcrum "$T/a.cfg" "$P_A" "$P_NT"
bg fulcrum-b TERM "$FULCRUM" -c "$T/b.cfg"
B_PID=$LAST_PID
wait_listen "$P_B" "$B_PID"

# resumes PORT SESSFILE COUNT [S_CLIENT ARGS...]: how many of COUNT new connections
# resumed the session in SESSFILE.
resumes() {
	local port=$1 sess=$2 count=$3 i n=0
	shift 3
	for ((i = 0; i < count; i++)); do
		https_request "$port" -servername a.test -sess_in "$sess" "$@" | grep -q '^Reused,' && n=$((n + 1))
	done
	echo "$n"
}
# new_session PORT FILE [S_CLIENT ARGS...]: a full handshake whose session goes to FILE.
new_session() {
	local port=$1 file=$2 out
	shift 2
	rm -f "$file"
	out=$(https_request "$port" -servername a.test -sess_out "$file" "$@")
	assert_contains "$out" "New, TLSv1." "first handshake on port $port $*"
	[ -s "$file" ] || fail "s_client saved no session from port $port $*"
}

step "two workers: every resumption succeeds whichever worker accepts"
new_session "$P_A" "$T/t13.pem"
assert_eq "$(resumes "$P_A" "$T/t13.pem" 10)" 10 "TLS 1.3 ticket resumptions out of 10"
new_session "$P_A" "$T/t12.pem" -tls1_2
assert_eq "$(resumes "$P_A" "$T/t12.pem" 10 -tls1_2)" 10 "TLS 1.2 ticket resumptions out of 10"
new_session "$P_A" "$T/id12.pem" -tls1_2 -no_ticket
assert_eq "$(resumes "$P_A" "$T/id12.pem" 10 -tls1_2 -no_ticket)" 10 "TLS 1.2 session-ID (cache) resumptions out of 10"

step "every TLS 1.3 resumption brings a new ticket (clients use each one once)"
out=$(https_request "$P_A" -servername a.test -sess_in "$T/t13.pem")
assert_contains "$out" "Reused, TLSv1.3" "TLS 1.3 resumption"
assert_contains "$out" "Post-Handshake New Session Ticket arrived" "a new ticket on a resumed connection"
out=$("$PY" "$E2E_DIR/tlsclient.py" chain --port "$P_A" --sni a.test --count 6)
assert_eq "$out" "reused=5 of 5" "TLS 1.3 connections resuming the previous one's session"
out=$("$PY" "$E2E_DIR/tlsclient.py" chain --port "$P_A" --sni a.test --count 6 --tls12)
assert_eq "$out" "reused=5 of 5" "TLS 1.2 connections resuming the previous one's session"

step "session_tickets = false: no ticket, the cache still resumes"
out=$(https_request "$P_NT" -servername a.test -tls1_2 -sess_out "$T/nt12.pem")
assert_not_contains "$out" "TLS session ticket lifetime hint" "TLS 1.2 handshake with tickets off"
assert_eq "$(resumes "$P_NT" "$T/nt12.pem" 5 -tls1_2)" 5 "TLS 1.2 resumptions with tickets off"
new_session "$P_NT" "$T/nt13.pem"
assert_eq "$(resumes "$P_NT" "$T/nt13.pem" 5)" 5 "TLS 1.3 resumptions with tickets off (stateful)"

step "ticket_key_file: a ticket from instance A resumes on instance B"
assert_eq "$(resumes "$P_B" "$T/t13.pem" 3)" 3 "A's TLS 1.3 ticket resumed on B"
assert_eq "$(resumes "$P_B" "$T/t12.pem" 3 -tls1_2)" 3 "A's TLS 1.2 ticket resumed on B"
step "without the shared file, B's own keys do not open A's tickets"
sed -i 's/ ticket_key_file = "ticket.keys";//' "$T/b.cfg"
before=$(wc -l <"$T/fulcrum-b.log")
kill -HUP "$B_PID"
for ((i = 0; i < 100; i++)); do
	tail -n +"$((before + 1))" "$T/fulcrum-b.log" | grep -q "reload: generation 2 applied" && break
	sleep 0.1
done
assert_eq "$(resumes "$P_B" "$T/t13.pem" 3)" 0 "A's ticket on B with generated keys"

step "a bad ticket key file is refused with its line"
printf '# keys\n%s\nnot-hex\n' "$(openssl rand -hex 80)" >"$T/bad.keys"
sed 's/ticket.keys/bad.keys/' "$T/a.cfg" >"$T/bad.cfg"
rc=0
"$FULCRUM" -t -c "$T/bad.cfg" >"$T/out" 2>&1 || rc=$?
assert_eq "$rc" 1 "fulcrum -t with a bad ticket key file"
assert_contains "$(cat "$T/out")" "listeners.web.tls.ticket_key_file: $T/bad.keys: line 3: expected 160 hex digits" "-t message"
echo "ok"
