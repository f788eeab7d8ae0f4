#!/usr/bin/env bash
# t_cluster_failover.sh: cluster mode under load while the store fails over (issue 22).
# Three fulcrum replicas follow a 3-member etcd. wrk sends requests through all three
# while 100 backend registrations go to replica 1 one after another, as a scaling hook
# would send them, and the etcd leader is killed (SIGKILL) after the 30th. A write the
# store could not take is answered 503 and retried by the "hook", as hooks do; every
# registration acknowledged (200 or 201) is then present on every replica. Still under
# the load, a rollback on replica 2 to the revision before the registrations takes all
# 100 away on every replica at once; a registration with ttl_s = 2 that nobody renews
# leaves every replica; two writes on the same revision at once give one 200 and one 409;
# drain --wait returns once the backend is empty everywhere; with all of etcd stopped
# writes get 503 and serving goes on, and etcd back, a write reaches every replica. No
# request through the replicas failed meanwhile (wrk: no error, no non-2xx answer). No
# timing is asserted.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
. "$E2E_DIR/etcd.sh"
. "$E2E_DIR/cluster_lib.sh"
need_fulcrum
command -v wrk >/dev/null || fail "wrk is needed (Debian's wrk; make test installs it)"

etcd_cluster_start
ports W1 W2 W3 K1 K2 K3 P_A P_B
WEB=("" "$W1" "$W2" "$W3")
CTL=("" "$K1" "$K2" "$K3")
TOKEN=failover-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"
start_flask web-1 "$P_A" 2
start_flask web-2 "$P_B" 2

for i in 1 2 3; do replica "$i"; done
# registered I: how many of the w-* backends replica I has.
registered() {
	hcurl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${CTL[$1]}/v1/pools/flask/backends" |
		"$PY" -c 'import json,sys; print(sum(1 for b in json.load(sys.stdin)["backends"] if b["name"].startswith("w-")))'
}
for i in 1 2 3; do
	for ((k = 0; k < 150; k++)); do
		[ "$(on "$i" GET /readyz)" = 200 ] && break
		sleep 0.1
	done
	[ "$(on "$i" GET /readyz)" = 200 ] || fail "replica $i not ready after 15 s: $(cat "$T/api.body")"
done

# leader_member: the index (0-2) of the etcd member that leads now (asked up to 10
# times: under the load an answer may take longer than etcdctl's timeout).
leader_member() {
	local k port i
	for ((k = 0; k < 10; k++)); do
		etcdctl --endpoints="$EPS" --command-timeout=3s endpoint status -w json >"$T/status.json" \
			2>"$T/status.err" || true
		port=$("$PY" -c 'import json,sys
try:
    ms = json.load(open(sys.argv[1]))
except ValueError:
    ms = []
for m in ms:
    s = m["Status"]
    if s["header"]["member_id"] == s["leader"]:
        print(m["Endpoint"].rsplit(":", 1)[1])
        break' "$T/status.json")
		for i in 0 1 2; do
			[ "${CLIENT[$i]}" = "$port" ] && { echo "$i"; return 0; }
		done
		sleep 0.3
	done
	fail "no etcd leader found: $(cat "$T/status.json" "$T/status.err")"
}

# wait_registered I N SECONDS: until replica I has N w-* backends.
wait_registered() {
	local k
	for ((k = 0; k < $3 * 10; k++)); do
		[ "$(registered "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	fail "replica $1 has $(registered "$1") w-* backends, not $2, after $3 s"
}
# the store's revision before the registrations: its state then has none of them
on 1 GET /v1/cluster >/dev/null
R0=$(json_get "$(cat "$T/api.body")" 'd["store"]["revision"]')
assert_cmp "$R0" ">" 0 "the store's revision before the registrations"

step "wrk through the three replicas; 100 registrations on replica 1; the etcd leader killed after 30"
WPID=()
for i in 1 2 3; do
	bg "wrk$i" TERM wrk -t1 -c2 -d90s --timeout 5s "http://127.0.0.1:${WEB[$i]}/"
	WPID[$i]=$LAST_PID
done
acked=0 retried=0 killed=
t0=$(now_ms)
for ((k = 1; k <= 100; k++)); do
	if [ "$k" = 31 ]; then
		killed=$(leader_member)
		rc=0
		stop_pid "${ETCD_PID[$killed]}" KILL 10 || rc=$?
		[ "$rc" != 124 ] || fail "etcd m$killed did not end within 10 s of SIGKILL"
		echo "   etcd leader m$killed killed after 30 writes"
	fi
	addr=127.0.0.1:$P_A
	[ $((k % 2)) = 0 ] && addr=127.0.0.1:$P_B
	for ((a = 1; a <= 40; a++)); do
		st=$(on 1 PUT "/v1/pools/flask/backends/w-$k" -d "{\"address\":\"$addr\"}")
		case $st in
		200 | 201) acked=$((acked + 1)); break ;;
		503) retried=$((retried + 1)); sleep 0.25 ;;
		*) fail "PUT w-$k: $st $(cat "$T/api.body")" ;;
		esac
	done
	case $st in 200 | 201) ;; *) fail "PUT w-$k still $st after 40 tries (10 s): $(cat "$T/api.body")" ;; esac
