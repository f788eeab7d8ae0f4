#!/usr/bin/env bash
# t_docker_entrypoint.sh: deploy/docker/fulcrum-entrypoint.sh around a real gunicorn+Flask
# app and a real fulcrum: the app is registered once healthy and gets traffic; SIGHUP
# reaches the app; SIGTERM drains first (requests in flight finish, no new ones come),
# then stops the app, removes the backend and exits with the app's status; under load,
# zero failed requests. An app that dies on its own is removed; a bad environment is
# refused with exit 2.
# e2e: pairs
. "$(dirname "$0")/../lib/lib.sh"
. "$E2E_DIR/ctl_lib.sh"
need_fulcrum

ENTRY=$REPO_DIR/deploy/docker/fulcrum-entrypoint.sh
ports P_WEB P_CTL P_F0 P_S1 P_S2
start_flask web-0 "$P_F0" 2

cfg=$T/fulcrum.cfg
{
	cfg_common
	cfg_control "$P_CTL"
	cat <<EOF
listeners = ( { name = "web"; bind = "127.0.0.1:$P_WEB"; mode = "http"; pool = "flask"; } );
pools = ( { name = "flask"; drain_timeout_s = 20;
            health = { type = "http"; path = "/healthz"; interval_ms = 300; timeout_ms = 1000; rise = 1; fall = 2; };
            backends = ( { name = "web-0"; address = "127.0.0.1:$P_F0"; max_conns = 2; } ); } );
EOF
} >"$cfg"
start_fulcrum "$cfg" "$P_WEB" "$P_CTL"

# entry NAME PORT: the wrapper around a gunicorn instance NAME on PORT (log $T/NAME.log).
entry() {
	bg "$1" TERM env FULCRUM_POOL=flask FULCRUM_BACKEND="$1" FULCRUM_ADDRESS="127.0.0.1:$2" \
		FULCRUM_MAX_CONNS=2 FULCRUM_DRAIN_TIMEOUT=15 FULCRUM_REGISTER_TIMEOUT=20 \
		FULCRUM_CONTROL="http://127.0.0.1:$P_CTL" FULCRUM_TOKEN_FILE="$T/token" FULCRUMCTL="$FULCRUMCTL" \
		FULCRUM_TEST_INSTANCE="$1" FULCRUM_TEST_CONC_FILE="$T/conc.$1" \
		sh "$ENTRY" "$GUNICORN" -w 2 -k sync -b "127.0.0.1:$2" --chdir "$E2E_DIR" \
		--graceful-timeout 5 --access-logfile - --error-logfile - app:app
}
admin() {
	local out rc=0
	out=$(ctl --json get flask "$1" 2>/dev/null) || rc=$?
	if [ "$rc" = 5 ]; then echo absent; else json_get "$out" 'd["admin"]'; fi
}
wait_admin() {
	local i
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		[ "$(admin "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	fail "$1: expected '$2' in fulcrum, have '$(admin "$1")'"
}
# served NAME: requests the Flask instance NAME has answered on /work (the file is read
# under the lock the app writes it with: a read between its truncate and write saw "").
served() {
	local v
	[ -e "$T/conc.$1" ] || { echo 0; return; }
	v=$(flock -s "$T/conc.$1" awk '{print $3}' "$T/conc.$1")
	echo "${v:-0}"
}

step "a bad environment is refused"
rc=0
env -u FULCRUM_POOL sh "$ENTRY" true >"$T/o" 2>&1 || rc=$?
assert_eq "$rc" 2 "no FULCRUM_POOL"
rc=0
FULCRUM_POOL=flask sh "$ENTRY" true >"$T/o" 2>&1 || rc=$?
assert_eq "$rc" 2 "neither FULCRUM_ADDRESS nor FULCRUM_PORT"
assert_contains "$(cat "$T/o")" "FULCRUM_ADDRESS or FULCRUM_PORT"

step "start: registered once healthy, gets traffic"
entry self-1 "$P_S1"
E1=$LAST_PID
wait_admin self-1 active 30
for ((i = 0; i < 100; i++)); do
	grep -q "registered flask/self-1" "$T/self-1.log" && break
	sleep 0.1
done
assert_contains "$(cat "$T/self-1.log")" "registered flask/self-1"
bg load TERM "$PY" "$E2E_DIR/hload.py" run --port "$P_WEB" --clients 4 --duration 60 --path "/work?ms=300" --log "$T/load.lines"
LOAD=$LAST_PID
for ((i = 0; i < 100; i++)); do
	[ "$(served self-1)" -gt 5 ] && break
	sleep 0.1
done
assert_cmp "$(served self-1)" ">" 5 "requests self-1 served"

step "SIGHUP is forwarded to the app"
kill -HUP "$E1"
for ((i = 0; i < 100; i++)); do
	grep -q "Handling signal: hup" "$T/self-1.log" && break
	sleep 0.1
done
assert_contains "$(cat "$T/self-1.log")" "Handling signal: hup" "the app's log after SIGHUP"
wait_admin self-1 active 5

step "SIGTERM: drain first, then the app stops, then the backend goes"
kill -TERM "$E1"
wait_admin self-1 draining 5
wait_exit "$E1" 40 || fail "the wrapper exited with status $? (expected 0, the app's)"
assert_eq "$(admin self-1)" absent "self-1 after the wrapper exited"
log=$(cat "$T/self-1.log")
assert_contains "$log" "drained; stopping the app"
assert_contains "$log" "Handling signal: term"
# order: drained, then the app got SIGTERM
d=$(grep -n "drained; stopping the app" "$T/self-1.log" | head -1 | cut -d: -f1)
t=$(grep -n "Handling signal: term" "$T/self-1.log" | head -1 | cut -d: -f1)
assert_cmp "$d" "<" "$t" "line of 'drained' before the app's SIGTERM"
in_flight=$(flock -s "$T/conc.self-1" awk '{print $1}' "$T/conc.self-1")
assert_eq "$in_flight" 0 "requests in flight on self-1 when it stopped"

step "the load saw no failure"
sleep 1
stop_pid "$LOAD" TERM 30 || true
res=$(tail -1 "$T/load.log")
assert_eq "$(json_get "$res" 'd["fail"]')" 0 "failed requests under load: $res"
assert_cmp "$(json_get "$res" 'd["instances"].get("self-1", 0)')" ">" 0 "requests self-1 answered"

step "an app that dies on its own is removed; the wrapper exits with its status"
entry self-2 "$P_S2"
E2=$LAST_PID
wait_admin self-2 active 30
for ((i = 0; i < 100; i++)); do
	grep -q "registered flask/self-2" "$T/self-2.log" && break
	sleep 0.1
done
master=$(pgrep -P "$E2" -f gunicorn | head -1)
[ -n "$master" ] || fail "no gunicorn under the wrapper (pid $E2)"
workers=$(pgrep -P "$master" || true)
kill -KILL "$master"
rc=0
wait_exit "$E2" 20 || rc=$?
assert_eq "$rc" 137 "wrapper status after the app was killed"
assert_eq "$(admin self-2)" absent "self-2 after its app died"
for w in $workers; do kill -KILL "$w" 2>/dev/null || true; done # its orphaned workers
echo "PASS: $TEST_NAME"
