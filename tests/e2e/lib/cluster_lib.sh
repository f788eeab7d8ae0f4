# shellcheck shell=bash
# cluster_lib.sh: fulcrum replicas in cluster mode for the scenarios in tests/e2e/cluster/,
# sourced after lib.sh, ctl_lib.sh and etcd.sh (etcd_cluster_start sets EPS). The caller
# sets WEB and CTL (each replica's listener and control ports, by index), P_A (the
# config file's one backend) and writes $T/token.
# replica I [CLUSTER_KEYS]: starts replica I (config $T/rI.cfg, state dir $T/stateI, access
# log $T/accessI.log) following the etcd cluster as cluster "e2e", CLUSTER_KEYS added to
# its cluster group (default: timeout_ms = 3000;) and REPLICA_POOL_KEYS (if set) to its
# pool, and waits until its listener and control port listen; its pid in RPID[I].
# on I METHOD PATH [CURL ARGS]: replica I's control API (ctl_lib.sh's api); body in
# $T/api.body.
RPID=()

replica() {
	local i=$1 keys=${2:-timeout_ms = 3000;} cfg=$T/r$1.cfg eps
	eps=$(sed 's/,/", "/g' <<<"$EPS")
	cat >"$cfg" <<CFG
workers = 1;
state_dir = "$T/state$i";
shutdown_timeout_s = 2;
log = { level = "info"; access = "$T/access$i.log"; format = "json"; };
control = { listen = "127.0.0.1:${CTL[$i]}"; token_file = "$T/token"; };
listeners = ( { name = "web"; bind = "127.0.0.1:${WEB[$i]}"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; }; ${REPLICA_POOL_KEYS:-}
            backends = ( { name = "web-1"; address = "127.0.0.1:$P_A"; } ); } );
cluster = { name = "e2e"; store = "etcd"; endpoints = ( "$eps" ); $keys };
CFG
	bg "fulcrum$i" TERM "$FULCRUM" -c "$cfg"
	RPID[$i]=$LAST_PID
	wait_listen "${WEB[$i]}" "$LAST_PID" 15
	wait_listen "${CTL[$i]}" "$LAST_PID" 15
}

on() {
	local i=$1
	shift
	P_CTL=${CTL[$i]} api "$@"
}