done
echo "   100 registrations acknowledged in $(($(now_ms) - t0)) ms; 503 answers retried: $retried"
assert_eq "$acked" 100 "registrations acknowledged"

step "every acknowledged registration is on every replica"
for i in 1 2 3; do wait_registered "$i" 100 10; done

step "a rollback on replica 2 to revision $R0 (before them) takes all 100 away everywhere"
for ((a = 1; a <= 20; a++)); do
	st=$(on 2 POST /v1/config/rollback -d "{\"generation\":$R0}")
	[ "$st" = 503 ] || break
	sleep 0.25
done
assert_eq "$st" 200 "rollback to $R0 on replica 2 ($(cat "$T/api.body"))"
for i in 1 2 3; do wait_registered "$i" 0 10; done

step "a registration with ttl_s = 2 that nobody renews leaves every replica"
st=$(on 3 PUT /v1/pools/flask/backends/w-lease -d "{\"address\":\"127.0.0.1:$P_B\",\"ttl_s\":2}")
assert_eq "$st" 201 "PUT w-lease with ttl_s 2 on replica 3 ($(cat "$T/api.body"))"
for i in 1 2 3; do wait_registered "$i" 1 5; done
for i in 1 2 3; do wait_registered "$i" 0 10; done

step "two writes on the same revision at once: one 200, one 409"
st=$(on 1 PUT /v1/pools/flask/backends/w-cas -d "{\"address\":\"127.0.0.1:$P_A\"}")
assert_eq "$st" 201 "PUT w-cas on replica 1 ($(cat "$T/api.body"))"
R=$(json_get "$(cat "$T/api.body")" 'd["revision"]')
CAS=()
for i in 2 3; do
	http_status_body "$T/cas$i.body" \
		"http://127.0.0.1:${CTL[$i]}/v1/pools/flask/backends/w-cas?revision=$R" -X PUT \
		-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
		-d "{\"weight\":$i}" >"$T/cas$i.st" &
	CAS+=($!)
done
for p in "${CAS[@]}"; do wait_exit "$p" 30 || true; done
assert_eq "$(printf '%s\n' "$(cat "$T/cas2.st")" "$(cat "$T/cas3.st")" | sort | tr '\n' ' ')" "200 409 " \
	"statuses of the two writes"

step "drain --wait on replica 3 returns once w-cas is empty on every replica"
st=$(on 3 POST "/v1/pools/flask/backends/w-cas/drain?wait=1" -d '{"timeout_s":20}')
assert_eq "$st" 200 "drain --wait of w-cas ($(cat "$T/api.body"))"

step "all of etcd stopped: writes get 503, serving goes on; etcd back, a write reaches all"
etcd_stop_all
st=$(on 2 PUT /v1/pools/flask/backends/w-down -d "{\"address\":\"127.0.0.1:$P_B\"}")
assert_eq "$st" 503 "a write with etcd stopped ($(cat "$T/api.body"))"
sleep 2  # the replicas serve on meanwhile (wrk's figures below)
for i in 0 1 2; do etcd_member_start "$i"; done
etcd_wait_healthy 30
for ((a = 1; a <= 40; a++)); do
	st=$(on 2 PUT /v1/pools/flask/backends/w-back -d "{\"address\":\"127.0.0.1:$P_B\"}")
	[ "$st" = 503 ] || break
	sleep 0.25
done
assert_eq "$st" 201 "a write once etcd is back ($(cat "$T/api.body"))"
for i in 1 2 3; do wait_registered "$i" 2 10; done  # w-cas (drained) and w-back

step "no request through the replicas failed meanwhile"
for i in 1 2 3; do kill -INT "${WPID[$i]}"; done  # wrk stops and reports on SIGINT
for i in 1 2 3; do
	rc=0
	wait_exit "${WPID[$i]}" 20 || rc=$?
	[ "$rc" = 0 ] || fail "wrk through replica $i: exit $rc: $(cat "$T/wrk$i.log")"
	reqs=$(awk '/requests in/ {print $1}' "$T/wrk$i.log")
	echo "   replica $i: $reqs requests; $(grep -E 'Socket errors|Non-2xx' "$T/wrk$i.log" | tr -s ' ' || echo 'no errors')"
	assert_cmp "${reqs:-0}" ">" 100 "requests through replica $i"
	assert_not_contains "$(cat "$T/wrk$i.log")" "Socket errors" "wrk through replica $i"
	assert_not_contains "$(cat "$T/wrk$i.log")" "Non-2xx" "wrk through replica $i"
done
etcd_stop_all  # a graceful stop spends seconds handing leadership over
echo ok
