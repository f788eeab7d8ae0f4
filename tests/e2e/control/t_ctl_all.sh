#!/usr/bin/env bash
# t_ctl_all.sh: `fulcrumctl --all` against a name that resolves to two addresses (as a
# headless Service does) reaches both fulcrum replicas: status, set and drain --wait
# land on each, per-address results are printed, and one replica down makes the whole
# call fail (exit 3) while naming which one. The control API speaks TLS with a
# certificate for the name only (no IP): each call still verifies the name, not the
# address it was sent to. The name lives in a hosts file that only fulcrumctl sees: it
# runs in its own mount namespace with that file bound over /etc/hosts (unshare), so
# the machine's /etc/hosts is never touched.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
. "$E2E_DIR/tls_lib.sh"
need_fulcrum

NAME=fulcrum-ctl.e2e.test
printf '127.0.0.1 %s\n127.0.0.2 %s\n' "$NAME" "$NAME" >"$T/hosts"
NS_ARGS=
for try in "--mount" "--user --map-root-user --mount"; do
	# shellcheck disable=SC2086
	if out=$(unshare $try sh -c 'mount --bind "$1" /etc/hosts && getent ahostsv4 "$2"' sh "$T/hosts" "$NAME" 2>/dev/null) &&
		[[ $out == *127.0.0.2* ]]; then
		NS_ARGS=$try
		break
	fi
done
[ -n "$NS_ARGS" ] || skip "cannot make a private /etc/hosts with unshare (no mount namespaces)"
"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
	skip "127.0.0.2 cannot be bound"

ports P_CTL P_WEB_A P_WEB_B P_F1 P_F2
tls_ca ca
tls_cert srv ca ec "/CN=$NAME" "DNS:$NAME"
start_flask web-1 "$P_F1" 2
start_flask web-2 "$P_F2" 2

# replica a's control API on 127.0.0.1:P_CTL, replica b's on 127.0.0.2:P_CTL
PID_b=''
for r in a b; do
	ip=127.0.0.1
	web=$P_WEB_A
	if [ $r = b ]; then
		ip=127.0.0.2
		web=$P_WEB_B
	fi
	mkdir -p "$T/state-$r"
	cat >"$T/fulcrum-$r.cfg" <<EOF
workers = 1;
state_dir = "$T/state-$r";
shutdown_timeout_s = 5;
log = { level = "info"; access = "$T/access-$r.log"; format = "json"; };
control = { listen = "$ip:$P_CTL"; token_file = "$T/token";
            tls = { certificates = ( { cert = "$T/srv.crt"; key = "$T/srv.key"; } ); }; };
