# shellcheck shell=bash
# etcd.sh: a 3-member etcd cluster on loopback ports for the cluster scenarios
# (tests/e2e/cluster/t_*.sh), sourced after lib.sh. etcd_cluster_start starts it and
# waits until it is healthy; members are started through bg (stopped by lib.sh's trap)
# and can be stopped and started again (their data dirs stay in $T).
# Sets CLIENT (client ports), PEER, EPS (the client URLs, comma-separated), ETCD_PID.

command -v etcd >/dev/null || skip "etcd is not installed (Debian: etcd-server)"
command -v etcdctl >/dev/null || skip "etcdctl is not installed (Debian: etcd-client)"

# etcd_member_start I: starts member I (its data dir kept from an earlier run, if any)
# and waits until its client port listens; its pid in ETCD_PID[I].
etcd_member_start() {
	local i=$1
	bg "etcd$i" TERM etcd --name "m$i" --data-dir "$T/etcd$i" --logger zap \
		--listen-client-urls "http://127.0.0.1:${CLIENT[$i]}" \
		--advertise-client-urls "http://127.0.0.1:${CLIENT[$i]}" \
		--listen-peer-urls "http://127.0.0.1:${PEER[$i]}" \
		--initial-advertise-peer-urls "http://127.0.0.1:${PEER[$i]}" \
		--initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new \
		--initial-cluster-token "fulcrum-e2e-$$"
	ETCD_PID[$i]=$LAST_PID
}

# etcd_wait_healthy [SECONDS]: until every member answers etcdctl endpoint health.
etcd_wait_healthy() {
	local secs=${1:-30} i
	for ((i = 0; i < secs * 2; i++)); do
		etcdctl --endpoints="$EPS" --command-timeout=2s endpoint health >"$T/health.out" 2>&1 &&
			return 0
		sleep 0.5
	done
	fail "the etcd cluster did not become healthy: $(cat "$T/health.out")"
}

# etcd_cluster_start: three members on free loopback ports, healthy.
etcd_cluster_start() {
	local i
	ports C0 C1 C2 P0 P1 P2
	CLIENT=("$C0" "$C1" "$C2")
	PEER=("$P0" "$P1" "$P2")
	ETCD_CLUSTER="m0=http://127.0.0.1:$P0,m1=http://127.0.0.1:$P1,m2=http://127.0.0.1:$P2"
	EPS="http://127.0.0.1:$C0,http://127.0.0.1:$C1,http://127.0.0.1:$C2"
	ETCD_PID=()
	step "a 3-member etcd cluster on ports $C0 $C1 $C2"
	for i in 0 1 2; do etcd_member_start "$i"; done
	for i in 0 1 2; do wait_listen "${CLIENT[$i]}" "${ETCD_PID[$i]}" 20; done
	etcd_wait_healthy 30
}

# etcd_stop_all: every member killed (a graceful stop without quorum spends seconds).
etcd_stop_all() {
	local i rc
	for i in 0 1 2; do
		rc=0
		stop_pid "${ETCD_PID[$i]}" KILL 10 || rc=$?
		[ "$rc" != 124 ] || fail "etcd m$i did not end within 10 s of SIGKILL"
	done
}
