#!/usr/bin/env bash
# t_docker_watch.sh: `fulcrumctl docker-watch` against a fake Docker Engine API on a unix
# socket (fake_docker.py: list, inspect, chunked event stream), with real Flask
# instances as the "containers" (IP 127.0.0.1, port from the fulcrum.port label) and a
# real fulcrum: a container running before the watcher starts is found by the list; a
# start adds one (and it gets traffic); one with a healthcheck waits until healthy and
# drains while unhealthy; a
# kill with SIGTERM drains, a kill with SIGHUP does not; die removes; bad labels are
# ignored with a message; when the socket goes away the watcher reconnects, lists again
# and catches up on what changed meanwhile. Under load throughout: zero failed requests.
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ports P_WEB P_CTL P_F0 P_F1 P_F2 P_F3
start_flask web-0 "$P_F0" 2
start_flask c1 "$P_F1" 2
start_flask c2 "$P_F2" 2
C2_PID=$LAST_PID
start_flask c3 "$P_F3" 2

cfg=$T/fulcrum.cfg
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; health = { type = "none"; };
            backends = ( { name = "web-0"; address = "127.0.0.1:$P_F0"; max_conns = 2; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"

bg fake-docker TERM "$PY" "$E2E_DIR/fake_docker.py" --api "$T/docker.sock" --control "$T/docker-ctl.sock"
for ((i = 0; i < 100; i++)); do
	[ -S "$T/docker.sock" ] && [ -S "$T/docker-ctl.sock" ] && break
	sleep 0.1
done
[ -S "$T/docker-ctl.sock" ] || fail "the fake Docker did not start"

# docker OP QUERY: plays Docker through the fake's control socket.
docker() {
	local out
	out=$(curl -sS --max-time 10 --unix-socket "$T/docker-ctl.sock" -X POST "http://fake/$1?$2") ||
		fail "fake docker $1 $2: curl failed"
	assert_contains "$out" '"ok"' "fake docker $1 $2"
}
docker_stats() { curl -sS --max-time 10 --unix-socket "$T/docker-ctl.sock" "http://fake/stats"; }
# admin NAME: the backend's admin state in fulcrum, or "absent".
admin() {
	local out rc=0
	out=$(ctl --json get flask "$1" 2>/dev/null) || rc=$?
	if [ "$rc" = 5 ]; then echo absent; else json_get "$out" 'd["admin"]'; fi
}
# wait_admin NAME STATE [SECONDS]
wait_admin() {
	local i
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		[ "$(admin "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	fail "$1: expected '$2' in fulcrum, have '$(admin "$1")'; watcher log: $(tail -5 "$T/watcher.log")"
}
# container ids as Docker makes them: 64 hex digits
C1=$(printf 'c1%062d' 0)
C2=$(printf 'c2%062d' 0)
C3=$(printf 'c3%062d' 0)
C9=$(printf 'c9%062d' 0)
# served NAME: requests the Flask instance NAME has answered on /work (the file is read
# under the lock the app writes it with: a read between its truncate and write saw "").
served() {
	local v
	[ -e "$T/conc.$1" ] || { echo 0; return; }
	v=$(flock -s "$T/conc.$1" awk '{print $3}' "$T/conc.$1")
	echo "${v:-0}"
}

step "a labelled container that runs before the watcher starts is found by the list"
docker start "id=$C1&name=c1&port=$P_F1&weight=3"
bg watcher TERM "$FULCRUMCTL" -s "http://127.0.0.1:$P_CTL" --token-file "$T/token" docker-watch --docker-socket "$T/docker.sock"
WATCHER=$LAST_PID
wait_admin c1 active 15
g=$(ctl --json get flask c1)
assert_eq "$(json_get "$g" 'd["address"]')" "127.0.0.1:$P_F1" "c1 address (network IP and fulcrum.port)"
assert_eq "$(json_get "$g" 'd["weight"]')" 3 "c1 weight (fulcrum.weight)"

step "load starts"
bg load TERM "$PY" "$E2E_DIR/hload.py" run --port "$P_WEB" --clients 4 --duration 60 --path "/work?ms=20" --log "$T/load.lines"
LOAD=$LAST_PID
sleep 1

step "start with a healthcheck: added only once healthy, then gets traffic"
docker start "id=$C2&name=c2&port=$P_F2&health=starting"
sleep 1.5
assert_eq "$(admin c2)" absent "c2 while its healthcheck is starting"
docker health "id=$C2&status=healthy"
wait_admin c2 active 10
before=$(served c2)
for ((i = 0; i < 100; i++)); do
	[ "$(served c2)" -gt "$((before + 5))" ] && break
	sleep 0.1
done
assert_cmp "$(served c2)" ">" "$((before + 5))" "requests c2 served after it was added"

step "unhealthy drains, healthy again brings it back"
docker health "id=$C2&status=unhealthy"
wait_admin c2 draining 10
docker health "id=$C2&status=healthy"
wait_admin c2 active 10

step "kill -HUP is not a stop; kill (SIGTERM) drains; die removes"
docker kill "id=$C1&signal=1"
sleep 1
assert_eq "$(admin c1)" active "c1 after a SIGHUP kill event"
docker kill "id=$C2&signal=15"
wait_admin c2 draining 10
# the container's process stops as Docker's SIGTERM would stop it: gracefully
stop_pid "$C2_PID" TERM 15 || true
docker die "id=$C2"
wait_admin c2 absent 10

step "bad labels: ignored, with a message"
docker start "id=$C9&name=bad&port=notaport"
sleep 1
assert_eq "$(admin bad)" absent "a container with fulcrum.port=notaport"
assert_contains "$(cat "$T/watcher.log")" "ignored: needs fulcrum.pool"

step "the Docker socket goes away: the watcher reconnects, lists again, catches up"
lists_before=$(json_get "$(docker_stats)" 'd["lists"]')
curl -sS --max-time 10 --unix-socket "$T/docker-ctl.sock" -X POST "http://fake/outage?seconds=3" >/dev/null
sleep 0.5
# while nobody listens: c3 starts and c1 dies, without events anyone sees
docker start "id=$C3&name=c3&port=$P_F3&quiet=1"
docker die "id=$C1&quiet=1"
wait_admin c3 active 20
wait_admin c1 absent 10
assert_cmp "$(json_get "$(docker_stats)" 'd["lists"]')" ">" "$lists_before" "lists after the outage"
assert_contains "$(cat "$T/watcher.log")" "reconnecting"
before=$(served c3)
for ((i = 0; i < 100; i++)); do
	[ "$(served c3)" -gt "$((before + 5))" ] && break
	sleep 0.1
done
assert_cmp "$(served c3)" ">" "$((before + 5))" "requests c3 served after the re-list"
assert_eq "$(admin web-0)" active "web-0 (from the file) untouched"

step "events still flow on the new stream"
docker kill "id=$C3&signal=15"
wait_admin c3 draining 10
docker die "id=$C3"
wait_admin c3 absent 10

step "the load saw no failure"
stop_pid "$LOAD" TERM 30 || true
res=$(tail -1 "$T/load.log")
assert_eq "$(json_get "$res" 'd["fail"]')" 0 "failed requests under load: $res"
assert_cmp "$(json_get "$res" 'd["ok"]')" ">" 100 "requests under load"

step "SIGTERM stops the watcher at once, leaving the backends"
t0=$(now_ms)
stop_pid "$WATCHER" TERM 10 || fail "the watcher did not exit 0 on SIGTERM"
assert_cmp $(($(now_ms) - t0)) "<" 5000 "watcher stop time (ms)"
assert_eq "$(admin web-0)" active "web-0 after the watcher stopped"
echo "PASS: $TEST_NAME"
