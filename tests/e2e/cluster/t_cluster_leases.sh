#!/usr/bin/env bash
# t_cluster_leases.sh: in cluster mode a hook's registration with ttl_s is an etcd lease
# (control/cluster.c): the key is bound to a store lease; a renewing PUT on any replica
# keeps the lease alive without rewriting the key (no new revision, no generation);
# unrenewed, etcd deletes the key and all three replicas drop the backend at once
# (compared: the times each dropped it, a generous margin); a restarted replica renews
# through the lease it finds in its list; with etcd paused past the
# TTL, no replica drops it on its own clock.
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
. "$E2E_DIR/etcd.sh"
. "$E2E_DIR/cluster_lib.sh"
need_fulcrum

etcd_cluster_start
ports W1 W2 W3 K1 K2 K3 P_A P_B
WEB=("" "$W1" "$W2" "$W3")
CTL=("" "$K1" "$K2" "$K3")
start_flask web-1 "$P_A" 1
start_flask web-2 "$P_B" 1
KEY=/fulcrum/e2e/flask/web-2

# has I: 200 when replica I has web-2, else its status (own body file: pollers run at once).
has() {
	http_status_body "$T/has$1.body" "http://127.0.0.1:${CTL[$1]}/v1/pools/flask/backends/web-2" \
		-H "Authorization: Bearer $TOKEN"
}
# key_field FIELD: a field of web-2's key as etcd holds it ("none" when absent).
key_field() {
	etcdctl --endpoints="$EPS" --command-timeout=5s get "$KEY" -w json |
		"$PY" -c 'import json,sys
d = json.load(sys.stdin)
print(d["kvs"][0].get(sys.argv[1], 0) if d.get("kvs") else "none")' "$1"
}
renew() {
	local st
	st=$(on "$1" PUT /v1/pools/flask/backends/web-2 -d "{\"address\":\"127.0.0.1:$P_B\",\"ttl_s\":2}")
	assert_eq "$st" 200 "a renewing PUT on replica $1 ($(cat "$T/api.body"))"
}

for i in 1 2 3; do replica "$i" "timeout_ms = 1000; replica_id = \"r$i\"; replica_ttl_s = 5;"; done
for i in 1 2 3; do
	for ((k = 0; k < 150; k++)); do [ "$(http_status "http://127.0.0.1:${CTL[$i]}/readyz")" = 200 ] && break; sleep 0.1; done
done

step "a registration with ttl_s=2 on replica 1 is a key bound to an etcd lease, served by all"
st=$(on 1 PUT /v1/pools/flask/backends/web-2 -d "{\"address\":\"127.0.0.1:$P_B\",\"ttl_s\":2}")
assert_eq "$st" 201 "PUT web-2 with ttl_s=2 on replica 1 ($(cat "$T/api.body"))"
lease=$(key_field lease)
assert_match "$lease" '^[1-9][0-9]*$' "the lease of web-2's key in etcd"
for i in 1 2 3; do
	for ((k = 0; k < 20 && $(has "$i") != 200; k++)); do sleep 0.05; done
	assert_eq "$(has "$i")" 200 "web-2 on replica $i"
done
left=$(json_get "$(cat "$T/has1.body")" 'd["lease_expires_in_s"]')
assert_cmp "$left" ">" 0 "lease_expires_in_s on replica 1"
assert_cmp "$left" "<=" 2 "lease_expires_in_s on replica 1"

step "renewing PUTs on replicas 2 and 3 (restarted: it finds the lease in its list) keep it past its TTL without rewriting the key"
mod=$(key_field mod_revision)
g1=$(P_CTL=${CTL[1]} current_generation)
# replica 2 renews while replica 3 restarts (the lease must not end meanwhile)
( while :; do renew 2 >/dev/null 2>&1; sleep 0.4; done ) &
RENEWER=$!
stop_pid "${RPID[3]}" TERM 10 || fail "replica 3 did not stop"
replica 3 "timeout_ms = 1000; replica_id = \"r3\"; replica_ttl_s = 5;"
for ((k = 0; k < 100; k++)); do [ "$(http_status "http://127.0.0.1:${CTL[3]}/readyz")" = 200 ] && break; sleep 0.1; done
kill "$RENEWER"
wait_exit "$RENEWER" 10 || true
end=$((SECONDS + 3))
while [ $SECONDS -lt $end ]; do
	renew 2
	sleep 0.4
	renew 3
	sleep 0.4
done
for i in 1 2 3; do assert_eq "$(has "$i")" 200 "web-2 on replica $i after 4 s of renewals"; done
assert_eq "$(key_field lease)" "$lease" "the key's lease after the renewals"
assert_eq "$(key_field mod_revision)" "$mod" "the key's mod revision after the renewals"
assert_eq "$(P_CTL=${CTL[1]} current_generation)" "$g1" "replica 1's generation after the renewals"
# the time left as etcd gave it to the replica that renewed
renew 3
has 3 >/dev/null
left=$(json_get "$(cat "$T/has3.body")" 'd["lease_expires_in_s"]')
assert_cmp "$left" ">" 0 "lease_expires_in_s on replica 3 just after it renewed"
assert_cmp "$left" "<=" 2 "lease_expires_in_s on replica 3 just after it renewed"

step "etcd paused past the TTL: no replica drops it on its own clock"
renew 1
for i in 0 1 2; do kill -STOP "${ETCD_PID[$i]}"; done
sleep 3
for i in 1 2 3; do assert_eq "$(has "$i")" 200 "web-2 on replica $i with etcd paused"; done
for i in 0 1 2; do kill -CONT "${ETCD_PID[$i]}"; done
etcd_wait_healthy 30
# etcd restores leases with their full TTL once a leader is elected: renewed again here
for ((k = 0; k < 40; k++)); do
	st=$(on 1 PUT /v1/pools/flask/backends/web-2 -d "{\"address\":\"127.0.0.1:$P_B\",\"ttl_s\":2}")
	[ "$st" = 200 ] || [ "$st" = 201 ] && break
	sleep 0.25
done
assert_match "$st" '^20[01]$' "a renewal once etcd is back ($(cat "$T/api.body"))"

step "not renewed: etcd deletes the key and all three replicas drop it at once"
t0=$(now_ms)
for i in 1 2 3; do
	(
		for ((k = 0; k < 200; k++)); do
			[ "$(has "$i")" = 404 ] && { now_ms >"$T/gone$i"; exit 0; }
			sleep 0.05
		done
	) &
	POLL[$i]=$!
done
for i in 1 2 3; do wait_exit "${POLL[$i]}" 30 || true; done
for i in 1 2 3; do [ -s "$T/gone$i" ] || fail "web-2 still on replica $i $(($(now_ms) - t0)) ms after its last renewal"; done
lo=$(sort -n "$T"/gone[123] | head -1)
hi=$(sort -n "$T"/gone[123] | tail -1)
echo "dropped after $((lo - t0)) .. $((hi - t0)) ms (ttl 2 s)"
assert_cmp "$((hi - lo))" "<=" 1000 "spread of the times the replicas dropped web-2 (ms)"
assert_cmp "$((lo - t0))" ">=" 1000 "time before the first replica dropped web-2 (ms)"
assert_eq "$(key_field lease)" none "web-2's key in etcd"
for i in 1 2 3; do
	assert_not_contains "$(cat "$T/fulcrum$i.log")" "was changed by another write" "replica $i's log"
done
