#!/usr/bin/env bash
# t_cluster_replicas.sh: cluster mode's replicas (control/cluster_replicas.c): a replica
# with an empty state dir is not ready until it applied the store's state; three
# replicas register and GET /v1/cluster on any lists all three at the same revision
# (and whether their files' pools agree);
# drain --wait on replica 1 waits for a slow request held on replica 3 (and at its
# deadline names replica 3, which cuts its request at that same deadline); a repeated
# drain moves that deadline on replica 3 too; a replica
# killed leaves the list when its lease ends, one
# stopped with SIGTERM at once (it revokes its lease);
# without cluster mode GET /v1/cluster is 404 not_clustered. /v1/stats carries the same
# view for the status page's cluster line. Every wait is bounded and
# no duration is asserted beyond "cut within 4 s of a 1 s deadline" (the request sleeps 6 s).
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
. "$E2E_DIR/etcd.sh"
. "$E2E_DIR/cluster_lib.sh"
need_fulcrum

etcd_cluster_start
ports W1 W2 W3 W4 K1 K2 K3 K4 P_A P_B
WEB=("" "$W1" "$W2" "$W3")
CTL=("" "$K1" "$K2" "$K3")
start_flask web-1 "$P_A" 2
start_flask web-2 "$P_B" 1

ready() { http_status "http://127.0.0.1:${CTL[$1]}/readyz"; }
# members I: "id:applied:latest" of every replica GET /v1/cluster on I lists, sorted.
members() {
	on "$1" GET /v1/cluster >/dev/null
	"$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(" ".join(sorted("%s:%d:%s" % (r["id"], r["applied_revision"], r["latest"]) for r in d["replicas"])))' "$T/api.body"
}
# ids I: the ids of the replicas GET /v1/cluster on I lists, each at the latest revision
# (its body stays in $T/api.body). wait_ids I WANT TRIES WHAT: polls ids every 0.1 s up to
# TRIES times until it is WANT, then asserts it.
ids() { members "$1" | sed 's/:[0-9]*:True//g'; }
wait_ids() {
	local k
	for ((k = 0; k < $3; k++)); do
		[ "$(ids "$1")" = "$2" ] && break
		sleep 0.1
	done
	assert_eq "$(ids "$1")" "$2" "$4"
}
# wait_field I BACKEND FIELD VALUE WHAT: waits up to 5 s until replica I shows BACKEND's
# FIELD as VALUE, then asserts it (WHAT names it in the failure).
wait_field() {
	local k
	for ((k = 0; k < 100; k++)); do
		on "$1" GET "/v1/pools/flask/backends/$2" >/dev/null
		[ "$(json_get "$(cat "$T/api.body")" "d[\"$3\"]")" = "$4" ] && break
		sleep 0.05
	done
	assert_eq "$(json_get "$(cat "$T/api.body")" "d[\"$3\"]")" "$4" "$5"
}
# wait_members I WANT SECONDS
wait_members() {
	local k got
	for ((k = 0; k < $3 * 10; k++)); do
		got=$(members "$1")
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	fail "replica $1 lists '$got', not '$2', after $3 s ($(cat "$T/api.body"))"
}

step "a replica with an empty state dir is not ready until it applied the store's state"
for i in 0 1 2; do kill -STOP "${ETCD_PID[$i]}"; done
replica 1 "timeout_ms = 1000; replica_id = \"r1\"; replica_ttl_s = 2;"
for _ in 1 2 3; do
	assert_eq "$(ready 1)" 503 "readyz of replica 1 with etcd paused"
	sleep 0.3
done
assert_contains "$(hcurl "http://127.0.0.1:${CTL[1]}/readyz")" cluster_not_synced "its reason"
for i in 0 1 2; do kill -CONT "${ETCD_PID[$i]}"; done
for ((k = 0; k < 150; k++)); do [ "$(ready 1)" = 200 ] && break; sleep 0.1; done
assert_eq "$(ready 1)" 200 "readyz of replica 1 once etcd answers"

step "three replicas register: GET /v1/cluster on any lists all at the same revision"
replica 2 "timeout_ms = 1000; replica_id = \"r2\"; replica_ttl_s = 2;"
replica 3 "timeout_ms = 1000; replica_id = \"r3\"; replica_ttl_s = 2;"
st=$(on 2 PUT /v1/pools/flask/backends/web-2 -d "{\"address\":\"127.0.0.1:$P_B\"}")
assert_eq "$st" 201 "PUT web-2 on replica 2 ($(cat "$T/api.body"))"
rev=$(json_get "$(cat "$T/api.body")" 'd["generation"]')
for i in 1 2 3; do wait_members "$i" "r1:$rev:True r2:$rev:True r3:$rev:True" 10; done
on 3 GET /v1/cluster >/dev/null
body=$(cat "$T/api.body")
assert_eq "$(json_get "$body" 'd["cluster"]')" e2e "the cluster's name"
assert_eq "$(json_get "$body" 'd["self"]')" r3 "self on replica 3"
assert_eq "$(json_get "$body" 'd["latest_revision"]')" "$rev" "the latest revision"
assert_eq "$(json_get "$body" 'd["store"]["state"]')" up "the store's state"
assert_eq "$(json_get "$body" 'len({r["pools_config"] for r in d["replicas"]} - {""})')" 1 \
	"one digest of the file's pools among the three"
assert_eq "$(json_get "$body" 'd["pools_agree"]')" true "pools_agree"
assert_eq "$(json_get "$body" '[r["control"] for r in d["replicas"] if r["id"] == "r1"][0]')" \
	"127.0.0.1:${CTL[1]}" "r1's control address"
out=$("$FULCRUMCTL" -s "http://127.0.0.1:${CTL[1]}" --token-file "$T/token" status --cluster)
assert_contains "$out" "127.0.0.1:${CTL[3]}" "fulcrumctl status --cluster"
assert_eq "$(grep -c "^r[123]" <<<"$out")" 3 "replica rows of fulcrumctl status --cluster:
$out"
on 2 GET /v1/stats >/dev/null
assert_eq "$(json_get "$(cat "$T/api.body")" '" ".join(sorted(r["id"] for r in d["cluster"]["replicas"]))')" \
	"r1 r2 r3" "the replicas in /v1/stats (the status page's cluster line)"

# hold_web1 MS: web-1 active again, and a request sleeping MS ms held on it through
# replica 3 (its pid in SLOW, its answer in $T/slow.out)
hold_web1() {
	st=$(on 1 PUT /v1/pools/flask/backends/web-1 -d '{"state":"active"}')
	assert_eq "$st" 200 "web-1 active again ($(cat "$T/api.body"))"
	wait_field 3 web-1 admin active "web-1's admin state on replica 3"
	hcurl -o "$T/slow.out" "http://127.0.0.1:${WEB[3]}/sleep?ms=$1" &
	SLOW=$!
	wait_field 3 web-1 active 1 "web-1's requests on replica 3"
}

step "drain --wait on replica 1 waits for a slow request held on replica 3"
# web-2 drained first: every new request goes to web-1, the one drained below
st=$(on 1 PUT /v1/pools/flask/backends/web-2 -d '{"weight":0}')
assert_eq "$st" 200 "weight 0 for web-2 ($(cat "$T/api.body"))"
wait_field 3 web-2 weight 0 "web-2's weight on replica 3"
hcurl -o "$T/slow.out" "http://127.0.0.1:${WEB[3]}/sleep?ms=6000" &
SLOW=$!
wait_field 3 web-1 active 1 "web-1's requests on replica 3"
st=$(on 1 POST "/v1/pools/flask/backends/web-1/drain?wait=1" -d '{"timeout_s":1}')
assert_eq "$st" 408 "a drain whose deadline passes while replica 3 holds a request ($(cat "$T/api.body"))"
assert_eq "$(json_get "$(cat "$T/api.body")" 'd["replicas_holding"]')" '["r3"]' "who still holds it"

step "the drain's deadline is the same instant on every replica: replica 3 cuts its request then"
# the request sleeps 6 s; the deadline, set on replica 1, passed 1 s after the call
rc=0
wait_exit "$SLOW" 4 || rc=$?
[ "$rc" != 124 ] || fail "replica 3 still held the request 4 s after the drain's 1 s deadline"
assert_contains "$(cat "$T/slow.out")" drain_deadline "the slow request's answer from replica 3"
cut3() { "$PY" "$E2E_DIR/alog.py" "$T/access3.log" count termination=drain_deadline status=503; }
for ((k = 0; k < 30; k++)); do
	[ "$(cut3)" = 1 ] && break
	sleep 0.1
done
assert_eq "$(cut3)" 1 "replica 3's access log: cut at the drain deadline"

step "drain --wait on replica 1 waits for a slow request held on replica 3"
hold_web1 4000
st=$(on 1 POST "/v1/pools/flask/backends/web-1/drain?wait=1" -d '{"timeout_s":30}')
assert_eq "$st" 200 "drain --wait on replica 1 ($(cat "$T/api.body"))"
assert_eq "$(json_get "$(cat "$T/api.body")" 'd["drained"]')" true "drained"
kill -0 "$SLOW" 2>/dev/null && ! e2e_is_zombie "$SLOW" &&
	fail "drain --wait returned while replica 3 still held the slow request"
wait "$SLOW" || fail "the slow request through replica 3 failed"
assert_eq "$(cat "$T/slow.out")" "slept 4000 web-1" "the slow request's answer (30 s from the drain: replica 3 cut nothing)"

step "a repeated drain moves the deadline on every replica"
hold_web1 6000
st=$(on 1 POST /v1/pools/flask/backends/web-1/drain -d '{"timeout_s":30}')
assert_eq "$st" 200 "drain web-1, 30 s ($(cat "$T/api.body"))"
st=$(on 1 POST /v1/pools/flask/backends/web-1/drain -d '{"timeout_s":1}')
assert_eq "$st" 200 "drain web-1 again, 1 s ($(cat "$T/api.body"))"
rc=0
wait_exit "$SLOW" 4 || rc=$?
[ "$rc" != 124 ] || fail "replica 3 still held the request 4 s after the second drain's 1 s deadline (it kept the first's 30 s)"
assert_contains "$(cat "$T/slow.out")" drain_deadline "the slow request's answer from replica 3"

step "a replica killed leaves the list when its lease ends"
kill -KILL "${RPID[2]}"
wait_exit "${RPID[2]}" 10 || true
wait_ids 1 "r1 r3" 150 "replicas on replica 1 after r2 was killed"
assert_eq "$(ids 3)" "r1 r3" "replicas on replica 3 after r2 was killed"

step "a replica stopped with SIGTERM takes its key away at once (lease 30 s)"
# (its file's pool differs too: GET /v1/cluster says the replicas' pools disagree)
REPLICA_POOL_KEYS="drain_timeout_s = 45;" replica 2 "timeout_ms = 1000; replica_id = \"r2\"; replica_ttl_s = 30;"
wait_ids 1 "r1 r2 r3" 100 "replicas on replica 1 after r2 came back"
assert_eq "$(json_get "$(cat "$T/api.body")" 'd["pools_agree"]')" false "pools_agree with r2's other drain_timeout_s"
assert_contains "$("$FULCRUMCTL" -s "http://127.0.0.1:${CTL[1]}" --token-file "$T/token" status --cluster)" \
	"define the pools differently" "fulcrumctl status --cluster says so"
stop_pid "${RPID[2]}" TERM 10 || fail "replica 2 did not stop on SIGTERM"
# its lease has 30 s to run: only the revoke takes it off the list within 3 s
wait_ids 1 "r1 r3" 30 "replicas on replica 1 within 3 s of r2's SIGTERM"
assert_eq "$(json_get "$(cat "$T/api.body")" 'd["pools_agree"]')" true "pools_agree once r2 is gone"
assert_contains "$(cat "$T/fulcrum2.log")" "this replica's key removed" "replica 2's log"

step "without cluster mode GET /v1/cluster is 404 not_clustered"
P_CTL=$K4
cat >"$T/plain.cfg" <<EOF
$(cfg_common)
$(cfg_control "$K4")
listeners = ( { name = "web"; bind = "127.0.0.1:$W4"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; }; backends = ( { name = "web-1"; address = "127.0.0.1:$P_A"; } ); } );
EOF
start_fulcrum "$T/plain.cfg" "$K4"
st=$(api GET /v1/cluster)
assert_eq "$st" 404 "GET /v1/cluster without cluster mode"
assert_eq "$(json_get "$(cat "$T/api.body")" 'd["error"]')" not_clustered "its error"
echo PASS