listeners = ( { name = "web"; bind = "127.0.0.1:$web"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_F1"; max_conns = 2; } ); } );
EOF
	bg "fulcrum-$r" TERM "$FULCRUM" -c "$T/fulcrum-$r.cfg"
	printf -v "PID_$r" '%s' "$LAST_PID"
	wait_listen "$web" "$LAST_PID" 15
done
# rcurl IP ARGS...: curl to replica IP by the name (--resolve), verifying the certificate
rcurl() {
	local ip=$1
	shift
	hcurl --cacert "$T/ca.crt" --resolve "$NAME:$P_CTL:$ip" "$@"
}
for ip in 127.0.0.1 127.0.0.2; do
	for ((i = 0; i < 100; i++)); do
		rcurl "$ip" -o /dev/null "https://$NAME:$P_CTL/readyz" 2>/dev/null && break
		sleep 0.1
	done
	rcurl "$ip" -o /dev/null "https://$NAME:$P_CTL/readyz" || fail "replica $ip is not ready"
done

# all ARGS...: fulcrumctl --all against the name, inside the private mount namespace.
all() {
	# shellcheck disable=SC2086
	unshare $NS_ARGS sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$T/hosts" \
		"$FULCRUMCTL" -s "https://$NAME:$P_CTL" --cacert "$T/ca.crt" --token-file "$T/token" --all "$@"
}
all_rc() {
	local rc=0
	all "$@" >"$T/all.out" 2>&1 || rc=$?
	echo "$rc"
}
# backend a|b NAME: one backend as replica a or b reports it (JSON).
backend() {
	local ip=127.0.0.1
	[ "$1" = b ] && ip=127.0.0.2
	rcurl "$ip" -H "Authorization: Bearer $TOKEN" "https://$NAME:$P_CTL/v1/pools/flask/backends/$2"
}

step "status reaches both replicas, each result reported"
assert_eq "$(all_rc status)" 0 "--all status"
out=$(cat "$T/all.out")
assert_contains "$out" "== 127.0.0.1 ($NAME)"
assert_contains "$out" "== 127.0.0.2 ($NAME)"
assert_contains "$out" "-- 127.0.0.1: ok (exit 0)"
assert_contains "$out" "-- 127.0.0.2: ok (exit 0)"
assert_contains "$out" "2 of 2 replica(s) of $NAME ok"
assert_eq "$(grep -c '^fulcrum 0' "$T/all.out")" 2 "status lines, one per replica"

step "set adds the backend on every replica"
assert_eq "$(all_rc set flask web-2 --address "127.0.0.1:$P_F2" --max-conns 2)" 0 "--all set"
for r in a b; do
	g=$(backend $r web-2)
	assert_eq "$(json_get "$g" 'd["address"]')" "127.0.0.1:$P_F2" "web-2 on replica $r"
	assert_eq "$(json_get "$g" 'd["admin"]')" active "web-2 admin on replica $r"
done

step "drain --wait drains on every replica"
t0=$(now_ms)
assert_eq "$(all_rc drain flask web-2 --wait --wait-timeout 10)" 0 "--all drain --wait"
assert_cmp $(($(now_ms) - t0)) "<" 15000 "time of --all drain --wait (ms)"
assert_contains "$(cat "$T/all.out")" "starting the drain"
assert_eq "$(grep -c 'drained in' "$T/all.out")" 2 "'drained in' lines: $(cat "$T/all.out")"
for r in a b; do
	assert_eq "$(json_get "$(backend $r web-2)" 'd["admin"]')" draining "web-2 admin on replica $r"
done

step "--json keeps stdout JSON, the per-replica lines go to stderr"
all --json backends flask >"$T/json.out" 2>"$T/json.err"
assert_eq "$(grep -c '"backends"' "$T/json.out")" 2 "JSON answers"
assert_contains "$(cat "$T/json.err")" "2 of 2 replica(s)"

step "one replica down: the call fails with its exit code and names the replica"
stop_pid "$PID_b" TERM 15 || fail "replica b did not stop cleanly"
assert_eq "$(all_rc status)" 3 "--all status with replica b down"
out=$(cat "$T/all.out")
assert_contains "$out" "-- 127.0.0.1: ok (exit 0)"
assert_contains "$out" "-- 127.0.0.2: FAILED (exit 3)"
assert_contains "$out" "1 of 2 replica(s) of $NAME ok"

step "the name is what TLS verifies: the same replica by its address is refused"
rc=0
"$FULCRUMCTL" -s "https://127.0.0.1:$P_CTL" --cacert "$T/ca.crt" --token-file "$T/token" status >"$T/o" 2>&1 || rc=$?
assert_eq "$rc" 3 "fulcrumctl to https://127.0.0.1 with a certificate for $NAME only"

step "bad uses: an unknown name, a unix socket, an unknown command"
rc=0
"$FULCRUMCTL" -s "http://no-such-host.invalid:$P_CTL" --token-file "$T/token" --all status >"$T/o" 2>&1 || rc=$?
assert_eq "$rc" 3 "--all against a name that does not resolve"
assert_contains "$(cat "$T/o")" "cannot resolve no-such-host.invalid"
rc=0
"$FULCRUMCTL" -s "unix:$T/nope.sock" --all status >"$T/o" 2>&1 || rc=$?
assert_eq "$rc" 2 "--all with a unix socket"
assert_eq "$(all_rc nosuch flask)" 2 "--all with an unknown command"
assert_not_contains "$(cat "$T/all.out")" "== 127.0.0.1" "--all with an unknown command (no replica called)"
echo "PASS: $TEST_NAME"
