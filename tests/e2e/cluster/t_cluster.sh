#!/usr/bin/env bash
# t_cluster.sh: cluster mode (issue 22, control/cluster.c): three fulcrum replicas with
# their own control listeners and state dirs follow a 3-member etcd cluster. A backend
# PUT on one replica is served by the others within 1 s; two writes compared on the same
# (stale) revision give one 200 and one 409 with the current state; a replica started
# with an empty state dir serves the full state; with all of etcd stopped every replica
# keeps serving (a restarted one too, from its local copy), a write gets 503
# store_unavailable and changes nothing; etcd back, a write succeeds and reaches all; a
# rollback on one replica is one store write that every replica applies as the same
# generation (control/cluster_rollback.c).
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
. "$E2E_DIR/etcd.sh"
. "$E2E_DIR/cluster_lib.sh"
need_fulcrum

etcd_cluster_start
ports W1 W2 W3 W4 K1 K2 K3 K4 P_A P_B
WEB=("" "$W1" "$W2" "$W3" "$W4")
CTL=("" "$K1" "$K2" "$K3" "$K4")
start_flask web-1 "$P_A" 1
start_flask web-2 "$P_B" 1

# metric I NAME: a sample of replica I's /metrics.
metric() {
	hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${CTL[$1]}/metrics" |
		awk -v n="$2" '$1 == n { print $2 }'
}
# wait_metric I NAME VALUE SECONDS
wait_metric() {
	local k
	for ((k = 0; k < $4 * 10; k++)); do
		[ "$(metric "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	fail "replica $1: $2 is $(metric "$1" "$2"), not $3, after $4 s"
}
# view I NAME: "address weight admin" of a backend on replica I ("none" when absent).
view() {
	local st
	st=$(on "$1" GET "/v1/pools/flask/backends/$2")
	[ "$st" = 200 ] || { echo none; return; }
	"$PY" -c 'import json,sys; b = json.load(open(sys.argv[1])); print(b["address"], b["weight"], b["admin"])' "$T/api.body"
}
# wait_view I NAME WANT MS: until replica I shows WANT, within MS milliseconds.
wait_view() {
	local end=$(($(now_ms) + $4)) got
	while :; do
		got=$(view "$1" "$2")
		[ "$got" = "$3" ] && return 0
		[ "$(now_ms)" -lt "$end" ] || fail "replica $1: $2 is '$got', not '$3', after $4 ms"
		sleep 0.05
	done
}
# served I: the instances replica I's listener sends 6 requests to, sorted.
served() {
	for _ in 1 2 3 4 5 6; do hcurl "http://127.0.0.1:${WEB[$1]}/" | awk '{print $2}'; done | sort -u | tr '\n' ' '
}

step "three replicas follow the store"
for i in 1 2 3; do replica "$i"; done
for i in 1 2 3; do wait_metric "$i" fulcrum_cluster_store_up 1 15; done

step "a backend PUT on replica 1 is served by replicas 2 and 3 within 1 s"
st=$(on 1 PUT /v1/pools/flask/backends/web-2 -d "{\"address\":\"127.0.0.1:$P_B\"}")
assert_eq "$st" 201 "PUT web-2 on replica 1 ($(cat "$T/api.body"))"
gen=$(json_get "$(cat "$T/api.body")" 'd["generation"]')
for i in 2 3; do wait_view "$i" web-2 "127.0.0.1:$P_B 1 active" 1000; done
st=$(on 2 PUT /v1/pools/flask/backends/web-1 -d '{"weight":0}')
assert_eq "$st" 200 "weight 0 for web-1 on replica 2 ($(cat "$T/api.body"))"
for i in 1 3; do wait_view "$i" web-1 "127.0.0.1:$P_A 0 active" 1000; done
for i in 1 2 3; do assert_eq "$(served "$i")" "web-2 " "traffic through replica $i"; done
rev=$(metric 1 fulcrum_cluster_applied_revision)
for i in 2 3; do
	assert_eq "$(metric "$i" fulcrum_cluster_applied_revision)" "$rev" "revision applied on replica $i"
	assert_eq "$(metric "$i" fulcrum_config_generation)" "$(metric 1 fulcrum_config_generation)" \
		"generation on replica $i"
done
assert_cmp "$rev" ">" "$gen" "the revision after two writes (the first was generation $gen)"

step "two writes compared on the same revision: one 200, one 409 with the current state"
on 1 GET /v1/pools/flask/backends/web-2 >/dev/null
R=$(json_get "$(cat "$T/api.body")" 'd["revision"]')
CAS=()
for i in 2 3; do
	http_status_body "$T/cas$i.body" \
		"http://127.0.0.1:${CTL[$i]}/v1/pools/flask/backends/web-2?revision=$R" -X PUT \
		-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
		-d "{\"weight\":$((i + 1))}" >"$T/cas$i.st" &
	CAS+=($!)
done
for p in "${CAS[@]}"; do wait_exit "$p" 30 || true; done
assert_eq "$(printf '%s\n' "$(cat "$T/cas2.st")" "$(cat "$T/cas3.st")" | sort | tr '\n' ' ')" "200 409 " \
	"statuses of the two writes"
won=2
[ "$(cat "$T/cas3.st")" = 200 ] && won=3
lost=$((5 - won))
body=$(cat "$T/cas$lost.body")
assert_eq "$(json_get "$body" 'd["error"]')" conflict "the 409's error"
assert_eq "$(json_get "$body" 'd["current"]["weight"]')" $((won + 1)) "the 409's current weight"
for i in 1 2 3; do wait_view "$i" web-2 "127.0.0.1:$P_B $((won + 1)) active" 1000; done
st=$(on 1 PUT "/v1/pools/flask/backends/web-2?revision=$R" -d '{"weight":9}')
assert_eq "$st" 409 "a write on the stale revision again"
assert_eq "$(view 1 web-2)" "127.0.0.1:$P_B $((won + 1)) active" "web-2 after the refused write"

step "a lease renewal reaches every replica without a new generation"
g3=$(metric 3 fulcrum_config_generation)
st=$(on 1 PUT /v1/pools/flask/backends/web-2 -d '{"ttl_s":600}')
assert_eq "$st" 200 "a lease for web-2 on replica 1 ($(cat "$T/api.body"))"
for ((k = 0; k < 20; k++)); do
	on 3 GET /v1/pools/flask/backends/web-2 >/dev/null
	[ "$(json_get "$(cat "$T/api.body")" 'd["lease_ttl_s"]')" = 600 ] && break
	sleep 0.05
done
assert_eq "$(json_get "$(cat "$T/api.body")" 'd["lease_ttl_s"]')" 600 "web-2's lease on replica 3"
assert_eq "$(metric 3 fulcrum_config_generation)" "$g3" "generation of replica 3 after the renewal"

step "a replica with an empty state dir comes up with the full state"
replica 4
wait_metric 4 fulcrum_cluster_store_up 1 15
assert_eq "$(view 4 web-2)" "127.0.0.1:$P_B $((won + 1)) active" "web-2 on the new replica"
assert_eq "$(view 4 web-1)" "127.0.0.1:$P_A 0 active" "web-1 on the new replica"
assert_eq "$(served 4)" "web-2 " "traffic through the new replica"
stop_pid "${RPID[4]}" TERM 10 || fail "replica 4 did not stop"

step "all of etcd stopped: serving goes on, writes get 503 and change nothing"
etcd_stop_all
for i in 1 2 3; do wait_metric "$i" fulcrum_cluster_store_up 0 15; done
st=$(on 1 PUT /v1/pools/flask/backends/web-1 -d '{"weight":5}')
assert_eq "$st" 503 "a write with etcd down"
assert_eq "$(json_get "$(cat "$T/api.body")" 'd["error"]')" store_unavailable "its error"
assert_eq "$(view 1 web-1)" "127.0.0.1:$P_A 0 active" "web-1 after the refused write"
stop_pid "${RPID[3]}" TERM 10 || fail "replica 3 did not stop"
replica 3
assert_eq "$(view 3 web-2)" "127.0.0.1:$P_B $((won + 1)) active" "web-2 on replica 3 restarted without etcd"
assert_eq "$(metric 3 fulcrum_cluster_store_up)" 0 "store_up of replica 3 restarted without etcd"
# its state dir holds the cluster's state: it serves that copy, so it says ready
for ((k = 0; k < 100; k++)); do
	[ "$(http_status "http://127.0.0.1:${CTL[3]}/readyz")" = 200 ] && break
	sleep 0.1
done
assert_eq "$(http_status "http://127.0.0.1:${CTL[3]}/readyz")" 200 "readyz of replica 3 restarted without etcd"
for i in 1 2 3; do assert_eq "$(served "$i")" "web-2 " "traffic through replica $i with etcd down"; done

step "etcd back: the replicas catch up, a write succeeds and reaches all"
for i in 0 1 2; do etcd_member_start "$i"; done
etcd_wait_healthy 30
for i in 1 2 3; do wait_metric "$i" fulcrum_cluster_store_up 1 20; done
st=$(on 3 PUT /v1/pools/flask/backends/web-1 -d '{"weight":1}')
assert_eq "$st" 200 "a write once etcd is back ($(cat "$T/api.body"))"
for i in 1 2; do wait_view "$i" web-1 "127.0.0.1:$P_A 1 active" 1000; done
assert_eq "$(served 1)" "web-1 web-2 " "traffic through replica 1 after the write"

step "drain, DELETE and maintenance go through the store too"
R0=$(metric 1 fulcrum_cluster_applied_revision)
V1=$(view 1 web-1)
V2=$(view 1 web-2)
st=$(on 2 POST /v1/pools/flask/backends/web-1/drain -d '{"timeout_s":5}')
assert_match "$st" "^20[02]$" "drain web-1 on replica 2 ($(cat "$T/api.body"))"
for i in 1 3; do wait_view "$i" web-1 "127.0.0.1:$P_A 1 draining" 1000; done
st=$(on 3 DELETE "/v1/pools/flask/backends/web-1?force=1")
assert_eq "$st" 200 "DELETE web-1 on replica 3 ($(cat "$T/api.body"))"
for i in 1 2; do wait_view "$i" web-1 none 1000; done
st=$(on 1 POST /v1/maintenance -d '{"pool":"flask","on":true,"retry_after_s":7}')
assert_eq "$st" 200 "maintenance on through replica 1 ($(cat "$T/api.body"))"
for ((k = 0; k < 20; k++)); do
	[ "$(http_status "http://127.0.0.1:${WEB[2]}/")" = 503 ] && break
	sleep 0.05
done
assert_eq "$(http_status "http://127.0.0.1:${WEB[2]}/")" 503 "traffic through replica 2 in maintenance"
# the file's backend stays removed by a tombstone; one only the API added leaves the store
ectl() { etcdctl --endpoints="$EPS" --command-timeout=5s "$@"; }
assert_contains "$(ectl get /fulcrum/e2e/flask/web-1 --print-value-only)" '"op":"delete"' "web-1's key"
st=$(on 1 DELETE "/v1/pools/flask/backends/web-2?force=1")
assert_eq "$st" 200 "DELETE web-2 on replica 1 ($(cat "$T/api.body"))"
for i in 2 3; do wait_view "$i" web-2 none 1000; done
assert_eq "$(ectl get --prefix /fulcrum/e2e/flask/ --keys-only | grep -c web-2)" 0 "keys of web-2 in the store"

step "a rollback on replica 2 is one write: every replica runs the state of that revision"
st=$(on 2 POST /v1/config/rollback -d "{\"generation\":$((R0 + 100000))}")
assert_eq "$st" 404 "a rollback to a revision the store has not reached ($(cat "$T/api.body"))"
assert_eq "$(json_get "$(cat "$T/api.body")" 'd["error"]')" unknown_generation "its error"
st=$(on 2 POST /v1/config/rollback -d "{\"generation\":$R0}")
assert_eq "$st" 200 "a rollback to revision $R0 on replica 2 ($(cat "$T/api.body"))"
assert_eq "$(json_get "$(cat "$T/api.body")" 'd["rolled_back_to"]')" "$R0" "rolled_back_to"
G=$(json_get "$(cat "$T/api.body")" 'd["generation"]')
assert_cmp "$G" ">" "$R0" "the rollback's generation"
for i in 1 2 3; do
	wait_view "$i" web-1 "$V1" 1000
	wait_view "$i" web-2 "$V2" 1000
	wait_metric "$i" fulcrum_config_generation "$G" 5
	assert_eq "$(http_status "http://127.0.0.1:${WEB[$i]}/")" 200 "traffic through replica $i after the rollback (maintenance off)"
done
assert_contains "$(ectl get /fulcrum/e2e/@rollback --print-value-only)" "\"to\":$R0" "the rollback marker"
assert_match "$(etcdctl --endpoints="$EPS" --command-timeout=5s get /fulcrum/e2e/flask/web-2 -w json)" \
	'"lease":[1-9]' "web-2 (leased at $R0) is back on a lease"

step "a replica whose watch resumes past a compaction lists again"
# replica 2 frozen while the member its watch is on is killed, a backend added and
# changed, and the history compacted past the first change: thawed, its watch ends,
# resuming from its last revision finds it compacted, and it lists
kill -STOP "${RPID[2]}"
m=
for i in 0 1 2; do
	ss -Htnp state established "( dport = :${CLIENT[$i]} )" | grep -q "pid=${RPID[2]}," && m=$i
done
[ -n "$m" ] || fail "replica 2 has no connection to etcd: $(ss -Htnp state established)"
rc=0
stop_pid "${ETCD_PID[$m]}" KILL 10 || rc=$?
[ "$rc" != 124 ] || fail "etcd m$m did not end within 10 s of SIGKILL"
E2=
for i in 0 1 2; do [ "$i" = "$m" ] || E2=${E2:+$E2,}http://127.0.0.1:${CLIENT[$i]}; done
EPS=$E2 etcd_wait_healthy 30 # a new leader, when m$m led
st=$(on 1 PUT /v1/pools/flask/backends/web-9 -d "{\"address\":\"127.0.0.1:$P_A\"}")
assert_eq "$st" 201 "PUT web-9 on replica 1 with one member down ($(cat "$T/api.body"))"
st=$(on 1 PUT /v1/pools/flask/backends/web-9 -d '{"weight":2}')
assert_eq "$st" 200 "weight 2 for web-9 on replica 1 ($(cat "$T/api.body"))"
gen9=$(json_get "$(cat "$T/api.body")" 'd["generation"]')
rev=$(etcdctl --endpoints="$E2" --command-timeout=5s get /fulcrum/ --prefix -w json |
	"$PY" -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
etcdctl --endpoints="$E2" --command-timeout=5s compact "$rev" >"$T/compact.out" 2>&1 ||
	fail "etcdctl compact: $(cat "$T/compact.out")"
kill -CONT "${RPID[2]}"
wait_view 2 web-9 "127.0.0.1:$P_A 2 active" 10000
assert_contains "$(cat "$T/fulcrum2.log")" "compacted away" "replica 2's log"
# the revision of the last change (the replicas' own keys moved the store's on since)
assert_eq "$(metric 2 fulcrum_cluster_applied_revision)" "$gen9" "revision applied on replica 2"
echo PASS
